"""convcalc: shapes, parameters, FLOPs, memory and receptive fields of convolutional networks,
computed from their description alone.

    >>> from convcalc import Conv, single_layer, summary
    >>> single_layer(Conv(out_channels=10, kernel=5, padding=2), (3, 32, 32)).params
    760
    >>> summary("resnet50").params
    25557032
"""

__version__ = "0.1.0"

# each public name and the module that defines it, imported on first use: the command line reads
# only what its command needs (`layer` never loads the YAML reader)
_EXPORTS = {
    "ConvcalcError": "core.errors", "SpecError": "core.errors",
    "KINDS": "core.formulas", "LayerCost": "core.formulas", "analyze_layer": "core.formulas",
    **dict.fromkeys(("LRN", "AdaptivePool", "Conv", "ConvTranspose", "Elementwise", "Flatten", "InstanceNorm", "Linear",
                     "Norm", "Pool", "Scale", "Subsample", "Upsample"), "core.layers"),
    **dict.fromkeys(("Group", "LayerNode", "Merge", "Network", "Ref", "Repeat", "Report", "Settings", "analyze",
                     "single_layer"), "core.network"),
    "load": "formats.spec", "loads": "formats.spec",
    "summary": "summary", "Summary": "summary",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'convcalc' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__"})

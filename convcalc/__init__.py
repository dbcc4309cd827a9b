"""convcalc: shapes, parameters, FLOPs, memory and receptive fields of convolutional networks,
computed from their description alone.

    from convcalc import Conv, single_layer
    single_layer(Conv(out_channels=10, kernel=5, padding=2), (3, 32, 32)).params   # 760
"""

__version__ = "0.1.0"

from .core.errors import ConvcalcError, SpecError
from .core.formulas import KINDS, LayerCost, analyze_layer
from .core.layers import LRN, AdaptivePool, Conv, ConvTranspose, Elementwise, Flatten, InstanceNorm, Linear, Norm, Pool, Scale, Subsample, Upsample
from .core.network import Group, LayerNode, Merge, Network, Ref, Repeat, Report, Settings, analyze, single_layer
from .formats.spec import load, loads

__all__ = [
    "ConvcalcError", "SpecError", "KINDS", "LayerCost", "analyze_layer", "LRN", "AdaptivePool", "Conv",
    "ConvTranspose", "Elementwise", "Flatten", "InstanceNorm", "Linear", "Norm", "Pool", "Scale", "Subsample", "Upsample",
    "Group", "LayerNode", "Merge", "Network", "Ref", "Repeat", "Report", "Settings", "analyze", "single_layer",
    "load", "loads",
]

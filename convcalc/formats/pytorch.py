"""A PyTorch model read as a convcalc network (`convcalc net my_model.py:Net`,
`convcalc net torchvision.models:resnet50`); needs PyTorch (`pip install torch`).

Building the model runs the user's code, as `python my_model.py` would. It is built on PyTorch's
meta device where it can be (no weight is allocated: a billion-parameter model costs no memory),
traced with torch.fx, and every operation mapped to a convcalc layer: modules to layers, their
nesting to blocks, additions, multiplications and concatenations of two tensors to merges. Shapes
then come from convcalc's own formulas; the meta tensors' shapes only say where views and
reshapes lead. An operation without a convcalc formula becomes an `opaque` layer with the
model's own output shape and parameters: listed, never counted as a silent 0.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext, redirect_stdout
from math import prod
from pathlib import Path

from ..core.errors import ConvcalcError, SpecError, quote, shorten
from ..core.formulas import analyze_layer, data_move
from ..core.layers import (LRN, AdaptivePool, ChannelShuffle, Conv, ConvTranspose, Crop, Elementwise, Flatten, InstanceNorm, Linear,
                           Norm, Opaque, Pad, Pool, Resize, Scale, Slice, Subsample, Attention, ClassToken,
                           PositionEmbedding, SpaceToDepth, Subgraph)
from ..core.messages import Note
from ..core.network import Group, LayerNode, Merge, Network, Ref
from .metashapes import shapes_only

ACTIVATION_MODULES = {"ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu", "GELU": "gelu", "SiLU": "silu",
                      "Mish": "mish", "Sigmoid": "sigmoid", "Tanh": "tanh", "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid",
                      "Softmax": "softmax", "Dropout": "dropout", "Dropout1d": "dropout", "Dropout2d": "dropout",
                      "Dropout3d": "dropout", "AlphaDropout": "dropout", "Identity": "identity"}
ACTIVATION_FUNCTIONS = {"relu": "relu", "relu_": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu", "elu": "elu",
                        "gelu": "gelu", "silu": "silu", "mish": "mish", "sigmoid": "sigmoid", "tanh": "tanh",
                        "hardswish": "hardswish", "hardsigmoid": "hardsigmoid", "softmax": "softmax", "dropout": "dropout",
                        "dropout2d": "dropout", "hardtanh": "relu6", "sigmoid_": "sigmoid",
                        "stochastic_depth": "dropout"}  # torchvision's, an identity at inference
MOVES = {"permute", "movedim", "transpose", "contiguous", "view", "reshape", "flatten", "squeeze", "unsqueeze", "clone", "detach", "to",
         "type_as", "float"}
MERGE_OPS = {"add": "add", "iadd": "add", "add_": "add", "mul": "multiply", "imul": "multiply", "mul_": "multiply"}
INSTALL = "pip install torch"
MAX_SOURCE_BYTES = 16 << 20  # a Python file read for the models it defines


def is_model_target(text: str) -> bool:
    """`file.py:Name` or `package.module:name` (a YAML file or a bundled name never has a colon)."""
    left, colon, right = text.rpartition(":")
    return bool(colon and left and right and (left.endswith(".py") or all(part.isidentifier() for part in left.split("."))))


def models_in(path: str) -> Note:
    """What `convcalc net file.py` says without `:Name`: the classes and the functions without required arguments
    the file defines, read from its text (nothing is run, torch is not imported)."""
    import ast

    where = Path(path)
    try:
        from .files import read_text

        tree = ast.parse(read_text(where, MAX_SOURCE_BYTES))
    except SpecError as error:
        return error.note
    except (OSError, UnicodeDecodeError) as error:
        from ..core.errors import reason

        return Note("{path}: cannot read the file: {what}, got {value}", path=shorten(path), what=reason(error), value=quote(path))
    except (SyntaxError, ValueError) as error:
        return Note("{path}: not Python: {what}, got {value}", path=shorten(path), what=shorten(str(error.args[0] if error.args else error)),
                    value=quote(path))
    def takes_nothing(function) -> bool:
        arguments = function.args
        return len(arguments.posonlyargs) + len(arguments.args) == len(arguments.defaults) and not arguments.kwonlyargs

    names = [node.name for node in tree.body if (isinstance(node, ast.ClassDef) or isinstance(node, ast.FunctionDef)
                                                  and takes_nothing(node)) and not node.name.startswith("_")]
    if not names:
        return Note("{path}: name the model to read as {path}:Name; the file defines no class or function without required "
                    "arguments, got {value}", path=shorten(path), value=quote(path))
    return Note("{path}: name the model to read, such as {path}:{first}; the file defines {names}, got {value}",
                path=shorten(path), first=names[0], names=", ".join(names[:12]) + (", …" if len(names) > 12 else ""),
                value=quote(path))


def import_torch():
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError:
        raise ConvcalcError(Note("PyTorch models: need PyTorch; install it with {command}, got no module named torch",
            command=INSTALL)) from None
    return torch


def find_object(target: str):
    """The class, function or module that `target` names; running a file or importing a module runs its code."""
    import importlib
    import importlib.util
    import sys

    where, _colon, attribute = target.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ConvcalcError(Note("{target}: no such file, got {value}", target=shorten(target), value=quote(where)))
            spec = importlib.util.spec_from_file_location(f"convcalc_model_{abs(hash(str(path.resolve())))}", path)
            module = importlib.util.module_from_spec(spec)
            sys.path.insert(0, str(path.resolve().parent))  # the file's own imports, as `python file.py` finds them
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.resolve().parent))
        else:
            module = importlib.import_module(where)
    except ConvcalcError:
        raise
    except Exception as error:  # the user's code: anything it raises is reported in one line (Ctrl-C still stops)
        raise ConvcalcError(Note("{target}: running {where} failed: {reason}, got {value}",
            target=shorten(target), where=shorten(where), reason=error_text(error), value=quote(target))) from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            import difflib

            close = difflib.get_close_matches(part, [n for n in dir(found) if not n.startswith("_")], n=1)
            hint = Note("; did you mean {name}?", name=quote(close[0])) if close else ""
            raise ConvcalcError(Note("{target}: {where} has no attribute {name}{hint}, got {value}",
                target=shorten(target), where=shorten(where), name=quote(part), hint=hint, value=quote(target)))
        found = getattr(found, part)
    return found


def error_text(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    return shorten(text, 200)


def build(target: str, devices=("meta", "cpu")):
    """The model, built on the meta device where its code allows (no weights allocated), else on the CPU."""
    torch = import_torch()
    found = find_object(target)
    if isinstance(found, torch.nn.Module):
        return found
    if not callable(found):
        raise ConvcalcError(Note("{target}: must name an nn.Module, a class or a function that returns one, got {value}",
            target=shorten(target), value=quote(type(found).__name__)))
    failure = None
    for device in devices:
        try:
            with torch.device(device), shapes_only(torch) if device == "meta" else nullcontext():
                model = found()
            break
        except Exception as error:
            failure = failure or error
    else:
        raise ConvcalcError(Note("{target}: building the model failed: {reason}, got {value}",
            target=shorten(target), reason=error_text(failure), value=quote(target))) from None
    if not isinstance(model, torch.nn.Module):
        raise ConvcalcError(Note("{target}: must return an nn.Module, got {value}", target=shorten(target), value=quote(type(model).__name__)))
    return model


def declared_input(model) -> tuple[int, ...] | None:
    """An input shape the model itself declares: `input_shape`, timm's `default_cfg['input_size']`, or a Hugging Face
    vision model's config (`num_channels`, `image_size`)."""
    for value in (getattr(model, "input_shape", None), (getattr(model, "default_cfg", None) or {}).get("input_size")):
        if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) and v > 0 for v in value):
            return tuple(value)
    config = getattr(model, "config", None)
    channels, size = getattr(config, "num_channels", None), getattr(config, "image_size", None)
    size = (size, size) if isinstance(size, int) else tuple(size) if isinstance(size, (tuple, list)) else None
    if isinstance(channels, int) and channels > 0 and size and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return (channels, *size)
    return None


@contextmanager
def to_stderr():
    """What the model's own code prints (Ultralytics its layer table, libraries their warnings) goes to standard
    error, so that convcalc's output stays its own (`--format json` parseable): Python's stream and file
    descriptor 1 alike, since a logger may hold the stream it was given at import."""
    import os
    import sys

    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        saved = None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def read_model(target: str, input_shape: tuple[int, ...] | None) -> Network:
    """`target` built and mapped to a convcalc network on `input_shape` (C×H×W, no batch); what the model's code
    prints goes to standard error."""
    with to_stderr(), dynamo_left_unimported(import_torch()):
        return read_quietly(target, input_shape)


def read_module(module, input_shape: tuple[int, ...] | None) -> Network:
    """A module object (`convcalc.summary(model)`): read as `file.py:Name` is, from a copy, so the caller's
    module keeps its weights and its device."""
    import copy

    target = type(module).__name__
    with to_stderr(), dynamo_left_unimported(import_torch()):
        return read_quietly(target, input_shape, lambda devices=(): copy.deepcopy(module))


@contextmanager
def dynamo_left_unimported(torch):
    """PyTorch wraps many of its own functions (the reference decompositions a factory such as torch.arange runs
    on the meta device, among them) so that torch.compile never traces into them; the first call of each wrapper
    imports torch._dynamo, about a second. No compilation can be under way while it is not imported, so for this
    read each wrapper is told that its function needs no wrapping (found as the referrers of its code, about 20 ms);
    a process that has imported torch._dynamo keeps PyTorch's own path."""
    import gc
    import sys
    import types

    wrapper = getattr(getattr(torch, "_compile", None), "_disable_dynamo", None)
    if "torch._dynamo" in sys.modules or wrapper is None:
        yield
        return
    code = wrapper(lambda: None).__code__
    if "fn" not in code.co_freevars:
        yield
        return
    cell, marked = code.co_freevars.index("fn"), []
    for function in gc.get_referrers(code):  # the wrappers are the functions whose code is the wrapper's
        if type(function) is types.FunctionType and function.__code__ is code:
            inner = function.__closure__[cell].cell_contents  # (its __wrapped__ may be another's, copied over by a later wraps)
            if hasattr(inner, "__dict__") and "__dynamo_disable" not in vars(inner):
                setattr(inner, "__dynamo_disable", inner)  # the name the wrapper caches its undecorated function under
                marked.append(inner)
    try:
        yield
    finally:
        for inner in marked:
            if vars(inner).get("__dynamo_disable") is inner:
                delattr(inner, "__dynamo_disable")


def read_quietly(target: str, input_shape: tuple[int, ...] | None, make=None) -> Network:
    """The model is read twice: traced by torch.fx, which follows its modules (attention as convcalc's formula,
    convcalc's own exported layers read back), and run (torchrun.py), whose figures are PyTorch's own. The
    trace's rows are kept where their parameters, buffers and MACs equal the run's; otherwise — a model fx
    cannot trace, or maps only in part — the run's."""
    torch = import_torch()
    make = make or (lambda devices=("meta", "cpu"): build(target, devices))
    model = make()
    shape = input_shape or declared_input(model)
    if shape is None:
        raise ConvcalcError(Note("--input: a PyTorch model needs its input shape, such as --input 3x224x224, got none"))
    model.eval()  # dropout and stochastic depth as at inference; batchnorm uses its running statistics
    traced = traced_figures = None
    try:
        traced = read_traced(torch, model, target, shape)
        traced_figures = figures(traced)  # a mapping the walk refuses (GC blocks' broadcast add) falls to the run
    except Exception:  # noqa: BLE001 — control flow fx cannot follow, a graph its mapping does not take (a
        pass  # conv2d whose padding is a string): whatever stops the trace, the run answers
    from .torchrun import RunError, read_running

    values = {}
    if any(t.device.type != "meta" for t in [*model.parameters(), *model.buffers()]):
        # no arithmetic, no memory: a model built on the CPU is run without its values, but for its small buffers
        from .torchrun import small_tensors

        values = {key: t.detach().clone() for key, t in small_tensors(torch, model).items() if t.device.type != "meta"}
        model = model.to("meta")
    try:
        try:
            network, returned = read_running(torch, model, tuple(shape), target, values)
        except RunError as failure:  # it reads values (.item(), a data-dependent shape): run it for real, if it fits
            weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
            if weights > CPU_RUN_BYTES:
                raise ConvcalcError(Note("{target}: {module}: {op} needs the values of its tensors, which the meta device does not "
                                         "have, and the weights ({size:,} bytes) are too large to run on the CPU, got {value}",
                                         target=shorten(target), module=failure.module, op=failure.op, size=weights,
                                         value=quote(failure.reason))) from None
            torch.manual_seed(0)  # the same random weights and input on every run: the same figures
            cpu_model = make(("cpu",))  # built anew with weights; a module instance named in the file stays itself
            if any(p.device.type == "meta" for p in cpu_model.parameters()):
                cpu_model = cpu_model.to_empty(device="cpu")
            torch.manual_seed(0)
            network, returned = read_running(torch, cpu_model.eval(), tuple(shape), target)
    except ConvcalcError:
        raise
    except RunError as failure:
        raise ConvcalcError(Note("{target}: the model does not run on an input of {shape}: {module}: {reason}, got {value}",
                                 target=shorten(target), shape="×".join(map(str, shape)), module=failure.module,
                                 reason=failure.reason, value=quote("x".join(map(str, shape))))) from None
    shown = traced if traced_figures is not None and traced_figures == figures(network) else network
    returned = tuple(tuple(s[1:]) for s in returned)  # every tensor the model returns, without the batch axis
    return shown._replace(outputs=returned) if len(returned) > 1 else shown


def figures(network: Network) -> tuple:
    """What both readings must agree on: parameters, buffers, MACs, and whether an operation has no formula."""
    from ..core.network import analyze

    report = analyze(network)
    return report.params, report.buffers, report.macs, bool(report.unknown_ops)


CPU_RUN_BYTES = 2 << 30  # a model whose forward needs real values is run on the CPU only if its weights fit in this


def read_traced(torch, model, target: str, shape) -> Network:
    """The model through torch.fx: traced, its shapes noted on a meta input, mapped node by node."""
    traced = trace(torch, model, target)
    try:
        model = model.to("meta") if any(p.device.type != "meta" for p in model.parameters()) else model
        traced = traced.to("meta")
        with torch.no_grad():
            note_shapes(traced, torch.empty(1, *shape, device="meta"))
    except Exception as error:
        raise ConvcalcError(Note("{target}: the model does not run on an input of {shape}: {reason}, got {value}",
            target=shorten(target), shape="×".join(map(str, shape)), reason=error_text(error), value=quote("x".join(map(str, shape))))) from None
    body = Converter(torch, traced, model).convert()
    return Network(type(model).__name__, tuple(shape), body, f"PyTorch {target}")


class Meta:
    """A traced value's shape (on the meta device: sizes without data)."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)


def describe(result):
    if hasattr(result, "shape") and hasattr(result, "dtype"):
        return Meta(result.shape)
    if isinstance(result, (list, tuple)) and result and hasattr(result[0], "shape") and hasattr(result[0], "dtype"):
        return tuple(Meta(r.shape) if hasattr(r, "shape") and hasattr(r, "dtype") else None for r in result)
    return None


def note_shapes(traced, x) -> None:
    """Runs the graph on a meta tensor and notes every value's shape in its node."""
    from torch import fx

    class Shapes(fx.Interpreter):
        def run_node(self, node):
            result = super().run_node(node)
            node.meta["tensor_meta"] = describe(result)
            if type(result) is int:  # a size worked out at run time (timm's Swin pads by H % window)
                node.meta["value"] = result
            return result

    Shapes(traced).run(x)


def trace(torch, model, target: str):
    """torch.fx's graph of the model, with every module convcalc knows (and every torch.nn module) a leaf."""
    from torch import fx

    class Tracer(fx.Tracer):
        def is_leaf_module(self, module, name):
            return module_layer_name(module) is not None or super().is_leaf_module(module, name)

    try:
        graph = Tracer().trace(model)
    except Exception as error:
        raise ConvcalcError(Note("{target}: torch.fx cannot trace the model (control flow that depends on values?): {reason}, "
                              "got {value}", target=shorten(target), reason=error_text(error), value=quote(target))) from None
    return fx.GraphModule(model, graph)


def module_layer_name(module) -> str | None:
    """The mapping for a module class, by the torch.nn class it is or derives from — unless the
    subclass computes something else (its own forward: torchvision's LayerNorm2d permutes first)."""
    name = type(module).__name__
    if name == "Attention" and type(module).__module__.startswith("timm."):
        return "TimmAttention" if all(hasattr(module, a) for a in KNOWN["TimmAttention"]) else None
    if name in KNOWN and all(hasattr(module, a) for a in KNOWN[name]):
        return name  # a layer torch.nn lacks: as `convcalc export --to torch` writes it, or as torchvision does
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ in MODULE_KINDS:
            return cls.__name__ if type(module).forward is cls.forward else None
    return None


# classes outside torch.nn read whole, recognised by name and attributes: convcalc's own export
# helpers, torchvision's Swin and MaxViT attention (fx cannot follow their windows through 5-D
# views) and MaxViT's window partitions, followed without a layer (see Converter.partition)
KNOWN = {"Subsample": ("kernel", "stride", "weight", "bias"), "PartialConv": ("table", "maps"),
         "ShiftedWindowAttention": ("window_size", "shift_size", "num_heads", "qkv", "proj", "relative_position_bias_table"),
         "ShiftedWindowAttentionV2": ("window_size", "shift_size", "num_heads", "qkv", "proj", "cpb_mlp", "logit_scale"),
         "RelativePositionalMultiHeadAttention": ("to_qkv", "merge", "n_heads", "head_dim", "max_seq_len",
                                                  "relative_position_bias_table"),
         "WindowPartition": (), "WindowDepartition": (), "SwapAxes": ("a", "b"),
         "SelfAttention": ("heads", "window", "shift", "grid", "position_bias", "cosine", "qkv", "proj"),
         "SpaceToDepth": ("factor", "pad"), "ClassToken": ("token",), "PositionEmbedding": ("embedding",),
         "TimmAttention": ("num_heads", "head_dim", "qkv", "proj", "q_norm", "k_norm", "norm")}


def pairs(values, n: int) -> tuple:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,) * n


def conv_module(m, cf):
    padding = m.padding if isinstance(m.padding, str) else tuple(m.padding)
    if type(m).__name__.startswith("ConvTranspose") or "ConvTranspose" in {c.__name__ for c in type(m).__mro__}:
        return ConvTranspose(m.out_channels, tuple(m.kernel_size), tuple(m.stride), tuple(m.padding), tuple(m.output_padding),
                             tuple(m.dilation), m.groups, m.bias is not None)
    return Conv(m.out_channels, tuple(m.kernel_size), tuple(m.stride), padding, tuple(m.dilation), m.groups, m.bias is not None)


def pool_module(m, cf):
    kind = "maxpool" if "Max" in type(m).__name__ else "avgpool"
    n = len(cf) - 1
    stride = m.stride if m.stride is not None else m.kernel_size
    dilation = pairs(getattr(m, "dilation", 1), n) if kind == "maxpool" else 1
    return Pool(pairs(m.kernel_size, n), pairs(stride, n), pairs(m.padding, n), dilation, bool(m.ceil_mode), kind)


def adaptive_module(m, cf):
    kind = "adaptive_maxpool" if "Max" in type(m).__name__ else "adaptive_avgpool"
    sizes = pairs(m.output_size, len(cf) - 1)
    return AdaptivePool(tuple(s if s is not None else cf[i + 1] for i, s in enumerate(sizes)), kind)


def pad_module(m, cf):
    mode = {"Zero": "zeros", "Constant": "zeros", "Reflection": "reflect", "Replication": "replicate"}[
        next(k for k in ("Zero", "Constant", "Reflection", "Replication") if type(m).__name__.startswith(k))]
    if mode == "zeros" and getattr(m, "value", 0) != 0:
        return None
    return Pad(torch_pad(m.padding, len(cf) - 1), mode)


def torch_pad(pad, n: int) -> tuple:
    """F.pad's (last axis before, after, the one before it, …) as convcalc's per-axis pairs."""
    pad = tuple(pad) if isinstance(pad, (tuple, list)) else (pad,) * (2 * n)
    pairs_ = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    return tuple([(0, 0)] * (n - len(pairs_)) + pairs_)


def upsample_module(m, cf):
    return resize_layer(m.size, m.scale_factor, m.mode, len(cf) - 1)


def resize_layer(size, scale, mode, n: int):
    mode = {"nearest": "nearest", "bilinear": "bilinear", "linear": "bilinear", "trilinear": "bilinear", "bicubic": None}.get(mode)
    if mode is None:
        return None
    if size is not None:
        return Resize(size=pairs(size, n), mode=mode)
    factors = pairs(scale, n)
    if len(set(factors)) != 1:
        return None
    factor = factors[0]
    return Resize(factor=int(factor) if float(factor).is_integer() else float(factor), mode=mode)


def norm_module(m, cf, layout):
    name = module_layer_name(m)
    if name.startswith("BatchNorm"):
        return Norm(bool(m.affine), kind="batchnorm") if m.track_running_stats else None
    if name == "GroupNorm":
        return Norm(bool(m.affine), m.num_groups, "groupnorm")
    if name.startswith("InstanceNorm"):
        return InstanceNorm(bool(m.affine)) if not m.track_running_stats else None
    return layer_norm(tuple(m.normalized_shape), m.elementwise_affine and m.weight is not None, cf, layout)


def layer_norm(normalized: tuple, affine: bool, cf, layout):
    if layout == "cl" and normalized == (cf[0],) or len(cf) == 1 and normalized == cf:
        return Norm(affine, kind="layernorm")  # over the channels at each position
    if layout == "cf" and normalized == tuple(cf[len(cf) - len(normalized):]):
        return Norm(affine, kind="layernorm", shape=normalized)
    return None


def linear_module(m, cf, layout):
    if layout == "cl" or len(cf) == 1:
        return Linear(m.out_features, m.bias is not None)
    return None  # on the last of several channel-first axes: not a convcalc linear


MODULE_KINDS = {
    **{name: "activation" for name in ACTIVATION_MODULES},
    **{f"Conv{d}d": "conv" for d in (1, 2, 3)}, **{f"ConvTranspose{d}d": "conv" for d in (1, 2, 3)},
    **{f"{k}Pool{d}d": "pool" for k in ("Max", "Avg") for d in (1, 2, 3)},
    **{f"Adaptive{k}Pool{d}d": "adaptive" for k in ("Max", "Avg") for d in (1, 2, 3)},
    **{f"BatchNorm{d}d": "norm" for d in (1, 2, 3)}, **{f"InstanceNorm{d}d": "norm" for d in (1, 2, 3)},
    "Subsample": "subsample", "PartialConv": "table", "MultiheadAttention": "attention",
    "ShiftedWindowAttention": "swin", "ShiftedWindowAttentionV2": "swin", "RelativePositionalMultiHeadAttention": "maxvit",
    "WindowPartition": "partition", "WindowDepartition": "partition", "SwapAxes": "partition", "PixelUnshuffle": "unshuffle",
    "SelfAttention": "written_attention", "TimmAttention": "timm_attention", "SpaceToDepth": "unshuffle", "ClassToken": "class_token",
    "PositionEmbedding": "position_embedding",
    "GroupNorm": "norm", "LayerNorm": "norm", "LocalResponseNorm": "lrn", "Linear": "linear", "Flatten": "flatten",
    "Upsample": "upsample", "UpsamplingNearest2d": "upsample", "UpsamplingBilinear2d": "upsample", "ChannelShuffle": "shuffle",
    **{f"{k}Pad{d}d": "pad" for k in ("Zero", "Constant", "Reflection", "Replication") for d in (1, 2, 3)},
}


class Value:
    """A tensor of the traced graph: the convcalc output it is (an id), as laid out and shaped now."""

    __slots__ = ("id", "shape", "layout", "moved", "source_shape", "op", "windows")

    def __init__(self, id_, shape, layout="cf", moved=False, source_shape=None, op="", windows=None):
        self.id, self.shape, self.layout, self.moved = id_, tuple(shape), layout, moved
        self.source_shape = source_shape if source_shape is not None else convcalc_shape(shape, layout)
        self.op = op
        self.windows = windows  # MaxViT's partition: (p, swapped) while the model sees windows, `shape` the image's


def convcalc_shape(real: tuple, layout: str) -> tuple:
    """convcalc's channel-first shape without the batch axis."""
    rest = tuple(real[1:])
    if layout == "cl" and len(rest) > 1:
        return (rest[-1], *rest[:-1])
    return rest


def channels_last_order(rank: int) -> list[int]:
    return [0, *range(2, rank), 1]


def channels_first_order(rank: int) -> list[int]:
    return [0, rank - 1, *range(1, rank - 1)]


class Converter:
    """torch.fx nodes → convcalc nodes, nested as the model's modules nest."""

    def __init__(self, torch, traced, model=None):
        self.torch, self.traced, self.model = torch, traced, model if model is not None else traced
        self.Node = torch.fx.Node
        self.modules = dict(traced.named_modules())
        self.values: dict = {}  # fx node → Value (or a non-tensor: None)
        self.body: list = []
        self.open: list = []  # [(module path, class name, children)] from the outermost
        self.covered: set[int] = set()  # the parameters some layer counts (by identity)
        self.output: Value | None = None

    def convert(self) -> tuple:
        for node in self.traced.graph.nodes:
            handler = getattr(self, f"on_{node.op}")
            handler(node)
        self.close_to(0)
        unread = [(name, p) for name, p in self.model.named_parameters() if id(p) not in self.covered]
        unkept = [b for _name, b in self.model.named_buffers() if id(b) not in self.covered]
        if (unread or unkept) and self.output is not None:  # a module never called, a parameter used outside any layer: said, not dropped
            names = ", ".join(name for name, _p in unread[:3]) + (", …" if len(unread) > 3 else "")
            # read by nothing, they cost nothing: a row of 0 MACs that keeps the totals whole
            layer = Subgraph(Note("parameters and buffers no operation reads ({names})", names=names),
                             convcalc_shape(self.output.shape, self.output.layout), sum(p.numel() for _name, p in unread),
                             sum(b.numel() for b in unkept), 0)
            self.body.append(LayerNode("unread_parameters", layer, "parameters", None, self.output.id))
        return tuple(self.body)

    def learned(self, node, kind: str = "parameter") -> list:
        """The parameters (or buffers) an operation reads itself (get_attr), not through a module."""
        found = []
        get = self.traced.get_parameter if kind == "parameter" else self.traced.get_buffer
        for arg in flat_args(node):
            value = self.get(arg)
            if type(value) is tuple and value[0] == "attr":
                try:
                    found.append(get(value[1]))
                except AttributeError:  # the other kind, or a constant tensor
                    pass
        return found

    # --- building the tree -------------------------------------------------
    def groups_of(self, node) -> list[tuple[str, str]]:
        stack = list((node.meta.get("nn_module_stack") or {}).values())
        paths = [(path, getattr(kind, "__name__", str(kind).rsplit(".", 1)[-1].strip("'>"))) for path, kind in stack]
        if node.op == "call_module" and paths:
            paths = paths[:-1]  # the module called is the layer itself
        return [(p, k) for p, k in paths if p]

    def close_to(self, depth: int) -> None:
        while len(self.open) > depth:
            path, kind, children = self.open.pop()
            name = path.rsplit(".", 1)[-1]
            group = Group(name, kind, tuple(children), path, None, None)
            (self.open[-1][2] if self.open else self.body).append(group)

    def place(self, node, item) -> None:
        groups = self.groups_of(node)
        common = 0
        while common < min(len(groups), len(self.open)) and self.open[common][0] == groups[common][0]:
            common += 1
        self.close_to(common)
        for path, kind in groups[common:]:
            self.open.append((path, kind, []))
        (self.open[-1][2] if self.open else self.body).append(item)

    def leaf_name(self, node) -> str:
        if node.op == "call_module":
            return str(node.target).rsplit(".", 1)[-1]
        return node.name

    def emit(self, node, layer, source: "Value", shape_after: tuple, layout: str = "cf", id_: str | None = None) -> "Value":
        id_ = id_ or node.name
        learned = list(self.modules[node.target].parameters()) if node.op == "call_module" else []
        frozen = bool(learned) and not any(p.requires_grad for p in learned)  # requires_grad=False: no gradient, no optimizer state
        item = LayerNode(self.leaf_name(node) if id_ == node.name else id_, layer, f"{node.name}: {node.op} {shorten(str(node.target), 80)}",
                         id_, source.id, frozen)
        self.place(node, item)
        windows = source.windows if source.windows and len(shape_after) == len(source.shape) else None
        if windows:  # a per-position layer on windows: in convcalc's terms, on the image
            shape_after = (*source.shape[:-1], shape_after[-1])
        value = Value(id_, shape_after, layout, windows=windows)
        if id_ == node.name:
            self.values[node] = value
        return value

    def get(self, arg):
        return self.values.get(arg) if isinstance(arg, self.Node) else None

    # --- the value a layer reads --------------------------------------------
    def tensor(self, node, arg, gate: bool = False) -> "Value":
        """The Value an operation reads, with any pending view materialised as a layer of its own. A gate
        of C values viewed as C×1×1 for a product stays what it is: convcalc's multiply broadcasts it."""
        value = self.get(arg)
        if not isinstance(value, Value):
            raise ConvcalcError(Note("{node}: reads something that is not a tensor convcalc follows, got {value}",
                node=node.name, value=quote(str(arg))))
        if not value.moved:
            return value
        shape = convcalc_shape(value.shape, value.layout)
        if gate and len(value.source_shape) == 1 and shape[:1] == value.source_shape and set(shape[1:]) == {1}:
            return Value(value.id, (value.shape[0], *value.source_shape), "cf")
        if shape == value.source_shape and value.op in ("permute", "contiguous", "clone", "detach", "to", "type_as", "float"):
            return Value(value.id, value.shape, value.layout)  # the same elements, laid out otherwise
        layer = data_move(shape, value.source_shape, value.op or "view")
        item = LayerNode(str(value.op or "view"), layer, f"{arg.name}: {value.op}", arg.name, value.id)  # a row name is plain text
        self.place(arg, item)
        fresh = Value(arg.name, value.shape, value.layout)
        self.values[arg] = fresh
        return fresh

    # --- fx node kinds ------------------------------------------------------
    def on_placeholder(self, node) -> None:
        if self.values:
            self.values[node] = None  # a second argument: not followed
            return
        self.values[node] = Value("input", node.meta["tensor_meta"].shape)

    def on_get_attr(self, node) -> None:
        self.values[node] = ("attr", node.target)

    def on_output(self, node) -> None:
        first = first_tensor(node.args[0], self.values)
        if first is None:
            raise ConvcalcError(Note("{node}: the model returns no tensor convcalc follows, got {value}", node=node.name, value=quote(str(node.args[0]))))
        value = self.tensor(node, first)
        self.output = value
        last = self.last_id()
        if last != value.id:  # the output is not the last layer written: end on it
            self.place(node, LayerNode("output", Elementwise("identity"), f"{node.name}: output", None, value.id))

    def last_id(self):
        items = self.open[-1][2] if self.open else self.body
        while items:
            item = items[-1]
            if isinstance(item, Group):
                items = list(item.children)
                continue
            return getattr(item, "id", None)
        return None

    def real_shape(self, node) -> tuple | None:
        meta = node.meta.get("tensor_meta")
        return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None

    def on_call_module(self, node) -> None:
        module = self.modules[node.target]
        name = module_layer_name(module)
        if MODULE_KINDS.get(name) == "partition" and isinstance(self.get(node.args[0]), Value):
            return self.partition(node, name, module, self.tensor(node, node.args[0]))
        if name == "MultiheadAttention" and len({a for a in node.args[:3]}) != 1:
            name = None  # attention between different tensors: no convcalc formula
        self.layer_for(node, name or type(module).__name__, module, lambda v: self.module_layer(name, module, v))

    def module_layer(self, name, module, value):
        family = MODULE_KINDS.get(name)
        cf, layout = convcalc_shape(value.shape, value.layout), value.layout
        if family == "activation":
            if name == "Softmax" and module.dim not in (1, -len(value.shape) + 1) and len(value.shape) > 2:
                return None
            return Elementwise(ACTIVATION_MODULES[name])
        if family == "conv" and layout == "cf":
            return conv_module(module, cf)
        if family == "attention" and layout == "cl" and module.batch_first and module._qkv_same_embed_dim:
            return Attention(module.num_heads, module.in_proj_bias is not None)
        if family == "swin" and layout == "cl" and len(cf) == 3:
            return swin_attention(module, cf)
        if family == "maxvit" and layout == "cl" and value.windows:
            return maxvit_attention(module, cf, value.windows)
        if family == "unshuffle" and layout == "cf":
            return SpaceToDepth(module.factor, module.pad) if name == "SpaceToDepth" else SpaceToDepth(module.downscale_factor)
        if family == "written_attention" and layout == "cf":
            return Attention(module.heads, module.qkv.bias is not None, module.window, module.shift if module.window else 0, module.grid,
                             module.position_bias, module.cosine)
        if family == "timm_attention" and layout == "cl" and len(cf) == 2:
            return timm_attention(module, cf)
        if family == "class_token" and layout == "cf":
            return ClassToken()
        if family == "position_embedding" and layout == "cf":
            return PositionEmbedding()
        if family == "subsample" and layout == "cf":
            return Subsample(tuple(module.kernel), tuple(module.stride))
        if family == "table" and layout == "cf":
            first = module.maps[0]
            return Conv(len(module.table), tuple(first.kernel_size), tuple(first.stride), bias=first.bias is not None,
                        table=tuple(tuple(row) for row in module.table))
        if family == "pool" and layout == "cf":
            return pool_module(module, cf)
        if family == "adaptive" and layout == "cf":
            return adaptive_module(module, cf)
        if family == "norm":
            return norm_module(module, cf, layout)
        if family == "lrn" and layout == "cf":
            return LRN(module.size)
        if family == "linear":
            return linear_module(module, cf, layout)
        if family == "flatten" and module.start_dim == 1 and module.end_dim == -1:
            return Flatten()
        if family == "upsample" and layout == "cf":
            return upsample_module(module, cf)
        if family == "shuffle" and layout == "cf":
            return ChannelShuffle(module.groups)
        if family == "pad" and layout == "cf":
            return pad_module(module, cf)
        return None

    def partition(self, node, name: str, module, value) -> None:
        """MaxViT's window partition, axis swap and departition: the same tensor seen as windows (or, swapped,
        as a grid), which convcalc keeps as the image; the attention inside reads which windows."""
        args = [a for a in node.args[1:] if isinstance(a, int)]
        if name == "WindowPartition" and value.layout == "cf" and not value.windows and len(value.shape) == 4 and args:
            b, c, h, w = value.shape
            self.values[node] = Value(value.id, (b, h, w, c), "cl", windows=(args[0], False))
        elif name == "SwapAxes" and value.windows and {module.a % 4, module.b % 4} == {1, 2}:
            self.values[node] = Value(value.id, value.shape, "cl", windows=(value.windows[0], not value.windows[1]))
        elif name == "WindowDepartition" and value.windows and not value.windows[1]:
            b, h, w, c = value.shape
            self.values[node] = Value(value.id, (b, c, h, w), "cf")
        else:
            self.layer_for(node, name, module, lambda v: None)

    def layer_for(self, node, label, module, make) -> None:
        """Map one operation on its first tensor argument; what has no mapping becomes an opaque layer."""
        args = [a for a in flat_args(node) if isinstance(self.get(a), Value)]
        if not args:
            self.values[node] = None
            return
        real = self.real_shape(node)
        meta = node.meta.get("tensor_meta")
        if real is None and module is not None and type(meta) is tuple and meta:  # a module giving a tuple (attention)
            real = meta[0].shape
            tupled = True
        else:
            tupled = False
        if real is None:  # a size, a shape, a tuple: nothing a layer makes
            self.values[node] = None
            return
        value = self.tensor(node, args[0])
        layer = make(value)
        if layer is not None and type(layer) is not tuple:
            try:
                analyze_layer(layer, convcalc_shape(value.shape, value.layout))
            except ConvcalcError:
                layer = None  # a mapping the shapes here do not allow (timm's Swin pads channels last): listed instead
        read = [p for p in (list(module.parameters()) if module is not None else []) + self.learned(node) if id(p) not in self.covered]
        kept = [b for b in (list(module.buffers()) if module is not None else []) + self.learned(node, "buffer") if id(b) not in self.covered]
        self.covered.update(id(t) for t in read + kept)
        if type(layer) is tuple:  # a chain: x.mean((2, 3)) is a global average, then a flatten
            for index, part in enumerate(layer[:-1]):
                value = self.emit(node, part, value, value.shape, value.layout, f"{node.name}_{index}")
            layer = layer[-1]
        if layer is None:
            layer = Opaque(str(label), convcalc_shape(real, value.layout if tupled else "cf"), sum(p.numel() for p in read),
                           sum(b.numel() for b in kept))
            out = self.emit(node, layer, value, real, value.layout if tupled else "cf")
            if tupled:
                self.values[node] = ("tuple", out)  # x[0] of it is this output
            return
        out = self.emit(node, layer, value, real if real is not None else value.shape, value.layout)
        if tupled:
            self.values[node] = ("tuple", out)

    def on_call_function(self, node) -> None:
        target = node.target
        name = getattr(target, "__name__", str(target))
        self.call(node, name)

    def on_call_method(self, node) -> None:
        self.call(node, str(node.target))

    def call(self, node, name: str) -> None:
        parts = self.get(node.args[0]) if node.args else None
        if name == "getitem" and type(parts) is tuple and parts[0] == "parts":
            return self.part(node, name, None)
        if name == "getitem" and type(parts) is tuple and parts[0] == "tuple":
            self.values[node] = parts[1] if node.args[1] == 0 else None
            return
        tensors = [a for a in flat_args(node) if isinstance(self.get(a), Value)]
        if not tensors:  # sizes, shapes: nothing a layer reads; a parameter reshaped is still that parameter
            attrs = [self.get(a) for a in flat_args(node) if type(self.get(a)) is tuple and self.get(a)[0] == "attr"]
            self.values[node] = attrs[0] if len(attrs) == 1 and name in MOVES | {"expand", "expand_as"} else None
            return
        if name == "linear":  # F.linear(x, weight, bias), as timm's Linear calls it
            return self.layer_for(node, name, None, lambda v: self.functional_linear(node, v))
        if name in MOVES:
            return self.move(node, name, tensors[0])
        if name in ("split", "chunk") or name == "getitem":
            return self.part(node, name, tensors[0])
        if name in ("cat", "concat", "concatenate"):
            return self.concat(node)
        if name in MERGE_OPS:
            return self.merge(node, MERGE_OPS[name], tensors)
        if name in ACTIVATION_FUNCTIONS:
            return self.layer_for(node, name, None, lambda v: Elementwise(ACTIVATION_FUNCTIONS[name]))
        self.layer_for(node, name, None, lambda v: self.function_layer(node, name, v))

    def move(self, node, name: str, source) -> None:
        value = self.values[source]
        real = self.real_shape(node)
        if real is None:
            self.values[node] = None
            return
        layout = value.layout
        if name == "movedim":
            args = [a for a in node.args[1:3]] if len(node.args) >= 3 else [node.kwargs.get("source"), node.kwargs.get("destination")]
            rank = len(value.shape)
            src, dst = (a % rank if isinstance(a, int) else None for a in args)
            if layout == "cf" and (src, dst) == (1, rank - 1):
                layout = "cl"
            elif layout == "cl" and (src, dst) == (rank - 1, 1):
                layout = "cf"
            else:
                layout, name = "cf", "permute*"
            self.values[node] = Value(value.id, real, layout, True, value.source_shape, "permute" if name != "permute*" else Note("permute (other axes)"))
            return
        if name in ("transpose", "swapaxes", "swapdims") and len(node.args) >= 3 and all(isinstance(a, int) for a in node.args[1:3]):
            a, b = (d % len(value.shape) for d in node.args[1:3])
            order = list(range(len(value.shape)))
            order[a], order[b] = b, a
            name = "permute"  # timm's patches: x.flatten(2).transpose(1, 2), channels last
        else:
            order = None
        if name == "permute":
            if order is None:
                order = [a for a in node.args[1:]] if len(node.args) > 2 or not isinstance(node.args[1], (list, tuple)) else list(node.args[1])
                order = [o % len(value.shape) for o in order if isinstance(o, int)]
            if layout == "cf" and order == channels_last_order(len(value.shape)):
                layout = "cl"
            elif layout == "cl" and order == channels_first_order(len(value.shape)):
                layout = "cf"
            else:
                layout = "cf"
                name = "permute*"
        self.values[node] = Value(value.id, real, layout, True, value.source_shape, name if name != "permute*" else Note("permute (other axes)"))

    def part(self, node, name: str, source) -> None:
        """torch.split / chunk along the channels give parts; x[i] of them, or x[:, a:b], a channel slice."""
        if name in ("split", "chunk"):
            value = self.tensor(node, source)
            meta = node.meta.get("tensor_meta")
            sizes = [t.shape for t in meta] if type(meta) in (list, tuple) else []
            dim = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim", 0)
            if value.layout == "cf" and sizes and dim % len(value.shape) == 1:
                starts = [sum(s[1] for s in sizes[:i]) for i in range(len(sizes))]
                self.values[node] = ("parts", value, [(a, s[1]) for a, s in zip(starts, sizes)])
            else:
                self.values[node] = None
            return
        container, index = node.args[0], node.args[1]
        parts = self.get(container)
        if isinstance(parts, tuple) and parts[0] == "parts" and isinstance(index, int):
            start, size = parts[2][index]
            return self.chain(node, parts[1], Slice(start, size))
        value = self.get(container)
        real = self.real_shape(node)
        if (isinstance(value, Value) and value.layout == "cl" and len(value.shape) == 3 and isinstance(index, tuple)
                and len(index) == 2 and index[0] == slice(None) and isinstance(index[1], int)):  # x[:, i]: one position
            position = index[1] % value.shape[1]
            return self.layer_for(node, "getitem", None, lambda v: (Crop(size=(1,), offset=(position,)), Flatten()))
        crop = crop_of(index, value, real) if isinstance(value, Value) else None
        if crop is not None:
            return self.layer_for(node, "getitem", None, lambda v: crop)
        if isinstance(value, Value) and real is not None and value.layout == "cf" and isinstance(index, tuple) and len(index) >= 2 \
                and index[0] == slice(None) and isinstance(index[1], slice) and all(i == slice(None) for i in index[2:]) \
                and index[1].step in (None, 1):
            start = index[1].start or 0
            if real[1:] == value.shape[1:] and len(real) == len(value.shape):
                return self.layer_for(node, "getitem", None, lambda v: Slice(start, real[1]) if real[1] != v.shape[1] or start else
                                      Elementwise("identity"))
        self.layer_for(node, "getitem", None, lambda v: None)

    def chain(self, node, value, layer) -> None:
        item = LayerNode(self.leaf_name(node), layer, f"{node.name}: {node.op} {shorten(str(node.target), 80)}", node.name, value.id)
        self.place(node, item)
        self.values[node] = Value(node.name, self.real_shape(node), "cf")

    def concat(self, node) -> None:
        args = node.normalized_arguments(self.traced, normalize_to_only_use_kwargs=True)
        parts, dim = (args.kwargs["tensors"], args.kwargs.get("dim", 0)) if args else (node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0))
        if not all(isinstance(self.get(p), Value) for p in parts):  # a part convcalc does not follow (a parameter)
            first, second = (self.get(p) for p in parts) if len(parts) == 2 else (None, None)
            if (type(first) is tuple and first[0] == "attr" and isinstance(second, Value) and second.layout == "cl"
                    and len(second.shape) == 3 and dim % 3 == 1):
                return self.layer_for(node, "class_token", None, lambda v: ClassToken())  # ViT: a learned token first
            return self.layer_for(node, "cat", None, lambda v: None)
        values = [self.tensor(node, p) for p in parts]
        if len(values) == 1:  # torch.cat of one tensor: that tensor
            self.values[node] = values[0]
            return
        rank = len(values[0].shape)
        if any(v.layout != "cf" for v in values) or dim % rank != 1:
            return self.layer_for(node, "cat", None, lambda v: None)
        self.merge_node(node, "concat", values)

    def merge(self, node, op: str, tensors) -> None:
        attrs = [a for a in flat_args(node) if isinstance(self.get(a), tuple)]
        if len(tensors) == 1 and attrs and op == "multiply":  # a learned per-channel scale (ConvNeXt's layer scale)
            param = self.traced.get_parameter(self.values[attrs[0]][1]) if self.values[attrs[0]][0] == "attr" else None
            value = self.tensor(node, tensors[0])
            channels = convcalc_shape(value.shape, value.layout)[0]
            if param is not None and param.numel() == channels:
                return self.layer_for(node, "scale", None, lambda v: Scale())
            return self.layer_for(node, "mul", None, lambda v: None)
        learned = self.learned(node)
        if len(tensors) == 1 and learned:  # a learned tensor added: a position embedding, or else listed
            value = self.get(tensors[0])
            if op == "add" and len(learned) == 1 and learned[0].numel() == prod(value.shape[1:]):
                return self.layer_for(node, "position_embedding", None, lambda v: PositionEmbedding())
            return self.layer_for(node, Note("{op} of a parameter", op=op), None, lambda v: None)
        if len(tensors) == 1:  # a tensor and a number: element-wise, 0 MACs by convcalc's rules
            value = self.tensor(node, tensors[0])
            self.values[node] = value
            return
        values = [self.tensor(node, t, gate=op == "multiply") for t in tensors[:2]]
        if values[0].layout != values[1].layout:
            return self.layer_for(node, op, None, lambda v: None)
        self.merge_node(node, op, values)

    def merge_node(self, node, op: str, values) -> None:
        paths = tuple(Ref(v.id, node.name) for v in values)
        merge = Merge(self.leaf_name(node), op, paths, tuple(v.id for v in values), "identity", f"{node.name}: {op}", node.name, None, op)
        self.place(node, merge)
        windows = values[0].windows if all(v.windows == values[0].windows for v in values) else None
        shape = values[0].shape if windows else self.real_shape(node) or values[0].shape
        self.values[node] = Value(node.name, shape, values[0].layout, windows=windows)

    def functional_linear(self, node, value):
        weight = self.get(node.args[1] if len(node.args) > 1 else node.kwargs.get("weight"))
        bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        if type(weight) is not tuple or weight[0] != "attr":
            return None
        out_features = self.traced.get_parameter(weight[1]).shape[0]
        return linear_module(type("F", (), {"out_features": out_features, "bias": bias})(), convcalc_shape(value.shape, value.layout), value.layout)

    def function_layer(self, node, name: str, value):
        cf, layout = convcalc_shape(value.shape, value.layout), value.layout
        args = node.normalized_arguments(self.traced, normalize_to_only_use_kwargs=True)
        kw = dict(args.kwargs) if args else dict(node.kwargs)
        n = len(cf) - 1
        if name in ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d") and layout == "cf":
            sizes = pairs(kw.get("output_size", node.args[1] if len(node.args) > 1 else None), n)
            kind = "adaptive_maxpool" if "max" in name else "adaptive_avgpool"
            return AdaptivePool(tuple(s if s is not None else cf[i + 1] for i, s in enumerate(sizes)), kind)
        if name in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d") and layout == "cf":
            k = kw.get("kernel_size", node.args[1] if len(node.args) > 1 else None)
            s = kw.get("stride") or k
            kind = "maxpool" if "max" in name else "avgpool"
            return Pool(pairs(k, n), pairs(s, n), pairs(kw.get("padding", 0), n), pairs(kw.get("dilation", 1), n) if kind == "maxpool" else 1,
                        bool(kw.get("ceil_mode", False)), kind)
        if name == "mean" and layout == "cf":
            dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            dims = sorted(d % len(value.shape) for d in pairs(dims, 1)) if dims is not None else []
            keep = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
            if dims == list(range(2, len(value.shape))):
                return AdaptivePool(1, "mean") if keep else (AdaptivePool(1, "mean"), Flatten())
            return None
        if name == "interpolate" and layout == "cf":
            size = kw.get("size")
            if size is not None and not all(isinstance(v, int) for v in pairs(size, n)):
                size = self.real_shape(node)[2:]  # a size read from another tensor (F.interpolate(x, size=y.shape[2:]))
            return resize_layer(size, kw.get("scale_factor") if size is None else None, kw.get("mode", "nearest"), n)
        if name == "pad" and layout == "cf" and kw.get("mode", "constant") in ("constant", "reflect", "replicate") and not kw.get("value"):
            mode = {"constant": "zeros"}.get(kw.get("mode", "constant"), kw.get("mode"))
            amounts = [a.meta.get("value") if isinstance(a, self.Node) else a for a in kw.get("pad", node.args[1] if len(node.args) > 1 else ())]
            return Pad(torch_pad(amounts, n), mode) if all(type(a) is int for a in amounts) else None
        if name == "layer_norm":
            return layer_norm(tuple(kw.get("normalized_shape", ())), kw.get("weight") is not None, cf, layout)
        if name == "batch_norm" and layout == "cf":
            stats = self.get(kw.get("running_mean"))
            if type(stats) is tuple and stats[0] == "attr":  # convcalc's 2·C + 1 buffers include the module's batch counter
                try:
                    self.covered.add(id(self.model.get_buffer(stats[1].rpartition(".")[0] + ".num_batches_tracked")))
                except AttributeError:
                    pass
            return Norm(kw.get("weight") is not None, kind="batchnorm")
        if name == "channel_shuffle" and layout == "cf":
            return ChannelShuffle(kw.get("groups", node.args[1] if len(node.args) > 1 else 1))
        if name == "pixel_unshuffle" and layout == "cf":
            return SpaceToDepth(kw.get("downscale_factor", node.args[1] if len(node.args) > 1 else None))
        if name == "_patch_merging_pad" and layout == "cl" and len(cf) == 3:
            return SpaceToDepth(2, pad=True)  # torchvision's Swin: pad to even, four strided views concatenated
        return None


def swin_attention(m, cf):
    """torchvision's ShiftedWindowAttention (V2: cosine attention, bias from a 2→512→heads MLP)."""
    v2 = hasattr(m, "cpb_mlp")
    if (m.qkv.bias is None) != (m.proj.bias is None) or m.qkv.in_features != cf[0] or len(m.window_size) != len(cf) - 1:
        return None
    if v2 and [type(x).__name__ for x in m.cpb_mlp] != ["Linear", "ReLU", "Linear"] or v2 and m.cpb_mlp[0].out_features != 512:
        return None
    return Attention(m.num_heads, m.qkv.bias is not None, tuple(m.window_size), tuple(m.shift_size), False,
                     "mlp" if v2 else "table", v2)


def timm_attention(m, cf):
    """timm's Attention (ViT, DeiT): plain multi-head self-attention over a sequence, unless it normalises
    queries and keys, gates, or biases only some projections — no convcalc formula for those."""
    plain = all(type(x).__name__ == "Identity" for x in (m.q_norm, m.k_norm, m.norm)) and getattr(m, "gate", None) is None
    if not plain or m.num_heads * m.head_dim != cf[0] or m.proj.out_features != cf[0] or (m.qkv.bias is None) != (m.proj.bias is None):
        return None
    return Attention(m.num_heads, m.qkv.bias is not None)


def maxvit_attention(m, cf, windows):
    """torchvision's MaxViT attention on windows of p×p positions, or (swapped) on a grid of windows spaced p apart."""
    p, grid = windows
    window = tuple(size // p for size in cf[1:]) if grid else (p, p)
    if m.n_heads * m.head_dim != cf[0] or prod(window) != m.max_seq_len or window[0] != m.size or len(set(window)) != 1:
        return None
    if (m.to_qkv.bias is None) != (m.merge.bias is None):
        return None
    return Attention(m.n_heads, m.to_qkv.bias is not None, window, grid=grid, position_bias="table")


def crop_of(index, value, real):
    """x[:, :, a:b, c:d]: a window of the spatial axes, as a crop at those offsets."""
    if value.layout != "cf" or real is None or not isinstance(index, tuple) or len(index) != len(value.shape):
        return None
    if index[0] != slice(None) or index[1] != slice(None) or not all(isinstance(i, slice) and i.step in (None, 1) for i in index[2:]):
        return None
    if any(not isinstance(i.start, (int, type(None))) for i in index[2:]) or real[:2] != value.shape[:2]:
        return None
    offsets = tuple((i.start or 0) % (m or 1) if (i.start or 0) < 0 else (i.start or 0) for i, m in zip(index[2:], value.shape[2:]))
    if tuple(real[2:]) == tuple(value.shape[2:]):
        return None
    return Crop(size=tuple(real[2:]), offset=offsets)


def flat_args(node) -> list:
    out = []

    def visit(a):
        if isinstance(a, (list, tuple)):
            for x in a:
                visit(x)
        elif isinstance(a, dict):
            for x in a.values():
                visit(x)
        else:
            out.append(a)

    visit(node.args)
    visit(node.kwargs)
    return out


def first_tensor(structure, values):
    if isinstance(structure, (list, tuple)):
        for item in structure:
            found = first_tensor(item, values)
            if found is not None:
                return found
        return None
    if isinstance(structure, dict):
        return first_tensor(list(structure.values()), values)
    return structure if hasattr(structure, "graph") and isinstance(values.get(structure), Value) else None

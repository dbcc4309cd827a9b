"""A PyTorch model read by running it: its forward runs once on the meta device (no weight allocated,
no arithmetic done) while every operation PyTorch dispatches is recorded with the tensors it reads and
writes and the modules it runs in. Loops, size arithmetic, string padding and asserts simply run, so a
model is never refused for the way its code is written.

The recording is mapped onto the graph builder (graph.py) by one table, operation → convcalc layer:
convolutions, matrix products with a weight, pooling, normalisations, activations, merges, views and
slices become convcalc layers whose shapes, parameters and MACs the core's formulas give. A module
that multiplies two activations (attention, however it is written) is one row whose MACs are those
of PyTorch's own FLOP formulas (torch.utils.flop_counter) for the operations inside it, and so is an
operation convcalc has no formula for but PyTorch does. What neither knows is an opaque row, named:
the totals then say they are partial. Parameters and buffers are counted once each, by identity.

Operations are seen as FlopCounterMode sees them (an operation without a FLOP formula is decomposed
where PyTorch can), so the MACs are PyTorch's counter's, halved.
"""

from __future__ import annotations

from math import prod

from ..core.errors import ConvcalcError, quote, shorten
from ..core.formulas import analyze_layer
from ..core.layers import (AdaptivePool, ChannelShuffle, ClassToken, Conv, ConvTranspose, Crop, Elementwise, Flatten, Linear, Norm,
                           Opaque, Pad, Pool, PositionEmbedding, Resize, Scale, Slice, SpaceToDepth, Subgraph)
from ..core.messages import Note
from ..core.network import Network
from .graph import GraphBuilder
from .metashapes import shortcut
from .torchmodules import module_family, module_formula, torch_pad

# element-wise operations that are convcalc's activations (the rest of the element-wise ones keep the value: 0 MACs)
ACTIVATIONS = {"relu": "relu", "relu_": "relu", "gelu": "gelu", "gelu_": "gelu", "silu": "silu", "silu_": "silu",
               "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh", "hardswish": "hardswish",
               "hardswish_": "hardswish", "hardsigmoid": "hardsigmoid", "hardsigmoid_": "hardsigmoid", "leaky_relu": "leaky_relu",
               "leaky_relu_": "leaky_relu", "elu": "elu", "elu_": "elu", "mish": "mish", "mish_": "mish"}
SOFTMAX = ("_softmax", "_safe_softmax", "softmax")
MERGES = {"add": "add", "add_": "add", "sub": "subtract", "sub_": "subtract", "mul": "multiply", "mul_": "multiply",
          "div": "divide", "div_": "divide", "pow": "power"}
VIEWS = {"view", "_unsafe_view", "reshape", "permute", "transpose", "transpose_", "t", "squeeze", "squeeze_", "unsqueeze",
         "unsqueeze_", "flatten", "alias", "_reshape_alias", "view_as", "as_strided", "movedim", "swapaxes", "swapdims", "unflatten"}
COPIES = {"clone", "contiguous", "detach", "_to_copy", "to", "lift_fresh", "lift_fresh_copy", "copy", "type_as", "expand", "expand_as",
          "repeat", "fill", "zero"}
# operations that cost no multiply-adds by convcalc's rules (reductions, indexing, sorting, creation): a row
# only where they change the shape, never an unknown
FREE = {"mean", "sum", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "linalg_vector_norm", "norm", "prod",
        "argmax", "argmin", "topk", "sort", "cumsum", "logsumexp", "any", "all", "gather", "scatter", "scatter_add", "index",
        "index_select", "index_put", "index_put_", "masked_fill", "masked_fill_", "where", "roll", "flip", "stack", "cat", "select",
        "slice", "split", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "unbind", "narrow", "chunk", "constant_pad_nd", "pad", "reflection_pad1d",
        "reflection_pad2d", "reflection_pad3d", "replication_pad1d", "replication_pad2d", "replication_pad3d", "arange", "zeros",
        "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "new_zeros", "new_ones", "new_empty",
        "new_full", "scalar_tensor", "clamp", "clamp_min", "clamp_max", "upsample_nearest1d", "upsample_nearest2d",
        "upsample_nearest3d", "upsample_bilinear2d", "upsample_linear1d", "upsample_trilinear3d", "upsample_bicubic2d",
        "_upsample_nearest_exact2d", "_unsafe_index", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_dropout", "dropout",
        "max_pool2d_with_indices", "max_pool1d", "max_pool2d", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool1d", "adaptive_avg_pool1d",
        "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training", "native_layer_norm",
        "native_group_norm", "_softmax", "_safe_softmax", "_log_softmax", "im2col", "col2im", "grid_sampler_2d", "embedding",
        "bernoulli", "bernoulli_", "rand", "randn", "rand_like", "randn_like", "normal", "uniform", "uniform_", "triu", "tril",
        "eye", "_local_scalar_dense", "nonzero", "repeat_interleave", "sign", "abs", "exp", "log", "sqrt", "rsqrt", "erf",
        "nms", "roi_align", "roi_pool", "ps_roi_align", "ps_roi_pool",  # detection: comparisons and bilinear sampling
        "_unique2", "unique", "_unique", "unique_consecutive", "unique_dim", "argsort", "searchsorted", "bincount", "copy_",
        "index_copy", "index_add", "index_fill", "masked_scatter", "masked_select", "take", "put_", "resize_", "set_"}
PRODUCTS = ("mm", "bmm", "baddbmm", "addmm", "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
            "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu", "convolution")
NORMS = ("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training", "native_layer_norm",
         "native_group_norm")
SKIPPED = ("size", "sym_size", "stride", "sym_stride", "numel", "sym_numel", "dim", "is_contiguous", "storage_offset",
           "sym_storage_offset", "is_strides_like_format", "is_non_overlapping_and_dense", "sym_is_contiguous")


class RunError(Exception):
    """The model's forward failed: in which module, at which operation, and why."""

    def __init__(self, module: str, op: str, reason: str):
        super().__init__(f"{module}: {op}: {reason}")
        self.module, self.op, self.reason = module, op, reason


class Call:
    """One call of a module: where it sits, its tensors in and out, and whether modules ran inside it."""

    __slots__ = ("key", "path", "kind", "module", "inputs", "outputs", "parent", "leaf", "region")

    def __init__(self, key: int, path: str, kind: str, module, inputs: list, parent: "Call | None"):
        self.key, self.path, self.kind, self.module, self.inputs, self.parent = key, path, kind, module, inputs, parent
        self.outputs: list = []
        self.leaf = True
        self.region = False  # multiplies two activations: read whole


class Op:
    __slots__ = ("name", "func", "args", "kwargs", "out", "call", "flops")

    def __init__(self, name, func, args, kwargs, out, call, flops):
        self.name, self.func, self.args, self.kwargs, self.out, self.call, self.flops = name, func, args, kwargs, out, call, flops


def tensors_in(value, torch) -> list:
    """The tensors in an argument: itself, or those of a list or tuple (cat's inputs)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in tensors_in(item, torch)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in tensors_in(item, torch)]
    return []


SMALL_VALUES = 4096  # elements: a constant this small keeps its values beside the meta run (strides, anchors' sizes)


def record(torch, model, x, values: dict | None = None):
    """Run `model(x)` once, noting every dispatched operation and every module call, in order.

    `values` maps a meta tensor's id to its real values (a small buffer, such as Ultralytics' strides): the
    operations on such constants are also worked out on the CPU beside the meta run, so that code that reads
    one (`.item()`, a size computed from it) runs on the meta device all the same."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    events: list = []  # ("enter", Call) | ("exit", Call) | Op
    origin: dict[int, object] = {}  # id(tensor) → "act" or a frozenset of the parameters it is made from
    kept: list = [x]  # every tensor seen, alive to the end so that its id stays its own
    learned = {id(t): t for t in list(model.parameters()) + list(model.buffers())}
    names = {id(m): name for name, m in model.named_modules()}
    stack: list[Call] = []
    origin[id(x)] = "act"

    def source_of(t):
        found = origin.get(id(t))
        if found is None and id(t) in learned:
            found = origin[id(t)] = frozenset((id(t),))
        return found

    class Recorder(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:  # nothing compiles a read: no wrapper, whose first call imports torch._dynamo
            return False

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = func._overloadpacket.__name__
            if name in SKIPPED:
                return func(*args, **kwargs)
            if func._overloadpacket not in flop_registry and func is not torch.ops.prim.device.default:
                with self:
                    result = func.decompose(*args, **kwargs)
                if result is not NotImplemented:
                    return result
            ins = tensors_in(args, torch) + tensors_in(kwargs, torch)
            known = values is not None and ins and all(id(t) in values for t in ins)
            if known and any(t.device.type == "meta" for t in ins):  # a constant with values: worked out on the CPU too
                real = func(*real_args(args, values, torch), **real_args(kwargs, values, torch))
                if not isinstance(real, torch.Tensor) and not (isinstance(real, (tuple, list)) and real and
                                                               isinstance(real[0], torch.Tensor)):
                    return real  # a number (.item()): what the model's code asked for
                out = func(*args, **kwargs)
                for meta_t, real_t in zip(tensors_in(out, torch), tensors_in(real, torch)):
                    if real_t.numel() <= SMALL_VALUES:
                        values[id(meta_t)] = real_t
            else:
                out = shortcut(torch, func, args, kwargs)
                out = func(*args, **kwargs) if out is None else out
            sources = [source_of(t) for t in ins]
            produced = tensors_in(out, torch)
            if "act" in sources:
                made = "act"
            else:
                made = frozenset().union(*(s for s in sources if s)) if any(sources) else None
            for t in produced:
                if made is not None and (id(t) not in origin or made == "act"):
                    origin[id(t)] = made
            kept.extend(produced)
            flops = 0
            if func._overloadpacket in flop_registry:
                flops = flop_registry[func._overloadpacket](*args, **kwargs, out_val=out)
            events.append(Op(name, func, args, kwargs, out, stack[-1] if stack else None, flops))
            return out

    def before(module, args):
        parent = stack[-1] if stack else None
        if parent is not None:
            parent.leaf = False
        call = Call(len(events), names.get(id(module), type(module).__name__), type(module).__name__, module,
                    tensors_in(args, torch), parent)
        stack.append(call)
        events.append(("enter", call))

    def after(module, args, output):
        if stack and stack[-1].module is module:
            call = stack.pop()
            call.outputs = tensors_in(output, torch)
            kept.extend(call.outputs)
            events.append(("exit", call))

    inputs = [x] + [torch.empty_like(x) if x.device.type == "meta" else torch.randn_like(x) for _ in range(extra_inputs(model) )]
    for t in inputs:
        origin[id(t)] = "act"
    kept.extend(inputs)
    hooks = [torch.nn.modules.module.register_module_forward_pre_hook(before),
             torch.nn.modules.module.register_module_forward_hook(after, always_call=True)]
    try:
        with torch.no_grad(), Recorder():
            output = model(*inputs)
    except Exception as error:
        text = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
        where = stack[-1].path if stack else type(model).__name__
        last = events[-1].name if events and isinstance(events[-1], Op) else "forward"
        raise RunError(shorten(where), last, shorten(text, 200)) from None
    finally:
        for hook in hooks:
            hook.remove()
    return events, origin, tensors_in(output, torch), inputs


def small_tensors(torch, model) -> dict:
    """The model's small tensors by (module, name): its buffers, and the tensors its modules keep as plain attributes
    (Ultralytics' strides, which its own `_apply` moves with the weights)."""
    found = {}
    for path, module in model.named_modules():
        for name, value in [*module.named_buffers(recurse=False), *vars(module).items()]:
            if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter) and value.numel() <= SMALL_VALUES:
                found[(path, name)] = value
    return found


def real_args(value, values: dict, torch):
    """An argument with its meta tensors replaced by their real values."""
    if isinstance(value, torch.Tensor):
        return values.get(id(value), value)
    if isinstance(value, (list, tuple)):
        return type(value)(real_args(v, values, torch) for v in value)
    if isinstance(value, dict):
        return {k: real_args(v, values, torch) for k, v in value.items()}
    return value


def extra_inputs(model) -> int:
    """How many more tensors the forward requires than one (RAFT's two images): each gets the input's shape."""
    import inspect

    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return 0
    required = [p for p in parameters if p.default is inspect.Parameter.empty
                and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    return max(len(required) - 1, 0)


def is_activation(origin, t) -> bool:
    return origin.get(id(t)) == "act"


class Reader(GraphBuilder):
    """The recording → convcalc rows, through the graph builder."""

    def __init__(self, torch, model, shape: tuple, target: str):
        super().__init__("t_input", shape, shorten(target))
        self.moves_named_by_kind = True  # a view outside any module (torch.flatten in a forward): "flatten"
        self.torch, self.model, self.target = torch, model, target
        self.names: dict[int, str] = {}  # id(tensor) → its value's name now (an in-place op gives it a new one)
        self.count = 0
        self.params = {id(p): p for p in model.parameters()}
        self.buffers = {id(b): b for b in model.buffers()}
        self.owner = {id(t): m for m in model.modules() for t in list(m.parameters(recurse=False)) + list(m.buffers(recurse=False))}
        self.covered: set[int] = set()
        self.last = "t_input"

    # --- values ----------------------------------------------------------------
    def fresh(self, t=None) -> str:
        """A new value name, the name of tensor `t` from now on if one is given."""
        self.count += 1
        name = f"t{self.count}"
        if t is not None:
            self.names[id(t)] = name
        return name

    def value(self, t) -> str | None:
        """The builder's name for an activation tensor (written as a layer if it was a pending move). One that
        no row made (a second output of a module read whole) is taken from the last row, as a row of its own."""
        name = self.names.get(id(t))
        if name is None:
            if not is_activation(self.origin, t):
                return None
            self.whole("", "tensor", self.last, [t], [], [], 0)
            return self.names[id(t)]
        if name in self.real:
            self.materialise(name)
        return name

    def layout_for(self, real: tuple, source: str | None) -> tuple[tuple, str]:
        """convcalc's shape and layout for a tensor of `real` shape made from `source`."""
        if source is not None and tuple(real) == self.real_of(source):
            return self.shapes[source], self.layout.get(source, "cf")
        if source is not None and self.layout.get(source) == "cl" and len(real) == len(self.real_of(source)) > 2:
            return (real[-1], *real[1:-1]), "cl"
        shape = tuple(real[1:])
        if not 1 <= len(shape) <= 4 or not all(shape):
            shape = (max(prod(real[1:]), 1),)
        return shape, "cf"

    # --- rows ------------------------------------------------------------------
    @staticmethod
    def chain(call) -> list:
        """The module calls from the model's own (left out: it is not a block) down to `call`."""
        calls = []
        while call is not None and call.parent is not None:
            calls.append(call)
            call = call.parent
        return calls[::-1]

    def scope_of(self, call) -> str:
        """Set the scope of the next rows to the modules `call` runs in; the label: a leaf module's own name."""
        calls = self.chain(call)
        label = ""
        if calls and calls[-1].leaf:
            label = calls.pop().path.rsplit(".", 1)[-1]
        self.scope = tuple((c.key, c.path.rsplit(".", 1)[-1], c.kind) for c in calls)
        return label

    def learned(self, tensors) -> tuple[list, list]:
        """The parameters and buffers `tensors` are made from, not counted by an earlier row."""
        params, buffers = [], []
        for t in tensors:
            made = self.origin.get(id(t))
            if not isinstance(made, frozenset):
                continue
            for key in made:
                if key in self.covered:
                    continue
                if key in self.params:
                    params.append(key)
                elif key in self.buffers:
                    buffers.append(key)
        return list(dict.fromkeys(params)), list(dict.fromkeys(buffers))

    def cover(self, keys) -> None:
        self.covered.update(keys)

    def frozen(self, keys) -> bool:
        return bool(keys) and all(not self.params[k].requires_grad for k in keys if k in self.params)

    def layer(self, op: Op | None, layer, source: str, out_t, label: str, keys=(), extra_buffers=(), macs: int | None = None) -> bool:
        """A convcalc layer for `op` (or a module's operations, of `macs` multiply-adds), if its formula gives the shape
        and the counts the model has; else False."""
        try:
            cost = analyze_layer(layer, self.shapes[source])
        except ConvcalcError:
            return False
        if not self.fits(source, cost.output_shape, cost.params, cost.buffers, out_t, keys, extra_buffers):
            return False
        if macs is None and op.flops:
            macs = op.flops // 2
        if macs is not None and cost.macs != macs:
            return False
        name = self.fresh(out_t)
        self.add(layer, label or op.name, source, name, self.frozen(keys))
        self.cover(keys)
        self.cover(extra_buffers)
        self.last = name
        return True

    def fits(self, source: str, shape: tuple, params: int, buffers: int, out_t, keys, extra_buffers=()) -> bool:
        """Whether a formula's output `shape` (in the source's layout), parameters and buffers are the model's: `out_t`'s
        shape, and the numels of the parameters and buffers `keys` (and `extra_buffers`) name."""
        layout = self.layout.get(source, "cf") if len(shape) > 1 else "cf"
        real = (1, *shape[1:], shape[0]) if layout == "cl" else (1, *shape)
        return (real == tuple(out_t.shape) and params == sum(self.params[k].numel() for k in keys if k in self.params)
                and buffers == sum(self.buffers[k].numel() for k in list(keys) + list(extra_buffers) if k in self.buffers))

    def whole(self, label: str, op_name, source: str, outs: list, keys_params, keys_buffers, macs: int, thop: int = 0) -> None:
        """A row read whole: the model's own output shape, parameters, buffers and MACs."""
        out_t = outs[0]
        shape, layout = self.layout_for(tuple(out_t.shape), source)
        params = sum(self.params[k].numel() for k in keys_params)
        buffers = sum(self.buffers[k].numel() for k in keys_buffers)
        name = self.fresh(out_t)
        self.add(Subgraph(op_name, shape, params, buffers, macs, thop), label or str(op_name), source, name, self.frozen(keys_params))
        self.layout[name] = layout
        self.cover(keys_params)
        self.cover(keys_buffers)
        for extra in outs[1:]:  # a second output of the same shape (split into equal parts) is taken as the first
            if tuple(extra.shape) == tuple(out_t.shape):
                self.names[id(extra)] = name
        self.last = name

    def unknown_row(self, op: Op, source: str, out_t, label: str) -> None:
        shape, layout = self.layout_for(tuple(out_t.shape), source)
        params, buffers = self.learned(tensors_in(op.args, self.torch))
        name = self.fresh(out_t)
        layer = Opaque(op.name, shape, sum(self.params[k].numel() for k in params), sum(self.buffers[k].numel() for k in buffers))
        self.add(layer, label or op.name, source, name, self.frozen(params))
        self.layout[name] = layout
        self.cover(params + buffers)
        self.last = name

    # --- the walk --------------------------------------------------------------
    def read(self, x) -> tuple:
        torch = self.torch
        events, self.origin, outputs, inputs = record(torch, self.model, x, self.values)
        # a buffer the forward itself registers (ConViT's relative indices) exists only now
        self.buffers = {id(b): b for b in self.model.buffers()}
        for t in inputs:  # a second image (RAFT's) is read as another copy of the input
            self.names[id(t)] = "t_input"
        for event in events:  # the innermost module around each product of two activations is read whole
            if isinstance(event, Op) and event.name in PRODUCTS and self.product(event):
                call = event.call
                if call is not None and call.parent is not None and self.region_fits(call):
                    call.region = True
        # what a later operation (or the caller) reads: an operation whose results nothing reads and that
        # costs nothing (a test that decides a branch: `if x.sum() > 0`) is left out
        self.used = {id(t) for t in outputs}
        for event in reversed(events):  # liveness, from the outputs back
            if isinstance(event, tuple):
                if event[0] == "exit" and event[1].region and any(id(t) in self.used for t in event[1].outputs):
                    self.used.update(id(t) for t in event[1].inputs)
                continue
            reads = tensors_in(event.args, torch) + tensors_in(event.kwargs, torch)
            if event.flops or any(id(t) in self.used for t in tensors_in(event.out, torch)) or any(
                    isinstance(self.origin.get(id(t)), frozenset) for t in reads):
                self.used.update(id(t) for t in reads)
        region = None
        totals: dict = {}
        for event in events:
            if isinstance(event, tuple):
                kind, call = event
                if region is None and kind == "enter" and (call.region or self.read_whole(call)):
                    region, totals = call, {"macs": 0, "ops": []}
                elif region is call and kind == "exit":
                    self.read_region(call, totals)
                    region = None
                continue
            if region is not None:
                totals["macs"] += event.flops // 2
                totals["ops"].append(event)
                continue
            self.op(event)
        final = next((t for t in outputs if id(t) in self.names), None)
        if final is None:
            raise ConvcalcError(Note("{target}: the model returns no tensor made from its input, got {value}",
                                     target=shorten(self.target), value=quote(type(outputs).__name__)))
        out_name = self.value(final)
        params = [k for k in self.params if k not in self.covered]
        buffers = [k for k in self.buffers if k not in self.covered]
        if params or buffers:  # never called, or used outside any operation convcalc follows: said, not dropped
            self.scope = ()
            names = {id(p): n for n, p in self.model.named_parameters()}
            listed = ", ".join(names.get(k, "?") for k in params[:3]) + (", …" if len(params) > 3 else "")
            shape, layout = self.shapes[out_name], self.layout.get(out_name, "cf")
            self.add(Subgraph(Note("parameters and buffers no operation reads ({names})", names=listed), shape,
                              sum(self.params[k].numel() for k in params), sum(self.buffers[k].numel() for k in buffers), 0),
                     "unread_parameters", out_name, "t_unread", self.frozen(params))
            self.layout["t_unread"] = layout
            self.cover(params + buffers)
            out_name = "t_unread"
        return self.finish([out_name]), [tuple(t.shape) for t in outputs]

    def product(self, op: Op) -> bool:
        """A product of two activations (attention's scores and weighted values, a dynamic convolution)."""
        tensors = tensors_in(op.args, self.torch)
        if op.name == "addmm":
            tensors = tensors[1:]
        return sum(is_activation(self.origin, t) for t in tensors) >= 2

    def region_fits(self, call) -> bool:
        return bool(call.outputs) and any(is_activation(self.origin, t) for t in call.inputs)

    def read_whole(self, call) -> bool:
        """A module convcalc has a formula for as a whole (attention, a layer convcalc's export writes): its
        operations are gathered, as a region's are, and read as one row if the formula's figures are its."""
        return module_family(call.module) is not None and call.parent is not None and self.region_fits(call)

    def read_region(self, call, totals) -> None:
        """A module read whole: by convcalc's formula where its figures are the module's; else, a region (it multiplies
        two activations) as one row of PyTorch's own figures, and any other module operation by operation."""
        ops = totals["ops"]
        source_t = next(t for t in call.inputs if is_activation(self.origin, t))
        source = self.value(source_t)
        if source is None:
            return
        calls = self.chain(call)
        label = calls[-1].path.rsplit(".", 1)[-1]
        self.scope = tuple((c.key, c.path.rsplit(".", 1)[-1], c.kind) for c in calls[:-1])
        params, buffers = self.learned([t for op in ops for t in tensors_in(op.args, self.torch)])
        layer = module_formula(call.module, self.shapes[source], self.layout.get(source, "cf"),
                               self_attention=len({id(t) for t in call.inputs[:3]}) == 1)
        if type(layer) is tuple:
            if self.chain_of(layer, calls, source, call.outputs[0], params + buffers, totals["macs"]):
                return
        elif layer is not None and self.layer(None, layer, source, call.outputs[0], label, params + buffers, macs=totals["macs"]):
            return
        if not call.region:
            for op in ops:
                self.op(op)
            return
        kinds = ", ".join(dict.fromkeys(op.name for op in ops if op.name in PRODUCTS or op.name in SOFTMAX))
        thop = sum(self.thop_count(op) for op in ops)
        self.whole(label, f"{call.kind} ({kinds})", source, call.outputs, params, buffers, totals["macs"], thop)

    def chain_of(self, layers, calls, source: str, out_t, keys, macs: int) -> bool:
        """A module that is several convcalc layers ((name, layer), …; ("+", name, items) a residual branch), as a
        block of them, if together their figures are the module's."""
        def figures(items, shape) -> tuple:
            params = buffers = total = 0
            for item in items:
                if item[0] == "+":
                    p, b, t, out = figures(item[2], shape)
                    if out != shape:  # an add needs the branch to keep the shape
                        raise ValueError(item[1])
                else:
                    cost = analyze_layer(item[1], shape)
                    p, b, t, shape = cost.params, cost.buffers, cost.macs, cost.output_shape
                params, buffers, total = params + p, buffers + b, total + t
            return params, buffers, total, shape

        try:
            params, buffers, total, shape = figures(layers, self.shapes[source])
        except (ConvcalcError, ValueError):
            return False
        if total != macs or not self.fits(source, shape, params, buffers, out_t, keys):
            return False
        frozen, outer = self.frozen(keys), tuple((c.key, c.path.rsplit(".", 1)[-1], c.kind) for c in calls)

        def emit(items, source: str, scope: tuple) -> str:
            for item in items:
                self.scope = scope
                out = self.fresh()
                if item[0] == "+":
                    branch = emit(item[2], source, (*scope, ((scope[-1][0], item[1]), item[1], "Sequential")))
                    self.scope = scope
                    self.join("add", [source, branch], out, "add", f"{self.place}: {item[1]} add")
                else:
                    self.add(item[1], item[0], source, out, frozen)
                source = out
            return source

        last = emit(layers, source, outer)
        self.names[id(out_t)] = self.last = last
        self.cover(keys)
        return True

    def thop_count(self, op: Op) -> int:
        """What thop counts of one operation inside a region: a convolution's or a matrix product's multiply-adds
        (torch.nn's Conv and Linear by their hooks, matmul, bmm and F.linear as it counts functions), a norm's 2 per
        element (4 with affine)."""
        if op.name in PRODUCTS:
            return op.flops // 2
        if op.name in NORMS:
            x, weight = op.args[0], op.args[1] if len(op.args) > 1 else None
            if op.name == "native_layer_norm":
                weight = op.args[2] if len(op.args) > 2 else None
            return 2 * x.numel() * (2 if weight is not None else 1) // x.shape[0]  # per sample
        return 0

    def op(self, op: Op) -> None:
        torch, name = self.torch, op.name
        ins = [t for t in tensors_in(op.args, torch) if is_activation(self.origin, t)]
        outs = [t for t in tensors_in(op.out, torch)]
        if not ins or not outs:  # arithmetic on weights or sizes: nothing flows from the input
            if op.flops and outs:  # but it costs (XCiT's position encoding, a convolution of a fixed grid): a row
                params, buffers = self.learned(tensors_in(op.args, torch))
                self.scope_of(op.call)
                self.whole("", op.name, self.last, outs[:1], params, buffers, op.flops // 2)
                del self.names[id(outs[0])]  # not a value of the input's: later operations take it as a constant
            return
        if not op.flops and not any(id(t) in self.used for t in outs) and not any(self.learned(tensors_in(op.args, torch))):
            return  # read by nothing, costs nothing
        label = self.scope_of(op.call)
        handler = getattr(self, f"on_{name}", None)
        if handler is not None and handler(op, ins, outs, label):
            return
        if name in VIEWS or name in COPIES or op.func.is_view or torch.Tag.inplace_view in op.func.tags:
            return self.view(op, ins[0], outs[0], label)  # before the value is read: a pending move stays pending
        first = self.value(ins[0])
        if first is None:
            return
        if name in ACTIVATIONS or name in SOFTMAX and op.call is not None and op.call.leaf and op.call.kind == "Softmax":
            kind = ACTIVATIONS.get(name, "softmax")  # a softmax not called as nn.Softmax keeps the value (no row)
            if self.layer(op, Elementwise(kind), first, outs[0], label):
                return
        if name in MERGES and len(ins) >= 2:
            if self.merge(op, MERGES[name], ins, outs[0], label):
                return
        if name in MERGES and len(ins) == 1 and self.learned_pattern(op, name, first, outs[0], label):
            return
        pointwise = torch.Tag.pointwise in op.func.tags
        known = name in FREE or name in MERGES or name in ACTIVATIONS or name in SOFTMAX or name in PRODUCTS  # a product of
        if (pointwise or known) and not op.flops:  # nothing (a detection head's convolution on no box) costs 0 as well
            if tuple(outs[0].shape) == self.real_of(first):
                params, buffers = self.learned(tensors_in(op.args, torch))
                if not params and not buffers:
                    for t in outs:
                        self.names[id(t)] = first  # element-wise on the value: 0 MACs, no row
                    return
            params, buffers = self.learned(tensors_in(op.args, torch))
            return self.whole(label, name, first, outs, params, buffers, 0)
        if op.flops:  # a product convcalc has no layer for: PyTorch's count, and thop's (it counts matmul and bmm)
            params, buffers = self.learned(tensors_in(op.args, torch))
            return self.whole(label, name, first, outs, params, buffers, op.flops // 2, op.flops // 2)
        self.unknown_row(op, first, outs[0], label)

    def view(self, op: Op, t, out_t, label: str = "") -> None:
        """A view, permutation or copy: a pending data move, written as a layer when a layer reads it."""
        name = self.names.get(id(t)) or self.value(t)
        real = tuple(out_t.shape)
        if prod(real) != prod(t.shape):  # expand, repeat: the same values broadcast
            self.names[id(out_t)] = name
            return
        out = self.fresh(out_t)
        perm = None
        if op.name == "permute":
            perm = list(op.args[1])
        elif op.name in ("transpose", "transpose_", "swapaxes", "swapdims") or (op.name == "t" and len(real) == 2):
            rank = len(real)
            a, b = (op.args[1] % rank, op.args[2] % rank) if op.name != "t" else (0, 1)
            perm = list(range(rank))
            perm[a], perm[b] = perm[b], perm[a]
        if perm is not None and sorted(perm) == list(range(len(real))):
            perm = [p % len(real) for p in perm]
            self.move(name, out, real, transposes=perm != sorted(perm), perm=perm, label=label)
        elif real == tuple(t.shape) and name not in self.real:
            self.same(out, name)
        else:
            self.move(name, out, real, label=label)

    def merge(self, op: Op, kind: str, ins, out_t, label: str) -> bool:
        names = [self.value(t) for t in ins[:2]]
        if None in names:
            return False
        try:
            checkpoint = (len(self.body), len(self.scopes))
            out = self.fresh(out_t)
            label = label or op.name.rstrip("_")  # an in-place add is an add
            self.join(kind, names, out, label, f"{self.place}: {label}")
        except ConvcalcError:
            del self.body[checkpoint[0]:]
            del self.scopes[checkpoint[1]:]
            return False
        if self.real_of(out) != tuple(out_t.shape):
            del self.body[checkpoint[0]:]
            del self.scopes[checkpoint[1]:]
            return False
        self.last = out
        return True

    def learned_pattern(self, op: Op, name: str, source: str, out_t, label: str) -> bool:
        """A learned tensor applied to the value: ConvNeXt's layer scale (× C values), ViT's position embedding
        (+ one value per channel and position)."""
        params, buffers = self.learned(tensors_in(op.args, self.torch))
        if not params or buffers:
            return False
        numel = sum(self.params[k].numel() for k in params)
        shape = self.shapes[source]
        if name in ("mul", "mul_") and numel == shape[0] and len(shape) > 0:
            return self.layer(op, Scale(), source, out_t, label, params)
        if name in ("add", "add_") and numel == prod(shape) and len(shape) == 2 and self.layout.get(source) == "cl":
            return self.layer(op, PositionEmbedding(), source, out_t, label, params)
        return False

    # --- operations with a convcalc layer -----------------------------------------
    def on_convolution(self, op: Op, ins, outs, label) -> bool:
        x, weight, bias, stride, padding, dilation, transposed, output_padding, groups = op.args[:9]
        source = self.value(x)
        if source is None or is_activation(self.origin, weight) or self.layout.get(source, "cf") != "cf":
            return False
        keys, _ = self.learned([weight] + ([bias] if bias is not None else []))
        n = weight.dim() - 2
        if transposed:
            layer = ConvTranspose(weight.shape[1] * groups, tuple(weight.shape[2:]), tuple(stride), tuple(padding),
                                  tuple(output_padding), tuple(dilation), groups, bias is not None)
        else:
            layer = Conv(weight.shape[0], tuple(weight.shape[2:]), tuple(stride), tuple(padding)[:n], tuple(dilation), groups,
                         bias is not None)
        return self.layer(op, layer, source, outs[0], label, keys)

    def linear(self, op: Op, x, weight, bias, label) -> bool:
        """x @ weightᵀ (+ bias): a linear layer on the features, or on the channels at each position."""
        if is_activation(self.origin, weight) or weight.dim() != 2:
            return False
        name = self.names.get(id(x))
        if name is None:
            return False
        keys, _ = self.learned([weight] + ([bias] if bias is not None else []))
        layer = Linear(weight.shape[1], bias is not None)
        out_t = op.out
        if name in self.real and len(x.shape) == 2:  # F.linear on a sequence: (N·L, C) viewed from (N, L, C)
            origin = self.real[name][0]
            real = self.real_of(origin)
            if (real[-1] == x.shape[1] and prod(real) == prod(x.shape) and self.channel_of(name) == 1
                    and self.channel_of(origin) == len(real) - 1):
                return self.layer_shaped(op, layer, origin, out_t, label, keys)
        source = self.value(x)
        return source is not None and self.layer(op, layer, source, out_t, label, keys)

    def layer_shaped(self, op, layer, source, out_t, label, keys) -> bool:
        """A layer whose output the model holds in another shape (a linear layer's (N·L, C) result): the row
        added, and the model's tensor a pending view of it."""
        try:
            cost = analyze_layer(layer, self.shapes[source])
        except ConvcalcError:
            return False
        counted = sum(self.params[k].numel() for k in keys if k in self.params)
        if cost.params != counted or prod(cost.output_shape) != prod(out_t.shape) or (op.flops and cost.macs != op.flops // 2):
            return False
        name = f"t{self.count + 1}_layer"
        self.add(layer, label or op.name, source, name, self.frozen(keys))
        self.cover(keys)
        out = self.fresh(out_t)
        self.move(name, out, tuple(out_t.shape))
        self.last = name
        return True

    def on_addmm(self, op: Op, ins, outs, label) -> bool:
        bias, x, weight_t = op.args[:3]
        weight = weight_t
        return self.linear(op, x, weight, bias if bias is not None and not is_activation(self.origin, bias) else None, label)

    def on_mm(self, op: Op, ins, outs, label) -> bool:
        x, weight = op.args[:2]
        return self.linear(op, x, weight, None, label)

    def norm(self, op: Op, layer, x, tensors, label, module_buffers=False) -> bool:
        source = self.value(x)
        if source is None:
            return False
        keys, buffers = self.learned([t for t in tensors if t is not None])
        extra = list(buffers)
        if module_buffers and buffers:  # the batch counter of a BatchNorm, which only training reads
            owner = self.owner.get(buffers[0])
            extra += [id(b) for b in owner.buffers(recurse=False)] if owner is not None else []
            extra = [k for k in dict.fromkeys(extra) if k not in self.covered]
        out = tensors_in(op.out, self.torch)[0]
        return self.layer(op, layer, source, out, label, keys, extra)

    def on__native_batch_norm_legit_no_training(self, op, ins, outs, label) -> bool:
        x, weight, bias, mean, var = op.args[:5]
        return self.norm(op, Norm(weight is not None, kind="batchnorm"), x, [weight, bias, mean, var], label, True)

    def on_native_batch_norm(self, op, ins, outs, label) -> bool:
        return self.on__native_batch_norm_legit_no_training(op, ins, outs, label)

    def on__native_batch_norm_legit(self, op, ins, outs, label) -> bool:
        return self.on__native_batch_norm_legit_no_training(op, ins, outs, label)

    def on_native_layer_norm(self, op, ins, outs, label) -> bool:
        x, normalized, weight, bias = op.args[:4]
        source = self.value(x)
        if source is None:
            return False
        shape, layout = self.shapes[source], self.layout.get(source, "cf")
        normalized = tuple(normalized)
        if layout == "cl" and normalized == (shape[0],) or len(shape) == 1 and normalized == shape:
            layer = Norm(weight is not None, kind="layernorm")
        elif layout == "cf" and normalized == tuple(shape[len(shape) - len(normalized):]):
            layer = Norm(weight is not None, kind="layernorm", shape=normalized)
        else:
            return False
        return self.norm(op, layer, x, [weight, bias], label)

    def on_native_group_norm(self, op, ins, outs, label) -> bool:
        x, weight, bias, _n, _c, _hw, groups = op.args[:7]
        return self.norm(op, Norm(weight is not None, groups, "groupnorm"), x, [weight, bias], label)

    def pool(self, op, layer, label) -> bool:
        source = self.value(op.args[0])
        if source is None or self.layout.get(source, "cf") != "cf":
            return False
        return self.layer(op, layer, source, tensors_in(op.out, self.torch)[0], label)

    def on_max_pool2d_with_indices(self, op, ins, outs, label) -> bool:
        x, kernel, stride, padding, dilation, ceil = (list(op.args) + [None] * 6)[:6]
        n = x.dim() - 2
        layer = Pool(tuple(kernel), tuple(stride) if stride else tuple(kernel), tuple(padding or (0,) * n),
                     tuple(dilation or (1,) * n), bool(ceil), "maxpool")
        return self.pool(op, layer, label)

    on_max_pool3d_with_indices = on_max_pool2d_with_indices

    def on_avg_pool2d(self, op, ins, outs, label) -> bool:
        x, kernel, stride, padding, ceil, count_pad, divisor = (list(op.args) + [None] * 7)[:7]
        if (count_pad is False and any(padding or ())) or divisor is not None:
            return False
        n = x.dim() - 2
        return self.pool(op, Pool(tuple(kernel), tuple(stride) if stride else tuple(kernel), tuple(padding or (0,) * n), 1, bool(ceil),
                                  "avgpool"), label)

    on_avg_pool3d = on_avg_pool2d

    def on__adaptive_avg_pool2d(self, op, ins, outs, label) -> bool:
        return self.pool(op, AdaptivePool(tuple(op.args[1]), "adaptive_avgpool"), label)

    on__adaptive_avg_pool3d = on__adaptive_avg_pool2d

    def on_adaptive_max_pool2d(self, op, ins, outs, label) -> bool:
        return self.pool(op, AdaptivePool(tuple(op.args[1]), "adaptive_maxpool"), label)

    def on_mean(self, op, ins, outs, label) -> bool:
        """x.mean((2, 3)): a global average (`mean`, counted apart by other tools), then a flatten unless the axes are kept."""
        x, dims = op.args[0], op.args[1] if len(op.args) > 1 else None
        keep = op.args[2] if len(op.args) > 2 else op.kwargs.get("keepdim", False)
        source = self.value(x)
        if source is None or dims is None or self.layout.get(source, "cf") != "cf" or x.dim() < 3:
            return False
        if sorted(d % x.dim() for d in dims) != list(range(2, x.dim())):
            return False
        # nn.AdaptiveAvgPool2d(1) computes its average as a mean: inside that module it is global average pooling
        pooling = op.call is not None and op.call.leaf and op.call.kind.startswith("AdaptiveAvgPool")
        kind = "global_avgpool" if pooling else "mean"
        if keep:
            return self.layer(op, AdaptivePool(1, kind), source, outs[0], label)
        pooled = f"t{self.count + 1}_pool"
        cost = analyze_layer(AdaptivePool(1, kind), self.shapes[source])
        if (1, cost.output_shape[0]) != tuple(outs[0].shape):
            return False
        self.add(AdaptivePool(1, kind), label or "mean", source, pooled)
        return self.layer(op, Flatten(), pooled, outs[0], (label or "mean") + ".flatten")

    def on_upsample_nearest2d(self, op, ins, outs, label) -> bool:
        source = self.value(op.args[0])
        if source is None or self.layout.get(source, "cf") != "cf":
            return False
        return self.layer(op, Resize(size=tuple(outs[0].shape[2:]), mode="nearest"), source, outs[0], label)

    on_upsample_nearest1d = on_upsample_nearest3d = on__upsample_nearest_exact2d = on_upsample_nearest2d

    def on__unsafe_index(self, op, ins, outs, label) -> bool:
        """Nearest upsampling as PyTorch decomposes it: the input indexed along its spatial axes."""
        x, out = op.args[0], outs[0]
        if x.dim() < 3 or out.dim() != x.dim() or tuple(out.shape[:2]) != tuple(x.shape[:2]):
            return False
        return self.on_upsample_nearest2d(op, ins, outs, label)

    def on_upsample_bilinear2d(self, op, ins, outs, label) -> bool:
        source = self.value(op.args[0])
        if source is None or self.layout.get(source, "cf") != "cf":
            return False
        return self.layer(op, Resize(size=tuple(outs[0].shape[2:]), mode="bilinear"), source, outs[0], label)

    on_upsample_linear1d = on_upsample_trilinear3d = on_upsample_bilinear2d

    def on_constant_pad_nd(self, op, ins, outs, label) -> bool:
        x, pad = op.args[:2]
        value = op.args[2] if len(op.args) > 2 else 0
        source = self.value(x)
        n = x.dim() - 2
        if source is None or value != 0 or self.layout.get(source, "cf") != "cf" or len(pad) > 2 * n or any(p < 0 for p in pad):
            return False
        return self.layer(op, Pad(torch_pad(pad, n), "zeros"), source, outs[0], label)

    def on_reflection_pad2d(self, op, ins, outs, label) -> bool:  # and replication
        x, pad = op.args[:2]
        source = self.value(x)
        n = x.dim() - 2
        if source is None or self.layout.get(source, "cf") != "cf":
            return False
        mode = "reflect" if op.name.startswith("reflection") else "replicate"
        return self.layer(op, Pad(torch_pad(pad, n), mode), source, outs[0], label)

    on_reflection_pad1d = on_reflection_pad3d = on_replication_pad1d = on_replication_pad2d = on_replication_pad3d = on_reflection_pad2d

    def on_cat(self, op, ins, outs, label) -> bool:
        tensors = op.args[0]
        dim = op.args[1] if len(op.args) > 1 else op.kwargs.get("dim", 0)
        acts = [t for t in tensors if is_activation(self.origin, t)]
        if len(acts) == 1 and len(tensors) == 2 and tensors[1] is acts[0]:  # ViT's class token, put first
            source = self.value(acts[0])
            params, _ = self.learned([tensors[0]])
            if source is not None and self.layout.get(source) == "cl" and len(self.shapes[source]) == 2 and dim % 3 == 1:
                return self.layer(op, ClassToken(), source, outs[0], label, params)
            return False
        if len(acts) != len(tensors) or len(acts) < 2:
            return False
        names = [self.value(t) for t in acts]
        if None in names:
            return False
        layouts = {self.layout.get(n, "cf") for n in names}
        rank = acts[0].dim()
        channel = rank - 1 if layouts == {"cl"} else 1
        if len(layouts) != 1 or dim % rank != channel:
            return False
        checkpoint = (len(self.body), len(self.scopes))
        out = self.fresh(outs[0])
        try:
            self.join("concat", names, out, label or "cat", f"{self.place}: {label or 'cat'}")
        except ConvcalcError:
            del self.body[checkpoint[0]:], self.scopes[checkpoint[1]:]
            return False
        if self.real_of(out) != tuple(outs[0].shape):
            del self.body[checkpoint[0]:], self.scopes[checkpoint[1]:]
            return False
        self.last = out
        return True

    def channel_range(self, x, dim, start, end, step, label, op, out_t) -> bool:
        source = self.value(x)
        if source is None or step != 1:
            return False
        rank = x.dim()
        channel = rank - 1 if self.layout.get(source) == "cl" and rank > 2 else 1
        size = x.shape[dim]
        start = max(0, min(size, start + size if start < 0 else start))
        end = max(start, min(size, end + size if end < 0 else end))
        if dim % rank == channel:
            if start == 0 and end == size:
                self.names[id(out_t)] = source
                return True
            return self.layer(op, Slice(start, end - start), source, out_t, label)
        if self.layout.get(source, "cf") == "cf" and dim % rank >= 2:
            shape = self.shapes[source]
            sizes = list(shape[1:])
            offsets = [0] * len(sizes)
            sizes[dim % rank - 2], offsets[dim % rank - 2] = end - start, start
            if start == 0 and end == size:
                self.names[id(out_t)] = source
                return True
            return self.layer(op, Crop(size=tuple(sizes), offset=tuple(offsets)), source, out_t, label)
        return False

    def on_slice(self, op, ins, outs, label) -> bool:
        x, dim, start, end, step = (list(op.args) + [0, None, None, 1])[:5]
        start = 0 if start is None else start
        end = x.shape[dim] if end is None or end > x.shape[dim] else end
        return self.channel_range(x, dim, start, end, step or 1, label, op, outs[0])

    def on_split_with_sizes(self, op, ins, outs, label) -> bool:
        x = op.args[0]
        dim = op.args[2] if len(op.args) > 2 else op.kwargs.get("dim", 0)
        start = 0
        done = True
        for t in outs:
            size = t.shape[dim]
            done = self.channel_range(x, dim, start, start + size, 1, label, op, t) and done
            start += size
        return done

    on_split = on_split_with_sizes

    def on_select(self, op, ins, outs, label) -> bool:
        """x[:, i] of a channels-last sequence (ViT's class token taken for the head): a crop of one position."""
        x, dim, index = op.args[:3]
        source = self.value(x)
        if source is None or self.layout.get(source) != "cl" or len(self.shapes[source]) != 2 or dim % 3 != 1:
            return False
        position = index % x.shape[1]
        cropped = f"t{self.count + 1}_position"
        self.add(Crop(size=(1,), offset=(position,)), label or "select", source, cropped)
        return self.layer(op, Flatten(), cropped, outs[0], (label or "select") + ".flatten")

    def on_pixel_unshuffle(self, op, ins, outs, label) -> bool:
        source = self.value(op.args[0])
        return source is not None and self.layout.get(source, "cf") == "cf" and self.layer(op, SpaceToDepth(op.args[1]), source, outs[0], label)

    def on_channel_shuffle(self, op, ins, outs, label) -> bool:
        source = self.value(op.args[0])
        return source is not None and self.layer(op, ChannelShuffle(op.args[1]), source, outs[0], label)

    def on_hardtanh(self, op, ins, outs, label) -> bool:
        low, high = (list(op.args[1:3]) + [-1.0, 1.0])[:2]
        source = self.value(op.args[0])
        if source is None or (low, high) != (0.0, 6.0):
            return False
        return self.layer(op, Elementwise("relu6"), source, outs[0], label)

    on_hardtanh_ = on_hardtanh


def read_running(torch, model, shape: tuple, target: str, values: dict | None = None):
    """`model` read by running it on a meta input of `shape` (C×…, no batch): its network, and the shapes of
    every tensor it returns. `values`: the real values of its small buffers, by name (kept before it was moved
    to the meta device), for code that reads them."""
    model.eval()  # dropout and stochastic depth as at inference; batchnorm uses its running statistics
    reader = Reader(torch, model, shape, target)
    reader.values = None
    if values:
        now = small_tensors(torch, model)
        reader.values = {id(now[key]): value for key, value in values.items() if key in now}
    device = next((p.device for p in model.parameters()), torch.device("meta"))
    x = torch.empty(1, *shape, device="meta") if device.type == "meta" else torch.randn(1, *shape, device=device)
    body, outputs = reader.read(x)
    return Network(type(model).__name__, tuple(shape), body, f"PyTorch {target}"), outputs

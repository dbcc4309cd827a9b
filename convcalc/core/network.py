"""A network as a tree of layers, named blocks, repeats and merging paths, analysed in
execution order.

The walk applies the layer formulas (formulas.py) to every leaf, carries the receptive field
(receptive.py) along every path and unites it where paths merge. It builds no text: it hands each
row to a sink, which keeps them all (`analyze`) or writes each as it comes (the CLI's JSON and
CSV), so that a network of a million layers needs no more memory than a small one.

Names are relative: a node's row is named `<enclosing block or merge>.<name>`. Subtrees may be
shared (a block used twice with the same arguments is built once), and `Repeat` stands for many
copies, so the tree stays as small as the description that built it.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

from .messages import Note
from .errors import ConvcalcError, SpecError, quote, shorten
from .formulas import GROUPS, KINDS, MERGE_KINDS, ROW_KINDS, LayerCost, Shape, check_layer, fmt_shape, saves_of
from .layers import Conv, Layer, Norm
from .limits import MAX_INT, MAX_ROWS
from .memory import OPTIMIZER_STATES, Device, Memory, Storage, Timing, Training, roofline, storage_plan, training
from .receptive import ReceptiveField, union

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


class LayerNode(NamedTuple):
    """One layer of a network, named; `id` lets a later item read its output, `source` reads an earlier one's.

    >>> from convcalc import Conv, LayerNode
    >>> LayerNode("conv1", Conv(64, 7, stride=2, padding=3)).name
    'conv1'
    """

    name: str
    layer: Layer
    where: str = ""  # 'file:line: path', for errors
    id: str | None = None  # later items may refer to this output by name
    source: str | None = None  # take the input from this id instead of the previous item
    frozen: bool = False  # its parameters are not trained (no gradient, no optimizer state)


class Ref(NamedTuple):
    """A path that is an earlier output, by id.

    >>> from convcalc import Ref
    >>> Ref("skip").id
    'skip'
    """

    id: str
    where: str = ""


class Group(NamedTuple):
    """A named block (one use of a block definition): rows can be collapsed to it.

    >>> from convcalc import Conv, Group, LayerNode, Network, analyze
    >>> block = Group("stem", "stem", (LayerNode("conv", Conv(8, 3)),))
    >>> [row.name for row in analyze(Network("n", (3, 8, 8), (block,))).rows]  # the block's row, then its layer's
    ['stem', 'stem.conv']
    """

    name: str
    kind: str
    children: tuple["Node", ...]
    where: str = ""
    id: str | None = None
    source: str | None = None
    frozen: bool = False  # every layer inside is frozen


class Merge(NamedTuple):
    """Paths that all start from the same input and are combined by `op`. An empty path is the
    identity. `shortcut` says what an identity path does when the first path changes the shape:
    'auto' projects it (1×1 convolution + batchnorm, ResNet's shortcut), 'if_same' drops the
    merge (MobileNetV2's rule), 'identity' keeps it (and the merge then fails).

    >>> from convcalc import Conv, LayerNode, Merge, Network, analyze
    >>> residual = Merge("res", "add", ((LayerNode("conv", Conv(8, 3, padding=1)),), ()), ("main", "shortcut"))
    >>> analyze(Network("n", (8, 16, 16), (residual,))).output_shape  # x + conv(x)
    (8, 16, 16)
    """

    name: str
    op: str
    paths: tuple[tuple["Node", ...] | Ref, ...]
    path_names: tuple[str, ...]
    shortcut: str = "identity"
    where: str = ""
    id: str | None = None
    source: str | None = None
    kind: str = ""  # how the description named it ('residual', 'concat', …); defaults to op
    split: int | tuple[int, ...] | None = None  # the input's channels split among the paths: sizes, or a number of equal parts
    frozen: bool = False  # every layer inside is frozen


class Repeat(NamedTuple):
    """`count` copies of `nodes` one after another. Copy i (from 0) is named f"{stem}{first + i}",
    or f"{stem}.{i}" when `dotted`; each node's own name is appended to it ("" for a layer,
    ".relu" for the activation that follows it).

    >>> from convcalc import Conv, LayerNode, Network, Repeat, analyze
    >>> net = Network("n", (8, 16, 16), (Repeat((LayerNode("", Conv(8, 3, padding=1)),), 3, "conv"),))
    >>> [row.name for row in analyze(net).rows]
    ['conv1', 'conv2', 'conv3']
    """

    nodes: tuple["Node", ...]
    count: int
    stem: str
    first: int = 1
    dotted: bool = False

    def name(self, copy: int) -> str:
        return f"{self.stem}.{copy}" if self.dotted else f"{self.stem}{self.first + copy}"


Node = LayerNode | Group | Merge | Repeat


class Network(NamedTuple):
    """A network: its name, its input (C×H×W, no batch) and its layers, blocks and merges in order.

    >>> from convcalc import Conv, Elementwise, LayerNode, Network, analyze
    >>> net = Network("tiny", (3, 32, 32), (LayerNode("conv", Conv(8, 3)), LayerNode("relu", Elementwise("relu"))))
    >>> analyze(net).output_shape, analyze(net).params  # 8·(3·3·3 + 1)
    ((8, 30, 30), 224)
    """

    name: str
    input_shape: Shape
    body: tuple[Node, ...]
    source: str = ""  # where the architecture comes from (paper, torchvision, …)
    outputs: tuple[Shape, ...] = ()  # every tensor a model read from code returns (detection heads), when more than one

    def __repr__(self) -> str:  # its body is the whole network: a notebook shows the name and the size
        return f"Network({self.name!r}, input {fmt_shape(self.input_shape)}, {len(self.body)} items at the top level)"


class Settings(NamedTuple):
    """What an analysis counts: the batch, FLOPs per multiply-add, the element type, the optimizer and mixed precision of the training memory, a device for time bounds.

    >>> from convcalc import Settings, analyze, load
    >>> analyze(load("lenet5"), Settings(batch=8)).macs  # MACs include the batch: 8 · 326,520
    2612160
    """

    batch: int = 1
    flops_per_mac: int = 1  # 1 or 2
    dtype: str = "fp32"
    optimizer: str = "adam"  # for the training memory: sgd, momentum, adam, adamw
    amp: str | None = None  # mixed precision: fp16 or bf16 activations, float32 master weights
    device: Device | None = None  # peak FLOP/s and bandwidth, for the time bounds
    input_grad: bool = False  # the input needs a gradient (a layer inside a network): the backward pass computes it
    count: str = "macs"  # the rule each row's `counted` follows (counting.RULES: thop's, fvcore's, a course's)

    @property
    def activation_dtype(self) -> str:
        return self.amp or self.dtype

    def check(self) -> None:
        if self.count != "macs":  # the counting rules are imported only where one is asked for
            from .counting import RULES

            if self.count not in RULES:
                raise ConvcalcError(Note("count: must be one of {items}, got {value}", items=", ".join(RULES), value=quote(self.count)))
        if self.dtype not in DTYPE_BYTES:
            raise ConvcalcError(Note("dtype: must be one of {items}, got {value}", items=', '.join(DTYPE_BYTES), value=quote(self.dtype)))
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or not 1 <= self.batch <= MAX_INT:
            raise ConvcalcError(Note("batch: must be a positive integer up to 2^53, got {value}", value=quote(self.batch)))
        if type(self.flops_per_mac) is not int or self.flops_per_mac not in (1, 2):
            raise ConvcalcError(Note("flops-per-mac: must be 1 or 2, got {value}", value=quote(self.flops_per_mac)))
        if self.optimizer not in OPTIMIZER_STATES:
            raise ConvcalcError(Note("optimizer: must be one of {items}, got {value}", items=", ".join(OPTIMIZER_STATES), value=quote(self.optimizer)))
        if self.amp not in (None, "fp16", "bf16"):
            raise ConvcalcError(Note("amp: must be fp16 or bf16, got {value}", value=quote(self.amp)))
        if self.device is not None and not isinstance(self.device, Device):
            raise ConvcalcError(Note("device: must be a convcalc Device, got {value}", value=quote(self.device)))


class Row(NamedTuple):
    """One leaf layer, or one block with the sums of its leaves. `macs` and `memory_bytes`
    include the batch."""

    name: str
    kind: str
    depth: int
    input_shape: Shape
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    memory_bytes: int
    field: ReceptiveField
    input_field: ReceptiveField
    covers: bool
    leaf: bool
    warnings: tuple[str, ...] = ()
    layer: Layer | None = None
    cost: LayerCost | None = None
    parts: tuple[Shape, ...] = ()  # a merge's row: the shapes of the paths it combines
    connections: int = 0  # LeCun's count, per sample (formulas.py)
    saved_bytes: int = 0  # what autograd keeps for this layer's backward pass, storages counted once (memory.py)
    backward_macs: int = 0  # the backward pass: input gradient and weight gradient
    bytes_moved: int = 0  # inputs, weights and output read or written once (for the time bounds)
    time_s: float = 0.0  # the roofline bound, with a device
    timing: Timing | None = None  # … and how it is reached (intensity, the bound), for a layer
    counted: int = 0  # the count under the settings' rule (its MACs under the default rule)


_new_tuple = tuple.__new__
assert len(Row._fields) == 24  # the order leaf() builds a Row in, positionally (the one place: a Row per layer, a million
# rows); blocks and merges name their fields


class Report(NamedTuple):
    """An analysis: the totals, the receptive field and every row (a block's row before its layers').

    >>> from convcalc import analyze, load
    >>> report = analyze(load("resnet18"))
    >>> report.params, report.output_shape
    (11689512, (1000,))
    """

    name: str
    input_shape: Shape
    output_shape: Shape
    rows: tuple[Row, ...]  # execution order; a block's row comes before its leaves (empty when streamed)
    settings: Settings
    params: int
    buffers: int
    macs: int
    param_bytes: int
    activation_bytes: int
    field: ReceptiveField
    warnings: tuple[Note, ...] = ()  # "layer name: warning", in execution order (messages.Note: English as a string)
    saved_activation_bytes: int = 0  # autograd's saved tensors in a training forward pass (memory.py)
    inference_peak_bytes: int = 0  # the most bytes of tensors alive at once in a forward pass without gradients
    backward_macs: int = 0
    course_activation_bytes: int = 0  # the input and every output that allocates (CS231n's count)
    time_s: float = 0.0  # the sum of the layers' roofline bounds, with a device
    counted: int = 0  # the layers' counts under the settings' rule
    frozen_params: int = 0  # parameters of frozen layers: no gradient, no optimizer state
    unknown_ops: tuple[str, ...] = ()  # operations without a formula (opaque layers): MACs and FLOPs are partial
    outputs: tuple[Shape, ...] = ()  # every tensor the model returns, when it returns more than one (Network.outputs)

    def __repr__(self) -> str:  # its rows would be the whole table (186 KB for ResNet-50): the totals
        return (f"Report({self.name!r}, {fmt_shape(self.input_shape)} → {fmt_shape(self.output_shape)}, {self.params:,} parameters, "
                f"{self.macs:,} MACs, {len(self.rows):,} rows)")

    @property
    def trainable_params(self) -> int:
        return self.params - self.frozen_params

    @property
    def training(self) -> Training:
        """Memory for one training step (memory.training), with the settings' optimizer and precision."""
        s = self.settings
        return training(self.params, self.trainable_params, self.saved_activation_bytes, DTYPE_BYTES[s.dtype], s.optimizer, s.amp)

    @property
    def flops(self) -> int:
        return self.macs * self.settings.flops_per_mac

    @property
    def leaves(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.leaf)


class Sink:
    """Receives the rows of a walk. A block's row is known only once its layers are: `open`
    reserves its place (returning a token), `close` fills it."""

    def open(self, depth: int):
        return None

    def close(self, token, row: Row) -> None:
        pass

    def leaf(self, row: Row) -> None:
        pass

    def repeated(self, total: "Repeated") -> None:
        """After the copies of a repeated item (`repeat: 3`): their sums, for a subtotal line."""


class Repeated(NamedTuple):
    """The copies of one repeated item, summed: `first` … `last` name the first and last copy."""

    first: str
    last: str
    count: int
    depth: int
    params: int
    macs: int
    connections: int
    output_shape: Shape


class OpTotals(NamedTuple):
    layers: int
    params: int
    macs: int
    saved_bytes: int
    time_s: float


class ByOp(Sink):
    """Totals per operator group (formulas.GROUPS: each kind names its own), from the leaves."""

    def __init__(self):
        self.totals: dict[str, list] = {}

    def leaf(self, row: Row) -> None:
        entry = self.totals.setdefault(ROW_KINDS[row.kind].group, [0, 0, 0, 0, 0.0])
        entry[0] += 1
        entry[1] += row.params
        entry[2] += row.macs
        entry[3] += row.saved_bytes
        entry[4] += row.time_s

    def result(self) -> dict[str, OpTotals]:
        return {group: OpTotals(*self.totals[group]) for group in GROUPS if group in self.totals}


class Collect(Sink):
    """Keeps every row, in execution order."""

    def __init__(self):
        self.rows: list[Row | None] = []

    def open(self, depth: int) -> int:
        self.rows.append(None)
        return len(self.rows) - 1

    def close(self, token: int, row: Row) -> None:
        self.rows[token] = row

    def leaf(self, row: Row) -> None:
        self.rows.append(row)


class _Walk:
    def __init__(self, input_shape: Shape, settings: Settings, sink: Sink, lookups: dict[str, int] | None = None):
        self.input_spatial = input_shape[1:]
        self.settings = settings
        self.sink = sink
        self.live_to = getattr(sink, "live", None)  # a sink that follows the live memory: (bytes alive, the peak so far)
        self.repeated = getattr(sink, "repeated", None)  # a sink that writes a subtotal after a repeated item's copies
        self.element_bytes = DTYPE_BYTES[settings.activation_dtype] * settings.batch
        self.param_element = DTYPE_BYTES[settings.dtype]
        self.time = 0.0
        self.moved = 0
        self.frozen = 0  # how many frozen nodes enclose the current one
        self.frozen_params = 0
        self.unknown: dict[str, None] = {}  # operations without a formula (opaque layers), in order
        self.device = settings.device
        self.batch = settings.batch
        self.covered: tuple = (None, None, False)  # the last field and output shape checked, and the answer
        self.ids: dict[str, tuple[Shape, ReceptiveField]] = {}
        self.costs: dict[tuple, tuple[LayerCost, int]] = {}  # (id of layer, shape) → cost, memory bytes
        self.checked: dict[int, Layer] = {}  # id → layer, for layers whose field types are checked
        self.seen: set[int] = set()  # nodes whose names are checked (the network keeps them alive)
        # running totals: a block's figures are the difference between its close and its open
        self.params = self.buffers = self.macs = self.memory = self.leaves = self.connections = self.counted = 0
        self.count = None
        if settings.count != "macs":  # the MACs are their own count; any other rule is worked out per row
            from .counting import count

            self.count = lambda row, rule=settings.count, batch=settings.batch: count(rule, row, batch)
        self.warnings: list[str] = []
        # storages, for the memory figures: the input is held by the caller throughout
        input_bytes = prod(input_shape) * self.element_bytes
        self.held = Memory(input_bytes)
        self.value = Storage(input_bytes, holders=2, grad=settings.input_grad)  # the tensor flowing into the next layer
        self.lookups = lookups or {}  # id → how many times it is used: its output lives until the last

    def shape_of(self, name: str, where: str) -> Shape:
        """An earlier output's shape, for a layer that takes its size from it (not a use of it)."""
        if name not in self.ids and name != "input":
            self.lookup(name, where)  # says which ids there are
        return self.ids.get(name, self.input_entry)[0]

    def lookup(self, name: str, where: str) -> tuple[Shape, ReceptiveField]:
        if name not in self.ids and name == "input":  # the network's input, unless an output took the name
            self.ids[name] = self.input_entry
        if name not in self.ids:
            import difflib

            close = difflib.get_close_matches(name, list(self.ids), n=3)
            known = Note("did you mean {names}? ", names=", ".join(map(quote, close))) if close else ""
            count = (Note("{count} ids defined before this point", count=len(self.ids)) if self.ids
                     else Note("no id defined before this point"))
            raise SpecError(Note("{where}: unknown id ({known}{count}), got {value}", where=where, known=known, count=count, value=quote(name)))
        shape, field, storage = self.ids[name]
        remaining = self.lookups.get(name)
        if remaining:  # a counted use takes over one of the id's holds
            self.lookups[name] = remaining - 1
        else:  # uses not counted: the id keeps its hold to the end
            storage.holders += 1
        return shape, field, storage

    def sequence(self, nodes, prefix: str, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        if not isinstance(nodes, tuple):
            raise ConvcalcError(Note("{value}: a sequence of layers must be a tuple of nodes, got {value2}", value=prefix or 'network', value2=quote(nodes)))
        for node in nodes:
            kind = type(node)
            if kind is Repeat:
                if type(node.count) is not int or node.count < 0:
                    raise ConvcalcError(Note("{value}: Repeat.count must be a non-negative integer, got {value2}", value=prefix or 'network', value2=quote(node.count)))
                if id(node) not in self.seen:
                    if (not isinstance(node.nodes, tuple) or type(node.stem) is not str or type(node.first) is not int
                            or not all(type(u) in (LayerNode, Group, Merge) and type(u.name) is str for u in node.nodes)):
                        raise ConvcalcError(Note("{value}: a Repeat needs a tuple of nodes with string names, a string stem and an "
                                              "integer first number, got {value2}", value=prefix or 'network', value2=quote(node)))
                    self.seen.add(id(node))
                before = (self.params, self.macs, self.connections)
                for copy in range(node.count):
                    name = node.name(copy)
                    for unit in node.nodes:
                        shape, field = self.node(unit, name + unit.name, prefix, shape, field, depth)
                # repeated layers at the top level get a subtotal; inside a block, the block's own line sums them
                if node.count > 1 and self.repeated is not None and depth == 0 and all(type(u) is LayerNode for u in node.nodes):
                    first, last = node.name(0), node.name(node.count - 1)
                    self.repeated(Repeated(f"{prefix}.{first}" if prefix else first, f"{prefix}.{last}" if prefix else last,
                                           node.count, depth, self.params - before[0], self.macs - before[1],
                                           self.connections - before[2], shape))
            elif kind in (LayerNode, Group, Merge):
                shape, field = self.node(node, node.name, prefix, shape, field, depth)
            else:
                raise ConvcalcError(Note("{value}: not a LayerNode, Group, Merge or Repeat, got {value2}", value=prefix or 'network', value2=quote(node)))
        return shape, field

    def node(self, node, name: str, prefix: str, shape: Shape, field: ReceptiveField, depth: int):
        if id(node) not in self.seen:  # a shared or repeated node is checked once
            if type(name) is not str or (node.id is not None and type(node.id) is not str) or (node.source is not None and type(node.source) is not str):
                raise ConvcalcError(Note("{value}: a node's name, id and source must be strings, got {value2}", value=prefix or 'network', value2=quote(node)))
            self.seen.add(id(node))
        full = prefix + "." + name if prefix else name
        if node.source is not None:
            shape, field, storage = self.lookup(node.source, node.where or full)
            self.held.release(self.value)
            self.value = storage
        kind = type(node)
        frozen = node.frozen is True
        if frozen:
            self.frozen += 1
        if kind is LayerNode:
            shape, field = self.leaf(node, full, shape, field, depth)
        elif kind is Group:
            shape, field = self.group(node, full, shape, field, depth)
        else:
            shape, field = self.merge(node, full, shape, field, depth)
        if frozen:
            self.frozen -= 1
        if node.id is not None:
            self.value.holders += self.lookups.get(node.id) or 1
            self.ids[node.id] = (shape, field, self.value)
        return shape, field

    def cost(self, node: LayerNode, name: str, shape: Shape) -> tuple[LayerCost, int]:
        """The layer's cost on `shape`, computed once per layer and shape (a repeated layer is
        computed once). Its field types are checked first: a cached 2 must not answer for 2.0."""
        layer = node.layer
        key = (id(layer), shape)  # `checked` keeps the layer alive, so its id stays its own
        like = getattr(layer, "like", None)
        if isinstance(like, str):  # the size of an earlier output (crop, resize): that id's, now
            target = self.shape_of(like, node.where or name)
            key = (id(layer), shape, target)
        found = self.costs.get(key)
        if found is not None:
            return found
        try:
            if id(layer) not in self.checked:
                check_layer(layer)
                self.checked[id(layer)] = layer
            resolved = layer._replace(size=target[1:], like=None) if isinstance(like, str) else layer
            cost = KINDS[layer.kind].cost(resolved, shape)
        except SpecError:
            raise
        except ConvcalcError as error:
            if not node.where:  # a single layer: the message already names the option
                raise
            head = str(error).partition(": ")[0]
            joint = "." if head.isidentifier() and head != layer.kind else Note(": ")
            raise SpecError(Note("{where}{joint}{error} (layer {name}, input {shape})", where=node.where, joint=joint, error=error, name=shorten(name), shape=fmt_shape(shape))) from None
        out = cost.output_shape
        if max(out) > MAX_INT:
            where = node.where or layer.kind
            raise SpecError(Note("{where}: the output would be {shape}, beyond the limit of 2^53 per axis, got input "
                              "{shape2} (layer {name})", where=where, shape=fmt_shape(out), shape2=fmt_shape(shape), name=shorten(name)))
        memory = prod(out) * self.element_bytes
        if layer.kind == "opaque":
            self.unknown[layer.op] = None
        found = self.costs[key] = (cost, memory, storage_plan(saves_of(layer), layer, shape, out, memory, cost.params, self.batch,
                                                              self.element_bytes, self.param_element))
        return found

    def leaf(self, node: LayerNode, name: str, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        cost, memory, plan = self.costs.get((id(node.layer), shape)) or self.cost(node, name, shape)
        windows = cost.windows
        before = field
        if windows is not None:
            field = field.advance(windows, cost.full)
            runaway = field.runaway(MAX_INT)  # strides multiply the jump: stop before the figures run away
            if runaway is not None:
                raise SpecError(Note("{value}: receptive field: its figures would pass 2^53 (jump {jump}), got layer {name}",
                                     value=node.where or node.layer.kind, jump=runaway.jump, name=shorten(name)))
        elif cost.full and not field.full:
            field = field.advance(None, True)
        out = cost.output_shape
        macs = cost.macs * self.batch
        # the storages (memory.py): the output allocated (or not), the input freed after its last use, what autograd keeps
        learns = cost.params > 0
        if self.frozen and learns:
            self.frozen_params += cost.params
            learns = False
        input_grad = self.value.grad
        self.value, saved = self.held.run(self.value, plan, memory, learns)
        # the gradient of the weights costs a forward pass's MACs, and so does the input's (if it needs one)
        backward = macs * (learns + input_grad) if macs else 0
        if backward:
            self.held.backward_macs += backward
        moved = plan.moved
        timing = None if self.device is None else self.timed(macs, moved)
        if field is not self.covered[0] or out is not self.covered[1]:  # an activation keeps the field and shape
            self.covered = (field, out, field.covers(out[1:], self.input_spatial))
        warnings = cost.warnings
        if depth == 0 and node.layer.kind == "linear" and len(shape) >= 3:  # a classifier whose flatten was forgotten
            warnings += (Note("linear on {shape}: applied at each of the {positions:,} positions with the same weights, as a "
                              "1×1 convolution; a classifier needs flatten before it", shape=fmt_shape(shape),
                              positions=prod(shape[1:])),)
        # every field given, in order: the tuple is built directly (a Row per layer, a million rows)
        row = _new_tuple(Row, (name, node.layer.kind, depth, shape, out, cost.params, cost.buffers, macs, memory,
                               field, before, self.covered[2], True, warnings, node.layer, cost, (), cost.connections,
                               saved, backward, moved, 0.0 if timing is None else timing.seconds, timing, macs))
        if self.count is not None:
            row = row._replace(counted=self.count(row))
            self.counted += row.counted
        else:
            self.counted += macs
        self.connections += cost.connections
        self.params += cost.params
        self.buffers += cost.buffers
        self.macs += macs
        self.memory += memory
        self.leaves += 1
        if warnings:
            self.warnings += [Note("{layer}: {warning}", layer=name, warning=w) for w in warnings]
        self.sink.leaf(row)
        if self.live_to is not None:
            self.live_to(self.held.live, self.held.peak)
        return out, field

    def timed(self, macs: int, moved: int) -> Timing:
        """The roofline bound of one row, added to the running time (with a device)."""
        self.moved += moved
        timing = roofline(macs, moved, self.device)
        self.time += timing.seconds
        return timing

    def opened(self, depth: int) -> tuple:
        return (self.sink.open(depth), self.params, self.buffers, self.macs, self.memory, self.connections,
                self.held.saved, self.held.backward_macs, self.time, self.moved, self.counted)

    def close(self, opened: tuple, name: str, kind: str, depth: int, shape: Shape, out: Shape,
              before: ReceptiveField, field: ReceptiveField) -> None:
        token, params, buffers, macs, memory, connections, saved, backward, seconds, moved, counted = opened
        self.sink.close(token, Row(
            name, kind, depth, shape, out, self.params - params, self.buffers - buffers, self.macs - macs,
            self.memory - memory, field, before, field.covers(out[1:], self.input_spatial), False,
            connections=self.connections - connections, saved_bytes=self.held.saved - saved,
            backward_macs=self.held.backward_macs - backward, bytes_moved=self.moved - moved, time_s=self.time - seconds,
            counted=self.counted - counted,
        ))

    def group(self, node: Group, name: str, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        opened = self.opened(depth)
        entry = self.value
        entry.holders += 1  # the block's code keeps its argument until it returns
        out, out_field = self.sequence(node.children, name, shape, field, depth + 1)
        self.held.release(entry)
        self.close(opened, name, node.kind, depth, shape, out, field, out_field)
        return out, out_field

    def merge(self, node: Merge, name: str, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        if node.op not in MERGE_KINDS or node.shortcut not in ("identity", "auto", "if_same"):
            raise ConvcalcError(Note("{name}: a merge's op is one of {ops} and its shortcut identity, auto or "
                                     "if_same, got {value} and {value2}", name=name, ops=", ".join(MERGE_KINDS), value=quote(node.op),
                                     value2=quote(node.shortcut)))
        if not isinstance(node.paths, tuple) or len(node.paths) < 2 or not isinstance(node.path_names, tuple):
            raise ConvcalcError(Note("{name}: a merge needs a tuple of at least two paths and a tuple of their names, got "
                                  "{value}", name=name, value=quote(node.paths)))
        # a merge of references and identities has no layers of its own: one row, named once
        bare = node.shortcut == "identity" and node.split is None and all(isinstance(p, Ref) or p == () for p in node.paths)
        opened = None if bare else self.opened(depth)
        results = []
        entry = self.value  # every path that is not a reference starts from the merge's input,
        starts = sum(1 for p in node.paths if not isinstance(p, Ref))
        entry.holders += starts  # which the block's code holds until the merge is done
        parts = self.parts(node, name, shape) if node.split is not None else None
        for index, path in enumerate(node.paths):
            # with a split, each path takes its channels (torch.split / chunk: views, no copy)
            start = (parts[index], *shape[1:]) if parts is not None else shape
            reshaped = bool(results) and results[0][0] != start
            if isinstance(path, Ref):
                if type(path.id) is not str:
                    raise ConvcalcError(Note("{name}: a Ref names an id (a string), got {value}", name=name, value=quote(path.id)))
                results.append(self.lookup(path.id, path.where or name))
                continue
            self.value = entry
            if not path and reshaped and node.shortcut == "if_same":
                out, out_field, storage = results[0]
                self.held.release(entry, 2)  # no shortcut: this path's hold and the block's end
                for other in results[1:]:
                    self.held.release(other[2])
                self.value = storage
                self.close(opened, name, node.kind or node.op, depth, shape, out, field, out_field)
                return out, out_field
            if not path and reshaped and node.shortcut == "auto":
                done = self.sequence(self.projection(node, start, field, *results[0][:2]), f"{name}.shortcut", start, field, depth + 1)
            else:
                done = self.sequence(path, name, start, field, depth + 1)
            results.append((*done, self.value))
        out = merged_shape(node, [s for s, _, _ in results])
        out_field, notes = union([f for _, f, _ in results])
        memory = prod(out) * self.element_bytes
        saved = self.combine(node.op, [storage for _, _, storage in results], memory)
        self.held.release(entry)
        moved = sum(prod(s) for s, _, _ in results) * self.element_bytes + memory
        timing = None if self.device is None else self.timed(0, moved)
        op_name = name if bare else f"{name}.{node.op}"
        self.memory += memory
        self.leaves += 1
        if notes:
            self.warnings += [Note("{layer}: {warning}", layer=op_name, warning=w) for w in notes]
        row = Row(op_name, node.op, depth + (not bare), shape, out, params=0, buffers=0, macs=0, memory_bytes=memory,
                  field=out_field, input_field=field, covers=out_field.covers(out[1:], self.input_spatial), leaf=True,
                  warnings=tuple(notes), parts=tuple(s for s, _, _ in results), saved_bytes=saved, bytes_moved=moved,
                  time_s=0.0 if timing is None else timing.seconds, timing=timing)
        if self.count is not None:
            row = row._replace(counted=self.count(row))
        self.counted += row.counted
        self.sink.leaf(row)
        if self.live_to is not None:
            self.live_to(self.held.live, self.held.peak)
        if not bare:
            self.close(opened, name, node.kind or node.op, depth, shape, out, field, out_field)
        return out, out_field

    def parts(self, node: Merge, name: str, shape: Shape) -> tuple[int, ...]:
        split, channels = node.split, shape[0]
        paths = len(node.paths)
        if type(split) is int:
            if split != paths or channels % split:
                raise SpecError(Note("{where}: split: {parts} equal parts of {channels} channels for {paths} paths, got {split}",
                    where=node.where or name, parts=split, channels=channels, paths=paths, split=split))
            return (channels // split,) * split
        if (not isinstance(split, tuple) or len(split) != paths or any(type(v) is not int or v < 1 for v in split)
                or sum(split) != channels):
            raise SpecError(Note("{where}: split: one size per path ({paths}), adding up to the {channels} channels, got {value}",
                where=node.where or name, paths=paths, channels=channels, value=quote(split)))
        return split

    def combine(self, op: str, inputs: list[Storage], out_bytes: int) -> int:
        """A merge over the storages: an add writes into its first path's result (out += identity)
        when nothing else holds it; concat and multiply allocate. Returns the bytes saved (a
        multiply keeps both operands; an add and a concat keep nothing)."""
        held = self.held
        grad = any(s.grad for s in inputs)
        first = inputs[0]
        if op == "add" and first.holders == 1 and first.bytes == out_bytes and inputs.count(first) == 1:
            after = first
            after.grad = grad
            for other in inputs[1:]:
                held.release(other)
        else:
            after = held.allocate(out_bytes, grad)
            for storage in inputs:
                held.release(storage)
        self.value = after
        if MERGE_KINDS[op].saves.input and grad:
            return sum(held.keep(s) for s in dict.fromkeys(inputs))
        return 0

    def projection(self, node: Merge, shape: Shape, field: ReceptiveField, target: Shape, target_field: ReceptiveField) -> tuple[LayerNode, ...]:
        """ResNet's shortcut: conv 1×1 with the main path's stride, no bias, then batchnorm."""
        from fractions import Fraction

        strides = []
        for before, after in zip(field.axes, target_field.axes):
            ratio = Fraction(after.jump) / before.jump
            if ratio.denominator != 1:
                raise SpecError(Note("{where}: shortcut: the main path's stride is not a whole number, got {ratio}", where=node.where, ratio=ratio))
            strides.append(ratio.numerator)
        conv = Conv(out_channels=target[0], kernel=1, stride=tuple(strides) or 1, bias=False)
        return (LayerNode("conv", conv, f"{node.where}.shortcut"), LayerNode("bn", Norm(), f"{node.where}.shortcut"))


def merged_shape(node: Merge, shapes: list[Shape]) -> Shape:
    described = ", ".join(f"{shorten(str(name))} {fmt_shape(s)}" for name, s in zip(node.path_names, shapes))
    if node.op == "multiply" and len({len(s) for s in shapes}) > 1:
        # the notes' squeeze-and-excitation: a gate of C values (pool → flatten → linear → linear)
        # scales the C channels of the feature map, as if it were C×1×1
        rank = max(len(s) for s in shapes)
        shapes = [s + (1,) * (rank - len(s)) if len(s) == 1 else s for s in shapes]
    if len({len(s) for s in shapes}) > 1:
        raise SpecError(Note("{where}: {op}: paths have different numbers of axes, got {described}", where=node.where, op=node.op, described=described))
    if node.op == "concat":
        if len({s[1:] for s in shapes}) > 1:
            raise SpecError(Note("{where}: concat: spatial sizes differ between paths, got {described}", where=node.where, described=described))
        channels = sum(s[0] for s in shapes)
        if channels > MAX_INT:
            raise SpecError(Note("{where}: concat: {channels:,} channels, beyond the limit of 2^53, got {described}", where=node.where, channels=channels, described=described))
        return (channels, *shapes[0][1:])
    if node.op == "add":
        if len(set(shapes)) > 1:
            what = Note("channels") if len({s[1:] for s in shapes}) == 1 else Note("shapes")
            raise SpecError(Note("{where}: add: {what} differ between paths, got {described}", where=node.where, what=what, described=described))
        return shapes[0]
    # multiply (and subtract, divide, power) broadcasts size-1 axes, as the squeeze-and-excitation gate does
    out = tuple(max(sizes) for sizes in zip(*shapes))
    if any(v not in (1, o) for s in shapes for v, o in zip(s, out)):
        raise SpecError(Note("{where}: {op}: shapes do not broadcast, got {described}", where=node.where, op=node.op, described=described))
    return out


def count_rows(nodes, memo: dict | None = None) -> int:
    """How many rows the walk will produce: every layer, block and merge (with its result row and
    a possible projection), repeats multiplied out. Shared subtrees are counted once each."""
    memo = {} if memo is None else memo
    if not isinstance(nodes, tuple):
        return 1  # not a sequence: the walk says so
    total = 0
    for node in nodes:
        key = id(node)
        if key not in memo:
            kind = type(node)
            if kind is Repeat:
                memo[key] = (node.count if type(node.count) is int else 0) * count_rows(node.nodes, memo)
            elif kind is Group:
                memo[key] = 1 + count_rows(node.children, memo)
            elif kind is Merge:
                paths = [p for p in node.paths if not isinstance(p, Ref)] if isinstance(node.paths, tuple) else []
                memo[key] = 4 + sum(count_rows(p, memo) for p in paths)
            else:
                memo[key] = 1
        total += memo[key]
        if total > MAX_ROWS:
            return total
    return total


def count_lookups(nodes, memo: dict | None = None) -> dict[str, int]:
    """How many times each id is used (as a source or a merge's path), repeats multiplied out:
    an id's output is freed after its last use."""
    memo = {} if memo is None else memo
    counts: dict[str, int] = {}
    for node in nodes if isinstance(nodes, tuple) else ():
        key = id(node)
        if key not in memo:
            kind = type(node)
            own: dict[str, int] = {}
            if kind is Repeat:
                if type(node.count) is int:
                    own = {name: n * node.count for name, n in count_lookups(node.nodes, memo).items()}
            elif kind in (Group, Merge, LayerNode):
                if isinstance(getattr(node, "source", None), str):
                    own[node.source] = 1
                inner = [node.children] if kind is Group else (list(node.paths) if kind is Merge and isinstance(node.paths, tuple) else [])
                for path in inner:
                    found = {path.id: 1} if isinstance(path, Ref) and isinstance(path.id, str) else count_lookups(path, memo)
                    for name, n in found.items():
                        own[name] = own.get(name, 0) + n
            memo[key] = own
        for name, n in memo[key].items():
            counts[name] = counts.get(name, 0) + n
    return counts


def rows_by_depth(nodes, memo: dict | None = None) -> dict[int, int]:
    """Rows at each depth (0 = top level): how deep a readable table can go."""
    memo = {} if memo is None else memo
    counts: dict[int, int] = {}
    for node in nodes if isinstance(nodes, tuple) else ():
        key = id(node)
        if key not in memo:
            kind = type(node)
            own: dict[int, int] = {0: 1}
            if kind is Repeat:
                inner = rows_by_depth(node.nodes, memo)
                own = {d: n * node.count for d, n in inner.items()} if type(node.count) is int else {}
            elif kind is Group or kind is Merge:
                children = [node.children] if kind is Group else [p for p in node.paths if not isinstance(p, Ref)]
                for path in children:
                    for d, n in rows_by_depth(path, memo).items():
                        own[d + 1] = own.get(d + 1, 0) + n
                if kind is Merge:
                    own[1] = own.get(1, 0) + 1  # the merge's own result row
            memo[key] = own
        for d, n in memo[key].items():
            counts[d] = counts.get(d, 0) + n
    return counts


def walk(network: Network, settings: Settings, sink: Sink) -> Report:
    """Hand every row of `network` to `sink`; the totals and the final field come back in a Report
    whose `rows` are empty. Raises ConvcalcError for anything that cannot be computed."""
    if not isinstance(network, Network):
        raise ConvcalcError(Note("network: must be a convcalc Network, got {value}", value=quote(network)))
    if not isinstance(settings, Settings):
        raise ConvcalcError(Note("settings: must be a convcalc Settings, got {value}", value=quote(settings)))
    settings.check()
    shape = network.input_shape
    if (not isinstance(shape, tuple) or not 1 <= len(shape) <= 4
            or any(type(v) is not int or not 1 <= v <= MAX_INT for v in shape)):
        raise ConvcalcError(Note("input: must be C, C×L, C×H×W or C×D×H×W with positive integers up to 2^53, got {value}", value=quote(shape)))
    rows = count_rows(network.body) if isinstance(network.body, tuple) else 0
    if rows > MAX_ROWS:
        raise ConvcalcError(Note("layers: the network has more than {max_rows:,} rows (layers, blocks and merges, repeats "
                              "multiplied out), got at least {rows:,}", max_rows=MAX_ROWS, rows=rows))
    state = _Walk(shape, settings, sink, count_lookups(network.body) if isinstance(network.body, tuple) else {})
    start = ReceptiveField.of_input(len(shape) - 1)
    state.value.holders += state.lookups.get("input", 0)
    state.input_entry = (shape, start, state.value)  # the network's input is the id `input` (`from: input`, `like: input`)
    out, field = state.sequence(network.body, "", shape, start, 0)
    if state.leaves == 0:
        raise ConvcalcError(Note("layers: the network has no layers, got none"))
    held = state.held
    return Report(
        network.name, shape, out, (), settings, state.params, state.buffers, state.macs,
        state.params * DTYPE_BYTES[settings.dtype], state.memory, field, tuple(state.warnings),
        held.saved, held.peak, held.backward_macs, held.outputs, state.time, state.counted, state.frozen_params, tuple(state.unknown),
        tuple(getattr(network, "outputs", ())),
    )


def analyze(network: Network, settings: Settings = Settings()) -> Report:
    """Every layer's shapes, cost and receptive field, with totals.

    >>> from convcalc import analyze, load
    >>> analyze(load("vgg16")).params
    138357544
    """
    sink = Collect()
    report = walk(network, settings, sink)
    return report._replace(rows=tuple(sink.rows))


def single_layer(layer: Layer, input_shape: Shape, settings: Settings = Settings()) -> Report:
    """A one-layer network, as `convcalc layer` analyses it.

    >>> from convcalc import Conv, single_layer
    >>> single_layer(Conv(6, 5), (1, 32, 32)).macs  # LeNet-5's C1: 28·28 · 6 · 5·5
    117600
    """
    kind = getattr(layer, "kind", None)
    return analyze(Network(kind if isinstance(kind, str) else "layer", input_shape, (LayerNode(kind if isinstance(kind, str) else "layer", layer),)), settings)

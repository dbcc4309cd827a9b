"""A network as a tree of layers, named blocks and merging paths, analysed in execution order.

The walk applies the layer formulas (formulas.py) to every leaf, carries the receptive field
(receptive.py) along every path and unites it where paths merge. It builds no text.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

from .errors import ConvcalcError, SpecError
from .formulas import KINDS, LayerCost, Shape, fmt_shape
from .layers import Conv, Layer, Norm
from .receptive import ReceptiveField, union

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


class LayerNode(NamedTuple):
    name: str
    layer: Layer
    where: str = ""  # 'file:line: path', for errors
    id: str | None = None  # later items may refer to this output by name
    source: str | None = None  # take the input from this id instead of the previous item


class Ref(NamedTuple):
    """A path that is an earlier output, by id."""

    id: str
    where: str = ""


class Group(NamedTuple):
    """A named block (one use of a block definition): rows can be collapsed to it."""

    name: str
    kind: str
    children: tuple["Node", ...]
    where: str = ""
    id: str | None = None
    source: str | None = None


class Merge(NamedTuple):
    """Paths that all start from the same input and are combined by `op`. An empty path is the
    identity. `shortcut` says what an identity path does when the first path changes the shape:
    'auto' projects it (1×1 convolution + batchnorm, ResNet's shortcut), 'if_same' drops the
    merge (MobileNetV2's rule), 'identity' keeps it (and the merge then fails)."""

    name: str
    op: str
    paths: tuple[tuple["Node", ...] | Ref, ...]
    path_names: tuple[str, ...]
    shortcut: str = "identity"
    where: str = ""
    id: str | None = None
    source: str | None = None
    kind: str = ""  # how the description named it ('residual', 'concat', …); defaults to op


Node = LayerNode | Group | Merge


class Network(NamedTuple):
    name: str
    input_shape: Shape
    body: tuple[Node, ...]
    source: str = ""  # where the architecture comes from (paper, torchvision, …)


class Settings(NamedTuple):
    batch: int = 1
    flops_per_mac: int = 1
    dtype: str = "fp32"


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


class Report(NamedTuple):
    name: str
    input_shape: Shape
    output_shape: Shape
    rows: tuple[Row, ...]  # execution order; a block's row comes before its leaves
    settings: Settings
    params: int
    buffers: int
    macs: int
    param_bytes: int
    activation_bytes: int
    field: ReceptiveField

    @property
    def flops(self) -> int:
        return self.macs * self.settings.flops_per_mac

    @property
    def leaves(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.leaf)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{r.name}: {w}" for r in self.rows if r.leaf for w in r.warnings)


class _Walk:
    def __init__(self, input_shape: Shape, settings: Settings):
        self.input_spatial = input_shape[1:]
        self.settings = settings
        self.element_bytes = DTYPE_BYTES[settings.dtype] * settings.batch
        self.rows: list[Row | None] = []
        self.ids: dict[str, tuple[Shape, ReceptiveField]] = {}

    def lookup(self, name: str, where: str) -> tuple[Shape, ReceptiveField]:
        if name not in self.ids:
            known = ", ".join(sorted(self.ids)) or "none yet"
            raise SpecError(f"{where}: unknown id (ids defined before this point: {known}), got {name!r}")
        return self.ids[name]

    def sequence(self, nodes, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        for node in nodes:
            if node.source is not None:
                shape, field = self.lookup(node.source, node.where)
            if isinstance(node, LayerNode):
                shape, field = self.leaf(node, shape, field, depth)
            elif isinstance(node, Group):
                shape, field = self.group(node, shape, field, depth)
            else:
                shape, field = self.merge(node, shape, field, depth)
            if node.id is not None:
                self.ids[node.id] = (shape, field)
        return shape, field

    def leaf(self, node: LayerNode, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        try:
            cost = KINDS[node.layer.kind].cost(node.layer, shape)  # shapes here are already checked
        except SpecError:
            raise
        except ConvcalcError as error:
            if not node.where:  # a single layer: the message already names the option
                raise
            head = str(error).partition(": ")[0]
            joint = "." if head.isidentifier() and head != node.layer.kind else ": "
            raise SpecError(f"{node.where}{joint}{error} (layer {node.name}, input {fmt_shape(shape)})") from None
        before, field = field, field.advance(cost.windows, cost.full)
        out = cost.output_shape
        self.rows.append(Row(
            node.name, node.layer.kind, depth, shape, out, cost.params, cost.buffers,
            cost.macs * self.settings.batch, prod(out) * self.element_bytes,
            field, before, field.covers(out[1:], self.input_spatial), True, cost.warnings, node.layer, cost,
        ))
        return out, field

    def group(self, node: Group, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        start = len(self.rows)
        self.rows.append(None)  # the block's row, filled in once its leaves are known
        out, out_field = self.sequence(node.children, shape, field, depth + 1)
        self.close(start, node.name, node.kind, depth, shape, out, field, out_field)
        return out, out_field

    def close(self, start: int, name: str, kind: str, depth: int, shape: Shape, out: Shape,
              before: ReceptiveField, field: ReceptiveField) -> None:
        leaves = [r for r in self.rows[start + 1:] if r is not None and r.leaf]
        self.rows[start] = Row(
            name, kind, depth, shape, out, sum(r.params for r in leaves), sum(r.buffers for r in leaves),
            sum(r.macs for r in leaves), sum(r.memory_bytes for r in leaves), field, before,
            field.covers(out[1:], self.input_spatial), False,
        )

    def merge(self, node: Merge, shape: Shape, field: ReceptiveField, depth: int) -> tuple[Shape, ReceptiveField]:
        start = len(self.rows)
        self.rows.append(None)
        results = []
        for path in node.paths:
            reshaped = bool(results) and results[0][0] != shape
            if isinstance(path, Ref):
                results.append(self.lookup(path.id, path.where))
            elif not path and reshaped and node.shortcut == "if_same":
                out, out_field = results[0]
                self.close(start, node.name, node.kind or node.op, depth, shape, out, field, out_field)
                return out, out_field
            elif not path and reshaped and node.shortcut == "auto":
                results.append(self.sequence(self.projection(node, shape, field, *results[0]), shape, field, depth + 1))
            else:
                results.append(self.sequence(path, shape, field, depth + 1))
        out = merged_shape(node, [s for s, _ in results])
        out_field, notes = union([f for _, f in results])
        self.rows.append(Row(
            f"{node.name}.{node.op}", node.op, depth + 1, shape, out, 0, 0, 0, prod(out) * self.element_bytes,
            out_field, field, out_field.covers(out[1:], self.input_spatial), True, tuple(notes),
        ))
        self.close(start, node.name, node.kind or node.op, depth, shape, out, field, out_field)
        return out, out_field

    def projection(self, node: Merge, shape: Shape, field: ReceptiveField, target: Shape, target_field: ReceptiveField) -> tuple[LayerNode, ...]:
        """ResNet's shortcut: conv 1×1 with the main path's stride, no bias, then batchnorm."""
        from fractions import Fraction

        strides = []
        for before, after in zip(field.axes, target_field.axes):
            ratio = Fraction(after.jump) / before.jump
            if ratio.denominator != 1:
                raise SpecError(f"{node.where}: shortcut: the main path's stride is not a whole number, got {ratio}")
            strides.append(ratio.numerator)
        conv = Conv(out_channels=target[0], kernel=1, stride=tuple(strides) or 1, bias=False)
        prefix = f"{node.name}.shortcut"
        return (LayerNode(f"{prefix}.conv", conv, f"{node.where}.shortcut"), LayerNode(f"{prefix}.bn", Norm(), f"{node.where}.shortcut"))


def merged_shape(node: Merge, shapes: list[Shape]) -> Shape:
    described = ", ".join(f"{name} {fmt_shape(s)}" for name, s in zip(node.path_names, shapes))
    if len({len(s) for s in shapes}) > 1:
        raise SpecError(f"{node.where}: {node.op}: paths have different numbers of axes, got {described}")
    if node.op == "concat":
        if len({s[1:] for s in shapes}) > 1:
            raise SpecError(f"{node.where}: concat: spatial sizes differ between paths, got {described}")
        return (sum(s[0] for s in shapes), *shapes[0][1:])
    if node.op == "add":
        if len(set(shapes)) > 1:
            what = "channels" if len({s[1:] for s in shapes}) == 1 else "shapes"
            raise SpecError(f"{node.where}: add: {what} differ between paths, got {described}")
        return shapes[0]
    # multiply broadcasts size-1 axes, as the squeeze-and-excitation gate does
    out = tuple(max(sizes) for sizes in zip(*shapes))
    if any(v not in (1, o) for s in shapes for v, o in zip(s, out)):
        raise SpecError(f"{node.where}: multiply: shapes do not broadcast, got {described}")
    return out


def analyze(network: Network, settings: Settings = Settings()) -> Report:
    """Every layer's shapes, cost and receptive field, with totals."""
    if settings.dtype not in DTYPE_BYTES:
        raise ConvcalcError(f"dtype: must be one of {', '.join(DTYPE_BYTES)}, got {settings.dtype!r}")
    for option, value in (("batch", settings.batch), ("flops-per-mac", settings.flops_per_mac)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConvcalcError(f"{option}: must be a positive integer, got {value!r}")
    shape = network.input_shape
    if not shape or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape):
        raise ConvcalcError(f"input: every size must be a positive integer, got {list(shape)!r}")
    walk = _Walk(shape, settings)
    out, field = walk.sequence(network.body, shape, ReceptiveField.of_input(len(shape) - 1), 0)
    rows = tuple(walk.rows)
    leaves = [r for r in rows if r.leaf]
    params = sum(r.params for r in leaves)
    return Report(
        network.name, shape, out, rows, settings, params, sum(r.buffers for r in leaves),
        sum(r.macs for r in leaves), params * DTYPE_BYTES[settings.dtype],
        sum(r.memory_bytes for r in leaves), field,
    )


def single_layer(layer: Layer, input_shape: Shape, settings: Settings = Settings()) -> Report:
    """A one-layer network, as `convcalc layer` analyses it."""
    return analyze(Network(layer.kind, input_shape, (LayerNode(layer.kind, layer),)), settings)

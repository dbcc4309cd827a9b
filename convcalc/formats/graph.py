"""The graph builder every model reader feeds: a reader parses its format and calls these few
operations; the builder keeps what each value is and ends in the core's network.

A value (a name the reader uses: an ONNX tensor, a recorded PyTorch tensor) is the output of a convcalc layer,
seen in a layout (channels first or channels last, as ConvNeXt permutes for its layer norms), or a
data move not yet written as a layer (a chain of reshapes and transposes, kept pending until a layer
reads it, then written as one layer or none). Layers get their shapes from the core's formulas as
they are added, so a reader never computes a shape the core also knows. Merges join values; rows are
nested into blocks by the scopes the reader names (an exporter's `/layer1/0/conv1`, a module path).
"""

from __future__ import annotations

from math import prod

from ..core.errors import ConvcalcError, SpecError
from ..core.formulas import analyze_layer, data_move
from ..core.layers import Elementwise
from ..core.messages import Note
from ..core.network import Group, LayerNode, Merge, Ref, merged_shape


def follow_channels(before: tuple, axis: int | None, after: tuple, perm=None) -> int | None:
    """The channel axis after a transpose (`perm`) or a reshape that keeps it an axis of its own (the
    sizes before it multiply to the same, and it keeps its size); None once it is split or merged."""
    if axis is None or axis >= len(before):
        return None
    if perm is not None:
        return perm.index(axis) if axis in perm else None
    prefix = prod(before[:axis])
    for j, size in enumerate(after):
        if prod(after[:j]) == prefix and size == before[axis]:
            return j
    return None


def nest(items: list) -> tuple:
    """Rows nested as the `/`-scopes of their names say (`/layer1/layer1.0/conv1/Conv`, an exporter's): a block
    per scope, and a scope of one row that row under the scope's name."""
    scopes = []
    for index, item in enumerate(items):
        parts = item.name.strip("/").split("/")[:-1] if item.name.startswith("/") else []
        scopes.append(tuple((part, part, "block") for part in parts))
        items[index] = item._replace(name=item.name.rsplit("/", 1)[-1] or item.name)
    return nest_scoped(items, scopes, single_takes_scope=True)


def nest_scoped(items: list, scopes: list, single_takes_scope: bool = False) -> tuple:
    """Rows nested by the scopes given for each (`((key, name, kind), …)`, outermost first): a block per scope,
    named and kinded as given (a module's attribute name and class); with `single_takes_scope` a scope of one
    row is that row under the scope's name."""
    body: list = []
    open_: list = []  # [(key, name, kind, children)]

    def close_to(depth: int) -> None:
        while len(open_) > depth:
            _key, name, kind, children = open_.pop()
            if single_takes_scope and len(children) == 1:
                item = children[0]._replace(name=name)
            else:
                item = Group(name, kind, tuple(children), name)
            (open_[-1][3] if open_ else body).append(item)

    for item, scope in zip(items, scopes):
        scope = scope or ()
        common = 0
        while common < min(len(scope), len(open_)) and open_[common][0] == scope[common][0]:
            common += 1
        close_to(common)
        for key, name, kind in scope[common:]:
            open_.append((key, name, kind, []))
        (open_[-1][3] if open_ else body).append(item)
    close_to(0)
    return tuple(body)


class GraphBuilder:
    """Values → convcalc layers and merges, shapes by the core's formulas as they are added."""

    def __init__(self, input_name: str, input_shape: tuple, place: str):
        self.place = place  # where a layer comes from, for its messages (a file's name)
        self.shapes = {input_name: tuple(input_shape)}  # convcalc shape (no batch) of every value written as a layer
        self.alias = {input_name: "input"}  # value → the convcalc id that holds it
        self.layout: dict[str, str] = {}  # "cl": channels last (N, H, W, C)
        self.real: dict[str, tuple] = {}  # a pending data move: its origin and real shape (batch first)
        self.transposed: dict[str, bool] = {}  # … and whether the move reorders elements
        self.channel_axis: dict[str, int | None] = {}  # … and where its channels are (MaxViT's windows keep them last)
        self.move_place: dict[str, tuple] = {}  # … and the row name and scope of the operation that made it, if given
        self.moves_named_by_kind = False  # a data move without a name of its own is named by its kind, not its value
        self.body: list = []
        self.records: dict = {}
        # the scope the next rows are placed in: ((key, name, kind), …) from the outermost, or None to read
        # it from the row's label (`/layer1/0/conv1/Conv`)
        self.scope: tuple | None = None
        self.scopes: list = []

    def known(self, name: str) -> bool:
        """Whether `name` is a value of the graph (a layer's output or a pending move), not a constant."""
        return name in self.alias or name in self.real

    def add(self, layer, label: str, source: str, out: str, frozen: bool = False) -> None:
        """A layer reading `source`, its output the value `out`; its shape computed by the core's formula."""
        try:  # equal layers share one record, so the walk and the writers work each out once
            layer = self.records.setdefault((layer, tuple(map(type, layer))), layer)
        except TypeError:
            pass  # a record with an unhashable field stays its own
        try:
            cost = analyze_layer(layer, self.shapes[source])
        except ConvcalcError as error:
            where = f"{self.place}: {label}"
            raise SpecError(Note("{where}: {error}", where=where, error=error)) from None
        self.body.append(LayerNode(label, layer, f"{self.place}: {label}", out, self.alias[source], frozen))
        self.scopes.append(self.scope)
        self.alias[out] = out
        self.shapes[out] = cost.output_shape
        self.layout[out] = self.layout.get(source, "cf") if len(cost.output_shape) > 1 else "cf"

    def same(self, out: str, source: str, layout: str | None = None) -> None:
        """`out` is `source` (an element-wise op on a constant, a layout change): no layer of its own."""
        self.alias[out], self.shapes[out] = self.alias[source], self.shapes[source]
        self.layout[out] = layout or self.layout.get(source, "cf")

    def real_of(self, name: str) -> tuple:
        """A value's shape as the model holds it: batch first, channels where its layout puts them."""
        if name in self.real:
            return self.real[name][1]
        shape = self.shapes[name]
        if self.layout.get(name) == "cl":
            return (1, *shape[1:], shape[0])
        return (1, *shape)

    def channel_of(self, name: str) -> int | None:
        """Where the channels are in a value's real shape: followed through pending moves."""
        if name in self.real:
            return self.channel_axis.get(name)
        return len(self.shapes[name]) if self.layout.get(name) == "cl" and len(self.shapes[name]) > 1 else 1

    def move(self, source: str, out: str, shape: tuple, transposes: bool = False, perm=None, label: str = "") -> None:
        """`out` is `source` reshaped or transposed to `shape` (batch first): pending until a layer reads it, then
        written as a row named `label` where the move was made (a module's flatten), if given."""
        origin = self.real[source][0] if source in self.real else source
        self.real[out] = (origin, tuple(shape))
        self.transposed[out] = transposes or self.transposed.get(source, False)
        self.channel_axis[out] = follow_channels(self.real_of(source), self.channel_of(source), tuple(shape), perm)
        if label:
            self.move_place[out] = (label, self.scope)

    def materialise(self, name: str) -> None:
        """A value reached through reshapes and transposes, written as one layer (or none if nothing moved)."""
        real = self.real.pop(name, None)
        if real is None:
            return
        origin, moved_shape = real
        target = tuple(moved_shape[1:])
        channels_last = self.channel_axis.get(name) == len(moved_shape) - 1 and len(moved_shape) > 2
        if channels_last:
            target = (moved_shape[-1], *moved_shape[1:-1])
        source_shape = self.shapes[origin]
        self.alias[name], self.shapes[name] = self.alias[origin], source_shape
        if target == source_shape and not self.transposed.get(name) and self.layout.get(origin, "cf") == ("cl" if channels_last else "cf"):
            self.layout[name] = self.layout.get(origin, "cf")  # moved there and back: the origin itself
            return
        layer = data_move(target, source_shape, "Reshape")
        label, scope = self.move_place.pop(name, (layer.kind if self.moves_named_by_kind else name, self.scope))
        now, self.scope = self.scope, scope
        self.add(layer, label, origin, name)
        self.scope = now
        self.layout[name] = "cl" if channels_last else "cf"

    def join(self, op: str, names: list[str], out: str, label: str, where: str) -> None:
        """A merge (add, concat, multiply, …) of values written as layers, its output the value `out`."""
        ids = [self.alias[n] for n in names]
        merge = Merge(label, op, tuple(Ref(i) for i in ids), tuple(ids), "identity", where, out, None, op)
        try:
            shape = merged_shape(merge, [self.shapes[n] for n in names])
        except SpecError:
            raise  # it names the merge's place already
        except ConvcalcError as error:
            raise SpecError(Note("{where}: {error}", where=where, error=error)) from None
        self.body.append(merge)
        self.scopes.append(self.scope)
        self.alias[out], self.shapes[out] = out, shape
        self.layout[out] = self.layout.get(names[0], "cf")

    def finish(self, outputs: list[str], single_takes_scope: bool = False) -> tuple:
        """The network's body: the first output written out (an identity row when another row came last),
        rows nested by their scopes (a scope of one row that row under the scope's name, if asked)."""
        outputs = [o for o in outputs if self.known(o)]
        if outputs:
            final = outputs[0]
            self.materialise(final)
            shape = self.shapes[final]
            if self.layout.get(final) == "cl" and len(shape) > 1:  # the output as the model holds it: channels last
                self.scope = None
                self.add(data_move((*shape[1:], shape[0]), shape, "Transpose"), "output", final, final + "#out")
            elif self.body and getattr(self.body[-1], "id", None) != self.alias[final]:
                self.scope = None
                self.add(Elementwise("identity"), "output", final, final + "#out")
        if any(scope is not None for scope in self.scopes):
            return nest_scoped(self.body, self.scopes, single_takes_scope)
        return nest(list(self.body))

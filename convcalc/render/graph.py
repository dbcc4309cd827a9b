"""The network as a graph: Mermaid (`--format mermaid`, drawn by GitHub, Typora and Obsidian as it is)
and Graphviz DOT (`--format dot`). One node per layer, or per block collapsed at `--depth`; a block
shown whole is a subgraph around its layers; branches, merges and skips are edges.

The rows come from the walk (figures, names); the edges from the network's structure, read in the
walk's own order: a layer reads the value before it (or the id it names), a merge's paths start
from its input and end in its row."""

from __future__ import annotations

from typing import Callable, NamedTuple

from ..core.errors import ConvcalcError
from ..core.messages import Note, _
from ..core.network import Group, LayerNode, Merge, Network, Ref, Repeat, Row
from .report import human, kind_name

INPUT = -1  # the network's input, a node of its own


class Flow:
    """Each row's parent block and the edges between rows, from the structure of `network`."""

    def __init__(self, network: Network, rows: list[Row]):
        self.rows, self.at = rows, 0
        self.parent: list[int | None] = [None] * len(rows)
        self.edges: list[tuple[int, int]] = []
        self.ids: dict[str, list[int]] = {}
        self.stack: list[int] = []
        self.sequence(network.body, [INPUT])
        if self.at != len(rows):
            raise ConvcalcError(Note("graph: the network's structure and its rows disagree at row {index}, got {value}",
                                     index=self.at, value=len(rows)))

    def take(self) -> int:
        index = self.at
        self.at += 1
        self.parent[index] = self.stack[-1] if self.stack else None
        return index

    def link(self, sources: list[int], target: int) -> None:
        self.edges += [(s, target) for s in sources]

    def sequence(self, nodes, current: list[int]) -> list[int]:
        for node in nodes:
            if isinstance(node, Repeat):
                for _copy in range(node.count):
                    for unit in node.nodes:
                        current = self.node(unit, current)
            else:
                current = self.node(node, current)
        return current

    def node(self, node, current: list[int]) -> list[int]:
        if node.source is not None:
            current = self.ids.get(node.source, current)
        if isinstance(node, LayerNode):
            index = self.take()
            self.link(current, index)
            out = [index]
        elif isinstance(node, Group):
            index = self.take()
            self.stack.append(index)
            out = self.sequence(node.children, current)
            self.stack.pop()
        else:
            out = self.merge(node, current)
        if node.id is not None:
            self.ids[node.id] = out
        return out

    def merge(self, node: Merge, current: list[int]) -> list[int]:
        bare = node.shortcut == "identity" and node.split is None and all(isinstance(p, Ref) or p == () for p in node.paths)
        block = None
        if not bare:
            block = self.take()
            self.stack.append(block)
        ends: list[int] = []
        for path in node.paths:
            if isinstance(path, Ref):
                ends += self.ids.get(path.id, [])
            elif path:
                ends += self.sequence(path, current)
            else:  # the identity, or the projection the walk put in its place (rows named '<merge>.shortcut.…')
                shortcut = f"{self.rows[block].name}.shortcut." if block is not None else None
                out = current
                while shortcut and self.at < len(self.rows) and self.rows[self.at].name.startswith(shortcut):
                    index = self.take()
                    self.link(out, index)
                    out = [index]
                ends += out
        row = self.rows[self.at] if self.at < len(self.rows) else None
        own = row is not None and row.leaf and row.kind == node.op and (bare or row.name == f"{self.rows[block].name}.{node.op}")
        if own:
            index = self.take()
            self.link(ends, index)
            out = [index]
        else:  # dropped (a shortcut that would change the shape, MobileNet's rule): the first path goes on
            out = ends[:1]
        if block is not None:
            self.stack.pop()
        return out


class Shown:
    """What is drawn at `depth`: nodes (layers, and blocks collapsed at that depth), subgraphs (blocks
    above it) and the edges between nodes."""

    def __init__(self, flow: Flow, depth: int | None):
        rows = flow.rows
        self.rows, self.parent = rows, flow.parent
        has_children = {p for p in flow.parent if p is not None}
        self.nodes = [i for i, r in enumerate(rows) if (r.leaf and (depth is None or r.depth <= depth))
                      or (not r.leaf and depth is not None and r.depth == depth and i in has_children)]
        self.subgraphs = [i for i, r in enumerate(rows) if not r.leaf and i in has_children and (depth is None or r.depth < depth)]
        shown = set(self.nodes)
        self.subgraph_set = set(self.subgraphs)

        def drawn(i: int) -> int:
            while i != INPUT and i not in shown:
                i = flow.parent[i]
            return i

        self.edges = list(dict.fromkeys((drawn(a), drawn(b)) for a, b in flow.edges if drawn(a) != drawn(b)))
        self.inside: dict[int | None, list[int]] = {}  # subgraph (None: the top level) → what it holds directly, in order
        for i in sorted(self.nodes + self.subgraphs):
            p = flow.parent[i]
            while p is not None and p not in self.subgraph_set:
                p = flow.parent[p]
            self.inside.setdefault(p, []).append(i)

    def children(self, block: int | None) -> list[int]:
        """The nodes and subgraphs directly inside `block` (None: the top level), in order."""
        return self.inside.get(block, [])


def label_lines(row: Row, fpm: int, parent: Row | None = None) -> list[str]:
    """A node's lines: its name (inside a block, without the block's), kind and output, figures."""
    from ..core.formulas import fmt_shape

    field = _("full") if row.field.full else "×".join(str(a[0]) for a in row.field.axes) if row.field.axes else "1"
    figures = [_("{value} params").format(value=human(row.params))] if row.params else []
    figures += [_("{value} FLOPs").format(value=human(row.macs * fpm))] if row.macs else []
    name = row.name[len(parent.name) + 1:] if parent is not None and row.name.startswith(parent.name + ".") else row.name
    return [name, f"{kind_name(row.kind)} → {fmt_shape(row.output_shape)}", " · ".join(figures + [_("RF {value}").format(value=field)])]


def mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: every character but letters, digits and a few marks as an entity code."""
    return "".join(c if c.isalnum() and c.isascii() or c in " ._-×·→:" else f"#{ord(c)};" for c in text)


class Syntax(NamedTuple):
    """How one graph language writes what Shown holds."""

    head: Callable[[str, str], list[str]]  # (network name, input label) → the first lines
    node: Callable[[str, list[str]], str]  # (id, label lines) → a node
    open: Callable[[str, str], list[str]]  # (id, title) → a subgraph's first lines
    close: str
    edge: Callable[[str, str], str]
    tail: str


def draw(syntax: Syntax, network: Network, rows: list[Row], depth: int | None, fpm: int) -> str:
    from ..core.formulas import fmt_shape

    shown = Shown(Flow(network, rows), depth)
    lines = syntax.head(network.name, _("input {shape}").format(shape=fmt_shape(network.input_shape)))

    def emit(block: int | None, indent: str) -> None:
        for i in shown.children(block):
            if i in shown.subgraph_set:
                lines.extend(indent + line for line in syntax.open(f"s{i}", f"{rows[i].name} · {kind_name(rows[i].kind)}"))
                emit(i, indent + "  ")
                lines.append(indent + syntax.close)
            else:
                lines.append(indent + syntax.node(f"n{i}", label_lines(rows[i], fpm, rows[block] if block is not None else None)))

    emit(None, "  ")
    lines += ["  " + syntax.edge("n_in" if a == INPUT else f"n{a}", f"n{b}") for a, b in shown.edges]
    return "\n".join(lines) + "\n" + syntax.tail


def dot_text(text: str) -> str:
    from ..core.errors import printable

    return printable(text).replace("\\", "\\\\").replace('"', '\\"')


MERMAID = Syntax(
    head=lambda name, source: ["flowchart TD", f'  n_in["{mermaid_text(source)}"]'],
    node=lambda key, label: f'{key}["{"<br/>".join(map(mermaid_text, label))}"]',
    open=lambda key, title: [f'subgraph {key}["{mermaid_text(title)}"]'],
    close="end", edge=lambda a, b: f"{a} --> {b}", tail="")
DOT = Syntax(
    head=lambda name, source: [f'digraph "{dot_text(name)}" {{', '  node [shape=box, fontname="Helvetica", fontsize=10];',
                               f'  n_in [label="{dot_text(source)}", shape=ellipse];'],
    node=lambda key, label: f'{key} [label="{dot_lines(label)}"];',
    open=lambda key, title: [f"subgraph cluster_{key} {{", f'  label="{dot_text(title)}";'],
    close="}", edge=lambda a, b: f"{a} -> {b};", tail="}\n")


def dot_lines(label: list[str]) -> str:
    return "\\n".join(map(dot_text, label))


def to_mermaid(network: Network, rows: list[Row], depth: int | None, fpm: int = 1) -> str:
    return draw(MERMAID, network, rows, depth, fpm)


def to_dot(network: Network, rows: list[Row], depth: int | None, fpm: int = 1) -> str:
    return draw(DOT, network, rows, depth, fpm)

"""`--format mermaid` and `--format dot` (convcalc/render/graph.py): the edges are the network's data flow
(written out by hand for small networks), every bundled network is drawn, the text parses — DOT by
Graphviz where it is installed, Mermaid by the grammar of the part of it written here — and names
cannot break out of their labels."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from convcalc import load, loads
from convcalc.core.network import Collect, Settings, walk
from convcalc.formats.zoo import bundled
from convcalc.render.graph import INPUT, Flow, to_dot, to_mermaid

NETWORKS = sorted(p.stem for p in bundled())


def flow(text: str):
    network = loads(text)
    rows = Collect()
    walk(network, Settings(), rows)
    found = Flow(network, rows.rows)
    names = {INPUT: "input", **{i: r.name for i, r in enumerate(rows.rows)}}
    return {(names[a], names[b]) for a, b in found.edges}


def test_a_chain_is_a_line():
    assert flow("input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3}\n  - relu\n  - maxpool: {k: 2}\n") == {
        ("input", "conv1"), ("conv1", "relu1"), ("relu1", "maxpool1")}


def test_a_residual_block_has_its_skip_and_its_projection():
    edges = flow("input: [4, 8, 8]\nlayers:\n"
                 "  - residual: {layers: [conv: {c: 4, k: 3, p: 1}], shortcut: identity}\n"
                 "  - residual: {layers: [conv: {c: 8, k: 3, p: 1, s: 2}], shortcut: auto}\n")
    assert edges == {
        ("input", "residual1.main.conv1"), ("residual1.main.conv1", "residual1.add"), ("input", "residual1.add"),  # the skip
        ("residual1.add", "residual2.main.conv1"), ("residual2.main.conv1", "residual2.add"),
        ("residual1.add", "residual2.shortcut.conv"), ("residual2.shortcut.conv", "residual2.shortcut.bn"),  # the projection
        ("residual2.shortcut.bn", "residual2.add")}


def test_ids_and_references_are_edges_from_where_they_were_made():
    edges = flow("input: [3, 8, 8]\nlayers:\n  - {conv: {c: 4, k: 1}, id: a}\n  - conv: {c: 4, k: 3, p: 1}\n"
                 "  - {conv: {c: 4, k: 1}, from: a}\n  - concat: [a, []]\n")
    assert ("input", "conv1") in edges and ("conv1", "conv2") in edges and ("conv1", "conv3") in edges  # from: a
    assert {e for e in edges if e[1].startswith("concat")} == {("conv1", "concat1"), ("conv3", "concat1")}


@pytest.mark.parametrize("name", NETWORKS)
def test_every_bundled_network_is_drawn_and_graphviz_reads_it(name):
    network = load(name)
    rows = Collect()
    walk(network, Settings(), rows)
    for depth in (None, 1):
        dot = to_dot(network, rows.rows, depth)
        check_mermaid(to_mermaid(network, rows.rows, depth))
        if shutil.which("dot"):
            done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and "<svg" in done.stdout, done.stderr[:500]


# the part of Mermaid's flowchart grammar written here: a header, nodes with quoted labels, subgraphs, edges
MERMAID_LINE = re.compile(r'(?:flowchart TD|(?P<indent> *)(?:(?P<node>n\w+)\["(?P<label>[^"]*)"\]|subgraph (?P<sub>s\d+)\["(?P<title>[^"]*)"\]|end|'
                          r'(?P<a>n\w+) --> (?P<b>n\w+)))')


def check_mermaid(text: str) -> None:
    defined, depth = set(), 0
    for line in text.splitlines():
        match = MERMAID_LINE.fullmatch(line)
        assert match, line
        if match["node"]:
            defined.add(match["node"])
        if match["sub"]:
            depth += 1
        if line.strip() == "end":
            depth -= 1
            assert depth >= 0
        for label in (match["label"], match["title"]):
            if label:  # only entity codes and <br/>: no quote, bracket or backtick can end the label
                assert not re.search(r'["\[\]`{}|<>]', label.replace("<br/>", "")), label
        if match["a"]:
            assert match["a"] in defined and match["b"] in defined, line
    assert depth == 0


def cli(*args):
    return subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=120,
                          env={"CONVCALC_LANG": "en", "PATH": "/usr/bin:/bin"})


def test_names_stay_inside_their_labels(tmp_path):
    path = tmp_path / "names.yaml"
    path.write_text('name: "a\\"b] --> x"\ninput: [3, 8, 8]\nlayers:\n'
                    '  - {conv: {c: 4, k: 3}, name: "x\\"] --> n0[\\"y\\u001b[2J"}\n  - {relu: null, name: "<b>\\n{z}|`"}\n')
    mermaid = cli("net", str(path), "--format", "mermaid")
    assert mermaid.returncode == 0, mermaid.stderr
    check_mermaid(mermaid.stdout)
    dot = cli("net", str(path), "--format", "dot")
    assert "\x1b" not in dot.stdout and '\\"' in dot.stdout
    if shutil.which("dot"):
        assert subprocess.run(["dot", "-Tsvg"], input=dot.stdout, capture_output=True, text=True).returncode == 0


@pytest.mark.parametrize("flag", [["--explain"], ["--by-op"], ["--connections"], ["--count", "fvcore"]])
def test_what_a_graph_cannot_show_is_refused(flag):
    done = cli("net", "lenet5", "--format", "dot", *flag)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"Error: {flag[0]}: a graph has no place for it")


def test_depth_collapses_blocks_into_nodes():
    done = cli("net", "resnet50", "--format", "mermaid", "--depth", "1")
    nodes = [line for line in done.stdout.splitlines() if re.match(r" +n\d+\[", line)]
    # conv1, its bn and relu, the max pool; 3 + 4 + 6 + 3 bottlenecks; the pool, flatten and linear
    assert len(nodes) == 4 + 16 + 3
    assert done.stdout.count("subgraph") == 4  # the four stages

"""Every mistake a person can make in a description ends in one clear error naming the file, the
line and the place — never a traceback. The fuzz tests throw random and mangled descriptions."""

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc import ConvcalcError, SpecError, analyze
from convcalc.formats.spec import loads
from convcalc.formats.zoo import bundled


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        analyze(loads(textwrap.dedent(text), "net.yaml"))
    return str(caught.value)


HEAD = "input: [3, 32, 32]\nlayers:\n"

CASES = [
    ("syntax", HEAD + "  - conv: {c: 8, k: 3\n", "net.yaml:3: YAML syntax: did not find expected ',' or '}', got '- conv: {c: 8, k: 3'"),
    ("k zero", HEAD + "  - conv: {c: 8, k: 3}\n  - conv: {c: 8, k: 0}\n",
     "net.yaml:4: layers[1].conv.k: must be a positive integer, got 0 (layer conv2, input 8×30×30)"),
    ("boolean is not an integer", HEAD + "  - conv: {c: 8, k: true}\n",
     "net.yaml:3: layers[0].conv.k: must be a positive integer or a list of them (one per axis), got true"),
    ("unknown kind", HEAD + "  - convv: {c: 8, k: 3}\n", "got 'convv'; did you mean 'conv'?"),
    ("unknown kind lists the known ones", HEAD + "  - convv: {c: 8, k: 3}\n", "unknown layer kind (known: adaptive_avgpool, "),
    ("unknown option", HEAD + "  - conv: {c: 8, kk: 3}\n",
     "net.yaml:3: layers[0].conv: unknown option (known: c, k, s, p, d, groups, bias, table, p_total, act, bn), got 'kk'; did you mean 'k'?"),
    ("missing option", HEAD + "  - conv: {k: 3}\n", "net.yaml:3: layers[0].conv: missing option c (conv needs c, k), got {k: 3}"),
    ("two kinds in one item", HEAD + "  - {conv: {c: 8, k: 3}, relu: null}\n",
     "net.yaml:3: layers[0]: each item needs exactly one layer kind, got more than one layer kind: conv, relu"),
    ("duplicate key", HEAD + "  - conv: {c: 4, k: 3}\n    conv: {c: 4, k: 3}\n", "net.yaml:4: duplicate key, got 'conv' twice"),
    ("channel mismatch at add", HEAD + "  - add: [[conv: {c: 8, k: 3, p: 1}], []]\n",
     "net.yaml:3: layers[0].add: add: channels differ between paths, got path 0 8×32×32, path 1 3×32×32"),
    ("spatial mismatch at concat", HEAD + "  - concat: [[conv: {c: 8, k: 3}], []]\n",
     "net.yaml:3: layers[0].concat: concat: spatial sizes differ between paths, got path 0 8×30×30, path 1 3×32×32"),
    ("unknown block", HEAD + "  - stage: {c: 3}\n", "net.yaml:3: layers[0].stage: unknown layer kind"),
    ("unknown id", HEAD + "  - add: [[relu], nope]\n",
     "net.yaml:3: layers[0].add[1]: unknown id (no id defined before this point), got 'nope'"),
    ("block uses itself", "input: [3, 8, 8]\nblocks:\n  a:\n    layers: [b]\n  b:\n    layers: [a]\nlayers:\n  - a\n",
     "net.yaml:6: blocks.b.layers[0].a: block uses itself: a → b → a"),
    ("feature map shrinks to nothing", "input: [3, 8, 8]\nlayers:\n  - {conv: {c: 8, k: 3}, repeat: 10}\n",
     "net.yaml:3: layers[0].conv: axis H: kernel larger than the padded input: effective kernel 3 > input 2 + padding 0, "
     "got size 2 (layer conv4, input 8×2×2)"),
    ("repeat too large", "input: [3, 8, 8]\nlayers:\n  - {relu: null, repeat: 1000000000}\n",
     "net.yaml:3: layers[0].relu.repeat: the network would have more than 2,000,000 rows (layers, blocks and merges, "
     "repeats multiplied out), got 1,000,000,000"),
    ("nested repeats too large", "input: [3, 8, 8]\nblocks:\n  b:\n    layers: [{relu: null, repeat: 2000}]\nlayers:\n  - {b: null, repeat: 2000}\n",
     "net.yaml:6: layers[0].b.repeat: the network would have more than 2,000,000 rows (layers, blocks and merges, "
     "repeats multiplied out), got 2000 * (1 + 2000)".replace("2000 * (1 + 2000)", f"{2000 * (1 + 2000):,}")),
    ("repeat negative", HEAD + "  - {relu: null, repeat: -1}\n", "net.yaml:3: layers[0].relu.repeat: must be a non-negative integer, got -1"),
    ("missing argument", "input: [3, 8, 8]\nblocks:\n  s:\n    args: {c: required}\n    layers: [conv: {c: $c, k: 1}]\nlayers:\n  - s\n",
     "net.yaml:7: layers[0].s: missing argument c (block s needs it), got none"),
    ("unknown argument", "input: [3, 8, 8]\nblocks:\n  s:\n    args: {c: 1}\n    layers: [conv: {c: $c, k: 1}]\nlayers:\n  - s: {cc: 3}\n",
     "net.yaml:7: layers[0].s: unknown argument (block s takes: c), got 'cc'; did you mean 'c'?"),
    ("bad arithmetic", "input: [3, 8, 8]\nblocks:\n  s:\n    args: {c: 3}\n    layers: [conv: {c: $c/2, k: 1}]\nlayers:\n  - s\n",
     "net.yaml:5: blocks.s.layers[0].conv.c: 3/2 is not a whole number (round it with //, ceil, floor or div_round), got '$c/2'"),
    ("missing input", "layers: [relu]\n", "net.yaml:1: missing `input:`, got keys layers"),
    ("bad input", "input: [3, 0, 8]\nlayers: [relu]\n",
     "net.yaml:1: input: must be [C, H, W], [C, L], [C, D, H, W] or [F] (features) with positive integers, got [3, 0, 8]"),
    ("unknown top-level key", "input: [3, 8, 8]\nlayer: [relu]\n", "net.yaml:2: unknown key (known: name, input, args, blocks, layers, source, description), got 'layer'; did you mean 'layers'?"),
    ("not a mapping", "- 1\n- 2\n", "net.yaml:1: must be a mapping with input: and layers:, got [1, 2]"),
    ("layers not a list", "input: [3, 8, 8]\nlayers: 5\n", "net.yaml:2: layers: must be a list of layers, got 5"),
    ("bad activation sugar", HEAD + "  - conv: {c: 4, k: 3, act: relux}\n", "got 'relux'; did you mean 'relu'?"),
    ("kernel per axis", "input: [3, 8]\nlayers:\n  - conv: {c: 4, k: [3, 3]}\n",
     "net.yaml:3: layers[0].conv.k: needs one value for 1 spatial axis, got [3, 3] (layer conv1, input 3×8)"),
    ("block named like a kind", "input: [3, 8, 8]\nblocks:\n  conv:\n    layers: [relu]\nlayers: [relu]\n",
     "net.yaml:3: blocks.conv: a block cannot take the name of a layer kind, got 'conv'"),
    ("id on a repeat", HEAD + "  - {relu: null, repeat: 2, id: a}\n",
     "net.yaml:3: layers[0].relu.id: would name the outputs of all 2 repeats; give the id to a block around them, got 'a'"),
    ("residual shortcut word", HEAD + "  - residual: {layers: [relu], shortcut: project}\n",
     "net.yaml:3: layers[0].residual.shortcut: must be auto, identity, if_same, none or a list of layers, got 'project'"),
    ("merge with one path", HEAD + "  - add: [[relu]]\n", "net.yaml:3: layers[0].add: needs a list of at least two paths"),
    ("groups do not divide", HEAD + "  - conv: {c: 8, k: 3, groups: 2}\n",
     "net.yaml:3: layers[0].conv.groups: must divide the input channels (3) and the output channels (8), got 2 (layer conv1, input 3×32×32)"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_clear_error(text, message):
    assert message in error_of(text)


def test_ids_and_from_wire_a_graph_that_does_not_nest():
    net = loads(HEAD + "  - {conv: {c: 8, k: 3, p: 1}, id: skip}\n  - maxpool: {k: 2}\n  - upsample: {scale: 2}\n"
                "  - concat: [[], skip]\n  - {conv: {c: 4, k: 1}, from: skip}\n", "net.yaml")
    rep = analyze(net)
    shapes = [(r.name, r.output_shape) for r in rep.leaves]
    assert ("concat1", (8 + 8, 32, 32)) in shapes
    assert shapes[-1] == ("conv2", (4, 32, 32))


def mutations(text: str, data) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "number", "word", "indent", "truncate"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "number":
            replacement = data.draw(st.sampled_from(["0", "-1", "true", "null", "2.5", "99999", "'x'", "[1, 2, 3]", "{}"]))
            import re

            lines[i] = re.sub(r"\d+", replacement, lines[i], count=1)
        elif action == "word":
            word = data.draw(st.sampled_from(["conv", "relu", "add", "concat", "residual", "$c", "repeat", "stage", "k", "c", ":", "-", "[", "{"]))
            pos = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + word + lines[i][pos:]
        elif action == "indent":
            lines[i] = "  " + lines[i] if data.draw(st.booleans()) else lines[i].lstrip()
        else:
            lines = lines[:i]
    return "\n".join(lines) + "\n"


SPEC_TEXTS = [p.read_text() for p in bundled()]


def only_clean_outcomes(text: str) -> None:
    try:
        analyze(loads(text, "fuzz.yaml"))
    except ConvcalcError as error:
        message = str(error)
        assert message and "Traceback" not in message and "\n" not in message.strip()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SPEC_TEXTS), st.data())
def test_mangled_descriptions_give_a_result_or_a_clean_error(text, data):
    only_clean_outcomes(mutations(text, data))


WORDS = st.sampled_from(["conv", "linear", "relu", "maxpool", "add", "concat", "multiply", "residual", "flatten",
                         "batchnorm", "c", "k", "s", "p", "d", "out", "groups", "repeat", "id", "from", "name",
                         "layers", "args", "shortcut", "same", "$c", "4*$c", "blk", "table", "scale", "mode"])
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70) | st.floats(allow_nan=False, allow_infinity=False, width=16) | WORDS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WORDS, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(VALUES, max_size=6), st.dictionaries(st.just("blk"), st.dictionaries(st.sampled_from(["args", "layers"]), VALUES, max_size=2), max_size=1))
def test_random_descriptions_give_a_result_or_a_clean_error(layers, blocks):
    only_clean_outcomes(yaml.safe_dump({"input": [3, 16, 16], "blocks": blocks, "layers": layers}))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_gives_a_result_or_a_clean_error(text):
    only_clean_outcomes(text)


def test_deep_nesting_is_a_clean_error():
    only_clean_outcomes("input: [3, 8, 8]\nlayers: " + "[" * 5000 + "]" * 5000 + "\n")
    only_clean_outcomes("input: [3, 8, 8]\nlayers:\n  - concat: " + "[[" * 400 + "]]" * 400 + "\n")


def test_the_format_guide_examples_load():
    """Every complete example in specs/README.md (those with an `input:`) is a valid network."""
    import re
    from pathlib import Path

    guide = (Path(__file__).parent.parent / "specs" / "README.md").read_text()
    examples = [block for block in re.findall(r"```yaml\n(.*?)```", guide, re.S) if "input:" in block]
    assert examples
    for block in examples:
        assert analyze(loads(block, "guide.yaml")).params > 0


def test_the_unet_example_of_the_guide():
    text = HEAD + ("  - {conv: {c: 64, k: 3, p: 1}, id: enc1}\n  - maxpool: {k: 2}\n  - conv: {c: 128, k: 3, p: 1}\n"
                   "  - upsample: {scale: 2}\n  - concat: [[], enc1]\n  - {conv: {c: 8, k: 1}, from: enc1}\n")
    leaves = analyze(loads(text, "net.yaml")).leaves
    assert [r.output_shape for r in leaves][-2:] == [(128 + 64, 32, 32), (8, 32, 32)]

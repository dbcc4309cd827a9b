"""Network arguments: a description's `args:`, `--set`, arithmetic with decimals and rounding
functions, `repeat: 0`, optional items (`if:`) and `act: none` — and bundled networks built with
other arguments against torchvision (tests/golden/variants_reference.json, written by
tests/oracle/make_variants_reference.py)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc import SpecError, analyze, load, loads
from convcalc.cli import app
from convcalc.core.expr import div_round, evaluate
from convcalc.formats.zoo import find

from test_zoo import categorised, is_subsequence

VARIANTS = json.loads((Path(__file__).parent / "golden" / "variants_reference.json").read_text())["variants"]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v['network']}-{v['arguments']}-{'x'.join(map(str, v['input_shape']))}")
def test_bundled_networks_with_other_arguments_match_torchvision(variant):
    report = analyze(load(find(variant["network"]), tuple(variant["input_shape"]), variant["arguments"]))
    assert (report.params, report.buffers, report.macs) == (variant["params"], variant["buffers"], variant["macs"])
    assert list(report.output_shape) == variant["output_shape"]
    ours, theirs = categorised(report), variant["layers"]
    assert [x for x in ours if x[0] != "pool"] == [x for x in theirs if x[0] != "pool"]
    assert is_subsequence(theirs, ours)


def test_d2l_vgg11_on_one_channel_with_ten_classes():
    """d2l's VGG-11 takes 1×224×224 (Fashion-MNIST resized) and ends in 10 classes."""
    ours = analyze(load(find("vgg11"), (1, 224, 224), {"classes": 10}))
    torchvision = next(v for v in VARIANTS if v["network"] == "vgg11" and v["arguments"] == {"classes": 10})
    first_conv_on_3, first_conv_on_1 = 64 * (3 * 9) + 64, 64 * (1 * 9) + 64
    assert ours.params == torchvision["params"] - first_conv_on_3 + first_conv_on_1
    assert ours.output_shape == (10,)


def make_divisible(v, divisor, min_value=None):
    """torchvision.models._utils._make_divisible, as torchvision writes it (the oracle)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@given(st.integers(1, 2048), st.sampled_from([0.1, 0.25, 0.35, 0.5, 0.75, 1.0, 1.1, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0, 2.2, 3.1]),
       st.sampled_from([1, 2, 4, 8, 16]))
def test_div_round_is_torchvisions_make_divisible(channels, width, divisor):
    # torchvision multiplies in floats: where 730 × 1.4 comes out as 1021.9999999999999 it rounds the
    # other way; convcalc's arithmetic is exact (1022), so the two agree wherever the float product is
    exact = channels * Fraction(repr(width))
    assume(Fraction(channels * width) == exact)
    assert div_round(exact, divisor) == make_divisible(channels * width, divisor)
    assert evaluate(f"div_round($c * $w, {divisor})", {"c": channels, "w": width}) == make_divisible(channels * width, divisor)


@pytest.mark.parametrize("text, env, expected", [
    ("$c * 0.5", {"c": 64}, 32),
    ("0.1 + 0.2 - 0.3 + $c", {"c": 3}, 3),  # decimals are exact: no 5.55e-17 left over
    ("$c / 4 * 4", {"c": 6}, 6),  # a fraction along the way is fine when the result is whole
    ("ceil(3 * $d)", {"d": 1.1}, 4),  # EfficientNet's depth: ceil(layers × depth multiplier)
    ("floor($c / 2)", {"c": 7}, 3),
    ("div_round(1280 * max(1, $w), 8)", {"w": 1.4}, 1792),
    ("min($a, $b) + max($a, $b)", {"a": 2, "b": 5}, 7),
    ("$c // 3", {"c": -7}, -3),
])
def test_arithmetic(text, env, expected):
    assert evaluate(text, env) == expected


@pytest.mark.parametrize("text, env, message", [
    ("$c / 2", {"c": 3}, "3/2 is not a whole number (round it with //, ceil, floor or div_round), got '$c / 2'"),
    ("round($c)", {"c": 3}, "unknown function round (known: div_round, ceil, floor, min, max), got 'round($c)'"),
    ("div_round($c)", {"c": 3}, "div_round takes 2 values in brackets, got 'div_round($c)'"),
    ("div_round($c, 0)", {"c": 3}, "div_round: the multiple must be positive, got 'div_round($c, 0)'"),
    ("ceil(" * 65 + "1" + ")" * 65, {}, "brackets nest deeper than 64 levels"),
    ("$w + 1", {"w": "relu"}, "$w is used in arithmetic but is not a number, got 'relu'"),
    ("$w + 1", {"w": None}, "$w is used in arithmetic but is not a number, got null"),
    ("$w * 2", {"w": float("nan")}, "$w is used in arithmetic but is not a number, got .nan"),
    ("0.0000000000000000000000000000000000000001 * $c", {"c": 1}, "integer too large"),
])
def test_arithmetic_errors(text, env, message):
    with pytest.raises(SpecError, match=None) as caught:
        evaluate(text, env)
    assert message in str(caught.value)


OPTIONAL = """
input: [3, 32, 32]
args: {classes: 10, act: relu, se: false, extra: 0}
blocks:
  unit:
    args: {c: required, act: relu, se: false}
    layers:
      - conv: {c: $c, k: 3, p: 1, act: $act}
      - {global_avgpool: null, if: $se}
layers:
  - unit: {c: 8, act: $act, se: $se}
  - {conv: {c: 8, k: 3, p: 1}, repeat: $extra}
  - global_avgpool
  - flatten
  - linear: {out: $classes}
"""


def kinds(report) -> list[str]:
    return [r.kind for r in report.leaves]


def test_optional_items_zero_repeats_and_no_activation():
    assert kinds(analyze(loads(OPTIONAL))) == ["conv", "relu", "global_avgpool", "flatten", "linear"]
    assert kinds(analyze(loads(OPTIONAL, arguments={"act": "none", "se": True, "extra": 2}))) == [
        "conv", "global_avgpool", "conv", "conv", "global_avgpool", "flatten", "linear"]
    assert analyze(loads(OPTIONAL, arguments={"classes": 100})).output_shape == (100,)


@pytest.mark.parametrize("arguments, message", [
    ({"clases": 3}, "--set: unknown argument (the network takes: classes, act, se, extra), got 'clases'; did you mean 'classes'?"),
    ({"extra": -1}, "layers[1].conv.repeat: must be a non-negative integer, got -1"),
    ({"se": "maybe"}, "blocks.unit.layers[1].global_avgpool.if: must be true or false (or a number, none), got 'maybe'"),
    ({"act": "rleu"}, "must be an activation"),
])
def test_argument_errors(arguments, message):
    with pytest.raises(SpecError) as caught:
        loads(OPTIONAL, "small.yaml", arguments=arguments)
    assert message in str(caught.value)


def test_required_network_argument():
    text = "input: [3, 8, 8]\nargs: {c: required}\nlayers:\n  - conv: {c: $c, k: 3}\n"
    with pytest.raises(SpecError, match=r"--set: the network needs c \(--set c=…\), got none"):
        loads(text)
    assert analyze(loads(text, arguments={"c": 5})).output_shape == (5, 6, 6)


@pytest.mark.parametrize("args, out, message", [
    (["net", "resnet50", "--set", "classes=10", "--format", "json"], 0, None),
    (["net", "mobilenet_v2", "--set", "width=0.5", "--set", "classes=10", "--format", "json"], 0, None),
    (["net", "resnet50", "--set", "classes"], 2, "Error: --set: write name=value, such as classes=10, got 'classes'\n"),
    (["net", "resnet50", "--set", "classes={a: 1}"], 2,
     "Error: --set: a value is a number, true/false, a word or a short list such as [96, 128], got 'classes={a: 1}'\n"),
    (["net", "resnet50", "--set", "classes=[1, 2]"], 1,
     "Error: resnet50.yaml:31: layers[8].linear.out: must be a positive integer, got [1, 2] (layer linear1, input 2048)\n"),
    (["net", "resnet50", "--set", "depth=3"], 1, "Error: --set: unknown argument (the network takes: classes), got 'depth'\n"),
    (["net", "lenet5", "--set", "classes=3"], 1, "Error: --set: unknown argument (the network takes: rbf), got 'classes'\n"),
    (["net", "d2l_lenet", "--set", "rbf=true"], 1, "Error: --set: unknown argument (the network takes: classes), got 'rbf'\n"),
])
def test_set_on_the_command_line(args, out, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == out, result.output
    if message:
        assert result.stderr == message
    else:
        assert json.loads(result.stdout)["output_shape"] == [10]


UNET = """
input: [1, 64, 64]
blocks:
  down:
    args: {c: required, keep: required}
    layers:
      - {conv: {c: $c, k: 3, p: 1, act: relu}, id: $keep}
      - maxpool: {k: 2, s: 2}
  up:
    args: {c: required, skip: required}
    layers:
      - convT: {c: $c, k: 2, s: 2}
      - concat: [[], $skip]
      - conv: {c: $c, k: 3, p: 1, act: relu}
layers:
  - down: {c: 8, keep: e1}
  - down: {c: 16, keep: e2}
  - conv: {c: 32, k: 3, p: 1}
  - up: {c: 16, skip: e2}
  - up: {c: 8, skip: e1}
  - {conv: {c: 2, k: 1}, from: e1}
"""


def test_ids_passed_as_block_arguments():
    rows = {r.name: r for r in analyze(loads(UNET)).rows}
    assert rows["up1.concat1"].output_shape == (16 + 16, 32, 32)  # convT's 16 channels, then e2's 16
    assert rows["up2.concat1"].output_shape == (8 + 8, 64, 64)
    assert rows["conv2"].input_shape == (8, 64, 64)  # from: e1, the first block's convolution
    with pytest.raises(SpecError, match=r"an id must be a name \(a string\), got 3"):
        loads(UNET.replace("skip: e1}", "skip: 3}"))


def test_frozen_items():
    text = "input: [3, 8, 8]\nlayers:\n  - {conv: {c: 4, k: 3}, frozen: FROZEN}\n  - conv: {c: 2, k: 1}\n"
    report = analyze(loads(text.replace("FROZEN", "true")))
    assert (report.frozen_params, report.trainable_params) == (4 * 27 + 4, 2 * 4 + 2)
    assert analyze(loads(text.replace("FROZEN", "false"))).frozen_params == 0
    with pytest.raises(SpecError, match=r"frozen: must be true or false, got 1"):
        loads(text.replace("FROZEN", "1"))

"""The course's own ways of asking: several layers without a file, an MLP with no spatial axes,
nndl's names for the padding presets, "does one unit see the whole image?", and the channel sum
of a concatenation."""

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()


def test_a_network_from_standard_input_with_no_spatial_axes():
    # the notes' MLP: Linear(10, 128) → ReLU → Linear(128, 5)
    text = "input: [10]\nlayers:\n  - linear: {out: 128, act: relu}\n  - linear: {out: 5}\n"
    result = runner.invoke(app, ["net", "-", "--format", "json"], input=text)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [x["params"] for x in data["layers"] if x["type"] == "linear"] == [10 * 128 + 128, 128 * 5 + 5]
    assert data["output_shape"] == [5]


def test_the_input_flag_takes_features_alone():
    text = "input: [10]\nlayers:\n  - linear: {out: 4}\n"
    data = json.loads(runner.invoke(app, ["net", "-", "--input", "20", "--format", "json"], input=text).stdout)
    assert data["total"]["params"] == 20 * 4 + 4


def test_the_input_flag_keeps_the_descriptions_axes():
    text = "input: [3, 8, 8]\nlayers:\n  - linear: {out: 4}\n"
    result = runner.invoke(app, ["net", "-", "--input", "20"], input=text)
    assert result.exit_code == 1
    assert result.stderr == "Error: --input: <stdin> takes C×H×W (3 values, such as 3x8x8), got '20'\n"


def test_standard_input_errors_are_one_line():
    result = runner.invoke(app, ["net", "-"], input="input: [3]\n")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "Error: <stdin>:1: missing `layers:`, got keys input\n"


@pytest.mark.parametrize("preset, size", [("narrow", 12 - 5 + 1), ("equal", 12), ("wide", 12 + 5 - 1)])
def test_nndl_padding_names(preset, size):
    data = json.loads(runner.invoke(app, ["layer", "--in", "12", "--k", "5", "--p", preset, "--format", "json"]).stdout)
    assert data["output_shape"] == [1, size, size]


def test_the_explanation_names_the_convention():
    out = runner.invoke(app, ["layer", "--in", "12", "--k", "5", "--p", "wide", "--explain"]).stdout
    assert "padding wide (= full): the wide convolution (宽卷积): P = K̂ − 1 on each side" in out


def test_spans_input_is_the_courses_answer_and_covers_input_the_strict_one():
    # 3×3 convolutions with padding 1 on 224: one unit's field reaches 224 after 112 layers
    # (1 + 2·112 = 225 ≥ 224), while every unit, corners included, sees the whole image only
    # once 1 + 2L ≥ 2·224 − 1, after 223 layers
    text = "input: [1, 224, 224]\nlayers:\n  - {conv: {c: 1, k: 3, p: 1}, repeat: 223}\n"
    layers = json.loads(runner.invoke(app, ["net", "-", "--format", "json"], input=text).stdout)["layers"]
    spans = [x["receptive_field"]["spans_input"] for x in layers]
    covers = [x["receptive_field"]["covers_input"] for x in layers]
    assert spans.index(True) + 1 == 112 and all(spans[111:])
    assert covers.index(True) + 1 == 223


def test_concatenation_explains_its_channel_sum():
    out = runner.invoke(app, ["net", "googlenet", "--explain"]).stdout
    assert "channels 64 + 128 + 32 + 32 = 256; every path is 28×28 (the sizes must agree); no parameters, 0 MACs" in out


def test_local_receptive_fields_as_the_notes_give_them():
    # the notes: "S2 2×2 感受野", "C5 感受野 5×5" — the window on the previous layer
    layers = {x["name"]: x for x in json.loads(runner.invoke(app, ["net", "lenet5", "--format", "json"]).stdout)["layers"]}
    assert layers["S2"]["local_window"] == [2, 2] and layers["C5"]["local_window"] == [5, 5]
    assert layers["F6"]["local_window"] == "full" and layers["C1.tanh"]["local_window"] == [1, 1]
    out = runner.invoke(app, ["net", "lenet5", "--explain"]).stdout
    assert "local receptive field (on this layer's input): 5×5; on the network's input: 32×32" in out  # C5


NORMS = "input: [64, 8, 8]\nlayers:\n  - layernorm: {shape: [64, 8, 8]}\n  - layernorm: {shape: [8, 8]}\n  - layernorm\n" \
        "  - instancenorm\n  - instancenorm: {affine: true}\n  - batchnorm\n"
# nn.LayerNorm([64, 8, 8]) learns γ and β for every element; InstanceNorm2d learns nothing by default
NORM_PARAMS = [2 * 64 * 8 * 8, 2 * 8 * 8, 2 * 64, 0, 2 * 64, 2 * 64]


def test_normalisation_as_the_course_asks_it():
    layers = json.loads(runner.invoke(app, ["net", "-", "--format", "json"], input=NORMS).stdout)["layers"]
    assert [x["params"] for x in layers] == NORM_PARAMS
    assert [x["buffers"] for x in layers] == [0, 0, 0, 0, 0, 2 * 64 + 1]


def test_normalisation_against_pytorch():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    modules = [nn.LayerNorm([64, 8, 8]), nn.LayerNorm([8, 8]), None, nn.InstanceNorm2d(64), nn.InstanceNorm2d(64, affine=True),
               nn.BatchNorm2d(64)]
    for module, params in zip(modules, NORM_PARAMS):
        if module is not None:  # the channel-wise layernorm is ConvNeXt's LayerNorm2d: 2·C, checked with the zoo
            assert sum(p.numel() for p in module.parameters()) == params


def test_batchnorm_in_layer():
    data = json.loads(runner.invoke(app, ["layer", "--op", "batchnorm", "--in", "8", "--cin", "16", "--format", "json"]).stdout)
    assert (data["params"], data["buffers"], data["output_shape"]) == (2 * 16, 2 * 16 + 1, [16, 8, 8])


def test_layernorm_shape_must_be_the_last_axes():
    result = runner.invoke(app, ["net", "-"], input="input: [64, 8, 8]\nlayers:\n  - layernorm: {shape: [8, 7]}\n")
    assert result.stderr == ("Error: <stdin>:3: layers[0].layernorm.shape: must be the input's last axes (of 64×8×8), as "
                             "nn.LayerNorm's normalized_shape, got [8, 7] (layer layernorm1, input 64×8×8)\n")


# d2l's comp_conv2d examples, in d2l's own convention: p is the total padding of an axis
D2L = [
    (["--in", "8", "--k", "3", "--p-total", "2"], [8, 8]),
    (["--in", "8", "--k", "5x3", "--p-total", "4x2"], [8, 8]),
    (["--in", "8", "--k", "3x5", "--p-total", "0x2", "--s", "3x4"], [2, 2]),
]


@pytest.mark.parametrize("args, size", D2L)
def test_d2l_total_padding(args, size):
    data = json.loads(runner.invoke(app, ["layer", *args, "--format", "json"]).stdout)
    assert data["output_shape"][1:] == size


def test_d2l_explanation_uses_d2ls_formula():
    out = runner.invoke(app, ["layer", "--in", "8", "--k", "3", "--p-total", "2", "--explain"]).stdout
    assert "H: ⌊(n − k + p + s)/s⌋ = ⌊(8 − 3 + 2 + 1)/1⌋ = 8; p = 2: 1 before and 1 after" in out


def test_an_odd_total_puts_the_extra_row_at_the_end():
    # 8 + 3 − 3 + 1 = 9 rows; the field of the first unit starts as with one row of padding before
    data = json.loads(runner.invoke(app, ["layer", "--in", "8", "--k", "3", "--p-total", "3", "--format", "json"]).stdout)
    assert data["output_shape"] == [1, 9, 9] and data["receptive_field"]["start"] == [0.5 + (3 - 1) / 2 - 1] * 2


@pytest.mark.parametrize("args, shape, start", [
    (["--p", "1:2"], [1, 8 + 1 + 2 - 3 + 1, 8 + 1 + 2 - 3 + 1], [0.5 + 1 - 1, 0.5 + 1 - 1]),
    (["--p", "1:2x0:1"], [1, 8 + 1 + 2 - 3 + 1, 8 + 0 + 1 - 3 + 1], [0.5 + 1 - 1, 0.5 + 1 - 0]),
])
def test_explicit_asymmetric_padding(args, shape, start):
    data = json.loads(runner.invoke(app, ["layer", "--in", "8", "--k", "3", *args, "--format", "json"]).stdout)
    assert data["output_shape"] == shape and data["receptive_field"]["start"] == start


def test_padding_pairs_and_totals_in_a_description():
    text = ("input: [1, 8, 8]\nlayers:\n  - conv: {c: 1, k: 3, p: [[1, 2], [0, 1]]}\n  - conv: {c: 1, k: 3, p: [[1, 1]]}\n"
            "  - conv: {c: 1, k: [5, 3], p_total: [4, 2]}\n")
    layers = json.loads(runner.invoke(app, ["net", "-", "--format", "json"], input=text).stdout)["layers"]
    assert [x["output_shape"] for x in layers] == [[1, 9, 7], [1, 9, 7], [1, 9, 7]]


def test_the_unreached_rows_follow_the_real_padding():
    # 8 + 0 + 1 − 3 = 6 is not divisible by 4: the windows never reach the last 2 rows, 1 of them padding
    data = json.loads(runner.invoke(app, ["layer", "--in", "8", "--k", "3", "--s", "4", "--p", "0:1", "--format", "json"]).stdout)
    assert any("never reach the last 2 rows and columns of the padded input (1 of input, 1 of padding)" in w for w in data["warnings"])


@pytest.mark.parametrize("args, message", [
    (["--p", "1", "--p-total", "2"], "Error: --p-total: gives the padding already; drop --p (or --p-total), got --p '1' too\n"),
    (["--p", "1:x"], "Error: --p: (before, after) pairs are written 1:2 (every axis) or 1:2x0:1 (per axis), got '1:x'\n"),
])
def test_padding_conflicts(args, message):
    result = runner.invoke(app, ["layer", "--in", "8", "--k", "3", *args])
    assert result.exit_code == 2 and result.stderr == message


def test_asymmetric_padding_against_pytorch():
    torch = pytest.importorskip("torch")
    import random

    from convcalc import Conv, analyze_layer

    rng = random.Random("asymmetric padding")
    for _ in range(200):
        size, k, s = (rng.randint(3, 12), rng.randint(3, 12)), (rng.randint(1, 3), rng.randint(1, 3)), (rng.randint(1, 3), rng.randint(1, 3))
        pads = tuple((rng.randint(0, 3), rng.randint(0, 3)) for _ in range(2))
        x = torch.nn.functional.pad(torch.zeros(1, 1, *size), (*pads[1], *pads[0]))  # F.pad: last axis first
        expected = torch.nn.functional.conv2d(x, torch.zeros(1, 1, *k), stride=s).shape[2:]
        assert analyze_layer(Conv(1, k, s, pads), (1, *size)).output_shape[1:] == tuple(expected)


def test_a_squeeze_and_excitation_gate_drawn_as_the_notes_draw_it():
    # pool → flatten → linear → linear: a gate of C values scales the C channels
    text = ("input: [16, 8, 8]\nlayers:\n  - multiply:\n      - []\n      - [global_avgpool, flatten, {linear: {out: 4, act: relu}},"
            " {linear: {out: 16, act: sigmoid}}]\n")
    data = json.loads(runner.invoke(app, ["net", "-", "--format", "json"], input=text).stdout)
    assert data["output_shape"] == [16, 8, 8]
    assert data["total"]["params"] == (16 * 4 + 4) + (4 * 16 + 16)
    bad = text.replace("out: 16", "out: 15")
    result = runner.invoke(app, ["net", "-"], input=bad)
    assert result.exit_code == 1 and "multiply: shapes do not broadcast, got path 0 16×8×8, path 1 15" in result.stderr

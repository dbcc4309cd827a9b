"""Figures the course notes ask about one layer, each from an exercise in ../shared/seeds/ or d2l, the
expected values written as the notes' arithmetic: the weight tensor's shape, the multiply-adds behind
one output value, a question that gives the output size, the same layer fully connected, im2col's
matrices, the backward pass of a layer inside a network, and shapes with the batch axis."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()


def layer_json(*args: str) -> dict:
    result = runner.invoke(app, ["layer", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("args, weight_shape, per_output", [
    # LeNet-5's C1: 6 kernels of 1×5×5; each output value sums 1·5·5 products
    (["--in", "32", "--k", "5", "--cout", "6"], [6, 1, 5, 5], 1 * 5 * 5),
    # d2l 6.4, several input channels: C_o × C_i × k_h × k_w
    (["--in", "28", "--cin", "3", "--cout", "16", "--k", "3", "--p", "1"], [16, 3, 3, 3], 3 * 3 * 3),
    # a depthwise convolution (groups = C_i): each output reads one channel
    (["--in", "14", "--cin", "32", "--cout", "32", "--groups", "32", "--k", "3", "--p", "1"], [32, 1, 3, 3], 1 * 3 * 3),
    # a transposed convolution stores C_i × C_o/g × k (PyTorch's layout)
    (["--op", "convT", "--in", "4", "--cin", "8", "--cout", "4", "--k", "3", "--s", "2"], [8, 4, 3, 3], None),
    # a fully connected layer: out × in, each output a sum of `in` products
    (["--op", "linear", "--cin", "120", "--cout", "84"], [84, 120], 120),
])
def test_the_weight_shape_and_the_products_behind_each_output(args, weight_shape, per_output):
    data = layer_json(*args)
    assert data["weight_shape"] == weight_shape
    if per_output is not None:
        assert data["macs_per_output"] == per_output


def test_a_question_that_gives_the_output_size():
    # HIT's slides (seeds/000): c_i = c_o = 100, k_h = k_w = 5, m_h = m_w = 64 → 1 GFLOP
    data = layer_json("--out", "64", "--k", "5", "--cin", "100", "--cout", "100")
    assert data["macs"] == 100 * 100 * 5 * 5 * 64 * 64 == 1_024_000_000
    assert data["input_shape"] == [100, 64, 64] and data["output_shape"] == [100, 64, 64]
    assert data["notes"] and "same padding" in data["notes"][0]


@pytest.mark.parametrize("args, input_size", [
    # no padding: the smallest M with ⌊(M − 5)/1⌋ + 1 = 28 is 32 (LeNet-5's C1 backwards)
    (["--out", "28", "--k", "5", "--p", "0"], (28 - 1) * 1 + 5),
    # stride 2, padding 1, kernel 3: M = (out − 1)·2 + 3 − 2
    (["--out", "112", "--k", "3", "--s", "2", "--p", "1"], (112 - 1) * 2 + 3 - 2),
    # max pooling 2×2 (its stride is its kernel): M = (out − 1)·2 + 2
    (["--op", "maxpool", "--out", "14", "--k", "2"], (14 - 1) * 2 + 2),
])
def test_the_input_worked_out_from_the_output(args, input_size):
    data = layer_json(*args)
    assert data["input_shape"][1:] == [input_size, input_size]
    assert data["output_shape"][1:] == [int(args[args.index("--out") + 1])] * 2


def test_lenet_c1_fully_connected():
    # HIT's slides (seeds/002): 全连接 (32·32 + 1)·(28·28)·6 parameters, where sharing weights needs 156
    data = layer_json("--in", "32", "--k", "5", "--cout", "6")
    assert data["fully_connected_params"] == (32 * 32 + 1) * (28 * 28) * 6 == 4_821_600
    assert data["params"] == (5 * 5 + 1) * 6 == 156
    text = runner.invoke(app, ["layer", "--in", "32", "--k", "5", "--cout", "6", "--explain", "connections"]).stdout
    assert "(1·32·32 + 1)·6·28·28 = 4,821,600" in text


@pytest.mark.parametrize("args, im2col", [
    # LeNet-5's C1: columns of 1·5·5 values, one per output position (28·28), times 6 kernel rows
    (["--in", "32", "--k", "5", "--cout", "6"], {"groups": 1, "columns": [25, 28 * 28], "weights": [6, 25]}),
    # two groups: each multiplies its 3 channels' patches by its 4 kernels
    (["--in", "8", "--cin", "6", "--cout", "8", "--groups", "2", "--k", "3"],
     {"groups": 2, "columns": [3 * 3 * 3, 6 * 6], "weights": [4, 3 * 3 * 3]}),
])
def test_im2col_matrices_multiply_to_the_macs(args, im2col):
    data = layer_json(*args)
    assert data["im2col"] == im2col
    rows, patch = im2col["weights"]
    assert data["macs"] == im2col["groups"] * rows * patch * im2col["columns"][1]


def test_the_backward_pass_of_a_layer_inside_a_network():
    # d2l 7.x: a 3×3 convolution of 3 → 64 channels on 16×16 inside a network: the weight gradient and
    # the input gradient, each its forward multiply-adds — twice the first layer's (no input gradient)
    forward = 3 * 64 * 3 * 3 * 16 * 16
    first = layer_json("--in", "16", "--k", "3", "--p", "1", "--cin", "3", "--cout", "64")
    inside = layer_json("--in", "16", "--k", "3", "--p", "1", "--cin", "3", "--cout", "64", "--not-first")
    assert first["macs"] == forward == 442_368
    assert first["backward_macs"] == forward and inside["backward_macs"] == 2 * forward == 884_736


def test_shapes_carry_the_batch_when_one_is_given():
    text = runner.invoke(app, ["layer", "--in", "32", "--k", "5", "--cout", "6", "--batch", "2"]).stdout
    assert "2×1×32×32" in text and "2×6×28×28" in text  # N×C×H×W, 32 − 5 + 1 = 28


@pytest.mark.parametrize("args, message", [
    (["layer", "--in", "32", "--out", "28", "--k", "5"], "--out: gives the output size"),
    (["layer", "--out", "2", "--k", "7", "--p", "5"], "--out: no input gives this output"),
])
def test_the_output_size_question_is_refused_when_it_cannot_be_asked(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.stderr


def test_a_negative_value_in_a_sum_is_in_brackets():
    # an average over [[1, 2], [-1, 4]]: (1 + 2 + (−1) + 4)/4 = 6/4, never "+ -1"
    text = runner.invoke(app, ["compute", "--op", "avgpool", "--x", "[[1,2],[-1,4]]", "--k", "2", "--explain"]).stdout
    assert "(1 + 2 + (-1) + 4)/4 = 1.5" in text and "+ -1" not in text
    assert (1 + 2 + (-1) + 4) / 4 == 1.5


@pytest.mark.parametrize("language, line", [("en", "j = 1 (every stride 1)"), ("zh", "j = 1（步幅都为 1）")])
def test_a_chain_of_stride_1_layers_says_so_once(language, line):
    import subprocess
    import sys

    text = "input: [1, 9, 9]\nlayers:\n  - conv: {c: 1, k: 3}\n  - conv: {c: 1, k: 3}\n"
    # a process of its own: the language is chosen before the commands are built
    result = subprocess.run([sys.executable, "-m", "convcalc", "net", "-", "--explain", "rf", "--lang", language], input=text,
                            capture_output=True, text=True, timeout=60, env={"PYTHONIOENCODING": "utf-8", "COLUMNS": "200"})
    # two 3×3 convolutions: r = 1 + 2·1 + 2·1 = 5
    assert f"= {1 + 2 * 1 + 2 * 1}" in result.stdout and line in result.stdout and "= 1 = 1" not in result.stdout


def test_d2l_resnet18_is_the_books_not_torchvisions():
    # 《动手学深度学习》 7.6 exercise: ResNet-18 on 1×224×224 with 10 classes. The book keeps every
    # convolution's bias (64 + 4·64 + (4·128 + 128) + (4·256 + 256) + (4·512 + 512) = 4,800 of them) and
    # projects its shortcuts with a 1×1 convolution without batchnorm (2·(128 + 256 + 512) = 1,792 fewer)
    ours = json.loads(runner.invoke(app, ["net", "d2l_resnet18", "--input", "1x224x224", "-f", "json"]).stdout)
    torchvision_style = json.loads(runner.invoke(app, ["net", "resnet18", "--input", "1x224x224", "--set", "classes=10",
                                                       "-f", "json"]).stdout)
    biases = 64 + 4 * 64 + (4 * 128 + 128) + (4 * 256 + 256) + (4 * 512 + 512)
    shortcut_norms = 2 * (128 + 256 + 512)
    assert ours["total"]["params"] == torchvision_style["total"]["params"] + biases - shortcut_norms == 11_178_378
    assert ours["output_shape"] == [10]


def test_in_chinese_the_layer_kinds_are_the_notes_names():
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "convcalc", *args, "--lang", "zh"], capture_output=True, text=True,
                              timeout=60, env={"PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}).stdout

    table = run("net", "lenet5")
    assert "卷积层 + tanh" in table and "下采样层 + tanh" in table and "全连接层" in table
    assert "最大池化" in run("layer", "--op", "maxpool", "--in", "4", "--k", "2").splitlines()[0]
    data = json.loads(run("net", "lenet5", "-f", "json"))
    assert [x["type"] for x in data["layers"]][:2] == ["conv", "tanh"]  # JSON keeps the kinds as written


@pytest.mark.parametrize("args, params", [
    # nn.LayerNorm([64, 8, 8]): a γ and a β for every normalised element, 2·64·8·8
    (["--shape", "64x8x8"], 2 * 64 * 8 * 8),
    # nn.LayerNorm([8, 8]) over the last two axes: 2·8·8
    (["--shape", "8x8"], 2 * 8 * 8),
    # without --shape: over the channels at each position (ConvNeXt's), 2·64
    ([], 2 * 64),
])
def test_a_layer_norm_over_given_axes(args, params):
    assert layer_json("--op", "layernorm", "--cin", "64", "--in", "8", *args)["params"] == params


def test_lenet5_with_the_papers_rbf_output():
    # the notes: LeNet-5 has 60,000 trainable parameters — its 10 RBF units' 84·10 centres are fixed
    linear = json.loads(runner.invoke(app, ["net", "lenet5", "-f", "json"]).stdout)["total"]
    rbf = json.loads(runner.invoke(app, ["net", "lenet5", "--set", "rbf=true", "-f", "json"]).stdout)["total"]
    assert linear["trainable_params"] == linear["params"] == 60_850
    assert rbf["trainable_params"] == 60_850 - (84 * 10 + 10) == 60_000 and rbf["frozen_params"] == 84 * 10
    assert rbf["macs"] == linear["macs"]  # each unit: 84 squared differences summed, as the linear layer's 84 products


def test_vgg16_as_the_course_counts_its_activations():
    # torchvision adds an adaptive average pooling to 7×7 (a copy of 512·7·7 float32 values) that the
    # paper's VGG-16, and CS231n's memory count, do not have
    torchvision = json.loads(runner.invoke(app, ["net", "vgg16", "-f", "json"]).stdout)["total"]
    course = json.loads(runner.invoke(app, ["net", "vgg16", "--set", "course=true", "-f", "json"]).stdout)["total"]
    assert torchvision["course_activation_bytes"] - course["course_activation_bytes"] == 512 * 7 * 7 * 4 == 100_352
    assert course["course_activation_bytes"] == 60_950_432 and course["params"] == torchvision["params"]


@pytest.mark.parametrize("args, answer", [
    # d2l 6.3: p_h = k_h − 1 keeps the size at stride 1 — 2 for a 3×3 kernel, 3 for 4×4 (the odd one at the end)
    (["--in", "8", "--out", "8", "--k", "3", "--p-total", "?"], {"p_total": 3 - 1}),
    (["--in", "8", "--out", "8", "--k", "4", "--p-total", "?"], {"p_total": 4 - 1}),
    # and backwards: ⌊(n − 3 + 2 + 1)/1⌋ = 8 needs n = 8
    (["--in", "?", "--out", "8", "--k", "3", "--p-total", "2"], {"in": 8}),
])
def test_d2ls_total_padding_as_the_unknown(args, answer):
    result = runner.invoke(app, ["solve", *args, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["solutions"] == [answer]


def test_a_repeated_layer_gets_a_subtotal():
    """d2l's VGG block of three 3×3 convolutions: the three together, as the exercise asks, under their rows."""
    args = ["net", "vgg_block", "--set", "num_convs=3", "--set", "out_channels=64", "--input", "3x32x32"]
    params = (3 * 9 * 64 + 64) + 2 * (64 * 9 * 64 + 64)
    macs = (3 * 9 * 64 + 2 * 64 * 9 * 64) * 32 * 32
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert data["subtotals"] == [{"first": "conv1", "last": "conv3", "count": 3, "params": params, "macs": macs}]
    table = runner.invoke(app, args).stdout
    line = next(line for line in table.splitlines() if "conv1 … conv3" in line)
    assert f"{params:,}" in line and f"{macs:,}" in line and "subtotal of 3" in line
    markdown = runner.invoke(app, [*args, "-f", "markdown"]).stdout
    assert f"| conv1 … conv3 | subtotal of 3 | 64×32×32 | {params:,} | {macs:,} |" in markdown
    inside_blocks = json.loads(runner.invoke(app, ["net", "vgg16", "-f", "json"]).stdout)  # a stage's line sums its layers
    assert "subtotals" not in inside_blocks


@pytest.mark.parametrize("args, expected", [
    # a 3×3 convolution on 1×32×32, stride 2, padding 1: 16×16 outputs of 9 products, 8 additions and the bias
    (["--in", "32", "--k", "3", "--p", "1", "--s", "2"], {"multiplications": 9 * 256, "additions": (8 + 1) * 256}),
    (["--in", "32", "--k", "3", "--p", "1", "--s", "2", "--no-bias"], {"multiplications": 9 * 256, "additions": 8 * 256}),
    (["--op", "linear", "--cin", "84", "--cout", "10"], {"multiplications": 84 * 10, "additions": (83 + 1) * 10}),
    # max pooling 2×2 on 1×6×6: 3×3 outputs, 3 comparisons each
    (["--op", "maxpool", "--in", "6", "--k", "2"], {"comparisons": 9 * 3, "multiplications": 0, "additions": 0}),
    # average pooling 3×3, stride 1, on 16×6×6: 16×4×4 outputs, 8 additions and a division each
    (["--op", "avgpool", "--in", "6", "--k", "3", "--s", "1", "--cin", "16"], {"additions": 256 * 8, "divisions": 256}),
    (["--op", "global_avgpool", "--in", "6", "--cin", "2"], {"additions": 2 * 35, "divisions": 2}),
])
def test_layer_counts_operations_as_a_course_does(args, expected):
    data = json.loads(runner.invoke(app, ["layer", *args, "-f", "json"]).stdout)
    assert {key: data[key] for key in expected} == expected

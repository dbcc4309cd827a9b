"""`convcalc compute`: the course notes' numeric examples, the definition of cross-correlation
as nested sums (hypothesis), exact arithmetic, and the command line. PyTorch as the oracle is in
test_compute_torch.py."""

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc import ConvcalcError
from convcalc.cli import app
from convcalc.teach import compute as c

runner = CliRunner()
X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]  # d2l's corr2d example
K = [[0, 1], [2, 3]]
X2 = [X, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]  # d2l's two input channels
K2 = [K, [[1, 2], [3, 4]]]


def corr2d(x, k):
    """The definition the notes give: Y[i][j] = Σ_a Σ_b X[i + a][j + b]·K[a][b]."""
    h, w = len(k), len(k[0])
    return [[sum(x[i + a][j + b] * k[a][b] for a in range(h) for b in range(w)) for j in range(len(x[0]) - w + 1)]
            for i in range(len(x) - h + 1)]


def plus(k, n):
    return [[[v + n for v in row] for row in plane] for plane in k]


def run(op, x, w=None, dims=2, **options):
    x_t = c.as_input(c.tensor(x, "x"), dims)
    if op == "conv":
        w_t = c.as_kernel(c.tensor(w, "w"), dims, op, x_t.shape[0], options.get("groups", 1))
        return c.conv(x_t, w_t, options.get("s", 1), options.get("p", 0), options.get("d", 1), options.get("groups", 1), None)
    if op == "convT":
        w_t = c.as_kernel(c.tensor(w, "w"), dims, op, x_t.shape[0], 1)
        return c.conv_transpose(x_t, w_t, options.get("s", 1), options.get("p", 0), options.get("op", 0), 1, 1, None)
    return c.pool(x_t, op, options["k"], options.get("s"), options.get("p", 0), 1, options.get("ceil", False), options.get("count_pad", True))


EDGE = [[1, 1, 0, 0, 0, 0, 1, 1] for _ in range(6)]  # d2l: ones(6, 8) with columns 2–5 zeroed

# (example, op, x, kernel, options, expected output with the channel axis)
NOTES = [
    ("d2l corr2d", "conv", X, K, {}, [[[19, 25], [37, 43]]]),
    ("two input channels = 56", "conv", X2, K2, {}, [[[56, 72], [104, 120]]]),
    ("three output channels K, K+1, K+2", "conv", X2, [K2, plus(K2, 1), plus(K2, 2)], {},
     [[[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(corr2d(X2[0], k[0]), corr2d(X2[1], k[1]))] for k in (K2, plus(K2, 1), plus(K2, 2))]),
    ("max(0, 1, 3, 4) = 4", "maxpool", X, None, {"k": 2, "s": 1}, [[[4, 5], [7, 8]]]),
    ("average pooling", "avgpool", X, None, {"k": 2, "s": 1}, [[[2, 3], [5, 6]]]),
    ("vertical edges by [1, -1]", "conv", EDGE, [[1, -1]], {}, [[[row[j] - row[j + 1] for j in range(7)] for row in EDGE]]),
    ("transposed convolution", "convT", K, K, {}, [[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]),
]


@pytest.mark.parametrize("name, op, x, w, options, expected", NOTES, ids=[n[0] for n in NOTES])
def test_the_notes_examples(name, op, x, w, options, expected):
    assert run(op, x, w, **options).output.nested() == expected


def test_the_notes_two_channel_sum_is_written_as_they_write_it():
    result = runner.invoke(app, ["compute", "--x", json.dumps(X2), "--w", json.dumps(K2), "--explain"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("Y[0, 0, 0]"))
    assert line == "Y[0, 0, 0] = (0×0 + 1×1 + 3×2 + 4×3) + (1×1 + 2×2 + 4×3 + 5×4) = 56"


def test_pooling_is_explained_as_the_notes_do():
    out = runner.invoke(app, ["compute", "--op", "maxpool", "--x", json.dumps(X), "--k", "2", "--s", "1", "--explain"]).stdout
    assert "Y[0, 0, 0] = max(0, 1, 3, 4) = 4" in out
    out = runner.invoke(app, ["compute", "--op", "avgpool", "--x", json.dumps(X), "--k", "2", "--s", "1", "--explain"]).stdout
    assert "Y[0, 0, 0] = (0 + 1 + 3 + 4)/4 = 2" in out


# the HIT slides: a 4×4 (stride 1) and a 4×5 (stride 2) input under a 3×3 kernel, as sums of names
SLIDES = [
    (["--in", "4x4"], ["y11 = a11k11 + a12k12 + a13k13 + a21k21 + a22k22 + a23k23 + a31k31 + a32k32 + a33k33",
                       "y12 = a12k11 + a13k12 + a14k13 + a22k21 + a23k22 + a24k23 + a32k31 + a33k32 + a34k33"]),
    (["--in", "4x5", "--s", "2"], ["y11 = a11k11 + a12k12 + a13k13 + a21k21 + a22k22 + a23k23 + a31k31 + a32k32 + a33k33",
                                   "y12 = a13k11 + a14k12 + a15k13 + a23k21 + a24k22 + a25k23 + a33k31 + a34k32 + a35k33"]),
]


@pytest.mark.parametrize("args, lines", SLIDES)
def test_symbolic_sums_of_the_slides(args, lines):
    result = runner.invoke(app, ["compute", "--symbolic", "--w", "[[1,1,1],[1,1,1],[1,1,1]]", *args])
    assert result.exit_code == 0, result.output
    for line in lines:
        assert line in result.stdout.splitlines()


def conv_by_definition(x, w, stride, padding, dilation, groups, bias):
    """Nested sums straight from the definition, for C×H×W inputs and C_out×C_in/g×kh×kw kernels."""
    c_in, h, wd = len(x), len(x[0]), len(x[0][0])
    c_out, c_per, kh, kw = len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1

    def at(ch, i, j):
        return x[ch][i][j] if 0 <= i < h and 0 <= j < wd else 0

    return [[[bias[o] + sum(at((o // (c_out // groups)) * c_per + ch, i * stride - padding + a * dilation, j * stride - padding + b * dilation)
                            * w[o][ch][a][b] for ch in range(c_per) for a in range(kh) for b in range(kw))
              for j in range(ow)] for i in range(oh)] for o in range(c_out)]


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding, dilation = draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dilation * (kh - 1) + 1 - 2 * padding), 6))
    wd = draw(st.integers(max(1, dilation * (kw - 1) + 1 - 2 * padding), 6))
    values = st.integers(-5, 5) | st.fractions(min_value=-3, max_value=3, max_denominator=7)
    x = [[[draw(values) for _ in range(wd)] for _ in range(h)] for _ in range(c_in)]
    w = [[[[draw(values) for _ in range(kw)] for _ in range(kh)] for _ in range(c_in // groups)] for _ in range(c_out)]
    bias = [draw(values) for _ in range(c_out)]
    return x, w, stride, padding, dilation, groups, bias


@settings(max_examples=300, deadline=None)
@given(conv_cases())
def test_conv_equals_the_definition(case):
    x, w, stride, padding, dilation, groups, bias = case
    result = c.conv(c.tensor(x, "x"), c.tensor(w, "w"), stride, padding, dilation, groups, c.tensor(bias, "bias"))
    assert result.output.nested() == conv_by_definition(*case)
    assert all(e.value == sum((t.x * t.w for t in e.terms), e.bias) for e in result.elements)  # the terms shown add up


def test_decimals_are_exact():
    result = runner.invoke(app, ["compute", "--x", "[[0.1, 0.2]]", "--w", "[[1, 1]]", "--format", "json"])
    assert json.loads(result.stdout)["output_exact"] == [[["0.3"]]]  # 0.1 + 0.2, not 0.30000000000000004
    result = runner.invoke(app, ["compute", "--op", "avgpool", "--x", "[[1, 2, 4]]", "--k", "1x3", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["output_exact"] == [[["7/3"]]] and data["output"] == [[[7 / 3]]]


@pytest.mark.parametrize("value, text", [(3, "3"), (Fraction(-5, 2), "-2.5"), (Fraction(1, 8), "0.125"), (Fraction(7, 3), "7/3"),
                                         (Fraction(1, 10), "0.1"), (Fraction(-1, 3), "-1/3"), (Fraction(6, 3), "2")])
def test_exact_text(value, text):
    assert c.exact_text(value) == text


def test_average_pooling_divisor_follows_the_padding_rule():
    # a 2×2 window at the corner of a padded 1×1 input holds one value and three padded zeros
    assert run("avgpool", [[4]], k=2, s=1, p=1).output.nested() == [[[1, 1], [1, 1]]]  # 4/4: padding counted
    assert run("avgpool", [[4]], k=2, s=1, p=1, count_pad=False).output.nested() == [[[4, 4], [4, 4]]]  # 4/1


def test_json_contract():
    result = runner.invoke(app, ["compute", "--x", json.dumps(X), "--w", json.dumps(K), "--format", "json"])
    data = json.loads(result.stdout)
    assert data["schema_version"] == 2 and data["type"] == "conv" and data["input_shape"] == [1, 3, 3] and data["output_shape"] == [1, 2, 2]
    assert data["output"] == [[[19, 25], [37, 43]]] and data["output_exact"] == [[["19", "25"], ["37", "43"]]]


def test_csv_has_one_row_per_element():
    result = runner.invoke(app, ["compute", "--x", json.dumps(X), "--w", json.dumps(K), "--format", "csv"])
    assert result.stdout.splitlines() == ["c,h,w,value", "0,0,0,19", "0,0,1,25", "0,1,0,37", "0,1,1,43"]


def test_one_dimension():
    assert run("conv", [1, 2, 3, 4], [1, -1], dims=1).output.nested() == [[1 - 2, 2 - 3, 3 - 4]]


def test_draw_marks_padding_window_and_unreached_rows():
    result = runner.invoke(app, ["compute", "--x", "[[1,2,3,4],[5,6,7,8],[9,10,11,12],[13,14,15,16]]",
                                 "--w", "[[1,1],[1,1]]", "--s", "2", "--p", "1", "--draw"], env={"NO_COLOR": "1"})
    grid = result.stdout.splitlines()[-6:]
    # padded 6×6, a 2×2 window at stride 2, out = (4 + 2 − 2)/2 + 1 = 3: the first at (0, 0), the second one
    # stride on (column 2, row 2), the last at (4, 4); (4 + 2 − 2) mod 2 = 0, nothing unreached. Hollow over padding.
    assert grid == ["  ▫ ▫ ○ ○ · ·", "  ▫ ■ ● ● □ ·", "  ○ ● □ □ □ ·", "  ○ ● □ □ □ ·", "  · □ □ □ ◆ ◇", "  · · · · ◇ ◇"]
    result = runner.invoke(app, ["compute", "--x", "[[1,2,3],[4,5,6],[7,8,9]]", "--w", "[[1,1],[1,1]]", "--s", "2", "--draw"])
    # one window (out = 1): the first is the last; (3 − 2) mod 2 = 1 row and column lost
    assert result.stdout.splitlines()[-3:] == ["  ◆ ◆ ×", "  ◆ ◆ ×", "  × × ×"]


ERRORS = [
    (["--x", "[[1, 2], [3]]", "--w", "[[1]]"], "Error: --x: rows must all have the same length (2 at depth 2), got [3]"),
    (["--x", "[[1, 2]]", "--w", "[[1, 'a']]"], "Error: --w: every value must be a number (an integer or a decimal), got 'a'"),
    (["--x", "[[[1, 2]], [[3, 4]]]", "--w", "[[1]]"], "Error: --w: a 1×1 kernel reads one channel, but x has 2; give C×kh×kw (one output) or C_out×C_in×kh×kw, got shape 1×1"),
    (["--x", "[[1, 2]]", "--w", "[[1, 1, 1]]"], "Error: axis 1: kernel larger than the padded input: effective kernel 3 > input 2 + padding 0, got size 2"),
    (["--x", "[[1, 2]]"], "Error: --w: --op conv needs the kernel's values, got none"),
    (["--op", "maxpool", "--x", "[[1, 2]]", "--k", "1", "--w", "[[1]]"], "Error: --w: --op maxpool has no such option; drop --w, got '[[1]]'"),
    (["--x", json.dumps([[1] * 200] * 200), "--w", json.dumps([[1] * 30] * 30)],
     "Error: the computation: at most 250,000 multiply-adds (compute is for worked examples; use layer for shapes and costs), "
     f"got {(200 - 30 + 1) ** 2 * 30 * 30:,}"),
    (["--x", "@/nonexistent.yaml", "--w", "[[1]]"], "Error: --x: cannot read the file: No such file or directory, got '/nonexistent.yaml'"),
    (["--x", "[[.inf]]", "--w", "[[1]]"], "Error: --x: every value must be a number (an integer or a decimal), got .inf"),
]


@pytest.mark.parametrize("args, message", ERRORS)
def test_errors(args, message):
    result = runner.invoke(app, ["compute", *args])
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr == message + "\n"


def test_library_refuses_ragged_values():
    with pytest.raises(ConvcalcError, match=r"--x: an empty list has no values, got \[\]"):
        c.tensor([], "x")


def test_layer_draws_the_same_picture_for_shapes_alone():
    result = runner.invoke(app, ["layer", "--in", "8", "--k", "3", "--s", "2", "--draw"])
    assert result.exit_code == 0, result.output
    # out = ⌊(8 − 3)/2⌋ + 1 = 3: windows at 0, 2 (the second) and 4 (the last) along each axis; 5 mod 2 = 1 lost
    assert result.stdout.splitlines()[-8:] == (["  ■ ■ ■ ● ● □ □ ×"] * 3 + ["  ● ● ● □ □ □ □ ×", "  ● ● ● □ ◆ ◆ ◆ ×"]
                                              + ["  □ □ □ □ ◆ ◆ ◆ ×"] * 2 + ["  × × × × × × × ×"])


def test_a_large_input_is_drawn_with_its_middle_left_out():
    result = runner.invoke(app, ["layer", "--in", "224", "--k", "7", "--s", "2", "--p", "3", "--draw"])
    assert result.exit_code == 0 and "(the middle of the input is left out" in result.stdout
    lines = result.stdout.splitlines()
    grid = lines[next(i for i, line in enumerate(lines) if line.startswith("(the middle")) + 1:]
    # (224 + 6 − 7) mod 2 = 1: the last row and column of the padded 230×230 input are never reached
    assert grid[-1] == "  " + " ".join(["×"] * 10 + ["⋯"] + ["×"] * 12) and all(line.endswith("×") for line in grid if "⋮" not in line)
    assert max(map(len, grid)) < 60 and sum("◆" in line for line in grid) == 5  # the last window's input rows: 7 − 2 of padding


def test_draw_never_fails_a_command():
    for args in (["layer", "--op", "linear", "--in", "10", "--cout", "5", "--draw"], ["layer", "--in", "8x8x8", "--dims", "3", "--k", "3", "--draw"],
                 ["compute", "--op", "convT", "--x", "[[1, 2], [3, 4]]", "--w", "[[1, 1], [1, 1]]", "--draw"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def test_a_transposed_convolution_draws_where_its_copies_land():
    """3×3 kernel, stride 2, padding 1, output padding 1 on 3×3: the copies land on (3 − 1)·2 + 3 = 7 positions
    per axis; PyTorch keeps positions 1 … 6 (out = 7 − 2 + 1 = 6): row and column 0 are cut (hollow or ·).
    Input element i puts its taps at 2i … 2i + 2: the first at 0–2, the second at 2–4, the last at 4–6."""
    result = runner.invoke(app, ["layer", "--op", "convT", "--in", "3", "--k", "3", "--s", "2", "--p", "1", "--output-padding", "1",
                                 "--draw"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-7:] == ["  ▫ ▫ ▫ ○ ○ · ·", "  ▫ ■ ■ ● ● □ □", "  ▫ ■ ■ ● ● □ □", "  ○ ● ● □ □ □ □",
                                               "  ○ ● ● □ ◆ ◆ ◆", "  · □ □ □ ◆ ◆ ◆", "  · □ □ □ ◆ ◆ ◆"]

"""Tensors as the course notes write them (convcalc/formats/tensortext.py): `compute --x/--w/--let` take d2l's
statements (../shared/seeds: 李沐's corr2d examples) and nndl's true convolution (`--flip`), read by a safe
evaluator. Expected values are written out here, or computed by the brute-force cross-correlation below."""

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.core.errors import SpecError
from convcalc.formats.tensortext import evaluate, evaluate_names

runner = CliRunner()


def corr2d(x, k):
    """d2l's corr2d, written out: each output is the sum of the window times the kernel."""
    h, w = len(k), len(k[0])
    return [[sum(x[i + u][j + v] * k[u][v] for u in range(h) for v in range(w)) for j in range(len(x[0]) - w + 1)]
            for i in range(len(x) - h + 1)]


def exact(args) -> list:
    result = runner.invoke(app, ["compute", *args, "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)

    def read(v):
        return [read(i) for i in v] if isinstance(v, list) else Fraction(v)
    return read(data["output_exact"])


X_EDGE = [[1, 1, 0, 0, 0, 0, 1, 1]] * 6  # torch.ones((6, 8)) with X[:, 2:6] = 0

CASES = [  # text, names, the value as nested lists
    ("torch.tensor([[0.0, 1.0], [2.0, 3.0]])", {}, [[0, 1], [2, 3]]),
    ("torch.arange(9.0).reshape(3, 3)", {}, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
    ("torch.arange(1, 7).reshape(2, -1)", {}, [[1, 2, 3], [4, 5, 6]]),
    ("torch.eye(3)", {}, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
    ("X = torch.ones((6, 8)); X[:, 2:6] = 0", {}, X_EDGE),
    ("X = torch.ones((6, 8))\nX[:, 2:6] = 0\nX.t()", {}, [list(col) for col in zip(*X_EDGE)]),
    ("torch.tensor([[1, 2], [3, 4]]).T", {}, [[1, 3], [2, 4]]),
    ("[[1/3, 1/3, 1/3]]", {}, [[Fraction(1, 3)] * 3]),
    ("np.zeros((1, 2)) + 0.1", {}, [[Fraction(1, 10)] * 2]),
    ("torch.full((2, 2), 5) / 2", {}, [[Fraction(5, 2)] * 2] * 2),
    ("X = torch.zeros(3); X[-1] = 2", {}, [0, 0, 2]),
    ("torch.stack((K, K + 1, K + 2), 0)", {"K": "torch.tensor([[0, 1], [2, 3]])"},
     [[[0, 1], [2, 3]], [[1, 2], [3, 4]], [[2, 3], [4, 5]]]),
    ("torch.cat((A, A * 2), dim=1)", {"A": "torch.ones(2, 1)"}, [[1, 2], [1, 2]]),
    ("np.concatenate([A, A], axis=0)", {"A": "np.array([[1, 2]])"}, [[1, 2], [1, 2]]),
    ("torch.ones(2, 3) * torch.tensor([1, 2, 3])", {}, [[1, 2, 3], [1, 2, 3]]),  # broadcast along the rows
    ("torch.arange(4).reshape((1, 1, 2, 2))", {}, [[[[0, 1], [2, 3]]]]),
]


@pytest.mark.parametrize("text, lets, expected", CASES, ids=[c[0][:40] for c in CASES])
def test_statements_as_the_notes_write_them(text, lets, expected):
    names = evaluate_names([f"{name}={value}" for name, value in lets.items()])
    assert evaluate(text, "--x", names) == expected


def test_d2l_edge_detection():
    """d2l 6.2: the edge between ones and zeros is 1 and −1 where K = [1, −1] crosses it; the transposed image has
    no vertical edge, so K finds none (corr2d(X.t(), K) is zero)."""
    statement = "X = torch.ones((6, 8)); X[:, 2:6] = 0"
    assert exact(["--x", statement, "--w", "torch.tensor([[1.0, -1.0]])"]) == [corr2d(X_EDGE, [[1, -1]])]
    assert corr2d(X_EDGE, [[1, -1]])[0] == [0, 1, 0, 0, 0, -1, 0]
    transposed = exact(["--let", "X=torch.ones((6, 8))", "--x", "X[:, 2:6] = 0; X.t()", "--w", "[[1, -1]]"])
    assert transposed == [[[0] * 5] * 8]  # 8×6 image, 1×2 kernel: 8×5, all zero


def test_d2l_multi_input_and_output_channels():
    """d2l 6.4: corr2d_multi_in_out(X, torch.stack((K, K + 1, K + 2), 0)): each output channel sums its input channels'
    cross-correlations."""
    x = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]
    k = [[[0, 1], [2, 3]], [[1, 2], [3, 4]]]
    got = exact(["--let", f"X=torch.tensor({x})", "--let", f"K=torch.tensor({k})", "--x", "X",
                 "--w", "torch.stack((K, K + 1, K + 2), 0)"])
    expected = []
    for shift in (0, 1, 2):
        channels = [corr2d(xc, [[v + shift for v in row] for row in kc]) for xc, kc in zip(x, k)]
        expected.append([[a + b for a, b in zip(r0, r1)] for r0, r1 in zip(*channels)])
    assert got == expected
    assert expected[0] == [[56, 72], [104, 120]]  # as the book prints corr2d_multi_in(X, K)


def test_a_third_stays_a_third():
    """A kernel of 1/3: the average of 1, 1 and 2 is 4/3 exactly (0.333333 would give 1.333332)."""
    assert exact(["--x", "[[1, 1, 2]]", "--w", "[[1/3, 1/3, 1/3]]"]) == [[[Fraction(4, 3)]]]


def test_convolution_then_pooling():
    statement = "X = torch.ones((6, 8)); X[:, 2:6] = 0"
    y = corr2d(X_EDGE, [[1, -1]])  # 6×7
    pooled = [[max(y[2 * i + a][2 * j + b] for a in (0, 1) for b in (0, 1)) for j in range(3)] for i in range(3)]
    assert exact(["--x", statement, "--w", "[[1, -1]]", "--then", "maxpool --k 2"]) == [pooled]
    result = runner.invoke(app, ["compute", "--x", statement, "--w", "[[1, -1]]", "--then", "maxpool --k 2", "-f", "json"])
    stages = json.loads(result.stdout)["stages"]
    assert [s["type"] for s in stages] == ["conv", "maxpool"] and stages[1]["then"] == "maxpool --k 2"


def test_flip_is_nndls_convolution():
    """nndl 5.1: y_ij = Σ_u Σ_v w_uv · x_(i−u+1, j−v+1) — the kernel turned by 180° and slid — against 互相关
    y_ij = Σ w_uv · x_(i+u−1, j+v−1), PyTorch's conv. Both written out here on a 4×4 input and a 3×3 kernel."""
    x = [[1, 1, 1, 1], [-1, 0, -3, 0], [2, 1, 1, -1], [0, -1, 1, 2]]
    w = [[1, 0, 0], [0, 0, 0], [0, 0, -1]]
    m = 3
    true = [[sum(w[u][v] * x[i + m - 1 - u][j + m - 1 - v] for u in range(m) for v in range(m)) for j in range(2)]
            for i in range(2)]  # the definition, its indices shifted to the valid outputs
    assert exact(["--x", str(x), "--w", str(w), "--flip"]) == [true]
    assert exact(["--x", str(x), "--w", str(w)]) == [corr2d(x, w)]
    assert true != corr2d(x, w)
    text = runner.invoke(app, ["compute", "--x", str(x), "--w", str(w), "--flip", "--explain"]).stdout
    assert "卷积" in text and "  -1   0   0" in text  # the flipped kernel's first row


HOSTILE = [
    ("torch.ones(100000, 100000)", "at most 65,536 values"),
    ("torch.arange(10**9)", "not part of what a tensor is written with"),
    ("torch.arange(0, 1000000000)", "at most 65,536 values"),
    ("__import__('os').system('true')", "call torch"),
    ("torch.tensor([1]).__class__", "not part of what a tensor is written with"),
    ("open('/etc/passwd')", "call torch"),
    ("[" * 300 + "]" * 300, "not a tensor as PyTorch or NumPy writes it"),
    ("1e400", "beyond the exact range"),
    ("99999999999999999999", "beyond the exact range"),
    ("X = torch.ones(2)\n" + "X = X * (1/3)\n" * 200, "beyond the exact range"),
    ("torch.ones(2) / 0", "division by zero"),
    ("torch.linalg.inv(X)", "not part of what a tensor is written with"),
    ("torch.randn(3, 3)", "not among the functions"),
    ("import os", "only assignments and expressions"),
    ("lambda: 0", "not part of what a tensor is written with"),
    ("Y", "unknown name Y"),
    ("torch.ones(2, 3) + torch.ones(3, 2)", "do not broadcast"),
    ("X = torch.ones(2); X[5] = 1", "outside an axis of 2"),
    ("torch.ones(6).reshape(4, -1)", "no size fits -1"),
    ("'text'", "a number or a tensor"),
    ("X = torch.ones(256, 256)\n" + "X = X + 1\n" * 20, "more than 262,144 values in all"),  # 21 × 65,536 values
]


@pytest.mark.parametrize("text, words", HOSTILE, ids=[h[0][:30] for h in HOSTILE])
def test_hostile_statements_are_one_error_line(text, words):
    with pytest.raises(SpecError) as raised:
        evaluate(text, "--x")
    assert words in str(raised.value)
    result = runner.invoke(app, ["compute", "--x", text, "--w", "[[1]]"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1 and lines[0].startswith("Error: --x"), result.stderr


@pytest.mark.parametrize("args, words", [
    (["--let", "K", "--x", "[[1]]", "--w", "K"], "write NAME='value'"),
    (["--let", "torch=torch.ones(1)", "--x", "[[1]]", "--w", "[[1]]"], "write NAME='value'"),
    (["--x", "[[1]]", "--w", "[[1]]", "--then", "pool --k 2"], "begins with the operation"),
    (["--x", "[[1]]", "--w", "[[1]]", "--then", "maxpool --k 2 --format json"], "the operation's own flags"),
    (["--x", "[[1]]", "--w", "[[1]]", "--then", "maxpool"], "--k: --op maxpool needs the window size"),
    (["--op", "maxpool", "--x", "[[1]]", "--k", "1", "--flip"], "--flip"),
    (["--op", "maxpool", "--x", "[[1]]", "--k", "1"] + ["--then", "maxpool --k 1"] * 17, "chains at most 16 operations"),
])
def test_flag_mistakes_are_one_error_line(args, words):
    result = runner.invoke(app, ["compute", *args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1 and words in lines[0], result.stderr


TOKENS = ["torch.", "np.", "tensor", "ones", "zeros", "eye", "arange", "full", "stack", "cat", "reshape", ".t()", ".T",
          "(", ")", "[", "]", ",", ":", ";", "\n", "=", "+", "-", "*", "/", "X", "K", "0", "1", "2", "3", "-1", "1/3",
          "0.5", "1e300", "9" * 30, "dim=", "axis=", "'a'", "__class__", "lambda", "import", "**", "[:, 1:2]", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40))
def test_any_text_is_a_value_or_one_error(pieces):
    """Statements made of the reader's own words in any order: a value, or a SpecError — never another exception."""
    text = "".join(pieces)
    try:
        evaluate(text, "--x", {"K": evaluate("torch.ones(2, 2)", "--let K")})
    except SpecError:
        pass

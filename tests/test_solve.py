"""`convcalc solve`: the course's inverse questions, every solution substituted back into the
core's layer formulas, and a brute-force search in the test that finds no solution `solve`
missed."""

import itertools
import json
import random

import pytest
from typer.testing import CliRunner

from convcalc import Conv, ConvcalcError, ConvTranspose, Pool, analyze_layer
from convcalc.cli import app
from convcalc.teach.solve import count_layers, solve_axis

runner = CliRunner()


def solve(*args):
    result = runner.invoke(app, ["solve", *args, "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == (0 if data.get("solutions", True) and all(a["solutions"] for a in data.get("axes", [])) else 1), \
        result.output  # no solution: status 1, as grep's no match
    return data


QUESTIONS = [
    # which padding keeps 224 at 224 with a 3×3 kernel: (224 + 2p − 3) + 1 = 224
    (["--in", "224", "--out", "224", "--k", "3", "--p", "?"], [{"p": (3 - 1) // 2}]),
    # which output padding makes this transposed convolution give 64: (32 − 1)·2 − 2 + 2 + op + 1 = 64
    (["--op", "convT", "--in", "32", "--out", "64", "--k", "3", "--s", "2", "--p", "1", "--output-padding", "?"],
     [{"output_padding": 64 - ((32 - 1) * 2 - 2 * 1 + (3 - 1) + 1)}]),
    # how many 5×5 convolutions without padding take 224 down to 4: each takes 4 away
    (["--in", "224", "--k", "5", "--out", "4", "--layers", "?"], [{"layers": (224 - 4) // (5 - 1)}]),
    # how many 3×3 layers until one unit sees 224 pixels: 1 + 2L ≥ 224
    (["--in", "224", "--k", "3", "--p", "1", "--rf", "224", "--layers", "?"], [{"layers": -(-(224 - 1) // 2)}]),
    # which input sizes give 7 after k 3, s 2, p 1: ⌊(M + 2 − 3)/2⌋ = 6 ⇔ 12 ≤ M − 1 ≤ 13
    (["--in", "?", "--out", "7", "--k", "3", "--s", "2", "--p", "1"], [{"in": 13}, {"in": 14}]),
]


@pytest.mark.parametrize("args, solutions", QUESTIONS)
def test_the_courses_questions(args, solutions):
    assert solve(*args)["solutions"] == solutions


def test_halving_lists_every_stride_and_padding():
    found = solve("--in", "224", "--out", "112", "--k", "3", "--s", "?", "--p", "?")["solutions"]
    assert {"s": 2, "p": 1} in found
    for x in found:  # each one, substituted back into the core's formula, halves 224
        assert analyze_layer(Conv(1, 3, x["s"], x["p"]), (1, 224, 224)).output_shape == (1, 112, 112)


def test_no_solution_is_an_answer_that_says_why():
    data = solve("--in", "224", "--out", "100", "--k", "3", "--s", "2", "--p", "?")
    assert data["solutions"] == []
    assert data["note"] == "no solution: with these values the output is never 100; the nearest reachable sizes are 111 and 112"
    assert solve("--in", "10", "--out", "20", "--k", "3", "--layers", "?")["note"] == \
        "no solution: this layer takes the size from 10 to 8, away from 20"


def test_per_axis_values_solve_each_axis():
    data = solve("--in", "32x64", "--out", "32x32", "--k", "3", "--s", "1x2", "--p", "?")
    assert [a["axis"] for a in data["axes"]] == ["H", "W"]
    assert data["axes"][0]["solutions"] == [{"p": 1}] and data["axes"][1]["solutions"] == [{"p": 1}]


def test_explain_shows_the_inequality():
    result = runner.invoke(app, ["solve", "--in", "?", "--out", "7", "--k", "3", "--s", "2", "--p", "1", "--explain"])
    assert "⇔ (out − 1)·S ≤ M + 2P − K̂ ≤ (out − 1)·S + S − 1: 12 ≤ M + 2·1 − 3 ≤ 13" in result.stdout
    assert "⇔ 13 ≤ M ≤ 14" in result.stdout
    assert result.stdout.splitlines()[-1] == "in = 13 … 14 (2 values: 13, 14)"


def layer_out(op, m, k, s, p, d, output_padding=0, ceil=False):
    layer = {"conv": Conv(1, k, s, p, d), "convT": ConvTranspose(1, k, s, p, output_padding, d),
             "maxpool": Pool(k, s, p, d, ceil, "maxpool")}[op]
    try:
        return analyze_layer(layer, (1, m)).output_shape[1]
    except ConvcalcError:
        return None


@pytest.mark.parametrize("op, unknown", [(op, unknown) for op in ("conv", "maxpool", "convT")
                                          for unknown in ("in", "k", "s", "p", "d", "output_padding")
                                          if unknown != "output_padding" or op == "convT"])
def test_brute_force_finds_nothing_solve_missed(op, unknown):
    rng = random.Random(f"{op} {unknown}")
    for _ in range(40):
        v = {"in": rng.randint(1, 20), "k": rng.randint(1, 5), "s": rng.randint(1, 4), "p": rng.randint(0, 2), "d": rng.randint(1, 2),
             "output_padding": 0}
        if op == "convT":
            v["output_padding"] = rng.randint(0, max(v["s"], v["d"]) - 1)
        out = layer_out(op, v["in"], v["k"], v["s"], v["p"], v["d"], v["output_padding"])
        if out is None:
            continue
        given = {**v, "out": out, unknown: None}
        if op != "convT":
            given.pop("output_padding")
        found = {x[unknown] for x in solve_axis(op, given).solutions}
        # the same bounds solve searches: padding up to k − 1, the rest well past any answer
        past = 2 * max(v["in"], out) + 2  # past the sizes no larger stride or dilation changes anything
        space = {"in": range(1, 200), "k": range(1, past + 2 * v["p"]), "s": range(1, past), "p": range(0, v["k"]),
                 "d": range(1, past), "output_padding": range(0, 60)}[unknown]
        brute = set()
        for candidate in space:
            w = {**v, unknown: candidate}
            if op == "convT" and w["output_padding"] >= max(w["s"], w["d"]):
                continue
            if layer_out(op, w["in"], w["k"], w["s"], w["p"], w["d"], w["output_padding"]) == out:
                brute.add(candidate)
        if v[unknown] in space:  # the true value, where the search reaches it
            assert v[unknown] in found
        assert found == brute, (op, given)


def test_every_solution_substitutes_back():
    for x in solve("--in", "8", "--out", "4", "--k", "?", "--s", "?")["solutions"]:
        assert analyze_layer(Conv(1, x["k"], x["s"]), (1, 8)).output_shape[1] == 4


def test_layers_count_is_checked_by_the_core():
    layers = count_layers("conv", {"in": 224, "k": 5}, 4, None).solutions[0]["layers"]
    size = 224
    for _ in range(layers):
        size = analyze_layer(Conv(1, 5), (1, size)).output_shape[1]
    assert size == 4


ERRORS = [
    (["--in", "224", "--out", "224", "--k", "3"], "Error: solve: mark the unknown with ?, such as --p ?, got no ?"),
    (["--in", "?", "--out", "7"], "Error: --k: needed (a size, or ? to find it), got none"),
    (["--in", "224", "--out", "224", "--k", "?", "--s", "?", "--p", "?"],
     "Error: solve: 90,518,849 combinations of k, s, p to try, more than 2,000,000; give one of them, got 3 unknowns"),
    (["--in", "8", "--out", "4", "--k", "3", "--p", "?", "--output-padding", "1"],
     "Error: --output-padding: --op conv has no such option; drop --output-padding, got '1'"),
    (["--in", "8", "--k", "3", "--layers", "3"], "Error: --layers: only ? (the count to find), got '3'"),
]


@pytest.mark.parametrize("args, message", ERRORS)
def test_errors(args, message):
    result = runner.invoke(app, ["solve", *args])
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr == message + "\n"


def test_layers_all_listed_combinations_fit_the_bound():
    found = solve("--in", "224", "--out", "224", "--k", "3", "--s", "?", "--p", "?")["solutions"]
    assert found == [{"s": 1, "p": 1}]
    assert all(list(x) == ["s", "p"] for x in found)
    assert list(itertools.islice(found, 1))


# an unknown input with a growing kernel, stride or dilation: a family without end, stated as one
# (in = (out − 1)·S + D·(K − 1) + 1 − 2P + r, 0 ≤ r < S, the known numbers put in)
FAMILIES = [
    (dict(op="conv", given={"in": None, "out": 1, "k": None}), "in = k"),  # (1 − 1)·1 + 1·(k − 1) + 1 − 0
    (dict(op="conv", given={"in": None, "out": 4, "k": None, "s": 2}), "in = k + 6 + r, r = 0…1"),  # 3·2 + (k − 1) + 1
    (dict(op="conv", given={"in": None, "out": 4, "k": 3, "s": None}), "in = 3·s + 3 + r, 0 ≤ r < s"),  # 3·s + 1·2 + 1
    (dict(op="conv", given={"in": None, "out": 4, "k": 3, "d": None, "p": 1}), "in = 2·d + 2"),  # 3·1 + 2·d + 1 − 2
    (dict(op="maxpool", given={"in": None, "out": 7, "k": None}), "in = 7·k + r, 0 ≤ r < k"),  # stride = k: 6·k + (k − 1) + 1
    (dict(op="conv", given={"in": None, "out": 4, "k": None, "d": None}), "in = d·(k − 1) + 4"),  # 3·1 + d·(k − 1) + 1
]


@pytest.mark.parametrize("question, family", FAMILIES, ids=[f for _, f in FAMILIES])
def test_an_unbounded_family_is_said_as_one(question, family):
    answer = solve_axis(question["op"], question["given"])
    assert family + ", for every" in str(answer.note) and "infinitely many" in str(answer.note)
    assert 1 <= len(answer.solutions) <= 5
    for solution in answer.solutions:  # the few listed are members: the layer gives `out` from them
        values = {**question["given"], **solution}
        layer = (Conv(1, values["k"], values.get("s") or 1, values.get("p") or 0, values.get("d") or 1) if question["op"] == "conv"
                 else Pool(values["k"], values.get("s") or values["k"], values.get("p") or 0))
        assert analyze_layer(layer, (1, values["in"])).output_shape[1:] == (question["given"]["out"],)


def test_a_family_member_far_out_gives_the_output():
    """in = 3·s + 3 + r holds for s = 1000 too (by the formula, not by the search that lists the first)."""
    for s in (1000, 12345):
        for r in (0, s - 1):
            assert analyze_layer(Conv(1, 3, s, 0, 1), (1, 3 * s + 3 + r)).output_shape[1:] == (4,)

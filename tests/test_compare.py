"""`convcalc compare`: designs side by side, each figure with its ratio to the first, from the course
exercises that ask for one (a depthwise separable against a standard convolution, three 3×3 against one 7×7,
SE-ResNet-50 against ResNet-50). Expected values are arithmetic written here or the figures `net` prints."""

import csv
import io
import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()

STANDARD = "layer --in 56 --cin 32 --cout 64 --k 3 --p 1"
# MobileNet's comparison on 32×56×56 → 64×56×56, 3×3, with biases
STANDARD_PARAMS = 64 * (32 * 3 * 3 + 1)
SEPARABLE_PARAMS = 32 * (1 * 3 * 3 + 1) + 64 * (32 * 1 * 1 + 1)
STANDARD_MACS = 32 * 64 * 3 * 3 * 56 * 56
SEPARABLE_MACS = 32 * 1 * 3 * 3 * 56 * 56 + 32 * 64 * 56 * 56


def compared(*args) -> dict:
    result = runner.invoke(app, ["compare", *args, "-f", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_separable_against_standard_by_arithmetic():
    data = compared(STANDARD, "separable", "--input", "32x56x56")
    first, second = data["designs"]
    assert (first["params"], first["macs"]) == (STANDARD_PARAMS, STANDARD_MACS)
    assert (second["params"], second["macs"]) == (SEPARABLE_PARAMS, SEPARABLE_MACS)
    against = second["against_first"]
    assert Fraction(against["macs"]["ratio_exact"]) == Fraction(1, 64) + Fraction(1, 9)  # 1/C_o + 1/K²
    assert Fraction(against["params"]["ratio_exact"]) == Fraction(SEPARABLE_PARAMS, STANDARD_PARAMS)
    assert against["params"]["difference"] == SEPARABLE_PARAMS - STANDARD_PARAMS
    assert first["output_shape"] == second["output_shape"] == [64, 56, 56]


def test_explain_writes_the_ratio_in_the_first_designs_symbols():
    result = runner.invoke(app, ["compare", STANDARD, "separable", "--input", "32x56x56", "--explain"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "1/C_o + 1/K² = 1/64 + 1/9 = 73/576" in text
    assert f"{SEPARABLE_MACS:,} / {STANDARD_MACS:,} = 73/576" in text


def test_three_3x3_against_one_7x7(tmp_path):
    """The same receptive field (7×7) for 27/49 of the multiply-adds: 3·3²·C² against 7²·C² per position."""
    stack = tmp_path / "stack.yaml"
    stack.write_text("input: [64, 28, 28]\nlayers:\n  - {conv: {c: 64, k: 3, p: 1}, repeat: 3}\n")
    data = compared("layer --cout 64 --k 7 --p 3", str(stack), "--input", "64x28x28")
    first, second = data["designs"]
    assert Fraction(second["against_first"]["macs"]["ratio_exact"]) == Fraction(3 * 3 * 3, 7 * 7)
    assert first["receptive_field"]["size"] == second["receptive_field"]["size"] == [7, 7]
    assert second["params"] == 3 * 64 * (64 * 9 + 1) and first["params"] == 64 * (64 * 49 + 1)
    result = runner.invoke(app, ["compare", "layer --cout 64 --k 7 --p 3", str(stack), "--input", "64x28x28", "--explain"])
    assert "9/K² + 9/K² + 9/K² = 9/49 + 9/49 + 9/49 = 27/49" in " ".join(result.stdout.split())


def test_networks_compared_are_the_networks_net_reads():
    data = compared("resnet50", "seresnet50", "--set", "classes=10")
    for design in data["designs"]:
        net = json.loads(runner.invoke(app, ["net", design["name"], "--set", "classes=10", "-f", "json"]).stdout)
        assert (design["params"], design["macs"], design["training_bytes"]) == (
            net["total"]["params"], net["total"]["macs"], net["total"]["training_bytes"])
    resnet, se = data["designs"]
    assert se["against_first"]["params"]["difference"] == se["params"] - resnet["params"]


def test_three_designs_each_against_the_first():
    data = compared("resnet18", "resnet34", "resnet50")
    assert [d["name"] for d in data["designs"]] == ["resnet18", "resnet34", "resnet50"]
    r18, r34, r50 = data["designs"]
    assert Fraction(r50["against_first"]["macs"]["ratio_exact"]) == Fraction(r50["macs"], r18["macs"])
    assert "against_first" not in r18
    table = runner.invoke(app, ["compare", "resnet18", "resnet34", "resnet50"]).stdout
    assert "B/A" in table and "C/A" in table and "A = resnet18" in table


def test_csv_and_markdown_hold_the_same_figures():
    data = compared(STANDARD, "separable", "--input", "32x56x56")
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["compare", STANDARD, "separable", "--input", "32x56x56",
                                                                "-f", "csv"]).stdout)))
    macs = [r for r in rows if r["figure"] == "macs"]
    assert [int(r["value"]) for r in macs] == [d["macs"] for d in data["designs"]]
    assert Fraction(macs[1]["ratio_to_first"]) == Fraction(73, 576)
    markdown = runner.invoke(app, ["compare", STANDARD, "separable", "--input", "32x56x56", "-f", "markdown"]).stdout
    assert f"| MACs | {STANDARD_MACS:,} | {SEPARABLE_MACS:,} |" in markdown
    assert "- B = separable" in markdown


def test_in_chinese():
    import os
    import subprocess
    import sys

    environ = {**os.environ, "COLUMNS": "120", "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-m", "convcalc", "compare", STANDARD, "separable", "--input", "32x56x56",
                             "--explain", "--lang", "zh"], capture_output=True, text=True, env=environ, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "与 A 比较" in result.stdout and "参数量" in result.stdout and "1/C_o + 1/K² = 1/64 + 1/9 = 73/576" in result.stdout


def test_a_file_whose_name_begins_with_layer_is_a_network(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3}\n")
    (tmp_path / "layer net.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - conv: {c: 2, k: 3}\n")
    data = compared("layers.yaml", "layer net.yaml", "layer --in 8 --cin 3 --cout 4 --k 3")
    assert [d["params"] for d in data["designs"]] == [4 * (3 * 9 + 1), 2 * (3 * 9 + 1), 4 * (3 * 9 + 1)]


def test_four_networks_fit_80_columns_rounded_not_cut():
    from rich.cells import cell_len

    result = runner.invoke(app, ["compare", "resnet18", "resnet50", "resnet101", "resnet152"], env={"COLUMNS": "80"})
    assert result.exit_code == 0 and max(cell_len(line) for line in result.stdout.splitlines()) <= 80
    params = [d["params"] for d in compared("resnet18", "resnet50", "resnet101", "resnet152")["designs"]]
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("parameters"))
    assert [f"{p / 1e6:.1f}M" for p in params] == [cell for cell in line.split() if cell.endswith("M")]
    assert "figures rounded" in result.stdout
    wide = runner.invoke(app, ["compare", "resnet18", "resnet50", "resnet101", "resnet152", "--wide"], env={"COLUMNS": "80"})
    assert f"{params[3]:,}" in wide.stdout


def test_names_are_shown_safely(tmp_path):
    """A file name holding an escape sequence is written escaped in the legend, as the table writes names."""
    path = tmp_path / "a\x1b[31mred.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3}\n")
    result = runner.invoke(app, ["compare", str(path), "layer --in 8 --cin 3 --cout 4 --k 3"])
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\\u001b[31mred.yaml" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["resnet18"], "compare takes two or more designs"),
    (["layer --in 56 --kk 3", "separable"], "--kk"),
    (["layer --in 56 --k 3 --format json", "separable"], "a quoted layer takes the layer's own flags"),
    (["resnet18", "nosuchnet"], "nosuchnet"),
    (["layer --in '56", "separable"], "No closing quotation"),
])
def test_mistakes_are_one_error_line(args, words):
    result = runner.invoke(app, ["compare", *args])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], result.stderr

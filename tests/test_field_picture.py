"""`convcalc net … --draw-rf LAYER`: the receptive field of the layer's first unit on the input grid. The
pictures expected here are written from the field's arithmetic: a K×K convolution with padding P sees
input positions −P … K − P − 1 along each axis."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()


def grid(args: list[str]) -> list[str]:
    result = runner.invoke(app, ["net", *args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("receptive field of"))
    return [line for line in lines[start + 1:] if re.fullmatch(r"  [■□▫ ]*[■□▫]", line)]  # the grid, not the wrapped legend


def test_a_convolution_without_padding_sees_its_window(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 8, 8]\nlayers:\n  - conv: {c: 4, k: 5}\n")
    # positions 0…4 along each axis: five rows of five ■, then input it does not see
    assert grid([str(path), "--draw-rf", "conv1"]) == ["  " + " ".join("■" * 5 + "□" * 3)] * 5 + ["  " + " ".join("□" * 8)] * 3


def test_padding_the_field_sees_lies_outside_the_input(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3, p: 1}\n")
    # positions −1…1: the row and the column before the input are padding (▫); the rest of row −1 is neither
    assert grid([str(path), "--draw-rf", "conv1"]) == (["  ▫ ▫ ▫"] + ["  ▫ ■ ■ " + " ".join("□" * 6)] * 2
                                                        + ["    " + " ".join("□" * 8)] * 6)


def test_a_large_input_is_scaled_and_says_so():
    result = runner.invoke(app, ["net", "resnet18", "--draw-rf", "maxpool1"], env={"COLUMNS": "200"})
    # maxpool1's field: 11 wide, starting 5 before the input; 5 + 224 positions in cells of ⌈229/32⌉ = 8
    assert "input positions H -5…5; W -5…5" in result.stdout and "each cell stands for 8×8 input positions" in result.stdout


def test_unknown_layers_and_formats_are_refused():
    result = runner.invoke(app, ["net", "lenet5", "--draw-rf", "C9"])
    assert result.exit_code == 1 and "did you mean 'C5', 'C3', 'C1'?" in result.stderr
    result = runner.invoke(app, ["net", "lenet5", "--draw-rf", "C1", "--format", "json"])
    assert result.exit_code == 2 and result.stderr.startswith("Error: --draw-rf: a picture for the terminal or Markdown")

"""Hostile YOLO files: Darknet .cfg and Ultralytics YAML mutated at random (values, keys, layer numbers, module
names, nesting), each read by the command line. Every outcome is a table or one `Error:` line — never a traceback."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()
DARKNET = (Path(__file__).parent / "darknet" / "yolov4-tiny.cfg").read_text()
ULTRALYTICS = """nc: 80
scales:
  n: [0.50, 0.25, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 2, C2f, [128, True]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [-1, 1, SPPF, [256, 5]]
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 2], 1, Concat, [1]]
  - [-1, 1, C3k2, [128, False]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [[-1, 4], 1, Concat, [1]]
  - [[7, 9], 1, Detect, [nc]]
"""
VALUES = ["-1", "0", "99", "-99", "x", "", "3.5", "1e9", "99999999999999999999", "[b]bold[/b]", "-", ",", "1,2,", "\x00", "🙂"]


def mutate_cfg(rng: random.Random) -> str:
    lines = DARKNET.splitlines()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        choice = rng.random()
        if "=" in lines[i] and choice < 0.6:
            key = lines[i].split("=")[0]
            lines[i] = f"{key}={rng.choice(VALUES)}"
        elif choice < 0.8:
            lines[i] = rng.choice(["[convolutional]", "[route]", "[shortcut]", "[maxpool]", "[lstm]", "[", "junk", "[yolo]"])
        else:
            del lines[i]
    return "\n".join(lines)


def mutate_yaml(rng: random.Random) -> str:
    lines = ULTRALYTICS.splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("  - [")]
    for _ in range(rng.randint(1, 3)):
        i = rng.choice(rows) if rng.random() < 0.8 else rng.randrange(len(lines))  # mostly a row's from, repeats, module or args
        line = lines[i]
        if line.startswith("  - ["):
            parts = line[5:-1].split(", ", 3)
            j = rng.randrange(len(parts))
            parts[j] = rng.choice(["-1", "99", "[0, 99]", "1000000", "Fancy", "nn.Foo", "[]", "[1, [2]]", "null", "'x'", "-7",
                                   "[64, 3, 2, 9, 9, 9, 9, 9]", "[0]"])
            lines[i] = "  - [" + ", ".join(parts) + "]"
        else:
            lines[i] = rng.choice(["nc: -1", "nc: x", "scales: 3", "  n: [0, 0, 0]", "backbone: {}", "head: 7", ":", "- - -"])
    return "\n".join(lines) + "\n"


def test_the_unmutated_files_are_read(tmp_path):
    for name, text in (("m.cfg", DARKNET), ("m.yaml", ULTRALYTICS)):
        (tmp_path / name).write_text(text)
        assert runner.invoke(app, ["net", str(tmp_path / name)]).exit_code == 0


@pytest.mark.parametrize("seed", range(40))
def test_mutated_files_give_a_table_or_one_error_line(tmp_path, seed):
    rng = random.Random(seed)
    for name, text in (("m.cfg", mutate_cfg(rng)), ("m.yaml", mutate_yaml(rng))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["net", str(path), "--format", "json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), (name, text, result.exception)
        if result.exit_code:
            assert result.output.startswith("Error: ") and result.output.count("\n") == 1, (name, text, result.output)

"""Rendered output against golden files; the README quotes some of them, so it cannot drift.

Regenerate after a deliberate change:  CONVCALC_REGEN=1 pytest tests/test_golden.py
"""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "net_vgg16": ["net", "vgg16.yaml"],
    "net_resnet50_depth1": ["net", "resnet50", "--input", "3x160x160", "--depth", "1"],
    "net_lenet5_markdown": ["net", "lenet5", "--format", "markdown"],
    "layer_design_call": ["layer", "--in", "10", "--k", "5", "--p", "1", "--s", "2"],
    "layer_homework_explain": ["layer", "--in", "32", "--k", "3", "--p", "1", "--s", "2", "--no-bias", "--explain"],
    "layer_json": ["layer", "--in", "32", "--cin", "3", "--cout", "10", "--k", "5", "--p", "2", "--format", "json"],
    "compute_two_channels": ["compute", "--x", "[[[0,1,2],[3,4,5],[6,7,8]],[[1,2,3],[4,5,6],[7,8,9]]]",
                             "--w", "[[[0,1],[2,3]],[[1,2],[3,4]]]", "--explain"],
    "solve_input_range": ["solve", "--in", "?", "--out", "7", "--k", "3", "--s", "2", "--p", "1", "--explain"],
    "layer_draw": ["layer", "--in", "7", "--k", "3", "--s", "2", "--draw", "--format", "markdown"],
}
# Chinese runs in a process of their own: the language is chosen once, before the help is built
CASES_ZH = {
    "net_lenet5_zh": ["net", "lenet5", "--lang", "zh"],
    "layer_d2l_zh": ["layer", "--in", "8", "--k", "3", "--p-total", "2", "--explain", "--lang", "zh"],
}
CASES.update(CASES_ZH)
ROOT = Path(__file__).parent.parent
# where each golden is quoted, so that the documentation shows real output
QUOTED = {"net_vgg16": "README.md", "net_lenet5_zh": "README.zh.md", "layer_d2l_zh": "README.zh.md",
          "layer_design_call": "docs/layer.md", "compute_two_channels": "docs/layer.md", "solve_input_range": "docs/layer.md"}
# the README's first screen is what an 80-column terminal shows; the rest at 120
COLUMNS = {"net_vgg16": "80", "net_lenet5_zh": "80"}


def output(args, columns: str = "120"):
    if "--lang" in args:
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "CONVCALC_LANG")}
        done = subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=60,
                              env={**env, "COLUMNS": columns, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"})
        assert done.returncode == 0, done.stderr
        return done.stdout
    result = CliRunner().invoke(app, args, env={"COLUMNS": columns, "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden(name):
    path = GOLDEN / f"{name}.txt"
    text = output(CASES[name], COLUMNS.get(name, "120"))
    if os.environ.get("CONVCALC_REGEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(QUOTED))
def test_the_documentation_shows_real_output(name):
    assert (GOLDEN / f"{name}.txt").read_text(encoding="utf-8") in (ROOT / QUOTED[name]).read_text(encoding="utf-8")


# the model readers' whole output, pinned: a hand-written ONNX graph (no package needed) and two PyTorch models
MODEL_CASES = {
    "onnx_small_json": ("small.onnx", ["--format", "json"]),
    "onnx_small_explain": ("small.onnx", ["--explain"]),
    "torch_resnet18_json": ("torchvision.models:resnet18", ["--input", "3x64x64", "--format", "json"]),
    "torch_d2l_lenet_json": ("d2l_models.py:lenet", ["--input", "1x28x28", "--format", "json"]),
    "net_vit_b_16_by_op": ("vit_b_16", ["--by-op", "--depth", "1"]),
}


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_model_readers_match_golden(name, tmp_path, monkeypatch):
    source, args = MODEL_CASES[name]
    if source.endswith(".onnx"):
        from test_onnx import small_model_bytes

        (tmp_path / source).write_bytes(small_model_bytes())
        monkeypatch.chdir(tmp_path)
    elif ":" in source:
        pytest.importorskip("torchvision")
        monkeypatch.chdir(Path(__file__).parent / "oracle")
    path = GOLDEN / f"{name}.txt"
    text = output(["net", source, *args])
    if os.environ.get("CONVCALC_REGEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")

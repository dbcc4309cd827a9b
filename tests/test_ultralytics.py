"""Ultralytics' model YAML (convcalc/formats/ultralytics.py), read without PyTorch. Where `ultralytics` is installed,
its own files are read from the package and compared with the models Ultralytics builds from them: parameters
(sum(p.numel())), MACs (PyTorch's FlopCounterMode ÷ 2 at 640×640), the output's shape, and `--count thop` against
the GFLOPs figure Ultralytics prints (its get_flops). The sweep over every file and scale is
benchmarks/ultralytics_sweep.py (results in benchmarks/results/ultralytics_sweep.txt)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import analyze
from convcalc.cli import app
from convcalc.core.counting import count
from convcalc.formats.spec import load, loads

runner = CliRunner()

# a small model in Ultralytics' form, written for this test: Conv(3→16, 3×3, s2) + BN, Conv(16→32, 3×3, s2) + BN,
# upsampled ×2 and concatenated with the first
SMALL = """
nc: 10
scales:
  n: [0.5, 0.25, 1024]
  s: [0.5, 0.5, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 0], 1, Concat, [1]]
"""


def test_a_small_file_is_read_with_its_scale_and_without_torch():
    network = loads(SMALL, "small.yaml", scale="n")
    report = analyze(network)
    c1, c2 = 64 // 4, 128 // 4  # width 0.25, already multiples of 8
    assert report.params == (3 * 9 * c1 + 2 * c1) + (c1 * 9 * c2 + 2 * c2)  # bias-free convolutions, batchnorm's γ and β
    assert report.output_shape == (c2 + c1, 320, 320)
    wide = analyze(loads(SMALL, "small.yaml", scale="s"))
    assert wide.output_shape == (128 // 2 + 64 // 2, 320, 320)
    code = ("import sys; from convcalc.formats.spec import loads; loads(sys.stdin.read(), 'small.yaml'); "
            "assert 'torch' not in sys.modules and 'ultralytics' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], input=SMALL, text=True, check=True)


def test_scale_comes_from_the_file_name_and_set_overrides_it(tmp_path):
    (tmp_path / "yolov99.yaml").write_text(SMALL)
    assert analyze(load(tmp_path / "yolov99s.yaml")).output_shape == (96, 320, 320)  # yolov99s.yaml: yolov99.yaml at scale s
    assert analyze(load(tmp_path / "yolov99n.yaml")).output_shape == (48, 320, 320)
    result = runner.invoke(app, ["net", str(tmp_path / "yolov99n.yaml"), "--set", "scale=s", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["output_shape"] == [96, 320, 320]


BAD = [
    ("backbone:\n  - [-1, 1, Conv, [16, 3, 2]]\nhead:\n  - [-1, 1, FancyBlock, [16]]\n", "Ultralytics module FancyBlock", ":4:"),
    ("backbone:\n  - [-1, 1, Conv]\nhead: []\n", "a row is [from, repeats, module, args]", ":2:"),
    ("backbone:\n  - [-1, 1, Conv, [16, 3, 2, 1, 1, 1, 1, 1, 1]]\nhead: []\n", "Conv cannot take these arguments", ":2:"),
    ("backbone:\n  - [-1, 1, Conv, [16, 3, 2]]\n  - [7, 1, Conv, [16]]\nhead: []\n", "from: earlier rows", ":3:"),
    ("backbone:\n  - [-1, 100000000, C2f, [16]]\nhead: []\n", "repeats: a whole number from 1 to 1,000", ":2:"),
    ("backbone: 5\nhead: []\n", "backbone: a list", "bad.yaml:"),
    ("scales: {n: [0.5, x, 1024]}\nbackbone: []\nhead: []\n", "scales: n: [depth, width, max_channels]", "bad.yaml:"),
    ("nc: -3\nbackbone: []\nhead: []\n", "nc: the number of classes", "bad.yaml:"),
]


@pytest.mark.parametrize("text, words, line", BAD, ids=[w for _, w, _ in BAD])
def test_malformed_files_get_one_error_line(tmp_path, text, words, line):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["net", str(path)])
    assert result.exit_code != 0 and result.output.startswith("Error: bad.yaml") and result.output.count("\n") == 1, result.output
    assert words in result.output and line in result.output


def test_set_takes_only_scale_and_nc(tmp_path):
    (tmp_path / "m.yaml").write_text(SMALL)
    result = runner.invoke(app, ["net", str(tmp_path / "m.yaml"), "--set", "depth=3"])
    assert result.exit_code != 0 and "scale and nc" in result.output
    result = runner.invoke(app, ["net", str(tmp_path / "m.yaml"), "--set", "scale=q"])
    assert result.exit_code != 0 and "n, s" in result.output


# the files Ultralytics ships, read from the installed package: one per family and task (the sweep has them all)
SHIPPED = ["v8/yolov8n.yaml", "11/yolo11n.yaml", "v8/yolov8n-seg.yaml", "11/yolo11n-pose.yaml", "v8/yolov8n-obb.yaml",
           "v8/yolov8n-cls.yaml", "v5/yolov5n.yaml", "v10/yolov10n.yaml", "v9/yolov9t.yaml", "26/yolo26n.yaml",
           "26/yolo26n-seg.yaml", "26/yolo26n-pose.yaml", "26/yolo26n-depth.yaml", "26/yolo26n-sem.yaml", "12/yolo12n.yaml",
           "v8/yolov8n-cls-resnet50.yaml",
           "v3/yolov3-tiny.yaml", "v6/yolov6n.yaml", "v8/yolov8n-ghost.yaml", "v8/yolov8n-p6.yaml", "11/yolo11s.yaml"]


def ultralytics_model(name: str, fuse: bool = False):
    pytest.importorskip("torch")
    ultralytics = pytest.importorskip("ultralytics")
    from ultralytics.nn import tasks

    path = Path(ultralytics.__file__).parent / "cfg" / "models" / name
    kinds = {"detect": tasks.DetectionModel, "segment": tasks.SegmentationModel, "pose": tasks.PoseModel, "obb": tasks.OBBModel,
             "classify": tasks.ClassificationModel, "depth": getattr(tasks, "DepthModel", None),
             "semantic": getattr(tasks, "SemanticSegmentationModel", None)}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model = kinds[tasks.guess_model_task(tasks.yaml_model_load(str(path)))](str(path), verbose=False).eval()
        if fuse:
            model = model.fuse(verbose=False)
    return path, model


CASES = [(name, False) for name in SHIPPED] + [(name, True) for name in ("v8/yolov8n.yaml", "v9/yolov9t.yaml", "v10/yolov10n.yaml",
                                                                          "26/yolo26n.yaml", "26/yolo26n-pose.yaml")]  # fused: RepConv, RepVGGDW, end2end


@pytest.mark.parametrize("name, fuse", CASES, ids=[f"{n}{' fused' if f else ''}" for n, f in CASES])
def test_shipped_files_equal_the_models_ultralytics_builds(name, fuse):
    path, model = ultralytics_model(name, fuse)  # skipped without torch and ultralytics
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from ultralytics.utils.torch_utils import get_flops

    report = analyze(load(path, fuse=fuse))
    assert report.params == sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, 3, 640, 640))
    while isinstance(out, (tuple, list)):  # (predictions, raw outputs): the predictions
        out = out[0]
    assert 2 * report.macs == counter.get_total_flops()
    assert report.output_shape == tuple(out.shape[1:])
    thop = sum(count("thop", row, 1) for row in report.rows if row.leaf)
    assert round(get_flops(model, 640) * 1e9 / 2) == thop  # Ultralytics prints 2·thop's count, in GFLOPs


def test_yolov8n_from_the_command_line_as_ultralytics_prints_it():
    path, model = ultralytics_model("v8/yolov8n.yaml")
    from ultralytics.utils.torch_utils import get_flops

    result = runner.invoke(app, ["net", str(path.with_name("yolov8n.yaml")), "--count", "thop"])
    assert result.exit_code == 0, result.output
    params, thop = sum(p.numel() for p in model.parameters()), round(get_flops(model, 640) * 1e9 / 2)  # Ultralytics' own figures
    assert f"{params:,}" in result.output and f"{thop:,}" in result.output

"""`convcalc export --to torch` (convcalc/formats/pytorch_export.py): every bundled network written as
PyTorch code, then built by PyTorch (parameters, buffers, the output shape of a real forward pass
equal convcalc's) and read back by `convcalc net file.py:build` (identical figures). The PyTorch
parts run where torch is installed (in CI)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from convcalc import analyze, load
from convcalc.formats.pytorch_export import export_torch
from convcalc.formats.zoo import bundled

NETWORKS = sorted(p.stem for p in bundled())
# the real forward pass of the heaviest runs on a smaller input (they take any size), convcalc's figures on the same
FORWARD_INPUT = {"unet": (1, 188, 188), "fcn_resnet50": (3, 128, 160), "deeplabv3_resnet50": (3, 128, 160),
                 "r3d_18": (3, 8, 64, 64)}


def exported(name: str, tmp_path, shape=None):
    network = load(next(p for p in bundled() if p.stem == name), shape)
    path = tmp_path / f"{name}_exported.py"
    path.write_text(export_torch(network))
    return network, path


@pytest.mark.parametrize("name", NETWORKS)
def test_every_bundled_network_exports_to_python(name, tmp_path):
    _network, path = exported(name, tmp_path)
    source = path.read_text()
    compile(source, str(path), "exec")
    assert "def build() -> nn.Module:" in source and source.count("\n") < 1500


def import_file(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NETWORKS)
def test_exported_module_is_the_network_and_reads_back_the_same(name, tmp_path):
    torch = pytest.importorskip("torch")
    from convcalc.formats.pytorch import read_model

    shape = FORWARD_INPUT.get(name)
    network, path = exported(name, tmp_path, shape)
    ours = analyze(network)
    module = import_file(path)
    model = module.build().eval()
    assert sum(p.numel() for p in model.parameters()) == ours.params
    assert sum(b.numel() for b in model.buffers()) == ours.buffers
    with torch.no_grad():
        out = model(torch.zeros(1, *network.input_shape))
    assert tuple(out.shape[1:]) == ours.output_shape
    back = analyze(read_model(f"{path}:build", network.input_shape))
    assert (back.params, back.buffers, back.macs, back.output_shape, back.field) == \
           (ours.params, ours.buffers, ours.macs, ours.output_shape, ours.field)
    assert not back.unknown_ops


def test_blocks_become_classes_and_identical_blocks_one_class(tmp_path):
    _network, path = exported("resnet50", tmp_path)
    source = path.read_text()
    # ResNet-50: per stage a first bottleneck (it projects) and the rest, one class each
    assert source.count("class Bottleneck") == 8
    assert source.count("\n") < 400


def cli(*args):
    return subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=60,
                          env={"CONVCALC_LANG": "en", "PATH": "/usr/bin:/bin"})


def test_cli_writes_the_file(tmp_path):
    target = tmp_path / "vgg.py"
    result = cli("export", "vgg11", "--to", "torch", "--set", "classes=10", "-o", str(target))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert "nn.Linear(4096, 10, bias=True)" in target.read_text()


@pytest.mark.parametrize("args, part", [
    (["vgg11", "--to", "onnx"], "--to:"),
    (["vgg11"], "--to:"),
    (["nowhere", "--to", "torch"], "no such file"),
    (["vgg11", "--to", "torch", "-o", "/nonexistent/dir/x.py"], "--output: cannot write the file"),
])
def test_cli_errors_are_one_line(args, part):
    result = cli("export", *args)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1 and part in result.stderr, result.stderr

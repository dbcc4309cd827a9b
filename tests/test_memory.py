"""Memory as PyTorch uses it: saved for backward, inference peak, training memory, backward MACs and
time bounds — against PyTorch's own measurements (the zoo's golden file, made by
tests/oracle/measure_memory.py; small networks measured live where torch is installed) and against
arithmetic written here."""

from __future__ import annotations

import json
import sys
from math import prod
from pathlib import Path

import pytest

from convcalc import Settings, analyze, load, loads
from convcalc.core.memory import DEVICES, device, roofline
from convcalc.formats.zoo import find

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "golden" / "memory_reference.json").read_text())["networks"]

# where the description and torchvision's code differ in what they hold, with the reason
PEAK_DIFFERS = {
    "densenet121": "torchvision keeps every dense layer's new features in a list and concatenates all of them anew in "
                   "each layer; the description concatenates step by step",
}
# stochastic depth keeps one random number per sample in each residual block whose drop probability
# is not 0 (4 bytes each), which the descriptions do not model: the blocks it applies to
STOCHASTIC_DEPTH = {
    "convnext_tiny": 17,  # 18 blocks, the first with probability 0
    "efficientnet_b0": 9,  # the 10 blocks with a residual, the first with probability 0
}


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_saved_for_backward_equals_pytorch(name, batch):
    measured = REFERENCE[name][f"saved_bytes_batch{batch}"]
    if measured is None:
        pytest.skip("PyTorch cannot train this network on one sample (batchnorm on a 1×1 map)")
    ours = analyze(load(find(name)), Settings(batch=batch)).saved_activation_bytes
    if name in STOCHASTIC_DEPTH:
        assert measured - ours == 4 * STOCHASTIC_DEPTH[name] * batch
    else:
        assert ours == measured


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_inference_peak_equals_pytorch(name, batch):
    measured = REFERENCE[name][f"inference_peak_bytes_batch{batch}"]
    ours = analyze(load(find(name)), Settings(batch=batch)).inference_peak_bytes
    if name in PEAK_DIFFERS:
        assert 0.8 * measured < ours < measured, PEAK_DIFFERS[name]  # lower, and by how much the README says
    else:
        assert ours == measured


def test_vgg16_figures_as_the_issue_measured_them():
    report = analyze(load(find("vgg16")))
    assert report.saved_activation_bytes == 73_355_264  # saved_tensors_hooks, unique storages, train mode
    # the course's count: the input and every CONV / POOL / FC output (CS231n), float32
    convs = 2 * 64 * 224**2 + 2 * 128 * 112**2 + 3 * 256 * 56**2 + 3 * 512 * 28**2 + 3 * 512 * 14**2
    pools = 64 * 112**2 + 128 * 56**2 + 256 * 28**2 + 512 * 14**2 + 512 * 7**2
    fcs = 4096 + 4096 + 1000
    assert 4 * (3 * 224**2 + convs + pools + fcs) == 60_950_432
    adaptive_pool = 512 * 7 * 7  # torchvision's extra pooling to 7×7, an output of its own
    assert report.course_activation_bytes == 60_950_432 + 4 * adaptive_pool


def small(text: str):
    return loads(text, "small.yaml")


CHAIN = """
input: [3, 8, 8]
layers:
  - conv: {c: 4, k: 3, p: 1}
  - batchnorm
  - relu
  - maxpool: {k: 2, s: 2}
  - flatten
  - dropout: {p: 0.5}
  - linear: {out: 10}
"""


def test_saved_bytes_by_hand():
    report = analyze(small(CHAIN), Settings(batch=2))
    f = 4 * 2  # float32, two samples
    image = 3 * 8 * 8 * f  # the first convolution keeps its input
    conv_out = 4 * 8 * 8 * f  # batchnorm keeps its input
    stats = 2 * 4 * 4  # and float32 mean and inverse std per channel
    relu_out = 4 * 8 * 8 * f  # ReLU keeps its output (batchnorm's, overwritten in place); max pooling keeps it too
    indices = 4 * 4 * 4 * 8 * 2  # and int64 indices, one per output
    mask = 64 * f  # dropout keeps its mask (input × noise on the CPU)
    dropped = 64 * f  # and its output is a new tensor, which the linear layer keeps
    assert report.saved_activation_bytes == image + conv_out + stats + relu_out + indices + mask + dropped
    by_layer = [r.saved_bytes for r in report.rows]
    assert by_layer == [image, conv_out + stats, relu_out, indices, 0, mask, dropped]


def test_inference_peak_by_hand():
    report = analyze(small(CHAIN))
    image, conv_out, pooled = 3 * 64 * 4, 4 * 64 * 4, 4 * 16 * 4
    at_batchnorm = image + conv_out + conv_out  # the input is held throughout; conv's output until batchnorm is done
    at_maxpool = image + conv_out + pooled + 4 * 16 * 8  # int64 indices live while max pooling runs on the CPU
    assert report.inference_peak_bytes == max(at_batchnorm, at_maxpool) == at_batchnorm


def test_backward_macs():
    report = analyze(load(find("resnet18")))
    first_conv = 64 * 3 * 7 * 7 * 112 * 112  # nothing before it needs a gradient: weight gradient only
    assert report.backward_macs == 2 * report.macs - first_conv
    from convcalc.render.report import totals_dict

    assert totals_dict(report)["training_step_macs"] == 3 * report.macs - first_conv
    chain = analyze(small(CHAIN)).rows
    assert [r.backward_macs for r in chain if r.macs] == [chain[0].macs, 2 * chain[-1].macs]


@pytest.mark.parametrize("optimizer, states", [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_training_memory(optimizer, states):
    from convcalc.render.report import totals_dict

    report = analyze(load(find("resnet18")), Settings(optimizer=optimizer))
    total = totals_dict(report)
    p = 11_689_512  # torchvision's resnet18 parameters
    assert total["training_bytes"] == 4 * p * (2 + states) + report.saved_activation_bytes
    amp = totals_dict(analyze(load(find("resnet18")), Settings(optimizer=optimizer, amp="bf16")))
    half = analyze(load(find("resnet18")), Settings(amp="bf16")).saved_activation_bytes
    assert amp["training_bytes"] == 4 * p * (2 + states) + 2 * p + half
    assert half < report.saved_activation_bytes  # activations at 2 bytes; indices and statistics keep their types


def test_roofline_of_one_layer():
    a100 = device("a100", "fp32")
    assert (a100.peak_flops, a100.bandwidth) == (19.5e12, 1.555e12)
    report = analyze(small("input: [64, 56, 56]\nlayers:\n  - conv: {c: 64, k: 3, p: 1, bias: false}\n"), Settings(device=a100))
    row = report.rows[0]
    macs = 64 * 64 * 9 * 56 * 56
    moved = 4 * (64 * 56 * 56 + 64 * 56 * 56 + 64 * 64 * 9)
    assert (row.macs, row.bytes_moved) == (macs, moved)
    assert row.time_s == report.time_s == max(2 * macs / 19.5e12, moved / 1.555e12)
    assert roofline(macs, moved, a100).bound == "compute"
    assert roofline(0, moved, a100).bound == "memory"
    assert device("1e12,1e9", "fp32")[1:3] == (1e12, 1e9) and device("fast", "fp32") is None
    assert all(source for *_, source in DEVICES.values())  # every preset names where its figures come from


# --- PyTorch measured live (torch without torchvision: CI has it) ------------------------------

RESIDUAL = """
input: [8, 8, 8]
layers:
  - conv: {c: 8, k: 3, p: 1}
  - residual:
      - conv: {c: 8, k: 3, p: 1, bias: false}
      - batchnorm
      - relu
      - conv: {c: 8, k: 3, p: 1, bias: false}
      - batchnorm
  - relu
"""

BRANCHES = """
input: [4, 8, 8]
layers:
  - conv: {c: 8, k: 1}
  - concat:
      - [conv: {c: 4, k: 1}, relu]
      - [conv: {c: 4, k: 3, p: 1}, relu]
      - [maxpool: {k: 3, s: 1, p: 1}]
  - conv: {c: 4, k: 1}
  - gelu
  - global_avgpool
  - flatten
  - linear: {out: 3}
"""


def torch_models():
    torch = pytest.importorskip("torch")
    from torch import nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):  # one layer a statement, as torchvision's ResNet writes it
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            out += x
            return self.relu(out)

    class Branches(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(inplace=True))
            self.b2 = nn.Sequential(nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(inplace=True))
            self.b3 = nn.MaxPool2d(3, 1, 1)

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)

    return {
        "chain": (CHAIN, (3, 8, 8), nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                                                  nn.MaxPool2d(2, 2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10))),
        "residual": (RESIDUAL, (8, 8, 8), nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), Residual())),
        "branches": (BRANCHES, (4, 8, 8), nn.Sequential(nn.Conv2d(4, 8, 1), Branches(), nn.Conv2d(16, 4, 1), nn.GELU(),
                                                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))),
    }


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", ["chain", "residual", "branches"])
def test_small_networks_against_pytorch_live(name, batch):
    models = torch_models()
    import torch

    sys.path.insert(0, str(HERE / "oracle"))
    from measure_memory import inference_peak_bytes, saved_bytes

    text, shape, model = models[name]
    report = analyze(small(text), Settings(batch=batch))
    assert report.saved_activation_bytes == saved_bytes(model, torch.zeros(batch, *shape))
    assert report.inference_peak_bytes == inference_peak_bytes(model, (batch, *shape))
    assert report.params == sum(p.numel() for p in model.parameters())


# --- the command line ----------------------------------------------------------------------

def run(*args):
    from typer.testing import CliRunner

    from convcalc.cli import app

    return CliRunner().invoke(app, list(args))


def test_json_carries_every_memory_figure():
    data = json.loads(run("net", "resnet18", "--format", "json", "--device", "t4", "--optimizer", "sgd").stdout)
    total = data["total"]
    assert total["saved_activation_bytes"] == REFERENCE["resnet18"]["saved_bytes_batch1"]
    assert total["inference_peak_bytes"] == REFERENCE["resnet18"]["inference_peak_bytes_batch1"]
    assert total["training"]["optimizer"] == "sgd" and total["device"]["name"] == "t4"
    assert total["time_s"] == pytest.approx(sum(x["time_s"] for x in data["layers"]), rel=1e-4)
    assert {x["bound"] for x in data["layers"]} == {"compute", "memory"}
    assert sum(x["saved_bytes"] for x in data["layers"]) == total["saved_activation_bytes"]


def test_table_names_every_memory_figure():
    out = run("net", "resnet18", "--device", "a100").stdout
    for label in ("saved for backward", "inference peak", "training memory", "course count", "backward MACs",
                  "time share", "roofline bound on a100"):
        assert label in out, label


@pytest.mark.parametrize("args, message", [
    (["--device", "tpu"], "--device: must be one of a100, h100, v100, t4, rtx4090, or peak FLOP/s"),
    (["--device", "0,1e9"], "--device: must be one of"),
    (["--optimizer", "lion"], "--optimizer: must be one of sgd, momentum, adam, adamw, got 'lion'"),
    (["--amp", "fp8"], "--amp: must be one of fp16, bf16, got 'fp8'"),
])
def test_bad_memory_options(args, message):
    result = run("net", "resnet18", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_batch_scales_activations_not_statistics():
    one, two = (analyze(load(find("resnet50")), Settings(batch=b)) for b in (1, 2))
    stats = 2 * 4 * 26_560  # float32 mean and inverse std of ResNet-50's 26,560 batchnorm channels
    assert two.saved_activation_bytes == 2 * (one.saved_activation_bytes - stats) + stats
    assert two.inference_peak_bytes == 2 * one.inference_peak_bytes
    assert sum(prod(r.output_shape[:1]) for r in one.rows if r.kind == "batchnorm") == 26_560


FROZEN = """
input: [3, 16, 16]
layers:
  - {conv: {c: 8, k: 3, bn: true, act: relu}, frozen: true, repeat: 2}
  - conv: {c: 8, k: 3}
  - relu
  - global_avgpool
  - flatten
  - linear: {out: 10}
"""


@pytest.mark.parametrize("batch", [1, 2])
def test_frozen_layers_against_pytorch_live(batch):
    """A frozen backbone (requires_grad False): no gradients, no optimizer state, nothing saved
    before the first trained layer, no weight gradients in the backward MACs."""
    torch = pytest.importorskip("torch")
    from torch import nn

    sys.path.insert(0, str(HERE / "oracle"))
    from measure_memory import saved_bytes

    backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                             nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
    for p in backbone.parameters():
        p.requires_grad_(False)
    model = nn.Sequential(backbone, nn.Conv2d(8, 8, 3), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    report = analyze(small(FROZEN), Settings(batch=batch))
    assert report.frozen_params == sum(p.numel() for p in backbone.parameters())
    assert report.trainable_params == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert report.saved_activation_bytes == saved_bytes(model, torch.zeros(batch, 3, 16, 16))
    conv3, linear = 8 * 8 * 9 * 10 * 10 * batch, 8 * 10 * batch
    assert report.backward_macs == conv3 + 2 * linear  # weight gradient only where the input needs none
    from convcalc.render.report import totals_dict

    assert totals_dict(report)["training"]["gradients"] == 4 * report.trainable_params


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "mobilenet_v2", "lenet5"])
def test_by_op_adds_up(name):
    data = json.loads(run("net", name, "--by-op", "--format", "json").stdout)
    groups, total = data["by_op"], data["total"]
    assert sum(g["params"] for g in groups.values()) == total["params"]
    assert sum(g["macs"] for g in groups.values()) == total["macs"]
    assert sum(g["saved_bytes"] for g in groups.values()) == total["saved_activation_bytes"]
    assert sum(g["layers"] for g in groups.values()) == len(data["layers"])
    assert groups["conv"]["macs"] > 0


def test_by_op_counts_resnet50_by_hand():
    groups = json.loads(run("net", "resnet50", "--by-op", "--format", "json").stdout)["by_op"]
    assert groups["conv"]["layers"] == 1 + 3 * (3 + 4 + 6 + 3) + 4  # stem, three per bottleneck, four projections
    assert groups["norm"]["layers"] == groups["conv"]["layers"]  # a batchnorm after every convolution
    assert groups["merge"]["layers"] == 3 + 4 + 6 + 3
    assert groups["linear"]["params"] == 2048 * 1000 + 1000
    assert run("net", "resnet50", "--by-op", "--format", "csv").exit_code == 2

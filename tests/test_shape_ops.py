"""Operations that cost nothing but change shapes: channel split (`split`), `channel_shuffle`, `pad`
(zeros, reflect, replicate) — against PyTorch where torch is installed (shapes, parameters, the
receptive field as the input gradient sees it, saved and live bytes), and their errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from convcalc import Settings, SpecError, analyze, loads

HERE = Path(__file__).parent

SHUFFLE_UNIT = """
input: [116, 14, 14]
blocks:
  unit:                                    # ShuffleNetV2, stride 1: half the channels pass, half are filtered
    args: {c: required}
    layers:
      - split:
          parts: 2
          paths:
            - []
            - - conv: {c: $c / 2, k: 1, bias: false, bn: true, act: relu}
              - conv: {c: $c / 2, k: 3, p: 1, groups: $c / 2, bias: false, bn: true}
              - conv: {c: $c / 2, k: 1, bias: false, bn: true, act: relu}
      - channel_shuffle: {groups: 2}
layers:
  - conv: {c: 116, k: 1}
  - {unit: {c: 116}, repeat: 2}
"""


def test_shufflenet_unit_by_hand():
    report = analyze(loads(SHUFFLE_UNIT))
    half = 58
    branch = half * half + 2 * half + half * 9 + 2 * half + half * half + 2 * half  # 1×1, bn, depthwise 3×3, bn, 1×1, bn
    assert report.params == 116 * 116 + 116 + 2 * branch
    assert report.output_shape == (116, 14, 14)
    rows = {r.name: r for r in report.rows}
    assert rows["unit1.split1.concat"].parts == ((58, 14, 14), (58, 14, 14))
    assert rows["unit1.split1.1.conv1"].input_shape == (58, 14, 14)
    # the field: the identity half and the filtered half (3×3) united
    assert [a.size for a in rows["unit1"].field.axes] == [3, 3]
    assert [a.size for a in report.field.axes] == [5, 5]


@pytest.mark.parametrize("text, message", [
    ("  - split: {parts: 3, paths: [[], []]}\n", "split: 3 equal parts of 8 channels for 2 paths, got 3"),
    ("  - split: {sizes: [3, 4], paths: [[], []]}\n", "split: one size per path (2), adding up to the 8 channels, got [3, 4]"),
    ("  - split: {parts: 2, sizes: [4, 4], paths: [[], []]}\n", "needs paths: and either parts: (equal parts) or sizes: (one per path)"),
    ("  - split: {parts: 2, paths: [[], []], then: multiply}\n", "then: must be concat or add, got 'multiply'"),
    ("  - split: {parts: 2, paths: [[], e1]}\n", "paths: needs a list of at least two paths"),
    ("  - channel_shuffle: {groups: 3}\n", "groups: must divide the channels (8), got 3"),
    ("  - pad: {p: 8, mode: reflect}\n", "axis H: reflect padding must be smaller than the input (8), as PyTorch checks, got 8"),
    ("  - pad: {p: 1, mode: mirror}\n", "mode: must be zeros, reflect or replicate, got 'mirror'"),
    ("  - pad: {p: same}\n", "p: must be a number or a pair (before, after) per axis, got 'same'"),
])
def test_errors(text, message):
    with pytest.raises(SpecError) as caught:
        analyze(loads("input: [8, 8, 8]\nlayers:\n" + text, "net.yaml"))
    assert message in str(caught.value)


def test_pad_shapes_and_fields():
    report = analyze(loads("input: [2, 6, 7]\nlayers:\n  - pad: {p: [[1, 2], [0, 3]]}\n  - conv: {c: 1, k: 3}\n"))
    pad, conv = report.rows
    assert pad.output_shape == (2, 6 + 1 + 2, 7 + 0 + 3)
    assert conv.output_shape == (1, 9 - 2, 10 - 2)
    # zeros shift the field exactly: the first output's 3×3 window starts one row above the input
    assert [a.size for a in conv.field.axes] == [3, 3] and [float(a.start) for a in conv.field.axes] == [0.5, 1.5]
    assert conv.field.exact
    reflect = analyze(loads("input: [2, 6, 7]\nlayers:\n  - pad: {p: 1, mode: reflect}\n  - conv: {c: 1, k: 3}\n"))
    assert not reflect.field.exact  # a bound


# --- against PyTorch ----------------------------------------------------------------------

def shuffle_module():
    torch = pytest.importorskip("torch")
    from torch import nn

    def channel_shuffle(x, groups):  # as torchvision.models.shufflenetv2 writes it
        b, c, h, w = x.size()
        x = x.view(b, groups, c // groups, h, w)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(b, -1, h, w)

    class Unit(nn.Module):  # torchvision's InvertedResidual at stride 1
        def __init__(self, c):
            super().__init__()
            half = c // 2
            self.branch2 = nn.Sequential(
                nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
                nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
                nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))

        def forward(self, x):
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
            return channel_shuffle(out, 2)

    return nn.Sequential(nn.Conv2d(116, 116, 1), Unit(116), Unit(116))


@pytest.mark.parametrize("batch", [1, 2])
def test_shufflenet_unit_against_pytorch(batch):
    model = shuffle_module()
    import torch

    sys.path.insert(0, str(HERE / "oracle"))
    from measure_memory import inference_peak_bytes, saved_bytes

    report = analyze(loads(SHUFFLE_UNIT), Settings(batch=batch))
    assert report.params == sum(p.numel() for p in model.parameters())
    assert report.buffers == sum(b.numel() for b in model.buffers())
    assert tuple(model.eval()(torch.zeros(batch, 116, 14, 14)).shape[1:]) == report.output_shape
    assert report.saved_activation_bytes == saved_bytes(model, torch.zeros(batch, 116, 14, 14))
    assert report.inference_peak_bytes == inference_peak_bytes(model, (batch, 116, 14, 14))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (0, 2, 1, 0), (2, 1, 3, 2)])
def test_pad_against_pytorch(mode, pads):
    """Shapes as F.pad gives them; the field of every output unit, as the input gradient sees it:
    equal to convcalc's for zeros, inside its bound for reflect and replicate."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    left, right, top, bottom = pads  # F.pad's order: last axis first
    text = (f"input: [1, 5, 6]\nlayers:\n  - pad: {{p: [[{top}, {bottom}], [{left}, {right}]], mode: {mode}}}\n"
            "  - conv: {c: 1, k: 2, bias: false}\n")
    report = analyze(loads(text))
    torch_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}[mode]
    x = torch.ones(1, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(F.pad(x, pads, mode=torch_mode), torch.ones(1, 1, 2, 2, dtype=torch.float64))
    assert tuple(y.shape[1:]) == report.output_shape
    field = report.field
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            x.grad = None
            y[0, 0, i, j].backward(retain_graph=True)
            rows, cols = x.grad[0, 0].abs().sum(1).nonzero().flatten(), x.grad[0, 0].abs().sum(0).nonzero().flatten()
            for axis, unit, hits in ((0, i, rows), (1, j, cols)):
                a = field.axes[axis]
                low = a.start + unit * a.jump - a.size / 2  # the field of output `unit`, in input cells [low, high)
                high = low + a.size
                if len(hits):
                    assert low <= int(hits.min()) and int(hits.max()) + 1 <= high, (axis, unit, hits)
                    if mode == "zeros":  # exact: the cells inside the input are exactly the field's
                        assert (int(hits.min()), int(hits.max()) + 1) == (max(0, low), min((5, 6)[axis], high))

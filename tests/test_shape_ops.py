"""Operations that cost nothing but change shapes: channel split (`split`), `channel_shuffle`, `pad`
(zeros, reflect, replicate) — against PyTorch where torch is installed (shapes, parameters, the
receptive field as the input gradient sees it, saved and live bytes), and their errors."""

from __future__ import annotations

import json
import re
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
    ("  - crop: {size: 9}\n", "axis H: the crop (9 from 0) must lie inside the input (8), got size 9"),
    ("  - crop: {size: 4, offset: 5}\n", "axis H: the crop (4 from 5) must lie inside the input (8), got size 4"),
    ("  - crop: {like: nowhere}\n", "unknown id"),
    ("  - resize: {size: 4, factor: 2}\n", "size: give the size, or factor, or like: an id (one of them)"),
    ("  - resize: {factor: 0.01}\n", "factor: the output would be empty (0×0), got 0.01"),
    ("  - resize: {factor: -1}\n", "factor: must be a positive number, got -1"),
    ("  - resize: {like: 3}\n", "like: an id must be a name (a string), got 3"),
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

def assert_fields_hold(field, x, y, exact: bool = False) -> None:
    """Every output unit's input cells, as its gradient shows them, inside the unit's field (for an
    exact field: the field's cells inside the input, exactly)."""
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
                    assert low <= int(hits.min()) and int(hits.max()) + 1 <= high, (axis, unit, hits.tolist())
                    if exact:
                        assert (int(hits.min()), int(hits.max()) + 1) == (max(0, low), min(x.shape[2 + axis], high))


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
    assert_fields_hold(report.field, x, y, exact=mode == "zeros")


UNET = """
input: [1, 572, 572]
blocks:
  double:
    args: {c: required}
    layers:
      - conv: {c: $c, k: 3, act: relu}
      - conv: {c: $c, k: 3, act: relu}
  down:
    args: {c: required, keep: required}
    layers:
      - {double: {c: $c}, id: $keep}
      - maxpool: {k: 2}
  up:
    args: {c: required, skip: required}
    layers:
      - {convT: {c: $c, k: 2, s: 2}, id: up}
      - concat: [[{crop: {like: up}, from: $skip}], []]
      - double: {c: $c}
layers:
  - down: {c: 64, keep: e1}
  - down: {c: 128, keep: e2}
  - down: {c: 256, keep: e3}
  - down: {c: 512, keep: e4}
  - double: {c: 1024}
  - up: {c: 512, skip: e4}
  - up: {c: 256, skip: e3}
  - up: {c: 128, skip: e2}
  - up: {c: 64, skip: e1}
  - conv: {c: 2, k: 1}
"""


def test_unet_of_the_paper():
    """Ronneberger et al. (2015), Fig. 1: valid 3×3 convolutions, 2×2 up-convolutions, the skip
    connections cropped to the decoder's size; a 572×572 tile gives a 388×388 map."""
    report = analyze(loads(UNET))
    assert report.output_shape == (2, 388, 388)
    crops = [r for r in report.rows if r.kind == "crop"]
    assert [(r.input_shape[1], r.output_shape[1]) for r in crops] == [(64, 56), (136, 104), (280, 200), (568, 392)]
    assert [r.cost.windows[0].offset for r in crops] == [4, 16, 40, 88]  # centred: (64 − 56)/2, …


def test_input_is_an_id():
    report = analyze(loads("input: [3, 50, 60]\nlayers:\n  - conv: {c: 4, k: 3, s: 4}\n  - resize: {like: input, mode: bilinear}\n"
                           "  - concat: [[], [{conv: {c: 2, k: 1}, from: input}]]\n"))
    assert report.output_shape == (4 + 2, 50, 60)


def torch_or_skip():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("size, offset", [((3, 4), None), ((2, 5), (1, 0)), ((4, 4), None), ((1, 1), (3, 5))])
def test_crop_against_pytorch(size, offset):
    """A crop is a slice; every unit's field is the slice's cell (exact), as the gradient shows."""
    torch = torch_or_skip()
    options = f"size: [{size[0]}, {size[1]}]" + (f", offset: [{offset[0]}, {offset[1]}]" if offset else "")
    report = analyze(loads(f"input: [1, 5, 6]\nlayers:\n  - crop: {{{options}}}\n"))
    top, left = offset or (round((5 - size[0]) / 2), round((6 - size[1]) / 2))  # torchvision's center_crop
    x = torch.arange(30.0).reshape(1, 1, 5, 6)
    assert report.output_shape == (1, *size)
    assert [w.offset for w in report.rows[0].cost.windows] == [top, left]
    assert [float(a.start) for a in report.field.axes] == [top + 0.5, left + 0.5] and report.field.exact
    expected = x[:, :, top:top + size[0], left:left + size[1]]
    assert expected.shape[2:] == size


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("resize", ["size: [7, 4]", "size: [3, 9]", "factor: 1.5", "factor: 2", "factor: 0.5", "size: [5, 6]"])
def test_resize_against_pytorch(mode, resize):
    """Output sizes as F.interpolate gives them; every output unit's cells, as its input gradient
    shows them, inside convcalc's field (exact where the ratio is a whole number)."""
    torch = torch_or_skip()
    F = torch.nn.functional
    report = analyze(loads(f"input: [1, 5, 6]\nlayers:\n  - resize: {{{resize}, mode: {mode}}}\n"))
    x = torch.ones(1, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    key, _, value = resize.partition(": ")
    kwargs = {"size": tuple(json.loads(value))} if key == "size" else {"scale_factor": float(value)}
    y = F.interpolate(x, mode=mode, **({"align_corners": False} if mode == "bilinear" else {}), **kwargs)
    assert tuple(y.shape[1:]) == report.output_shape
    assert_fields_hold(report.field, x, y)


def test_a_full_field_stays_full():
    """Once every input cell reaches a unit (a global pooling), every layer after it — a 1×1
    convolution of a squeeze-and-excitation gate, DeepLabV3's pooled branch resized back — still
    depends on every input cell."""
    report = analyze(loads("input: [8, 16, 16]\nlayers:\n  - global_avgpool\n  - conv: {c: 4, k: 1}\n"
                           "  - resize: {size: 16, mode: bilinear}\n  - conv: {c: 2, k: 3}\n"))
    assert all(r.field.full for r in report.rows)
    gated = analyze(loads("input: [8, 16, 16]\nlayers:\n  - conv: {c: 8, k: 3, p: 1}\n"
                          "  - multiply: [[], [global_avgpool, {conv: {c: 8, k: 1, act: sigmoid}}]]\n"))
    assert gated.field.full


def test_slice_reshape_and_opaque_in_a_description():
    """The kinds the model readers write, written by hand: a channel slice, a reshape, an operation without formula."""
    text = ("input: [8, 4, 4]\nlayers:\n  - slice: {start: 2, size: 4}\n  - opaque: {op: my_op, shape: [4, 2, 2], params: 10}\n"
            "  - reshape: {shape: [16]}\n  - linear: {out: 3}\n")
    report = analyze(loads(text))
    assert [r.output_shape for r in report.leaves] == [(4, 4, 4), (4, 2, 2), (16,), (3,)]
    assert report.params == 10 + 16 * 3 + 3 and report.macs == 16 * 3
    assert report.unknown_ops == ("my_op",)
    assert report.field.full  # past an operation without formula the field is taken whole: a bound


@pytest.mark.parametrize("item, message", [
    ("slice: {start: 6, size: 4}", "channels 6 to 9 must lie inside the input's 8"),
    ("reshape: {shape: [4, 8, 2]}", "must hold the input's 128 elements"),
    ("reshape: {shape: [4, 32]}", "keeps the channels (8×4×4) or flattens everything"),
    ("attention: {heads: 3}", "heads: must divide the channels (8)"),
    ("class_token", "a class token goes before the positions of a C×L sequence"),
    ("opaque: {op: 7, shape: [4]}", "must be the operation's name"),
])
def test_slice_reshape_and_opaque_refusals(item, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        analyze(loads(f"input: [8, 4, 4]\nlayers:\n  - {item}\n"))


def test_a_vision_transformer_block_by_hand():
    """Patches into a sequence, ViT's class token and position embedding, self-attention: the counts as arithmetic."""
    text = ("input: [64, 4, 4]\nlayers:\n  - reshape: {shape: [64, 16]}\n  - class_token\n  - position_embedding\n"
            "  - layernorm\n  - attention: {heads: 8}\n")
    report = analyze(loads(text))
    e, t = 64, 17
    assert [r.output_shape for r in report.leaves] == [(64, 16), (64, 17), (64, 17), (64, 17), (64, 17)]
    assert report.params == e + e * t + 2 * e + 4 * e * e + 4 * e
    assert report.macs == 4 * t * e * e + 2 * t * t * e


# (attention options on an input of E = 16 channels, H×W, expected params, buffers, MACs) — arithmetic:
# T_p positions once padded to a multiple of the window, N per window; 4·T_p·E² + 2·T_p·N·E MACs
WINDOWED = [
    ("{heads: 2, window: 4}", (8, 8), 4 * 16 * 16 + 4 * 16, 0, 4 * 64 * 16 * 16 + 2 * 64 * 16 * 16),
    ("{heads: 2, window: 4}", (8, 7), 4 * 16 * 16 + 4 * 16, 0, 4 * 64 * 16 * 16 + 2 * 64 * 16 * 16),  # 7 padded to 8
    ("{heads: 2, window: [2, 4], bias: false}", (5, 5), 4 * 16 * 16, 0, 4 * 6 * 8 * 16 * 16 + 2 * 48 * 8 * 16),
    ("{heads: 2, window: 4, shift: 2, position_bias: table}", (8, 8),  # Swin: a (2w − 1)² table per head, N² indices
     4 * 16 * 16 + 4 * 16 + 7 * 7 * 2, 16 * 16, 4 * 64 * 16 * 16 + 2 * 64 * 16 * 16),
    ("{heads: 4, window: 4, position_bias: mlp, cosine: true}", (8, 8),  # Swin V2: MLP 2→512→4, a scale per head
     4 * 16 * 16 + 4 * 16 + (2 * 512 + 512 + 512 * 4) + 4, 7 * 7 * 2 + 16 * 16,
     4 * 64 * 16 * 16 + 2 * 64 * 16 * 16 + 7 * 7 * (2 * 512 + 512 * 4)),
    ("{heads: 2, window: 2, grid: true}", (8, 6), 4 * 16 * 16 + 4 * 16, 0, 4 * 48 * 16 * 16 + 2 * 48 * 4 * 16),  # MaxViT's grid
]


@pytest.mark.parametrize("options, spatial, params, buffers, macs", WINDOWED)
def test_windowed_attention_counts(options, spatial, params, buffers, macs):
    report = analyze(loads(f"input: [16, {spatial[0]}, {spatial[1]}]\nlayers:\n  - attention: {options}\n"))
    row = report.leaves[0]
    assert (row.output_shape, row.params, row.buffers, row.macs) == ((16, *spatial), params, buffers, macs)


def test_window_and_grid_receptive_fields():
    """A window reads at most w − 1 positions either side (a bound); a grid's window spans the axis."""
    windowed = analyze(loads("input: [8, 16, 16]\nlayers:\n  - attention: {heads: 2, window: 4}\n"))
    assert not windowed.field.full and windowed.field.axes[0].size == 1 + 2 * 3 and not windowed.field.exact
    grid = analyze(loads("input: [8, 16, 16]\nlayers:\n  - attention: {heads: 2, window: 4, grid: true}\n"))
    assert grid.field.full


SPACE_TO_DEPTH = [  # (options, input, output, receptive field r per axis) — C·r^d channels, ⌈M/r⌉ positions with pad
    ("space_to_depth", (4, 6, 8), (4 * 2 * 2, 6 // 2, 8 // 2), 2),
    ("space_to_depth: {factor: 3}", (2, 9, 3), (2 * 3 * 3, 9 // 3, 3 // 3), 3),
    ("space_to_depth: {pad: true}", (4, 7, 5), (4 * 2 * 2, (7 + 1) // 2, (5 + 1) // 2), 2),  # Swin's patch merging, odd sizes
    ("space_to_depth: {factor: 2}", (4, 8), (4 * 2, 8 // 2), 2),
]


@pytest.mark.parametrize("item, shape, out, field", SPACE_TO_DEPTH)
def test_space_to_depth_shapes(item, shape, out, field):
    report = analyze(loads(f"input: {list(shape)}\nlayers:\n  - {item}\n"))
    assert report.output_shape == out and report.params == report.macs == 0
    assert all(a.size == field for a in report.field.axes) and report.field.exact


@pytest.mark.parametrize("item, message", [
    ("attention: {heads: 2, position_bias: table}", "a position bias, a grid or a shift needs a window"),
    ("attention: {heads: 2, window: 4, shift: 4}", "shift: must be smaller than the window (4×4)"),
    ("attention: {heads: 2, window: 3, grid: true}", "window: a grid's window must divide the input (8×8)"),
    ("attention: {heads: 2, window: [2, 2, 2]}", "window: needs 1 or 2 values for 2 spatial axes"),
    ("attention: {heads: 2, window: 2, position_bias: learned}", "position_bias: must be none, table or mlp"),
    ("attention: {heads: 2, window: 2, grid: 1}", "grid: must be true or false"),
    ("space_to_depth: {factor: 3}", "factor: must divide every spatial size (8×8) unless pad is true"),
    ("space_to_depth: {factor: 0}", "factor: must be a positive number"),
    ("space_to_depth: {factor: 1.5}", "factor: must be a positive integer"),
])
def test_windowed_attention_and_space_to_depth_refusals(item, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        analyze(loads(f"input: [8, 8, 8]\nlayers:\n  - {item}\n"))


@pytest.mark.parametrize("item, out", [
    ("reshape: {shape: [8, -1]}", (8, 4 * 4)),  # ViT's patches into a sequence, at any input size
    ("reshape: {shape: [-1]}", (8 * 4 * 4,)),
    ("reshape: {shape: [8, 2, -1]}", (8, 2, 16 // 2)),
])
def test_reshape_infers_one_size(item, out):
    assert analyze(loads(f"input: [8, 4, 4]\nlayers:\n  - {item}\n")).output_shape == out


@pytest.mark.parametrize("item, message", [
    ("reshape: {shape: [3, -1]}", "shape: must hold the input's 128 elements"),
    ("reshape: {shape: [-1, -1]}", "shape: must be 1 to 4 positive sizes"),
    ("reshape: {shape: [8, 0]}", "shape: must be 1 to 4 positive sizes"),
])
def test_reshape_refusals(item, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        analyze(loads(f"input: [8, 4, 4]\nlayers:\n  - {item}\n"))

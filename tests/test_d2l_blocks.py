"""The blocks and networks courses ask about, by name, run by PyTorch: d2l's with the book's argument names against
the book's own code (tests/oracle/d2l_models.py, MIT-0), and the others against the modules torchvision builds them
with (torchvision.models.resnet.Bottleneck, torchvision.ops.SqueezeExcitation, torchvision.models.squeezenet.Fire,
torchvision.models.mobilenetv2.InvertedResidual) or a depthwise separable convolution written here: parameters,
buffers, the output shape and the MACs (PyTorch's FLOP counter, halved) of each example, and of other arguments."""

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent / "oracle"))
import d2l_models as d2l  # noqa: E402

torchvision = pytest.importorskip("torchvision")
from torch import nn  # noqa: E402
from torchvision.models.mobilenetv2 import InvertedResidual  # noqa: E402
from torchvision.models.resnet import Bottleneck  # noqa: E402
from torchvision.models.squeezenet import Fire  # noqa: E402
from torchvision.ops import SqueezeExcitation  # noqa: E402

runner = CliRunner()

CASES = [  # the bundled name, --set arguments, the input, the same block as d2l builds it
    ("residual", [], (3, 6, 6), lambda: d2l.Residual(3)),
    ("residual", ["num_channels=6", "use_1x1conv=true", "strides=2"], (3, 6, 6),
     lambda: d2l.Residual(6, use_1x1conv=True, strides=2)),
    ("inception", [], (192, 28, 28), lambda: d2l.Inception(64, (96, 128), (16, 32), 32)),
    ("inception", ["c1=128", "c2=[128, 192]", "c3=[32, 96]", "c4=64"], (256, 28, 28),
     lambda: d2l.Inception(128, (128, 192), (32, 96), 64)),
    ("dense_block", [], (3, 8, 8), lambda: d2l.DenseBlock(2, 10)),
    ("dense_block", ["num_convs=4", "num_channels=32"], (64, 24, 24), lambda: d2l.DenseBlock(4, 32)),
    ("transition", [], (23, 8, 8), lambda: d2l.transition_block(10)),
    ("vgg_block", ["num_convs=2", "out_channels=128"], (64, 112, 112), lambda: d2l.vgg_block(2, 128)),
    ("nin_block", ["out_channels=256", "kernel_size=5", "strides=1", "padding=2"], (96, 26, 26),
     lambda: d2l.nin_block(256, kernel_size=5, strides=1, padding=2)),
    ("d2l_resnet18", [], (1, 96, 96), d2l.resnet18),
    ("d2l_googlenet", ["classes=5"], (1, 96, 96), lambda: d2l.googlenet(num_classes=5)),
]


def projected(inplanes, planes, stride):
    """ResNet's _make_layer: a 1×1 convolution and batchnorm with the stride where the shape changes."""
    return nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))


def separable(cin, c, k=3, s=1, p=1, bias=True, bn=False):
    layers = [nn.Conv2d(cin, cin, k, s, p, groups=cin, bias=bias)] + ([nn.BatchNorm2d(cin), nn.ReLU()] if bn else [])
    layers += [nn.Conv2d(cin, c, 1, bias=bias)] + ([nn.BatchNorm2d(c), nn.ReLU()] if bn else [])
    return nn.Sequential(*layers)


TORCHVISION_CASES = [  # the bundled name, --set arguments, the input, the same block as torchvision builds it
    ("bottleneck", [], (256, 56, 56), lambda: Bottleneck(256, 64)),
    ("bottleneck", [], (64, 56, 56), lambda: Bottleneck(64, 64, downsample=projected(64, 64, 1))),  # ResNet-50's first
    ("bottleneck", ["planes=128", "stride=2"], (256, 56, 56), lambda: Bottleneck(256, 128, 2, projected(256, 128, 2))),
    ("se", [], (256, 56, 56), lambda: SqueezeExcitation(256, 256 // 16)),
    ("se", ["r=4"], (96, 14, 10), lambda: SqueezeExcitation(96, 96 // 4)),
    ("fire", [], (96, 54, 54), lambda: Fire(96, 16, 64, 64)),
    ("fire", ["squeeze_planes=32", "expand1x1_planes=128", "expand3x3_planes=128"], (128, 54, 54), lambda: Fire(128, 32, 128, 128)),
    ("separable", [], (32, 56, 56), lambda: separable(32, 64)),
    ("separable", ["c=128", "s=2", "bias=false", "bn=true", "act=relu"], (64, 112, 112),
     lambda: separable(64, 128, s=2, bias=False, bn=True)),
    ("separable", ["k=5", "p=2"], (16, 9, 11), lambda: separable(16, 64, k=5, p=2)),
    ("inverted_residual", [], (24, 56, 56), lambda: InvertedResidual(24, 24, 1, 6)),
    ("inverted_residual", ["c=24", "s=2"], (16, 112, 112), lambda: InvertedResidual(16, 24, 2, 6)),
    ("inverted_residual", ["c=16", "t=1"], (32, 112, 112), lambda: InvertedResidual(32, 16, 1, 1)),
]


def pytorch_figures(build, shape):
    from torch.utils.flop_counter import FlopCounterMode

    model = build()
    model(torch.zeros(2, *shape))  # the book's lazy modules take their input channels here (a batch of 2 for BatchNorm1d)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, *shape))
    return {"params": sum(p.numel() for p in model.parameters()), "buffers": sum(b.numel() for b in model.buffers()),
            "macs": counter.get_total_flops() // 2, "output_shape": list(out.shape[1:])}


@pytest.mark.parametrize("name, arguments, shape, build", CASES + TORCHVISION_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_a_block_by_name_is_the_books(name, arguments, shape, build):
    args = ["net", name, "--input", "x".join(map(str, shape)), "-f", "json"] + [a for v in arguments for a in ("--set", v)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ours = {"params": data["total"]["params"], "buffers": data["total"]["buffers"], "macs": data["total"]["macs"],
            "output_shape": data["output_shape"]}
    assert ours == pytorch_figures(build, shape)


def test_a_list_argument_takes_its_items():
    result = runner.invoke(app, ["net", "inception", "--set", "c2=[96]"])
    assert result.exit_code == 1 and "$c2[1]: $c2 must be a list of at least 2 values" in result.stderr


def test_the_input_channels_are_the_blocks():
    """C/r inside SE, the depthwise filters of a separable convolution: from --input, by arithmetic."""
    data = json.loads(runner.invoke(app, ["net", "se", "--input", "64x8x8", "--set", "r=8", "-f", "json"]).stdout)
    assert data["total"]["params"] == (64 * 8 + 8) + (8 * 64 + 64)  # 64 → 8 → 64, 1×1 with biases
    data = json.loads(runner.invoke(app, ["net", "separable", "--input", "3x32x32", "-f", "json"]).stdout)
    assert data["total"]["params"] == (3 * 9 + 3) + (3 * 64 + 64)

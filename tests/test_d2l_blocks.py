"""d2l's blocks and networks by name, with the book's argument names, against the book's own code
(tests/oracle/d2l_models.py, MIT-0) run by PyTorch: parameters, buffers, the output shape and the
MACs (PyTorch's FLOP counter, halved) of each example the book gives, and of other arguments."""

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent / "oracle"))
import d2l_models as d2l  # noqa: E402

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


def pytorch_figures(build, shape):
    from torch.utils.flop_counter import FlopCounterMode

    model = build()
    model(torch.zeros(2, *shape))  # the book's lazy modules take their input channels here (a batch of 2 for BatchNorm1d)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, *shape))
    return {"params": sum(p.numel() for p in model.parameters()), "buffers": sum(b.numel() for b in model.buffers()),
            "macs": counter.get_total_flops() // 2, "output_shape": list(out.shape[1:])}


@pytest.mark.parametrize("name, arguments, shape, build", CASES, ids=lambda v: v if isinstance(v, str) else None)
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

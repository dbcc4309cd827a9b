"""Darknet's .cfg files (convcalc/formats/darknet.py). The files in tests/darknet/ are AlexeyAB/darknet's
cfg/ (public domain: "Darknet is public domain. Do whatever you want with it."). Each one convcalc reads is
checked layer by layer against a PyTorch construction of the same file written in the tests
(tests/oracle/darknet_torch.py): output sizes, parameters, buffers, PyTorch's counter's MACs, and the
BFLOPs Darknet's printout gives per layer; the totals against the figures Darknet's README prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import analyze
from convcalc.cli import app
from convcalc.core.counting import count
from convcalc.core.errors import SpecError
from convcalc.formats.darknet import read_darknet

runner = CliRunner()
FILES = Path(__file__).parent / "darknet"
CFGS = sorted(FILES.glob("*.cfg"))

# what convcalc refuses, and the words that say why
REFUSED = {"darknet53_448_xnor": "xnor", "tiny-yolo_xnor": "xnor", "yolov3-tiny_xnor": "xnor",
           "csresnext50-panet-spp": "at least this layer's channels", "yolov3-tiny_occlusion_track": "[crnn]"}


def per_layer(network) -> dict[str, tuple]:
    """Each Darknet layer (a row at depth 0, named by its number): output shape and BFLOPs under --count darknet."""
    report = analyze(network)
    layers: dict[str, list] = {}
    for row in report.rows:
        number = row.name.split(".")[0]
        entry = layers.setdefault(number, [None, 0])
        if row.depth == 0:
            entry[0] = row.output_shape
        if row.leaf:
            entry[1] += count("darknet", row, 1)
    return {k: (tuple(v[0]), v[1]) for k, v in layers.items()}, report


@pytest.mark.parametrize("path", CFGS, ids=lambda p: p.stem)
def test_every_cfg_is_read_or_refused_in_one_line(path):
    result = runner.invoke(app, ["net", str(path), "--format", "json", "--count", "darknet"])
    if path.stem in REFUSED:
        assert result.exit_code != 0 and result.output.startswith("Error: ") and result.output.count("\n") == 1
        assert REFUSED[path.stem] in result.output
    else:
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("path", [p for p in CFGS if p.stem not in REFUSED], ids=lambda p: p.stem)
def test_layers_equal_a_pytorch_construction_of_the_same_file(path):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from oracle.darknet_torch import DarknetModel

    with torch.device("meta"):  # sizes and counts only: no weights allocated, no arithmetic done
        model = DarknetModel(path)
    x = torch.empty(1, *model.shape, device="meta")
    with torch.no_grad():
        model(x)  # sizes the lazy linear layers
        with FlopCounterMode(display=False) as counter:
            outputs = model(x)
    layers, report = per_layer(read_darknet(path))
    expected_bflops = model.bflops(outputs)
    for number, (y, bflops) in enumerate(zip(outputs, expected_bflops)):
        shape, counted = layers[str(number)]
        assert shape == tuple(y.shape[1:]), f"layer {number}"
        assert counted == bflops, f"layer {number}"
    assert report.params == sum(p.numel() for p in model.parameters())
    assert report.buffers == sum(b.numel() for b in model.buffers())
    assert 2 * report.macs == counter.get_total_flops()


# Darknet's README: "yolov4.cfg … width=608 height=608 in cfg: … 128.5 BFlops", and so on (its rounding)
README_BFLOPS = [("yolov4", "3x608x608", "128.5"), ("yolov4", "3x512x512", "91.1"), ("yolov4", "3x416x416", "60.1"),
                 ("yolov4", "3x320x320", "35.5"), ("yolov4-tiny", None, "6.9"), ("yolov3", None, "65.9"),
                 ("yolov3-tiny", None, "5.6"), ("yolov3-tiny-prn", None, "3.5"), ("enet-coco", None, "3.7"),
                 ("yolov3-spp", None, "141.5"), ("yolov4x-mish", None, "221"), ("yolov4-csp-x-swish", None, "221")]


@pytest.mark.parametrize("name, size, printed", README_BFLOPS, ids=lambda v: str(v))
def test_totals_are_the_bflops_darknet_prints(name, size, printed):
    shape = tuple(map(int, size.split("x"))) if size else None
    _layers, report = per_layer(read_darknet(FILES / f"{name}.cfg", shape))
    total = sum(count("darknet", row, 1) for row in report.rows if row.leaf)
    unit = 10 ** -len(printed.partition(".")[2])  # the README rounds, not always the same way: within one unit of its last digit
    assert abs(total / 1e9 - float(printed)) < unit


def test_maxpool_pads_as_darknet_does():
    """yolov3-tiny's 2×2 stride-1 pooling on 13×13 keeps 13 (P = K − 1 = 1: 0 before, 1 after); 2×2 stride 2 on 416 gives
    ⌊(416 + 1 − 2)/2⌋ + 1 = 208."""
    layers, _ = per_layer(read_darknet(FILES / "yolov3-tiny.cfg"))
    assert layers["1"][0] == (16, (416 + 1 - 2) // 2 + 1, (416 + 1 - 2) // 2 + 1)
    assert layers["11"][0] == (512, 13, 13)
    assert layers["11"][1] == 2 * 2 * 512 * 13 * 13


BAD = [
    ("[convolutional]\nfilters=8\n", "starts with [net]"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=eight\n", "filters: must be an integer"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[route]\nlayers=-1\n", "must name an earlier layer"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=4\n[route]\nlayers=5\n", "must name an earlier layer"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[shortcut]\n", "from: must name earlier layers"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[lstm]\noutput=3\n", "no formula for this layer"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nactivation=softsign\n", "activation"),
    ("[net]\nwidth=32\nheight=32\n", "[net] needs channels, height and width"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\nfilters 3\n", "expected key=value"),
    ("[net\n", "section header"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=99999999999999999999\n", "too large"),
    ("[net]\nwidth=4\nheight=4\nchannels=3\n[convolutional]\nsize=9\nfilters=2\n", "kernel larger"),
    ("[net]\nwidth=4\nheight=4\nchannels=3\n[convolutional]\nfilters=3\ngroups=2\n", "groups"),
]


@pytest.mark.parametrize("text, words", BAD, ids=[w for _, w in BAD])
def test_malformed_files_get_one_error_line(tmp_path, text, words):
    path = tmp_path / "bad.cfg"
    path.write_text(text)
    result = runner.invoke(app, ["net", str(path)])
    assert result.exit_code != 0, result.output
    assert result.output.startswith("Error: bad.cfg") and result.output.count("\n") == 1, result.output
    assert words in result.output


def test_input_overrides_net_and_must_be_an_image():
    layers, _ = per_layer(read_darknet(FILES / "yolov4-tiny.cfg", (3, 608, 608)))
    assert layers["0"][0] == (32, (608 + 2 * 1 - 3) // 2 + 1, (608 + 2 * 1 - 3) // 2 + 1)
    with pytest.raises(SpecError, match="C×H×W"):
        read_darknet(FILES / "yolov4-tiny.cfg", (3, 608))


def test_fuse_folds_each_batchnorm_into_its_convolution():
    """yolov4-tiny fused: each convolution with batchnorm gains a bias (filters) and loses γ, β and the running
    statistics (2·filters + PyTorch's batch counter)."""
    plain, fused = analyze(read_darknet(FILES / "yolov4-tiny.cfg")), analyze(read_darknet(FILES / "yolov4-tiny.cfg", fuse=True))
    norms = [r for r in plain.rows if r.kind == "batchnorm"]
    assert fused.params == plain.params - sum(r.output_shape[0] for r in norms)
    assert fused.buffers == 0 and not any(r.kind == "batchnorm" for r in fused.rows)
    assert fused.macs == plain.macs
    result = runner.invoke(app, ["net", "resnet18", "--fuse"])
    assert result.exit_code == 2 and "--fuse" in result.output

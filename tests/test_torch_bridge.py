"""PyTorch models read as convcalc networks (convcalc/formats/pytorch.py), against PyTorch itself:
parameters and buffers as `sum(p.numel())`, MACs as forward hooks on every convolution and linear
layer count them, the output shape of a forward pass. Runs where torch (and torchvision, timm) are
installed — in CI, which installs them."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from convcalc import analyze  # noqa: E402
from convcalc.core.errors import ConvcalcError  # noqa: E402
from convcalc.formats.pytorch import is_model_target, read_model  # noqa: E402

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSFORMERS = ("vit_", "swin_", "maxvit_")  # attention: MACs as PyTorch's own FLOP counter counts them
SLOW = {"regnet_y_128gf"}  # builds only on the CPU (its widths come from a tensor): 2.6 GB and 10 s


def pytorch_figures(model: nn.Module, shape: tuple) -> dict:
    """What PyTorch says: parameters, buffers, conv + linear MACs (hooks), the output shape (a meta forward pass)."""
    macs = [0]

    def hook(module, inputs, output):
        if isinstance(module, CONVS):
            macs[0] += output[0].numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
        elif isinstance(module, nn.Linear):
            macs[0] += output[0].numel() * module.in_features

    model = model.to("meta").eval()
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (*CONVS, nn.Linear))]
    with torch.no_grad():
        out = model(torch.empty(1, *shape, device="meta"))
    for h in handles:
        h.remove()
    out = out["out"] if isinstance(out, dict) else out
    return {"params": sum(p.numel() for p in model.parameters()), "buffers": sum(b.numel() for b in model.buffers()),
            "macs": macs[0], "output_shape": tuple(out.shape[1:])}


def ours(report) -> dict:
    return {"params": report.params, "buffers": report.buffers, "macs": report.macs, "output_shape": report.output_shape}


def torchvision_classifiers() -> list[str]:
    try:
        import torchvision
    except ImportError:
        return []
    return [n for n in torchvision.models.list_models(module=torchvision.models) if n not in SLOW]


def build_torchvision(name: str):
    import torchvision

    kwargs = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
    try:
        with torch.device("meta"):
            return torchvision.models.get_model(name, **kwargs)
    except Exception:  # RegNet computes its widths with tensors, which meta tensors cannot give back
        return torchvision.models.get_model(name, **kwargs)


@pytest.mark.parametrize("name", torchvision_classifiers())
def test_torchvision_classifiers_equal_pytorch(name, tmp_path):
    shape = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)
    module = tmp_path / f"tv_{name}.py"
    module.write_text(f"from test_torch_bridge import build_torchvision\n\ndef build():\n    return build_torchvision({name!r})\n")
    sys.path.insert(0, str(tmp_path))
    try:
        report = analyze(read_model(f"{module}:build", shape))
    finally:
        sys.path.remove(str(tmp_path))
    theirs = pytorch_figures(build_torchvision(name), shape)
    if name.startswith(TRANSFORMERS):  # hooks miss F.linear and the attention products: PyTorch's FLOP counter
        with torch.device("meta"):
            theirs["macs"] = flop_counter_macs(build_torchvision(name).eval(), shape)
    assert ours(report) == theirs
    assert not report.unknown_ops
    from convcalc import summary

    given = summary(build_torchvision(name), shape)  # the module object itself, as a notebook passes it
    assert ours(given.report) == ours(report) and given.name == report.name


def test_parameters_no_layer_reads_are_listed_not_dropped():
    """GoogLeNet as torchvision builds it by default keeps two auxiliary heads that eval mode never calls."""
    torchvision = pytest.importorskip("torchvision")
    report = analyze(read_model("torchvision.models:googlenet", (3, 224, 224)))
    model = torchvision.models.googlenet(weights=None)
    assert report.params == sum(p.numel() for p in model.parameters())
    unread = [r for r in report.leaves if r.name == "unread_parameters"]
    assert len(unread) == 1 and unread[0].layer.op.startswith("parameters and buffers no operation reads (aux1.")
    assert unread[0].macs == 0 and not report.unknown_ops  # read by nothing, they cost nothing: the totals are whole
    assert unread[0].params == sum(p.numel() for p in [*model.aux1.parameters(), *model.aux2.parameters()])


def test_a_torchvision_function_by_its_import_path():
    torchvision = pytest.importorskip("torchvision")
    report = analyze(read_model("torchvision.models:resnet50", (3, 224, 224)))
    assert ours(report) == pytorch_figures(torchvision.models.resnet50(), (3, 224, 224))


TIMM_CNNS = ["resnet50", "efficientnet_b0", "mobilenetv3_large_100", "convnext_tiny", "ghostnet_100", "cspdarknet53",
             "darknet53", "regnety_040"]


def flop_counter_macs(model, shape) -> int:
    """PyTorch's own FLOP counter on the meta device, math attention, halved: convolutions, linear layers and
    every matrix product (attention's too)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        model(torch.empty(1, *shape, device="meta"))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", ["vit_base_patch16_224", "deit_small_patch16_224"])
def test_timm_vision_transformers_equal_pytorch(name, tmp_path):
    """timm's ViT and DeiT: its PatchEmbed (flatten, transpose), class token, position embedding and Attention."""
    timm = pytest.importorskip("timm")
    module = tmp_path / f"timm_{name}.py"
    module.write_text(f"import timm\n\ndef build():\n    return timm.create_model({name!r}, pretrained=False)\n")
    network = read_model(f"{module}:build", None)
    report = analyze(network)
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False).eval()
    assert (report.params, report.buffers) == (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()))
    assert report.macs == flop_counter_macs(model, network.input_shape) and report.output_shape == (1000,)
    assert not report.unknown_ops


def test_timm_swin_whose_windows_fx_cannot_follow_is_read_by_running_it(tmp_path):
    """timm's Swin partitions its windows into the batch axis, which the traced graph's mapping cannot follow
    (it reads it only in part): the model is then run, and every figure is PyTorch's own."""
    timm = pytest.importorskip("timm")
    from torch.utils.flop_counter import FlopCounterMode

    module = tmp_path / "timm_swin.py"
    module.write_text("import timm\n\ndef build():\n    return timm.create_model('swin_tiny_patch4_window7_224', pretrained=False)\n")
    report = analyze(read_model(f"{module}:build", None))
    with torch.device("meta"):
        model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    assert report.params == sum(p.numel() for p in model.parameters())
    assert report.macs == counter.get_total_flops() // 2 and not report.unknown_ops


@pytest.mark.parametrize("name", TIMM_CNNS)
def test_timm_cnns_equal_pytorch(name, tmp_path):
    timm = pytest.importorskip("timm")
    module = tmp_path / f"timm_{name}.py"
    module.write_text(f"import timm\n\ndef build():\n    return timm.create_model({name!r}, pretrained=False)\n")
    network = read_model(f"{module}:build", None)  # timm declares its input (default_cfg)
    report = analyze(network)
    assert ours(report) == pytorch_figures(timm.create_model(name, pretrained=False), network.input_shape)
    assert not report.unknown_ops


USER_CODE = '''
import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.bn(self.conv1(x)))
        return x + self.conv2(y)


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 5, stride=2, padding=2)
        self.blocks = nn.Sequential(Block(16), Block(16))
        self.side = nn.Conv2d(16, 8, 1)
        self.head = nn.Linear(24 * 4 * 4, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = torch.cat([x, self.side(x)], dim=1)
        x = F.adaptive_avg_pool2d(x, 4)
        return self.head(torch.flatten(x, 1))


def small():
    return Net(classes=3)


not_a_model = 42
'''


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(USER_CODE)
    return path


def test_user_code_in_a_file(user_file):
    exec_globals: dict = {}
    exec(compile(USER_CODE, "my_model.py", "exec"), exec_globals)
    for name, classes in (("Net", 10), ("small", 3)):
        report = analyze(read_model(f"{user_file}:{name}", (3, 32, 48)))
        theirs = pytorch_figures(exec_globals[name](), (3, 32, 48))
        assert ours(report) == theirs
        # by hand: stem 16·(3·25 + 1); per block 16·16·9 + 2·16 + 16·16·9 + 16; side 8·(16 + 1); head (24·16 + 1)·classes
        assert report.params == 16 * 76 + 2 * (2304 + 32 + 2304 + 16) + 8 * 17 + (384 + 1) * classes
    names = [r.name for r in analyze(read_model(f"{user_file}:Net", (3, 32, 32))).rows]
    assert "blocks" in names and "blocks.0" in names and "blocks.0.conv1" in names  # blocks from the module tree


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=120,
                          env={"CONVCALC_LANG": "en", "PATH": "/usr/bin:/bin"})


def one_error(result, *parts: str) -> None:
    assert result.returncode != 0 and result.stdout == "", result.stdout
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr


def test_cli_reads_a_model_and_writes_json(user_file):
    import json

    result = cli("net", f"{user_file}:Net", "--input", "3x32x32", "-f", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["output_shape"] == [10] and "partial" not in data["total"]


ERRORS = [
    (lambda f: [f"{f}:Missing", "--input", "3x32x32"], ["has no attribute 'Missing'"]),
    (lambda f: [f"{f}:not_a_model", "--input", "3x32x32"], ["must name an nn.Module"]),
    (lambda f: [f"{f}:Net"], ["--input:", "3x224x224"]),
    (lambda f: [f"{f}:Net", "--input", "32x32"], ["does not run on an input of 32×32"]),
    (lambda f: [f"{f}:Net", "--input", "3x32x32", "--set", "classes=4"], ["--set:"]),
    (lambda f: [f"{f.parent / 'nowhere.py'}:Net", "--input", "3x32x32"], ["no such file"]),
]


@pytest.mark.parametrize("make, parts", ERRORS, ids=["missing", "not-a-model", "no-input", "wrong-rank", "set", "no-file"])
def test_bad_targets_give_one_error_line(user_file, make, parts):
    one_error(cli("net", *make(user_file)), *parts)


def test_code_that_fails_gives_one_error_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nraise RuntimeError('no GPU here\\nsecond line')\n")
    one_error(cli("net", f"{broken}:Net", "--input", "3x8x8"), "running", "RuntimeError: no GPU here")
    builder = tmp_path / "builder.py"
    builder.write_text("def build():\n    raise ValueError('bad width')\n")
    one_error(cli("net", f"{builder}:build", "--input", "3x8x8"), "building the model failed: ValueError: bad width")


def test_an_interrupt_while_building_stops_rather_than_retrying_on_the_cpu(tmp_path):
    """Ctrl-C (KeyboardInterrupt) in the user's builder is not an error of the model: it stops the reading, and
    the builder is called once, never again on the CPU."""
    pytest.importorskip("torch")
    from convcalc.formats.pytorch import build

    builder = tmp_path / "interrupted.py"
    calls = tmp_path / "calls.txt"
    builder.write_text(f"def build():\n    with open({str(calls)!r}, 'a') as f:\n        f.write('x')\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        build(f"{builder}:build")
    assert calls.read_text() == "x"


def test_without_torch_the_command_says_how_to_install_it(user_file):
    code = ("import sys; sys.modules['torch'] = None; from convcalc.cli import main; "
            f"sys.argv = ['convcalc', 'net', {str(user_file) + ':Net'!r}, '--input', '3x8x8']; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={"CONVCALC_LANG": "en"})
    one_error(result, "pip install torch")


def test_a_billion_parameters_allocate_nothing(tmp_path):
    """Built on the meta device: 1.0e9 parameters (4 GB of float32) cost what 1,000 do, within 0.5 GB."""
    model = tmp_path / "model.py"
    model.write_text("from torch import nn\n\ndef build(n):\n    return nn.Sequential(nn.Flatten(), nn.Linear(n, 20_000))\n"
                     "\ndef big():\n    return build(50_000)\n\ndef small():\n    return build(1)\n")

    def peak(name: str, features: int) -> tuple[int, int]:
        code = ("import resource; from convcalc import analyze; from convcalc.formats.pytorch import read_model; "
                f"r = analyze(read_model({str(model) + ':' + name!r}, ({features},))); "
                "print(r.params, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        params, max_rss_kib = map(int, result.stdout.split())
        return params, max_rss_kib

    params, big = peak("big", 50_000)
    _, small = peak("small", 1)
    assert params == 50_000 * 20_000 + 20_000
    assert big - small < 512 * 1024, (big, small)  # KiB: far below the 4 GB the weights would take


@pytest.mark.parametrize("text, expected", [
    ("my_model.py:Net", True), ("torchvision.models:resnet50", True), ("pkg.sub:make.inner", True),
    ("vgg16", False), ("vgg16.yaml", False), ("a b:c", False), (":x", False), ("x:", False),
])
def test_what_counts_as_a_model_target(text, expected):
    assert is_model_target(text) is expected


IDIOMS = 'import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n\nclass ViewFlatten(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n        self.fc = nn.Linear(8 * 4 * 4, 5)\n\n    def forward(self, x):\n        x = F.max_pool2d(F.relu(self.conv(x)), 2)\n        return self.fc(x.view(x.size(0), -1))\n\n\nclass InPlace(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.a = nn.Conv2d(3, 6, 1)\n        self.b = nn.Conv2d(3, 6, 1)\n\n    def forward(self, x):\n        y = self.a(x)\n        y += self.b(x)\n        y = y.relu()\n        return torch.relu_(y)\n\n\nclass TupleOut(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 4, 3, stride=2)\n        self.head = nn.Linear(4, 2)\n\n    def forward(self, x):\n        f = self.conv(x)\n        return self.head(f.mean(dim=(2, 3))), f\n\n\nclass Functional(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.w = nn.Conv2d(3, 8, 3, padding=1, groups=1, bias=False)\n        self.bn = nn.BatchNorm2d(8)\n        self.up = nn.Upsample(scale_factor=2, mode="nearest")\n        self.c2 = nn.Conv2d(16, 4, 1)\n\n    def forward(self, x):\n        y = F.silu(self.bn(self.w(x)))\n        z = F.avg_pool2d(y, 2)\n        z = self.up(z)\n        cat = torch.cat((y, z), 1)\n        return F.adaptive_avg_pool2d(self.c2(cat), (1, 1)).flatten(1)\n\n\nclass Seq1d(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.net = nn.Sequential(nn.Conv1d(2, 4, 5, padding=2), nn.BatchNorm1d(4), nn.GELU(), nn.MaxPool1d(2),\n                                 nn.Conv1d(4, 4, 3, dilation=2), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 3))\n\n    def forward(self, x):\n        return self.net(x)\n\n\nclass Conv3dT(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.c = nn.Conv3d(1, 2, 3, padding=1)\n        self.t = nn.ConvTranspose3d(2, 2, 2, stride=2)\n        self.p = nn.ZeroPad3d(1)\n\n    def forward(self, x):\n        return self.p(self.t(self.c(x)))\n'


@pytest.mark.parametrize("name, shape", [("ViewFlatten", (3, 8, 8)), ("InPlace", (3, 5, 5)), ("Functional", (3, 8, 8)),
                                         ("Seq1d", (2, 32)), ("Conv3dT", (1, 4, 6, 6)), ("TupleOut", (3, 9, 9))])
def test_common_idioms(tmp_path, name, shape):
    """x.view(x.size(0), -1), in-place adds and relu_, functional layers, torch.cat of a tuple, 1-D and 3-D layers,
    transposed convolutions, a tuple returned (its first tensor is the output)."""
    path = tmp_path / "idioms.py"
    path.write_text(IDIOMS)
    report = analyze(read_model(f"{path}:{name}", shape))
    namespace: dict = {}
    exec(compile(IDIOMS, str(path), "exec"), namespace)
    model = namespace[name]()
    if name == "TupleOut":  # the first tensor returned: conv 4·(3·9 + 1), head 2·(4 + 1); MACs 4·27·16 + 8
        assert ours(report) == {"params": 112 + 10, "buffers": 0, "macs": 4 * 27 * 16 + 8, "output_shape": (2,)}
        return
    theirs = pytorch_figures(model, shape)
    if name == "Conv3dT":  # the hooks count no transposed convolution: C_i·C_o·∏K per input position, 2·2·8·(4·6·6)
        theirs["macs"] += 2 * 2 * 8 * (4 * 6 * 6)
    assert ours(report) == theirs
    assert not report.unknown_ops


@pytest.mark.parametrize("name, shape", [("swin_t", (3, 250, 190)), ("swin_v2_t", (3, 256, 256)), ("swin_s", (3, 200, 300))])
def test_windowed_attention_where_the_windows_do_not_divide(name, shape):
    """Swin pads each stage to a multiple of its window (and patch merging to an even size): PyTorch's FLOP counter."""
    pytest.importorskip("torchvision")
    report = analyze(read_model(f"torchvision.models:{name}", shape))
    with torch.device("meta"):
        model = build_torchvision(name).eval()
        out = model(torch.empty(1, *shape, device="meta"))
    assert (report.macs, report.params, report.output_shape) == (flop_counter_macs(model, shape), sum(p.numel() for p in model.parameters()),
                                                                 tuple(out.shape[1:]))
    assert not report.unknown_ops


UNSHUFFLE = '''import torch.nn.functional as F
from torch import nn


class Unshuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.PixelUnshuffle(2)
        self.conv = nn.Conv2d(12, 8, 3, padding=1)
        self.fc = nn.Linear(32 * 2 * 2, 5)

    def forward(self, x):
        return self.fc(F.pixel_unshuffle(self.conv(self.down(x)), 2).flatten(1))
'''


def test_pixel_unshuffle_module_and_function(tmp_path):
    path = tmp_path / "unshuffle.py"
    path.write_text(UNSHUFFLE)
    report = analyze(read_model(f"{path}:Unshuffle", (3, 8, 8)))
    namespace: dict = {}
    exec(compile(UNSHUFFLE, str(path), "exec"), namespace)
    assert ours(report) == pytorch_figures(namespace["Unshuffle"](), (3, 8, 8))
    assert [r.kind for r in report.leaves][:3] == ["space_to_depth", "conv", "space_to_depth"] and not report.unknown_ops

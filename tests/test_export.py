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


ATTENTION = """name: attention kinds
input: [3, 30, 26]
layers:
  - conv: {c: 16, k: 2, s: 2}
  - attention: {heads: 2, window: 4, shift: 2, position_bias: table}
  - attention: {heads: 4, window: [4, 3], position_bias: mlp, cosine: true}
  - space_to_depth: {pad: true}
  - attention: {heads: 4, window: [4, 7], grid: true, position_bias: table}
  - space_to_depth: {factor: 2, pad: true}
  - attention: {heads: 8}
  - reshape: {shape: [256, 16]}
  - class_token
  - position_embedding
  - attention: {heads: 8, bias: false}
  - space_to_depth: {factor: 4, pad: true}
  - flatten
  - linear: {out: 10}
"""


def test_attention_kinds_export_run_and_read_back(tmp_path):
    """Windows (padded, shifted, with a bias table), Swin V2's bias MLP and cosine attention, a grid, global
    attention, ViT's token and embedding, space-to-depth with and without padding: the exported module's
    parameters, buffers, output shape and MACs (PyTorch's FLOP counter, batch 1) equal convcalc's."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from convcalc import loads
    from convcalc.formats.pytorch import read_model

    network = loads(ATTENTION)
    ours = analyze(network)
    path = tmp_path / "attention_exported.py"
    path.write_text(export_torch(network))
    model = import_file(path).build().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.randn(1, *network.input_shape))
    assert (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()), counter.get_total_flops() // 2,
            tuple(out.shape[1:])) == (ours.params, ours.buffers, ours.macs, ours.output_shape)
    back = analyze(read_model(f"{path}:build", network.input_shape))
    assert (back.params, back.buffers, back.macs, back.output_shape, back.field) == \
           (ours.params, ours.buffers, ours.macs, ours.output_shape, ours.field)
    assert not back.unknown_ops


@pytest.mark.parametrize("v2", [False, True])
def test_exported_window_attention_computes_what_swin_computes(v2):
    """The written attention with Swin's weights gives torchvision's ShiftedWindowAttention(V2) output: windows
    padded (10×9 on 4×4 windows), shifted and masked, bias table or MLP, cosine attention."""
    torch = pytest.importorskip("torch")
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    from convcalc.formats.pytorch_export import HELPERS

    namespace: dict = {}
    exec("from math import prod\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n" + HELPERS["SelfAttention"],
         namespace)
    torch.manual_seed(0)
    theirs = (swin.ShiftedWindowAttentionV2 if v2 else swin.ShiftedWindowAttention)(32, [4, 4], [2, 2], 4).eval()
    ours = namespace["SelfAttention"](32, 4, True, (4, 4), (2, 2), False, "mlp" if v2 else "table", v2, (10, 9)).eval()
    shapes = {k: v.shape for k, v in ours.state_dict().items()}  # the same tensors; Swin keeps its tables flatter
    ours.load_state_dict({k: v.reshape(shapes[k]) for k, v in theirs.state_dict().items()})
    x = torch.randn(2, 10, 9, 32)
    with torch.no_grad():
        expected = theirs(x)
        got = ours(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


def test_exported_grid_attention_is_window_attention_on_the_strided_positions():
    """MaxViT's grid: windows of 3×2 positions spaced 2×4 apart on 6×8. Rearranging each axis so that those
    positions sit together (m = i·g + j → j·w + i) turns it into plain windows of 3×2 with the same weights."""
    torch = pytest.importorskip("torch")
    from convcalc.formats.pytorch_export import HELPERS

    namespace: dict = {}
    exec("from math import prod\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n" + HELPERS["SelfAttention"],
         namespace)
    torch.manual_seed(0)
    grid = namespace["SelfAttention"](16, 2, True, (3, 2), (0, 0), True, "table", False, (6, 8)).eval()
    windows = namespace["SelfAttention"](16, 2, True, (3, 2), (0, 0), False, "table", False, (6, 8)).eval()
    windows.load_state_dict(grid.state_dict())
    x = torch.randn(2, 16, 6, 8)

    def together(t, w, g):  # axis 2 then 3: position i·g + j moved to j·w + i
        for axis, (a, b) in ((2, (w[0], g[0])), (3, (w[1], g[1]))):
            shape = list(t.shape)
            t = t.reshape(*shape[:axis], a, b, *shape[axis + 1:]).transpose(axis, axis + 1).reshape(shape)
        return t

    def apart(t, w, g):
        return together(t, (g[0], g[1]), (w[0], w[1]))

    with torch.no_grad():
        expected = apart(windows(together(x, (3, 2), (2, 4))), (3, 2), (2, 4))
        got = grid(x)
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


# names that break code written naively: nn.Module's own attributes, keywords, escapes in strings,
# names Python reads as one (NFKC), names that differ only by what an identifier drops
HOSTILE_NAMES = ["forward", "parameters", "to", "training", "_modules", "__init__", "class", "None", "self", "x", "x1",
                 "C:\\Users\\x\\net", "\\N{", "'''", '"""', "ﬁ", "fi", "1abc", "a-b", "a b", "卷积", "\x1b[2J", "\u202e", "_", "ClassToken",
                 "Network", "build"]


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar: every character escaped (\\UXXXXXXXX), so any name can be written."""
    return '"' + "".join(f"\\U{ord(c):08x}" for c in text) + '"'


def hostile_network(names: list[str], title: str):
    """Layers named `names`, each followed by a block named after it where a block may be (an identifier),
    in a network named `title`."""
    from convcalc.formats.spec import KIND_ALIASES, KINDS, MERGES, loads

    taken = set(KINDS) | set(MERGES) | set(KIND_ALIASES)  # a block cannot take a layer kind's name (`fc`, `conv`)
    kinds = {name: name if name.isidentifier() and name not in taken else f"b{i}" for i, name in enumerate(names)}
    blocks = "".join(f"  {yaml_string(kind)}:\n    layers: [conv: {{c: 4, k: 1}}]\n" for kind in dict.fromkeys(kinds.values()))
    layers = "".join(f"  - {{name: {yaml_string(name)}, conv: {{c: 4, k: 1}}}}\n  - {{name: {yaml_string(name)}, {yaml_string(kinds[name])}: null}}\n"
                     for name in names)
    return loads(f"name: {yaml_string(title)}\ninput: [3, 4, 4]\nblocks:\n{blocks}layers:\n{layers}", "names.yaml")


def check_export_runs(network, tmp_path):
    source = export_torch(network)
    compile(source, "exported.py", "exec")  # no SyntaxError, whatever the names
    torch = pytest.importorskip("torch")
    path = tmp_path / "exported.py"
    path.write_text(source, encoding="utf-8")
    model = import_file(path).build()
    ours = analyze(network)
    assert sum(p.numel() for p in model.parameters()) == ours.params  # no layer lost to a name written twice
    assert tuple(model(torch.zeros(1, *network.input_shape)).shape[1:]) == ours.output_shape


def test_hostile_names_export_code_that_runs(tmp_path):
    check_export_runs(hostile_network(HOSTILE_NAMES, "C:\\Users\\x\\net \\N{ \"\"\" '''"), tmp_path)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(min_size=1, max_size=12)), min_size=1, max_size=6),
       title=st.text(max_size=30))
def test_export_fuzzed_names(names, title, tmp_path):
    names = [n for n in names if "$" not in n and n.strip()] or ["layer"]  # a $ starts an expression in a description
    check_export_runs(hostile_network(names, title or "net"), tmp_path)


def test_the_names_kept_from_nn_module_are_its_own():
    nn = pytest.importorskip("torch.nn")
    from convcalc.formats.pytorch_export import MODULE_ATTRIBUTES

    public = {n for n in set(dir(nn.Module)) | set(vars(nn.Module())) if not n.startswith("_")}
    assert MODULE_ATTRIBUTES == public

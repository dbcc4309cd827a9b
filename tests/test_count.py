"""`--count`: other tools' counting rules (convcalc/core/counting.py). Each rule is checked layer by
layer as arithmetic read from the tool's source, and network by network against the tool's own
output (tests/golden/count_reference.json, written by tests/oracle/make_count_reference.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import analyze, load, loads
from convcalc.cli import app
from convcalc.core.counting import RULES, Counted, count
from convcalc.core.network import Settings, walk
from convcalc.formats.zoo import find

runner = CliRunner()
REFERENCE = json.loads((Path(__file__).parent / "golden" / "count_reference.json").read_text())
PEERS = ("fvcore", "fvcore-train", "torchinfo", "calflops")


BUNDLED = [c for c in REFERENCE["cases"] if "source" not in c]
FROM_PYTORCH = [c for c in REFERENCE["cases"] if c.get("source") == "pytorch"]
FROM_ULTRALYTICS = [c for c in REFERENCE["cases"] if c.get("source") == "ultralytics"]

# What a description cannot say and ptflops sees (counting.py): a pooling or a ReLU written as a function counts once
# rather than twice (the module's hook and the patched function), torchvision's LayerNorm2d not at all
PTFLOPS_SPELLING = {
    "mobilenet_v2": 1280 * 7 * 7,  # F.adaptive_avg_pool2d on 1280×7×7
    "densenet121": 1024 * 7 * 7 + 1024 * 7 * 7,  # F.relu, then F.adaptive_avg_pool2d, on 1024×7×7
    "convnext_tiny": 96 * 56 * 56 + 96 * 56 * 56 + 192 * 28 * 28 + 384 * 14 * 14 + 768,  # LayerNorm2d: stem, 3 downsamplings, head
}


def case_id(case) -> str:
    return f"{case['network']}-{'x'.join(map(str, case['input_shape']))}-b{case['batch']}"


BUNDLED_RULES = [(case, rule) for case in BUNDLED for rule in PEERS + ("ptflops",) if rule in case]


@pytest.mark.parametrize("case, rule", BUNDLED_RULES, ids=[f"{case_id(c)}-{r}" for c, r in BUNDLED_RULES])
def test_bundled_networks_counted_as_each_tool_counts_them(case, rule):
    network = load(find(case["network"]), tuple(case["input_shape"]))
    counted = Counted(rule, case["batch"])
    walk(network, Settings(batch=case["batch"], count=rule), counted)
    expected = case[rule] + (PTFLOPS_SPELLING.get(case["network"], 0) if rule == "ptflops" else 0)
    assert counted.total == expected


@pytest.mark.parametrize("case", FROM_ULTRALYTICS, ids=case_id)
def test_ultralytics_files_counted_as_ptflops_counts_the_models_ultralytics_builds(case):
    """ptflops on Ultralytics' models: Conv's SiLU once (F.silu), SPPF's nn.MaxPool2d and nn.Upsample twice, the DFL
    convolution by its hook, attention's `@` products not at all. convcalc reads the same file itself."""
    ultralytics = pytest.importorskip("ultralytics")
    path = Path(ultralytics.__file__).parent / "cfg" / "models" / case["network"]
    network = load(path, tuple(case["input_shape"]))
    counted = Counted("ptflops", 1)
    walk(network, Settings(count="ptflops"), counted)
    assert counted.total == case["ptflops"]


@pytest.mark.parametrize("case", FROM_PYTORCH, ids=case_id)
def test_attention_networks_read_from_pytorch_counted_as_each_tool_counts_them(case):
    """ViT, Swin, Swin V2 and MaxViT as torchvision writes them: each tool's figure, except MaxViT's two
    documented differences, computed here from the model: torchinfo also counts the projections it
    calls as modules, and fvcore and calflops count its einsums by NumPy's estimate (4 digits)."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from convcalc.formats.pytorch import read_model

    network = read_model(f"torchvision.models:{case['network']}", tuple(case["input_shape"]))
    expected = {rule: case[rule] for rule in PEERS + ("ptflops",)}
    if case["network"] == "maxvit_t":
        with torch.device("meta"):
            model = torchvision.models.maxvit_t()
        attentions = [m for m in model.modules() if type(m).__name__ == "RelativePositionalMultiHeadAttention"]
        expected["torchinfo"] -= sum(p.numel() for m in attentions for p in [*m.to_qkv.parameters(), *m.merge.parameters()])
        rounding = 0
        for m in attentions:  # two einsums each, of G·heads·P·P·head_dim multiply-adds
            size = m.head_dim * m.n_heads
            positions = {64: 56 * 56, 128: 28 * 28, 256: 14 * 14, 512: 7 * 7}[size]  # MaxViT-T's stages at 224
            exact = positions * m.max_seq_len * size  # G·P = positions; heads·head_dim = size
            rounding += 2 * (exact - int(float(f"{2 * exact:.3e}") // 2))  # NumPy prints "Optimized FLOP count: 2.810e+07"
        expected["fvcore"] += rounding
        expected["fvcore-train"] += rounding
        expected["calflops"] += 2 * rounding
        for m in attentions:  # ptflops hooks its projections (nn.Linear, 4·E² + 4·E per position) and patches no einsum
            size = m.head_dim * m.n_heads
            positions = {64: 56 * 56, 128: 28 * 28, 256: 14 * 14, 512: 7 * 7}[size]
            expected["ptflops"] -= positions * (4 * size * size + 4 * size) - 2 * positions * m.max_seq_len * size
    for rule in expected:
        counted = Counted(rule, case["batch"])
        walk(network, Settings(batch=case["batch"], count=rule), counted)
        assert counted.total == expected[rule], rule


def one_layer(text: str, shape: tuple, batch: int = 1):
    """The leaf rows of a one-item description on `shape`."""
    report = analyze(loads(f"input: {list(shape)}\nlayers:\n  - {text}\n"), Settings(batch=batch))
    return report.leaves[0]


N = 2  # the batch of the single-layer cases
# (layer, input shape, {rule: expected}) — expected values as each tool's source computes them
LAYERS = [
    ("conv: {c: 8, k: 3, p: 1}", (3, 10, 12), {
        "macs": N * 8 * 3 * 9 * 10 * 12, "fvcore": N * 8 * 3 * 9 * 10 * 12,
        "torchinfo": (8 * 3 * 9 + 8) * N * 10 * 12,  # weight and bias, times batch and output positions
        "calflops": 2 * N * 8 * 3 * 9 * 10 * 12 + N * 8 * 10 * 12,  # 2·MAC + one add per output for the bias
        "ptflops": N * 8 * 3 * 9 * 10 * 12 + N * 8 * 10 * 12}),
    ("conv: {c: 8, k: 3, s: 2, groups: 4, bias: false}", (4, 9, 9), {
        "fvcore": N * 8 * 1 * 9 * 4 * 4, "torchinfo": 8 * 1 * 9 * N * 4 * 4, "calflops": 2 * N * 8 * 1 * 9 * 4 * 4,
        "ptflops": N * 8 * 1 * 9 * 4 * 4}),
    ("convT: {c: 4, k: 2, s: 2}", (6, 5, 5), {
        "fvcore": N * 6 * 4 * 4 * 5 * 5, "torchinfo": (6 * 4 * 4 + 4) * N * 10 * 10,
        # calflops sizes the bias term with the plain convolution formula: ⌊(5 − 2)/2⌋ + 1 = 2
        "calflops": 2 * N * 6 * 4 * 4 * 5 * 5 + N * 4 * 2 * 2,
        "ptflops": N * 6 * 4 * 4 * 5 * 5 + N * 4 * 10 * 10}),  # per input position; the bias per output element
    ("linear: {out: 10}", (20,), {"fvcore": N * 20 * 10, "torchinfo": N * (20 * 10 + 10), "calflops": 2 * N * 20 * 10,
                                  "ptflops": N * (20 * 10 + 10)}),
    ("linear: {out: 10}", (20, 7, 7), {  # a linear applied per position: torchinfo counts it once
        "fvcore": N * 49 * 20 * 10, "torchinfo": N * (20 * 10 + 10), "calflops": 2 * N * 49 * 20 * 10,
        "ptflops": N * 49 * (20 * 10 + 10)}),
    ("batchnorm", (16, 5, 5), {
        "fvcore": 2 * N * 16 * 25, "fvcore-train": 5 * N * 16 * 25, "torchinfo": N * 2 * 16, "calflops": 2 * N * 16 * 25,
                   "ptflops": 2 * N * 16 * 25}),
    ("batchnorm: {affine: false}", (16, 5, 5), {"fvcore": N * 16 * 25, "fvcore-train": 4 * N * 16 * 25, "torchinfo": 0,
                                                 "calflops": N * 16 * 25, "ptflops": N * 16 * 25}),
    ("layernorm", (16, 5, 5), {"fvcore": 5 * N * 16 * 25, "fvcore-train": 5 * N * 16 * 25, "torchinfo": N * 2 * 16,
                               "calflops": 5 * N * 16 * 25, "ptflops": N * 16 * 25}),  # ptflops: no `affine` flag
    ("groupnorm: {groups: 4, affine: false}", (16, 5, 5), {"fvcore": 4 * N * 16 * 25, "calflops": 4 * N * 16 * 25,
                                                           "ptflops": N * 16 * 25}),
    ("relu", (16, 5, 5), {"macs": 0, "fvcore": 0, "torchinfo": 0, "calflops": N * 16 * 25,
                            "ptflops": 2 * N * 16 * 25}),  # nn.ReLU's hook, and the patched F.relu it calls
    ("relu6", (16, 5, 5), {"calflops": 0, "ptflops": N * 16 * 25}),  # hooked; hardtanh is not patched  # nn.ReLU6 calls hardtanh, which calflops does not patch
    ("sigmoid", (16, 5, 5), {"calflops": 0, "ptflops": 0}),
    ("silu", (16, 5, 5), {"ptflops": N * 16 * 25}),  # not hooked; F.silu is patched
    ("gelu", (16, 5, 5), {"calflops": N * 16 * 25, "ptflops": 2 * N * 16 * 25}),
    ("maxpool: {k: 2}", (16, 6, 6), {"fvcore": 0, "calflops": N * 16 * 36,
                                         "ptflops": 2 * N * 16 * 36}),  # per input element
    ("global_avgpool", (16, 6, 6), {"fvcore": N * 16 * 36, "calflops": N * 16 * 36, "ptflops": 2 * N * 16 * 36}),
    ("global_avgpool", (16, 4, 6, 6), {"fvcore": 0, "calflops": N * 16 * 144}),  # fvcore has no 3-D adaptive pooling handle
    ("upsample: {scale: 2}", (4, 5, 5), {"fvcore": N * 4 * 100, "calflops": N * 4 * 25,
                                         "ptflops": 4 * 100 + N * 4 * 100}),  # the hook: the first sample's output
    ("upsample: {scale: 2, mode: bilinear}", (4, 5, 5), {"fvcore": 4 * N * 4 * 100, "calflops": N * 4 * 25}),
    ("resize: {size: 7, mode: bilinear}", (4, 5, 5), {"fvcore": 4 * N * 4 * 49, "calflops": 7 * 7,
                                                  "ptflops": N * 4 * 49}),  # calflops: ∏size
    ("lrn: {size: 5}", (8, 3, 3), {"fvcore": 0, "ptflops": 0, "calflops": 3 * N * 8 * 9 + N * (8 + 5 - 1) * 9}),
    ("flatten", (4, 5, 5), {"fvcore": 0, "torchinfo": 0, "calflops": 0}),
    # global attention: the fused fast path at inference; fvcore in train mode sees the four projections
    ("attention: {heads: 2}", (8, 4, 4), {"macs": N * (4 * 16 * 8 * 8 + 2 * 16 * 16 * 8), "fvcore": 0,
                                          "fvcore-train": N * 4 * 16 * 8 * 8, "torchinfo": 0, "calflops": 0,
                                          # ptflops' hook: q scaled, 3 projections with bias, 2 products and a softmax per head, out
                                          "ptflops": N * (16 * 8 + 3 * 16 * 8 * 8 + 3 * 16 * 8 + 2 * (2 * 16 * 16 * 4 + 16 * 16)
                                                          + 16 * 8 * (8 + 1))}),
    # windows of 2×2 on 5×4, padded to 6×4: T_p = 24, N = 4
    ("attention: {heads: 2, window: 2, position_bias: table}", (8, 5, 4), {
        "macs": N * (4 * 24 * 8 * 8 + 2 * 24 * 4 * 8), "fvcore": N * (4 * 24 * 8 * 8 + 2 * 24 * 4 * 8), "torchinfo": 0,
        "calflops": 2 * N * (4 * 24 * 8 * 8 + 2 * 24 * 4 * 8) + N * 2 * 24 * 4,  # + one per softmax score
        "ptflops": N * 2 * 24 * 4 * 8 + N * 2 * 24 * 4}),  # two q.matmul products and the softmax; F.linear not patched
    # Swin V2: cosine scores written with `@` (not patched by calflops), a bias MLP 2→512→2 on 3×3 offsets
    ("attention: {heads: 2, window: 2, position_bias: mlp, cosine: true}", (8, 4, 4), {
        "macs": N * (4 * 16 * 8 * 8 + 2 * 16 * 4 * 8 + 9 * (2 * 512 + 512 * 2)),
        "fvcore": N * (4 * 16 * 8 * 8 + 2 * 16 * 4 * 8 + 9 * (2 * 512 + 512 * 2)),
        "torchinfo": N * (2 * 512 + 512 + 512 * 2),  # the MLP's two Linear modules' parameters
        "calflops": 2 * N * (4 * 16 * 8 * 8 + 16 * 4 * 8 + 9 * (2 * 512 + 512 * 2)) + N * 2 * 16 * 4 + N * 9 * 512,
        # one product (the scores are an `@`), the softmax, the MLP: Linear (2·512 + 512), ReLU twice, Linear (512·2)
        "ptflops": N * 16 * 4 * 8 + N * 2 * 16 * 4 + N * 9 * (2 * 512 + 512 + 2 * 512 + 512 * 2)}),
    ("class_token", (8, 5), {"torchinfo": 0}),  # a parameter of the model, not a module
    ("space_to_depth", (4, 6, 6), {"macs": 0, "fvcore": 0, "torchinfo": 0, "calflops": 0}),
    ("dropout", (4, 5, 5), {"calflops": 0, "ptflops": 0}),
]


# a course's counts (N = 2 samples): multiplications and additions apart; pooling's comparisons, additions, divisions
LAYERS += [
    ("conv: {c: 8, k: 3, p: 1}", (3, 10, 12), {  # 27 products and 26 additions per output, + the bias
        "mul-add": N * 8 * 10 * 12 * (27 + 26 + 1), "course-pool": N * 8 * 3 * 9 * 10 * 12}),
    ("conv: {c: 8, k: 3, s: 2, groups: 4, bias: false}", (4, 9, 9), {"mul-add": N * 8 * 4 * 4 * (9 + 8)}),
    ("convT: {c: 4, k: 2, s: 2}", (6, 5, 5), {  # each of the 10×10 outputs receives one product per input channel
        "mul-add": N * 6 * 4 * 4 * 5 * 5 + N * 4 * 10 * 10 * (6 - 1 + 1)}),
    ("convT: {c: 1, k: 1, s: 2}", (1, 3, 3), {  # stride 2, kernel 1: only 3×3 of the 5×5 outputs receive a product
        "mul-add": N * 9 + N * 25}),  # 9 products; additions: 9 − 9 landings + 25 biases
    ("linear: {out: 10}", (20,), {"mul-add": N * 10 * (20 + 19 + 1)}),
    ("maxpool: {k: 2}", (16, 6, 6), {"course-pool": N * 16 * 3 * 3 * (4 - 1), "mul-add": 0}),
    ("avgpool: {k: 3, s: 1}", (16, 6, 6), {"course-pool": N * 16 * 4 * 4 * (9 - 1 + 1)}),
    ("global_avgpool", (16, 6, 6), {"course-pool": N * 16 * (36 - 1 + 1)}),
    ("adaptive_avgpool: {out: 2}", (4, 5, 5), {"course-pool": N * 4 * (9 * 4 - 4 + 4)}),  # windows [0, 3) and [2, 5): 3×3
    ("relu", (16, 5, 5), {"course-pool": 0, "mul-add": 0}),
    ("attention: {heads: 2}", (8, 4, 4), {  # T = 16, E = 8: projections, scores (dot products of 4), weighted sums of 16
        "mul-add": 2 * N * (4 * 16 * 8 * 8 + 2 * 16 * 16 * 8)
        - N * (4 * 16 * 8 - 4 * 16 * 8) - N * 2 * 16 * 16 - N * 16 * 8}),
]


@pytest.mark.parametrize("text, shape, expected", LAYERS, ids=[f"{t}-{s}" for t, s, _ in LAYERS])
def test_each_rule_on_one_layer(text, shape, expected):
    row = one_layer(text, shape, N)
    for rule, value in expected.items():
        assert count(rule, row, N) == value, rule


def test_merges_written_as_python_operators_count_nothing():
    text = "input: [8, 4, 4]\nlayers:\n  - residual: [conv: {c: 8, k: 1, bias: false}]\n"
    rows = [r for r in analyze(loads(text)).leaves if r.kind == "add"]
    assert rows and all(count(rule, rows[0], 1) == 0 for rule in RULES if rule != "darknet")
    assert count("darknet", rows[0], 1) == 8 * 4 * 4  # Darknet's shortcut: one addition per output element


def test_darknet_rule_counts_convolutions_twice_and_pooling_windows():
    text = "input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3, p: 1}\n  - maxpool: {k: 2, s: 2}\n  - flatten\n  - linear: {out: 5}\n"
    rows = analyze(loads(text), Settings(batch=2)).leaves  # a row's MACs include the batch
    assert [count("darknet", r, 2) for r in rows] == [2 * 2 * (3 * 4 * 3 * 3 * 8 * 8), 2 * 2 * 2 * 4 * 4 * 4, 0, 0]


def test_macs_rule_is_convcalcs_own_count():
    report = analyze(load(find("resnet18")), Settings(batch=3))
    assert sum(count("macs", r, 3) for r in report.leaves) == report.macs


def test_json_layers_sum_to_the_counted_total():
    result = runner.invoke(app, ["net", "resnet50", "--count", "calflops", "--batch", "2", "-f", "json"])
    data = json.loads(result.stdout)
    case = next(c for c in REFERENCE["cases"] if c["network"] == "resnet50")
    assert data["count"] == {"rule": "calflops", "what": RULES["calflops"], "total": case["calflops"]}
    assert sum(layer["counted"] for layer in data["layers"]) == case["calflops"]


def test_csv_counted_column_sums_like_the_other_figures():
    result = runner.invoke(app, ["net", "resnet18", "--count", "torchinfo", "-f", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    case = next(c for c in REFERENCE["cases"] if c["network"] == "resnet18" and c["batch"] == 1)
    assert sum(int(r["counted"]) for r in rows if r["leaf"] == "true") == case["torchinfo"]
    assert sum(int(r["counted"]) for r in rows if r["depth"] == "0") == case["torchinfo"]  # blocks hold their layers' sum


def test_table_and_markdown_name_the_rule():
    table = runner.invoke(app, ["net", "vgg11", "--count", "fvcore"])
    case = next(c for c in REFERENCE["cases"] if c["network"] == "vgg11")
    assert "counted as fvcore" in table.stdout and f"{case['fvcore']:,}" in table.stdout
    markdown = runner.invoke(app, ["net", "vgg11", "--count", "fvcore", "-f", "markdown"])
    assert f"| counted as fvcore | {case['fvcore']:,} |" in markdown.stdout


def test_default_output_has_no_count():
    data = json.loads(runner.invoke(app, ["net", "lenet5", "-f", "json"]).stdout)
    assert "count" not in data and "counted" not in data["layers"][0]


def test_unknown_rule_is_one_error_line():
    result = runner.invoke(app, ["net", "vgg11", "--count", "flopth"])
    assert result.exit_code != 0
    assert result.stderr.strip().startswith("Error: --count:") and "got 'flopth'" in result.stderr and len(result.stderr.splitlines()) == 1


def test_thop_rule_by_arithmetic():
    """thop's hooks as arithmetic on a description (no torch): a 3×3 conv (MACs, no bias), batchnorm 4 per element with
    affine, average pooling 2×2 (each input in one window, + 1 per output), a linear layer (MACs)."""
    spec = ("input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3, p: 1}\n  - batchnorm\n  - avgpool: {k: 2}\n  - flatten\n"
            "  - linear: {out: 5}\n")
    result = runner.invoke(app, ["net", "-", "--count", "thop", "--format", "json"], input=spec)
    assert result.exit_code == 0, result.stderr
    expected = 4 * 3 * 9 * 64 + 4 * (4 * 64) + (4 * 64 + 4 * 16) + 64 * 5
    assert json.loads(result.stdout)["count"]["total"] == expected


def test_a_mean_counts_as_the_tools_count_x_mean():
    """`mean` is global average pooling as x.mean((2, 3)) writes it: the same shape and MACs, but fvcore, calflops and
    thop count it 0 where nn.AdaptiveAvgPool2d costs one per input element (fvcore, calflops) or the windows + outputs
    (thop)."""
    counts = {}
    for pool in ("global_avgpool", "mean"):
        spec = f"input: [4, 6, 6]\nlayers:\n  - {pool}\n  - flatten\n"
        for rule in ("fvcore", "calflops", "thop"):
            result = runner.invoke(app, ["net", "-", "--count", rule, "--format", "json"], input=spec)
            assert result.exit_code == 0, result.stderr
            data = json.loads(result.stdout)
            assert data["output_shape"] == [4]
            counts[pool, rule] = data["count"]["total"]
    assert counts["global_avgpool", "fvcore"] == counts["global_avgpool", "calflops"] == 4 * 36
    assert counts["global_avgpool", "thop"] == 4 * 36 + 4
    assert counts["mean", "fvcore"] == counts["mean", "calflops"] == counts["mean", "thop"] == 0


def test_lenet5_multiplications_and_additions_apart():
    """LeNet-5: its MACs as multiplications, and one more per subsampled output (the coefficient); additions: each
    convolution's and linear layer's sum and bias, the subsampling's window sums and bias."""
    result = runner.invoke(app, ["net", "lenet5", "--count", "mul-add", "-f", "json"])
    count_ = json.loads(result.stdout)["count"]
    macs = 117_600 + 150_000 + 48_000 + 10_080 + 840  # C1, C3 (its connection table), C5, F6, output
    subsampled = 6 * 14 * 14 + 16 * 5 * 5
    assert count_["multiplications"] == macs + subsampled
    outputs = 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10  # every convolution and linear output has a bias
    assert count_["additions"] == macs - outputs + outputs + subsampled * (4 - 1 + 1)
    assert count_["total"] == count_["multiplications"] + count_["additions"]
    assert "multiplications +" in runner.invoke(app, ["net", "lenet5", "--count", "mul-add"]).stdout

"""The model zoo against PyTorch's own figures (tests/golden/zoo_reference.json, written by
tests/oracle/make_zoo_reference.py from torchvision and timm), and against the course notes."""

import json
from pathlib import Path

import pytest

from convcalc import analyze
from convcalc.formats.spec import load
from convcalc.formats.zoo import SPECS, bundled

REFERENCE = json.loads((Path(__file__).parent / "golden" / "zoo_reference.json").read_text())["networks"]
POOL_KINDS = {"maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool", "global_maxpool"}


def report(stem: str, shape=None):
    return analyze(load(SPECS / f"{stem}.yaml", shape))


def categorised(rep) -> list[list]:
    out = []
    for row in rep.leaves:
        kind = "pool" if row.kind in POOL_KINDS else row.kind
        if kind in ("conv", "linear", "pool"):
            out.append([kind, list(row.output_shape)])
    return out


def is_subsequence(needle: list, haystack: list) -> bool:
    it = iter(haystack)
    return all(any(item == other for other in it) for item in needle)


def test_every_reference_network_is_in_the_zoo():
    assert set(REFERENCE) <= {p.stem for p in bundled()}


@pytest.mark.parametrize("stem", sorted(REFERENCE))
def test_totals_match_pytorch(stem):
    ref, rep = REFERENCE[stem], report(stem)
    assert (rep.params, rep.buffers, rep.macs) == (ref["params"], ref["buffers"], ref["macs"])
    assert list(rep.output_shape) == ref["output_shape"]


OTHER_SIZES = [(stem, size) for stem in sorted(REFERENCE) for size in REFERENCE[stem].get("other_sizes", {})]


@pytest.mark.parametrize("stem, size", OTHER_SIZES)
def test_other_input_sizes_match_pytorch(stem, size):
    """Every network at two more input sizes, one of them not square: totals, output shape and
    every convolution's, linear and pooling layer's output shape."""
    ref = REFERENCE[stem]["other_sizes"][size]
    rep = report(stem, tuple(int(v) for v in size.split("x")))
    assert (rep.params, rep.buffers, rep.macs) == (ref["params"], ref["buffers"], ref["macs"])
    assert list(rep.output_shape) == ref["output_shape"]
    ours = categorised(rep)
    assert [x for x in ours if x[0] != "pool"] == [x for x in ref["layers"] if x[0] != "pool"]
    assert is_subsequence(ref["layers"], ours)


@pytest.mark.parametrize("stem", sorted(REFERENCE))
def test_published_figures(stem):
    published = REFERENCE[stem]["published"]
    if not published:
        pytest.skip("timm and d2l publish no figures with their model code")
    rep = report(stem)
    assert rep.params == published["num_params"]
    assert round(rep.macs / 1e9, 3) == published["gflops"]


@pytest.mark.parametrize("stem", sorted(REFERENCE))
def test_per_layer_shapes_match_pytorch(stem):
    ours = categorised(report(stem))
    theirs = REFERENCE[stem]["layers"]
    # convolutions and linear layers one for one, in execution order
    assert [x for x in ours if x[0] != "pool"] == [x for x in theirs if x[0] != "pool"]
    # pooling modules too; some models pool with a function call (x.mean(), F.adaptive_avg_pool2d),
    # which no hook sees, so the reference's pools must appear among ours in order
    assert is_subsequence(theirs, ours)


def test_vgg_a_lrn_equals_a_plus_nothing():
    # the LRN layer has no parameters and no MACs (seeds/000, VGG table: A-LRN column)
    rep = report("vgg11_lrn")
    assert (rep.params, rep.macs) == (REFERENCE["vgg11"]["params"], REFERENCE["vgg11"]["macs"])
    assert [r.kind for r in rep.leaves][:3] == ["conv", "relu", "lrn"]


def test_vgg_c_is_d_with_three_1x1_convolutions():
    # configuration C replaces the third 3×3 convolution of stages 3–5 by a 1×1: each saves
    # c·c·(9 − 1) weights and c·c·(9 − 1)·L² MACs
    rep = report("vgg16_c")
    d = REFERENCE["vgg16"]
    saved_params = 256 * 256 * 8 + 512 * 512 * 8 + 512 * 512 * 8
    saved_macs = 256 * 256 * 8 * 56 * 56 + 512 * 512 * 8 * 28 * 28 + 512 * 512 * 8 * 14 * 14
    assert rep.params == d["params"] - saved_params
    assert rep.macs == d["macs"] - saved_macs


# seeds/002: LeNet-5 layer by layer
LENET = [
    ("C1", (6, 28, 28), (5 * 5 + 1) * 6),
    ("S2", (6, 14, 14), 6 * 2),
    ("C3", (16, 10, 10), 1516),
    ("S4", (16, 5, 5), 16 * 2),
    ("C5", (120, 1, 1), 120 * (16 * 25 + 1)),
    ("F6", (84,), 84 * (120 + 1)),
]


@pytest.mark.parametrize("name, shape, params", LENET)
def test_lenet5_layer_by_layer(name, shape, params):
    row = next(r for r in report("lenet5").leaves if r.name == name)
    assert (row.output_shape, row.params) == (shape, params)


# LeCun's connections as the notes count them: C1 28·28·(5·5 + 1)·6, S2 14·14·(2·2 + 1)·6, C3 151,600,
# S4 5·5·(2·2 + 1)·16
LENET_CONNECTIONS = [("C1", 28 * 28 * (5 * 5 + 1) * 6), ("S2", 14 * 14 * (2 * 2 + 1) * 6), ("C3", 151_600), ("S4", 5 * 5 * (2 * 2 + 1) * 16)]


@pytest.mark.parametrize("name, connections", LENET_CONNECTIONS)
def test_lenet5_connections_as_the_notes_count_them(name, connections):
    row = next(r for r in report("lenet5").leaves if r.name == name)
    assert row.connections == connections


def test_connections_in_json_and_as_a_column():
    import json

    from typer.testing import CliRunner

    from convcalc.cli import app

    data = json.loads(CliRunner().invoke(app, ["net", "lenet5", "--format", "json"]).stdout)
    assert [x["connections"] for x in data["layers"] if x["name"] in ("C1", "S2")] == [122_304, 5_880]
    table = CliRunner().invoke(app, ["net", "lenet5", "--connections"], env={"COLUMNS": "120"}).stdout
    assert "connections" in table.splitlines()[2] and "122,304" in table


def test_lenet5_c1_connections_in_explanation():
    from convcalc.teach.explain import explain

    row = next(r for r in report("lenet5").leaves if r.name == "C1")
    assert "= 156·28·28 = 122,304" in "\n".join(explain(row, report("lenet5").settings, ("connections",)))


@pytest.mark.parametrize("path", bundled(), ids=lambda p: p.stem)
def test_every_bundled_network_is_consistent(path):
    rep = analyze(load(path))
    leaves = rep.leaves
    assert sum(r.params for r in leaves) == rep.params
    assert sum(r.macs for r in leaves) == rep.macs
    for before, after in zip(leaves, leaves[1:]):
        assert after.name != before.name
    assert rep.output_shape == leaves[-1].output_shape


def aligned(theirs: list, ours: list) -> list[int]:
    """For each reference layer, the index of the same layer among ours (ours may hold extra pools)."""
    out, j = [], 0
    for item in theirs:
        while ours[j] != item:
            j += 1
        out.append(j)
        j += 1
    return out


RF_NETWORKS = sorted(stem for stem, ref in REFERENCE.items() if "receptive_fields" in ref)


def test_gradient_fields_cover_the_issue_networks():
    assert {"vgg16", "resnet50", "mobilenet_v2"} <= set(RF_NETWORKS)


@pytest.mark.parametrize("stem", RF_NETWORKS)
def test_receptive_fields_match_the_gradient(stem):
    """tests/oracle/make_zoo_reference.py backpropagated from the middle position of a spread of
    layers through the real model made positive and linear; the non-zero input gradient must be
    exactly convcalc's field of that position (clipped to the image only where it is `full`)."""
    ref = REFERENCE[stem]
    index = aligned(ref["layers"], categorised(report(stem)))
    shape = tuple(ref["receptive_fields"]["input"])
    rep = analyze(load(SPECS / f"{stem}.yaml", shape))
    rows = [r for r in rep.leaves if (("pool" if r.kind in POOL_KINDS else r.kind) in ("conv", "linear", "pool"))]
    for entry in ref["receptive_fields"]["fields"]:
        row = rows[index[entry["layer"]]]
        seen = [list(x) for x in zip(entry["low"], entry["high"])]
        if row.field.full:
            assert seen == [[0, m] for m in shape[1:]], row.name
            continue
        field = [[a.start + u * a.jump - a.size / 2, a.start + u * a.jump + a.size / 2]
                 for a, u in zip(row.field.axes, entry["unit"])]
        if row.field.exact:
            assert all(0 <= low and high <= m for (low, high), m in zip(field, shape[1:])), "the oracle's input is too small"
            assert seen == field, row.name
        else:  # a bound (adaptive pooling with unequal windows): it must contain what the gradient sees
            assert all(low <= s_low and s_high <= high for (low, high), (s_low, s_high) in zip(field, seen)), row.name


def test_unet_of_the_paper_by_arithmetic():
    """Ronneberger et al. (2015), Fig. 1, counted conv by conv: 3×3 convolutions c_in·c_out·9 + c_out,
    2×2 up-convolutions c_in·c_out·4 + c_out, the last 1×1 to 2 classes."""
    conv3 = lambda a, b: a * b * 9 + b  # noqa: E731
    up = lambda a, b: a * b * 4 + b  # noqa: E731
    encoder = conv3(1, 64) + conv3(64, 64) + conv3(64, 128) + conv3(128, 128) + conv3(128, 256) + conv3(256, 256) \
        + conv3(256, 512) + conv3(512, 512) + conv3(512, 1024) + conv3(1024, 1024)
    decoder = sum(up(2 * c, c) + conv3(2 * c, c) + conv3(c, c) for c in (512, 256, 128, 64))
    rep = report("unet")
    assert rep.params == encoder + decoder + (64 * 2 + 2)
    assert rep.output_shape == (2, 388, 388)
    padded = analyze(load(SPECS / "unet.yaml", (1, 256, 256), {"p": 1}))
    assert padded.params == rep.params and padded.output_shape == (2, 256, 256)

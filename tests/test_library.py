"""convcalc as a library (`convcalc.summary`, `load`): what a notebook or a script gets. Every text format
equals what `convcalc net` prints; a PyTorch module gives the figures its file gives; nothing prints
a page where a line is wanted."""

from __future__ import annotations

import doctest
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import convcalc
from convcalc import summary

HERE = Path(__file__).parent


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=120,
                          env={"CONVCALC_LANG": "en", "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("module", ["convcalc", "convcalc.summary", "convcalc.formats.spec", "convcalc.core.layers",
                                    "convcalc.core.network", "convcalc.core.formulas", "convcalc.core.errors"])
def test_the_docstrings_examples_run(module):
    import importlib

    failed, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failed == 0


def test_public_names_are_exact_and_documented():
    assert sorted(convcalc.__all__) == sorted(set(convcalc.__all__))
    assert dir(convcalc) == sorted({*convcalc.__all__, "__version__"})
    for name in convcalc.__all__:
        if name != "KINDS":  # a table (dict), documented where it is defined
            assert ">>> " in getattr(convcalc, name).__doc__, f"{name}: its docstring has no example"


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_every_format_is_the_command_lines(fmt):
    s = summary("resnet18")
    text = {"json": s.to_json, "csv": s.to_csv, "markdown": s.to_markdown}[fmt]()
    assert text == cli("net", "resnet18", "--format", fmt)


def test_the_same_network_from_every_kind_of_source(tmp_path):
    """A name, a path (str or Path, from any folder), the description's text: one network."""
    path = Path(convcalc.__file__).parent.parent / "specs" / "lenet5.yaml"
    if not path.exists():
        from convcalc.formats.zoo import SPECS

        path = SPECS / "lenet5.yaml"
    by_name = summary("lenet5")
    for source in (str(path), path, path.read_text(encoding="utf-8")):
        other = summary(source)
        assert (other.params, other.macs, other.output_shape) == (by_name.params, by_name.macs, by_name.output_shape)
    assert convcalc.load("lenet5") == convcalc.load(path)


def test_what_a_notebook_shows_is_short():
    s = summary("resnet152")
    total = json.loads(cli("net", "resnet152", "--format", "json"))["total"]["params"]  # what the command line says
    assert len(repr(s)) < 200 and "ResNet-152" in repr(s) and f"{total:,} parameters" in repr(s)
    assert len(repr(s.report)) < 200 and len(repr(s.network)) < 200
    assert len(repr(convcalc.single_layer(convcalc.Conv(10, 5), (3, 32, 32)))) < 200
    html = s._repr_html_()  # the HTML report, its style scoped to its own div
    assert html.startswith('<div class="convcalc-report"') and "<script" not in html and "<body" not in html
    assert html.count("<tr data-i=") == len(s.rows) and f"{total:,}" in html


def test_html_escapes_names():
    s = summary("input: [3, 8, 8]\nlayers:\n  - {conv: {c: 4, k: 3}, name: '<script>alert(1)</script>'}\n")
    assert "<script>alert" not in s._repr_html_() and "&lt;script&gt;" in s._repr_html_()


def test_rich_draws_the_command_lines_table_at_the_consoles_width():
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(summary("resnet50"))
    lines = out.getvalue().splitlines()
    total = json.loads(cli("net", "resnet50", "--format", "json"))["total"]["params"]
    assert max(map(len, lines)) <= 80 and any("layer1" in line for line in lines) and any(f"{total:,}" in line for line in lines)


def test_to_pandas_or_a_clear_error():
    s = summary("lenet5")
    import importlib.util

    if importlib.util.find_spec("pandas") is None:
        with pytest.raises(convcalc.ConvcalcError, match=r"to_pandas: needs pandas \(pip install pandas\)"):
            s.to_pandas()
        return
    frame = s.to_pandas()
    assert list(frame["name"])[:2] == ["C1", "C1.tanh"] and frame["name"].iloc[-1] == "total"


@pytest.mark.parametrize("bad, message", [
    (42, "model: a name, a path, a description's text or an nn.Module, got 'int'"),
    ("nowhere_at_all", "no such file, nor a bundled network of that name"),
])
def test_bad_sources_are_one_clear_error(bad, message):
    with pytest.raises(convcalc.ConvcalcError, match=message):
        summary(bad)


def test_the_command_lines_options():
    """--batch, --device and --lang as keywords: the figures and the text the command line gives."""
    s = summary("resnet50", batch=8, device="a100")
    assert s.to_json() == cli("net", "resnet50", "--batch", "8", "--device", "a100", "--format", "json")
    s = summary("resnet50", depth=1)
    assert s.to_csv() == cli("net", "resnet50", "--depth", "1", "--format", "csv")
    assert s.to_markdown() == cli("net", "resnet50", "--depth", "1", "--format", "markdown")
    try:
        assert "参数量" in summary("lenet5", lang="zh").to_markdown()
    finally:
        from convcalc.render.i18n import install

        install("en")


def test_bad_options_are_one_clear_error():
    with pytest.raises(convcalc.ConvcalcError, match="input_size: positive integers"):
        summary("lenet5", (0, 32, 32))
    with pytest.raises(convcalc.ConvcalcError, match="dtype: must be one of"):
        summary("lenet5", dtype="fp7")
    with pytest.raises(convcalc.ConvcalcError, match="device: must be one of"):
        summary("lenet5", device="toaster")
    with pytest.raises(convcalc.ConvcalcError, match="lang: must be one of en, zh"):
        summary("lenet5", lang="fr")


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "densenet121", "efficientnet_b0", "vit_b_16"])
def test_a_module_object_gives_what_its_file_gives(name, tmp_path):
    """summary(nn.Module) equals `convcalc net file.py:build`, and leaves the module as it was."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    model = getattr(torchvision.models, name)()
    before = {k: v.clone() for k, v in list(model.state_dict().items())[:3]}
    ours = summary(model, (3, 224, 224))
    (tmp_path / "m.py").write_text(f"import torchvision\n\ndef build():\n    return torchvision.models.{name}()\n")
    theirs = json.loads(cli("net", f"{tmp_path / 'm.py'}:build", "--input", "3x224x224", "--format", "json"))
    assert (ours.params, ours.macs, list(ours.output_shape)) == (theirs["total"]["params"], theirs["total"]["macs"], theirs["output_shape"])
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    assert next(model.parameters()).device.type == "cpu"

"""`convcalc net … --format html` / `-o report.html` (convcalc/render/html.py): one valid, self-contained
page — html5lib parses it without an error, nothing is fetched — whose table has every row and whose
figures are the JSON's; names are escaped; in Chinese with --lang zh. Where Debian's chromium is
installed, it opens each page headless: no console error, the table and the charts in its DOM, and a
screenshot kept in tests/artefacts/ to look at."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).parent / "artefacts"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=120,
                          env={"CONVCALC_LANG": "en", "PATH": "/usr/bin:/bin"})


def page(tmp_path, *args: str) -> str:
    path = tmp_path / "report.html"
    done = cli("net", *args, "-o", str(path))
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done.stderr
    return path.read_text(encoding="utf-8")


def yolo() -> str:
    """Ultralytics' own YOLOv8 file, from the installed package (the test needs ultralytics, as its tests do)."""
    ultralytics = pytest.importorskip("ultralytics")
    return str(Path(ultralytics.__file__).parent / "cfg" / "models" / "v8" / "yolov8.yaml")


PAGES = [("resnet50",), ("yolo",), ("lenet5", "--lang", "zh")]


def real(args: tuple) -> tuple:
    return tuple(yolo() if a == "yolo" else a for a in args)


@pytest.mark.parametrize("args", PAGES, ids=lambda a: "-".join(a))
def test_a_valid_self_contained_page(tmp_path, args):
    html5lib = pytest.importorskip("html5lib")
    text = page(tmp_path, *real(args))
    html5lib.HTMLParser(strict=True).parse(text)  # raises on the first parse error
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://""", text)  # nothing to fetch
    assert text.count("<svg") == 5 and text.count("<script>") == 1 and text.count("<style>") == 1
    assert ('<html lang="zh-CN">' in text) == ("zh" in args) and (("各层" in text) == ("zh" in args))


def test_the_table_has_every_row_and_the_jsons_figures(tmp_path):
    text = page(tmp_path, "resnet50")
    report = json.loads(cli("net", "resnet50", "--format", "json").stdout)
    csv_rows = cli("net", "resnet50", "--format", "csv").stdout.splitlines()[1:-1]  # every leaf and block, without the total
    assert text.count("<tr data-i=") == len(csv_rows)
    assert f"{report['total']['params']:,}" in text and f"{report['total']['macs']:,}" in text
    assert f"peak {report['total']['inference_peak_bytes']:,} B" in text  # the live memory's peak, marked


def test_names_are_escaped(tmp_path):
    path = tmp_path / "names.yaml"
    path.write_text('name: "<script>alert(1)</script>"\ninput: [3, 8, 8]\nlayers:\n  - {conv: {c: 4, k: 3}, name: "<img onerror=x>&"}\n')
    text = page(tmp_path, str(path))
    assert "<script>alert" not in text and "<img" not in text and "&lt;img onerror=x&gt;&amp;" in text


def test_the_largest_bundled_network_stays_small(tmp_path):
    assert len(page(tmp_path, "resnet152").encode()) < 1_500_000


def test_standard_output_and_the_format_flag(tmp_path):
    done = cli("net", "lenet5", "--format", "html")
    assert done.returncode == 0 and done.stdout.startswith("<!DOCTYPE html>")
    assert cli("net", "lenet5", "-o", str(tmp_path / "x.txt")).stderr.startswith("Error: --output: a table is for the terminal")
    description = tmp_path / "net.yaml"
    description.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 3}\n")
    refused = cli("net", str(description), "--format", "json", "-o", str(description))
    assert refused.stderr.startswith("Error: --output: the network is read from this file") and "conv" in description.read_text()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (apt install chromium)")
@pytest.mark.parametrize("args", PAGES, ids=lambda a: "-".join(a))
def test_chromium_shows_the_page(tmp_path, args):
    path = tmp_path / "report.html"
    page(tmp_path, *real(args))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert dom.stdout.count("<tr data-i=") > 10 and dom.stdout.count("<svg") == 5 and "<polyline" in dom.stdout
    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / f"report-{'-'.join(a.replace('.', '_') for a in args)}.png"
    subprocess.run(["chromium", *flags, "--window-size=1200,1800", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000

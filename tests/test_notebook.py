"""The library section of the documentation (docs/library.md), run as a notebook by nbclient from a
folder that is not the checkout: every line runs, what a cell shows is short, and the summary a
notebook displays is valid HTML holding the table. (nbclient and ipykernel are test tools, installed
by CI; the test is skipped without them.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

LIBRARY = Path(__file__).parent.parent / "docs" / "library.md"


def example_lines() -> list[str]:
    block = re.search(r"```python\n(.*?)```", LIBRARY.read_text(encoding="utf-8"), re.S).group(1)
    lines = [line.split("  #")[0].rstrip() for line in block.splitlines() if line.strip()]
    if importlib.util.find_spec("pandas") is None:
        lines = [line for line in lines if "to_pandas" not in line]  # documented as needing pandas
    return lines


def test_the_library_section_runs_in_a_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    html5lib = pytest.importorskip("html5lib")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(line) for line in example_lines()])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown_html = []
    for cell in notebook.cells:
        for output in cell.outputs:
            assert output.output_type != "error", (cell.source, output)
            data = output.get("data", {})
            assert len(data.get("text/plain", "")) < 400, (cell.source, data.get("text/plain", "")[:200])
            if "text/html" in data:
                shown_html.append(data["text/html"])
    assert shown_html, "the summary shows its report"
    import convcalc

    total = convcalc.analyze(convcalc.load("resnet50", input_shape=(3, 160, 160))).params  # the example's network, read here
    for html in shown_html:
        html5lib.HTMLParser(strict=True).parseFragment(html)
        assert "<table id=layers>" in html and f"{total:,}" in html

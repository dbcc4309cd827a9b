"""The package's layering, read from the source: core imports nothing above it (and no typer, rich or
yaml), only the command line imports typer, render imports no typer, formats and teach never import the
command line or the renderers' table code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "convcalc"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, resolved to an absolute dotted name (relative imports included)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def files(folder: str) -> list[Path]:
    root = PACKAGE / folder if folder else PACKAGE
    return sorted(root.rglob("*.py")) if folder else sorted(PACKAGE.rglob("*.py"))


FORBIDDEN = {
    "core": ("convcalc.formats", "convcalc.render", "convcalc.teach", "convcalc.cli", "typer", "rich", "yaml", "click"),
    "teach": ("convcalc.formats", "convcalc.render", "convcalc.cli", "typer", "rich", "click"),
    "formats": ("convcalc.render", "convcalc.teach", "convcalc.cli", "typer", "rich", "click"),
    "render": ("convcalc.cli", "typer", "click"),
}


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_each_package_imports_only_what_its_layer_allows(folder):
    wrong = {}
    for path in files(folder):
        bad = sorted(m for m in imports_of(path) if m.startswith(FORBIDDEN[folder]) and
                     any(m == f or m.startswith(f + ".") for f in FORBIDDEN[folder]))
        if bad:
            wrong[str(path.relative_to(PACKAGE))] = bad
    assert not wrong


def test_only_the_command_line_imports_typer():
    users = sorted(str(p.relative_to(PACKAGE)) for p in files("")
                   if any(m == "typer" or m.startswith("typer.") for m in imports_of(p)))
    assert users and all(u == "cli.py" or u.startswith("cli/") for u in users), users


def test_no_handler_catches_more_than_exceptions():
    """No `except BaseException` and no bare `except:`: Ctrl-C and exit always pass through."""
    wide = []
    for path in files(""):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler):
                names = [n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)] if node.type is not None else ["bare"]
                if "BaseException" in names or "bare" in names:
                    wide.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not wide


def test_renderers_and_explanations_do_not_count():
    """A row arrives with its figures worked out (its count under the chosen rule, its time bound), and `layer` hands its
    renderers the layer's figures (core.figures.layer_figures): the writers never call the counting rules, the figures'
    functions or the roofline themselves (the rules' names, RULES, they may read), nor do the explanations count."""
    computing = ("convcalc.core.counting.count", "convcalc.core.memory.roofline")
    callers = sorted(str(p.relative_to(PACKAGE)) for folder in ("render", "teach") for p in files(folder)
                     if any(m in computing for m in imports_of(p)))
    assert not callers
    figures = sorted(f"{p.relative_to(PACKAGE)}: {m}" for p in files("render") for m in imports_of(p)
                     if m.startswith(("convcalc.core.counting.", "convcalc.core.figures.")) and m != "convcalc.core.counting.RULES"
                     and m != "convcalc.core.figures.LayerFigures")
    assert not figures

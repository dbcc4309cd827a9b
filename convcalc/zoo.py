"""The bundled network descriptions (specs/), found by name."""

from __future__ import annotations

from pathlib import Path

from .errors import SpecError

_HERE = Path(__file__).parent
# installed: convcalc/specs; a source checkout or an editable install: ../specs
SPECS = next((p for p in (_HERE / "specs", _HERE.parent / "specs") if p.is_dir()), _HERE / "specs")


def bundled() -> list[Path]:
    return sorted(SPECS.glob("*.yaml"))


def find(name: str) -> Path:
    """A path to a description: the file itself, or a bundled network by name (.yaml optional)."""
    path = Path(name)
    if path.is_file():
        return path
    for candidate in (SPECS / name, SPECS / f"{name}.yaml"):
        if candidate.is_file() and candidate.parent == SPECS:
            return candidate
    names = [p.stem for p in bundled()]
    import difflib

    close = difflib.get_close_matches(path.stem, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (bundled: {', '.join(names)})"
    raise SpecError(f"{name}: no such file, nor a bundled network of that name, got {name!r}{hint}")

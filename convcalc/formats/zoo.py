"""The bundled network descriptions (specs/), found by name."""

from __future__ import annotations

from pathlib import Path

from ..core.messages import Note
from ..core.errors import SpecError, quote, reason, shorten

_PACKAGE = Path(__file__).parent.parent
# installed: convcalc/specs; a source checkout or an editable install: the repository's specs/
SPECS = next((p for p in (_PACKAGE / "specs", _PACKAGE.parent / "specs") if p.is_dir()), _PACKAGE / "specs")


def bundled() -> list[Path]:
    return sorted(SPECS.glob("*.yaml"))


def find(name: str) -> Path:
    """A path to a description: the file itself, or a bundled network by name (.yaml optional)."""
    path = Path(name)
    try:
        if path.is_file():
            return path
        if "yolo" in path.stem.lower():  # yolov8n.yaml beside Ultralytics' yolov8.yaml
            from .ultralytics import model_file

            if model_file(path)[0].is_file():
                return path
        if path.is_dir():
            raise SpecError(Note("{name}: is a directory, not a description file, got {value}", name=shorten(name), value=quote(name)))
        if path.exists():  # a FIFO or a device: read, it would block or never end
            raise SpecError(Note("{path}: not a regular file (a pipe or a device), got {value}", path=shorten(name), value=quote(name)))
        for candidate in (SPECS / name, SPECS / f"{name}.yaml"):
            if candidate.is_file() and candidate.parent == SPECS:
                return candidate
    except SpecError:
        raise
    except (OSError, ValueError) as error:  # a name too long for the file system, or with a NUL
        what = reason(error, Note("not a usable file name"))
        raise SpecError(Note("{name}: cannot open: {what}, got {value}", name=shorten(name), what=what, value=quote(name))) from None
    names = [p.stem for p in bundled()]
    import difflib

    close = difflib.get_close_matches(path.stem[:100], names, n=1)
    hint = Note("; did you mean {name}?", name=quote(close[0])) if close else Note(" (convcalc zoo lists the bundled networks)")
    raise SpecError(Note("{name}: no such file, nor a bundled network of that name, got {value}{hint}", name=shorten(name), value=quote(name), hint=hint))

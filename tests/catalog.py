"""Keep the message catalog in step with the code: `python tests/catalog.py`.

It gathers every sentence a user can read — the code's `_("…")` and `N_("…")` (Babel's extractor,
the command-line parser's words included: render/i18n.py lists them) and the help texts of every
command and option (from the command tree itself) — merges them into convcalc/render/locale/zh/LC_MESSAGES/convcalc.po,
keeping the translations already made, and compiles convcalc.mo beside it. A sentence still
untranslated is listed; tests/test_i18n.py fails while any is left.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "convcalc/render/locale/zh/LC_MESSAGES/convcalc.po"
MO = PO.with_suffix(".mo")
METHODS = [("**.py", "python")]


def code_messages() -> list[str]:
    found = extract_from_dir(str(ROOT / "convcalc"), METHODS, keywords={"_": None, "N_": None, "Note": None})
    return [message for _, _, message, _, _ in found if isinstance(message, str)]


def help_messages() -> list[str]:
    import typer

    from convcalc.cli import app
    from convcalc.render.i18n import help_texts

    return help_texts(typer.main.get_command(app))


def own_messages() -> list[str]:
    """convcalc's sentences: the code's and the help texts (each must be translated)."""
    return list(dict.fromkeys(code_messages() + help_messages()))


def read(path: Path = PO) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f, locale="zh_CN", domain="convcalc")


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def main() -> int:
    old = read() if PO.exists() else Catalog(locale="zh_CN", domain="convcalc")
    new = Catalog(locale="zh_CN", domain="convcalc", project="convcalc", version="",
                  language_team="convcalc <zh>", fuzzy=False)
    for message in own_messages():
        previous = old.get(message)
        new.add(message, previous.string if previous is not None else "")
    with open(PO, "wb") as f:
        write_po(f, new, width=0, omit_header=False, no_location=True, sort_output=False)
    MO.write_bytes(compiled(read()))
    missing = [m for m in new if m.id and not m.string]
    for m in missing:
        print(f"untranslated: {m.id!r}")
    print(f"{len(new)} messages, {len(missing)} untranslated; wrote {PO.relative_to(ROOT)} and {MO.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

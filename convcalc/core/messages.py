"""Every sentence a user reads passes through `_` (gettext's conventional name) when it is made.

It is English until `convcalc.render.i18n` installs a catalog; the core itself reads no files.
A sentence with values is written `_("{where}: must be …, got {value}").format(...)`, so that a
translation may put the values in its own order.
"""

from __future__ import annotations

from typing import Callable

_translate: Callable[[str], str] | None = None


def _(message: str) -> str:
    return message if _translate is None else _translate(message)


def N_(message: str) -> str:
    """Marks a sentence for the catalog where it is defined; `_` translates it where it is shown."""
    return message


def use(translate: Callable[[str], str] | None) -> None:
    """Install a translation (None: English again)."""
    global _translate
    _translate = translate

"""Every sentence a user reads is a template in English, marked for the catalog, and made into words
in the reader's language only at the edge (the command line, a renderer).

The arithmetic never translates: what it has to say — a warning, an error — is a `Note`, a record
of its English template and its values that reads as its English text wherever a string is expected
(JSON, a log, `str(error)`), and that `say` turns into the installed language when it is shown. So
the results a program reads never change with the language, and a notebook that once chose Chinese
gets the same library results as one that did not.

`_` is gettext's conventional name, for the sentences the edge writes itself; it is English until
`convcalc.render.i18n` installs a catalog.
"""

from __future__ import annotations

from typing import Callable

_translate: Callable[[str], str] | None = None


def _(message: str) -> str:
    return message if _translate is None else _translate(message)


def joined(items) -> str:
    """Items of a sentence, one after another: `a, b` (Chinese: `a，b`)."""
    return _(", ").join(items)


def N_(message: str) -> str:
    """Marks a sentence for the catalog where it is defined; `_` translates it where it is shown."""
    return message


def use(translate: Callable[[str], str] | None) -> None:
    """Install a translation (None: English again)."""
    global _translate
    _translate = translate


class Note(str):
    """A sentence as data: its English template (the catalog's key) and its values, which may be Notes
    themselves. As a string it is the English sentence; `say` gives it in the installed language.

        Note("{option}: must be a positive integer, got {value}", option="k", value="0")
    """

    def __new__(cls, template: str, **values):
        note = super().__new__(cls, template.format(**values) if values else template)
        note.template = template
        note.values = values
        return note

    def say(self, translate: Callable[[str], str] | None = None) -> str:
        """The sentence through `translate` (by default the installed language), its Note values too."""
        translate = translate or _
        text = translate(self.template)
        if not self.values:
            return text
        values = {}
        for key, value in self.values.items():
            value = getattr(value, "note", value) if isinstance(value, Exception) else value
            values[key] = value.say(translate) if isinstance(value, Note) else value
        return text.format(**values)

    @property
    def where(self) -> str | None:
        """The place the sentence begins with, before its first ': ' — an option, a flag, a file and line —
        read from the template and its values, never from a translation."""
        head, colon, _rest = self.template.partition(": ")
        if not colon:
            return None
        if head.startswith("{") and head.endswith("}") and head[1:-1] in self.values:
            return str(self.values[head[1:-1]])
        return head if "{" not in head else None

    def __reduce__(self):
        return (_note, (self.template, self.values))


def _note(template: str, values: dict) -> Note:
    return Note(template, **values)


def say(text) -> str:
    """`text` in the installed language: a Note (or an error carrying one) translated now; any other string as it is."""
    text = getattr(text, "note", text) if isinstance(text, Exception) else text
    return text.say() if isinstance(text, Note) else str(text)

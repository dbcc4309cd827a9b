"""The one exception family, and how a value is quoted in its messages.

Every message names the place and quotes the offending value the way the user wrote it (YAML's
own notation), shortened with `…` so that one line stays one short line whatever the input.
"""

from __future__ import annotations

from .messages import N_, Note


class ConvcalcError(ValueError):
    """A configuration that cannot be computed; the message says where, what, and the value.

    Its message is a Note (messages.py): `str(error)` is the English sentence, `error.note` the record
    (template and values) that the edge says in the reader's language, `error.where` the option or
    place it names first.

    >>> from convcalc import Conv, ConvcalcError, single_layer
    >>> try:
    ...     single_layer(Conv(8, 7), (3, 4, 4))
    ... except ConvcalcError as error:
    ...     print(error)
    axis H: kernel larger than the padded input: effective kernel 7 > input 4 + padding 0, got size 4
    """

    @property
    def note(self) -> Note:
        message = self.args[0] if self.args else ""
        if isinstance(message, Note):
            return message
        text = str(message)  # a plain message: a template without values is never formatted
        return Note(text)

    @property
    def where(self) -> str | None:
        return self.note.where


class SpecError(ConvcalcError):
    """A mistake in a network description; `where` is `file:line: path` when it is known.

    >>> from convcalc import SpecError, loads
    >>> try:
    ...     loads("input: [3, 8, 8]\\nlayers: []\\n", "net.yaml")
    ... except SpecError as error:
    ...     print(error)
    net.yaml:2: layers: must list at least one layer, got []
    """


QUOTE_CHARS = 60  # a quoted value longer than this is cut with …


def _string(text: str) -> str:
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"  # YAML's single-quoted form
    import json

    # YAML's double-quoted form: control characters and bidi overrides escaped, other letters as they are
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else json.dumps(c)[1:-1] for c in text) + '"'


def quote(value, limit: int = QUOTE_CHARS) -> str:
    """`value` in YAML notation (true, null, 'text', [1, 2], {k: 3}), at most about `limit` characters.

    It stops walking a container as soon as the text is long enough, so a value built from a
    million aliases costs no more to quote than a short one."""
    parts: list[str] = []
    size = 0

    def put(text: str) -> bool:
        nonlocal size
        parts.append(text)
        size += len(text)
        return size <= limit

    def walk(item, depth: int) -> bool:
        if isinstance(item, bool):
            return put("true" if item else "false")
        if item is None:
            return put("null")
        if isinstance(item, int):
            digits = len(str(item)) if item.bit_length() < 10_000 else limit + 1
            return put(str(item) if digits <= limit else Note("an integer of about {digits:,} digits", digits=item.bit_length() * 3 // 10))
        if isinstance(item, str):
            return put(_string(item[: limit + 1]))
        if isinstance(item, float):
            return put(repr(item).replace("inf", ".inf").replace("nan", ".nan"))
        if depth > 8:
            return put("…")
        if isinstance(item, dict):
            put("{")
            for index, (key, child) in enumerate(item.items()):
                plain_key = isinstance(key, str) and key.isidentifier()
                if ((index and not put(", ")) or not (put(key) if plain_key else walk(key, depth + 1))
                        or not put(": ") or not walk(child, depth + 1)):
                    return False
            return put("}")
        if isinstance(item, (list, tuple)):
            put("[")
            for index, child in enumerate(item):
                if (index and not put(", ")) or not walk(child, depth + 1):
                    return False
            return put("]")
        return put(_string(str(item)))

    walk(value, 0)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def printable(text: str) -> str:
    """`text` with each control character (a line break, a tab, an escape) written as JSON writes it."""
    if text.isprintable():
        return text
    import json

    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def safe_lines(text: str) -> str:
    """`text` as printable() writes it, its line breaks kept: what reaches a terminal never holds an
    escape sequence, a bell or a bidi override from a user's name."""
    if text.isprintable():
        return text
    return "\n".join(printable(line) for line in text.split("\n"))


# characters JSON may hold raw that act on a terminal or reorder what it shows: DEL and the C1 controls
# (0x9B starts an escape sequence), bidi controls, line separators
INVISIBLE = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                          0x2028, 0x2029)}


def json_safe(text: str) -> str:
    """JSON text with those characters escaped (the same JSON once parsed)."""
    return text.translate(INVISIBLE)


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """A name or path for a message: control characters escaped, cut with … past `limit`."""
    text = printable(text[: limit * 2])
    return text if len(text) <= limit else text[: limit - 1] + "…"


# the reasons the operating system gives most often, so that a catalog can translate them
OS_REASONS = (N_("No such file or directory"), N_("Permission denied"), N_("Is a directory"), N_("Not a directory"),
              N_("File name too long"), N_("Too many levels of symbolic links"), N_("No space left on device"),
              N_("Input/output error"), N_("Broken pipe"), N_("Invalid argument"))


def reason(error: Exception, otherwise: str | None = None) -> str:
    """Why reading failed, in words: the operating system's reason, or 'not UTF-8 text'."""
    if isinstance(error, UnicodeDecodeError):
        return Note("not UTF-8 text")
    strerror = getattr(error, "strerror", None)
    if strerror:
        return Note(strerror)
    return otherwise or Note("cannot be read")

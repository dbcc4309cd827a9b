"""YAML text to plain Python values, within budgets, keeping the line of every key and item.

It reads libyaml's event stream (PyYAML's parser, which keeps its own stack and so cannot
overflow) and builds the values with a loop rather than recursion, so that:
- nesting deeper than MAX_NESTING is refused before it is built (PyYAML's composer recurses in C
  and crashes on a file nested 30,000 levels deep);
- aliases are counted as what they expand to, and the total is capped (an alias bomb is refused
  at once instead of exhausting memory downstream);
- plain scalars follow YAML 1.2's core schema, exactly: `true`/`false`, `null`, decimal integers
  and floats; everything else is a string (`yes`, `1:30`, `2024-01-01` are not booleans,
  sexagesimal numbers or dates). An integer beyond ±MAX_INT is refused before it is converted.

Only the standard tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) are accepted, and
`<<` merges mappings as YAML 1.1 describes; nothing can construct an object or run code.
"""

from __future__ import annotations

import re

import yaml

from ..core.messages import Note
from ..core.errors import SpecError, quote
from ..core.limits import MAX_DECIMALS, MAX_INT, MAX_INT_DIGITS, MAX_NESTING, MAX_NODES


class Map(dict):
    """A mapping that remembers its line and each key's line (1-based)."""

    line = 0
    key_lines: dict


class Seq(list):
    """A sequence that remembers its line and each item's line (1-based)."""

    line = 0
    item_lines: list


INT = re.compile(r"[-+]?[0-9]+\Z")
FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
WORDS = {
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    "null": None, "Null": None, "NULL": None, "~": None, "": None,
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"), "+.inf": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"), ".nan": float("nan"), ".NaN": float("nan"),
}
TAG = "tag:yaml.org,2002:"


def integer(text: str, where: str) -> int:
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > MAX_INT_DIGITS or abs(value := int(text)) > MAX_INT:
        raise SpecError(Note("{where}integer too large (the limit is 2^53 = {max_int:,}), got {value}", where=where, max_int=MAX_INT, value=quote(text)))
    return value


def resolve(value: str, plain: bool, tag: str | None, where: str, exact: bool = False):
    """A scalar's value by YAML 1.2's core schema; quoted scalars are strings. With `exact`, a
    decimal is the Fraction it writes (0.1 is 1/10), not the nearest float."""
    if tag is not None and tag != "!":
        name = tag[len(TAG):] if tag.startswith(TAG) else None
        if name == "str":
            return value
        if name in ("int", "float", "bool", "null"):
            result = resolve(value, True, None, where)
            wanted = {"int": int, "float": (float, int), "bool": bool, "null": type(None)}[name]
            if not isinstance(result, wanted) or (name == "int" and isinstance(result, bool)):
                raise SpecError(Note("{where}the value does not read as !!{name}, got {value}", where=where, name=name, value=quote(value)))
            return float(result) if name == "float" else result
        raise SpecError(Note("{where}unsupported tag (a description uses plain values), got {value}", where=where, value=quote(tag.replace(TAG, '!!'))))
    if not plain:
        return value
    if value in WORDS:
        return WORDS[value]
    if value[0] in "+-0123456789.":
        if INT.match(value):
            return integer(value, where)
        if FLOAT.match(value):
            if exact:
                return exact_decimal(value, where)
            return float(value)
    return value


def exact_decimal(text: str, where: str):
    """A decimal as the Fraction it writes, if it lies in the exact range — a magnitude up to 2^53 and at
    most MAX_DECIMALS places — judged by its text before it is converted (1e999999999 would take hours)."""
    from fractions import Fraction

    if len(text) > 40:
        raise SpecError(Note("{where}a number of more than 40 characters, got {value}", where=where, value=quote(text)))
    mantissa, _, exponent = text.lower().partition("e")
    whole, _, decimals = mantissa.lstrip("+-").partition(".")
    digits = (whole + decimals).lstrip("0").rstrip("0")
    shift = int(exponent or 0) - len(decimals)  # the value is int(whole + decimals) · 10^shift
    significant = (whole + decimals).lstrip("0")
    top = len(significant) - 1 + shift  # the power of ten of the leading digit
    lowest = shift + (len(significant) - len(significant.rstrip("0")))  # … and of the last non-zero one
    if digits and (top > MAX_INT_DIGITS or lowest < -MAX_DECIMALS or abs(Fraction(text)) > MAX_INT):
        raise SpecError(Note("{where}a number beyond the exact range (a magnitude up to 2^53, at most {max_decimals} decimal places), "
                             "got {value}", where=where, max_decimals=MAX_DECIMALS, value=quote(text)))
    return Fraction(text)


def _problem(error: yaml.YAMLError, text: str, filename: str) -> SpecError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is None:
        return SpecError(Note("{filename}: YAML syntax: {problem}", filename=filename, problem=problem))
    lines = text.splitlines()
    line = min(mark.line, len(lines) - 1)
    while line > 0 and not lines[line].strip():  # the end of the file: quote the last line written
        line -= 1
    line_text = lines[line].strip() if lines else ""
    return SpecError(Note("{filename}:{value}: YAML syntax: {problem}, got {value2}", filename=filename, value=line + 1, problem=problem, value2=quote(line_text)))


def read(text: str, filename: str, exact: bool = False, limit: int = MAX_NODES):
    """The one document in `text` as dicts (Map), lists (Seq) and scalars; None when empty.
    With `exact`, decimals are read as Fractions; at most `limit` values once aliases are expanded."""
    parser = yaml.CSafeLoader(text) if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader(text)
    try:
        return _build(parser, filename, exact, limit)
    except yaml.YAMLError as error:
        raise _problem(error, text, filename) from None
    finally:
        parser.dispose()


def _build(parser, filename: str, exact: bool = False, limit: int = MAX_NODES):
    get = parser.get_event
    anchors: dict[str, tuple[object, int]] = {}
    # a frame: [container, nodes inside it, pending key or _NO_KEY, key line, anchor]
    stack: list[list] = []
    total = 0
    documents = 0
    result = None
    no_key = _NO_KEY

    def where(line: int) -> str:
        return f"{filename}:{line}: "

    def add(value, nodes: int, line: int) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        frame = stack[-1]
        frame[1] += nodes
        container = frame[0]
        if isinstance(container, Seq):
            container.append(value)
            container.item_lines.append(line)
        elif frame[2] is no_key:
            if isinstance(value, (dict, list)):
                raise SpecError(Note("{where}a key must be a plain word, got {value}", where=where(line), value=quote(value)))
            frame[2], frame[3] = value, line
        else:
            key = frame[2]
            frame[2] = no_key
            if key == "<<" and isinstance(key, str):
                container.setdefault(_MERGES, []).append((value, frame[3]))
            elif key in container:
                raise SpecError(Note("{where}duplicate key, got {value} twice", where=where(frame[3]), value=quote(key)))
            else:
                container[key] = value
                container.key_lines[key] = frame[3]

    while True:
        event = get()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            line = event.start_mark.line + 1
            value = resolve(event.value, event.implicit[0], event.tag, where(line), exact)
            total += 1
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
            add(value, 1, line)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            line = event.start_mark.line + 1
            if len(stack) >= MAX_NESTING:
                raise SpecError(Note("{where}the YAML nests deeper than {max_nesting} levels, got level {value}", where=where(line), max_nesting=MAX_NESTING, value=len(stack) + 1))
            wanted = "map" if kind is yaml.MappingStartEvent else "seq"
            if event.tag is not None and event.tag not in ("!", TAG + wanted):
                raise SpecError(Note("{where}unsupported tag (a description uses plain values), got {value}", where=where(line), value=quote(event.tag.replace(TAG, '!!'))))
            if kind is yaml.MappingStartEvent:
                container = Map()
                container.key_lines = {}
            else:
                container = Seq()
                container.item_lines = []
            container.line = line
            total += 1
            stack.append([container, 1, no_key, line, event.anchor])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            container, nodes, __, line, anchor = stack.pop()
            if kind is yaml.MappingEndEvent and _MERGES in container:
                added = _merge(container, where)
                nodes, total = nodes + added, total + added
            if anchor is not None:
                anchors[anchor] = (container, nodes)
            add(container, nodes, container.line)
        elif kind is yaml.AliasEvent:
            line = event.start_mark.line + 1
            if event.anchor not in anchors:
                raise SpecError(Note("{where}unknown anchor (an alias must follow its anchor's whole value), got {value}", where=where(line), value=quote('*' + event.anchor)))
            value, nodes = anchors[event.anchor]
            total += nodes
            _check_total(total, where(line), limit)
            add(value, nodes, line)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise SpecError(Note("{where}a description is one YAML document, got a second one", where=where(event.start_mark.line + 1)))
        elif kind is yaml.StreamEndEvent:
            return result
        if total > limit:
            _check_total(total, where(0), limit)


_NO_KEY = object()
_MERGES = object()  # where a mapping collects its `<<` values until it is complete


def _check_total(total: int, where: str, limit: int) -> None:
    if total > limit:
        raise SpecError(Note("{where}the YAML holds more than {max_nodes:,} values once its aliases are expanded, got "
                          "at least {total:,}", where=where, max_nodes=limit, total=total))


def _merge(container: Map, where) -> int:
    """YAML 1.1's merge key: `<<: *base` (or a list of them) adds the keys the mapping lacks."""
    added = 0
    for value, line in container.pop(_MERGES):
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                raise SpecError(Note("{where}<<: merges mappings only, got {value}", where=where(line), value=quote(source)))
            for key, item in source.items():
                if key not in container:
                    container[key] = item
                    container.key_lines[key] = line
                    added += 1
    return added

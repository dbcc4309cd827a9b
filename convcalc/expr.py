"""Integer arithmetic on block arguments: `4*$mid`, `$c // 2`, `($k - 1) / 2`.

A tiny recursive-descent evaluator over + − * / // ( ) integers and $names — never eval().
`/` must divide exactly (a channel count of 2.5 is a mistake, not a rounding question).
"""

from __future__ import annotations

import re

from .errors import SpecError

TOKEN = re.compile(r"\s*(?:(\d+)|\$([A-Za-z_]\w*)|(//|[-+*/()]))")


def tokens(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise SpecError(f"cannot read the expression at {text[pos:].strip()!r}, got {text!r}")
        number, name, op = match.groups()
        out.append(("num", int(number)) if number else ("name", name) if name else ("op", op))
        pos = match.end()
    return out


def evaluate(text: str, env: dict[str, object]) -> int:
    """The value of an integer expression; names are looked up in `env`."""
    items = tokens(text)
    pos = 0

    def peek():
        return items[pos] if pos < len(items) else ("end", None)

    def take():
        nonlocal pos
        pos += 1
        return items[pos - 1]

    def atom() -> int:
        kind, value = take() if pos < len(items) else ("end", None)
        if kind == "num":
            return value
        if kind == "name":
            if value not in env:
                raise SpecError(f"unknown argument ${value} (known: {', '.join('$' + k for k in env) or 'none'}), got {text!r}")
            got = env[value]
            if isinstance(got, bool) or not isinstance(got, int):
                raise SpecError(f"${value} is used in arithmetic but is not an integer, got {got!r}")
            return got
        if (kind, value) == ("op", "("):
            result = sum_()
            if peek() != ("op", ")"):
                raise SpecError(f"missing ')' in the expression, got {text!r}")
            take()
            return result
        if (kind, value) == ("op", "-"):
            return -atom()
        raise SpecError(f"incomplete expression, got {text!r}")

    def product() -> int:
        result = atom()
        while peek() in (("op", "*"), ("op", "/"), ("op", "//")):
            _, op = take()
            right = atom()
            if op == "*":
                result *= right
            elif right == 0:
                raise SpecError(f"division by zero, got {text!r}")
            elif op == "//":
                result //= right
            elif result % right:
                raise SpecError(f"{result}/{right} is not a whole number (use // to round down), got {text!r}")
            else:
                result //= right
        return result

    def sum_() -> int:
        result = product()
        while peek() in (("op", "+"), ("op", "-")):
            _, op = take()
            result = result + product() if op == "+" else result - product()
        return result

    value = sum_()
    if pos != len(items):
        raise SpecError(f"unexpected {items[pos][1]!r} in the expression, got {text!r}")
    return value

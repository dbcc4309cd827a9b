"""Integer arithmetic on block arguments: `4*$mid`, `$c // 2`, `($k - 1) / 2`.

A tiny recursive-descent evaluator over + − * / // ( ) integers and $names — never eval().
`/` must divide exactly (a channel count of 2.5 is a mistake, not a rounding question).
"""

from __future__ import annotations

import re

from .errors import SpecError, quote
from .limits import MAX_INT, MAX_INT_DIGITS, MAX_NESTING

TOKEN = re.compile(r"\s*(?:(\d+)|\$([A-Za-z_]\w*)|(//|[-+*/()]))")


def tokens(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise SpecError(f"cannot read the expression at {quote(text[pos:].strip())}, got {quote(text)}")
        number, name, op = match.groups()
        if number and len(number.lstrip("0")) > MAX_INT_DIGITS:
            raise SpecError(f"integer too large (the limit is 2^53 = {MAX_INT:,}), got {quote(text)}")
        out.append(("num", int(number)) if number else ("name", name) if name else ("op", op))
        pos = match.end()
    return out


def evaluate(text: str, env: dict[str, object]) -> int:
    """The value of an integer expression; names are looked up in `env`. Every intermediate value
    stays within ±2^53, so no chain of expressions can run away."""
    items = tokens(text)
    pos = 0
    depth = 0

    def bounded(value: int) -> int:
        if not -MAX_INT <= value <= MAX_INT:
            raise SpecError(f"the value passes the limit of 2^53 = {MAX_INT:,}, got {quote(text)}")
        return value

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
                known = ", ".join("$" + k for k in list(env)[:12]) or "none"
                raise SpecError(f"unknown argument ${value} (known: {known}), got {quote(text)}")
            got = env[value]
            if type(got) is not int:
                raise SpecError(f"${value} is used in arithmetic but is not an integer, got {quote(got)}")
            return got
        if (kind, value) == ("op", "("):
            nonlocal depth
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(f"brackets nest deeper than {MAX_NESTING} levels, got {quote(text)}")
            result = sum_()
            if peek() != ("op", ")"):
                raise SpecError(f"missing ')' in the expression, got {quote(text)}")
            take()
            depth -= 1
            return result
        if (kind, value) == ("op", "-"):
            if pos < len(items) and items[pos] == ("op", "-"):
                raise SpecError(f"two minus signs in a row, got {quote(text)}")
            return -atom()
        raise SpecError(f"incomplete expression, got {quote(text)}")

    def product() -> int:
        result = atom()
        while peek() in (("op", "*"), ("op", "/"), ("op", "//")):
            _, op = take()
            right = atom()
            if op == "*":
                result = bounded(result * right)
            elif right == 0:
                raise SpecError(f"division by zero, got {quote(text)}")
            elif op == "//":
                result //= right
            elif result % right:
                raise SpecError(f"{result}/{right} is not a whole number (use // to round down), got {quote(text)}")
            else:
                result //= right
        return result

    def sum_() -> int:
        result = product()
        while peek() in (("op", "+"), ("op", "-")):
            _, op = take()
            result = bounded(result + product() if op == "+" else result - product())
        return result

    value = sum_()
    if pos != len(items):
        raise SpecError(f"unexpected {quote(str(items[pos][1]))} in the expression, got {quote(text)}")
    return value

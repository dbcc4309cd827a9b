"""Integer arithmetic on block arguments: `4*$mid`, `$c // 2`, `($k - 1) / 2`.

A tiny recursive-descent evaluator over + − * / // ( ) integers and $names — never eval().
`/` must divide exactly (a channel count of 2.5 is a mistake, not a rounding question).
"""

from __future__ import annotations

import re

from .messages import _
from .errors import SpecError, quote
from .limits import MAX_INT, MAX_INT_DIGITS, MAX_NESTING

TOKEN = re.compile(r"\s*(?:(\d+)|\$([A-Za-z_]\w*)|(//|[-+*/()]))")


def tokens(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise SpecError(_("cannot read the expression at {value}, got {value2}").format(value=quote(text[pos:].strip()), value2=quote(text)))
        number, name, op = match.groups()
        if number and len(number.lstrip("0")) > MAX_INT_DIGITS:
            raise SpecError(_("integer too large (the limit is 2^53 = {max_int:,}), got {value}").format(max_int=MAX_INT, value=quote(text)))
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
            raise SpecError(_("the value passes the limit of 2^53 = {max_int:,}, got {value}").format(max_int=MAX_INT, value=quote(text)))
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
                known = ", ".join("$" + k for k in list(env)[:12]) or _("none")
                raise SpecError(_("unknown argument ${value} (known: {known}), got {value2}").format(value=value, known=known, value2=quote(text)))
            got = env[value]
            if type(got) is not int:
                raise SpecError(_("${value} is used in arithmetic but is not an integer, got {value2}").format(value=value, value2=quote(got)))
            return got
        if (kind, value) == ("op", "("):
            nonlocal depth
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(_("brackets nest deeper than {max_nesting} levels, got {value}").format(max_nesting=MAX_NESTING, value=quote(text)))
            result = sum_()
            if peek() != ("op", ")"):
                raise SpecError(_("missing ')' in the expression, got {value}").format(value=quote(text)))
            take()
            depth -= 1
            return result
        if (kind, value) == ("op", "-"):
            if pos < len(items) and items[pos] == ("op", "-"):
                raise SpecError(_("two minus signs in a row, got {value}").format(value=quote(text)))
            return -atom()
        raise SpecError(_("incomplete expression, got {value}").format(value=quote(text)))

    def product() -> int:
        result = atom()
        while peek() in (("op", "*"), ("op", "/"), ("op", "//")):
            __, op = take()
            right = atom()
            if op == "*":
                result = bounded(result * right)
            elif right == 0:
                raise SpecError(_("division by zero, got {value}").format(value=quote(text)))
            elif op == "//":
                result //= right
            elif result % right:
                raise SpecError(_("{result}/{right} is not a whole number (use // to round down), got {value}").format(result=result, right=right, value=quote(text)))
            else:
                result //= right
        return result

    def sum_() -> int:
        result = product()
        while peek() in (("op", "+"), ("op", "-")):
            __, op = take()
            result = bounded(result + product() if op == "+" else result - product())
        return result

    value = sum_()
    if pos != len(items):
        raise SpecError(_("unexpected {value} in the expression, got {value2}").format(value=quote(str(items[pos][1])), value2=quote(text)))
    return value

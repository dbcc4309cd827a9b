"""Arithmetic on arguments: `4*$mid`, `$c // 2`, `($k - 1) / 2`, `div_round(32 * $width, 8)`, `$c2[0]`
(an item of a list argument).

A tiny recursive-descent evaluator over + − * / // ( ), numbers (integers and decimals, exact),
$names and a few rounding functions — never eval(). Fractions are exact along the way; the result
must be a whole number (a channel count of 2.5 is a mistake, not a rounding question: round it
with //, ceil, floor or div_round).

    div_round(x, d)   x rounded to the nearest multiple of d, at least d, and never more than 10%
                      below x — torchvision's `_make_divisible` (MobileNet, EfficientNet, MnasNet),
                      on the exact value (torchvision's float product can land a hair below a
                      halfway point, 730 × 1.4 = 1021.9999999999999, where the exact 1022 does not)
    ceil(x), floor(x), min(a, b), max(a, b)
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .messages import Note
from .errors import SpecError, quote
from .limits import MAX_INT, MAX_INT_DIGITS, MAX_NESTING

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|\$([A-Za-z_]\w*)(?:\[(\d{1,3})\])?|([a-z_]+)\s*(?=\()|(//|[-+*/(),]))")


def div_round(value, divisor):
    """torchvision's _make_divisible(value, divisor): the nearest multiple of `divisor` (halves up),
    at least `divisor`, raised by one `divisor` if that falls more than 10% below `value`."""
    if divisor <= 0:
        raise ValueError
    rounded = max(divisor, math.floor(value + Fraction(divisor, 2)) // divisor * divisor)
    return rounded + divisor if rounded < Fraction(9, 10) * value else rounded


FUNCTIONS = {"div_round": (2, div_round), "ceil": (1, math.ceil), "floor": (1, math.floor), "min": (2, min), "max": (2, max)}


def number(value):
    """A value usable in arithmetic: an int, or an exact Fraction (a decimal as written: 0.1 is 1/10)."""
    if type(value) is int or type(value) is Fraction:
        return value
    if type(value) is bool:  # a flag in arithmetic is 0 or 1, as `if: 1 - $rbf` (not rbf) needs
        return int(value)
    if type(value) is float and math.isfinite(value):
        return Fraction(repr(value))
    return None


def tokens(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise SpecError(Note("cannot read the expression at {value}, got {value2}", value=quote(text[pos:].strip()), value2=quote(text)))
        digits, name, index, function, op = match.groups()
        if digits and len(digits.partition(".")[0].lstrip("0")) > MAX_INT_DIGITS or len(digits or "") > 40:
            raise SpecError(Note("integer too large (the limit is 2^53 = {max_int:,}), got {value}", max_int=MAX_INT, value=quote(text)))
        if function and function not in FUNCTIONS:
            raise SpecError(Note("unknown function {name} (known: {known}), got {value}",
                name=function, known=", ".join(FUNCTIONS), value=quote(text)))
        if digits:
            out.append(("num", Fraction(digits) if "." in digits else int(digits)))
        else:
            out.append(("name", (name, None if index is None else int(index))) if name else
                       ("func", function) if function else ("op", op))
        pos = match.end()
    return out


def evaluate(text: str, env: dict[str, object]) -> int:
    """The value of an integer expression; names are looked up in `env`. Every intermediate value
    stays within ±2^53, so no chain of expressions can run away."""
    items = tokens(text)
    pos = 0
    depth = 0

    def bounded(value):
        if not -MAX_INT <= value <= MAX_INT or (type(value) is Fraction and value.denominator > MAX_INT):
            raise SpecError(Note("the value passes the limit of 2^53 = {max_int:,}, got {value}", max_int=MAX_INT, value=quote(text)))
        if type(value) is Fraction and value.denominator == 1:
            return value.numerator
        return value

    def peek():
        return items[pos] if pos < len(items) else ("end", None)

    def take():
        nonlocal pos
        pos += 1
        return items[pos - 1]

    def atom():
        nonlocal depth
        kind, value = take() if pos < len(items) else ("end", None)
        if kind == "num":
            return value
        if kind == "name":
            value, index = value
            if value not in env:
                known = ", ".join("$" + k for k in list(env)[:12]) or Note("none")
                raise SpecError(Note("unknown argument ${value} (known: {known}), got {value2}", value=value, known=known, value2=quote(text)))
            got = env[value]
            if index is not None:  # $c2[0]: an item of a list argument (d2l's Inception(c1, c2=(96, 128), …))
                if not isinstance(got, list) or index >= len(got):
                    raise SpecError(Note("${value}[{index}]: ${value} must be a list of at least {count} values, got {value2}",
                                         value=value, index=index, count=index + 1, value2=quote(got)))
                got = got[index]
            got = number(got)
            if got is None:
                raise SpecError(Note("${value} is used in arithmetic but is not a number, got {value2}", value=value, value2=quote(env[value])))
            return bounded(got)
        if kind == "func":  # the token is followed by its bracket
            count, function = FUNCTIONS[value]
            take()
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(Note("brackets nest deeper than {max_nesting} levels, got {value}", max_nesting=MAX_NESTING, value=quote(text)))
            arguments = [sum_()]
            while peek() == ("op", ","):
                take()
                arguments.append(sum_())
            if peek() != ("op", ")") or len(arguments) != count:
                raise SpecError(Note("{name} takes {count} values in brackets, got {value}", name=value, count=count, value=quote(text)))
            take()
            depth -= 1
            try:
                return bounded(function(*arguments))
            except (ValueError, ZeroDivisionError):
                raise SpecError(Note("{name}: the multiple must be positive, got {value}", name=value, value=quote(text))) from None
        if (kind, value) == ("op", "("):
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(Note("brackets nest deeper than {max_nesting} levels, got {value}", max_nesting=MAX_NESTING, value=quote(text)))
            result = sum_()
            if peek() != ("op", ")"):
                raise SpecError(Note("missing ')' in the expression, got {value}", value=quote(text)))
            take()
            depth -= 1
            return result
        if (kind, value) == ("op", "-"):
            if pos < len(items) and items[pos] == ("op", "-"):
                raise SpecError(Note("two minus signs in a row, got {value}", value=quote(text)))
            return -atom()
        raise SpecError(Note("incomplete expression, got {value}", value=quote(text)))

    def product() -> int:
        result = atom()
        while peek() in (("op", "*"), ("op", "/"), ("op", "//")):
            __, op = take()
            right = atom()
            if op == "*":
                result = bounded(result * right)
            elif right == 0:
                raise SpecError(Note("division by zero, got {value}", value=quote(text)))
            elif op == "//":
                result = bounded(math.floor(Fraction(result) / right))
            else:
                result = bounded(Fraction(result) / right)
        return result

    def sum_() -> int:
        result = product()
        while peek() in (("op", "+"), ("op", "-")):
            __, op = take()
            result = bounded(result + product() if op == "+" else result - product())
        return result

    value = sum_()
    if pos != len(items):
        raise SpecError(Note("unexpected {value} in the expression, got {value2}", value=quote(str(items[pos][1])), value2=quote(text)))
    if type(value) is Fraction:
        raise SpecError(Note("{result} is not a whole number (round it with //, ceil, floor or div_round), got {value}",
            result=value, value=quote(text)))
    return value

"""Designs side by side (`convcalc compare`): each figure of each design, with its ratio to the first design's
(an exact fraction) and its difference from it; and, for the multiply-adds of convolutions and linear layers, the
ratio written with the first design's symbols (depthwise separable against standard: 1/C_o + 1/K²).

Pure arithmetic on reports: the command line builds the reports, the renderers write what this returns.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import NamedTuple

from .network import Report

# the figures compared, in the order shown: (key, what it is)
FIGURES = ("params", "macs", "flops", "param_bytes", "activation_bytes", "inference_peak_bytes", "training_bytes")


class Compared(NamedTuple):
    """One figure of every design; `ratios` and `differences` are each later design's against the first
    (a ratio is None where the first design's figure is 0)."""

    key: str
    values: tuple[int, ...]
    ratios: tuple[Fraction | None, ...]
    differences: tuple[int, ...]


class Comparison(NamedTuple):
    names: tuple[str, ...]
    reports: tuple[Report, ...]
    figures: tuple[Compared, ...]  # FIGURES, then the output's elements and the receptive field's area

    @property
    def first(self) -> Report:
        return self.reports[0]


def value_of(report: Report, key: str) -> int:
    if key == "training_bytes":
        return report.training.total
    if key == "output_elements":
        return prod(report.output_shape)
    if key == "field_size":  # the receptive field's area (the whole input when it is full)
        return prod(report.input_shape[1:]) if report.field.full else prod(a.size for a in report.field.axes)
    return getattr(report, key)


def compared(key: str, reports) -> Compared:
    values = tuple(value_of(r, key) for r in reports)
    first = values[0]
    return Compared(key, values, tuple(Fraction(v, first) if first else None for v in values[1:]),
                    tuple(v - first for v in values[1:]))


def compare(names, reports) -> Comparison:
    """Every figure of `reports` (two or more) against the first's.

    >>> from convcalc import Conv, single_layer
    >>> standard = single_layer(Conv(64, 3, padding=1), (32, 56, 56))
    >>> depthwise = single_layer(Conv(32, 3, padding=1, groups=32), (32, 56, 56))
    >>> compare(["standard", "depthwise"], [standard, depthwise]).figures[1].ratios[0]  # MACs: 1/C_o
    Fraction(1, 64)
    """
    keys = FIGURES + ("output_elements", "field_size")
    return Comparison(tuple(names), tuple(reports), tuple(compared(key, reports) for key in keys))


SYMBOLS = ("C_i", "C_o", "K²", "L²")  # the first design's single layer: C_i·C_o·K²·L² (per group, per sample)


def macs_terms(report: Report) -> list[tuple[int, int, int, int]]:
    """The convolutions' and linear layers' multiply-adds, each as its factors (C_i/g, C_o, ∏K, ∏L_out); none when
    another kind of layer costs multiply-adds too (the symbolic ratio is then not written)."""
    terms = []
    for row in report.leaves:
        if not row.macs:
            continue
        layer = row.layer
        if row.kind == "conv":
            cin = row.input_shape[0] // layer.groups
            terms.append((cin, row.output_shape[0], prod(g.kernel for g in row.cost.axes), prod(row.output_shape[1:])))
        elif row.kind == "linear":
            terms.append((row.input_shape[0], row.output_shape[0], 1, prod(row.output_shape[1:])))
        else:
            return []
    return terms


def symbolic_ratio(comparison: Comparison, index: int) -> tuple | None:
    """The multiply-adds of design `index` over the first's, written with the first's symbols when the first is one
    convolution (or linear layer) and the other only convolutions and linear layers: each term of the other design is
    divided by C_i·C_o·K²·L², a factor equal to one of the first's cancelling (1/C_o + 1/K² for a depthwise separable
    convolution against a standard one). None otherwise. The batch cancels; the terms are per sample."""
    base, other = macs_terms(comparison.first), macs_terms(comparison.reports[index])
    if len(base) != 1 or not other:
        return None
    reference = base[0]
    parts, numbers, total = [], [], Fraction(0)
    for term in other:
        unused = list(range(4))
        numerator = []
        for value in term:
            match = next((i for i in unused if reference[i] == value), None)
            if match is not None:
                unused.remove(match)
            elif value != 1:
                numerator.append(value)
        top = "·".join(map(str, numerator)) or "1"
        bottom = "·".join(SYMBOLS[i] for i in unused if reference[i] != 1)
        parts.append(top if not bottom else f"{top}/{bottom}" if "·" not in bottom else f"{top}/({bottom})")
        below = prod(reference[i] for i in unused)
        numbers.append(top if below == 1 else f"{top}/{below}")
        total += Fraction(prod(term), prod(reference))
    values = [f"{SYMBOLS[i]} = {reference[i]}" for i in range(4) if reference[i] != 1]
    return " + ".join(parts), " + ".join(numbers), total, ", ".join(values)  # in symbols, in numbers, the sum, the symbols' values

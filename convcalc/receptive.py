"""Receptive fields, per spatial axis, relative to the network's input.

Following Araujo, Norris & Sim (Distill, 2019): a unit's field has a size r (input pixels it
sees), a jump j (input pixels between neighbouring units) and a start (centre of the first unit's
field; input pixel i spans [i, i+1), so the input itself has r = 1, j = 1, start = 1/2).

Every layer is described by a `Window` per axis in units of its own input: output unit u reads
the interval [offset + u·step, offset + u·step + width]. Then

    j' = j·step,   r' = r + width·j,   start' = start + (offset + width/2)·j

A convolution has step S, width K̂ − 1, offset −P, which gives the familiar
j' = j·S, r' = r + (K̂ − 1)·j, start' = start + ((K̂ − 1)/2 − P)·j.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

ZERO = Fraction(0)
ONE = Fraction(1)


class Window(NamedTuple):
    """What one output unit reads along one axis, in input units; `exact` is False for a bound."""

    offset: Fraction
    width: Fraction
    step: Fraction
    exact: bool = True


POINTWISE = Window(ZERO, ZERO, ONE)


def conv_window(kernel_eff: int, stride: int, pad_before: int) -> Window:
    """Convolution and pooling: step S, width K̂ − 1, offset −P_before."""
    return Window(Fraction(-pad_before), Fraction(kernel_eff - 1), Fraction(stride))


def transposed_window(kernel_eff: int, stride: int, padding: int) -> Window:
    """Transposed convolution: output o gathers inputs i with i·S − P ≤ o ≤ i·S − P + K̂ − 1,
    i.e. i ∈ [(o + P − K̂ + 1)/S, (o + P)/S]. Exact at stride 1; otherwise that interval is a
    bound (it may hold one integer fewer for some o)."""
    return Window(Fraction(padding - kernel_eff + 1, stride), Fraction(kernel_eff - 1, stride), Fraction(1, stride), stride == 1)


def upsample_window(scale: int, mode: str) -> Window:
    """Nearest: output o copies input ⌊o/f⌋ ∈ [(o − f + 1)/f, o/f], a bound unless f = 1.
    Bilinear (align_corners=False): o samples x = (o + ½)/f − ½ and reads ⌊x⌋ and ⌊x⌋ + 1,
    both inside [x − 1, x + 1], a bound."""
    if mode == "nearest":
        return transposed_window(scale, scale, 0)
    return Window(Fraction(1, 2 * scale) - Fraction(3, 2), Fraction(2), Fraction(1, scale), False)


class AxisField(NamedTuple):
    size: Fraction
    jump: Fraction
    start: Fraction

    @property
    def low(self) -> Fraction:
        return self.start - self.size / 2

    @property
    def high(self) -> Fraction:
        return self.start + self.size / 2


class ReceptiveField(NamedTuple):
    """The field of the units of one layer. `full`: the field is the whole input by construction
    (global pooling, flatten, linear); `exact`: False once any step on the way was a bound."""

    axes: tuple[AxisField, ...]
    full: bool = False
    exact: bool = True

    @staticmethod
    def of_input(spatial_dims: int) -> "ReceptiveField":
        return ReceptiveField(tuple(AxisField(ONE, ONE, Fraction(1, 2)) for _ in range(spatial_dims)))

    def advance(self, windows: tuple[Window, ...] | None, full: bool = False) -> "ReceptiveField":
        """Apply one layer. `windows` None means the layer does not look across positions.
        The figures follow the recurrence even once the field is full."""
        if windows is None:
            return ReceptiveField(self.axes, self.full or full, self.exact)
        axes = tuple(
            AxisField(a.size + w.width * a.jump, a.jump * w.step, a.start + (w.offset + w.width / 2) * a.jump)
            for a, w in zip(self.axes, windows)
        )
        return ReceptiveField(axes, full, self.exact and all(w.exact for w in windows))

    def covers(self, out_sizes: tuple[int, ...], in_sizes: tuple[int, ...]) -> bool:
        """True when the field of every unit of the layer contains the whole input."""
        if self.full:
            return True
        if len(out_sizes) != len(self.axes):
            return False
        return all(
            a.high >= m and a.low + (n - 1) * a.jump <= 0
            for a, n, m in zip(self.axes, out_sizes, in_sizes)
        )


def union(fields: list[ReceptiveField]) -> tuple[ReceptiveField, list[str]]:
    """Where paths merge, a unit sees what any path sees: the extent covering every path's field.

    Paths whose jumps differ cannot be merged into one regular grid: the union is then a bound
    and a warning says so. Paths whose fields are not centred alike widen the union; that is
    reported too.
    """
    warnings: list[str] = []
    full = any(f.full for f in fields)
    exact = all(f.exact for f in fields)
    axes = []
    for axis, parts in enumerate(zip(*(f.axes for f in fields))):
        low = min(p.low for p in parts)
        high = max(p.high for p in parts)
        jumps = {p.jump for p in parts}
        if len(jumps) > 1:
            exact = False
            warnings.append(
                f"receptive field: merged paths step differently on axis {axis} "
                f"(jumps {', '.join(str(j) for j in sorted(jumps))}): the field is a bound"
            )
        widest = max(p.size for p in parts)
        if high - low > widest and not full:
            warnings.append(
                f"receptive field: merged paths are not centred alike on axis {axis} "
                f"(starts {', '.join(str(p.start) for p in parts)}): the union widens it from {widest} to {high - low}"
            )
        axes.append(AxisField(high - low, max(jumps), (low + high) / 2))
    return ReceptiveField(tuple(axes), full, exact), warnings

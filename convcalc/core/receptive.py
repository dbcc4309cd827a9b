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

from typing import TYPE_CHECKING, NamedTuple

from .messages import Note

if TYPE_CHECKING:  # fractions is imported only where a division does not come out whole
    from fractions import Fraction


class Window(NamedTuple):
    """What one output unit reads along one axis, in input units; `exact` is False for a bound."""

    offset: int | Fraction
    width: int | Fraction
    step: int | Fraction
    exact: bool = True




def conv_window(kernel_eff: int, stride: int, pad_before: int) -> Window:
    """Convolution and pooling: step S, width K̂ − 1, offset −P_before."""
    return Window(-pad_before, kernel_eff - 1, stride)


def transposed_window(kernel_eff: int, stride: int, padding: int) -> Window:
    """Transposed convolution: output o gathers inputs i with i·S − P ≤ o ≤ i·S − P + K̂ − 1,
    i.e. i ∈ [(o + P − K̂ + 1)/S, (o + P)/S]. Exact at stride 1; otherwise that interval is a
    bound (it may hold one integer fewer for some o)."""
    from fractions import Fraction

    return Window(Fraction(padding - kernel_eff + 1, stride), Fraction(kernel_eff - 1, stride), Fraction(1, stride), stride == 1)


def upsample_window(scale: int, mode: str) -> Window:
    """Nearest: output o copies input ⌊o/f⌋ ∈ [(o − f + 1)/f, o/f], a bound unless f = 1.
    Bilinear (align_corners=False): o samples x = (o + ½)/f − ½ and reads ⌊x⌋ and ⌊x⌋ + 1,
    both inside [x − 1, x + 1], a bound."""
    if mode == "nearest":
        return transposed_window(scale, scale, 0)
    from fractions import Fraction

    return Window(Fraction(1, 2 * scale) - Fraction(3, 2), Fraction(2), Fraction(1, scale), False)


def show(value) -> str:
    """3, 1.5 or 1/3: a figure for a message."""
    if not isinstance(value, int) and value.denominator != 1:
        return f"{float(value):g}" if (value * 2**20).denominator == 1 else str(value)
    return str(int(value))


def half(value):
    """value/2, kept an int where it divides (Fractions are ~50× slower than ints)."""
    if isinstance(value, int):
        if value % 2 == 0:
            return value // 2
        from fractions import Fraction

        return Fraction(value, 2)
    return value / 2


class AxisField(NamedTuple):
    """One axis of a field. The centre is stored doubled (pixel centres sit at i + ½), so that
    convolution-only networks stay in integers; windows with fractional steps bring Fractions."""

    size: int | Fraction
    jump: int | Fraction
    twice_start: int | Fraction

    @property
    def start(self):
        return half(self.twice_start)

    @property
    def twice_low(self):
        return self.twice_start - self.size

    @property
    def twice_high(self):
        return self.twice_start + self.size


class ReceptiveField(NamedTuple):
    """The field of the units of one layer. `full`: the field is the whole input by construction
    (global pooling, flatten, linear); `exact`: False once any step on the way was a bound."""

    axes: tuple[AxisField, ...]
    full: bool = False
    exact: bool = True

    @staticmethod
    def of_input(spatial_dims: int) -> "ReceptiveField":
        return ReceptiveField(tuple(AxisField(1, 1, 1) for _ in range(spatial_dims)))

    def advance(self, windows: tuple[Window, ...] | None, full: bool = False) -> "ReceptiveField":
        """Apply one layer. `windows` None means the layer does not look across positions.
        The figures follow the recurrence even once the field is full."""
        if windows is None:
            return self if self.full or not full else ReceptiveField(self.axes, True, self.exact)
        axes, exact = [], self.exact
        for a, w in zip(self.axes, windows):  # a plain loop: this runs once per layer and axis
            axes.append(AxisField(a.size + w.width * a.jump, a.jump * w.step, a.twice_start + (2 * w.offset + w.width) * a.jump))
            exact = exact and w.exact
        return ReceptiveField(tuple(axes), full or self.full, exact)  # once every input reaches it, every input still does

    def runaway(self, limit: int) -> "AxisField | None":
        """The first axis whose size, jump or start (or, for fractions, a denominator) passes `limit`, if any."""
        for axis in self.axes:
            size, jump, twice_start = axis
            if not (size <= limit and jump <= limit and -limit <= twice_start <= limit) or (
                    type(jump) is not int and max(jump.denominator, size.denominator, twice_start.denominator) > limit):
                return axis
        return None

    def spans(self, in_sizes: tuple[int, ...]) -> bool:
        """The course's question, "does one unit see the whole image?": the field's size is at
        least the input's along every axis (covers() asks it of every unit, corners included)."""
        return self.full or (len(self.axes) == len(in_sizes) and all(a.size >= m for a, m in zip(self.axes, in_sizes)))

    def covers(self, out_sizes: tuple[int, ...], in_sizes: tuple[int, ...]) -> bool:
        """True when the field of every unit of the layer contains the whole input."""
        if self.full:
            return True
        if len(out_sizes) != len(self.axes):
            return False
        for (size, jump, twice_start), n, m in zip(self.axes, out_sizes, in_sizes):
            # the first unit's field reaches the input's end, and the last unit's its start
            if twice_start + size < 2 * m or twice_start - size + 2 * (n - 1) * jump > 0:
                return False
        return True


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
        low = min(p.twice_low for p in parts)
        high = max(p.twice_high for p in parts)
        jumps = {p.jump for p in parts}
        if len(jumps) > 1:
            exact = False
            warnings.append(
                Note("receptive field: merged paths step differently on axis {axis} (jumps {jumps}): the field is a bound",
                    axis=axis, jumps=", ".join(show(j) for j in sorted(jumps)))
            )
        widest = max(p.size for p in parts)
        size = half(high - low)
        if size > widest and not full:
            warnings.append(
                Note("receptive field: merged paths are not centred alike on axis {axis} (starts {starts}): the union widens it "
                  "from {widest} to {size}", axis=axis, starts=", ".join(show(p.start) for p in parts), widest=show(widest), size=show(size))
            )
        axes.append(AxisField(size, max(jumps), half(low + high)))
    return ReceptiveField(tuple(axes), full, exact), warnings

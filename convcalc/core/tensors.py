"""A dense tensor of exact numbers, as `compute` and the notes' tensor statements hold it."""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import NamedTuple

Number = int | Fraction


class Tensor(NamedTuple):
    """A dense tensor: its shape and its values in row-major order."""

    shape: tuple[int, ...]
    values: tuple[Number, ...]

    def nested(self) -> list:
        """The values as nested lists, one level per axis."""
        def build(offset: int, axis: int):
            if axis == len(self.shape):
                return self.values[offset]
            step = prod(self.shape[axis + 1:])
            return [build(offset + i * step, axis + 1) for i in range(self.shape[axis])]

        return build(0, 0)

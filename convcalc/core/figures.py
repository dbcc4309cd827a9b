"""Figures courses ask about one layer that the tables of a network do not need: the weight
tensor's shape, the multiply-adds behind each output value, the parameters the same layer would
have fully connected, and the matrices im2col turns a convolution into.

    weight shape        conv C_o × C_i/g × K…; convT C_i × C_o/g × K… (PyTorch's layouts); linear out × in
    MACs per output     MACs ÷ the output's values (a convolution: C_i/g·∏K)
    fully connected     (∏input + 1)·∏output: every output value wired to every input value and a bias
                        (the notes' LeNet-5 C1: (32·32 + 1)·(28·28)·6 = 4,821,600)
    im2col              per group, columns (C_i/g·∏K) × ∏L_out and weights (C_o/g) × (C_i/g·∏K), whose
                        product is the output: MACs = g·(C_o/g)·(C_i/g·∏K)·∏L_out
    course counts       multiplications and additions apart, pooling's comparisons, additions and divisions
                        (counting.course_counts)

`layer_figures` gathers them for `convcalc layer`, whose table and JSON only write them.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple


class Im2col(NamedTuple):
    groups: int
    columns: tuple[int, int]  # (C_i/g·∏K, ∏L_out): one column per output position
    weights: tuple[int, int]  # (C_o/g, C_i/g·∏K): one row per output channel of the group


def weight_shape(row) -> tuple[int, ...] | None:
    """The weight tensor as PyTorch stores it, or None (a connection table, a layer with no weight)."""
    layer, kind = row.layer, row.kind
    if kind == "conv" and getattr(layer, "table", None) is None:
        kernel = tuple(g.kernel for g in row.cost.axes)
        return (row.output_shape[0], row.input_shape[0] // layer.groups, *kernel)
    if kind == "convT":
        kernel = tuple(g.kernel for g in row.cost.axes)
        return (row.input_shape[0], row.output_shape[0] // layer.groups, *kernel)
    if kind == "linear":
        return (row.output_shape[0], row.input_shape[0])
    return None


def macs_per_output(row, batch: int = 1) -> int | None:
    """Multiply-adds behind each output value (a row's MACs are for the batch); None when they are
    not the same for all."""
    values = prod(row.output_shape) * batch
    if not row.macs or row.macs % values:
        return None
    return row.macs // values


def fully_connected_params(row) -> int:
    """The parameters of a fully connected layer from this layer's input to its output."""
    return (prod(row.input_shape) + 1) * prod(row.output_shape)


def im2col(row) -> Im2col | None:
    """A plain convolution as matrix products, one per group; None for any other layer."""
    shape = weight_shape(row) if row.kind == "conv" else None
    if shape is None:
        return None
    groups = row.layer.groups
    patch = shape[1] * prod(shape[2:])
    return Im2col(groups, (patch, prod(row.output_shape[1:])), (row.output_shape[0] // groups, patch))


class LayerFigures(NamedTuple):
    """What `convcalc layer` shows of one layer beyond its row: each figure above (None where it does not apply)."""

    weight_shape: tuple[int, ...] | None
    macs_per_output: int | None
    fully_connected_params: int
    im2col: Im2col | None
    counts: dict  # multiplications, additions, comparisons, divisions (the batch included)


def layer_figures(row, batch: int = 1) -> LayerFigures:
    from .counting import course_counts

    return LayerFigures(weight_shape(row), macs_per_output(row, batch), fully_connected_params(row), im2col(row),
                        course_counts(row, batch))

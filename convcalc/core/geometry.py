"""Output-size arithmetic along one spatial axis.

Each function takes plain ints for one axis, checks what PyTorch checks, and returns a small
record of every intermediate figure so that the worked explanation can quote them.
"""

from __future__ import annotations


from typing import NamedTuple

from .messages import Note
from .errors import ConvcalcError, quote


class ConvAxis(NamedTuple):
    """One axis of a convolution or pooling window sweep: out = ⌊(M + P_b + P_a − K̂)/S⌋ + 1."""

    size: int  # M, the input extent
    kernel: int  # K
    dilation: int  # D
    stride: int  # S
    pad_before: int  # P at the start of the axis
    pad_after: int  # P at the end (differs from pad_before only for 'same' padding)
    ceil_mode: bool
    out: int

    @property
    def effective_kernel(self) -> int:
        """K̂ = D·(K − 1) + 1: the span of a dilated kernel."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def span(self) -> int:
        """M + P_b + P_a − K̂: how far the window slides."""
        return self.size + self.pad_before + self.pad_after - self.effective_kernel

    @property
    def unreached(self) -> int:
        """Rows of the padded input after the last window (floor mode): span mod S."""
        return 0 if self.ceil_mode else self.span % self.stride


class TransposedAxis(NamedTuple):
    """One axis of a transposed convolution: O = (M − 1)·S − 2P + D·(K − 1) + output_padding + 1."""

    size: int
    kernel: int
    dilation: int
    stride: int
    padding: int
    output_padding: int
    out: int


def effective_kernel(kernel: int, dilation: int) -> int:
    """K̂ = D·(K − 1) + 1."""
    return dilation * (kernel - 1) + 1


# nndl's names for the presets: narrow (窄卷积), wide (宽卷积), equal-width (等宽卷积)
PRESET_NAMES = {"narrow": "valid", "equal": "same", "wide": "full"}
PRESETS = ("valid", "same", "full", *PRESET_NAMES)


def resolve_padding(preset: str, size: int, kernel: int, dilation: int, stride: int) -> tuple[int, int]:
    """Turn 'valid', 'same' or 'full' (nndl: 'narrow', 'equal', 'wide') into (before, after)
    padding for one axis.

    'same' keeps the size at stride 1 and follows TensorFlow's rule ⌈M/S⌉ for larger strides;
    an odd total goes at the end, as both PyTorch and TensorFlow place it.
    'full' is the course notes' wide convolution: P = K̂ − 1 on both sides, out = M + K̂ − 1.
    """
    preset = PRESET_NAMES.get(preset, preset)
    k_eff = effective_kernel(kernel, dilation)
    if preset == "valid":
        return 0, 0
    if preset == "full":
        return k_eff - 1, k_eff - 1
    if preset == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + k_eff - size, 0)
        return total // 2, total - total // 2
    raise ConvcalcError(Note("padding: must be a number or one of valid, same, full, narrow, equal, wide, got {value}", value=quote(preset)))


def input_for(out: int, kernel: int, stride: int, dilation: int, padding) -> int:
    """The input size that gives `out` on one axis (the question a course asks backwards): with
    'same' padding M = out·S (⌈M/S⌉ = out); otherwise the smallest M with ⌊(M + P_b + P_a − K̂)/S⌋ + 1
    = out, that is (out − 1)·S + K̂ − P_b − P_a."""
    k_eff = effective_kernel(kernel, dilation)
    preset = PRESET_NAMES.get(padding, padding) if isinstance(padding, str) else None
    if preset == "same":
        return out * stride
    if preset is not None:
        before, after = resolve_padding(preset, 1, kernel, dilation, stride)
    else:
        before, after = padding if isinstance(padding, tuple) else (padding, padding)
    return (out - 1) * stride + k_eff - before - after


def conv_axis(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int, where: str) -> ConvAxis:
    """out = ⌊(M + P_b + P_a − K̂)/S⌋ + 1; refused when K̂ exceeds the padded input, as PyTorch does."""
    k_eff = effective_kernel(kernel, dilation)
    padded = size + pad_before + pad_after
    if padded < k_eff:
        raise ConvcalcError(
            Note("{where}: kernel larger than the padded input: effective kernel {k_eff} > input {size} + "
              "padding {value}, got size {size}", where=where, k_eff=k_eff, size=size, value=pad_before + pad_after)
        )
    out = (padded - k_eff) // stride + 1
    return ConvAxis(size, kernel, dilation, stride, pad_before, pad_after, False, out)


def pool_axis(size: int, kernel: int, stride: int, padding, dilation: int, ceil_mode: bool, where: str) -> ConvAxis:
    """PyTorch's pooling_output_shape; `padding` a number for both sides or (before, after) (Darknet's
    max pooling pads ⌊P/2⌋ before and the rest after).

    floor mode: ⌊(M + P_b + P_a − K̂)/S⌋ + 1.  ceil mode: ⌈(M + 2P − K̂)/S⌉ + 1, less one when the last
    window would start past the input and its left padding ((O − 1)·S ≥ M + P).
    """
    before, after = padding if isinstance(padding, tuple) else (padding, padding)
    if 2 * max(before, after) > kernel:
        raise ConvcalcError(Note("{where}: padding must be at most half the kernel ({kernel}/2), got {padding}", where=where, kernel=kernel,
                                 padding=max(before, after)))
    k_eff = effective_kernel(kernel, dilation)
    span = size + before + after - k_eff
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    if out < 1:
        raise ConvcalcError(
            Note("{where}: kernel larger than the padded input: effective kernel {k_eff} > input {size} + "
              "padding {value}, got size {size}", where=where, k_eff=k_eff, size=size, value=before + after)
        )
    return ConvAxis(size, kernel, dilation, stride, before, after, ceil_mode, out)


def transposed_axis(size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int, where: str) -> TransposedAxis:
    """O = (M − 1)·S − 2P + D·(K − 1) + output_padding + 1, with output_padding < max(S, D)."""
    if output_padding >= stride and output_padding >= dilation:
        raise ConvcalcError(
            Note("{where}: output_padding must be smaller than the stride ({stride}) or the dilation "
              "({dilation}), got {output_padding}", where=where, stride=stride, dilation=dilation, output_padding=output_padding)
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ConvcalcError(Note("{where}: output size would be {out}: padding {padding} is too large for input {size}, "
                              "got {padding}", where=where, out=out, padding=padding, size=size))
    return TransposedAxis(size, kernel, dilation, stride, padding, output_padding, out)


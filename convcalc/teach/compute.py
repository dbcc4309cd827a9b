"""Numbers, not only shapes: the output of a convolution, a transposed convolution or a pooling
layer on given values, exactly, with every output element's terms kept for the worked solution.

Values are ints and Fractions (a decimal is the fraction it writes, an average the exact
quotient): nothing is ever rounded. Output sizes come from the core's geometry, so `compute`
agrees with `layer` by construction.

    conv   (cross-correlation, as the notes and PyTorch define it)
           Y[o, i] = b[o] + Σ_c Σ_k X[c, i·S − P + k·D] · W[o, c, k]
    convT  every input X[c, i] scatters one copy of its kernel W[c, o] · X[c, i], placed at
           i·S − P (with dilation D between kernel taps); the copies are summed
    maxpool, avgpool: the largest value / the mean of each window, per channel. Max pooling's
           padding never wins (PyTorch pads with −∞); average pooling counts padded zeros in the
           divisor (PyTorch's count_include_pad=True) unless `count_pad` is False.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product
from math import prod
from typing import NamedTuple

from ..core.messages import Note, _
from ..core.tensors import Number, Tensor
from ..core.errors import ConvcalcError, quote
from ..core import geometry as geo

MAX_WORK = 250_000  # multiply-adds (or window reads) one computation may take: about a second with exact fractions
OPS = ("conv", "convT", "maxpool", "avgpool")


class Term(NamedTuple):
    """One product in an output element's sum: input value × kernel value, with their places."""

    channel: int  # the input channel it reads
    x: Number
    w: Number
    x_index: tuple[int, ...] | None  # the position read in the input (None: padding)
    w_index: tuple[int, ...]


class Element(NamedTuple):
    """How one output element was computed: its index (channel first), its value and its terms."""

    index: tuple[int, ...]
    value: Number
    terms: tuple[Term, ...]
    bias: Number | None = None
    divisor: int | None = None  # average pooling


class Result(NamedTuple):
    op: str
    input: Tensor  # channel first: C × spatial
    kernel: Tensor | None
    output: Tensor  # channel first: C_out × spatial
    elements: tuple[Element, ...]  # every output element, in row-major order
    axes: tuple  # the core's geometry record per spatial axis
    settings: dict


def tensor(value, name: str) -> Tensor:
    """Nested lists of numbers → a Tensor; refused unless rectangular and numeric."""
    shape: list[int] = []
    level = value
    while isinstance(level, list):
        if not level:
            raise ConvcalcError(Note("--{name}: an empty list has no values, got {value}", name=name, value=quote(value)))
        shape.append(len(level))
        level = level[0]
    if not shape:
        raise ConvcalcError(Note("--{name}: must be a list (a vector, a matrix or deeper), got {value}", name=name, value=quote(value)))
    values: list[Number] = []

    def walk(item, axis: int):
        if axis == len(shape):
            if type(item) is int or type(item) is Fraction:
                values.append(item)
                return
            raise ConvcalcError(Note("--{name}: every value must be a number (an integer or a decimal), got {value}", name=name, value=quote(item)))
        if not isinstance(item, list) or len(item) != shape[axis]:
            raise ConvcalcError(Note("--{name}: rows must all have the same length ({shape} at depth {value}), got {value2}", name=name, shape=shape[axis], value=axis + 1, value2=quote(item)))
        for child in item:
            walk(child, axis + 1)

    walk(value, 0)
    return Tensor(tuple(shape), tuple(values))


def as_input(x: Tensor, dims: int) -> Tensor:
    """x as C × spatial: H×W (or L) gets one channel."""
    if len(x.shape) == dims:
        return Tensor((1, *x.shape), x.values)
    if len(x.shape) == dims + 1:
        return x
    raise ConvcalcError(Note("--x: for {dims}-D, x is {value}, got a tensor of shape {items}", dims=dims, value='L or C×L' if dims == 1 else 'H×W or C×H×W' if dims == 2 else 'D×H×W or C×D×H×W', items='×'.join(map(str, x.shape))))


def as_kernel(w: Tensor, dims: int, op: str, c_in: int, groups: int) -> Tensor:
    """w as C_out × C_in/g × k… (conv) or C_in × C_out/g × k… (convT). A conv kernel of rank
    dims is one channel in and one out; of rank dims + 1 is one output channel over C_in."""
    if op == "conv":
        if len(w.shape) == dims:
            if c_in != 1:
                raise ConvcalcError(Note("--w: a {items} kernel reads one channel, but x has {c_in}; give C×kh×kw (one output) or C_out×C_in×kh×kw, got shape {items}", items='×'.join(map(str, w.shape)), c_in=c_in))
            return Tensor((1, 1, *w.shape), w.values)
        if len(w.shape) == dims + 1:
            if groups != 1:
                raise ConvcalcError(Note("--w: with --groups give C_out×(C_in/g)×k…, got shape {items}", items='×'.join(map(str, w.shape))))
            return Tensor((1, *w.shape), w.values)
        if len(w.shape) == dims + 2:
            return w
        raise ConvcalcError(Note("--w: for {dims}-D a kernel is k…, C_in×k… or C_out×C_in/g×k…, got shape {items}", dims=dims, items='×'.join(map(str, w.shape))))
    if len(w.shape) == dims:
        return Tensor((1, 1, *w.shape), w.values)
    if len(w.shape) == dims + 2:
        return w
    raise ConvcalcError(Note("--w: a transposed kernel is k… (one channel) or C_in×C_out/g×k… as PyTorch stores it, got shape {items}", items='×'.join(map(str, w.shape))))


def per_axis(value, n: int, option: str, low: int) -> tuple[int, ...]:
    """The core's per-axis check, naming the flag: a positive value (low 1) or a non-negative one."""
    from ..core.formulas import non_negative, per_axis as core_per_axis, positive

    return core_per_axis(value, n, f"--{option}", positive if low else non_negative)


def check_work(work: int) -> None:
    if work > MAX_WORK:
        raise ConvcalcError(Note("the computation: at most {max_work:,} multiply-adds (compute is for worked examples; use layer for shapes and costs), got {work:,}", max_work=MAX_WORK, work=work))


def offsets(shape: tuple[int, ...]):
    return product(*(range(n) for n in shape))


def flat_index(shape: tuple[int, ...], index: tuple[int, ...]) -> int:
    flat = 0
    for size, i in zip(shape, index):
        flat = flat * size + i
    return flat


def flipped(w: Tensor) -> Tensor:
    """The kernel turned by 180° in every spatial axis (C_out × C_in/g × k…): a true convolution, as nndl defines
    卷积, is the cross-correlation (PyTorch's conv) with this kernel."""
    spatial = w.shape[2:]
    values = []
    for index in offsets(w.shape):
        o, c, *k = index
        values.append(w.values[flat_index(w.shape, (o, c, *(size - 1 - i for size, i in zip(spatial, k))))])
    return Tensor(w.shape, tuple(values))


def conv(x: Tensor, w: Tensor, stride, padding, dilation, groups: int, bias: Tensor | None) -> Result:
    """Cross-correlation, channel by channel, as torch.nn.functional.conv1d/2d/3d."""
    n = len(x.shape) - 1
    c_in, spatial = x.shape[0], x.shape[1:]
    c_out, c_per, kernel = w.shape[0], w.shape[1], w.shape[2:]
    s, p, d = per_axis(stride, n, "s", 1), per_axis(padding, n, "p", 0), per_axis(dilation, n, "d", 1)
    if type(groups) is not int or groups < 1 or c_in % groups or c_out % groups:
        raise ConvcalcError(Note("--groups: must divide the input channels ({c_in}) and the output channels ({c_out}), got {value}", c_in=c_in, c_out=c_out, value=quote(groups)))
    if c_per != c_in // groups:
        raise ConvcalcError(Note("--w: each output channel reads C_in/g = {value} channels, but the kernel has {c_per}, got shape {items}", value=c_in // groups, c_per=c_per, items='×'.join(map(str, w.shape))))
    if bias is not None and bias.shape != (c_out,):
        raise ConvcalcError(Note("--bias: needs one value per output channel ({c_out}), got shape {items}", c_out=c_out, items='×'.join(map(str, bias.shape))))
    axes = tuple(geo.conv_axis(m, k, si, pi, pi, di, _("axis {name}").format(name=a)) for a, (m, k, si, pi, di) in enumerate(zip(spatial, kernel, s, p, d)))
    out = tuple(g.out for g in axes)
    check_work(c_out * prod(out) * c_per * prod(kernel))
    elements, values = [], []
    per_group = c_out // groups
    for o in range(c_out):
        first = (o // per_group) * c_per
        for pos in offsets(out):
            terms = []
            for c in range(c_per):
                for k in offsets(kernel):
                    at = tuple(i * si - pi + ki * di for i, si, pi, ki, di in zip(pos, s, p, k, d))
                    inside = all(0 <= a < m for a, m in zip(at, spatial))
                    xv = x.values[flat_index(x.shape, (first + c, *at))] if inside else 0
                    terms.append(Term(first + c, xv, w.values[flat_index(w.shape, (o, c, *k))], at if inside else None, (o, c, *k)))
            b = bias.values[o] if bias is not None else None
            value = sum((t.x * t.w for t in terms), b or 0)
            elements.append(Element((o, *pos), value, tuple(terms), b))
            values.append(value)
    return Result("conv", x, w, Tensor((c_out, *out), tuple(values)), tuple(elements), axes,
                  {"stride": s, "padding": p, "dilation": d, "groups": groups})


def conv_transpose(x: Tensor, w: Tensor, stride, padding, output_padding, dilation, groups: int, bias: Tensor | None) -> Result:
    """Transposed convolution, as torch.nn.functional.conv_transpose1d/2d/3d: each input value
    scatters a copy of its kernel, scaled by the value, at i·S − P."""
    n = len(x.shape) - 1
    c_in, spatial = x.shape[0], x.shape[1:]
    if w.shape[0] != c_in:
        raise ConvcalcError(Note("--w: a transposed kernel is C_in×C_out/g×k… with C_in = {c_in}, got shape {items}", c_in=c_in, items='×'.join(map(str, w.shape))))
    if type(groups) is not int or groups < 1 or c_in % groups:
        raise ConvcalcError(Note("--groups: must divide the input channels ({c_in}), got {value}", c_in=c_in, value=quote(groups)))
    c_per_out, kernel = w.shape[1], w.shape[2:]
    c_out = c_per_out * groups
    s, p, d = per_axis(stride, n, "s", 1), per_axis(padding, n, "p", 0), per_axis(dilation, n, "d", 1)
    op = per_axis(output_padding, n, "output-padding", 0)
    if bias is not None and bias.shape != (c_out,):
        raise ConvcalcError(Note("--bias: needs one value per output channel ({c_out}), got shape {items}", c_out=c_out, items='×'.join(map(str, bias.shape))))
    axes = tuple(geo.transposed_axis(m, k, si, pi, oi, di, _("axis {name}").format(name=a))
                 for a, (m, k, si, pi, oi, di) in enumerate(zip(spatial, kernel, s, p, op, d)))
    out = tuple(g.out for g in axes)
    check_work(c_in * prod(spatial) * c_per_out * prod(kernel) + c_out * prod(out))
    terms: dict[tuple, list[Term]] = {}
    per_group = c_in // groups
    for c in range(c_in):
        group = c // per_group
        for i in offsets(spatial):
            xv = x.values[flat_index(x.shape, (c, *i))]
            for oc in range(c_per_out):
                for k in offsets(kernel):
                    at = tuple(ii * si - pi + ki * di for ii, si, pi, ki, di in zip(i, s, p, k, d))
                    if all(0 <= a < m for a, m in zip(at, out)):
                        target = (group * c_per_out + oc, *at)
                        terms.setdefault(target, []).append(Term(c, xv, w.values[flat_index(w.shape, (c, oc, *k))], (c, *i), (c, oc, *k)))
    elements, values = [], []
    for o in range(c_out):
        for pos in offsets(out):
            ts = tuple(terms.get((o, *pos), ()))
            b = bias.values[o] if bias is not None else None
            value = sum((t.x * t.w for t in ts), b or 0)
            elements.append(Element((o, *pos), value, ts, b))
            values.append(value)
    return Result("convT", x, w, Tensor((c_out, *out), tuple(values)), tuple(elements), axes,
                  {"stride": s, "padding": p, "output_padding": op, "dilation": d, "groups": groups})


def pool(x: Tensor, op: str, kernel, stride, padding, dilation, ceil_mode: bool, count_pad: bool = True) -> Result:
    """Max or average pooling per channel, as torch.nn.functional.max_pool/avg_pool."""
    n = len(x.shape) - 1
    channels, spatial = x.shape[0], x.shape[1:]
    k = per_axis(kernel, n, "k", 1)
    s = k if stride is None else per_axis(stride, n, "s", 1)
    p, d = per_axis(padding, n, "p", 0), per_axis(dilation, n, "d", 1)
    if op == "avgpool" and any(di != 1 for di in d):
        raise ConvcalcError(Note("--d: average pooling has no dilation, got {value}", value=quote(list(d))))
    # the core's pooling formula: its geometry, and every check PyTorch makes (3-D average pooling's too)
    from ..core.formulas import pool as pool_formula
    from ..core.layers import Pool

    axes = pool_formula(Pool(k, s, p, 1 if op == "avgpool" else d, ceil_mode, op), x.shape).axes
    out = tuple(g.out for g in axes)
    check_work(channels * prod(out) * prod(k))
    elements, values = [], []
    for c in range(channels):
        for pos in offsets(out):
            starts = [i * si - pi for i, si, pi in zip(pos, s, p)]
            terms, divisor = [], 1
            if op == "avgpool":  # PyTorch's divisor: the window clipped to the padded input, or to the input
                for st, ki, m, pi in zip(starts, k, spatial, p):
                    low, high = (st, min(st + ki, m + pi)) if count_pad else (max(st, 0), min(st + ki, m))
                    divisor *= high - low
            for kk in offsets(k):
                at = tuple(st + ki * di for st, ki, di in zip(starts, kk, d))
                if all(0 <= a < m for a, m in zip(at, spatial)):
                    terms.append(Term(c, x.values[flat_index(x.shape, (c, *at))], 1, at, kk))
                elif op == "avgpool" and count_pad and all(-pi <= a < m + pi for a, m, pi in zip(at, spatial, p)):
                    terms.append(Term(c, 0, 1, None, kk))  # a padded zero, counted in the divisor
            if op == "maxpool":
                if not terms:
                    raise ConvcalcError(Note("--p: the window of output {list} holds only padding (PyTorch gives −∞ there), got padding {value} with dilation {value2}", list=list(pos), value=quote(list(p)), value2=quote(list(d))))
                value = max(t.x for t in terms)
                elements.append(Element((c, *pos), value, tuple(terms)))
            else:
                value = Fraction(sum(t.x for t in terms), divisor)
                value = value.numerator if value.denominator == 1 else value
                elements.append(Element((c, *pos), value, tuple(terms), None, divisor))
            values.append(value)
    return Result(op, x, None, Tensor((channels, *out), tuple(values)), tuple(elements), axes,
                  {"kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil_mode, "count_pad": count_pad})


def exact_text(value: Number) -> str:
    """7, -2.5 or 7/3: an integer, a terminating decimal, or a fraction — never a float artefact."""
    if type(value) is int:
        return str(value)
    if value.denominator == 1:
        return str(value.numerator)
    q = value.denominator
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    if q != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = value * 10**digits
    sign = "-" if scaled < 0 else ""
    whole = str(abs(scaled.numerator)).rjust(digits + 1, "0")
    return f"{sign}{whole[:-digits]}.{whole[-digits:]}"


def json_number(value: Number):
    """An int stays an int; any other value is the nearest JSON number (output_exact keeps it exact)."""
    return value if type(value) is int else (value.numerator if value.denominator == 1 else float(value))

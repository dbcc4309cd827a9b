"""One formula per layer kind, in one registry.

Counting rules (stated once; the CLI, the README and every table footer repeat them):
- A MAC is one multiply-add. FLOPs = MACs × flops-per-MAC, 1 by default (the course's
  C_i·C_o·K²·L_h·L_w, fvcore, torchvision's "GFLOPS"); 2 counts the multiply and the add apart
  (Darknet, calflops, torch.utils.flop_counter).
- Only convolutions, linear layers and attention (matrix products) cost MACs; the bias add is not
  counted.
  Pooling, normalisation, activations, dropout, upsampling and element-wise merges cost 0.
- Parameters are learnable weights and biases. Buffers (BatchNorm's running mean and variance,
  and its batch counter) are counted apart.
- Figures are for one sample; --batch multiplies MACs, FLOPs and activation memory.
- Connections (LeCun's count, LeNet-5's "connections"): every link from an input (or a bias) to
  an output that carries a trainable weight, shared weights counted once per use: for a
  convolution or a linear layer MACs + bias × outputs (= params × output positions without groups
  or tables); for LeNet's subsampling (∏K + 1)·C·∏L_out; 0 for layers with nothing to train.
"""

from __future__ import annotations

from math import prod
from typing import Callable, NamedTuple

from .messages import Note
from . import geometry as geo
from .errors import ConvcalcError, quote
from .limits import MAX_INT
from .memory import Saves
from .layers import (LRN, AdaptivePool, ChannelShuffle, Conv, ConvTranspose, Crop, Elementwise, Flatten, InstanceNorm, Layer, Linear, Norm,
                     Opaque, Pad, Pool, Reshape, Resize, Scale, Slice, Subsample, Upsample, Attention, ClassToken,
                     PositionEmbedding, SpaceToDepth, Subgraph)
from .receptive import Window, conv_window, transposed_window, upsample_window

Shape = tuple[int, ...]  # channel-first, no batch axis: (C,), (C, L), (C, H, W), (C, D, H, W)


class LayerCost(NamedTuple):
    """What one layer does to a tensor of a given shape.

    >>> from convcalc import Conv, analyze_layer
    >>> cost = analyze_layer(Conv(10, 5), (3, 32, 32))
    >>> cost.output_shape, cost.macs  # 28·28 positions × 10 × 3·5·5
    ((10, 28, 28), 588000)
    """

    output_shape: Shape
    params: int
    buffers: int
    macs: int
    windows: tuple[Window, ...] | None  # per spatial axis; None: each output reads one position
    full: bool  # the output sees its whole input (global pooling, flatten, linear on flat input)
    warnings: tuple[str, ...] = ()
    axes: tuple = ()  # per-axis geometry records, quoted by the explanation
    connections: int = 0  # LeCun's count: links that carry a trainable weight or bias (see module docstring)


def local_window(cost: "LayerCost") -> tuple[int, ...] | str | None:
    """The notes' local receptive field: the window one output reads on the layer's own input,
    per axis ("S2 2×2 感受野", "C5 5×5"): K̂ for a convolution or pooling, 1 for a layer that reads
    one position, "full" when every output reads all of it; None where the window is only a bound
    (transposed convolution, upsampling, uneven adaptive pooling)."""
    if cost.full:
        return "full"
    if cost.windows is None:
        return (1,) * (len(cost.output_shape) - 1)
    if not all(w.exact and type(w.width) is int for w in cost.windows):
        return None
    return tuple(w.width + 1 for w in cost.windows)


def axis_names(n: int) -> tuple[str, ...]:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(n, tuple(f"axis{i}" for i in range(n)))


def fmt_shape(shape: Shape) -> str:
    return "×".join(str(v) for v in shape)


def num(value) -> str:
    """1,234 for ints; 1.5 or 1/3 for fractions."""
    if not isinstance(value, int):  # a Fraction
        if value.denominator == 1:
            value = value.numerator
        else:
            scaled = value * 10**6
            return f"{float(value):g}" if scaled.denominator == 1 else str(value)
    return f"{value:,}"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive(value, option: str) -> int:
    if not is_int(value) or value < 1:
        raise ConvcalcError(Note("{option}: must be a positive integer, got {value}", option=option, value=quote(value)))
    return at_most_limit(value, option)


def non_negative(value, option: str) -> int:
    if not is_int(value) or value < 0:
        raise ConvcalcError(Note("{option}: must be a non-negative integer, got {value}", option=option, value=quote(value)))
    return at_most_limit(value, option)


def at_most_limit(value: int, option: str) -> int:
    if value > MAX_INT:
        raise ConvcalcError(Note("{option}: must be at most 2^53 = {max_int:,}, got {value}", option=option, max_int=MAX_INT, value=quote(value)))
    return value


BOOL_FIELDS = ("bias", "ceil_mode", "functional", "affine", "grid", "cosine", "pad")
TEXT_FIELDS = ("padding", "mode", "like", "op", "position_bias")  # the formulas check which words
NUMBER_FIELDS = ("factor",)  # any positive number


def check_layer(layer) -> None:
    """Exact types for every field of a layer record, before any formula reads it: a boolean is
    never a number, a float never an integer, and an unknown record is refused by name."""
    kind = getattr(layer, "kind", None)
    if not isinstance(kind, str) or kind not in KINDS or type(layer) is not KINDS[kind].layer:
        known = ", ".join(sorted(KINDS))
        raise ConvcalcError(Note("layer: must be a convcalc layer record whose kind is one of {known}, got {value}", known=known, value=quote(layer)))
    names = {field: key for key, field in layer.keys.items()}
    for field, value in zip(layer._fields, layer):
        option = names.get(field, field)
        if field == "kind":
            continue
        if field in BOOL_FIELDS:
            if type(value) is not bool:
                raise ConvcalcError(Note("{option}: must be true or false, got {value}", option=option, value=quote(value)))
        elif field in TEXT_FIELDS and isinstance(value, str):
            continue
        elif field in NUMBER_FIELDS and value is not None:
            if type(value) not in (int, float) or not 0 < value < float("inf"):
                raise ConvcalcError(Note("{option}: must be a positive number, got {value}", option=option, value=quote(value)))
        elif field == "table" and value is not None:
            if not isinstance(value, tuple):
                raise ConvcalcError(Note("table: must be a tuple with one tuple of input channels per output channel, got {value}", value=quote(value)))
            for o, row in enumerate(value):
                if not isinstance(row, tuple) or not all(is_int(i) for i in row):
                    raise ConvcalcError(Note("table[{o}]: must list input channels (integers), got {value}", o=o, value=quote(row)))
        elif value is None:
            if layer._field_defaults.get(field, 0) is not None:
                raise ConvcalcError(Note("{option}: must be an integer or one per axis, got null", option=option))
        elif field == "padding" and type(value) is tuple and all(
                is_int(v) or (type(v) is tuple and all(is_int(x) for x in v)) for v in value):
            continue  # per axis a number, or a pair (before, after)
        elif not (is_int(value) or (type(value) is tuple and all(is_int(v) for v in value))):
            raise ConvcalcError(Note("{option}: must be an integer or a tuple of integers (one per axis), got {value}", option=option, value=quote(value)))


def per_axis(value, n: int, option: str, check=positive) -> tuple[int, ...]:
    """One value for every axis, or exactly one per axis."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            needs = Note("one value for 1 spatial axis") if n == 1 else Note("1 or {n} values for {n} spatial axes", n=n)
            raise ConvcalcError(Note("{option}: needs {needs}, got {value}", option=option, needs=needs, value=quote(list(value))))
        return tuple(check(v, option) for v in value)
    return (check(value, option),) * n


def split_input(shape: Shape, kind: str) -> tuple[int, Shape]:
    if not 2 <= len(shape) <= 4:
        raise ConvcalcError(Note("{kind}: needs channels and 1 to 3 spatial axes, got input of shape {shape}", kind=kind, shape=fmt_shape(shape)))
    return shape[0], shape[1:]


def unit_name(axis: str, count: int) -> str:
    if axis == "H":
        return Note("row") if count == 1 else Note("rows")
    if axis == "W":
        return Note("column") if count == 1 else Note("columns")
    return Note("position") if count == 1 else Note("positions")


def axis_label(name: str) -> str:
    return Note("axis {name}", name=name)


def unreached_warnings(names: tuple[str, ...], axes) -> list[str]:
    """The course's question: which rows do the windows never reach when S does not divide?
    Axes with the same figures share one warning."""
    by_figures: dict[tuple[int, int, int, int], list[str]] = {}
    for name, g in zip(names, axes):
        if g.unreached > g.pad_after - g.pad_before:  # only the extra padding after left over (Darknet's pooling): no warning
            by_figures.setdefault((g.span, g.stride, g.unreached, min(g.unreached, g.pad_after)), []).append(name)
    warnings = []
    for (span, stride, left, of_padding), axis_list in by_figures.items():
        names = list(dict.fromkeys(unit_name(a, left) for a in axis_list))
        units = names[0]
        for name in names[1:]:
            units = Note("{first} and {then}", first=units, then=name)
        label = axis_label(axis_list[0]) if len(axis_list) == 1 else Note("axes {names}", names=", ".join(axis_list))
        warnings.append(
            Note("{label}: (M + 2P − K̂) = {span} is not divisible by S = {stride}: the windows never reach the last "
              "{left} {units} of the padded input ({of_input} of input, {of_padding} of padding)",
                label=label, span=span, stride=stride, left=left, units=units, of_input=left - of_padding, of_padding=of_padding)
        )
    return warnings


def conv_padding(layer: Conv, spatial: Shape, k, d, s) -> tuple[list[tuple[int, int]], list[str]]:
    if isinstance(layer.padding, str):
        pads = [geo.resolve_padding(layer.padding, m, ki, di, si) for m, ki, di, si in zip(spatial, k, d, s)]
        notes = []
        if geo.PRESET_NAMES.get(layer.padding, layer.padding) == "same" and any(si > 1 for si in s):
            notes.append(
                Note("p='same' with stride > 1 follows TensorFlow: output ⌈M/S⌉, padding (before, after) = {pads}; "
                  "PyTorch refuses padding='same' for strided convolutions", pads=", ".join(f"({b}, {a})" for b, a in pads))
            )
        return pads, notes
    if layer.p_total is not None:
        if layer.padding != 0:
            raise ConvcalcError(Note("p_total: gives the padding already; drop p (or p_total), got p {value} too", value=quote(layer.padding)))
        totals = per_axis(layer.p_total, len(spatial), "p_total", non_negative)
        return [(t // 2, t - t // 2) for t in totals], []
    padding = layer.padding
    if isinstance(padding, tuple) and len(padding) == 1 and isinstance(padding[0], tuple):
        padding = padding * len(spatial)  # one (before, after) pair for every axis
    return [pad_pair(p) for p in per_axis(padding, len(spatial), "p", padding_value)], []


def padding_value(value, option: str):
    """A padding for one axis: a number for both sides, or a pair (before, after)."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ConvcalcError(Note("{option}: a pair (before, after) per axis, got {value}", option=option, value=quote(list(value))))
        return tuple(non_negative(v, option) for v in value)
    return non_negative(value, option)


def pad_pair(value) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


def pad_pairs(padding, n: int) -> list[tuple[int, int]]:
    """A pad layer's padding as (before, after) for each of n axes."""
    return [pad_pair(v) for v in per_axis(padding, n, "p", padding_value)]


def conv_table(table, c_in: int, c_out: int, groups: int) -> tuple[tuple[int, ...], ...]:
    if groups != 1:
        raise ConvcalcError(Note("table: a connection table replaces groups, so groups must be 1, got {groups}", groups=groups))
    if len(table) != c_out:
        raise ConvcalcError(Note("table: needs one row per output channel ({c_out}), got {count} rows", c_out=c_out, count=len(table)))
    for o, row in enumerate(table):
        if not row or any(not is_int(i) or not 0 <= i < c_in for i in row) or len(set(row)) != len(row):
            raise ConvcalcError(Note("table[{o}]: must list distinct input channels from 0 to {value}, got {value2}", o=o, value=c_in - 1, value2=quote(list(row))))
    return table


def conv(layer: Conv, shape: Shape) -> LayerCost:
    """out = ⌊(M + 2P − K̂)/S⌋ + 1 per axis, K̂ = D·(K − 1) + 1;
    params = C_o·(C_i/g·∏K + 1); MACs = (C_i/g)·C_o·∏K·∏L_out (one row of the table per output map)."""
    c_in, spatial = split_input(shape, "conv")
    n = len(spatial)
    c_out = positive(layer.out_channels, "c")
    k, s, d = per_axis(layer.kernel, n, "k"), per_axis(layer.stride, n, "s"), per_axis(layer.dilation, n, "d")
    groups = positive(layer.groups, "groups")
    if c_in % groups or c_out % groups:
        raise ConvcalcError(Note("groups: must divide the input channels ({c_in}) and the output channels ({c_out}), got "
                              "{groups}", c_in=c_in, c_out=c_out, groups=groups))
    pads, warnings = conv_padding(layer, spatial, k, d, s)
    names = axis_names(n)
    axes = tuple(geo.conv_axis(m, ki, si, b, a, di, axis_label(ax)) for m, ki, si, (b, a), di, ax in zip(spatial, k, s, pads, d, names))
    warnings += unreached_warnings(names, axes)
    warnings += [
        Note("{axis}: padding {padding} ≥ effective kernel {kernel}: the first outputs see only padding",
            axis=axis_label(ax), padding=g.pad_before, kernel=g.effective_kernel)
        for ax, g in zip(names, axes) if g.pad_before >= g.effective_kernel
    ]
    if layer.table is not None:
        fan_in = sum(len(row) for row in conv_table(layer.table, c_in, c_out, groups))
    else:
        fan_in = c_out * (c_in // groups)
    weights = fan_in * prod(k)
    out = tuple(g.out for g in axes)
    windows = tuple(conv_window(g.effective_kernel, g.stride, g.pad_before) for g in axes)
    bias = c_out if layer.bias else 0
    return LayerCost((c_out, *out), weights + bias, 0, weights * prod(out), windows, False, tuple(warnings), axes,
                     (weights + bias) * prod(out))


def conv_transpose(layer: ConvTranspose, shape: Shape) -> LayerCost:
    """O = (M − 1)·S − 2P + D·(K − 1) + output_padding + 1;
    params = C_i·(C_o/g)·∏K + C_o; MACs = C_i·(C_o/g)·∏K·∏L_in (each input scatters one kernel)."""
    c_in, spatial = split_input(shape, "convT")
    n = len(spatial)
    c_out = positive(layer.out_channels, "c")
    k, s, d = per_axis(layer.kernel, n, "k"), per_axis(layer.stride, n, "s"), per_axis(layer.dilation, n, "d")
    p = per_axis(layer.padding, n, "p", non_negative)
    op = per_axis(layer.output_padding, n, "output_padding", non_negative)
    groups = positive(layer.groups, "groups")
    if c_in % groups or c_out % groups:
        raise ConvcalcError(Note("groups: must divide the input channels ({c_in}) and the output channels ({c_out}), got "
                              "{groups}", c_in=c_in, c_out=c_out, groups=groups))
    axes = tuple(
        geo.transposed_axis(m, ki, si, pi, opi, di, axis_label(ax))
        for m, ki, si, pi, opi, di, ax in zip(spatial, k, s, p, op, d, axis_names(n))
    )
    weights = c_in * (c_out // groups) * prod(k)
    windows = tuple(transposed_window(geo.effective_kernel(g.kernel, g.dilation), g.stride, g.padding) for g in axes)
    out = tuple(g.out for g in axes)
    bias = c_out if layer.bias else 0
    return LayerCost((c_out, *out), weights + bias, 0, weights * prod(spatial), windows, False, (), axes,
                     weights * prod(spatial) + bias * prod(out))


def pool_geometry(kind: str, shape: Shape, kernel, stride, padding, dilation, ceil_mode) -> tuple[int, tuple[geo.ConvAxis, ...], list[str]]:
    channels, spatial = split_input(shape, kind)
    n = len(spatial)
    k = per_axis(kernel, n, "k")
    s = k if stride is None else per_axis(stride, n, "s")
    p = per_axis(padding, n, "p", padding_value)
    d = per_axis(dilation, n, "d")
    if not isinstance(ceil_mode, bool):
        raise ConvcalcError(Note("ceil: must be true or false, got {value}", value=quote(ceil_mode)))
    names = axis_names(n)
    axes = tuple(geo.pool_axis(m, ki, si, pi, di, ceil_mode, axis_label(ax)) for m, ki, si, pi, di, ax in zip(spatial, k, s, p, d, names))
    return channels, axes, unreached_warnings(names, axes)


def pool(layer: Pool, shape: Shape) -> LayerCost:
    """out = ⌊(M + 2P − K̂)/S⌋ + 1 (⌈·⌉ with ceil_mode, as PyTorch); channels unchanged; no parameters, 0 MACs."""
    if layer.kind == "avgpool" and layer.dilation != 1:
        raise ConvcalcError(Note("d: average pooling has no dilation, got {value}", value=quote(layer.dilation)))
    channels, axes, warnings = pool_geometry(layer.kind, shape, layer.kernel, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)
    if layer.kind == "avgpool" and len(axes) == 3:  # PyTorch's avg_pool3d also checks the unpadded input
        for name, g in zip(axis_names(3), axes):
            if g.size < g.kernel:
                raise ConvcalcError(Note("axis {name}: 3-D average pooling needs the unpadded input to be at least the kernel "
                                      "({kernel}), as PyTorch checks, got size {size}", name=name, kernel=g.kernel, size=g.size))
    windows = tuple(conv_window(g.effective_kernel, g.stride, g.pad_before) for g in axes)
    return LayerCost((channels, *(g.out for g in axes)), 0, 0, 0, windows, False, tuple(warnings), axes)


def subsample(layer: Subsample, shape: Shape) -> LayerCost:
    """LeNet-5's S-layers: pooling geometry; params = 2·C (one coefficient and one bias per map); 0 MACs."""
    channels, axes, warnings = pool_geometry("subsample", shape, layer.kernel, layer.stride, 0, 1, False)
    windows = tuple(conv_window(g.effective_kernel, g.stride, 0) for g in axes)
    out = tuple(g.out for g in axes)
    return LayerCost((channels, *out), 2 * channels, 0, 0, windows, False, tuple(warnings), axes,
                     (prod(g.kernel for g in axes) + 1) * channels * prod(out))


def full_windows(spatial: Shape) -> tuple[Window, ...]:
    """One window spanning the whole input along every axis."""
    return tuple(Window(0, m - 1, 1) for m in spatial)


def adaptive_pool(layer: AdaptivePool, shape: Shape) -> LayerCost:
    """Output size O per axis (1 for global pooling and a mean); windows [⌊i·M/O⌋, ⌈(i+1)·M/O⌉); no parameters, 0 MACs."""
    channels, spatial = split_input(shape, layer.kind)
    out = per_axis(1 if layer.kind.startswith("global") or layer.kind == "mean" else layer.output_size, len(spatial), "out")
    if all(o == 1 for o in out):
        return LayerCost((channels, *out), 0, 0, 0, full_windows(spatial), True)
    windows = []
    for m, o in zip(spatial, out):
        if m % o == 0:
            windows.append(conv_window(m // o, m // o, 0))
        else:  # unequal windows: unit i reads [⌊i·M/O⌋, ⌈(i+1)·M/O⌉ − 1] ⊆ [i·M/O − (O−1)/O, (i+1)·M/O − 1/O]
            from fractions import Fraction

            windows.append(Window(Fraction(1 - o, o), Fraction(m + o - 2, o), Fraction(m, o), False))
    return LayerCost((channels, *out), 0, 0, 0, tuple(windows), False)


def linear(layer: Linear, shape: Shape) -> LayerCost:
    """params = in·out + out; MACs = in·out (per position when the input still has spatial axes)."""
    out = positive(layer.out_features, "out")
    features, spatial = shape[0], shape[1:]
    weights = features * out
    bias = out if layer.bias else 0
    return LayerCost((out, *spatial), weights + bias, 0, weights * prod(spatial), None, not spatial, (), (), (weights + bias) * prod(spatial))


def flatten(layer: Flatten, shape: Shape) -> LayerCost:
    """C×H×W → C·H·W features; every feature now depends on the whole input."""
    return LayerCost((prod(shape),), 0, 0, 0, full_windows(shape[1:]), True)


def norm(layer: Norm | InstanceNorm, shape: Shape) -> LayerCost:
    """batchnorm: params 2·C (γ, β), buffers 2·C + 1 (running mean and variance, batch counter);
    layernorm, groupnorm, instancenorm (affine): params 2·C; layernorm over `shape` (its last
    axes): params 2·∏shape. 0 MACs. The receptive field: a norm whose statistics span spatial axes
    (groupnorm, instancenorm, a layernorm over all of them) makes each output depend on the whole input;
    batchnorm at inference and a layernorm over the channels leave it as it was."""
    channels = shape[0]
    normalized = getattr(layer, "shape", None)
    if normalized is not None:
        if layer.kind != "layernorm":
            raise ConvcalcError(Note("shape: only layernorm normalises over given axes, got {value} for {kind}", value=quote(list(normalized)), kind=layer.kind))
        normalized = per_axis(normalized, len(normalized), "shape") if normalized else ()
        if not normalized or tuple(shape[-len(normalized):]) != normalized or len(normalized) > len(shape):
            raise ConvcalcError(Note("shape: must be the input's last axes (of {shape}), as nn.LayerNorm's normalized_shape, "
                                  "got {value}", shape=fmt_shape(shape), value=quote(list(normalized))))
        # statistics over every spatial axis (nn.LayerNorm([C, H, W]) or [H, W]): each output depends on
        # the whole input; over only some of them the field is left as it was (a known understatement)
        spans = len(normalized) >= len(shape) - 1 > 0
        return LayerCost(shape, 2 * prod(normalized) if layer.affine else 0, 0, 0, None, spans)
    affine = 2 * channels if layer.affine else 0
    if layer.kind == "groupnorm":
        groups = positive(layer.groups, "groups")
        if channels % groups:
            raise ConvcalcError(Note("groups: must divide the channels ({channels}), got {groups}", channels=channels, groups=groups))
    buffers = 2 * channels + 1 if layer.kind == "batchnorm" else 0
    spans = layer.kind in ("groupnorm", "instancenorm") and len(shape) > 1  # a mean and variance over H×W, as the gradient sees
    return LayerCost(shape, affine, buffers, 0, None, spans)


def lrn(layer: LRN, shape: Shape) -> LayerCost:
    """Across channels only: same shape, no parameters, 0 MACs."""
    positive(layer.size, "size")
    return LayerCost(shape, 0, 0, 0, None, False)


def elementwise(layer: Elementwise, shape: Shape) -> LayerCost:
    """Same shape, no parameters, 0 MACs."""
    return LayerCost(shape, 0, 0, 0, None, False)


def upsample(layer: Upsample, shape: Shape) -> LayerCost:
    """out = M·f per axis; no parameters, 0 MACs; the receptive field is a bound (see receptive.py)."""
    channels, spatial = split_input(shape, "upsample")
    f = per_axis(layer.scale, len(spatial), "scale")
    if layer.mode not in ("nearest", "bilinear"):
        raise ConvcalcError(Note("mode: must be nearest or bilinear, got {value}", value=quote(layer.mode)))
    windows = tuple(upsample_window(fi, layer.mode) for fi in f)
    return LayerCost((channels, *(m * fi for m, fi in zip(spatial, f))), 0, 0, 0, windows, False)


def channel_shuffle(layer: ChannelShuffle, shape: Shape) -> LayerCost:
    """Same shape (the channels reordered); no parameters, 0 MACs; each output reads one position."""
    groups = positive(layer.groups, "groups")
    if shape[0] % groups:
        raise ConvcalcError(Note("groups: must divide the channels ({channels}), got {groups}", channels=shape[0], groups=groups))
    return LayerCost(shape, 0, 0, 0, None, False)


PAD_MODES = ("zeros", "reflect", "replicate")


def pad(layer: Pad, shape: Shape) -> LayerCost:
    """out = P_before + M + P_after per axis; no parameters, 0 MACs. Zeros shift the field exactly;
    a reflected or replicated border cell reads a cell elsewhere, so the field is a bound."""
    channels, spatial = split_input(shape, "pad")
    if layer.mode not in PAD_MODES:
        raise ConvcalcError(Note("mode: must be zeros, reflect or replicate, got {value}", value=quote(layer.mode)))
    padding = layer.padding
    if isinstance(padding, str):
        raise ConvcalcError(Note("p: must be a number or a pair (before, after) per axis, got {value}", value=quote(padding)))
    pads = pad_pairs(padding, len(spatial))
    if layer.mode == "reflect":
        for name, m, (before, after) in zip(axis_names(len(spatial)), spatial, pads):
            if max(before, after) >= m:
                raise ConvcalcError(Note("{axis}: reflect padding must be smaller than the input ({size}), as PyTorch checks, got {padding}",
                    axis=axis_label(name), size=m, padding=max(before, after)))
    # output u reads input u − P_b; a border cell instead reads a mirrored cell, at most 2·P_b above
    # or 2·P_a below (reflect), or the edge cell, at most P_b above or P_a below (replicate)
    if layer.mode == "zeros":
        windows = tuple(Window(-b, 0, 1) for b, a in pads)
    elif layer.mode == "reflect":
        windows = tuple(Window(-b - 2 * a, 2 * (a + b), 1, False) for b, a in pads)
    else:
        windows = tuple(Window(-b - a, a + b, 1, False) for b, a in pads)
    return LayerCost((channels, *(b + m + a for m, (b, a) in zip(spatial, pads))), 0, 0, 0, windows, False)


def unresolved(layer) -> None:
    if layer.like is not None:  # the walk replaces `like` by the id's size before it gets here
        raise ConvcalcError(Note("like: names an earlier output, which only a network has, got {value}", value=quote(layer.like)))


def crop(layer: Crop, shape: Shape) -> LayerCost:
    """A window of `size` at `offset` (centred: ⌊(M − size)/2⌉, halves to even, as torchvision's
    center_crop); no parameters, 0 MACs; output u reads input u + offset, exactly."""
    from fractions import Fraction

    channels, spatial = split_input(shape, "crop")
    unresolved(layer)
    if layer.size is None:
        raise ConvcalcError(Note("size: give the size to crop to (or like: an id), got none"))
    n = len(spatial)
    size = per_axis(layer.size, n, "size")
    offsets = (per_axis(layer.offset, n, "offset", non_negative) if layer.offset is not None
               else tuple(round(Fraction(m - s, 2)) if m >= s else 0 for m, s in zip(spatial, size)))
    for name, m, s, o in zip(axis_names(n), spatial, size, offsets):
        if o + s > m:
            raise ConvcalcError(Note("{axis}: the crop ({size} from {offset}) must lie inside the input ({input}), got size {size}",
                axis=axis_label(name), size=s, offset=o, input=m))
    return LayerCost((channels, *size), 0, 0, 0, tuple(Window(o, 0, 1) for o in offsets), False)


def resize(layer: Resize, shape: Shape) -> LayerCost:
    """out = size, or ⌊M·factor⌋; no parameters, 0 MACs. Output u samples input x = u·M/out
    (nearest: ⌊x⌋) or x = (u + ½)·M/out − ½ (bilinear: ⌊x⌋ and ⌊x⌋ + 1): a bound unless the ratio
    is a whole number."""
    import math
    from fractions import Fraction

    channels, spatial = split_input(shape, "resize")
    unresolved(layer)
    if layer.mode not in ("nearest", "bilinear"):
        raise ConvcalcError(Note("mode: must be nearest or bilinear, got {value}", value=quote(layer.mode)))
    if (layer.size is None) == (layer.factor is None):
        raise ConvcalcError(Note("size: give the size, or factor, or like: an id (one of them), got {value}",
            value=quote({"size": layer.size, "factor": layer.factor})))
    n = len(spatial)
    if layer.size is not None:
        out = per_axis(layer.size, n, "size")
        ratios = [Fraction(m, o) for m, o in zip(spatial, out)]
    else:
        factor = Fraction(repr(layer.factor)) if isinstance(layer.factor, float) else Fraction(layer.factor)
        out = tuple(math.floor(m * factor) for m in spatial)
        if min(out) < 1:
            raise ConvcalcError(Note("factor: the output would be empty ({shape}), got {value}",
                shape=fmt_shape(out), value=quote(layer.factor)))
        ratios = [1 / factor] * n  # PyTorch samples with the factor given, not in/out
    return LayerCost((channels, *out), 0, 0, 0, tuple(resample_window(r, layer.mode) for r in ratios), False)


def resample_window(ratio, mode: str) -> Window:
    from fractions import Fraction

    if ratio.denominator == 1 and mode == "nearest":  # every ratio-th input, exactly
        return Window(0, 0, ratio.numerator)
    if ratio.numerator == 1:  # an integer upsampling: the tighter windows of upsample
        return upsample_window(ratio.denominator, mode)
    if mode == "nearest":
        return Window(-1, 1, ratio, False)
    return Window(ratio / 2 - Fraction(3, 2), 2, ratio, False)


def scale(layer: Scale, shape: Shape) -> LayerCost:
    """params = C (one multiplier per channel); 0 MACs."""
    return LayerCost(shape, shape[0], 0, 0, None, False)


class Kind(NamedTuple):
    """A layer kind: the record a description builds, its formula, what it keeps for the backward
    pass and its `--by-op` group (KINDS below: one entry per kind)."""

    layer: type | None  # None for a merge
    cost: Callable[..., LayerCost] | None
    saves: Saves
    group: str


def target_shape(value, option: str = "shape") -> Shape:
    if type(value) is not tuple or not 1 <= len(value) <= 4 or not all(is_int(v) and 1 <= v <= MAX_INT for v in value):
        raise ConvcalcError(Note("{option}: must be 1 to 4 positive sizes (C, C×L, C×H×W, C×D×H×W), got {value}", option=option, value=quote(value)))
    return value


def channel_slice(layer: Slice, shape: Shape) -> LayerCost:
    """Channels [start, start + size) of the input; the spatial sizes kept, no parameters, 0 MACs."""
    start, size = non_negative(layer.start, "start"), positive(layer.size, "size")
    if start + size > shape[0]:
        raise ConvcalcError(Note("size: channels {start} to {end} must lie inside the input's {channels}, got {value}",
            start=start, end=start + size - 1, channels=shape[0], value=size))
    return LayerCost((size, *shape[1:]), 0, 0, 0, None, False)


def data_move(target: Shape, source: Shape, op: str) -> Layer:
    """The layer a view, reshape or permutation of `source` into `target` is (both channel-first, no
    batch): a flatten, a reshape the formula takes, or else a region named after `op` with the target's
    shape — a data move costs no multiply-adds whatever it does, so the totals stay whole (the receptive
    field past it is taken whole, a bound)."""
    if len(target) == 1 and len(source) > 1 and prod(target) == prod(source):
        return Flatten()
    if prod(target) == prod(source) and 1 <= len(target) <= 4 and (target[1:] == source[1:] or target[0] == source[0]):
        return Reshape(target)
    return Subgraph(op, target if 1 <= len(target) <= 4 else (prod(target),))


def resolve_sizes(target, current: Shape, zero_copies: bool = False) -> tuple[int, ...] | None:
    """A reshape's sizes made whole: one −1 is the rest of the elements (as PyTorch and ONNX infer it), and
    with `zero_copies` a 0 is the current size of that axis (ONNX's Reshape without allowzero). None when
    they cannot hold the elements of `current` (all three readers of a reshape use this one rule)."""
    sizes = [current[i] if zero_copies and v == 0 and i < len(current) else v for i, v in enumerate(target)]
    if not all(is_int(v) and (v == -1 or v >= 1) for v in sizes) or sizes.count(-1) > 1:
        return None
    if -1 in sizes:
        known = prod(v for v in sizes if v != -1)
        if prod(current) % known:
            return None
        sizes[sizes.index(-1)] = prod(current) // known
    return tuple(sizes) if prod(sizes) == prod(current) else None


def reshape(layer: Reshape, shape: Shape) -> LayerCost:
    """The same elements in another shape: no parameters, 0 MACs. Positions kept: each output reads
    one position; flattened into features: each reads the whole input. One size may be −1: the rest
    of the elements, as PyTorch infers it (ViT's patches: [768, -1] at any input size)."""
    target = layer.shape
    if type(target) is tuple and target.count(-1) == 1:
        resolved = resolve_sizes(target, shape)
        if resolved is None:
            raise ConvcalcError(Note("shape: must hold the input's {count:,} elements ({input}), got {value}",
                                     count=prod(shape), input=fmt_shape(shape), value=fmt_shape(target)))
        target = resolved
    out = target_shape(target)
    if prod(out) != prod(shape):
        raise ConvcalcError(Note("shape: must hold the input's {count:,} elements ({input}), got {value}",
            count=prod(shape), input=fmt_shape(shape), value=fmt_shape(out)))
    if len(out) == 1 and len(shape) > 1:
        return LayerCost(out, 0, 0, 0, None, True)
    if out[1:] == shape[1:]:
        return LayerCost(out, 0, 0, 0, None, False)
    if out[0] == shape[0] and len(out) > 1:  # the positions rearranged (ViT's patches into a sequence): the field taken whole, a bound
        return LayerCost(out, 0, 0, 0, None, True)
    raise ConvcalcError(Note("shape: a reshape keeps the channels ({input}) or flattens everything, got {value}",
        input=fmt_shape(shape), value=fmt_shape(out)))


class Windows(NamedTuple):
    """Where windowed attention's windows fall: `window` positions per axis, the input `padded` to a
    multiple of it (a grid's window divides the input: nothing padded). Quoted by the explanation and
    by the other tools' counting rules."""

    window: tuple[int, ...]
    padded: tuple[int, ...]

    @property
    def tokens(self) -> int:  # T_p
        return prod(self.padded)

    @property
    def per_window(self) -> int:  # N
        return prod(self.window)

    @property
    def offsets(self) -> int:  # relative offsets between two positions of a window: ∏(2w − 1)
        return prod(2 * w - 1 for w in self.window)


POSITION_BIASES = ("none", "table", "mlp")
BIAS_MLP_WIDTH = 512  # Swin V2's continuous position bias: Linear(axes, 512), ReLU, Linear(512, heads)


def attention(layer: Attention, shape: Shape) -> LayerCost:
    """E channels, T = ∏L positions, attending in windows of N = ∏w positions (global: N = T); T_p
    positions once each axis is padded to a multiple of its window (⌈L/w⌉·w; global and grid: T).

    params 4·E² + 4·E (query, key, value and output projections, with biases); MACs 4·T_p·E² (the
    projections) + 2·T_p·N·E (each window's scores, then its weighted sum of values). A position bias
    `table` adds ∏(2w − 1)·heads parameters and N² buffer indices; `mlp` adds its 2-layer MLP
    (axes·512 + 512 + 512·heads parameters, ∏(2w − 1)·(axes·512 + 512·heads) MACs on the offsets
    table it keeps as a buffer — once per forward pass, here per sample); `cosine` one scale per head.
    Global and grid attention: every output reads the whole input; windows: at most w − 1 positions
    either side (a bound: where the windows fall decides)."""
    embed, spatial = shape[0], shape[1:]
    heads = positive(layer.heads, "heads")
    if embed % heads:
        raise ConvcalcError(Note("heads: must divide the channels ({channels}), got {heads}", channels=embed, heads=heads))
    if layer.position_bias not in POSITION_BIASES:
        raise ConvcalcError(Note("position_bias: must be none, table or mlp, got {value}", value=quote(layer.position_bias)))
    params = 4 * embed * embed + (4 * embed if layer.bias else 0) + (heads if layer.cosine else 0)
    tokens = prod(spatial)
    if layer.window is None:
        if layer.position_bias != "none" or layer.grid or any(per_axis(layer.shift, len(spatial), "shift", non_negative)):
            raise ConvcalcError(Note("window: a position bias, a grid or a shift needs a window, got {value}", value=quote(None)))
        return LayerCost(shape, params, 0, 4 * tokens * embed * embed + 2 * tokens * tokens * embed, None, True)
    if not spatial:
        raise ConvcalcError(Note("window: needs positions to split into windows, got input of shape {shape}", shape=fmt_shape(shape)))
    window = per_axis(layer.window, len(spatial), "window")
    shift = per_axis(layer.shift, len(spatial), "shift", non_negative)
    if any(s >= w for s, w in zip(shift, window)):
        raise ConvcalcError(Note("shift: must be smaller than the window ({window}), got {value}",
            window=fmt_shape(window), value=quote(layer.shift)))
    if layer.grid and any(m % w for m, w in zip(spatial, window)):
        raise ConvcalcError(Note("window: a grid's window must divide the input ({input}), got {value}",
            input=fmt_shape(spatial), value=quote(layer.window)))
    windows = Windows(window, spatial if layer.grid else tuple(-(-m // w) * w for m, w in zip(spatial, window)))
    tokens, per_window, offsets = windows.tokens, windows.per_window, windows.offsets
    macs = 4 * tokens * embed * embed + 2 * tokens * per_window * embed
    buffers = 0
    if layer.position_bias == "table":
        params, buffers = params + offsets * heads, per_window * per_window
    elif layer.position_bias == "mlp":
        hidden = BIAS_MLP_WIDTH
        mlp = len(window) * hidden + hidden + hidden * heads
        params, buffers = params + mlp, offsets * len(window) + per_window * per_window
        macs += offsets * (len(window) * hidden + hidden * heads)
    if layer.grid:
        return LayerCost(shape, params, buffers, macs, None, True, axes=(windows,))
    return LayerCost(shape, params, buffers, macs, tuple(Window(-(w - 1), 2 * (w - 1), 1, False) for w in window), False,
                     axes=(windows,))


def space_to_depth(layer: SpaceToDepth, shape: Shape) -> LayerCost:
    """C×M… → C·r^d × (M/r)… (with `pad`: ⌈M/r⌉, zeros added at the end); no parameters, 0 MACs;
    output u reads input positions r·u … r·u + r − 1."""
    channels, spatial = split_input(shape, "space_to_depth")
    r = positive(layer.factor, "factor")
    if not layer.pad and any(m % r for m in spatial):
        raise ConvcalcError(Note("factor: must divide every spatial size ({input}) unless pad is true, got {value}",
            input=fmt_shape(spatial), value=r))
    out = tuple(-(-m // r) for m in spatial)
    return LayerCost((channels * r ** len(spatial), *out), 0, 0, 0, tuple(conv_window(r, r, 0) for _m in spatial), False)


def class_token(layer: ClassToken, shape: Shape) -> LayerCost:
    """C×L → C×(L + 1), C parameters; output position u reads input position u − 1."""
    if len(shape) != 2:
        raise ConvcalcError(Note("input: a class token goes before the positions of a C×L sequence, got {value}", value=fmt_shape(shape)))
    return LayerCost((shape[0], shape[1] + 1), shape[0], 0, 0, (Window(-1, 0, 1),), False)


def position_embedding(layer: PositionEmbedding, shape: Shape) -> LayerCost:
    """Same shape; one learned value per channel and position: C·∏L parameters, 0 MACs."""
    return LayerCost(shape, prod(shape), 0, 0, None, False)


def opaque(layer: Opaque, shape: Shape) -> LayerCost:
    """An operation without a formula: the model's own output shape and parameters; its MACs unknown (listed as a
    warning), its receptive field taken as the whole input (a bound)."""
    out = target_shape(layer.shape)
    params, buffers = non_negative(layer.params, "params"), non_negative(layer.buffers, "buffers")
    warning = Note("{op}: convcalc has no formula for this operation; its MACs are not counted (the totals are partial) and "
                "the receptive field past it is a bound", op=layer.op)
    return LayerCost(out, params, buffers, 0, None, True, (warning,))


def subgraph(layer: Subgraph, shape: Shape) -> LayerCost:
    """A region of a model file: the file's own output shape, parameters, buffers and MACs (a MAC per
    multiply-add of its matrix products, per sample); every output reads the whole input."""
    out = target_shape(layer.shape)
    params, buffers = non_negative(layer.params, "params"), non_negative(layer.buffers, "buffers")
    return LayerCost(out, params, buffers, non_negative(layer.macs, "macs"), None, True)


ACTIVATIONS = ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "swish", "mish", "sigmoid", "tanh", "hardswish", "hardsigmoid", "softmax")

# the `--by-op` groups, in the order they are listed; every kind names one
GROUPS = ("conv", "linear", "attention", "pool", "norm", "activation", "merge", "embedding", "reshape", "other")

_INPUT = Saves(input=True)  # what most operations keep: their input
_MAX = Saves(input=True, indices=True)  # max pooling: its input and int64 argmax indices
_NOTHING = Saves()

# Every layer kind once: its record, its formula, what it keeps for the backward pass (memory.py:
# as PyTorch's kernels save it) and its --by-op group. Activations, dropout and identity keep the
# shape, learn nothing and cost 0 MACs (listed, never guessed).
KINDS: dict[str, Kind] = {
    "conv": Kind(Conv, conv, _INPUT, "conv"),
    "convT": Kind(ConvTranspose, conv_transpose, _INPUT, "conv"),
    "subsample": Kind(Subsample, subsample, _INPUT, "conv"),
    "linear": Kind(Linear, linear, _INPUT, "linear"),
    "attention": Kind(Attention, attention, _INPUT, "attention"),
    "subgraph": Kind(Subgraph, subgraph, _INPUT, "attention"),  # a model file's products of activations; unknown inside: its input
    "maxpool": Kind(Pool, pool, _MAX, "pool"),
    "avgpool": Kind(Pool, pool, _INPUT, "pool"),
    "adaptive_avgpool": Kind(AdaptivePool, adaptive_pool, _INPUT, "pool"),
    "adaptive_maxpool": Kind(AdaptivePool, adaptive_pool, _MAX, "pool"),
    "global_avgpool": Kind(AdaptivePool, adaptive_pool, _NOTHING, "pool"),  # a mean over the spatial axes keeps only the sizes
    # the same average written as x.mean((2, 3)): other tools count it apart (fvcore and thop not at all)
    "mean": Kind(AdaptivePool, adaptive_pool, _NOTHING, "pool"),
    "global_maxpool": Kind(AdaptivePool, adaptive_pool, _MAX, "pool"),
    "batchnorm": Kind(Norm, norm, Saves(input=True, stats="batch"), "norm"),
    "layernorm": Kind(Norm, norm, Saves(input=True, stats="row"), "norm"),
    "groupnorm": Kind(Norm, norm, Saves(input=True, stats="group"), "norm"),
    "instancenorm": Kind(InstanceNorm, norm, Saves(input=True, stats="instance"), "norm"),
    "lrn": Kind(LRN, lrn, _INPUT, "norm"),
    "scale": Kind(Scale, scale, _INPUT, "norm"),
    "relu": Kind(Elementwise, elementwise, Saves(output=True, in_place=True), "activation"),
    "relu6": Kind(Elementwise, elementwise, Saves(copy=True, in_place=True), "activation"),
    "leaky_relu": Kind(Elementwise, elementwise, Saves(output=True, in_place=True), "activation"),
    "elu": Kind(Elementwise, elementwise, Saves(output=True, in_place=True), "activation"),
    "sigmoid": Kind(Elementwise, elementwise, Saves(output=True), "activation"),
    "tanh": Kind(Elementwise, elementwise, Saves(output=True), "activation"),
    "softmax": Kind(Elementwise, elementwise, Saves(output=True), "activation"),
    **{name: Kind(Elementwise, elementwise, _INPUT, "activation") for name in ("gelu", "silu", "swish", "mish", "hardswish", "hardsigmoid")},
    # its output is a new tensor in training (input × noise), the input itself without gradients
    "dropout": Kind(Elementwise, elementwise, Saves(mask=True), "reshape"),
    "identity": Kind(Elementwise, elementwise, Saves(view=True), "reshape"),
    "class_token": Kind(ClassToken, class_token, _NOTHING, "embedding"),
    "position_embedding": Kind(PositionEmbedding, position_embedding, _NOTHING, "embedding"),
    "flatten": Kind(Flatten, flatten, Saves(view=True), "reshape"),
    "upsample": Kind(Upsample, upsample, _NOTHING, "reshape"),
    "resize": Kind(Resize, resize, _NOTHING, "reshape"),  # interpolation's backward needs only the sizes
    "crop": Kind(Crop, crop, Saves(view=True), "reshape"),  # a slice of its input
    "slice": Kind(Slice, channel_slice, Saves(view=True), "reshape"),  # x[:, a:b] is a view of x
    # zeros keep nothing; reflect and replicate keep their input (saves_of)
    "pad": Kind(Pad, pad, _NOTHING, "reshape"),
    # view, transpose, then a contiguous copy: it allocates, keeps nothing
    "channel_shuffle": Kind(ChannelShuffle, channel_shuffle, _NOTHING, "reshape"),
    # a permutation made contiguous allocates and keeps nothing (a plain view: a bound)
    "reshape": Kind(Reshape, reshape, _NOTHING, "reshape"),
    # pixel_unshuffle (or pad, strided views, cat) allocates its result and keeps nothing
    "space_to_depth": Kind(SpaceToDepth, space_to_depth, _NOTHING, "reshape"),
    "opaque": Kind(Opaque, opaque, _INPUT, "other"),  # unknown: as most operations, its input
}
assert set(ACTIVATIONS) <= set(KINDS)

# the merges a network's paths meet in: no record and no formula of their own (network.py computes their
# shapes: add and concat need equal sizes, the others broadcast axes of size 1). A product or a quotient
# keeps its operands for the backward pass, a sum or a difference nothing.
MERGE_KINDS: dict[str, Kind] = {
    "add": Kind(None, None, _NOTHING, "merge"),
    "concat": Kind(None, None, _NOTHING, "merge"),
    "multiply": Kind(None, None, _INPUT, "merge"),
    "subtract": Kind(None, None, _NOTHING, "merge"),  # ONNX's Sub
    "divide": Kind(None, None, _INPUT, "merge"),  # ONNX's Div
    "power": Kind(None, None, _INPUT, "merge"),  # ONNX's Pow
}
ROW_KINDS: dict[str, Kind] = {**KINDS, **MERGE_KINDS}  # every kind a leaf row can have
PADS_KEEPING_INPUT = ("reflect", "replicate")


def saves_of(layer) -> Saves:
    """What one layer keeps for its backward pass: by kind, and for padding by mode."""
    if layer.kind == "pad" and layer.mode in PADS_KEEPING_INPUT:
        return _INPUT
    return KINDS[layer.kind].saves


def analyze_layer(layer: Layer, shape: Shape) -> LayerCost:
    """The output shape, parameters, MACs and receptive-field step of one layer on `shape`.

    >>> from convcalc import Pool, analyze_layer
    >>> analyze_layer(Pool(3, 2), (64, 112, 112)).output_shape  # ⌊(112 − 3)/2⌋ + 1
    (64, 55, 55)
    """
    if not isinstance(shape, tuple) or not 1 <= len(shape) <= 4 or any(not is_int(v) or not 1 <= v <= MAX_INT for v in shape):
        raise ConvcalcError(Note("input: must be a tuple of 1 to 4 positive integers up to 2^53, got {value}", value=quote(shape)))
    check_layer(layer)
    return KINDS[layer.kind].cost(layer, shape)

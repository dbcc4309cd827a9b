"""The worked solution for one row: each formula with the numbers substituted, step by step.

It only quotes figures that the formulas (formulas.py, geometry.py, receptive.py) computed.
"""

from __future__ import annotations

from math import prod

from ..core.figures import fully_connected_params, im2col
from ..core.formulas import ACTIVATIONS, axis_names, fmt_shape, num
from ..core.messages import N_, _
from ..core.geometry import ConvAxis, TransposedAxis
from ..core.network import Row, Settings
from ..core.receptive import half


from .parts import DEFAULT_PARTS


class Step(str):
    """A line of a worked solution, and which part of it (PARTS) it works out."""

    part = "shape"


def step(part: str, text: str) -> Step:
    line = Step(text)
    line.part = part
    return line


def product(values) -> str:
    return "·".join(str(v) for v in values)


def conv_axis_step(axis: str, g: ConvAxis) -> list[str]:
    lines = []
    k_hat = g.effective_kernel
    if g.dilation > 1:
        lines.append(f"{axis}: K̂ = D·(K − 1) + 1 = {g.dilation}·({g.kernel} − 1) + 1 = {k_hat}")
    k_sym = "K̂" if g.dilation > 1 else "K"
    if g.pad_before == g.pad_after:
        pads, pad_sym = f"2·{g.pad_before}", "2P"
    else:
        pads, pad_sym = f"{g.pad_before} + {g.pad_after}", "P_b + P_a"
    if g.ceil_mode:
        raw = -(-g.span // g.stride) + 1
        line = f"{axis}: ⌈(M + {pad_sym} − {k_sym})/S⌉ + 1 = ⌈({g.size} + {pads} − {k_hat})/{g.stride}⌉ + 1 = ⌈{g.span}/{g.stride}⌉ + 1 = {raw}"
        if raw != g.out:
            line += _("; the last window would start at ({raw} − 1)·{stride} ≥ M + P = {value}, so it is "
                      "dropped: {out}").format(raw=raw, stride=g.stride, value=g.size + g.pad_before, out=g.out)
    else:
        line = f"{axis}: ⌊(M + {pad_sym} − {k_sym})/S⌋ + 1 = ⌊({g.size} + {pads} − {k_hat})/{g.stride}⌋ + 1 = ⌊{g.span}/{g.stride}⌋ + 1 = {g.out}"
    return lines + [line]


def transposed_axis_step(axis: str, g: TransposedAxis) -> str:
    return (
        f"{axis}: (M − 1)·S − 2P + D·(K − 1) + output_padding + 1 = ({g.size} − 1)·{g.stride} − 2·{g.padding} + "
        f"{g.dilation}·({g.kernel} − 1) + {g.output_padding} + 1 = {g.out}"
    )


AXIS = "\x00"  # where an axis's name goes in a line written once for several axes


def per_axis(names, lines_of) -> list[str]:
    """Each axis's lines (lines_of(i) writes AXIS for the name); axes whose lines are the same are
    written once, `H/W: …`, as the notes do for a square input."""
    groups: dict[tuple, list[str]] = {}
    for index, name in enumerate(names):
        groups.setdefault(tuple(lines_of(index)), []).append(name)
    return [line.replace(AXIS, "/".join(axes)) for lines, axes in groups.items() for line in lines]


def sizes(row: Row) -> list[str]:
    axes = row.cost.axes
    return per_axis(axis_names(len(row.input_shape) - 1), lambda i: conv_axis_step(AXIS, axes[i])
                    if isinstance(axes[i], ConvAxis) else [transposed_axis_step(AXIS, axes[i])])


def kernel_symbols(n: int) -> str:
    return "·".join(f"K_{a.lower()}" for a in axis_names(n)) if n > 1 else "K"


def out_symbols(n: int, letter: str = "L") -> str:
    return "·".join(f"{letter}_{a.lower()}" for a in axis_names(n)) if n > 1 else letter


PRESET_MEANING = {
    "valid": N_("narrow convolution (窄卷积): no padding, out = M − K̂ + 1 at stride 1"),
    "same": N_("equal-width convolution (等宽卷积): padding so that out = ⌈M/S⌉ (= M at stride 1)"),
    "full": N_("wide convolution (宽卷积): P = K̂ − 1 on each side, out = M + K̂ − 1 at stride 1"),
}


def preset_lines(padding, axes) -> list[str]:
    """A padding given by name: which convention it is, and the padding it comes to per axis."""
    from ..core.geometry import PRESET_NAMES

    if not isinstance(padding, str):
        return []
    preset = PRESET_NAMES.get(padding, padding)
    pads = ", ".join(f"{name} ({g.pad_before}, {g.pad_after})" for name, g in zip(axis_names(len(axes)), axes))
    named = padding if padding == preset else f"{padding} (= {preset})"
    return [_("padding {named}: the {preset_meaning}; (before, after) per axis: {pads}").format(named=named, preset_meaning=_(PRESET_MEANING[preset]), pads=pads)]


def d2l_sizes(row: Row) -> list[str]:
    """d2l's notation, for a padding given as its total p (both sides together):
    ⌊(n − k + p + s)/s⌋ per axis, with where the rows go."""
    lines = []
    for name, g in zip(axis_names(len(row.input_shape) - 1), row.cost.axes):
        k = "k" if g.dilation == 1 else "k̂"
        total = g.pad_before + g.pad_after
        split = _("{pad_before} before and {pad_after} after").format(pad_before=g.pad_before, pad_after=g.pad_after) + (_(" (an odd total: the extra one at the end)") if total % 2 else "")
        formula = f"⌊(n − {k} + p + s)/s⌋ = ⌊({g.size} − {g.effective_kernel} + {total} + {g.stride})/{g.stride}⌋ = {g.out}"
        lines.append(_("{axis}: {formula}; p = {total}: {split}").format(axis=name, formula=formula, total=total, split=split))
    return lines


def conv_lines(row: Row) -> list[str]:
    layer, cost = row.layer, row.cost
    c_in, c_out, n = row.input_shape[0], row.output_shape[0], len(row.input_shape) - 1
    k = [g.kernel for g in cost.axes]
    bias = "1" if layer.bias else "0"
    lines = preset_lines(layer.padding, cost.axes) + (d2l_sizes(row) if layer.p_total is not None else sizes(row))
    if layer.table is not None:
        fan_in = sum(len(r) for r in layer.table)
        lines.append(step("params", _("params = Σ_o n_o·{kernel_symbols} + C_o·b = {fan_in}·{product} + "
                       "{c_out}·{bias} = {num}").format(kernel_symbols=kernel_symbols(n), fan_in=fan_in, product=product(k), c_out=c_out, bias=bias, num=num(cost.params))))
        lines.append(step("macs", _("MACs = Σ_o n_o·{kernel_symbols}·{out_symbols} = {fan_in}·{product}·{product2} = "
                       "{num}").format(kernel_symbols=kernel_symbols(n), out_symbols=out_symbols(n), fan_in=fan_in, product=product(k), product2=product(row.output_shape[1:]), num=num(cost.macs))))
    else:
        g = layer.groups
        fan = f"{c_in}/{g}" if g > 1 else f"{c_in}"
        cin_sym = "C_i/g" if g > 1 else "C_i"
        lines.append(step("params", _("params = C_o·({cin_sym}·{kernel_symbols} + {bias}) = {c_out}·({fan}·{product} + {bias}) "
                       "= {num}").format(cin_sym=cin_sym, kernel_symbols=kernel_symbols(n), bias=bias, c_out=c_out, fan=fan, product=product(k), num=num(cost.params))))
        lines.append(step("macs", _("MACs = {value}·C_o·{kernel_symbols}·{out_symbols} = {fan}·{c_out}·{product}·{product2} "
                       "= {num}").format(value='(C_i/g)' if g > 1 else 'C_i', kernel_symbols=kernel_symbols(n), out_symbols=out_symbols(n), fan=fan, c_out=c_out, product=product(k), product2=product(row.output_shape[1:]), num=num(cost.macs))))
    columns = im2col(row)
    if columns is not None:
        lines.append(step("im2col", _("im2col: weights {rows}×{patch} times columns {patch}×{positions}{groups} = {num} MACs").format(
            rows=columns.weights[0], patch=columns.weights[1], positions=columns.columns[1],
            groups=_(", in each of {groups} groups").format(groups=columns.groups) if columns.groups > 1 else "", num=num(cost.macs))))
    lines.append(step("connections", _("fully connected instead: (∏input + 1)·∏output = ({input} + 1)·{output} = {num}").format(
        input=product(row.input_shape), output=product(row.output_shape), num=num(fully_connected_params(row)))))
    if layer.groups == 1 and layer.table is None:
        lines.append(step("connections", _("connections (LeCun's count, weights are shared) = params·{out_symbols} = "
                       "{num}·{product} = {num2}").format(out_symbols=out_symbols(n), num=num(cost.params), product=product(row.output_shape[1:]), num2=num(cost.connections))))
    else:
        lines.append(step("connections", _("connections (LeCun's count) = MACs + bias·{out_symbols} = {num}").format(out_symbols=out_symbols(n), num=num(cost.connections))))
    return lines


def conv_transpose_lines(row: Row) -> list[str]:
    layer, cost = row.layer, row.cost
    c_in, c_out, n = row.input_shape[0], row.output_shape[0], len(row.input_shape) - 1
    k = [g.kernel for g in cost.axes]
    co = f"{c_out}/{layer.groups}" if layer.groups > 1 else f"{c_out}"
    bias = f" + {c_out}" if layer.bias else ""
    return sizes(row) + [
        step("params", _("params = C_i·(C_o/g)·{kernel_symbols}{value} = {c_in}·{co}·{product}{bias} = {num}").format(kernel_symbols=kernel_symbols(n), value=' + C_o' if layer.bias else '', c_in=c_in, co=co, product=product(k), bias=bias, num=num(cost.params))),
        step("macs", _("MACs = C_i·(C_o/g)·{kernel_symbols}·{out_symbols} (each input position scatters one "
          "kernel) = {c_in}·{co}·{product}·{product2} = {num}").format(kernel_symbols=kernel_symbols(n), out_symbols=out_symbols(n, 'M'), c_in=c_in, co=co, product=product(k), product2=product(row.input_shape[1:]), num=num(cost.macs))),
    ]


def pool_lines(row: Row) -> list[str]:
    return sizes(row) + [_("channels unchanged ({input_shape}); no parameters; 0 MACs (pooling is not counted)").format(input_shape=row.input_shape[0])]


def subsample_lines(row: Row) -> list[str]:
    c, n = row.input_shape[0], len(row.input_shape) - 1
    k = [g.kernel for g in row.cost.axes]
    return sizes(row) + [
        step("params", _("params = 2·C (one coefficient and one bias per map) = 2·{c} = {num}; 0 MACs").format(c=c, num=num(row.params))),
        step("connections", _("connections (LeCun's count) = ({kernel_symbols} + 1)·C·{out_symbols} = ({product} + "
          "1)·{c}·{product2} = {num}").format(kernel_symbols=kernel_symbols(n), out_symbols=out_symbols(n), product=product(k), c=c, product2=product(row.output_shape[1:]), num=num(row.cost.connections))),
    ]


def linear_lines(row: Row) -> list[str]:
    f_in, f_out = row.input_shape[0], row.output_shape[0]
    positions = row.input_shape[1:]
    bias = f" + {f_out}" if row.layer.bias else ""
    lines = [step("params", _("params = in·out{value} = {f_in}·{f_out}{bias} = {num}").format(value=' + out' if row.layer.bias else '', f_in=f_in, f_out=f_out, bias=bias, num=num(row.params)))]
    if positions:
        lines.append(step("macs", _("MACs = in·out·positions = {f_in}·{f_out}·{product} = {num}").format(f_in=f_in, f_out=f_out, product=product(positions), num=num(row.cost.macs))))
    else:
        lines.append(step("macs", _("MACs = in·out = {f_in}·{f_out} = {num}").format(f_in=f_in, f_out=f_out, num=num(row.cost.macs))))
        lines.append(step("connections", _("connections (LeCun's count) = params = {num}").format(num=num(row.cost.connections))))
    return lines


def flatten_lines(row: Row) -> list[str]:
    return [_("features = {product} = {num}").format(product=product(row.input_shape), num=num(row.output_shape[0]))]


def norm_lines(row: Row) -> list[str]:
    c = row.input_shape[0]
    normalized = getattr(row.layer, "shape", None)
    if normalized is not None and row.layer.affine:
        lines = [step("params", _("params = 2·∏shape (γ and β for every normalised element) = 2·{product} = {num}").format(product=product(normalized), num=num(row.params)))]
    else:
        lines = [step("params", _("params = 2·C (γ and β) = 2·{c} = {num}").format(c=c, num=num(row.params))) if row.layer.affine else step("params", _("params = 0 (affine: false)"))]
    if row.layer.kind == "batchnorm":
        lines.append(step("params", _("buffers = 2·C + 1 (running mean and variance, batch counter) = 2·{c} + 1 = {num}").format(c=c, num=num(row.buffers))))
    return lines + [step("macs", _("0 MACs (normalisation is not counted)"))]


def adaptive_lines(row: Row) -> list[str]:
    return [_("output {shape} whatever the input ({shape2}); no parameters; 0 MACs").format(shape=fmt_shape(row.output_shape[1:]), shape2=fmt_shape(row.input_shape[1:]))]


def scale_lines(row: Row) -> list[str]:
    return [step("params", _("params = C = {num}; 0 MACs (element-wise)").format(num=num(row.params)))]


def upsample_lines(row: Row) -> list[str]:
    return [_("{shape} × {scale} = {shape2}; no parameters; 0 MACs").format(shape=fmt_shape(row.input_shape[1:]), scale=row.layer.scale, shape2=fmt_shape(row.output_shape[1:]))]


def attention_lines(row: Row) -> list[str]:
    from ..core.formulas import BIAS_MLP_WIDTH

    layer, embed, spatial = row.layer, row.input_shape[0], row.input_shape[1:]
    bias = 4 * embed if layer.bias else 0
    if layer.window is None:
        tokens = prod(spatial)
        return [step("params", _("params = 4·E² + 4·E = 4·{e}² + {bias} = {params}").format(e=embed, bias=bias, params=num(row.params))),
                step("macs", _("MACs = 4·T·E² + 2·T²·E = 4·{t}·{e}² + 2·{t}²·{e} = {macs} (projections, then scores and the weighted sum of values)").format(
                    t=tokens, e=embed, macs=num(row.macs)))]
    windows = row.cost.axes[0]
    window, padded = windows.window, windows.padded
    tokens, per_window, offsets = windows.tokens, windows.per_window, windows.offsets
    hidden, heads = BIAS_MLP_WIDTH, layer.heads
    if layer.grid:
        lines = [_("a grid of windows of N = {window} = {n} positions, spaced {spacing} apart; T = {t} positions").format(
            window=fmt_shape(window), n=per_window, spacing=fmt_shape(tuple(m // w for m, w in zip(spatial, window))), t=tokens)]
    else:
        lines = [_("windows of N = {window} = {n} positions; the input padded to {padded}: T_p = {t} positions").format(
            window=fmt_shape(window), n=per_window, padded=fmt_shape(padded), t=tokens)]
    terms, macs_extra = [f"4·{embed}² + {bias}"], ""
    if layer.position_bias == "table":
        terms.append(_("bias table {offsets}·{heads}").format(offsets=offsets, heads=heads))
    elif layer.position_bias == "mlp":
        terms.append(_("bias MLP {a}·{h} + {h} + {h}·{heads}").format(a=len(window), h=hidden, heads=heads))
        macs_extra = " + " + _("bias MLP {offsets}·({a}·{h} + {h}·{heads})").format(offsets=offsets, a=len(window), h=hidden, heads=heads)
    if layer.cosine:
        terms.append(_("a scale per head {heads}").format(heads=heads))
    lines.append(step("params", _("params = {terms} = {params}").format(terms=" + ".join(terms), params=num(row.params))))
    lines.append(step("macs", _("MACs = 4·T_p·E² + 2·T_p·N·E = 4·{t}·{e}² + 2·{t}·{n}·{e}{extra} = {macs} (projections, then each window's scores "
                   "and weighted sum of values)").format(t=tokens, e=embed, n=per_window, extra=macs_extra, macs=num(row.macs))))
    return lines


def space_to_depth_lines(row: Row) -> list[str]:
    r, spatial = row.layer.factor, row.input_shape[1:]
    return [_("each {block} block of positions folded into the channels: {c}·{r}^{d} = {out_c}; {sizes}; no parameters, 0 MACs").format(
        block="×".join([str(r)] * len(spatial)), c=row.input_shape[0], r=r, d=len(spatial), out_c=row.output_shape[0],
        sizes=", ".join(f"⌈{m}/{r}⌉ = {o}" for m, o in zip(spatial, row.output_shape[1:])))]


def slice_lines(row: Row) -> list[str]:
    layer = row.layer
    return [_("channels {start} to {end} of {c}; a view, no parameters, 0 MACs").format(
        start=layer.start, end=layer.start + layer.size - 1, c=row.input_shape[0])]


def reshape_lines(row: Row) -> list[str]:
    return [_("{input} → {output}: the same elements moved, no parameters, 0 MACs").format(
        input=fmt_shape(row.input_shape), output=fmt_shape(row.output_shape))]


def opaque_lines(row: Row) -> list[str]:
    return [_("{op}: no formula; output {output} and {params} parameters as the model gives them; MACs not counted").format(
        op=row.layer.op, output=fmt_shape(row.output_shape), params=num(row.params))]


def subgraph_lines(row: Row) -> list[str]:
    return [_("{op}: read as a whole; output {output}, {params} parameters and {macs} MACs (its matrix products) as the file gives them").format(
        op=row.layer.op, output=fmt_shape(row.output_shape), params=num(row.params), macs=num(row.macs))]


def shuffle_lines(row: Row) -> list[str]:
    c, g = row.input_shape[0], row.layer.groups
    return [_("channels {c} as {g} groups of {per}, read across the groups; no parameters, 0 MACs").format(c=c, g=g, per=c // g)]


PAD_MEANING = {"zeros": N_("zeros"), "reflect": N_("reflect: a border cell mirrors a cell inside, so the field is a bound"),
               "replicate": N_("replicate: a border cell repeats the edge cell, so the field is a bound")}


def pad_lines(row: Row) -> list[str]:
    lines = []
    for name, m, out, window in zip(axis_names(len(row.input_shape) - 1), row.input_shape[1:], row.output_shape[1:], row.cost.windows):
        before = -window.offset
        lines.append(f"{name}: P_b + M + P_a = {before} + {m} + {out - m - before} = {out}")
    return lines + [_("padding {mode}; no parameters, 0 MACs").format(mode=_(PAD_MEANING[row.layer.mode]))]


def crop_lines(row: Row) -> list[str]:
    lines = [_("{axis}: {size} of {input}, from {offset}").format(axis=name, size=out, input=m, offset=num(w.offset))
             for name, m, out, w in zip(axis_names(len(row.input_shape) - 1), row.input_shape[1:], row.output_shape[1:], row.cost.windows)]
    return lines + [_("a window of its input; no parameters, 0 MACs")]


def resize_lines(row: Row) -> list[str]:
    lines = [_("{axis}: {input} → {size}, each output sampling the input every {ratio}").format(
        axis=name, input=m, size=out, ratio=num(w.step)) for name, m, out, w in
        zip(axis_names(len(row.input_shape) - 1), row.input_shape[1:], row.output_shape[1:], row.cost.windows)]
    return lines + [_("{mode} interpolation; no parameters, 0 MACs").format(mode=row.layer.mode)]


def merge_lines(row: Row) -> list[str]:
    """What a merge does with the shapes of its paths: concatenation sums the channels."""
    shapes = [fmt_shape(s) for s in row.parts]
    if row.kind == "concat":
        channels = [str(s[0]) for s in row.parts]
        return [_("channels {items} = {output_shape:,}; every path is {shape} (the sizes must agree); no "
                  "parameters, 0 MACs").format(items=' + '.join(channels), output_shape=row.output_shape[0], shape=fmt_shape(row.output_shape[1:]))]
    if row.kind == "add":
        return [_("{items}: the paths' shapes agree, element by element; no parameters, 0 MACs").format(items=' + '.join(shapes))]
    symbol = {"multiply": " × ", "subtract": " − ", "divide": " ÷ ", "power": " ^ "}[row.kind]
    return [_("{items} = {shape} (axes of size 1 are broadcast); no parameters, 0 MACs").format(items=symbol.join(shapes), shape=fmt_shape(row.output_shape))]


def elementwise_lines(row: Row) -> list[str]:
    return [_("{kind}: element by element, same shape; no parameters, 0 MACs").format(kind=row.kind)]


def lrn_lines(row: Row) -> list[str]:
    return [_("each value divided by a power of the sum of squares over {size} neighbouring channels; same shape, no "
              "parameters, 0 MACs").format(size=row.layer.size)]


def class_token_lines(row: Row) -> list[str]:
    c, positions = row.input_shape
    return [_("one learned token before the positions: L = {positions} + 1 = {out}; params = C = {params}; 0 MACs").format(
        positions=positions, out=row.output_shape[1], params=num(row.params))]


def position_embedding_lines(row: Row) -> list[str]:
    c, *positions = row.input_shape
    return [_("one learned value added per channel and position: params = C·L = {c}·{positions} = {params}; 0 MACs").format(
        c=c, positions=product(positions), params=num(row.params))]


# how each kind of leaf row is explained: every kind in formulas.ROW_KINDS once (tests/test_kinds.py)
LINES = {
    **dict.fromkeys(ACTIVATIONS + ("dropout", "identity"), elementwise_lines),
    "lrn": lrn_lines, "class_token": class_token_lines, "position_embedding": position_embedding_lines,
    "conv": conv_lines, "convT": conv_transpose_lines, "maxpool": pool_lines, "avgpool": pool_lines,
    "subsample": subsample_lines, "linear": linear_lines, "flatten": flatten_lines,
    "batchnorm": norm_lines, "layernorm": norm_lines, "groupnorm": norm_lines, "instancenorm": norm_lines,
    "adaptive_avgpool": adaptive_lines, "adaptive_maxpool": adaptive_lines,
    "global_avgpool": adaptive_lines, "global_maxpool": adaptive_lines, "mean": adaptive_lines,
    "scale": scale_lines, "upsample": upsample_lines, "channel_shuffle": shuffle_lines, "pad": pad_lines,
    "crop": crop_lines, "resize": resize_lines, "slice": slice_lines, "reshape": reshape_lines, "opaque": opaque_lines, "subgraph": subgraph_lines,
    "attention": attention_lines, "space_to_depth": space_to_depth_lines,
    **dict.fromkeys(("add", "concat", "multiply", "subtract", "divide", "power"), merge_lines),
}


def field_lines(row: Row) -> list[str]:
    """The local receptive field (on the layer's input), then the recurrence for the field on the
    network's input with this layer's numbers, one line per axis."""
    return local_lines(row) + input_field_lines(row)


def local_lines(row: Row) -> list[str]:
    from ..core.formulas import local_window

    if row.cost is None:
        return []
    local = local_window(row.cost)
    if local is None:
        return [_("local receptive field (on this layer's input): a bound, see the RF lines")]
    if local == "full":
        return [_("local receptive field (on this layer's input): all of it")]
    on_input = _("the whole input") if row.field.full else fmt_shape(tuple(num(a.size) for a in row.field.axes))
    return [_("local receptive field (on this layer's input): {shape}; on the network's input: "
              "{on_input}").format(shape=fmt_shape(local), on_input=on_input)] if local else []


def input_field_lines(row: Row) -> list[str]:
    cost, before, after = row.cost, row.input_field, row.field
    if after.full:
        return [_("receptive field: the whole input (every output depends on every input position)")]
    if cost is None:
        return [_("RF {name}: union of the merged paths: r = {num}, j = {num2}, start = {num3}").format(name=name, num=num(a.size), num2=num(a.jump), num3=num(a.start))
                for name, a in zip(axis_names(len(after.axes)), after.axes)]
    if cost.windows is None:
        return [_("receptive field: unchanged (the layer reads one position)")]
    return per_axis(axis_names(len(before.axes)), lambda i: [field_step(AXIS, before.axes[i], cost.windows[i], after.axes[i])])


def field_step(name: str, a, w, b) -> str:
    """The recurrence on one axis: a the field before the layer, w its window, b the field after."""
    conv_like = isinstance(w.width, int) and isinstance(w.step, int)
    width, step = ("(K̂ − 1)", "S") if conv_like else ("w", "σ")  # a transposed convolution's window: symbols of its own
    shift = _("({width}/2 − P)").format(width=width) if conv_like else "(w/2 + δ)"
    moved = f"({num(half(w.width))} − {num(-w.offset)})" if conv_like else f"({num(half(w.width))} + ({num(w.offset)}))"
    return (_("RF {name}: r = r + {width}·j = {num} + {num2}·{num3} = {num4}; j = j·{step} = "
              "{num3}·{num5} = {num6}; start = start + {shift}·j = {num7} + {moved}·{num3} = {num8}").format(
        name=name, width=width, num=num(a.size), num2=num(w.width), num3=num(a.jump), num4=num(b.size), step=step,
        num5=num(w.step), num6=num(b.jump), shift=shift, num7=num(a.start), moved=moved, num8=num(b.start))
        + ("" if w.exact else _(" (a bound)")))


def explain(row: Row, settings: Settings, parts=DEFAULT_PARTS) -> list[str]:
    """The steps for one leaf row that work out the chosen parts (PARTS)."""
    lines = LINES[row.kind](row)
    if row.macs:
        batch = _(" × {batch} samples").format(batch=settings.batch) if settings.batch > 1 else ""
        lines.append(step("flops", _("FLOPs = MACs × {flops_per_mac} FLOP per MAC{batch} = {num}").format(
            flops_per_mac=settings.flops_per_mac, batch=batch, num=num(row.macs * settings.flops_per_mac))))
    lines += memory_lines(row, settings)
    if row.field != row.input_field or row.cost is None:  # a layer that reads one position leaves the field as it was
        lines += [step("rf", line) for line in field_lines(row)]
    return [line for line in lines if getattr(line, "part", "shape") in parts]


SAVED_PARTS = (("input", N_("its input")), ("output", N_("its output")), ("indices", N_("int64 indices, one per output")),
               ("copy", N_("a copy of its input (an in-place op that needs it)")), ("mask", N_("its mask, the size of its input")),
               ("stats", N_("float32 mean and inverse std")))


def memory_lines(row: Row, settings: Settings) -> list[str]:
    """What autograd keeps of this layer, its backward MACs, and with a device its time bound."""
    from ..core.formulas import ROW_KINDS, saves_of
    lines = []
    rule = saves_of(row.layer) if row.layer is not None else ROW_KINDS[row.kind].saves
    parts = [_(text) for flag, text in SAVED_PARTS if getattr(rule, flag)]
    if row.saved_bytes:
        lines.append(step("memory", _("saved for backward: {size} B ({what}; a storage an earlier layer keeps is not counted again)").format(
            size=num(row.saved_bytes), what=", ".join(parts))))
    elif parts:
        lines.append(step("memory", _("saved for backward: 0 B (what it needs is kept already, or nothing before it needs a gradient)")))
    if row.backward_macs:
        both = row.backward_macs == 2 * row.macs
        lines.append(step("backward", _("backward MACs = {factor}·{macs} = {total} ({what})").format(
            factor=2 if both else 1, macs=num(row.macs), total=num(row.backward_macs),
            what=_("weight and input gradients") if both else _("the weight gradient only: nothing before it needs a gradient"))))
    t = row.timing  # with a device
    if t is not None and row.bytes_moved:
        lines.append(step("time", _("time ≥ max(2·MACs/peak, bytes/bandwidth) = max({compute:.3g}, {memory:.3g}) s = {time:.3g} s, "
                       "{bound}; {bytes} B moved, {intensity:.3g} FLOP/B").format(
            compute=t.compute_s, memory=t.memory_s, time=row.time_s, bytes=num(row.bytes_moved),
            bound=_("compute-bound") if t.bound == "compute" else _("memory-bound"), intensity=t.intensity)))
    return lines


def elided(terms: list[str], most: int = 12) -> list[str]:
    """A long sum or product shortened to its first and last terms, saying how many are left out."""
    if len(terms) <= most:
        return terms
    return terms[: most - 2] + [_("… ({value:,} more terms) …").format(value=len(terms) - most + 1)] + terms[-1:]


def field_chain(rows: list[Row]) -> list[str]:
    """The receptive field of a chain of layers in closed form (Araujo et al., 2019):
    r = 1 + Σ_l (K̂_l − 1)·j_(l−1), j = ∏ S_l — with each layer's numbers, as a student writes it."""
    if any(r.cost is None for r in rows if r.leaf):
        return [_("receptive field: the paths merge, so the field is the union at each merge (see each "
                  "layer's RF line)")]
    terms: list[list[str]] = []
    steps: list[list[str]] = []
    last = None
    for row in rows:
        if not row.leaf or row.cost.windows is None:
            continue
        if row.field.full:
            if last is None:
                return []
            break
        for axis, (w, a) in enumerate(zip(row.cost.windows, row.input_field.axes)):
            if len(terms) <= axis:
                terms.append([])
                steps.append([])
            if w.width:
                terms[axis].append(f"{num(w.width)}·{num(a.jump)}")
            if w.step != 1:
                steps[axis].append(num(w.step))
        last = row
    if last is None:
        return []
    lines = [_("receptive field of {name}, layer by layer: r = 1 + Σ (K̂ − 1)·j, j = ∏ S").format(name=last.name)]
    names = axis_names(len(terms))
    shown = set()
    for t, s, a in zip(terms, steps, last.field.axes):
        strides = "·".join(elided(s))
        text = _("r = 1 + {terms} = {size}; j = {strides} = {jump}").format(
            terms=" + ".join(elided(t)) or "0", size=num(a.size), strides=strides, jump=num(a.jump)) if strides else \
            _("r = 1 + {terms} = {size}; j = 1 (every stride 1)").format(terms=" + ".join(elided(t)) or "0", size=num(a.size))
        if text in shown:
            continue
        shown.add(text)
        same = [n for n, tt, ss in zip(names, terms, steps) if (tt, ss) == (t, s)]
        lines.append(_("  {items}: {text}").format(items='/'.join(same), text=text) + ("" if last.field.exact else _(" (a bound)")))
    if last is not rows[-1] and rows[-1].field.full:
        lines.append(_("  after it, every output sees the whole input"))
    return lines

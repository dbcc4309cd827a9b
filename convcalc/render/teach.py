"""What a user reads of `compute` and `solve`: matrices, worked sums, the picture of a window on
the padded input, and the JSON, CSV and Markdown forms. It formats; it computes nothing."""

from __future__ import annotations

from ..core.formulas import axis_names
from ..core.messages import N_, _, joined, say
from ..teach.compute import Element, Result, exact_text, json_number

SHOWN = 6  # output elements written out in full before "…" (and the last one after it)


def index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, index)) + "]"


def factor(value) -> str:
    """A number inside a product: negative numbers and fractions in brackets."""
    text = exact_text(value)
    return f"({text})" if text.startswith("-") or "/" in text else text


def matrix_lines(values: list, indent: str = "  ") -> list[str]:
    """A vector or matrix of exact values, right-aligned; deeper tensors as slices."""
    if not isinstance(values[0], list):
        return [indent + "  ".join(exact_text(v) for v in values)]
    if not isinstance(values[0][0], list):
        cells = [[exact_text(v) for v in row] for row in values]
        width = max(len(c) for row in cells for c in row)
        return [indent + "  ".join(c.rjust(width) for c in row) for row in cells]
    lines = []
    for i, inner in enumerate(values):
        lines.append(f"{indent}[{i}]")
        lines += matrix_lines(inner, indent + "  ")
    return lines


# the words for compute's settings and solve's unknowns (the symbols k, s, p, d stay as written)
NAMES = {"p_total": N_("total padding p_h"), "stride": N_("stride"), "padding": N_("padding"), "dilation": N_("dilation"), "groups": N_("groups"),
         "output_padding": N_("output padding"), "ceil_mode": N_("ceil mode"), "kernel": N_("kernel"), "layers": N_("layers"),
         "flipped": N_("kernel flipped")}


def setting_name(key: str) -> str:
    return _(NAMES[key]) if key in NAMES else key.replace("_", " ")


def describe(result: Result) -> str:
    shape = "×".join(map(str, result.input.shape))
    out = "×".join(map(str, result.output.shape))
    def shown(v) -> str:
        return "×".join(map(str, v)) if isinstance(v, tuple) else (_("on") if v else _("off")) if isinstance(v, bool) else str(v)

    settings = joined(f"{setting_name(k)} {shown(v)}" for k, v in result.settings.items() if k != "count_pad")
    kernel = _(", kernel {items}").format(items='×'.join(map(str, result.kernel.shape))) if result.kernel is not None else ""
    return _("{op}: input {shape}{kernel}, {settings} → output {out}").format(op=result.op, shape=shape, kernel=kernel, settings=settings, out=out)


def output_lines(result: Result, numbers: bool = True) -> list[str]:
    lines = [describe(result)]
    if not numbers:
        return lines
    nested = result.output.nested()
    for c, channel in enumerate(nested):
        lines.append(f"Y[{c}] =" if len(nested) > 1 else "Y =")
        lines += matrix_lines(channel if isinstance(channel, list) else [channel])
    if result.op == "avgpool":
        rule = _("padded zeros count in the divisor (PyTorch's default, count_include_pad=True)") if result.settings["count_pad"] \
            else _("padded zeros are left out of the divisor (count_include_pad=False)")
        lines.append(_("average pooling: {rule}").format(rule=rule))
    return lines


def element_line(result: Result, e: Element) -> str:
    name = f"Y{index_text(e.index)}"
    if result.op == "maxpool":
        return f"{name} = max({', '.join(exact_text(t.x) for t in e.terms)}) = {exact_text(e.value)}"
    if result.op == "avgpool":  # a negative term in brackets: (1 + 2 + (-1))/3, never + -1
        return f"{name} = ({' + '.join(factor(t.x) for t in e.terms) or '0'})/{e.divisor} = {exact_text(e.value)}"
    groups: dict[int, list[str]] = {}
    for t in e.terms:
        groups.setdefault(t.channel, []).append(f"{factor(t.x)}×{factor(t.w)}")
    if not groups:
        sums = _("0 (no input reaches this output)")
    elif len(groups) == 1:
        sums = " + ".join(next(iter(groups.values())))
    else:
        sums = " + ".join(f"({' + '.join(parts)})" for parts in groups.values())
    bias = f" + {factor(e.bias)}" if e.bias is not None else ""
    return f"{name} = {sums}{bias} = {exact_text(e.value)}"


def elided(items: list) -> list:
    """The first SHOWN items, then None for the ones left out, then the last."""
    return items if len(items) <= SHOWN + 1 else items[:SHOWN] + [None] + items[-1:]


def explanation_lines(result: Result) -> list[str]:
    lines = []
    if result.settings.get("flipped"):
        lines.append(_("a true convolution (nndl's 卷积): the kernel turned by 180°, then slid as a cross-correlation (互相关, "
                       "PyTorch's conv) — the flipped kernel:"))
        kernel = result.kernel.nested()
        while isinstance(kernel, list) and isinstance(kernel[0], list) and isinstance(kernel[0][0], list):
            kernel = kernel[0]  # the first output and input channel's matrix
        lines += matrix_lines(kernel if isinstance(kernel[0], list) else [kernel])
    if result.op == "convT":
        lines.append(_("each input value scatters a copy of its kernel, scaled by the value, placed at i·S − P:"))
        n = len(result.input.shape) - 1
        spatial = result.input.shape[1:]
        from ..teach.compute import flat_index, offsets

        copies = [(c, i) for c in range(result.input.shape[0]) for i in offsets(spatial)]
        for item in elided(copies):
            if item is None:
                lines.append(_("  … ({value} more copies) …").format(value=len(copies) - SHOWN - 1))
                continue
            c, i = item
            x = result.input.values[flat_index(result.input.shape, (c, *i))]
            at = [ii * s - p for ii, s, p in zip(i, result.settings["stride"], result.settings["padding"])]
            where = joined(_("{axis} from {a}").format(axis=axis, a=a) for axis, a in zip(axis_names(n), at))
            lines.append(_("  X{index_text} = {exact_text}: {factor}·W[{c}] at {where}").format(index_text=index_text((c, *i)), exact_text=exact_text(x), factor=factor(x), c=c, where=where))
        lines.append(_("and the copies that land on each output are summed:"))
    elements = list(result.elements)
    for e in elided(elements):
        lines.append(_("  … ({value} more elements) …").format(value=len(elements) - SHOWN - 1) if e is None else element_line(result, e))
    return lines


def symbolic_lines(result: Result) -> list[str]:
    """The same sums with names: a11 for the input (1-based, as the notes write), k11 for the kernel."""
    def name(letter: str, index) -> str:
        return letter + "".join(str(i + 1) for i in index)

    lines = []
    for e in elided(list(result.elements)):
        if e is None:
            lines.append(_("  … ({value} more elements) …").format(value=len(result.elements) - SHOWN - 1))
            continue
        out = name("y", e.index[1:])
        terms = [t for t in e.terms if t.x_index is not None]
        if result.op == "maxpool":
            lines.append(f"{out} = max({', '.join(name('a', t.x_index) for t in terms)})")
        elif result.op == "avgpool":
            lines.append(f"{out} = ({' + '.join(name('a', t.x_index) for t in terms)})/{e.divisor}")
        else:
            lines.append(f"{out} = {' + '.join(name('a', t.x_index) + name('k', t.w_index[2:]) for t in terms) or '0'}")
    return lines


SHOWN_SIDE = 24  # cells drawn along an axis; a longer one shows its start and end, the middle elided


def axis_cells(g, m: int) -> list[int | None]:
    """The padded positions drawn along one axis (None: the elided middle): all of them when few, else the
    first two windows and the last, with the padding and the rows the floor drops."""
    if g is None:
        return [0]
    total = g.pad_before + m + g.pad_after
    if total <= SHOWN_SIDE:
        return list(range(total))
    head = min(total, g.stride + g.effective_kernel + 1)  # the first and the second window
    last = (g.out - 1) * g.stride
    tail_from = max(head, min(last, total - SHOWN_SIDE // 2))
    return [*range(head), None, *range(tail_from, total)] if tail_from > head else list(range(total))


def as_plane(spatial: tuple[int, ...], axes: tuple, first_plane: str) -> tuple[tuple, tuple, list[str]]:
    """What a picture draws: a 3-D input's first plane (said with `first_plane`), a 1-D input as one row."""
    notes = []
    if len(spatial) == 3:
        notes.append(_(first_plane).format(depth=spatial[0]))
        spatial, axes = spatial[1:], axes[1:]
    if len(spatial) == 1:
        spatial, axes = (1, *spatial), (None, *axes)
    return spatial, axes, notes


def draw_lines(spatial: tuple[int, ...], axes: tuple, colour: bool = False) -> list[str]:
    """The padded input as a grid that reads without colour (and in colour on a terminal): · padding,
    □ input; the first window ■, the second along each axis (one stride on) ●, the last ◆ — each hollow
    (▫ ○ ◇) where it lies over padding; × a row or column no window reaches. A large input shows its
    start and its end; a 3-D input, its first plane."""
    spatial, axes, notes = as_plane(spatial, axes, N_("(the first of {depth} planes along D: the windows of the first output plane)"))
    rows_axis, cols_axis = axes[-2], axes[-1]

    def taps(g, start: int) -> set[int]:
        return {start + i * g.dilation for i in range(g.kernel)} if g is not None else {0}

    def starts(g) -> tuple[int, int | None, int]:  # the first, second and last window's start on this axis
        if g is None:
            return 0, None, 0
        return 0, (g.stride if g.out > 1 else None), (g.out - 1) * g.stride

    first_r, second_r, last_r = starts(rows_axis)
    first_c, second_c, last_c = starts(cols_axis)
    first = {(r, c) for r in taps(rows_axis, first_r) for c in taps(cols_axis, first_c)}
    second = set()
    if second_c is not None:
        second |= {(r, c) for r in taps(rows_axis, first_r) for c in taps(cols_axis, second_c)}
    if second_r is not None:
        second |= {(r, c) for r in taps(rows_axis, second_r) for c in taps(cols_axis, first_c)}
    last = {(r, c) for r in taps(rows_axis, last_r) for c in taps(cols_axis, last_c)}
    pb_r, m_r = (rows_axis.pad_before if rows_axis else 0), spatial[-2]
    pb_c, m_c = cols_axis.pad_before, spatial[-1]
    total_r = pb_r + m_r + (rows_axis.pad_after if rows_axis else 0)
    total_c = pb_c + m_c + cols_axis.pad_after
    un_r, un_c = (rows_axis.unreached if rows_axis else 0), cols_axis.unreached
    paint = {"■": "bold blue", "▫": "blue", "●": "bold green", "○": "green", "◆": "bold magenta", "◇": "magenta", "×": "red", "·": "dim"}
    legend = _("padded input {total_r}×{total_c}: · padding, □ input; windows: ■ the first, ● the second along each axis "
               "(one stride on), ◆ the last — hollow (▫ ○ ◇) over padding; the first is drawn over the second, the last over both").format(
        total_r=total_r, total_c=total_c)
    if un_r or un_c:
        legend += _("; × never reached by any window (the floor drops them)")
    lines = [legend, *notes]
    row_cells, col_cells = axis_cells(rows_axis, m_r), axis_cells(cols_axis, m_c)
    if None in row_cells or None in col_cells:
        lines.append(_("(the middle of the input is left out: ⋯ and ⋮ stand for its rows and columns)"))
    for r in row_cells:
        if r is None:
            lines.append("  " + " ".join("⋮" if c is not None else " " for c in col_cells))
            continue
        cells = []
        for c in col_cells:
            if c is None:
                cells.append("⋯")
                continue
            padding = not (pb_r <= r < pb_r + m_r and pb_c <= c < pb_c + m_c)
            if (r, c) in last:
                glyph = "◇" if padding else "◆"
            elif (r, c) in first:
                glyph = "▫" if padding else "■"
            elif (r, c) in second:
                glyph = "○" if padding else "●"
            elif r >= total_r - un_r or c >= total_c - un_c:
                glyph = "×"
            else:
                glyph = "·" if padding else "□"
            cells.append(f"[{paint[glyph]}]{glyph}[/]" if colour and glyph in paint else glyph)
        lines.append("  " + " ".join(cells))
    return lines


def compute_json(result: Result, extra: dict) -> dict:
    def exact(values):
        return [exact(v) for v in values] if isinstance(values, list) else exact_text(values)

    def number(values):
        return [number(v) for v in values] if isinstance(values, list) else json_number(values)

    nested = result.output.nested()
    from .report import SCHEMA_VERSION

    return {"schema_version": SCHEMA_VERSION, "type": result.op, "input_shape": list(result.input.shape),
            "kernel_shape": list(result.kernel.shape) if result.kernel is not None else None,
            "output_shape": list(result.output.shape), "output": number(nested), "output_exact": exact(nested),
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in result.settings.items()}, **extra}


def compute_csv(result: Result) -> str:
    names = ["c", *[a.lower() for a in axis_names(len(result.output.shape) - 1)]]
    lines = [",".join(names + ["value"])]
    lines += [",".join(map(str, e.index)) + "," + exact_text(e.value) for e in result.elements]
    return "\n".join(lines) + "\n"


def compute_markdown(result: Result) -> str:
    lines = [f"**{describe(result)}**", ""]
    for c, channel in enumerate(result.output.nested()):
        rows = channel if isinstance(channel, list) and isinstance(channel[0], list) else [channel if isinstance(channel, list) else [channel]]
        if rows and isinstance(rows[0][0], list):  # 3-D: one table per depth slice
            rows = [r for plane in rows for r in plane]
        lines.append(f"Y[{c}]")
        lines.append("")
        lines.append("| " + " | ".join(f"{j}" for j in range(len(rows[0]))) + " |")
        lines.append("|" + "---:|" * len(rows[0]))
        lines += ["| " + " | ".join(exact_text(v) for v in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def solution_text(solution: dict) -> str:
    return ", ".join(f"{setting_name(name)} = {value}" for name, value in solution.items())


def solve_lines(axes: list[tuple[str, object]], explain: bool) -> list[str]:
    """One block per distinct axis question (a square question answers once)."""
    lines = []
    for label, s in axes:
        head = f"{label}: " if label else ""
        if explain:
            lines += [f"{head}{step}" for step in s.steps]
        if not s.solutions:
            lines.append(f"{head}{say(s.note)}")
            continue
        values = [next(iter(x.values())) for x in s.solutions] if len(s.unknowns) == 1 else None
        if values and len(values) > 1 and values == list(range(values[0], values[0] + len(values))):
            lines.append(_("{head}{replace} = {values} … {values2} ({count} values: {items})").format(head=head, replace=setting_name(s.unknowns[0]), values=values[0], values2=values[-1], count=len(values), items=', '.join(map(str, values)))
                         if len(values) <= 20 else _("{head}{unknowns} = {values} … {values2} ({count} values)").format(head=head, unknowns=setting_name(s.unknowns[0]), values=values[0], values2=values[-1], count=len(values)))
        else:
            lines += [f"{head}{solution_text(x)}" for x in s.solutions]
        if s.more:
            lines.append(_("{head}… and {more:,} more solutions").format(head=head, more=s.more))
        if s.note:  # a family without end: said after its first members
            lines.append(f"{head}{say(s.note)}")
    return lines


def field_span(axis, unit: int = 0) -> tuple[int, int]:
    """The input positions [lo, hi) one unit's receptive field covers along one axis (unit 0: the first)."""
    from math import ceil, floor

    twice_lo = axis.twice_start + 2 * unit * axis.jump - axis.size
    return floor(twice_lo / 2), ceil((twice_lo + 2 * axis.size) / 2)


FIELD_SIDE = 32  # cells a receptive-field picture takes along an axis; a longer extent is scaled down to it


def field_lines(name: str, field, spatial: tuple[int, ...]) -> list[str]:
    """One unit's receptive field on the input grid: ■ the input it sees, □ the input it does not, ▫ the
    padding it sees (the part of the field outside the input)."""
    if field.full or not field.axes:
        return [_("{name}: every unit sees the whole input").format(name=name)]
    axes, sizes = field.axes[-2:], spatial[-2:]
    if len(axes) == 1:
        axes, sizes = (None, *axes), (1, *sizes)
    spans = [field_span(a) if a is not None else (0, 1) for a in axes]
    outside = [max(0, -lo) + max(0, hi - m) for (lo, hi), m in zip(spans, sizes)]
    described = "; ".join(f"{axis} {lo}…{hi - 1}" for axis, (lo, hi) in zip(("H", "W") if axes[0] is not None else ("W",),
                                                                               spans if axes[0] is not None else spans[1:]))
    lines = [_("receptive field of {name}'s first unit (output position 0): input positions {spans} — ■ the input it sees, "
               "□ the input it does not, ▫ padding it sees ({outside} positions outside the input along the axes)").format(
        name=name, spans=described, outside=" + ".join(map(str, outside)))]
    low = [min(0, lo) for lo, _hi in spans]
    high = [max(m, hi) for (_lo, hi), m in zip(spans, sizes)]
    scale = max(1, -(-max(h - lo for lo, h in zip(low, high)) // FIELD_SIDE))  # input positions per cell, the same on both axes
    if scale > 1:
        lines.append(_("(each cell stands for {scale}×{scale} input positions; ■ where any of them is seen)").format(scale=scale))

    def covers(a: int, start: int, lo: int, hi: int) -> bool:  # cell [start, start + scale) meets [lo, hi)
        return start < hi and lo < start + scale

    for r in range(low[0], high[0], scale):
        cells = []
        for c in range(low[1], high[1], scale):
            inside_input = covers(0, r, 0, sizes[0]) and covers(1, c, 0, sizes[1])
            seen = covers(0, r, *spans[0]) and covers(1, c, *spans[1])
            seen_input = seen and covers(0, r, max(0, spans[0][0]), min(sizes[0], spans[0][1])) and covers(
                1, c, max(0, spans[1][0]), min(sizes[1], spans[1][1]))
            cells.append("■" if seen_input else "▫" if seen else "□" if inside_input else " ")
        lines.append("  " + " ".join(cells).rstrip())
    return lines


def scatter_lines(spatial: tuple[int, ...], axes: tuple) -> list[str]:
    """A transposed convolution drawn on its full output (before the padding is cut away): where the kernel's
    copies of the first input element (■), the second along each axis (●) and the last (◆) land — input
    position i puts tap j at S·i + D·j — hollow (▫ ○ ◇) in the rows and columns the padding cuts away;
    □ output that only other elements reach. A 3-D one shows its first plane."""
    spatial, axes, notes = as_plane(spatial, axes, N_("(the first of {depth} planes along D: the copies of the first input plane)"))

    def full(g) -> int:  # where the copies land: (M − 1)·S + D·(K − 1) + 1 positions
        return (g.size - 1) * g.stride + g.dilation * (g.kernel - 1) + 1 if g is not None else 1

    def kept(g) -> tuple[int, int]:  # the output is positions P … P + out − 1 of them (past the end: output padding)
        return (g.padding, g.padding + g.out) if g is not None else (0, 1)

    def lands(g, i: int) -> set[int]:
        return {i * g.stride + j * g.dilation for j in range(g.kernel)} if g is not None else {0}

    rows_axis, cols_axis = axes[-2], axes[-1]
    (k0_r, k1_r), (k0_c, k1_c) = kept(rows_axis), kept(cols_axis)
    reach_r, reach_c = full(rows_axis), full(cols_axis)
    total_r, total_c = max(reach_r, k1_r), max(reach_c, k1_c)
    copies = {}
    for glyph, (i_r, i_c) in (("●", (0, 1)), ("●", (1, 0)), ("■", (0, 0)), ("◆", (spatial[-2] - 1, spatial[-1] - 1))):
        if i_r < spatial[-2] and i_c < spatial[-1]:
            for r in lands(rows_axis, i_r):
                for c in lands(cols_axis, i_c):
                    copies[(r, c)] = glyph  # later entries drawn over earlier ones: the first over the second, the last over all
    hollow = {"■": "▫", "●": "○", "◆": "◇"}
    lines = [_("full output {total_r}×{total_c} of the transposed convolution: where the copies of the kernel land — ■ the "
               "first input element's, ● the second's along each axis (one stride on), ◆ the last's; hollow (▫ ○ ◇) where the "
               "padding cuts the output away, · cut away and reached by other elements; □ output the others reach; × reached by none "
               "(output padding: the bias alone)").format(
        total_r=total_r, total_c=total_c), *notes]
    if max(total_r, total_c) > 3 * SHOWN_SIDE:
        return lines[:1] + [_("(an output of {total_r}×{total_c} is too large to draw here: --explain lists where each copy lands)").format(
            total_r=total_r, total_c=total_c)]
    for r in range(total_r):
        cells = []
        for c in range(total_c):
            cut = not (k0_r <= r < k1_r and k0_c <= c < k1_c)
            glyph = copies.get((r, c))
            unreached = r >= reach_r or c >= reach_c
            cells.append((hollow[glyph] if cut else glyph) if glyph else "×" if unreached else "·" if cut else "□")
        lines.append("  " + " ".join(cells))
    return lines

"""`convcalc compute`: a layer's output on given numbers, exactly."""

from __future__ import annotations

import sys

import typer

from ..core.errors import ConvcalcError
from ..core.messages import _
from .group import app
from .options import LANG_OPTION, Format, Lang, TeachOp, fail, no_such_option, parse_sizes, read_values
from .output import can_print, colour_drawing, console, fit_width, print_drawing, write_lines


COMPUTE_FLAGS = {
    "conv": {"--w", "--s", "--p", "--d", "--groups", "--bias"},
    "convT": {"--w", "--s", "--p", "--d", "--groups", "--bias", "--output-padding"},
    "maxpool": {"--k", "--s", "--p", "--d", "--ceil"},
    "avgpool": {"--k", "--s", "--p", "--ceil", "--no-count-pad"},
}


@app.command(epilog="Values are exact: integers stay integers, 0.1 is 1/10, averages are fractions.")
def compute(
    op: TeachOp = typer.Option(TeachOp.conv, "--op", help="Operation: conv (cross-correlation), convT, maxpool, avgpool."),
    x: str = typer.Option(None, "--x", help="Input values: '[[0,1,2],[3,4,5],[6,7,8]]' (H×W or C×H×W), or @file.yaml."),
    w: str = typer.Option(None, "--w", help="Kernel: kh×kw, C×kh×kw (one output channel), C_out×C_in/g×kh×kw; convT: C_in×C_out/g×kh×kw."),
    bias: str = typer.Option(None, "--bias", help="One value per output channel: '[1, 2]'."),
    k: str = typer.Option(None, "--k", "--kernel", help="Pooling window: 2 or 2x3."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride [conv: 1; pooling: the window]."),
    p: str = typer.Option(None, "--p", "--padding", help="Padding [0]."),
    d: str = typer.Option(None, "--d", "--dilation", help="Dilation [1]."),
    groups: int = typer.Option(None, "--groups", help="Groups [1]."),
    output_padding: str = typer.Option(None, "--output-padding", help="Transposed convolution's output padding [0]."),
    ceil: bool = typer.Option(False, "--ceil", help="Pooling rounds the output size up (PyTorch's ceil_mode)."),
    no_count_pad: bool = typer.Option(False, "--no-count-pad", help="Average pooling leaves padded zeros out of the divisor."),
    dims: int = typer.Option(2, "--dims", min=1, max=3, help="Spatial axes of x: 1 (L or C×L), 2 (H×W or C×H×W), 3."),
    size: str = typer.Option(None, "--in", "--input", help="With --symbolic and no --x: the input size, such as 4x4."),
    symbolic: bool = typer.Option(False, "--symbolic", help="Write each output as a sum of named terms: a11k11 + a12k12 + …"),
    draw: bool = typer.Option(False, "--draw", help="Draw the padded input, the first window and the rows no window reaches."),
    show_steps: bool = typer.Option(False, "--explain", help="Write every output element's sum, as the notes do."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    lang: Lang = LANG_OPTION,
):
    """The output of a layer on given numbers, exactly, with the worked sums.

    Example: convcalc compute --x '[[0,1,2],[3,4,5],[6,7,8]]' --w '[[0,1],[2,3]]'   (→ [[19, 25], [37, 43]])

    Example: convcalc compute --op maxpool --x '[[0,1,2],[3,4,5],[6,7,8]]' --k 2 --s 1 --explain
    """
    from ..core.errors import quote
    from ..teach import compute as teach

    kind = op.value
    given = {"--w": w, "--k": k, "--s": s, "--p": p, "--d": d, "--groups": groups, "--bias": bias,
             "--output-padding": output_padding, "--ceil": ceil or None, "--no-count-pad": no_count_pad or None}
    for flag, value in given.items():
        if value is not None and flag not in COMPUTE_FLAGS[kind]:
            fail(no_such_option(flag, kind, value), 2)
    if kind in ("conv", "convT") and w is None:
        fail(_("--w: --op {kind} needs the kernel's values, got none").format(kind=kind), 2)
    if kind in ("maxpool", "avgpool") and k is None:
        fail(_("--k: --op {kind} needs the window size, got none").format(kind=kind), 2)
    try:
        if x is None:
            if not symbolic or size is None:
                fail(_("--x: the input values are required (or --symbolic with --in for names instead of "
                       "numbers), got none"), 2)
            spatial = parse_sizes(size, "--in")
            spatial = spatial if isinstance(spatial, tuple) else (spatial,) * dims
            from math import prod

            if len(spatial) != dims or min(spatial) < 1 or prod(spatial) > 4096:
                fail(_("--in: {dims} positive sizes of at most 4,096 values in all, got {value}").format(dims=dims, value=quote(size)), 2)
            values = teach.Tensor(spatial, tuple(range(1, prod(spatial) + 1)))
        else:
            values = teach.tensor(read_values(x, "--x"), "x")
        x_t = teach.as_input(values, dims)
        strides = parse_sizes(s, "--s")
        padding = parse_sizes(p or "0", "--p")
        dilation = parse_sizes(d or "1", "--d")
        bias_t = teach.tensor(read_values(bias, "--bias"), "bias") if bias is not None else None
        if kind in ("conv", "convT"):
            raw = read_values(w, "--w")
            if symbolic and raw is None:
                fail(_("--w: give the kernel, got none"), 2)
            w_t = teach.as_kernel(teach.tensor(raw, "w"), dims, kind, x_t.shape[0], groups or 1)
            if kind == "conv":
                result = teach.conv(x_t, w_t, 1 if strides is None else strides, padding, dilation, groups or 1, bias_t)
            else:
                result = teach.conv_transpose(x_t, w_t, 1 if strides is None else strides, padding,
                                              parse_sizes(output_padding or "0", "--output-padding"), dilation, groups or 1, bias_t)
        else:
            result = teach.pool(x_t, kind, parse_sizes(k, "--k"), strides, padding, dilation, ceil, not no_count_pad)
    except ConvcalcError as error:
        fail(error)
    emit_compute(result, fmt, show_steps, symbolic, draw, numbers=x is not None)


def emit_compute(result, fmt: "Format", show_steps: bool, symbolic: bool, draw: bool, numbers: bool = True) -> None:
    import json

    from ..render import teach as show
    from ..render.report import SCHEMA_VERSION

    extra_lines, drawing = [], []
    if (symbolic or draw) and fmt is Format.csv:
        fail(_("--{value}: has no place in CSV; use --format table, markdown or json, got --format csv").format(value='symbolic' if symbolic else 'draw'), 2)
    if symbolic:
        if result.input.shape[0] != 1 or (result.kernel is not None and result.kernel.shape[:2] != (1, 1)):
            fail(_("--symbolic: names one channel in and one out (a11, k11), got input {items}").format(items='×'.join(map(str, result.input.shape))), 2)
        extra_lines += show.symbolic_lines(result)
    if draw:
        if result.op == "convT":
            drawing = show.scatter_lines(result.input.shape[1:], result.axes)
        else:
            drawing = show.draw_lines(result.input.shape[1:], result.axes, colour=colour_drawing(fmt))
    steps = show.explanation_lines(result) if show_steps and numbers else []
    if fmt is Format.json:
        extra = {"explanation": steps} if show_steps else {}
        if symbolic:
            extra["symbolic"] = extra_lines
        if draw:
            extra["drawing"] = drawing
        data = show.compute_json(result, extra) if numbers else {"schema_version": SCHEMA_VERSION, "type": result.op, **extra}
        ascii_only = not can_print("×")
        # one key a line, each value compact: a matrix stays readable
        typer.echo("{\n" + ",\n".join(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=ascii_only)}" for key, value in data.items()) + "\n}")
    elif fmt is Format.csv:
        sys.stdout.write(show.compute_csv(result))
    elif fmt is Format.markdown:
        sys.stdout.write(show.compute_markdown(result))
        write_lines(steps + extra_lines + drawing)
    else:
        width = fit_width()  # sentences wrap at a terminal's edge; a matrix or a drawing never does
        shown = show.output_lines(result, numbers)
        write_lines(shown[:1], width)
        write_lines(shown[1:])
        write_lines(steps + extra_lines, width)
        if drawing:
            print_drawing(console(), drawing)

"""`convcalc compute`: a layer's output on given numbers, exactly."""

from __future__ import annotations

import sys
from typing import NamedTuple

import typer

from ..core.errors import ConvcalcError
from ..core.messages import _
from .group import app
from .options import LANG_OPTION, Format, Lang, TeachOp, fail, no_such_option, parse_sizes, read_values
from .output import can_print, colour_drawing, console, fit_width, print_drawing, write_lines


COMPUTE_FLAGS = {
    "conv": {"--w", "--s", "--p", "--d", "--groups", "--bias", "--flip"},
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
    flip: bool = typer.Option(False, "--flip", help="True convolution, as nndl defines 卷积: the kernel flipped along each spatial axis before it slides (without it, cross-correlation, as PyTorch's conv)."),
    let: list[str] = typer.Option(None, "--let", help="Name a tensor for --x, --w and --bias, as the notes write it: --let K='torch.tensor([[1.0, -1.0]])' (repeatable)."),
    then: list[str] = typer.Option(None, "--then", help="Apply another operation to the output: --then 'maxpool --k 2' (repeatable, in order)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    lang: Lang = LANG_OPTION,
):
    """The output of a layer on given numbers, exactly, with the worked sums.

    Example: convcalc compute --x '[[0,1,2],[3,4,5],[6,7,8]]' --w '[[0,1],[2,3]]'   (→ [[19, 25], [37, 43]])

    Example: convcalc compute --op maxpool --x '[[0,1,2],[3,4,5],[6,7,8]]' --k 2 --s 1 --explain

    Example: convcalc compute --x 'X = torch.ones((6, 8)); X[:, 2:6] = 0' --w '[[1, -1]]' --then 'maxpool --k 2'
    """
    from ..core.errors import SpecError, quote
    from ..teach import compute as teach

    kind = op.value
    first = Stage("", kind, w, bias, k, s, p, d, groups, output_padding, ceil, no_count_pad, flip)
    check_flags(first)
    names = {}
    if let:
        from ..formats.tensortext import evaluate_names

        try:
            names = evaluate_names(let)
        except SpecError as error:
            fail(error, 2)
    from ..core.limits import MAX_STAGES

    if then and len(then) > MAX_STAGES:
        fail(_("--then: chains at most {most} operations, got {count}").format(most=MAX_STAGES, count=len(then)), 2)
    stages = [parse_stage(text) for text in then or []]  # every --then read before any arithmetic
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
            values = teach.tensor(read_values(x, "--x", names), "x")
        x_t = teach.as_input(values, dims)
        results = [run(first, x_t, dims, names)]
        for stage in stages:
            results.append(run(stage, results[-1].output, dims, names))
    except ConvcalcError as error:
        fail(error)
    if len(results) > 1 and (symbolic or draw):
        fail(_("--then: writes each output; --symbolic and --draw show one operation, got --then {value}").format(
            value=quote(then[0])), 2)
    emit_stages(list(zip(["", *(then or [])], results)), fmt, show_steps, symbolic, draw, numbers=x is not None)


class Stage(NamedTuple):
    """One operation of a chain: the first from compute's own flags, the others from --then."""

    text: str
    kind: str
    w: str | None = None
    bias: str | None = None
    k: str | None = None
    s: str | None = None
    p: str | None = None
    d: str | None = None
    groups: int | None = None
    output_padding: str | None = None
    ceil: bool = False
    no_count_pad: bool = False
    flip: bool = False


def check_flags(stage: Stage) -> None:
    """Only the flags the operation takes, and the ones it needs."""
    kind = stage.kind
    given = {"--w": stage.w, "--k": stage.k, "--s": stage.s, "--p": stage.p, "--d": stage.d, "--groups": stage.groups,
             "--bias": stage.bias, "--output-padding": stage.output_padding, "--ceil": stage.ceil or None,
             "--no-count-pad": stage.no_count_pad or None, "--flip": stage.flip or None}
    for flag, value in given.items():
        if value is not None and flag not in COMPUTE_FLAGS[kind]:
            fail(no_such_option(flag, kind, value), 2)
    if kind in ("conv", "convT") and stage.w is None:
        fail(_("--w: --op {kind} needs the kernel's values, got none").format(kind=kind), 2)
    if kind in ("maxpool", "avgpool") and stage.k is None:
        fail(_("--k: --op {kind} needs the window size, got none").format(kind=kind), 2)


STAGE_FLAGS = ("w", "bias", "k", "s", "p", "d", "groups", "output_padding", "ceil", "no_count_pad", "flip")


def parse_stage(text: str) -> Stage:
    """--then 'maxpool --k 2': an operation and its own flags, read by compute's own parser."""
    from ..core.errors import quote
    from .group import read_flags, split_words

    words = split_words(text, "--then")
    if not words or words[0] not in COMPUTE_FLAGS:
        fail(_("--then: begins with the operation (conv, convT, maxpool, avgpool), got {value}").format(value=quote(text)), 2)
    params, beyond = read_flags(compute, ["--op", *words], "--then", text, STAGE_FLAGS + ("op",))
    if beyond:
        fail(_("--then: takes the operation's own flags (--w, --k, --s, --p, …), got {value}").format(value=quote(text)), 2)
    stage = Stage(text, words[0], *(params[name] for name in STAGE_FLAGS))
    check_flags(stage)
    return stage


def run(stage: Stage, x_t, dims: int, names: dict):
    """One operation on the tensor x_t (C × spatial)."""
    from ..teach import compute as teach

    kind = stage.kind
    strides = parse_sizes(stage.s, "--s")
    padding = parse_sizes(stage.p or "0", "--p")
    dilation = parse_sizes(stage.d or "1", "--d")
    bias_t = teach.tensor(read_values(stage.bias, "--bias", names), "bias") if stage.bias is not None else None
    if kind in ("conv", "convT"):
        w_t = teach.as_kernel(teach.tensor(read_values(stage.w, "--w", names), "w"), dims, kind, x_t.shape[0], stage.groups or 1)
        if kind == "conv":
            if stage.flip:
                w_t = teach.flipped(w_t)
            result = teach.conv(x_t, w_t, 1 if strides is None else strides, padding, dilation, stage.groups or 1, bias_t)
            return result._replace(settings={**result.settings, "flipped": True}) if stage.flip else result
        return teach.conv_transpose(x_t, w_t, 1 if strides is None else strides, padding,
                                    parse_sizes(stage.output_padding or "0", "--output-padding"), dilation, stage.groups or 1, bias_t)
    return teach.pool(x_t, kind, parse_sizes(stage.k, "--k"), strides, padding, dilation, stage.ceil, not stage.no_count_pad)


def emit_stages(stages: list, fmt: "Format", show_steps: bool, symbolic: bool, draw: bool, numbers: bool = True) -> None:
    """One operation as before; a chain (--then) writes each operation's output in turn, JSON as a list of stages."""
    if len(stages) == 1:
        return emit_compute(stages[0][1], fmt, show_steps, symbolic, draw, numbers)
    from ..render import teach as show

    if fmt is Format.json:
        import json

        ascii_only = not can_print("×")
        data = [{"then": text, **show.compute_json(result, {"explanation": show.explanation_lines(result)} if show_steps else {})}
                if text else show.compute_json(result, {"explanation": show.explanation_lines(result)} if show_steps else {})
                for text, result in stages]
        typer.echo(json.dumps({"schema_version": data[0]["schema_version"], "type": "compute_chain", "stages": data,
                               "output_shape": data[-1]["output_shape"], "output": data[-1]["output"],
                               "output_exact": data[-1]["output_exact"]}, ensure_ascii=ascii_only))
        return
    if fmt is Format.csv:
        sys.stdout.write(show.compute_csv(stages[-1][1]))  # a table of one output: the chain's last
        return
    for text, result in stages:
        if text:
            write_lines(["", _("then {operation}:").format(operation=text)])
        emit_compute(result, fmt, show_steps, False, False, numbers)


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

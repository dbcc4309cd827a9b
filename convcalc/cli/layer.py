"""`convcalc layer`: one layer from flags."""

from __future__ import annotations

import sys
from enum import Enum

import typer

from ..core.errors import ConvcalcError
from ..core.messages import Note, _, say
from .group import app
from .options import (CONVENTION_HELP, EXPLAIN_HELP, LANG_OPTION, Format, Lang, axes_of, expand, explain_parts, fail,
                      flag_message, no_such_option, parse_padding, parse_sizes)
from .output import can_print, colour_drawing, console, fit_width, print_drawing, write_lines


class Op(str, Enum):
    conv = "conv"
    convT = "convT"
    maxpool = "maxpool"
    avgpool = "avgpool"
    adaptive_avgpool = "adaptive_avgpool"
    adaptive_maxpool = "adaptive_maxpool"
    global_avgpool = "global_avgpool"
    linear = "linear"
    flatten = "flatten"
    batchnorm = "batchnorm"
    layernorm = "layernorm"
    instancenorm = "instancenorm"


# which flags mean something for each --op; any other flag given is refused, not ignored
OP_FLAGS = {
    "conv": {"--in", "--out", "--k", "--s", "--p", "--d", "--groups", "--cout", "--no-bias", "--p-total"},
    "convT": {"--in", "--k", "--s", "--p", "--d", "--groups", "--cout", "--no-bias", "--output-padding"},
    "maxpool": {"--in", "--out", "--k", "--s", "--p", "--d", "--ceil"},
    "avgpool": {"--in", "--out", "--k", "--s", "--p", "--ceil"},
    "adaptive_avgpool": {"--in", "--out"},
    "adaptive_maxpool": {"--in", "--out"},
    "global_avgpool": {"--in"},
    "linear": {"--in", "--cout", "--no-bias"},
    "flatten": {"--in"},
    "batchnorm": {"--in"},
    "layernorm": {"--in", "--shape"},
    "instancenorm": {"--in"},
}


@app.command(epilog=CONVENTION_HELP)
def layer(
    size: str = typer.Option(None, "--in", "--input", help="Spatial input size: 10 (10×10), 32x64 (H×W), 8x32x32 (D×H×W)."),
    cin: int = typer.Option(None, "--cin", help="Input channels (input features for --op linear) [1]."),
    cout: int = typer.Option(None, "--cout", help="Output channels (output features for --op linear) [1]."),
    k: str = typer.Option(None, "--k", "--kernel", help="Kernel size: 5 or 3x5."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride [conv: 1; pooling: the kernel size]."),
    p: str = typer.Option(None, "--p", "--padding", help="Padding: a number, AxB, valid / same / full (nndl: narrow / equal / wide), or (before, after) pairs 1:2, 1:2x0:1 [0]."),
    p_total: str = typer.Option(None, "--p-total", help="d2l's total padding p_h (top and bottom together; an odd total puts the extra row at the end): 2 or 3x2."),
    d: str = typer.Option(None, "--d", "--dilation", help="Dilation [1]."),
    groups: int = typer.Option(None, "--groups", help="Groups (= --cin for depthwise) [1]."),
    no_bias: bool = typer.Option(False, "--no-bias", help="The layer has no bias."),
    op: Op = typer.Option(Op.conv, "--op", metavar="<KIND>", help="Layer kind: " + ", ".join(k.value for k in Op) + "."),
    output_padding: str = typer.Option(None, "--output-padding", help="Transposed convolution's output padding [0]."),
    out: str = typer.Option(None, "--out", help="Output size: adaptive pooling's; for conv and pooling in place of --in, which is then worked out (same padding unless --p gives another)."),
    normalized: str = typer.Option(None, "--shape", help="--op layernorm over the input's last axes, as nn.LayerNorm([64, 8, 8]): 64x8x8 [the channels at each position]."),
    not_first: bool = typer.Option(False, "--not-first", help="The layer sits inside a network: its input needs a gradient, so the backward pass computes that too (shown with --backward)."),
    ceil: bool = typer.Option(False, "--ceil", "--ceil-mode", help="Pooling rounds the output size up, as PyTorch's ceil_mode."),
    dims: int = typer.Option(None, "--dims", min=1, max=3, help="Spatial axes [the longest of --in/--k/--s/--p/--d, else 2]."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs and FLOPs."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    explain: str = typer.Option(None, "--explain", metavar="[PARTS]", help=EXPLAIN_HELP),
    backward: bool = typer.Option(False, "--backward", help="Add the backward pass: its MACs and the bytes autograd saves for it (as the network's first layer, whose input needs no gradient)."),
    draw: bool = typer.Option(False, "--draw", help="Draw the padded input, the first window and the rows no window reaches."),
    lang: Lang = LANG_OPTION,
):
    """Output shape, parameters, FLOPs and receptive field of one layer.

    Example: convcalc layer --in 10 --k 5 --p 1 --s 2   (→ 1×4×4)

    Example: convcalc layer --in 32 --k 3 --p 1 --s 2 --no-bias --explain
    """
    from ..core.network import Settings, single_layer

    kind = op.value
    built, shape, worked_out = build_layer(size, cin, cout, k, s, p, p_total, d, groups, no_bias, op, output_padding, out,
                                           normalized, dims, ceil)
    try:
        report = single_layer(built, shape, Settings(batch=batch, flops_per_mac=flops_per_mac, input_grad=not_first))
    except ConvcalcError as error:
        fail(flag_message(error, kind))
    drawing = []
    if draw:
        from ..render import teach as teach_render
        from ..core.geometry import ConvAxis, TransposedAxis

        axes = report.leaves[0].cost.axes
        spatial = report.leaves[0].input_shape[1:]
        if axes and isinstance(axes[0], TransposedAxis):
            drawing = teach_render.scatter_lines(spatial, axes)
        elif not axes or not isinstance(axes[0], ConvAxis):
            drawing = [_("(--draw: --op {kind} slides no window over its input: nothing to draw)").format(kind=kind)]
        else:
            drawing = teach_render.draw_lines(spatial, axes, colour=colour_drawing(fmt))
        if fmt is Format.csv:
            fail(_("--draw: a picture has no place in CSV; use --format table, markdown or json, got --format csv"), 2)
    emit_layer(report, fmt, explain_parts(explain, *(("memory", "backward") if backward else ())), drawing, backward, worked_out)


def build_layer(size, cin, cout, k, s, p, p_total, d, groups, no_bias, op, output_padding, out, normalized, dims, ceil):
    """The layer the flags describe, its input shape (C × spatial) and, when --out gave the output, the sentence
    saying how the input was worked out. Shared with `compare`, which takes a quoted `layer …` as one design."""
    from ..core.errors import quote
    from ..core.layers import AdaptivePool, Conv, ConvTranspose, Flatten, InstanceNorm, Linear, Norm, Pool
    from ..core.limits import MAX_INT

    kind = op.value
    given = {"--in": size, "--k": k, "--s": s, "--p": p, "--p-total": p_total, "--d": d, "--groups": groups, "--cout": cout,
             "--output-padding": output_padding, "--out": out, "--ceil": ceil or None, "--no-bias": no_bias or None,
             "--shape": normalized}
    for flag, value in given.items():
        if value is not None and flag not in OP_FLAGS[kind]:
            fail(no_such_option(flag, kind, value), 2)
    spatial = parse_sizes(size, "--in")
    kernel = parse_sizes(k, "--k")
    stride = parse_sizes(s, "--s")
    from ..core.geometry import PRESETS

    padding = parse_padding(p or "0", PRESETS)
    p_total_value = parse_sizes(p_total, "--p-total")
    if p_total is not None and p is not None:
        fail(_("--p-total: gives the padding already; drop --p (or --p-total), got --p {value} too").format(value=quote(p)), 2)
    dilation = parse_sizes(d or "1", "--d")
    out_pad = parse_sizes(output_padding or "0", "--output-padding")
    out_size = parse_sizes(out, "--out")
    others = axes_of(kernel, stride, padding if not (isinstance(padding, tuple) and len(padding) == 1) else None,
                     dilation, out_pad, out_size, p_total_value)
    if (dims is None and isinstance(spatial, tuple) and len(spatial) == 3 and others < 3 and kind != "linear"
            and (cin is None or cin == spatial[0])):  # 3x32x32 is C×H×W written where --in takes H×W
        fail(_("--in: takes the spatial size only (H×W; D×H×W with --dims 3), the channels go in --cin: did you mean "
               "--in {hw} --cin {c}?, got {value}").format(hw="x".join(map(str, spatial[1:])), c=spatial[0], value=quote(size)), 2)
    cin = 1 if cin is None else cin
    n = dims or max(axes_of(spatial), others) or 2
    for flag, value in (("--cin", cin), ("--cout", cout), ("--groups", groups)):
        if value is not None and value < 1:
            fail(_("{flag}: must be a positive integer, got {value}").format(flag=flag, value=quote(value)))
        if value is not None and value > MAX_INT:
            fail(_("{flag}: must be at most 2^53 = {max_int:,}, got {value}").format(flag=flag, max_int=MAX_INT, value=quote(value)))
    worked_out = []
    if out is not None and kind in ("conv", "maxpool", "avgpool"):  # the output size given: the input worked out
        if spatial is not None:
            fail(_("--out: gives the output size, from which the input is worked out; drop --in (or --out), got --in {value} too").format(
                value=quote(size)), 2)
        if kernel is None:
            fail(_("--k: the kernel size is required for --op {kind}, got none").format(kind=kind))
        spatial, worked_out = input_from_output(kind, out_size, kernel, stride, padding if (p is not None or kind != "conv") else "same",
                                                dilation, n)
        if kind == "conv" and p is None and p_total is None:
            padding = "same"
    if spatial is None and kind != "linear":
        fail(_("--in: the input size is required for --op {kind}, got none").format(kind=kind))
    shape = (cin, *expand(spatial, n, "--in")) if spatial is not None else (cin,)
    if kernel is None and kind in ("conv", "convT", "maxpool", "avgpool"):
        fail(_("--k: the kernel size is required for --op {kind}, got none").format(kind=kind))
    bias = not no_bias
    cout, groups = cout or 1, groups or 1
    if kind == "conv":
        built = Conv(cout, kernel, 1 if stride is None else stride, 0 if p_total is not None else padding, dilation, groups, bias,
                     p_total=p_total_value)
    elif kind == "convT":
        built = ConvTranspose(cout, kernel, 1 if stride is None else stride, padding, out_pad, dilation, groups, bias)
    elif kind in ("maxpool", "avgpool"):
        built = Pool(kernel, stride, padding, dilation, ceil, kind)
    elif kind.startswith(("adaptive", "global")):
        built = AdaptivePool(1 if out_size is None else out_size, kind)
    elif kind == "linear":
        built = Linear(cout, bias)
    elif kind in ("batchnorm", "layernorm"):
        built = Norm(kind=kind, shape=parse_shape(normalized) if normalized is not None else None)
    elif kind == "instancenorm":
        built = InstanceNorm()
    else:
        built = Flatten()
    return built, shape, worked_out


def parse_shape(text: str) -> tuple[int, ...]:
    """--shape 64x8x8: layer norm's normalized shape, any number of axes."""
    value = parse_sizes(text, "--shape", most=4)
    return value if isinstance(value, tuple) else (value,)


def input_from_output(kind: str, out, kernel, stride, padding, dilation, n: int) -> tuple[tuple[int, ...], list[str]]:
    """The input size each axis needs to give `out` (--out in place of --in), and the sentence
    saying how it was found."""
    from ..core.geometry import input_for

    outs, ks, ds = expand(out, n, "--out"), expand(kernel, n, "--k"), expand(dilation, n, "--d")
    ss = expand(stride if stride is not None else (1 if kind == "conv" else kernel), n, "--s")
    if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        pads = padding if len(padding) == n else padding * n
    elif isinstance(padding, str):
        pads = (padding,) * n
    else:
        pads = expand(padding, n, "--p")
    sizes = tuple(input_for(o, k, st, d, pd) for o, k, st, d, pd in zip(outs, ks, ss, ds, pads))
    if min(sizes) < 1:
        fail(_("--out: no input gives this output with this kernel, stride and padding, got {value}").format(
            value="x".join(map(str, outs))), 2)
    rule = (Note("same padding keeps ⌈M/S⌉ = out, so M = out·S") if padding == "same" else
            Note("the smallest M with ⌊(M + 2P − K̂)/S⌋ + 1 = out: M = (out − 1)·S + K̂ − 2P"))
    return sizes, [Note("input worked out from --out: {rule} = {sizes}", rule=rule, sizes="×".join(map(str, sizes)))]


def emit_layer(report, fmt: "Format", parts: tuple[str, ...] | None, drawing: list[str] = (), backward: bool = False,
               notes: list = ()) -> None:
    from ..render import report as render

    from ..core.figures import layer_figures

    show_steps = parts is not None
    steps = render.explanation(report, report.leaves, parts) if show_steps else []
    figures = layer_figures(report.leaves[0], report.settings.batch)
    if fmt is Format.json:
        import json

        data = render.single_dict(report, figures)
        if show_steps:
            data["explanation"] = steps
        if drawing:
            data["drawing"] = list(drawing)
        if notes:
            data["notes"] = [str(note) for note in notes]  # English whatever the language: JSON is the contract
        typer.echo(json.dumps(data, indent=2, ensure_ascii=not can_print("×")))
        return
    if fmt is Format.csv:
        writer = render.CsvWriter(sys.stdout.write, report.settings, None)
        for row in report.rows:
            writer.leaf(row)
        return
    if fmt is Format.markdown:
        table = render.TableRows(None)
        for row in report.rows:
            table.leaf(row)
        sys.stdout.write(render.to_markdown(report, table))
        write_lines([say(note) for note in notes] + steps + list(drawing))
        return
    out = console()
    out.print(render.layer_table(report, figures, backward))
    out.print(render.short_convention(report), markup=False, highlight=False)
    write_lines([say(note) for note in notes] + steps, fit_width())
    print_drawing(out, drawing)


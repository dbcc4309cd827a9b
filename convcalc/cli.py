"""The command line: parse flags, call the core, render, and turn domain errors into `Error: …`."""

from __future__ import annotations

import os
import re
import sys
from enum import Enum

import typer

from . import __version__
from .errors import ConvcalcError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Shape, parameter, FLOP and receptive-field calculator for convolutional networks.")

CONVENTION_HELP = (
    "Counting rules: one multiply-add (MAC) is one FLOP unless --flops-per-mac 2; only convolutions and "
    "linear layers cost FLOPs; bias adds are not counted; parameters are learnable weights and biases, "
    "BatchNorm running statistics are buffers, counted apart; figures are per sample unless --batch."
)


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


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def fail(message: str, code: int = 1):
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def version_callback(value: bool):
    if value:
        typer.echo(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="Print the version and exit.")):
    """Shape, parameter, FLOP and receptive-field calculator for convolutional networks."""


SIZE = re.compile(r"^\s*-?\d+(\s*[x×,*]\s*-?\d+)*\s*$")


def parse_sizes(text: str | None, flag: str, presets: tuple[str, ...] = ()) -> int | tuple[int, ...] | str | None:
    """'10' → 10, '32x64' → (32, 64), 'same' → 'same' where presets allow it."""
    if text is None:
        return None
    if text.strip().lower() in presets:
        return text.strip().lower()
    if not SIZE.match(text):
        expected = "an integer or sizes such as 32x64" + (f", or one of {', '.join(presets)}" if presets else "")
        fail(f"{flag}: must be {expected}, got {text!r}", 2)
    values = tuple(int(v) for v in re.split(r"[x×,*]", text))
    return values[0] if len(values) == 1 else values


def axes_of(*values) -> int:
    return max((len(v) for v in values if isinstance(v, tuple)), default=0)


def expand(value, n: int, flag: str) -> tuple[int, ...]:
    if isinstance(value, tuple):
        if len(value) != n:
            fail(f"{flag}: needs 1 or {n} values for {n} spatial axes, got {'x'.join(map(str, value))!r}", 2)
        return value
    return (value,) * n


FLAGS = {"c": "--cout", "k": "--k", "s": "--s", "p": "--p", "d": "--d", "groups": "--groups", "out": "--out",
         "output_padding": "--output-padding", "ceil": "--ceil", "input": "--in", "batch": "--batch",
         "flops-per-mac": "--flops-per-mac"}


def flag_message(error: ConvcalcError, op: str) -> str:
    """Name the flag the user typed: 'k: must be …' → '--k: must be …'."""
    text = str(error)
    head, sep, rest = text.partition(": ")
    if sep and head in FLAGS:
        flag = "--cout" if (head == "out" and op == "linear") else FLAGS[head]
        return f"{flag}: {rest}"
    return text


def console():
    from rich.console import Console

    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        return Console(highlight=False)
    return Console(highlight=False, width=120)


@app.command(epilog=CONVENTION_HELP)
def layer(
    size: str = typer.Option(None, "--in", "--input", help="Spatial input size: 10 (10×10), 32x64 (H×W), 8x32x32 (D×H×W)."),
    cin: int = typer.Option(1, "--cin", help="Input channels (input features for --op linear)."),
    cout: int = typer.Option(1, "--cout", help="Output channels (output features for --op linear)."),
    k: str = typer.Option(None, "--k", "--kernel", help="Kernel size: 5 or 3x5."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride [conv: 1; pooling: the kernel size]."),
    p: str = typer.Option("0", "--p", "--padding", help="Padding: a number, AxB, or valid / same / full."),
    d: str = typer.Option("1", "--d", "--dilation", help="Dilation."),
    groups: int = typer.Option(1, "--groups", help="Groups (= --cin for depthwise)."),
    no_bias: bool = typer.Option(False, "--no-bias", help="The layer has no bias."),
    op: Op = typer.Option(Op.conv, "--op", help="Layer kind."),
    output_padding: str = typer.Option("0", "--output-padding", help="Transposed convolution's output padding."),
    out: str = typer.Option(None, "--out", help="Adaptive pooling's output size."),
    ceil: bool = typer.Option(False, "--ceil", "--ceil-mode", help="Pooling rounds the output size up, as PyTorch's ceil_mode."),
    dims: int = typer.Option(None, "--dims", min=1, max=3, help="Spatial axes [the longest of --in/--k/--s/--p/--d, else 2]."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs and FLOPs."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    show_steps: bool = typer.Option(False, "--explain", help="Show the worked solution, formula by formula."),
):
    """Output shape, parameters, FLOPs and receptive field of one layer.

    Example: convcalc layer --in 10 --k 5 --p 1 --s 2   (→ 1×4×4)

    Example: convcalc layer --in 32 --k 3 --p 1 --s 2 --no-bias --explain
    """
    from .layers import AdaptivePool, Conv, ConvTranspose, Flatten, Linear, Pool
    from .network import Settings, single_layer

    spatial = parse_sizes(size, "--in")
    kernel = parse_sizes(k, "--k")
    stride = parse_sizes(s, "--s")
    padding = parse_sizes(p, "--p", ("valid", "same", "full"))
    dilation = parse_sizes(d, "--d")
    out_pad = parse_sizes(output_padding, "--output-padding")
    out_size = parse_sizes(out, "--out")
    n = dims or axes_of(spatial, kernel, stride, padding, dilation, out_pad, out_size) or 2
    if cin < 1:
        fail(f"--cin: must be a positive integer, got {cin}")
    kind = op.value
    if spatial is None and kind not in ("linear",):
        fail(f"--in: the input size is required for --op {kind}, got none")
    shape = (cin, *expand(spatial, n, "--in")) if spatial is not None else (cin,)
    if kernel is None and kind in ("conv", "convT", "maxpool", "avgpool"):
        fail(f"--k: the kernel size is required for --op {kind}, got none")
    bias = not no_bias
    if kind == "conv":
        built = Conv(cout, kernel, 1 if stride is None else stride, padding, dilation, groups, bias)
    elif kind == "convT":
        built = ConvTranspose(cout, kernel, 1 if stride is None else stride, padding, out_pad, dilation, groups, bias)
    elif kind in ("maxpool", "avgpool"):
        built = Pool(kernel, stride, padding, dilation, ceil, kind)
    elif kind.startswith(("adaptive", "global")):
        built = AdaptivePool(1 if out_size is None else out_size, kind)
    elif kind == "linear":
        built = Linear(cout, bias)
    else:
        built = Flatten()
    try:
        report = single_layer(built, shape, Settings(batch=batch, flops_per_mac=flops_per_mac))
    except ConvcalcError as error:
        fail(flag_message(error, kind))
    emit(report, fmt, show_steps, single=True)


class Dtype(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    int8 = "int8"


READABLE_ROWS = 80


@app.command(epilog=CONVENTION_HELP)
def net(
    spec: str = typer.Argument(..., help="A description file (YAML), or a bundled network's name: vgg16, resnet50, … (see convcalc zoo)."),
    size: str = typer.Option(None, "--input", "--in", help="Override the description's input: 3x160x160 (C×H×W)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs, FLOPs and activation memory."),
    dtype: Dtype = typer.Option(Dtype.fp32, "--dtype", help="Element type for the memory figures."),
    depth: int = typer.Option(None, "--depth", min=0, help="Collapse blocks nested deeper than N into one row each [as deep as fits 80 rows]."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    show_steps: bool = typer.Option(False, "--explain", help="Show every layer's worked arithmetic."),
):
    """Shapes, parameters, FLOPs, memory and receptive field of every layer of a network.

    Example: convcalc net vgg16.yaml

    Example: convcalc net resnet50 --input 3x160x160 --depth 1
    """
    from .network import Settings, analyze
    from .spec import load
    from .zoo import find

    shape = None
    if size is not None:
        parsed = parse_sizes(size, "--input")
        if not isinstance(parsed, tuple) or not 2 <= len(parsed) <= 4 or min(parsed) < 1:
            fail(f"--input: must be C×H×W (or C×L, C×D×H×W) with positive sizes, got {size!r}", 2)
        shape = parsed
    try:
        network = load(find(spec), shape)
        report = analyze(network, Settings(batch=batch, flops_per_mac=flops_per_mac, dtype=dtype.value))
    except ConvcalcError as error:
        fail(str(error))
    if depth is None and fmt is Format.table:
        depth = readable_depth(report)
    emit(report, fmt, show_steps, single=False, depth=depth)


def readable_depth(report) -> int | None:
    """The deepest level whose rows fit on a screen or two; None when every row fits."""
    if len(report.rows) <= READABLE_ROWS:
        return None
    deepest = max(r.depth for r in report.rows)
    for level in range(deepest, -1, -1):
        if sum(1 for r in report.rows if r.depth <= level) <= READABLE_ROWS:
            return level
    return 0


@app.command()
def zoo(fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format (table or json).")):
    """List the bundled networks: name, input, parameters, FLOPs at the default input, source.

    Example: convcalc zoo
    """
    from .network import analyze
    from .spec import load
    from .zoo import bundled

    entries = []
    for path in bundled():
        network = load(path)
        entries.append((path.stem, network.name, analyze(network), network.source))
    from . import render

    if fmt is Format.json:
        import json

        typer.echo(json.dumps([{"name": stem, "title": title, "input_shape": list(r.input_shape), "params": r.params,
                                "macs": r.macs, "flops": r.flops, "source": source} for stem, title, r, source in entries], indent=2))
        return
    console().print(render.zoo_table(entries))


def emit(report, fmt: "Format", show_steps: bool, single: bool, depth: int | None = None) -> None:
    from . import render

    rows = render.visible_rows(report, depth)
    if fmt is Format.json:
        if show_steps:
            import json

            data = json.loads(render.to_json(report, single))
            data["explanation"] = render.explanation(report, report.leaves)
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            typer.echo(render.to_json(report, single))
        return
    if fmt is Format.csv:
        typer.echo(render.to_csv(report, rows), nl=False)
        return
    steps = render.explanation(report, report.leaves) if show_steps else []
    if fmt is Format.markdown:
        typer.echo(render.to_markdown(report, rows), nl=False)
        for line in steps:
            typer.echo(line)
        return
    out = console()
    out.print(render.layer_table(report) if single else render.network_table(report, rows))
    if not single and len(rows) < len(report.rows):
        out.print(f"(blocks below depth {depth} collapsed into one row each; --depth {max(r.depth for r in report.rows)} shows every layer)")
    if not single:
        out.print(render.totals_table(report))
        for line in render.warning_lines(report):
            out.print(line, markup=False, style="yellow")
    for line in steps:
        out.print(line, markup=False)


def main() -> None:
    # A short-lived process whose objects form no cycles: the collector's repeated scans of a
    # 100,000-layer analysis would cost more than the analysis itself.
    import gc

    gc.disable()
    app()

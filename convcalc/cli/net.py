"""`convcalc net`: every layer of a network, from any reader, in any format."""

from __future__ import annotations

import sys
from enum import Enum
from typing import NamedTuple

import typer

from ..core.errors import ConvcalcError
from ..core.messages import _, say
from .group import app
from .options import (CONVENTION_HELP, EXPLAIN_HELP, LANG_OPTION, Lang, complete_spec, explain_parts, fail,
                      input_shape, load_network, parse_assignments, parse_device)
from .options import NetFormat as Format
from .output import PROSE_COLUMNS, can_print, console, fit_width, print_drawing, print_wide, write_lines


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    adamw = "adamw"


class Count(str, Enum):
    macs = "macs"
    fvcore = "fvcore"
    fvcore_train = "fvcore-train"
    torchinfo = "torchinfo"
    calflops = "calflops"
    thop = "thop"
    darknet = "darknet"
    ptflops = "ptflops"
    mul_add = "mul-add"
    course_pool = "course-pool"


class Amp(str, Enum):
    fp16 = "fp16"
    bf16 = "bf16"


class Dtype(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    int8 = "int8"


READABLE_ROWS = 80  # a table deeper than this collapses its blocks


COLLAPSE_ROWS = 200  # past this (at the depth shown), identical rows collapse and the middle is left out


@app.command(epilog=CONVENTION_HELP)
def net(
    spec: str = typer.Argument(..., metavar="SPEC", autocompletion=complete_spec, help="A description file (YAML), - for standard input, a bundled network's name: vgg16, resnet50, … (see convcalc zoo), a PyTorch model: my_model.py:Net, torchvision.models:resnet50 (a class, or a function returning an nn.Module; building it runs that code, as python would; needs pip install torch), or an ONNX file: model.onnx."),
    size: str = typer.Option(None, "--input", "--in", help="Override the description's input: 3x160x160 (C×H×W), or 10 (features, for an MLP)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs, FLOPs and activation memory."),
    dtype: Dtype = typer.Option(Dtype.fp32, "--dtype", help="Element type for the memory figures."),
    depth: int = typer.Option(None, "--depth", min=0, help="Collapse blocks nested deeper than N into one row each [as deep as fits 80 rows]."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format; mermaid and dot draw the network as a graph (Mermaid renders in GitHub, Typora and Obsidian; dot is Graphviz's), --depth collapsing blocks; html is a report with charts, one file that opens offline."),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file; without --format its ending chooses: .html, .json, .csv, .md, .mmd, .dot, or .svg (drawn by Graphviz's dot)."),
    explain: str = typer.Option(None, "--explain", metavar="[PARTS]", help=EXPLAIN_HELP),
    brief: bool = typer.Option(False, "--brief", help="Only names, shapes, parameters and FLOPs, and their totals."),
    wide: bool = typer.Option(False, "--wide", help="Every column at its full width, even past the terminal's edge."),
    every_warning: bool = typer.Option(False, "--warnings", help="Write out every warning (the same warning on several layers is otherwise written once)."),
    excel: bool = typer.Option(False, "--excel", help="With --format csv: a file Excel opens as it should (UTF-8 mark, each shape as columns of numbers)."),
    connections: bool = typer.Option(False, "--connections", help="Add a column of LeCun's connections (LeNet-5's figure)."),
    assignments: list[str] = typer.Option(None, "--set", help="Give a network argument: --set classes=10 --set width=0.5 (repeatable; the description's args: lists them)."),
    by_op: bool = typer.Option(False, "--by-op", help="Add the totals per operator group: conv, linear, pool, norm, activation, merge, reshape."),
    count: Count = typer.Option(Count.macs, "--count", metavar="<RULE>", help="Also count as another tool counts, to reproduce its figure: fvcore (eval), fvcore-train, torchinfo (Total mult-adds), calflops (FLOPs), thop (Ultralytics' GFLOPs ÷ 2), ptflops (its MACs), darknet (Darknet's BFLOPs); mul-add (multiplications and additions apart), course-pool (pooling's comparisons, additions and divisions too)."),
    optimizer: Optimizer = typer.Option(Optimizer.adam, "--optimizer", help="The optimizer whose state the training memory counts."),
    amp: Amp = typer.Option(None, "--amp", help="Mixed precision: fp16 or bf16 activations, float32 weights, gradients and optimizer state."),
    device: str = typer.Option(None, "--device", help="Time bounds (roofline, an estimate) on a device: a100, h100, v100, t4, rtx4090, or PEAK_FLOPS,BANDWIDTH such as 19.5e12,1.555e12."),
    draw_rf: str = typer.Option(None, "--draw-rf", metavar="LAYER", help="Draw the receptive field of that layer's first unit on the input grid, with the padding it sees."),
    fuse: bool = typer.Option(False, "--fuse", help="As deployed models run: each batchnorm folded into the convolution before it (Darknet and Ultralytics files; for Ultralytics also RepConv's branches merged and the detection head's unused branch dropped, as its fuse() does)."),
    lang: Lang = LANG_OPTION,
):
    """Shapes, parameters, FLOPs, memory and receptive field of every layer of a network.

    Example: convcalc net vgg16.yaml

    Example: convcalc net resnet50 --input 3x160x160 --depth 1
    """
    from ..core.limits import MAX_DRAWN, MAX_EXPLAINED
    from ..core.network import Settings, count_rows

    shape = input_shape(size)
    parts = explain_parts(explain, *(("connections",) if connections else ()), *(("time",) if device else ()))
    show_steps = parts is not None
    try:
        arguments = parse_assignments(assignments or [])
        network = load_network(spec, shape, arguments, fuse)
        settings = Settings(batch=batch, flops_per_mac=flops_per_mac, dtype=dtype.value, optimizer=optimizer.value,
                            amp=amp.value if amp else None, device=parse_device(device, amp.value if amp else dtype.value),
                            count=count.value)
        settings.check()
        if show_steps and count_rows(network.body) > MAX_EXPLAINED:
            fail(_("--explain: writes out at most {max_explained:,} layers; drop --explain or describe a "
                   "smaller network, got {count_rows:,} rows").format(max_explained=MAX_EXPLAINED, count_rows=count_rows(network.body)))
        if fmt in (Format.mermaid, Format.dot):
            extra = next((flag for flag, given in (("--explain", show_steps), ("--by-op", by_op), ("--excel", excel),
                                                   ("--connections", connections), ("--count", count.value != "macs")) if given), None)
            if extra:
                fail(_("{flag}: a graph has no place for it; drop it or use --format table, got --format {value}").format(
                    flag=extra, value=fmt.value), 2)
            if count_rows(network.body) > MAX_DRAWN:
                fail(_("--format {value}: draws at most {max_drawn:,} rows; describe a smaller network, got {count:,}").format(
                    value=fmt.value, max_drawn=MAX_DRAWN, count=count_rows(network.body)))
        if by_op and fmt is Format.csv:
            fail(_("--by-op: a second table has no place in CSV; use --format table, markdown or json, got --format csv"), 2)
        if excel and fmt is not Format.csv:
            fail(_("--excel: shapes a CSV file for Excel; add --format csv, got --format {value}").format(value=fmt.value), 2)
        view = View(fmt, parts, depth, connections, by_op, count.value, brief, wide, every_warning, excel)
        if draw_rf is not None and (fmt not in (Format.table, Format.markdown) or output is not None):
            fail(_("--draw-rf: a picture for the terminal or Markdown; use --format table or markdown, got --format {value}").format(
                value=fmt.value), 2)
        picture = field_picture(network, settings, draw_rf) if draw_rf is not None else []
        if output is None:
            emit_network(network, settings, view)
        else:
            write_output(network, settings, view, output, spec)
        if picture:
            print_drawing(console(fit_width()), picture)
    except ConvcalcError as error:
        fail(error)


def readable_depth(by_depth: dict[int, int]) -> int | None:
    """The deepest level whose rows fit on a screen or two; None when every row fits."""
    if sum(by_depth.values()) <= READABLE_ROWS:
        return None
    shown = 0
    for level in sorted(by_depth):
        if shown + by_depth[level] > READABLE_ROWS:
            return max(level - 1, 0)
        shown += by_depth[level]
    return None


class Tee:
    """Hands every row to several sinks."""

    def __init__(self, *sinks):
        self.sinks = sinks

    def open(self, depth):
        return tuple(s.open(depth) for s in self.sinks)

    def close(self, tokens, row):
        for s, token in zip(self.sinks, tokens):
            s.close(token, row)

    def leaf(self, row):
        for s in self.sinks:
            s.leaf(row)

    def repeated(self, total):
        for s in self.sinks:
            if hasattr(s, "repeated"):
                s.repeated(total)


class View(NamedTuple):
    """What `net` shows of an analysis and how."""

    fmt: Format = Format.table
    parts: tuple[str, ...] | None = None  # --explain's parts; None: no explanation
    depth: int | None = None
    connections: bool = False
    by_op: bool = False
    rule: str = "macs"
    brief: bool = False
    wide: bool = False
    every_warning: bool = False
    excel: bool = False


def emit_network(network, settings, view: View = View()) -> None:
    """Walk the network once, handing its rows to the writer of the chosen format. JSON and CSV
    are written as the rows come, into a spooled file that reaches stdout only once the whole
    network is known to be valid (an error leaves stdout empty)."""
    import tempfile

    from ..render import report as render
    from ..core.network import ByOp, Collect, rows_by_depth, walk

    fmt, depth, connections, rule, parts = view.fmt, view.depth, view.connections, view.rule, view.parts
    collect = Collect() if parts is not None else None
    groups = ByOp() if view.by_op else None
    counted = None
    if rule != "macs":
        from ..core.counting import Counted

        counted = Counted(rule, settings.batch)

    def sinks(first):
        chosen = [s for s in (first, collect, groups, counted) if s is not None]
        return chosen[0] if len(chosen) == 1 else Tee(*chosen)

    if fmt is Format.html:
        from ..render.html import to_html
        from ..render.i18n import current_language

        sys.stdout.write(to_html(network, settings, current_language))
        return
    if fmt in (Format.mermaid, Format.dot):
        from ..core.network import Collect
        from ..render.graph import to_dot, to_mermaid

        rows = Collect()
        walk(network, settings, rows)
        draw = to_mermaid if fmt is Format.mermaid else to_dot
        sys.stdout.write(draw(network, rows.rows, depth, settings.flops_per_mac))
        return
    if fmt in (Format.json, Format.csv):
        spool = tempfile.SpooledTemporaryFile(max_size=32 << 20, mode="w+", encoding="utf-8", newline="")
        pieces: list[str] = []

        def write(text: str) -> None:  # a spooled file's write is slow: hand it 4,096 lines at a time
            pieces.append(text)
            if len(pieces) >= 4096:
                spool.write("".join(pieces))
                pieces.clear()

        if fmt is Format.json:
            writer = render.JsonWriter(write, network.name, network.input_shape, settings, ascii_only=not can_print("×"))
        else:
            writer = render.CsvWriter(write, settings, depth, view.excel)
        report = walk(network, settings, sinks(writer))
        if fmt is Format.json:
            if counted is not None:
                writer.extra["count"] = render.count_dict(counted)
            if groups is not None:
                writer.extra["by_op"] = render.by_op_dict(groups.result(), report)
            if collect is not None:
                writer.extra["explanation"] = render.explanation(report._replace(rows=tuple(collect.rows)), collect.rows, parts)
            writer.finish(report)
        else:
            writer.total(report, counted)
        spool.write("".join(pieces))
        spool.seek(0)
        import shutil

        shutil.copyfileobj(spool, sys.stdout, 1 << 20)
        return
    by_depth = rows_by_depth(network.body)
    if depth is None and fmt is Format.table:
        depth = readable_depth(by_depth)
    shown = sum(n for d, n in by_depth.items() if depth is None or d <= depth)
    table = render.TableRows(depth, collapse=shown > COLLAPSE_ROWS)
    report = walk(network, settings, sinks(table))
    steps = render.explanation(report._replace(rows=tuple(collect.rows)), collect.rows, parts) if collect else []
    if fmt is Format.markdown:
        sys.stdout.write(render.to_markdown(report, table, connections, counted, view.brief))
        if groups is not None:
            sys.stdout.write("\n" + render.by_op_markdown(groups.result(), report))
        write_lines(render.warning_lines(report, view.every_warning) + steps)
        return
    width = fit_width(view.wide)
    out = console(width)
    rows, under = render.network_table(report, table, connections, settings.device is not None, width, view.brief)
    print_wide(out, rows)
    deepest = max(by_depth)
    if depth is not None and depth < deepest:
        under.insert(0, _("(blocks below depth {depth} collapsed into one row each; --depth {deepest} shows every layer)").format(
            depth=depth, deepest=deepest))
    say_lines(out, under, width, style="dim")
    if groups is not None:
        print_wide(out, render.by_op_table(groups.result(), report, width))
    print_wide(out, render.totals_table(report, counted, width, view.brief))
    say_lines(out, render.warning_lines(report, view.every_warning), width, style="yellow")
    write_lines(steps, width)


def field_picture(network, settings, name: str) -> list[str]:
    """--draw-rf LAYER: the lines of that row's receptive-field picture (a did-you-mean for an unknown name)."""
    import difflib

    from ..core.errors import ConvcalcError, quote
    from ..core.network import analyze
    from ..render.teach import field_lines

    report = analyze(network, settings)
    row = next((r for r in report.rows if r.name == name), None)
    if row is None:
        close = difflib.get_close_matches(name, [r.name for r in report.rows], n=3, cutoff=0.4)
        raise ConvcalcError(_("--draw-rf: no layer or block of that name{hint}, got {value}").format(
            hint=_(" (did you mean {names}?)").format(names=", ".join(map(quote, close))) if close else "", value=quote(name)))
    return ["", *field_lines(row.name, row.field, network.input_shape[1:])]


def write_output(network, settings, view: View, output: str, spec: str) -> None:
    """`-o FILE`: the chosen format (or the one the file's ending names) written aside and renamed over the
    file once complete; `.svg` is the DOT text drawn by Graphviz's dot program."""
    import contextlib
    import io
    import shutil
    import subprocess
    from pathlib import Path

    from ..core.errors import quote, reason
    from ..formats.files import same_file, write_atomically
    from .options import FORMAT_OF_SUFFIX

    suffix = Path(output).suffix.lower()
    fmt = view.fmt
    if fmt is Format.table:
        if suffix not in FORMAT_OF_SUFFIX:
            fail(_("--output: a table is for the terminal; give --format, or a file ending in {endings}, got {value}").format(
                endings=", ".join(FORMAT_OF_SUFFIX), value=quote(output)), 2)
        fmt = Format(FORMAT_OF_SUFFIX[suffix])
    if same_file(output, spec.rpartition(":")[0] if ".py:" in spec else spec):
        fail(_("--output: the network is read from this file; write the results elsewhere, got {value}").format(value=quote(output)))
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        emit_network(network, settings, view._replace(fmt=fmt))
    data = text.getvalue().encode("utf-8")
    if suffix == ".svg" and fmt is Format.dot:
        dot = shutil.which("dot")
        if dot is None:
            fail(_("--output: drawing {value} needs Graphviz's dot program (apt install graphviz, brew install graphviz, or conda "
                   "install graphviz); --format dot writes the text it draws, got no dot").format(value=quote(output)))
        drawn = subprocess.run([dot, "-Tsvg"], input=data, capture_output=True, timeout=120)
        if drawn.returncode != 0:
            fail(_("--output: Graphviz's dot could not draw the graph: {what}, got {value}").format(
                what=drawn.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or "", value=quote(output)))
        data = drawn.stdout
    try:
        write_atomically(output, data)
    except OSError as error:
        fail(_("--output: cannot write the file: {what}, got {value}").format(what=say(reason(error, str(error))), value=quote(output)))


def say_lines(out, lines: list[str], width: int | None, style: str | None = None) -> None:
    """Sentences under a table, wrapped at the terminal's edge (off a terminal, at PROSE_COLUMNS)."""
    from ..render.fit import wrap

    for line in lines:
        for piece in wrap(line, width or PROSE_COLUMNS):
            out.print(piece, markup=False, highlight=False, style=style, soft_wrap=True)

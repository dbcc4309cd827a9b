"""`convcalc compare`: two or more designs side by side, each figure with its ratio to the first."""

from __future__ import annotations

import sys

import typer

from ..core.errors import ConvcalcError
from ..core.messages import _
from .group import app
from .options import (CONVENTION_HELP, LANG_OPTION, Lang, complete_spec, fail, input_shape, load_network,
                      parse_assignments)
from .options import NetFormat as Format
from .output import can_print, console, fit_width, print_wide, write_lines

FORMATS = (Format.table, Format.json, Format.csv, Format.markdown)


@app.command(epilog=CONVENTION_HELP)
def compare(
    designs: list[str] = typer.Argument(..., metavar="DESIGN...", autocompletion=complete_spec, help="Two or more designs: what convcalc net takes (a bundled name, a file, -) or a quoted layer: 'layer --in 56 --cin 32 --cout 64 --k 3 --p 1'."),
    size: str = typer.Option(None, "--input", "--in", help="The input of every design: 32x56x56 (C×H×W); a quoted layer without --in and --cin takes it too."),
    assignments: list[str] = typer.Option(None, "--set", help="Give every network design an argument: --set classes=10 (repeatable)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs, FLOPs and activation memory."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format: table, json, csv or markdown."),
    wide: bool = typer.Option(False, "--wide", help="Every column at its full width, even past the terminal's edge."),
    explain: bool = typer.Option(False, "--explain", help="Write each ratio as its layers' sums, and the multiply-adds in the first design's symbols where they cancel (1/C_o + 1/K²)."),
    lang: Lang = LANG_OPTION,
):
    """Parameters, MACs, memory, output shape and receptive field of designs side by side, with the ratio to and
    the difference from the first.

    Example: convcalc compare separable 'layer --cout 64 --k 3 --p 1' --input 32x56x56

    Example: convcalc compare resnet18 resnet50 --set classes=10
    """
    from ..core.comparison import compare as compare_reports
    from ..core.network import Settings, analyze
    from ..render import compare as render

    if len(designs) < 2:
        fail(_("DESIGN: compare takes two or more designs, got {count}").format(count=len(designs)), 2)
    if fmt not in FORMATS:
        fail(_("--format: compare writes table, json, csv or markdown, got {value}").format(value=fmt.value), 2)
    shape = input_shape(size)
    arguments = parse_assignments(assignments or [])
    settings = Settings(batch=batch, flops_per_mac=flops_per_mac)
    reports = []
    try:
        for design in designs:
            network = quoted_layer(design, shape) if is_quoted_layer(design) else load_network(design, shape, arguments)
            reports.append(analyze(network, settings))
    except ConvcalcError as error:
        fail(error)
    comparison = compare_reports(designs, reports)
    steps = render.explanation(comparison) if explain else []
    if fmt is Format.json:
        data = render.as_dict(comparison)
        if explain:
            data["explanation"] = steps
        import json

        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=not can_print("×")) + "\n")
        return
    if fmt is Format.csv:
        sys.stdout.write(render.to_csv(comparison))
        return
    if fmt is Format.markdown:
        sys.stdout.write(render.to_markdown(comparison))
        write_lines(steps)
        return
    width = fit_width(wide)
    out = console(width)
    shown, under = render.table(comparison, width)
    print_wide(out, shown)  # off a terminal, or with --wide, as wide as it needs: nothing cut
    write_lines(under + render.legend_lines(comparison) + steps, fit_width())


LAYER_ONLY = ("size", "cin", "cout", "k", "s", "p", "p_total", "d", "groups", "no_bias", "op", "output_padding", "out",
              "normalized", "dims", "ceil")


def quoted_layer(text: str, shape):
    """A design written as `layer …`: the layer command's own flags, read by its own parser; without --in and --cin
    it takes --input's C×H×W."""
    from ..core.errors import quote
    from ..core.network import LayerNode, Network
    from . import layer as layer_command
    from .group import read_flags, split_words

    words = split_words(text, "DESIGN")
    params, beyond = read_flags(layer_command.layer, words[1:], "DESIGN", text, LAYER_ONLY)
    if beyond:
        fail(_("DESIGN: a quoted layer takes the layer's own flags; give the others to compare, got {value}").format(
            value=quote(text)), 2)
    params = {**params, "op": layer_command.Op(params["op"])}  # click's value; typer makes the Enum later
    if shape is not None and params["size"] is None and params["cin"] is None and params["op"].value != "linear":
        params = {**params, "size": "x".join(map(str, shape[1:])), "cin": shape[0]}
    built, layer_shape, _worked_out = layer_command.build_layer(*(params[name] for name in LAYER_ONLY))
    return Network(text, layer_shape, (LayerNode(built.kind, built),))


def is_quoted_layer(design: str) -> bool:
    """`'layer --in 56 …'` rather than a network: its first word is `layer` and more follows (a file named
    layers.yaml or `layer net.yaml` that exists is a network)."""
    from pathlib import Path

    words = design.split()
    return len(words) > 1 and words[0] == "layer" and not Path(design).exists()

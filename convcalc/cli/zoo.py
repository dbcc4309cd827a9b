"""`convcalc zoo`: the bundled networks."""

from __future__ import annotations

import sys

import typer

from ..core.errors import ConvcalcError
from .group import app
from .options import LANG_OPTION, Format, Lang, fail
from .output import can_print, console, fit_width, print_wide


@app.command()
def zoo(fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
        wide: bool = typer.Option(False, "--wide", help="Every column at its full width, even past the terminal's edge."),
        lang: Lang = LANG_OPTION):
    """List the bundled networks: name, input, parameters, FLOPs at the default input, source.

    Example: convcalc zoo
    """
    from ..render import report as render
    from ..core.network import analyze
    from ..formats.spec import load
    from ..formats.zoo import bundled

    entries = []
    try:
        for path in bundled():
            network = load(path)
            entries.append((path.stem, network.name, analyze(network), network.source))
    except ConvcalcError as error:
        fail(error)
    if fmt is Format.json:
        import json

        from ..render.report import SCHEMA_VERSION

        networks = [{"name": stem, "title": title, "input_shape": list(r.input_shape), "params": r.params,
                     "macs": r.macs, "flops": r.flops, "source": source} for stem, title, r, source in entries]
        typer.echo(json.dumps({"schema_version": SCHEMA_VERSION, "networks": networks}, indent=2, ensure_ascii=not can_print("×")))
    elif fmt is Format.csv:
        sys.stdout.write(render.zoo_csv(entries))
    elif fmt is Format.markdown:
        sys.stdout.write(render.zoo_markdown(entries))
    else:
        width = fit_width(wide)
        print_wide(console(width), render.zoo_table(entries, width))

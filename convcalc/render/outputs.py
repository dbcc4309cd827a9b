"""A network's analysis as text in the command line's formats, for the library (`convcalc.summary`):
the same writers `convcalc net` streams to standard output, collected into a string."""

from __future__ import annotations

from ..core.network import Network, Settings, walk
from . import report as render


def json_text(network: Network, settings: Settings) -> str:
    """`convcalc net … --format json`."""
    pieces: list[str] = []
    writer = render.JsonWriter(pieces.append, network.name, network.input_shape, settings)
    writer.finish(walk(network, settings, writer))
    return "".join(pieces)


def csv_text(network: Network, settings: Settings, depth: int | None = None) -> str:
    """`convcalc net … --format csv`."""
    pieces: list[str] = []
    writer = render.CsvWriter(pieces.append, settings, depth)
    writer.total(walk(network, settings, writer), None)
    return "".join(pieces)


def markdown_report(network: Network, settings: Settings, depth: int | None = None) -> str:
    """`convcalc net … --format markdown`: the table, the totals and the warnings."""
    table = render.TableRows(depth)
    report = walk(network, settings, table)
    lines = render.warning_lines(report, False)
    return render.to_markdown(report, table, False, None, False) + "".join(f"{line}\n" for line in lines)


def rich_tables(network: Network, settings: Settings, width: int | None = None, depth: int | None = None):
    """The command line's table and totals, as one renderable (`rich.print(summary)`)."""
    from rich.console import Group

    table = render.TableRows(depth, collapse=True)
    report = walk(network, settings, table)
    rows, _under = render.network_table(report, table, False, False, width, False)
    return Group(rows, render.totals_table(report, None, width, False))

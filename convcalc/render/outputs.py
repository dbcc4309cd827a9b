"""A network's analysis as text in the command line's formats, for the library (`convcalc.summary`):
the same writers `convcalc net` streams to standard output, collected into a string."""

from __future__ import annotations

from ..core.network import Network, Report, Settings, walk
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
    writer = render.CsvWriter(pieces.append, settings, depth, "macs", False)
    writer.total(walk(network, settings, writer), None)
    return "".join(pieces)


def markdown_report(network: Network, settings: Settings, depth: int | None = None) -> str:
    """`convcalc net … --format markdown`: the table, the totals and the warnings."""
    table = render.TableRows(depth)
    report = walk(network, settings, table)
    lines = render.warning_lines(report, False)
    return render.to_markdown(report, table, False, None, False) + "".join(f"{line}\n" for line in lines)


def rich_tables(network: Network, settings: Settings, width: int | None = None):
    """The command line's table and totals, as one renderable (`rich.print(summary)`)."""
    from rich.console import Group

    table = render.TableRows(None, collapse=True)
    report = walk(network, settings, table)
    rows, _under = render.network_table(report, table, False, False, width, False)
    return Group(rows, render.totals_table(report, None, width, False))


def html_table(report: Report) -> str:
    """A notebook's view: the layers as an HTML table (a block's rows indented under it), then the totals.
    Names are escaped; nothing is fetched."""
    from html import escape

    from ..core.formulas import fmt_shape
    from ..core.messages import _

    head = "".join(f"<th>{escape(_(h))}</th>" for h in ("layer", "type", "output", "params", "MACs"))
    body = []
    for row in report.rows:
        pad = f' style="padding-left:{0.3 + 1.2 * row.depth:.1f}em"' if row.depth else ""
        weight = "" if row.leaf else ' style="font-weight:600"'
        body.append(f"<tr{weight}><td{pad}>{escape(row.name)}</td><td>{escape(render.kind_name(row.kind))}</td>"
                    f"<td>{fmt_shape(row.output_shape)}</td><td>{row.params:,}</td><td>{row.macs:,}</td></tr>")
    totals = (f"<p>{escape(report.name)}: {fmt_shape(report.input_shape)} → {fmt_shape(report.output_shape)} · "
              f"{escape(_('parameters'))} {report.params:,} · MACs {report.macs:,}</p>")
    return (f'<div class="convcalc">{totals}<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')

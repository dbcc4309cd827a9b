"""`convcalc net … --format html`: one self-contained page — its style, script and charts inline,
nothing fetched — that opens offline, reads on a phone and prints: the totals and conventions, bars
of FLOPs, parameters and memory per layer, the receptive field against depth with the input's size
marked, the memory alive across the forward pass with its peak marked, the layers (sortable, a
block's layers folded under it) and the warnings. Every text is the reader's language."""

from __future__ import annotations

from html import escape
from math import prod

from ..core.formulas import fmt_shape
from ..core.messages import _
from ..core.network import Collect, Network, Report, Row, Settings, walk
from .report import convention, field_text, figure, human, kind_name, totals_rows, warning_lines


class PageRows(Collect):
    """Every row, and after each layer the bytes alive and the peak so far."""

    def __init__(self):
        super().__init__()
        self.alive: list[tuple[int, int, int]] = []  # (row index, bytes alive, peak so far)

    def live(self, alive: int, peak: int) -> None:
        self.alive.append((len(self.rows) - 1, alive, peak))


STYLE = """
§{--ink:#1d232b;--dim:#66707c;--line:#d9dee4;--warn:#a86a00;font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",
"PingFang SC",sans-serif;color:var(--ink);margin:0 auto;max-width:1100px;padding:16px}§ *{box-sizing:border-box}
§ h1{font-size:1.5em;margin:.2em 0}§ h2{font-size:1.15em;margin:1.4em 0 .5em}§ .sub,§ .note{color:var(--dim)}§ .scroll{overflow-x:auto}
§ table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
§ th,§ td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
§ th:nth-child(-n+3),§ td:nth-child(-n+3){text-align:left}§ #layers th{cursor:pointer;position:sticky;top:0;background:#fff}
§ #layers tr.block td{font-weight:600}§ #layers button{border:0;background:none;cursor:pointer;font:inherit;padding:0 .3em 0 0}
§ .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
§ figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}§ figcaption{font-weight:600;margin-bottom:4px}
§ svg{width:100%;height:auto;display:block}§ svg text{font-size:11px;fill:var(--dim)}§ .warn{color:var(--warn)}
@media print{§ button{display:none}§ #layers th{position:static}§ figure,§ tr{break-inside:avoid}§{max-width:none}}
"""  # §: the element the report lives in (the page's body, or a notebook cell's div), so nothing around it is restyled

SCRIPT = """
document.querySelectorAll('#layers th').forEach(function(th,col){th.addEventListener('click',function(){
var body=document.querySelector('#layers tbody'),rows=Array.prototype.slice.call(body.rows),up=th.dataset.up!=='1';
document.querySelectorAll('#layers th').forEach(function(o){o.dataset.up=''});th.dataset.up=up?'1':'';
rows.sort(function(a,b){var x=a.cells[col].dataset.v,y=b.cells[col].dataset.v;if(x===undefined){x=a.cells[col].textContent;y=b.cells[col].textContent}
else{x=+x;y=+y}return (x<y?-1:x>y?1:0)*(up?1:-1)});rows.forEach(function(r){if(col>0){r.hidden=false}body.appendChild(r)})})});
document.querySelectorAll('#layers button').forEach(function(b){b.addEventListener('click',function(e){e.stopPropagation();
var tr=b.closest('tr'),open=b.textContent==='▾';b.textContent=open?'▸':'▾';
document.querySelectorAll('#layers tr[data-in~="'+tr.dataset.i+'"]').forEach(function(r){r.hidden=open;
var c=r.querySelector('button');if(c){c.textContent=open?'▸':'▾'}})})});
"""


def bars(values: list[int], labels: list[str], colour: str, unit: str) -> str:
    """One bar per layer, in order, scaled to the largest; each bar's title gives its layer and value."""
    width, height = 600, 120
    top = max(values) or 1
    step = width / max(len(values), 1)
    rects = "".join(f'<rect x="{i * step:.2f}" y="{height - v / top * height:.2f}" width="{max(step - .3, .3):.2f}" '
                    f'height="{v / top * height:.2f}"><title>{escape(label)}: {figure(v)} {unit}</title></rect>'
                    for i, (v, label) in enumerate(zip(values, labels)) if v)
    largest = _("largest: {value}").format(value=human(top))
    return (f'<svg viewBox="0 -14 {width} {height + 14}" role="img"><g fill="{colour}">{rects}</g>'
            f'<text x="0" y="-3">{escape(largest)} {unit}</text></svg>')


def curve(values: list[float], mark_y: float | None, mark_label: str, mark_x: int | None, top_label: str) -> str:
    """A line over the layers; a dashed level (`mark_y`) or a dot at one layer (`mark_x`) marked."""
    width, height = 600, 140
    top = max([*values, mark_y or 0]) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - v / top * height:.1f}" for i, v in enumerate(values))
    extra = ""
    if mark_y is not None:
        y = height - mark_y / top * height
        extra += (f'<line x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8833b" stroke-dasharray="5 4"/>'
                  f'<text x="{width}" y="{y - 4:.1f}" text-anchor="end">{escape(mark_label)}</text>')
    if mark_x is not None:
        x, y = mark_x * step, height - values[mark_x] / top * height
        extra += (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#d8833b"/>'
                  f'<text x="{min(x + 6, width - 4):.1f}" y="{max(y - 6, 10):.1f}" text-anchor="{"end" if x > width * .7 else "start"}">'
                  f'{escape(mark_label)}</text>')
    return (f'<svg viewBox="0 -14 {width} {height + 14}" role="img"><polyline points="{points}" fill="none" stroke="#3b7dd8" '
            f'stroke-width="2"/>{extra}<text x="0" y="-3">{escape(top_label)}</text></svg>')


def field_size(row: Row, input_size: int) -> float:
    return input_size if row.field.full or not row.field.axes else float(row.field.axes[0][0])


def layer_rows(rows: list[Row], fpm: int) -> str:
    """The table's rows: each names the blocks it lies in (data-in), so a block's button folds them."""
    out, chain = [], []  # the blocks open above this row: (index, depth)
    for i, row in enumerate(rows):
        while chain and chain[-1][1] >= row.depth:
            chain.pop()
        inside = " ".join(str(index) for index, _depth in chain)
        parent = rows[chain[-1][0]].name + "." if chain else ""
        name = row.name[len(parent):] if parent and row.name.startswith(parent) else row.name  # under its block, its own part
        toggle = "<button>▾</button>" if not row.leaf else ""
        indent = f' style="padding-left:{0.5 + row.depth * 1.1:.1f}em"' if row.depth else ""
        out.append(f'<tr data-i="{i}" data-in="{inside}"{" class=block" if not row.leaf else ""}>'
                   f'<td data-v="{i}">{i + 1}</td><td{indent} title="{escape(row.name)}">{toggle}{escape(name)}</td><td>{escape(kind_name(row.kind))}</td>'
                   f'<td data-v="{prod(row.output_shape)}">{fmt_shape(row.output_shape)}</td><td data-v="{row.params}">{figure(row.params)}</td>'
                   f'<td data-v="{row.macs * fpm}">{figure(row.macs * fpm)}</td><td data-v="{row.memory_bytes}">{figure(row.memory_bytes)}</td>'
                   f'<td>{escape(field_text(row.field))}</td></tr>')
        if not row.leaf:
            chain.append((i, row.depth))
    return "".join(out)


def to_html(network: Network, settings: Settings, lang: str = "en", fragment: bool = False) -> str:
    import convcalc

    page = PageRows()
    report: Report = walk(network, settings, page)
    rows = [r for r in page.rows if r is not None]
    leaves = [r for r in rows if r.leaf]
    fpm = settings.flops_per_mac
    names = [r.name for r in leaves]
    input_size = network.input_shape[1] if len(network.input_shape) > 1 else 1
    alive = [a for _, a, _ in page.alive]
    peak_at = next((k for k, (_, _, peak) in enumerate(page.alive) if peak == report.inference_peak_bytes), None)
    charts = [
        (_("FLOPs per layer"), bars([r.macs * fpm for r in leaves], names, "#3b7dd8", "")),
        (_("parameters per layer"), bars([r.params for r in leaves], names, "#3ba776", "")),
        (_("output memory per layer"), bars([r.memory_bytes for r in leaves], names, "#d8833b", "B")),
        (_("receptive field by depth"), curve([field_size(r, input_size) for r in leaves], input_size,
                                               _("input {size}").format(size=input_size), None, _("size (first axis)"))),
        (_("memory alive across the forward pass"), curve(alive, None, _("peak {bytes} B").format(bytes=figure(report.inference_peak_bytes)),
                                                            peak_at, _("bytes alive after each layer"))),
    ]
    totals = "".join(f"<tr><th>{escape(name)}</th><td>{escape(exact)}</td><td>{escape(readable)}</td><td class=note>{escape(note)}</td></tr>"
                     for name, exact, readable, note, _style in totals_rows(report))
    warnings = "".join(f"<li>{escape(line.strip())}</li>" for line in warning_lines(report, True))
    heads = [_("#"), _("layer"), _("type"), _("output"), _("params"), _("FLOPs"), _("memory (B)"), _("RF")]
    title = escape(report.name)
    subtitle = _("input {input} → output {output}").format(input=fmt_shape(report.input_shape), output=fmt_shape(report.output_shape))
    if network.source:
        subtitle += " · " + network.source
    sections = [(_("Totals"), f"<div class=scroll><table class=totals>{totals}</table></div><p class=note>{escape(convention(report))}</p>"),
                (_("Where the cost goes"), "<div class=charts>" + "".join(
                    f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>" for caption, svg in charts) + "</div>"),
                (_("Layers"), "<div class=scroll><table id=layers><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads)
                 + f"</tr></thead><tbody>{layer_rows(rows, fpm)}</tbody></table></div>")]
    if warnings:
        sections.append((_("Warnings"), f"<ul class=warn>{warnings}</ul>"))
    body = (f"<header><h1>{title}</h1><p class=sub>{escape(subtitle)}</p></header>"
            + "".join(f"<section><h2>{escape(heading)}</h2>{content}</section>" for heading, content in sections)
            + f"<footer class=note><p>convcalc {convcalc.__version__}</p></footer>")
    if fragment:  # a notebook's cell: the style scoped to the report's div, the script left out (a notebook may not run it)
        return f'<div class="convcalc-report" lang="{"zh-CN" if lang == "zh" else "en"}"><style>{STYLE.replace("§", ".convcalc-report")}</style>{body}</div>'
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} — convcalc</title>'
            f'<style>{STYLE.replace("§", "body")}</style></head><body>{body}<script>{SCRIPT}</script></body></html>\n')

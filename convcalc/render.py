"""Everything a user reads: rich tables, JSON, CSV and Markdown. It formats; it computes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .explain import explain, field_chain, num
from .formulas import KINDS, elementwise, fmt_shape
from .network import Report, Row

if TYPE_CHECKING:
    from fractions import Fraction

ELEMENTWISE = {kind for kind, entry in KINDS.items() if entry.cost is elementwise}
CONVENTION = (
    "FLOPs = MACs × {fpm}: {meaning}. Only convolutions and linear layers cost MACs; bias adds, pooling, "
    "normalisation, activations and merges count 0. Parameters are learnable weights and biases; "
    "buffers (BatchNorm running statistics) are counted apart. {batch}"
)


def convention(report: Report) -> str:
    fpm = report.settings.flops_per_mac
    meaning = "one multiply-add counts as one FLOP" if fpm == 1 else "a multiply-add counts as two FLOPs (multiply and add)"
    batch = "Figures are per sample." if report.settings.batch == 1 else f"MACs, FLOPs and activations are for a batch of {report.settings.batch}."
    return CONVENTION.format(fpm=fpm, meaning=meaning, batch=batch)


def plain(value: int | Fraction) -> int | float:
    if isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else float(value)


def plain_half(twice: int | Fraction) -> int | float:
    """twice/2 as a JSON number, without building a Fraction for odd ints (100,000 rows)."""
    return (twice // 2 if twice % 2 == 0 else twice / 2) if isinstance(twice, int) else plain(twice / 2)


def field_dict(row_or_report) -> dict:
    axes = row_or_report.field.axes
    return {
        "size": [plain(a.size) for a in axes],
        "jump": [plain(a.jump) for a in axes],
        "start": [plain_half(a.twice_start) for a in axes],
        "full": row_or_report.field.full,
        "exact": row_or_report.field.exact,
    }


def layer_dict(row: Row, fpm: int) -> dict:
    return {
        "name": row.name, "type": row.kind, "input_shape": list(row.input_shape), "output_shape": list(row.output_shape),
        "params": row.params, "buffers": row.buffers, "macs": row.macs, "flops": row.macs * fpm,
        "memory_bytes": row.memory_bytes, "receptive_field": {**field_dict(row), "covers_input": row.covers},
        "warnings": list(row.warnings),
    }


def single_dict(report: Report) -> dict:
    """The `convcalc layer` JSON contract."""
    row = report.leaves[0]
    fpm = report.settings.flops_per_mac
    return {
        "op": row.kind, "input_shape": list(row.input_shape), "output_shape": list(row.output_shape),
        "params": row.params, "buffers": row.buffers, "macs": row.macs, "flops": row.macs * fpm,
        "receptive_field": field_dict(row), "warnings": list(row.warnings),
    }


def network_dict(report: Report) -> dict:
    """The `convcalc net` JSON contract."""
    fpm = report.settings.flops_per_mac
    return {
        "name": report.name, "input_shape": list(report.input_shape), "output_shape": list(report.output_shape),
        "conventions": {"flops_per_mac": fpm, "batch": report.settings.batch, "dtype": report.settings.dtype},
        "layers": [layer_dict(r, fpm) for r in report.leaves],
        "total": {
            "params": report.params, "buffers": report.buffers, "macs": report.macs, "flops": report.flops,
            "param_bytes": report.param_bytes, "activation_bytes": report.activation_bytes,
        },
        "receptive_field": field_dict(report),
        "warnings": list(report.warnings),
    }


def to_json(report: Report, single: bool) -> str:
    """Indented JSON, each layer on one line: readable, and written by the C encoder, which
    indentation would otherwise turn off (100,000 layers in a fraction of a second)."""
    import json

    if single:
        return json.dumps(single_dict(report), indent=2, ensure_ascii=False)
    data = network_dict(report)
    layers = data.pop("layers")
    head = json.dumps(data, indent=2, ensure_ascii=False)
    rows = ",\n".join("    " + json.dumps(layer, ensure_ascii=False) for layer in layers)
    return f'{head[:-2]},\n  "layers": [\n{rows}\n  ]\n}}'



def field_text(row: Row) -> str:
    if row.field.full:
        return "full"
    if not row.field.axes:
        return "—"
    text = "×".join(num(a.size) for a in row.field.axes)
    return text if row.field.exact else f"≤{text}"


CSV_HEADER = ["name", "type", "input_shape", "output_shape", "params", "buffers", "macs", "flops", "memory_bytes", "rf_size", "rf_jump", "rf_start", "rf_full", "covers_input"]


def to_csv(report: Report, rows: list[Row]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    fpm = report.settings.flops_per_mac
    for r in rows:
        writer.writerow([
            r.name, r.kind, fmt_shape(r.input_shape), fmt_shape(r.output_shape), r.params, r.buffers, r.macs,
            r.macs * fpm, r.memory_bytes, "×".join(num(a.size) for a in r.field.axes),
            "×".join(num(a.jump) for a in r.field.axes), "×".join(num(a.start) for a in r.field.axes),
            str(r.field.full).lower(), str(r.covers).lower(),
        ])
    return out.getvalue()


def to_markdown(report: Report, rows: list[Row]) -> str:
    fpm = report.settings.flops_per_mac
    lines = ["| layer | type | output | params | FLOPs | receptive field |", "|---|---|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {'  ' * r.depth}{r.name} | {r.kind} | {fmt_shape(r.output_shape)} | {r.params:,} | {r.macs * fpm:,} | {field_text(r)} |")
    lines.append(f"| **total** | | {fmt_shape(report.output_shape)} | {report.params:,} | {report.flops:,} | |")
    return "\n".join(lines) + "\n\n" + convention(report) + "\n"


def human(value: int, unit: str = "") -> str:
    for factor, prefix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value} {unit}".rstrip()


def human_bytes(value: int) -> str:
    for factor, prefix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.2f} {prefix}"
    return f"{value} B"


BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(share: float, width: int = 8) -> str:
    eighths = round(share * width * 8)
    return ("█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")).ljust(width)


def visible_rows(report: Report, depth: int | None) -> list[Row]:
    """Rows down to `depth`; a block at that depth stands for its hidden layers."""
    return [r for r in report.rows if depth is None or r.depth <= depth]


def folded(rows: list[Row]) -> list[tuple[Row, str, str]]:
    """Rows with a short name (relative to the enclosing block, which the indent shows) and a
    type label; an activation, dropout or identity that follows a layer joins its row
    ("conv + relu"): it changes no figure the table shows."""
    out: list[tuple[Row, str, str]] = []
    parents: dict[int, str] = {}
    for row in rows:
        if row.leaf and row.kind in ELEMENTWISE and out and out[-1][0].leaf and out[-1][0].output_shape == row.output_shape:
            out[-1] = (out[-1][0], out[-1][1], f"{out[-1][2]} + {row.kind}")
            continue
        parent = parents.get(row.depth - 1, "")
        short = row.name[len(parent) + 1:] if parent and row.name.startswith(parent + ".") else row.name
        if not row.leaf:
            parents[row.depth] = row.name
        out.append((row, short, row.kind))
    return out


def network_table(report: Report, rows: list[Row]):
    from rich.table import Table

    fpm = report.settings.flops_per_mac
    total = report.macs or 1
    from rich import box

    table = Table(title=f"{report.name} — input {fmt_shape(report.input_shape)}", caption=convention(report),
                  caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("layer", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("output", justify="right", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("FLOPs", justify="right", no_wrap=True)
    table.add_column("RF", justify="right", no_wrap=True)
    table.add_column("all", justify="center", min_width=3)
    table.add_column("FLOPs share", no_wrap=True)
    for r, short, label in folded(rows):
        share = r.macs / total
        style = None if r.leaf else "bold"
        table.add_row(
            "  " * r.depth + short, label, fmt_shape(r.output_shape), f"{r.params:,}", f"{r.macs * fpm:,}",
            field_text(r), "✓" if r.covers else "", f"{bar(share)}{share:6.1%}" if r.macs else "", style=style,
        )
    return table


def totals_table(report: Report):
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column()
    table.add_row("parameters", f"{report.params:,}", human(report.params))
    table.add_row("buffers", f"{report.buffers:,}", "running statistics, not learned")
    table.add_row("MACs", f"{report.macs:,}", human(report.macs))
    table.add_row("FLOPs", f"{report.flops:,}", human(report.flops, "FLOP"))
    table.add_row("parameter memory", f"{report.param_bytes:,} B", f"{human_bytes(report.param_bytes)} ({report.settings.dtype})")
    table.add_row("activation memory", f"{report.activation_bytes:,} B", f"{human_bytes(report.activation_bytes)} (every layer's output kept)")
    rf = report.field
    if rf.axes:
        table.add_row("receptive field", "full" if rf.full else field_text(report.rows[-1]), "of the last layer")
    return table


def warning_lines(report: Report, most: int = 8) -> list[str]:
    """The network's warnings under its table, the first `most` of them."""
    warnings = report.warnings
    if not warnings:
        return []
    lines = [f"warnings ({len(warnings)}):"] + [f"  {w}" for w in warnings[:most]]
    if len(warnings) > most:
        lines.append(f"  … and {len(warnings) - most} more (--format json lists them all)")
    return lines


def layer_table(report: Report):
    from rich.table import Table

    row = report.leaves[0]
    fpm = report.settings.flops_per_mac
    table = Table(title=f"{row.kind} layer", caption=convention(report), caption_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    field = row.field
    table.add_row("input shape", fmt_shape(row.input_shape))
    table.add_row("output shape", fmt_shape(row.output_shape))
    table.add_row("parameters", f"{row.params:,}" + (f" (+ {row.buffers:,} buffers)" if row.buffers else ""))
    table.add_row("MACs", f"{row.macs:,}")
    table.add_row("FLOPs", f"{row.macs * fpm:,}")
    if field.full:
        table.add_row("receptive field", "the whole input")
    elif field.axes:
        table.add_row("receptive field", f"size {'×'.join(num(a.size) for a in field.axes)}, jump {'×'.join(num(a.jump) for a in field.axes)}, "
                      f"start {'×'.join(num(a.start) for a in field.axes)}" + ("" if field.exact else " (a bound)"))
    for warning in row.warnings:
        table.add_row("warning", warning, style="yellow")
    return table


def explanation(report: Report, rows: list[Row]) -> list[str]:
    lines = []
    for r in rows:
        if r.leaf:
            lines.append(f"{r.name} ({r.kind}): {fmt_shape(r.input_shape)} → {fmt_shape(r.output_shape)}")
            lines += [f"  {step}" for step in explain(r, report.settings)]
    if len(report.leaves) > 1:
        lines += field_chain(list(report.rows))
    return lines



def zoo_table(entries):
    from rich.table import Table

    table = Table(title="bundled networks (convcalc net NAME)")
    table.add_column("name", no_wrap=True)
    table.add_column("network")
    table.add_column("input", justify="right")
    table.add_column("params", justify="right")
    table.add_column("FLOPs", justify="right")
    table.add_column("source")
    for stem, title, report, source in entries:
        table.add_row(stem, title, fmt_shape(report.input_shape), human(report.params), human(report.flops), source)
    return table

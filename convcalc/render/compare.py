"""`convcalc compare` written out: a table, JSON, CSV, Markdown, and the ratio's working (--explain)."""

from __future__ import annotations

import json
from fractions import Fraction

from ..core.comparison import Comparison, symbolic_ratio
from ..core.formulas import fmt_shape
from ..core.messages import N_, _
from ..core.errors import printable
from .report import field_dict, field_text, figure, human, human_bytes, markdown_text

LABELS = {  # figure → what the table calls it (the net table's words)
    "params": N_("parameters"), "macs": N_("MACs"), "flops": N_("FLOPs"), "param_bytes": N_("parameter memory"),
    "activation_bytes": N_("activation memory"), "inference_peak_bytes": N_("inference peak"),
    "training_bytes": N_("training memory"), "output_elements": N_("output shape"), "field_size": N_("receptive field"),
}


def ratio_text(ratio: Fraction | None) -> str:
    """A ratio to the first design: 0.127×, 2×, 1.5×; — where the first is 0."""
    if ratio is None:
        return "—"
    if ratio.denominator == 1:
        return f"{ratio.numerator:,}×"
    value = float(ratio)
    return f"{value:.3g}×" if value >= 0.001 else f"{value:.2e}×"


def difference_text(difference: int, key: str) -> str:
    sign = "+" if difference > 0 else "−" if difference < 0 else "±"
    return f"{sign}{figure(abs(difference))}" + (" B" if key.endswith("_bytes") else "")


def value_text(comparison: Comparison, key: str, index: int) -> str:
    report = comparison.reports[index]
    if key == "output_elements":
        return fmt_shape(report.output_shape)
    if key == "field_size":
        return field_text(report.field)
    value = comparison.figures[[f.key for f in comparison.figures].index(key)].values[index]
    return f"{figure(value)} B" if key.endswith("_bytes") else figure(value)


def readable(value: int, key: str) -> str:
    return human_bytes(value) if key.endswith("_bytes") else human(value)


def table_columns(comparison: Comparison):
    """figure | each design | its ratio and difference to the first (for two designs; ratios only beyond)."""
    from .fit import Column

    keys = [f.key for f in comparison.figures]
    columns = [Column("", [_(LABELS[k]) for k in keys])]
    letters = [chr(ord("A") + i) if i < 26 else str(i + 1) for i in range(len(comparison.names))]
    for index in range(len(comparison.names)):
        columns.append(Column(letters[index], [value_text(comparison, k, index) for k in keys], "right"))
        if index:
            ratios = [ratio_text(f.ratios[index - 1]) for f in comparison.figures]
            columns.append(Column(f"{letters[index]}/A", ratios, "right"))
            if len(comparison.names) == 2:
                columns.append(Column(f"{letters[index]} − A", [difference_text(f.differences[index - 1], f.key)
                                                                 for f in comparison.figures], "right", drop=1))
    return columns, letters


def table(comparison: Comparison, width: int | None):
    from .fit import fit
    from .report import rich_table

    columns, _letters = table_columns(comparison)
    return rich_table(fit(columns, width), _("compared with A"), None, [None] * len(comparison.figures))


def legend_lines(comparison: Comparison) -> list[str]:
    letters = table_columns(comparison)[1]
    import shlex

    return [f"{letter} = {printable(shlex.quote(name))}" for letter, name in zip(letters, comparison.names)]  # as it is typed


def as_dict(comparison: Comparison) -> dict:
    designs = []
    for index, (name, report) in enumerate(zip(comparison.names, comparison.reports)):
        entry = {"name": name, "network": report.name, "input_shape": list(report.input_shape),
                 "output_shape": list(report.output_shape), "receptive_field": field_dict(report)}
        for compared in comparison.figures:
            entry[compared.key] = compared.values[index]
        if index:
            entry["against_first"] = {c.key: {"ratio": float(c.ratios[index - 1]) if c.ratios[index - 1] is not None else None,
                                              "ratio_exact": str(c.ratios[index - 1]) if c.ratios[index - 1] is not None else None,
                                              "difference": c.differences[index - 1]} for c in comparison.figures}
        designs.append(entry)
    return {"schema_version": 2, "type": "compare", "designs": designs}


def to_json(comparison: Comparison, ensure_ascii: bool) -> str:
    return json.dumps(as_dict(comparison), indent=2, ensure_ascii=ensure_ascii) + "\n"


def to_csv(comparison: Comparison) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "design", "name", "value", "ratio_to_first", "difference_from_first"])
    for compared in comparison.figures:
        for index, name in enumerate(comparison.names):
            ratio = compared.ratios[index - 1] if index else Fraction(1)
            writer.writerow([compared.key, chr(ord("A") + index) if index < 26 else index + 1, name, compared.values[index],
                             "" if ratio is None else str(ratio), compared.differences[index - 1] if index else 0])
    return out.getvalue()


def to_markdown(comparison: Comparison) -> str:
    columns, letters = table_columns(comparison)
    lines = ["| " + " | ".join(c.header or _("figure") for c in columns) + " |",
             "|" + "|".join("---" if c.justify == "left" else "---:" for c in columns) + "|"]
    for row in range(len(comparison.figures)):
        lines.append("| " + " | ".join(c.cells[row].replace("|", "\\|") for c in columns) + " |")
    legend = [f"- {letter} = {markdown_text(name)}" for letter, name in zip(letters, comparison.names)]
    return "\n".join(lines) + "\n\n" + "\n".join(legend) + "\n"


def explanation(comparison: Comparison) -> list[str]:
    """Each later design's parameters and multiply-adds over the first's, as sums of their layers, then as a
    fraction; the multiply-adds also in the first design's symbols where they cancel (separable: 1/C_o + 1/K²)."""
    lines = []
    letters = table_columns(comparison)[1]
    base = comparison.first
    for index in range(1, len(comparison.names)):
        report = comparison.reports[index]
        letter = letters[index]
        for key, label in (("params", _("parameters")), ("macs", _("MACs"))):
            ours = [r for r in report.leaves if getattr(r, key)]
            theirs = [r for r in base.leaves if getattr(r, key)]
            top = " + ".join(figure(getattr(r, key)) for r in ours[:12]) + (" + …" if len(ours) > 12 else "") or "0"
            bottom = " + ".join(figure(getattr(r, key)) for r in theirs[:12]) + (" + …" if len(theirs) > 12 else "") or "0"
            total_a, total_b = getattr(base, key), getattr(report, key)
            line = f"{label} {letter}/A = ({top}) / ({bottom}) = {figure(total_b)} / {figure(total_a)}"
            if total_a:
                ratio = Fraction(total_b, total_a)
                line += f" = {ratio}" + (f" ≈ {float(ratio):.4g}" if ratio.denominator != 1 else "")
            lines.append(line)
        symbolic = symbolic_ratio(comparison, index)
        if symbolic is not None:
            formula, numbers, value, symbols = symbolic
            if numbers != str(value):
                formula = f"{formula} = {numbers}"
            approx = f" ≈ {float(value):.4g}" if value.denominator != 1 else ""
            lines.append(_("MACs {letter}/A, each layer of {letter} over A's C_i·C_o·K²·L² (L² = H_o·W_o): {formula} = {value}{approx} "
                           "({symbols})").format(letter=letter, formula=formula, value=value, approx=approx, symbols=symbols))
    return lines

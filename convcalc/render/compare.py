"""`convcalc compare` written out: a table, JSON, CSV, Markdown, and the ratio's working (--explain)."""

from __future__ import annotations

from fractions import Fraction

from ..core.comparison import Comparison, symbolic_ratio
from ..core.formulas import fmt_shape
from ..core.messages import N_, _
from ..core.errors import printable
from .fit import compact
from .report import SCHEMA_VERSION, field_dict, field_text, figure, markdown_text

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


def value_text(comparison: Comparison, key: str, index: int, rounded: bool = False) -> str:
    """A design's figure as the table writes it: exact, or rounded to six characters where the table must narrow."""
    report = comparison.reports[index]
    if key == "output_elements":
        return fmt_shape(report.output_shape)
    if key == "field_size":
        return field_text(report.field)
    value = comparison.figures[[f.key for f in comparison.figures].index(key)].values[index]
    text = compact(value) if rounded else figure(value)
    return f"{text} B" if key.endswith("_bytes") else text


def letters(comparison: Comparison) -> list[str]:
    """What the table calls each design: A, B, … (past Z, its number)."""
    return [chr(ord("A") + i) if i < 26 else str(i + 1) for i in range(len(comparison.names))]


def table_columns(comparison: Comparison):
    """figure | each design | its ratio and difference to the first (for two designs; ratios only beyond)."""
    from .fit import Column

    keys = [f.key for f in comparison.figures]
    columns = [Column("", [_(LABELS[k]) for k in keys], shrink=10, end=True)]
    letters_ = letters(comparison)
    for index in range(len(comparison.names)):
        columns.append(Column(letters_[index], [value_text(comparison, k, index) for k in keys], "right",
                              compact=[value_text(comparison, k, index, rounded=True) for k in keys]))
        if index:
            ratios = [ratio_text(f.ratios[index - 1]) for f in comparison.figures]
            columns.append(Column(f"{letters_[index]}/A", ratios, "right"))
            if len(comparison.names) == 2:
                columns.append(Column(f"{letters_[index]} − A", [difference_text(f.differences[index - 1], f.key)
                                                                  for f in comparison.figures], "right", drop=1))
    return columns


def table(comparison: Comparison, width: int | None):
    """The table fitted to `width` columns, and the line under it saying what was rounded or shortened to fit."""
    from .fit import fit
    from .report import rich_table

    fitted = fit(table_columns(comparison), width)
    note = fitted.footer(width) if width is not None else None
    return rich_table(fitted, _("compared with A"), None, [None] * len(comparison.figures)), [note] if note else []


def legend_lines(comparison: Comparison) -> list[str]:
    import shlex

    return [f"{letter} = {printable(shlex.quote(name))}" for letter, name in zip(letters(comparison), comparison.names)]  # as typed


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
    return {"schema_version": SCHEMA_VERSION, "type": "compare", "designs": designs}


def to_csv(comparison: Comparison) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "design", "name", "value", "ratio_to_first", "difference_from_first"])
    for compared in comparison.figures:
        for index, (letter, name) in enumerate(zip(letters(comparison), comparison.names)):
            ratio = compared.ratios[index - 1] if index else Fraction(1)
            writer.writerow([compared.key, letter, name, compared.values[index],
                             "" if ratio is None else str(ratio), compared.differences[index - 1] if index else 0])
    return out.getvalue()


def to_markdown(comparison: Comparison) -> str:
    columns = table_columns(comparison)
    lines = ["| " + " | ".join(c.header or _("figure") for c in columns) + " |",
             "|" + "|".join("---" if c.justify == "left" else "---:" for c in columns) + "|"]
    for row in range(len(comparison.figures)):
        lines.append("| " + " | ".join(c.cells[row].replace("|", "\\|") for c in columns) + " |")
    legend = [f"- {letter} = {markdown_text(name)}" for letter, name in zip(letters(comparison), comparison.names)]
    return "\n".join(lines) + "\n\n" + "\n".join(legend) + "\n"


def explanation(comparison: Comparison) -> list[str]:
    """Each later design's parameters and multiply-adds over the first's, as sums of their layers, then as a
    fraction; the multiply-adds also in the first design's symbols where they cancel (separable: 1/C_o + 1/K²)."""
    lines = []
    base = comparison.first
    figures = {f.key: f for f in comparison.figures}

    def terms(report, key: str) -> str:
        rows = [r for r in report.leaves if getattr(r, key)]
        return " + ".join(figure(getattr(r, key)) for r in rows[:12]) + (" + …" if len(rows) > 12 else "") or "0"

    for index, letter in enumerate(letters(comparison)[1:], start=1):
        report = comparison.reports[index]
        for key, label in (("params", _("parameters")), ("macs", _("MACs"))):
            ratio = figures[key].ratios[index - 1]
            line = (f"{label} {letter}/A = ({terms(report, key)}) / ({terms(base, key)}) = "
                    f"{figure(figures[key].values[index])} / {figure(figures[key].values[0])}")
            if ratio is not None:
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

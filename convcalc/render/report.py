"""Everything a user reads: rich tables, JSON, CSV and Markdown. It formats; it computes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import json_safe, printable, safe_lines
from ..core.messages import N_, Note, _, say
from ..core.formulas import KINDS, elementwise, fmt_shape, local_window, num
from ..core.network import Report, Row, Sink

if TYPE_CHECKING:
    from fractions import Fraction

    from ..core.figures import LayerFigures

# what joins the line of the layer before it ("conv + relu"); an identity keeps its own line: it is a path of its
# own (a shortcut, a detection head's output), not part of the layer it follows
ELEMENTWISE = {kind for kind, entry in KINDS.items() if entry.cost is elementwise} - {"identity"}
CONVENTION = N_(
    "FLOPs = MACs × {fpm}: {meaning}. Only convolutions, linear layers and attention cost MACs; bias adds, pooling, "
    "normalisation, activations and merges count 0. Parameters are learnable weights and biases; "
    "buffers (BatchNorm running statistics) are counted apart. {batch}"
)


def convention(report: Report) -> str:
    fpm = report.settings.flops_per_mac
    meaning = _("one multiply-add counts as one FLOP") if fpm == 1 else _("a multiply-add counts as two FLOPs (multiply and add)")
    batch = (_("Figures are per sample.") if report.settings.batch == 1
             else _("MACs, FLOPs and activations are for a batch of {batch}.").format(batch=report.settings.batch))
    return _(CONVENTION).format(fpm=fpm, meaning=meaning, batch=batch)


def short_convention(report: Report) -> str:
    """The counting rules in one line, for a table that has room for no more."""
    fpm = report.settings.flops_per_mac
    meaning = _("one multiply-add counts as one FLOP") if fpm == 1 else _("a multiply-add counts as two FLOPs (multiply and add)")
    batch = _("per sample") if report.settings.batch == 1 else _("for a batch of {batch}").format(batch=report.settings.batch)
    return _("FLOPs = MACs × {fpm} ({meaning}); parameters are weights and biases; {batch}.").format(
        fpm=fpm, meaning=meaning, batch=batch)


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


def totals_dict(report: Report) -> dict:
    """The `total` of the JSON contract: every memory figure under its own name (README, Memory)."""
    s, train = report.settings, report.training
    total = {"params": report.params, "trainable_params": report.trainable_params, "frozen_params": report.frozen_params,
             "buffers": report.buffers, "macs": report.macs, "flops": report.flops,
             "backward_macs": report.backward_macs, "training_step_macs": report.macs + report.backward_macs,
             "param_bytes": report.param_bytes,
             "activation_bytes": report.activation_bytes, "course_activation_bytes": report.course_activation_bytes,
             "saved_activation_bytes": report.saved_activation_bytes, "inference_peak_bytes": report.inference_peak_bytes,
             "training_bytes": train.total,
             "training": {"optimizer": s.optimizer, "dtype": s.dtype, "amp": s.amp, **train._asdict()}}
    if s.device is not None:
        total["time_s"] = float(f"{report.time_s:.6g}")
        total["device"] = {"name": s.device.name, "peak_flops": s.device.peak_flops, "bandwidth": s.device.bandwidth,
                           "source": s.device.source}
    if report.unknown_ops:
        total["partial"] = list(report.unknown_ops)  # operations without a formula: their MACs are not in the totals
    return total


# layer kinds as the notes name them, for the reader (JSON and CSV keep the kinds as written); a
# kind not listed — an activation (ReLU, tanh are names in the notes too), a block — is shown as it is
KIND_NAMES = {kind: text for kind, text in (
    ("conv", N_("conv")), ("convT", N_("convT")), ("maxpool", N_("maxpool")), ("avgpool", N_("avgpool")),
    ("adaptive_avgpool", N_("adaptive_avgpool")), ("adaptive_maxpool", N_("adaptive_maxpool")),
    ("global_avgpool", N_("global_avgpool")), ("global_maxpool", N_("global_maxpool")), ("linear", N_("linear")),
    ("subsample", N_("subsample")), ("batchnorm", N_("batchnorm")), ("layernorm", N_("layernorm")),
    ("groupnorm", N_("groupnorm")), ("instancenorm", N_("instancenorm")), ("flatten", N_("flatten")),
    ("dropout", N_("dropout")), ("add", N_("add")), ("concat", N_("concat")), ("multiply", N_("multiply")),
    ("upsample", N_("upsample")), ("attention", N_("attention")), ("mean", N_("mean")))}


def kind_name(kind: str) -> str:
    """A layer kind in the reader's language: `conv` is 卷积 in Chinese."""
    text = KIND_NAMES.get(kind)
    return _(text) if text is not None else kind


OP_GROUP_NAMES = {"conv": N_("conv"), "linear": N_("linear"), "attention": N_("attention"), "pool": N_("pool"), "norm": N_("norm"),
                  "activation": N_("activation"), "merge": N_("merge"), "embedding": N_("embedding"), "reshape": N_("reshape"),
                  "other": N_("other")}  # formulas.GROUPS, each named


def by_op_dict(groups: dict, report: Report) -> dict:
    fpm = report.settings.flops_per_mac
    return {group: {"layers": t.layers, "params": t.params, "macs": t.macs, "flops": t.macs * fpm, "saved_bytes": t.saved_bytes,
                    **({"time_s": float(f"{t.time_s:.6g}")} if report.settings.device else {})} for group, t in groups.items()}


def by_op_rows(groups: dict, report: Report, rounded: bool = False) -> list[list[str]]:
    total = report.macs or 1
    show = compact_figure if rounded else figure
    return [[_(OP_GROUP_NAMES[group]), figure(t.layers), show(t.params), show(t.macs * report.settings.flops_per_mac),
             f"{t.macs / total:.1%}", f"{figure(t.saved_bytes)} B"] for group, t in groups.items()]


def compact_figure(value: int) -> str:
    from .fit import compact

    return compact(value)


def by_op_headers() -> list[str]:
    return [_("operator"), _("layers"), _("params"), _("FLOPs"), _("FLOPs share"), _("saved for backward")]


def by_op_table(groups: dict, report: Report, width: int | None = None):
    from .fit import Column, fit

    rows, rounded = by_op_rows(groups, report), by_op_rows(groups, report, rounded=True)
    headers = by_op_headers()
    columns = [Column(h, [r[i] for r in rows], "left" if i == 0 else "right", drop=1 if i == 5 else None,
                      compact=[r[i] for r in rounded] if i in (2, 3) else None) for i, h in enumerate(headers)]
    return rich_table(fit(columns, width), _("per operator"), None, [None] * len(rows))


def by_op_markdown(groups: dict, report: Report) -> str:
    lines = ["| " + " | ".join(by_op_headers()) + " |", "|---|---:|---:|---:|---:|---:|"]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in by_op_rows(groups, report)]) + "\n"


# the JSON contract's version: 2 names a layer's kind `type` in every command (1: `op` in layer and
# compute), and CSV has connections and a total row
SCHEMA_VERSION = 2


def single_dict(report: Report, figures: "LayerFigures") -> dict:
    """The `convcalc layer` JSON contract: the report's one row and its figures (core.figures.layer_figures)."""
    row = report.leaves[0]
    fpm = report.settings.flops_per_mac
    weights, columns = figures.weight_shape, figures.im2col
    return {
        "schema_version": SCHEMA_VERSION, "type": row.kind, "input_shape": list(row.input_shape), "output_shape": list(row.output_shape),
        "weight_shape": list(weights) if weights is not None else None, "macs_per_output": figures.macs_per_output,
        "fully_connected_params": figures.fully_connected_params,
        "im2col": {"groups": columns.groups, "columns": list(columns.columns), "weights": list(columns.weights)} if columns else None,
        "params": row.params, "buffers": row.buffers, "macs": row.macs, "flops": row.macs * fpm,
        **figures.counts, "connections": row.connections,
        "saved_bytes": row.saved_bytes, "backward_macs": row.backward_macs, "local_window": local(row),
        "receptive_field": {**field_dict(row), "covers_input": row.covers, "spans_input": row.field.spans(report.input_shape[1:])},
        "warnings": list(row.warnings),
    }


def local(row: Row):
    """A layer's local window for JSON: a list per axis, "full", or null (a bound, or a merge)."""
    window = local_window(row.cost) if row.cost is not None else None
    return list(window) if isinstance(window, tuple) else window


INT_ONLY = {int}
JSON_BOOL = {True: "true", False: "false"}


class JsonWriter(Sink):
    """`convcalc net --format json`, written row by row: the head, one line per leaf layer, then
    the output shape, the totals and the warnings, which are known only at the end.

    Every row of a repeated layer shares its figures, so the part of its line that holds them is
    encoded once per layer and input shape."""

    def __init__(self, write, network_name: str, input_shape, settings, ascii_only: bool = False):
        import json

        self.write, self.fpm, self.ascii_only = write, settings.flops_per_mac, ascii_only
        self.rule = settings.count
        self.input_spatial = tuple(input_shape[1:])
        self.dumps = lambda value: json_safe(json.dumps(value, ensure_ascii=ascii_only))
        self.fragments: dict[int, tuple[str, str]] = {}
        self.comma = ""
        self.last_field = (None, None, "")
        self.extra: dict = {}  # more top-level keys, written last (the explanation)
        self.device = settings.device
        conventions = {"flops_per_mac": settings.flops_per_mac, "batch": settings.batch, "dtype": settings.dtype,
                       "optimizer": settings.optimizer, "amp": settings.amp}
        write(f'{{\n  "schema_version": {SCHEMA_VERSION},\n  "name": {self.dumps(network_name)},\n  "input_shape": {self.dumps(list(input_shape))},\n'
              f'  "conventions": {self.dumps(conventions)},\n  "layers": [')

    def figures(self, row: Row) -> tuple[str, str]:
        # a layer's figures are keyed by its cost record; a merge's by what they are made of
        key = id(row.cost) if row.cost is not None else (row.kind, row.input_shape, row.output_shape, row.memory_bytes, row.warnings)
        found = self.fragments.get(key)
        if found is None:
            d = self.dumps
            found = (
                f'"type": {d(row.kind)}, "input_shape": {d(list(row.input_shape))}, "output_shape": {d(list(row.output_shape))}, '
                f'"params": {row.params}, "buffers": {row.buffers}, "macs": {row.macs}, "flops": {row.macs * self.fpm}, '
                f'"memory_bytes": {row.memory_bytes}, "connections": {row.connections}, '
                f'"local_window": {d(local(row))}',
                d(list(row.warnings)),
            )
            self.fragments[key] = found
        return found

    def leaf(self, row: Row) -> None:
        cost = row.cost
        found = self.fragments.get(id(cost)) if cost is not None else None
        figures, warnings = found if found is not None else self.figures(row)  # the fast path, then the full one
        field = row.field
        last = self.last_field
        if last[0] is field and last[1] is row.covers:  # activations share the field of the layer before them
            rf = last[2]
        else:
            flat = [v for axis in field.axes for v in axis]  # size, jump, twice the start, per axis
            if set(map(type, flat)) <= INT_ONLY:
                sizes, jumps = flat[0::3], flat[1::3]
                starts = [v >> 1 if not v & 1 else v / 2 for v in flat[2::3]]
            else:
                sizes, jumps = [plain(v) for v in flat[0::3]], [plain(v) for v in flat[1::3]]
                starts = [plain_half(v) for v in flat[2::3]]
            rf = (f'{{"size": {sizes}, "jump": {jumps}, "start": {starts}, "full": {JSON_BOOL[field.full]}, '
                  f'"exact": {JSON_BOOL[field.exact]}, "covers_input": {JSON_BOOL[row.covers]}, '
                  f'"spans_input": {JSON_BOOL[field.spans(self.input_spatial)]}}}')
            self.last_field = (field, row.covers, rf)
        name = row.name
        if not (name.isascii() and name.isprintable()) or '"' in name or "\\" in name:
            name = self.dumps(name)[1:-1]
        timing = self.timing(row) if self.device else ""
        if self.rule != "macs":
            timing += f', "counted": {row.counted}'
        self.write(f'{self.comma}\n    {{"name": "{name}", "depth": {row.depth}, {figures}, "saved_bytes": {row.saved_bytes}, '
                   f'"backward_macs": {row.backward_macs}{timing}, "receptive_field": {rf}, "warnings": {warnings}}}')
        self.comma = ","

    def repeated(self, total) -> None:
        """A top-level repeated layer's copies, summed: the `subtotals` list, written last."""
        self.extra.setdefault("subtotals", []).append({"first": total.first, "last": total.last, "count": total.count,
                                                       "params": total.params, "macs": total.macs})

    def timing(self, row: Row) -> str:
        t = row.timing
        return f', "bytes_moved": {row.bytes_moved}, "intensity": {round(t.intensity, 3)}, "time_s": {row.time_s:.6g}, "bound": "{t.bound}"'

    def finish(self, report: Report) -> None:
        d = self.dumps
        total = totals_dict(report)
        self.write(f'\n  ],\n  "output_shape": {d(list(report.output_shape))},\n  "total": {d(total)},\n'
                   f'  "receptive_field": {d(field_dict(report))},\n  "warnings": {d(list(report.warnings))}')
        if len(report.outputs) > 1:
            self.write(f',\n  "outputs": {d([list(s) for s in report.outputs])}')
        for key, value in self.extra.items():
            self.write(f',\n  {d(key)}: {d(value)}')
        self.write("\n}\n")


def field_text(field) -> str:
    if field.full:
        return _("full")
    if not field.axes:
        return "—"
    text = "×".join(num(a.size) for a in field.axes)
    return text if field.exact else f"≤{text}"


CSV_HEADER = ["name", "depth", "leaf", "type", "input_shape", "output_shape", "params", "buffers", "macs", "flops",
              "memory_bytes", "connections", "rf_size", "rf_jump", "rf_start", "rf_full", "covers_input", "saved_bytes",
              "backward_macs"]
# the network's memory totals that no layer has: blank on every row but the last, the total
CSV_TOTALS = ["param_bytes", "course_activation_bytes", "inference_peak_bytes", "training_bytes"]
EXCEL_AXES = 4  # --excel: each shape as this many columns of numbers (C, then D/H/W), blank where a shape has fewer


class CsvWriter(Sink):
    """`--format csv`, written row by row. A block's row follows its layers (its figures are their
    sums, known once they are); a last row, named `total` with depth -1, carries the network's
    totals. Quoting follows Python's csv module (only a field with a comma, quote or line break is
    quoted). For Excel (`excel`): a byte-order mark, so that it reads UTF-8, and each shape as
    separate numeric columns."""

    def __init__(self, write, settings, depth: int | None, excel: bool = False):
        self.write, self.fpm, self.depth = write, settings.flops_per_mac, depth
        self.rule, self.excel = settings.count, excel
        self.timed = settings.device is not None
        self.fragments: dict[int, str] = {}
        self.last_field = (None, None, "")
        header = list(CSV_HEADER)
        if excel:
            at = header.index("input_shape")
            header[at:at + 2] = [f"{side}_{i}" for side in ("input", "output") for i in range(1, EXCEL_AXES + 1)]
        header += (["time_s"] if self.timed else []) + (["counted"] if self.rule != "macs" else []) + CSV_TOTALS
        write(("\ufeff" if excel else "") + ",".join(header) + "\n")

    def shapes(self, before, after) -> str:
        if not self.excel:
            return f"{fmt_shape(before)},{fmt_shape(after)}"
        return ",".join(",".join(map(str, (*shape, *[""] * (EXCEL_AXES - len(shape))))) for shape in (before, after))

    def row(self, r: Row) -> None:
        if self.depth is not None and r.depth > self.depth:
            return
        cost = r.cost
        figures = self.fragments.get(id(cost)) if cost is not None else None
        if figures is None:
            figures = (f"{'true' if r.leaf else 'false'},{csv_field(r.kind)},{self.shapes(r.input_shape, r.output_shape)},"
                       f"{r.params},{r.buffers},{r.macs},{r.macs * self.fpm},{r.memory_bytes},{r.connections}")
            if cost is not None:
                self.fragments[id(cost)] = figures
        field = r.field
        last = self.last_field
        if last[0] is field and last[1] is r.covers:
            rf = last[2]
        else:
            rf = self.field(field, r.covers)
            self.last_field = (field, r.covers, rf)
        extra = f",{r.time_s:.6g}" if self.timed else ""
        extra += f",{r.counted}" if self.rule != "macs" else ""
        self.write(f"{csv_field(r.name)},{r.depth},{figures},{rf},{r.saved_bytes},{r.backward_macs}{extra},,,,\n")

    @staticmethod
    def field(field, covers: bool) -> str:
        axes = field.axes
        return (f"{'×'.join([csv_number(a.size) for a in axes])},{'×'.join([csv_number(a.jump) for a in axes])},"
                f"{'×'.join([csv_number(plain_half(a.twice_start)) for a in axes])},{JSON_BOOL[field.full]},{JSON_BOOL[covers]}")

    def total(self, report: Report, counted=None) -> None:
        """The last row: the network's totals (memory_bytes is every layer's output kept; connections
        are a layer's figure, left blank), with the memory totals only a network has."""
        shapes = self.shapes(report.input_shape, report.output_shape)
        extra = f",{report.time_s:.6g}" if self.timed else ""
        extra += f",{report.counted}" if self.rule != "macs" else ""
        covers = report.field.covers(report.output_shape[1:], report.input_shape[1:]) if report.field.axes else False
        self.write(f"total,-1,false,total,{shapes},{report.params},{report.buffers},{report.macs},{report.flops},"
                   f"{report.activation_bytes},,{self.field(report.field, covers)},"
                   f"{report.saved_activation_bytes},{report.backward_macs}{extra},{report.param_bytes},"
                   f"{report.course_activation_bytes},{report.inference_peak_bytes},{report.training.total}\n")

    def leaf(self, row: Row) -> None:
        self.row(row)

    def close(self, token, row: Row) -> None:
        self.row(row)


def csv_field(text: str) -> str:
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_number(value) -> str:
    """1234, 1.5 or 1/3: digits without separators, which a spreadsheet reads as a number."""
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return repr(value)
    if value.denominator == 1:
        return str(value.numerator)
    return repr(float(value)) if (value * 2**20).denominator == 1 else str(value)


def markdown_text(text: str) -> str:
    """A name as literal text in a Markdown table cell."""
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return printable(text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>"))


def to_markdown(report: Report, entries: "TableRows", connections: bool = False, counted=None, brief: bool = False) -> str:
    """The table's rows and totals as GitHub Markdown: every column the table shows, at full width."""
    fpm = report.settings.flops_per_mac
    total = report.macs or 1
    headers = [_("layer"), _("type"), _("output"), _("params"), _("FLOPs")] + ([_("connections")] if connections else [])
    if not brief:
        headers += [_("RF")] + ([_("time")] if report.settings.device else []) + [_("all"), _("params share"), _("FLOPs share")]
    align = ["---", "---"] + ["---:"] * (len(headers) - 2)
    if not brief:
        align[-3] = ":---:"
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    for e in entries.display():
        if e is None:
            lines.append("| " + _("… {count:,} rows not shown").format(count=entries.hidden) + " |" + " |" * (len(headers) - 1))
            continue
        cells = [f"{'&nbsp;&nbsp;' * e.row.depth}{markdown_text(e.name)}", markdown_text(e.label), fmt_shape(e.row.output_shape),
                 figure(e.params), figure(e.macs * fpm)] + ([figure(e.connections)] if connections else [])
        if not brief:
            whole = not isinstance(e, Subtotal)  # a subtotal has figures, not a field of its own
            cells += [field_text(e.row.field) if whole else ""] + ([seconds_text(e.time) if whole else ""] if report.settings.device else [])
            cells += ["✓" if e.row.covers and whole else "", f"{e.params / (report.params or 1):.1%}" if e.params else "",
                      f"{e.macs / total:.1%}" if e.macs else ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| " + _("total") + " | | | |", "|---|---:|---:|---|"]
    for name, exact, readable, note, _style in totals_rows(report, counted, brief):
        lines.append(f"| {markdown_text(name)} | {markdown_text(exact)} | {markdown_text(readable)} | {markdown_text(note)} |")
    caption = short_convention(report) if brief else convention(report)
    return "\n".join(lines) + "\n\n" + caption + "\n"


def figure(value: int) -> str:
    """1,234,567 — or 3.2e19 once a figure is too long to read digit by digit."""
    if abs(value) < 10**18:
        return f"{value:,}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def human(value: int, unit: str = "") -> str:
    if value >= 10**15:
        return f"{figure(value)} {unit}".rstrip()
    for factor, prefix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value} {unit}".rstrip()


def seconds_text(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def human_bytes(value: int) -> str:
    if value >= 2**50:
        return f"{figure(value)} B"
    for factor, prefix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.2f} {prefix}"
    return f"{value} B"


BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(share: float, width: int = 8) -> str:
    eighths = round(share * width * 8)
    return ("█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")).ljust(width)


class Entry:
    """One line of a table: a row, the activations folded into it, and how many identical rows
    it stands for (figures summed)."""

    __slots__ = ("row", "first", "last_first", "parts", "count", "params", "macs", "connections", "time", "unit", "open")

    def __init__(self, row: Row | None, open_: bool = False):
        self.row, self.first, self.last_first, self.open, self.count = row, row, row, open_, 1
        self.parts = [[row.kind, 1]] if row is not None else []
        self.params = row.params if row is not None else 0
        self.macs = row.macs if row is not None else 0
        self.connections = row.connections if row is not None else 0
        self.time = row.time_s if row is not None else 0.0
        self.unit: tuple = ()  # what makes two lines identical, fixed once the line is complete

    @property
    def label(self) -> str:
        text = " + ".join(kind_name(kind) if n == 1 else f"{kind_name(kind)} ×{n}" for kind, n in self.parts)
        return text if self.count == 1 else f"{text} (×{self.count:,})"

    @property
    def name(self) -> str:
        return self.first.name if self.count == 1 else f"{self.first.name} … {self.last_first.name}"

    def signature(self) -> tuple:
        first = self.first
        return (first.depth, first.leaf, tuple(map(tuple, self.parts)), first.input_shape, self.row.output_shape, self.params, self.macs)


class Subtotal(Entry):
    """The line under a repeated item's copies (`repeat: 3`): their figures summed."""

    __slots__ = ("total",)

    def __init__(self, row: Row, total):
        super().__init__(row)
        self.total = total
        self.params, self.macs, self.connections, self.time = total.params, total.macs, total.connections, 0.0
        self.parts = []

    @property
    def label(self) -> str:
        return _("subtotal of {count}").format(count=self.total.count)

    @property
    def name(self) -> str:
        return f"{self.total.first} … {self.total.last.rsplit('.', 1)[-1]}"


class TableRows(Sink):
    """The rows a person reads, down to `depth`: an activation, dropout or identity that follows a
    layer joins its line ("conv + relu"); with `collapse`, runs of identical lines become one
    (× N) and only the first `head` and last `tail` lines are kept, so that a table of a million
    layers prints as fast as one of ten."""

    def __init__(self, depth: int | None, collapse: bool = False, head: int = 100, tail: int = 40):
        from collections import deque

        self.depth, self.collapse, self.head = depth, collapse, head
        self.entries: list[Entry] = []
        self.tail: deque = deque(maxlen=tail)
        self.hidden = 0  # lines left out between head and tail
        self.pending: Entry | None = None
        self.last: Entry | None = None
        self.collapsed = False

    def visible(self, depth: int) -> bool:
        return self.depth is None or depth <= self.depth

    def settle(self) -> None:
        """The pending line is complete: join it to an identical previous line, or keep it."""
        entry, self.pending = self.pending, None
        if entry is None:
            return
        entry.unit = entry.signature()
        last = self.last
        if self.collapse and last is not None and not last.open and last.unit == entry.unit:
            last.count += 1
            last.params += entry.params
            last.macs += entry.macs
            last.connections += entry.connections
            last.time += entry.time
            last.row, last.last_first = entry.row, entry.first
            self.collapsed = True
            return
        self.keep(entry)

    def keep(self, entry: Entry) -> None:
        self.last = entry
        if not self.collapse or len(self.entries) < self.head:
            self.entries.append(entry)
            return
        if len(self.tail) == self.tail.maxlen:
            self.hidden += 1
        self.tail.append(entry)

    def open(self, depth: int):
        if not self.visible(depth):
            return None
        if self.depth is not None and depth == self.depth:
            return "hidden-children"  # a block whose layers are not shown: its line comes at close
        self.settle()
        entry = Entry(None, open_=True)
        self.keep(entry)
        return entry

    def close(self, token, row: Row) -> None:
        if token is None:
            return
        if token == "hidden-children":
            self.settle()
            self.pending = Entry(row)
            return
        token.row = token.first = token.last_first = row
        token.parts = [[row.kind, 1]]
        token.params, token.macs, token.connections, token.time = row.params, row.macs, row.connections, row.time_s
        token.open = False

    def leaf(self, row: Row) -> None:
        if not self.visible(row.depth):
            return
        pending = self.pending
        if (pending is not None and row.kind in ELEMENTWISE and pending.row.leaf and pending.count == 1
                and pending.row.output_shape == row.output_shape):
            if pending.parts[-1][0] == row.kind and len(pending.parts) > 1:
                pending.parts[-1][1] += 1
            else:
                pending.parts.append([row.kind, 1])
            pending.time += row.time_s
            pending.row = row  # the folded line shows the last row's field
            return
        self.settle()
        self.pending = Entry(row)

    def repeated(self, total) -> None:
        """A subtotal line under a repeated item's copies, where they are shown one by one (not collapsed)."""
        if self.collapse or not self.visible(total.depth) or self.pending is None and self.last is None:
            return
        self.settle()
        last = self.last.row
        row = last._replace(name=total.last, depth=total.depth, leaf=True, output_shape=total.output_shape)
        self.keep(Subtotal(row, total))

    def display(self) -> list[Entry | None]:
        """The lines in order; None where lines were left out."""
        self.settle()
        return self.entries + ([None] if self.hidden else []) + list(self.tail)


def short_name(entry: Entry, parents: dict[int, str]) -> str:
    """The name relative to the enclosing block's line, which the indent shows; a line break or
    other control character in it is shown escaped, as in JSON."""
    row = entry.row
    parent = parents.get(row.depth - 1, "")
    name = entry.name
    name = name[len(parent) + 1:] if parent and name.startswith(parent + ".") else name
    return printable(name)


def network_table(report: Report, entries: TableRows, connections: bool = False, timed: bool = False,
                  width: int | None = None, brief: bool = False):
    """The table of rows, fitted to `width` columns (None: as wide as it needs), and the lines
    that go under it: what was left out to fit, how many lines were not shown. Brief: names,
    shapes, parameters and FLOPs."""
    from .fit import Column, compact, fit

    fpm = report.settings.flops_per_mac
    total = report.macs or 1
    caption = short_convention(report) if brief else convention(report)
    if entries.collapsed:
        caption += _(" A line marked (×N) stands for N identical consecutive rows; its figures are their sums.")
    title = _("{name} — input {shape}").format(name=printable(report.name), shape=fmt_shape(report.input_shape))
    lines = entries.display()
    total_time = report.time_s or 1.0
    names, labels, shapes, params, flops, links, fields, times, covers, shares, bars, held = ([] for _n in range(12))
    total_params = report.params or 1
    styles = []
    parents: dict[int, str] = {}
    for e in lines:
        if e is None:
            for column in (names, labels, shapes, params, flops, links, fields, times, covers, shares, bars, held):
                column.append("")
            names[-1] = "…"
            styles.append("dim")
            continue
        r = e.row
        subtotal = isinstance(e, Subtotal)
        share = e.time / total_time if timed else e.macs / total
        short = short_name(e, parents)
        if not r.leaf:
            parents[r.depth] = e.first.name
        names.append("  " * r.depth + short)
        labels.append(e.label)
        shapes.append(fmt_shape(r.output_shape))
        params.append(e.params)
        flops.append(e.macs * fpm)
        links.append(e.connections)
        fields.append("" if subtotal else field_text(r.field))
        times.append(seconds_text(e.time) if timed and not subtotal else "")
        covers.append("✓" if r.covers and not subtotal else "")
        shown = e.time if timed else e.macs
        shares.append(f"{share:6.1%}" if shown else "")
        bars.append(f"{bar(share)}{share:7.1%}" if shown else "")
        held.append(f"{e.params / total_params:.1%}" if e.params else "")
        styles.append("italic" if subtotal else None if r.leaf else "bold")

    def figures(header: str, values: list, **extra) -> Column:
        exact = [figure(v) if v != "" else "" for v in values]
        return Column(header, exact, "right", compact=[compact(v) if v != "" else "" for v in values], **extra)

    share_header = _("time share") if timed else _("FLOPs share")
    columns = [Column(_("layer"), names, shrink=12), Column(_("type"), labels, shrink=10), Column(_("output"), shapes, "right"),
               figures(_("params"), params), figures(_("FLOPs"), flops)]
    if connections:
        columns.append(figures(_("connections"), links))
    if not brief:
        columns.append(Column(_("RF"), fields, "right", drop=4))
        if timed:
            columns.append(Column(_("time"), times, "right", drop=5))
        columns.append(Column(_("all"), covers, "center", drop=3))
        columns.append(Column(_("params share"), held, "right", drop=1))
        columns.append(Column(share_header, bars, drop=2, hides=_("bars"),
                              instead=Column(share_header, shares, "right", drop=6)))
    fitted = fit(columns, width)
    under = []
    if entries.hidden:
        under.append(_("(… {count:,} lines not shown; --format csv or json lists every row)").format(count=entries.hidden))
    note = fitted.footer(width) if width is not None else None
    if note:
        under.append(note)
    return rich_table(fitted, title, caption, styles), under


def rich_table(fitted, title: str, caption: str | None, styles: list, header: bool = True):
    """A fitted table as rich draws it: every width fixed, nothing wrapped."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title) if title else None, caption=Text(caption) if caption else None, caption_justify="left",
                  box=box.SIMPLE_HEAD if header else box.SIMPLE, pad_edge=False, show_header=header, show_edge=header)
    for column in fitted.columns:
        table.add_column(column.header, justify=column.justify, no_wrap=True, width=column.width, overflow="crop")
    for index, style in enumerate(styles):
        table.add_row(*(Text(column.cells[index]) for column in fitted.columns), style=style)
    return table


def count_dict(counted) -> dict:
    from ..core.counting import RULES

    parts = {"multiplications": counted.multiplications, "additions": counted.additions} if counted.rule == "mul-add" else {}
    return {"rule": counted.rule, "what": RULES[counted.rule], "total": counted.total, **parts}


def count_text(counted) -> str:
    from ..core.counting import RULES

    return _("counted as {rule}: {total} ({what})").format(rule=counted.rule, total=figure(counted.total), what=_(RULES[counted.rule]))


def totals_rows(report: Report, counted=None, brief: bool = False) -> list[tuple[str, str, str, str, str | None]]:
    """The network's totals, one each: name, exact figure, readable figure, what it means, style.
    Brief: parameters, MACs and FLOPs."""
    rows: list[tuple[str, str, str, str, str | None]] = []

    def add(name: str, exact: str, readable: str = "", note: str = "", style: str | None = None) -> None:
        rows.append((name, exact, readable, note, style))

    frozen = (_("{trainable} trainable, {frozen} frozen").format(trainable=figure(report.trainable_params), frozen=figure(report.frozen_params))
              if report.frozen_params else "")
    add(_("parameters"), figure(report.params), human(report.params), frozen)
    if not brief:
        add(_("buffers"), figure(report.buffers), "", _("running statistics"))
    add(_("MACs"), figure(report.macs), human(report.macs))
    add(_("FLOPs"), figure(report.flops), human(report.flops, "FLOP"))
    if not brief:
        add(_("backward MACs"), figure(report.backward_macs), human(report.backward_macs),
            _("a training step: {step}").format(step=human(report.macs + report.backward_macs)))
        add(_("parameter memory"), f"{figure(report.param_bytes)} B", human_bytes(report.param_bytes), report.settings.dtype)
        add(_("activation memory"), f"{figure(report.activation_bytes)} B", human_bytes(report.activation_bytes),
            _("every layer's output kept"))
        add(_("course count"), f"{figure(report.course_activation_bytes)} B", human_bytes(report.course_activation_bytes),
            _("input + allocated outputs"))
        add(_("saved for backward"), f"{figure(report.saved_activation_bytes)} B", human_bytes(report.saved_activation_bytes),
            _("kept by autograd"))
        add(_("inference peak"), f"{figure(report.inference_peak_bytes)} B", human_bytes(report.inference_peak_bytes),
            _("most alive at once"))
        train = report.training
        add(_("training memory"), f"{figure(train.total)} B", human_bytes(train.total),
            _("lower bound, with {optimizer}").format(optimizer=report.settings.optimizer))
    if report.settings.device is not None:
        add(_("time"), seconds_text(report.time_s), "", _("roofline bound on {device}, an estimate").format(device=report.settings.device.name))
    if report.unknown_ops:
        add(_("partial"), "", "", _("MACs and FLOPs leave out the operations convcalc has no formula for: {ops}").format(
            ops=", ".join(say(op) for op in report.unknown_ops)), "yellow")
    if len(report.outputs) > 1:
        add(_("outputs"), str(len(report.outputs)), "", _("{shapes}; the rows follow the first").format(
            shapes=", ".join(fmt_shape(s) for s in report.outputs[:8]) + (", …" if len(report.outputs) > 8 else "")))
    if counted is not None:
        from ..core.counting import RULES

        what = _(RULES[counted.rule])
        if counted.rule == "mul-add":
            what = _("{multiplications} multiplications + {additions} additions").format(
                multiplications=figure(counted.multiplications), additions=figure(counted.additions))
        add(_("counted as {rule}").format(rule=counted.rule), figure(counted.total), human(counted.total), what)
    if report.field.axes and not brief:
        add(_("receptive field"), field_text(report.field), "", _("of the last layer"))
    return rows


def totals_table(report: Report, counted=None, width: int | None = None, brief: bool = False):
    """The totals, one line each; on `width` columns what they mean is cut short first."""
    from .fit import Column, fit

    rows = totals_rows(report, counted, brief)
    columns = [Column("", [r[0] for r in rows]), Column("", [r[1] for r in rows], "right"), Column("", [r[2] for r in rows], "right"),
               Column("", [r[3] for r in rows], shrink=20, end=True, last=True)]
    fitted = fit(columns, width)
    return rich_table(fitted, "", None, [r[4] for r in rows], header=False)


def warning_lines(report: Report, every: bool = False, most: int = 8) -> list[str]:
    """The network's warnings under its table: the same warning on several layers is written once,
    with how many more layers it is on (every: each one written out)."""
    warnings = report.warnings
    if not warnings:
        return []
    lines = [_("warnings ({count}):").format(count=len(warnings))]
    if every:
        return lines + [f"  {printable(say(w))}" for w in warnings]
    groups: dict[str, list] = {}
    for w in warnings:
        inner = w.values.get("warning") if isinstance(w, Note) and "layer" in w.values else None
        groups.setdefault(getattr(inner, "template", None) or str(w), []).append(w)
    for index, group in enumerate(groups.values()):
        if index == most:
            lines.append(_("  … and {count} more (--warnings lists them all)").format(
                count=sum(len(g) for g in list(groups.values())[most:])))
            break
        lines.append(f"  {printable(say(group[0]))}")
        if len(group) > 1:
            from .fit import shorten

            others = [shorten(printable(str(w.values["layer"])), 24) for w in group[1:4]] + (["…"] if len(group) > 4 else [])
            lines.append(_("  … and {count} more layers with this warning ({names}); --warnings lists each").format(
                count=len(group) - 1, names=", ".join(others)))
    return lines


def layer_table(report: Report, figures: "LayerFigures", backward: bool = False):
    from rich.table import Table
    from rich.text import Text

    row = report.leaves[0]
    fpm = report.settings.flops_per_mac
    table = Table(title=Text(_("{kind} layer").format(kind=kind_name(row.kind))), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    field = row.field
    batch = report.settings.batch
    batched = (lambda shape: fmt_shape((batch, *shape))) if batch > 1 else fmt_shape  # N×C×H×W once there is a batch
    table.add_row(_("input shape"), batched(row.input_shape))
    table.add_row(_("output shape"), batched(row.output_shape))
    weights = figures.weight_shape
    if weights is not None:
        table.add_row(_("weight shape"), fmt_shape(weights))
    table.add_row(_("parameters"), figure(row.params) + (_(" (+ {count} buffers)").format(count=figure(row.buffers)) if row.buffers else ""))
    table.add_row(_("MACs"), figure(row.macs))
    per = figures.macs_per_output
    if per is not None:
        table.add_row(_("MACs per output value"), figure(per))
    table.add_row(_("FLOPs"), figure(row.macs * fpm))
    counts = figures.counts
    if counts["multiplications"]:
        table.add_row(_("multiplications + additions"), f"{figure(counts['multiplications'])} + {figure(counts['additions'])}")
    elif counts["comparisons"]:
        table.add_row(_("comparisons"), figure(counts["comparisons"]))
    elif counts["divisions"]:
        table.add_row(_("additions + divisions"), f"{figure(counts['additions'])} + {figure(counts['divisions'])}")
    if backward:
        table.add_row(_("backward MACs"), figure(row.backward_macs))
        table.add_row(_("saved for backward"), f"{figure(row.saved_bytes)} B")
    if field.full:
        table.add_row(_("receptive field"), _("the whole input"))
    elif field.axes:
        table.add_row(_("receptive field"), _("size {size}, jump {jump}, start {start}").format(
            size="×".join(num(a.size) for a in field.axes), jump="×".join(num(a.jump) for a in field.axes),
            start="×".join(num(a.start) for a in field.axes)) + ("" if field.exact else _(" (a bound)")))
    for warning in row.warnings:
        table.add_row(_("warning"), Text(say(warning)), style="yellow")
    return table


def explanation(report: Report, rows: list[Row], parts=None) -> list[str]:
    """Every leaf's worked solution, the parts chosen (teach.parts.PARTS; None: the course's
    default), the receptive field in closed form, and a legend of the symbols used."""
    from ..teach.explain import explain, field_chain
    from ..teach.parts import DEFAULT_PARTS

    parts = DEFAULT_PARTS if parts is None else parts
    lines = []
    for r in rows:
        if r.leaf:
            lines.append(f"{r.name} ({kind_name(r.kind)}): {fmt_shape(r.input_shape)} → {fmt_shape(r.output_shape)}")
            lines += [f"  {step}" for step in explain(r, report.settings, parts)]
    if len(report.leaves) > 1 and "rf" in parts:
        lines += field_chain(list(report.rows))
    key = legend(lines)
    return [safe_lines(line) for line in lines + ([key] if key else [])]


# the symbols of the worked solutions, with CS231n's names where they differ
SYMBOLS = ((("(M ",), N_("M input size (CS231n: W)")), (("(M ", "K_h", "K_w", "K)"), N_("K kernel size (F)")),
           (("(M ", "− P)"), N_("P padding")), (("(M ", "j·S ="), N_("S stride")),
           (("K̂ =", "(K̂ − 1)"), N_("K̂ = D·(K − 1) + 1 the dilated kernel")),
           (("L_",), N_("L output size")), (("C_",), N_("C_i, C_o channels in and out")), (("r = ",), N_("r receptive field")),
           (("j = ",), N_("j jump (the product of the strides)")),
           (("start = ", "c = c"), N_("start the centre of the first output's field, on the input")),
           (("+ w·j",), N_("w the span of the inputs one output reads, less one")),
           (("·σ",), N_("σ how far the next output's window moves on the input (1/S for a transposed convolution)")),
           (("δ)",), N_("δ where the first output's window begins, relative to the input's first position")),
           (("n_o",), N_("n_o the input maps output map o reads (its row of the connection table)")),
           (("C_o·b",), N_("b 1 with a bias, 0 without")))


def legend(lines: list[str]) -> str:
    """One line naming the symbols that the lines above use (a size formula uses M, K, P and S)."""
    text = "\n".join(lines)
    used = [_(meaning) for markers, meaning in SYMBOLS if any(m in text for m in markers)]
    return _("symbols: {symbols}").format(symbols=_("; ").join(used)) if used else ""


ZOO_COLUMNS = (N_("name"), N_("network"), N_("input"), N_("params"), N_("FLOPs"), N_("source"))


def zoo_rows(entries) -> list[tuple[str, ...]]:
    return [(stem, title, fmt_shape(report.input_shape), human(report.params), human(report.flops), source)
            for stem, title, report, source in entries]


def zoo_table(entries, width: int | None = None):
    from .fit import Column, fit

    rows = zoo_rows(entries)
    columns = [Column(_(header), [r[i] for r in rows], "right" if header in ("input", "params", "FLOPs") else "left",
                      drop={"source": 1, "network": 2}.get(header), shrink=12 if header == "network" else None)
               for i, header in enumerate(ZOO_COLUMNS)]
    fitted = fit(columns, width)
    note = fitted.footer(width) if width is not None else None
    return rich_table(fitted, _("bundled networks (convcalc net NAME)"), note, [None] * len(rows))


def zoo_csv(entries) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "network", "input_shape", "params", "flops", "source"])
    for stem, title, report, source in entries:
        writer.writerow([stem, title, fmt_shape(report.input_shape), report.params, report.flops, source])
    return out.getvalue()


def zoo_markdown(entries) -> str:
    lines = ["| " + " | ".join(map(_, ZOO_COLUMNS)) + " |", "|---|---|---:|---:|---:|---|"]
    lines += ["| " + " | ".join(markdown_text(c) for c in cells) + " |" for cells in zoo_rows(entries)]
    return "\n".join(lines) + "\n"

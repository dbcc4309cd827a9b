"""`convcalc.summary`: a network's analysis in one call, from a script or a notebook.

It takes what `convcalc net` takes — a bundled network's name, a description (a path or its text), an
ONNX, Darknet or Ultralytics file, `file.py:Name` — and a PyTorch module itself, and returns a
`Summary`: short when printed, the command line's table in a notebook or under `rich.print`, and the
command line's JSON, CSV and Markdown on request.
"""

from __future__ import annotations

from .core.errors import ConvcalcError, quote
from .core.messages import Note
from .core.network import Network, Report, Row, Settings, analyze
from .render.report import human


class Summary:
    """What convcalc works out for one network.

    `repr` is a few lines (name, input → output, totals); a notebook shows the table; `rich.print`
    draws the command line's table. `params`, `macs`, `flops`, `output_shape` and the other totals are
    the report's (`.report`); `.rows` are its rows, a block's before its layers.

    >>> s = summary("lenet5")
    >>> s.params, s.macs
    (60850, 326520)
    >>> s.output_shape
    (10,)
    """

    def __init__(self, network: Network, report: Report, depth: int | None = None):
        self.network, self.report, self.depth = network, report, depth  # depth: blocks below it collapse in the text formats

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.report, name)  # params, macs, output_shape, inference_peak_bytes, …

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.report.rows

    @property
    def flops(self) -> int:
        return self.report.macs * self.report.settings.flops_per_mac

    def __repr__(self) -> str:
        from .core.formulas import fmt_shape

        r = self.report
        return (f"<convcalc.Summary {r.name}: {fmt_shape(r.input_shape)} → {fmt_shape(r.output_shape)}, "
                f"{r.params:,} parameters, {human(r.macs)} MACs, {len([x for x in r.rows if x.leaf]):,} layers>")

    def to_json(self) -> str:
        """The command line's JSON (`convcalc net … --format json`), the same schema."""
        from .render.outputs import json_text

        return json_text(self.network, self.report.settings)

    def to_csv(self) -> str:
        """The command line's CSV (`--format csv`): a row per layer and block, and a total row."""
        from .render.outputs import csv_text

        return csv_text(self.network, self.report.settings, self.depth)

    def to_markdown(self) -> str:
        """The command line's Markdown (`--format markdown`): the table and the totals."""
        from .render.outputs import markdown_report

        return markdown_report(self.network, self.report.settings, self.depth)

    def to_pandas(self):
        """The rows as a pandas DataFrame (pandas is not a requirement of convcalc: install it to use this)."""
        try:
            import pandas
        except ImportError:
            raise ConvcalcError(Note("to_pandas: needs pandas (pip install pandas), got none")) from None
        import csv
        import io

        return pandas.DataFrame(list(csv.DictReader(io.StringIO(self.to_csv()))))

    def __rich_console__(self, console, options):
        from .render.outputs import rich_tables

        yield rich_tables(self.network, self.report.settings, options.max_width, self.depth)

    def _repr_html_(self) -> str:
        from .render.html import to_html
        from .render.i18n import current_language

        return to_html(self.network, self.report.settings, current_language, fragment=True)

    def to_html(self) -> str:
        """The command line's HTML report (`--format html`): one page that opens offline."""
        from .render.html import to_html
        from .render.i18n import current_language

        return to_html(self.network, self.report.settings, current_language)


def summary(model, input_size=None, *, batch: int = 1, dtype: str = "fp32", optimizer: str = "adam", amp: str | None = None,
            flops_per_mac: int = 1, device: str | None = None, arguments: dict | None = None, fuse: bool = False,
            lang: str | None = None, depth: int | None = None) -> Summary:
    """The analysis of `model`: a bundled network's name, a description (a path, or its YAML text), an
    ONNX, Darknet (.cfg) or Ultralytics file, `file.py:Name` or `module:name`, or a PyTorch
    `nn.Module`. `input_size` is C×H×W (no batch: `batch=` gives it), or None for the model's own.
    The options are the command line's: `device` ("a100", or "PEAK_FLOPS,BANDWIDTH") adds time bounds,
    `arguments` are a description's `args:` (`--set`), `lang` ("en", "zh") the language of what the
    summary writes from then on, `depth` collapses deeper blocks in its table, CSV and Markdown.

    >>> summary("vgg16", (3, 32, 32), arguments={"classes": 10}).output_shape
    (10,)
    >>> summary("input: [1, 28, 28]\\nlayers:\\n  - conv: {c: 6, k: 5}\\n").params
    156
    """
    from .formats.sources import open_network

    shape = tuple(input_size) if input_size is not None else None
    if shape is not None and not all(type(v) is int and v > 0 for v in shape):
        raise ConvcalcError(Note("input_size: positive integers (C, H, W), got {value}", value=quote(list(shape))))
    if lang is not None:
        from .render.i18n import LANGUAGES, install

        if lang not in LANGUAGES:
            raise ConvcalcError(Note("lang: must be one of {items}, got {value}", items=", ".join(LANGUAGES), value=quote(lang)))
        install(lang)
    timing = None
    if device is not None:
        from .core.memory import DEVICES
        from .core.memory import device as named_device

        timing = named_device(device, amp or dtype) if isinstance(device, str) and len(device) <= 100 else None
        if timing is None:
            raise ConvcalcError(Note("device: must be one of {names}, or peak FLOP/s and bandwidth in bytes/s such as 19.5e12,1.555e12, "
                                     "got {value}", names=", ".join(DEVICES), value=quote(device)))
    settings = Settings(batch=batch, dtype=dtype, optimizer=optimizer, amp=amp, flops_per_mac=flops_per_mac, device=timing)
    settings.check()
    network = open_network(model, shape, dict(arguments or {}), fuse)
    if depth is not None and (type(depth) is not int or depth < 0):
        raise ConvcalcError(Note("depth: a whole number from 0, got {value}", value=quote(depth)))
    return Summary(network, analyze(network, settings), depth)

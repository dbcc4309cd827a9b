"""Standard output: the console tables print on, ASCII stand-ins for a terminal that cannot show
×, and what happens when the reader of a pipe goes away."""

from __future__ import annotations

import os
import sys

from ..core.errors import reason
from ..core.messages import _


# what a terminal that cannot show a character prints instead
ASCII = {"×": "x", "—": "-", "–": "-", "…": "...", "≤": "<=", "≥": ">=", "→": "->", "←": "<-", "✓": "y", "·": "*",
         "⌊": "floor(", "⌋": ")", "⌈": "ceil(", "⌉": ")", "Σ": "sum", "∏": "prod", "²": "^2", "̂": "^", "−": "-",
         "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "#", "▍": "#", "▎": "#", "▏": "#", "½": "1/2", "≈": "~"}


def ascii_fallback(error: UnicodeEncodeError):
    text = error.object[error.start:error.end]
    return "".join(ASCII.get(c, "?") for c in text), error.end


def can_print(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def prepare_streams() -> None:
    """A terminal or pipe that cannot encode ×, box characters or bars gets ASCII stand-ins."""
    import codecs

    codecs.register_error("convcalc-ascii", ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                "×█─".encode(stream.encoding or "ascii")
            except (UnicodeEncodeError, LookupError):
                stream.reconfigure(errors="convcalc-ascii")


JUPYTER_COLUMNS = 80  # a notebook's output area: `!convcalc` runs on a pipe, with no terminal to ask
PROSE_COLUMNS = 120  # off a terminal, where sentences wrap


def fit_width(wide: bool = False) -> int | None:
    """The columns a table must fit: the terminal's, COLUMNS when set, a notebook's; None (as wide
    as it needs, nothing cut or wrapped) off a terminal or with --wide."""
    if wide:
        return None
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and 0 < len(columns) < 6 and int(columns) >= 20:
        return int(columns)
    try:
        if sys.stdout.isatty():
            return max(os.get_terminal_size(sys.stdout.fileno()).columns, 20)
    except (OSError, ValueError, AttributeError):
        pass
    if any(name in os.environ for name in ("JPY_PARENT_PID", "JPY_SESSION_NAME")):
        return JUPYTER_COLUMNS
    return None


def console(width: int | None = None):
    """The console tables print on, `width` columns wide (prose wraps there); a table wider than
    it is printed whole (print_wide)."""
    from rich.console import Console

    class Quiet(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 when the reader goes (`| head`); it has what it wanted: 0
            try:
                super().on_broken_pipe()  # quiets the console and points standard output at /dev/null
            except SystemExit:
                pass
            raise SystemExit(0)

    return Quiet(highlight=False, emoji=False, width=width or fit_width() or PROSE_COLUMNS)


def print_wide(out, table) -> None:
    """A table wider than the console is printed as wide as it is, never wrapped or cut."""
    from rich.measure import Measurement

    needed = Measurement.get(out, out.options.update_width(10_000), table).minimum
    if needed > out.width:
        out.width = needed
    out.print(table)


def write_lines(lines: list[str], width: int | None = None) -> None:
    """Lines of prose; on a terminal of `width` columns, a long one wraps at a space, its
    continuation indented under the line's own indent."""
    if not lines:
        return
    if width is not None:
        from ..render.fit import wrap

        lines = [piece for line in lines for piece in wrap(line, width)]
    sys.stdout.write("\n".join(lines) + "\n")


def output_failed(error: OSError) -> int:
    """Standard output broke (a closed pipe, a full disk): say so once, and keep Python from
    saying it again when it flushes at exit."""
    import errno

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    if error.errno == errno.EPIPE:  # the reader has gone (`| head`): it has what it wanted, as with `set -o pipefail`
        return 0
    from ..core.errors import quote

    message = _("output: cannot write the results: {reason}, got {value}").format(
        reason=reason(error, str(error)), value=quote(getattr(sys.stdout, "name", "stdout")))
    print(_("Error: {message}").format(message=message), file=sys.stderr)
    return 1


def colour_drawing(fmt) -> bool:
    """A drawing is coloured for a terminal's table, never in a file or a pipe (nor with NO_COLOR set)."""
    return getattr(fmt, "value", fmt) == "table" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def print_drawing(out, drawing: list[str]) -> None:
    """Its sentences wrap at the terminal's edge; its grid never does (colour markup, if any, is rich's)."""
    width = fit_width()
    for line in drawing:
        if line.startswith("  "):
            out.print(line, highlight=False, soft_wrap=True)
        else:
            write_lines([line], width)

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


def console():
    from rich.console import Console

    class Quiet(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 when the reader goes (`| head`); it has what it wanted: 0
            try:
                super().on_broken_pipe()  # quiets the console and points standard output at /dev/null
            except SystemExit:
                pass
            raise SystemExit(0)

    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        return Quiet(highlight=False, emoji=False)
    return Quiet(highlight=False, emoji=False, width=120)


def print_wide(out, table) -> None:
    """A table on a terminal too narrow for its figures is printed as wide as they need (the
    terminal wraps it) rather than with figures cut or columns dropped."""
    from rich.measure import Measurement

    needed = Measurement.get(out, out.options.update_width(10_000), table).minimum
    if needed > out.width:
        out.width = needed
    out.print(table)


def write_lines(lines: list[str]) -> None:
    if lines:
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

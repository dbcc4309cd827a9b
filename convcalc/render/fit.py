"""Tables that fit the terminal: on N columns no line is longer than N and every row stays one
line. What gives way, in order: the columns marked to drop (in their stated order), then the
names, shortened from the middle, then the figures, rounded (138,357,544 → 138.4M). Off a
terminal nothing gives way (width None)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.cells import cell_len

from ..core.messages import _, joined

GAP = 3  # between two columns: a space of the box and a space of padding on each side
EDGES = 2  # the box's space at each end of a line


@dataclass
class Column:
    header: str
    cells: list[str]
    justify: str = "left"
    drop: int | None = None  # its place in the order in which columns give way (1 first); None: always shown
    shrink: int | None = None  # the narrowest it may be shortened to; None: never shortened
    end: bool = False  # shortened at its end (a sentence) rather than in the middle (a name)
    compact: list[str] | None = None  # the same figures, rounded
    last: bool = False  # left out when even shortened it does not fit (a table's notes)
    instead: "Column | None" = None  # what takes its place when it gives way (a share without its bars)
    hides: str = ""  # how the footer names what went, when not the header
    width: int = field(default=0, init=False)

    def measure(self) -> int:
        self.width = max([cell_len(c) for c in self.cells] + [cell_len(self.header)])
        return self.width


@dataclass
class Fitted:
    columns: list[Column]
    hidden: list[str]  # the headers of the columns left out
    shortened: bool = False
    rounded: bool = False

    def footer(self, width: int) -> str | None:
        """One line naming what was left out to fit, or None when nothing was."""
        changes = []
        if self.hidden:
            changes.append(_("{columns} hidden").format(columns=joined(self.hidden)))
        if self.shortened:
            changes.append(_("names shortened"))
        if self.rounded:
            changes.append(_("figures rounded"))
        if not changes:
            return None
        return _("(to fit {width} columns: {changes}; --wide shows everything)").format(width=width, changes=_("; ").join(changes))


def table_width(columns: list[Column]) -> int:
    return sum(c.width for c in columns) + GAP * (len(columns) - 1) + EDGES


def fit(columns: list[Column], width: int | None) -> Fitted:
    """The columns to show and the width of each, cells shortened or rounded where needed."""
    for c in columns:
        c.measure()
    result = Fitted(list(columns), [])
    if width is None or table_width(columns) <= width:
        return result
    candidates = [c for c in columns if c.drop is not None] + [c.instead for c in columns if c.instead and c.instead.drop]
    for column in sorted(candidates, key=lambda c: c.drop):
        if column not in result.columns:
            continue
        if column.shrink is not None and shrink(result.columns, width, dry_run=True):
            break  # a column that can be shortened gives way only when shortening is not enough
        at = result.columns.index(column)
        if column.instead is not None:
            column.instead.measure()
            result.columns[at] = column.instead
        else:
            del result.columns[at]
        result.hidden.append(column.hides or column.header)
        if table_width(result.columns) <= width:
            return result
    shown = result.columns
    if not shrink(shown, width, dry_run=True):
        for column in shown:
            if column.compact is not None:
                column.cells = column.compact
                column.measure()
                result.rounded = True
    result.shortened = shrink(shown, width)
    if table_width(shown) > width:  # last resort: names down to a few characters
        for column in shown:
            if column.shrink is not None:
                column.shrink = min(column.shrink, 6)
        result.shortened = shrink(shown, width) or result.shortened
    for column in [c for c in shown if c.last]:
        if table_width(shown) <= width:
            break
        shown.remove(column)
        result.hidden.append(column.hides or column.header)
    return result


def shrink(columns: list[Column], width: int, dry_run: bool = False) -> bool:
    """Narrow the shortenable columns, widest first, until the table fits or they reach their
    narrowest; True when it now fits (and something was shortened)."""
    widths = {id(c): c.width for c in columns}
    excess = sum(widths.values()) + GAP * (len(columns) - 1) + EDGES - width
    while excess > 0:
        room = [c for c in columns if c.shrink is not None and widths[id(c)] > max(c.shrink, cell_len(c.header))]
        if not room:
            return False
        widest = max(room, key=lambda c: widths[id(c)] - c.shrink)
        widths[id(widest)] -= 1
        excess -= 1
    if dry_run:
        return True
    changed = False
    for c in columns:
        if widths[id(c)] < c.width:
            c.width = widths[id(c)]
            c.cells = [shorten(cell, c.width, c.end) for cell in c.cells]
            changed = True
    return changed


def shorten(text: str, width: int, at_end: bool = False) -> str:
    """`layer4.2.downsample.0` in 12 cells: `layer4…mple.0`; its indent kept. A sentence (at_end)
    keeps its beginning: `the input and…`."""
    if cell_len(text) <= width:
        return text
    body = text.lstrip(" ")
    indent = text[: len(text) - len(body)]
    room = max(width - len(indent), 2) - 1  # the cells left beside the ellipsis
    if at_end:
        return indent + take(body, room) + "…"
    head = take(body, room - room // 2)
    tail = take(body[::-1], room // 2)[::-1]
    return indent + head + "…" + tail


CLOSING = "，。；：）、」！？"  # never at the start of a line (the notes' typesetting)


def piece_of(word: str, cells: int) -> str:
    """The beginning of a word too long for the line that fits in `cells`: broken after a Chinese
    character or a comma rather than inside a run of Latin letters (`--explain` stays whole), and
    never so that the next line starts with closing punctuation."""
    piece = take(word, cells)
    if len(piece) < len(word):
        following = word[len(piece)]
        if cell_len(following) == 1 and cell_len(piece[-1]) == 1 and not following.isspace():
            breaks = [i for i, char in enumerate(piece) if cell_len(char) == 2 or char == ","]
            if breaks:
                piece = piece[: breaks[-1] + 1]
        while word[len(piece)] in CLOSING and len(piece) > 1:  # a run of closing marks moves down whole
            piece = piece[:-1]
    return piece


def take(text: str, cells: int) -> str:
    """The longest beginning of text that fits in `cells` cells."""
    used, out = 0, []
    for char in text:
        used += cell_len(char)
        if used > cells:
            break
        out.append(char)
    return "".join(out)


def compact(value: int | float) -> str:
    """A figure in at most six characters: 950, 1.5k, 117.6k, 138.4M, 15.5G."""
    if abs(value) < 1000:
        return f"{value:,}" if isinstance(value, int) else f"{value:.3g}"
    for power, prefix in ((15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if abs(value) >= 10**power * 0.99995:
            scaled = round(value / 10**power, 1)
            if abs(scaled) >= 1000 and power == 15:
                return f"{value:.1e}"
            return f"{scaled:.1f}{prefix}"
    return f"{value:,}"


def wrap(line: str, width: int) -> list[str]:
    """A line of prose in lines of at most `width` cells, broken at spaces (inside a word only when
    the word alone is wider, as Chinese runs are), continuations indented four past the line's own
    indent."""
    if cell_len(line) <= width:
        return [line]
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)]
    follow = indent + "    " if cell_len(indent) + 4 < width // 2 else indent
    return fill(body, width, indent, follow).split("\n")


def fill(text: str, width: int, first: str = "", rest: str = "") -> str:
    """A paragraph in lines of at most `width` cells, the first indented by `first`, the others by
    `rest`; Chinese, which has no spaces, breaks between characters."""
    lines, current = [], first
    for word in text.split():
        space = " " if current.strip() and not current.endswith(" ") else ""
        joined = current + space + word
        if cell_len(joined) <= width:
            current = joined
            continue
        if cell_len(word) != len(word) and cell_len(current + space) < width - 4:  # Chinese: fill the line, then break
            current += space
        elif current.strip():
            lines.append(current)
            current = rest
        while cell_len(current) + cell_len(word) > width:
            piece = piece_of(word, width - cell_len(current))
            if not piece:
                break
            lines.append(current + piece)
            word, current = word[len(piece):], rest
        current += word
    if current.strip():
        lines.append(current)
    return "\n".join(lines)

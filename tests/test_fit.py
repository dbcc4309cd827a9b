"""Fitting tables and prose to a terminal (render/fit.py), against brute force: shortened names and
wrapped lines never pass the width, wrapping loses no word, rounded figures stay within half their
last digit, and a table that can fit does."""

from hypothesis import given, settings, strategies as st
from rich.cells import cell_len

from convcalc.render.fit import Column, compact, fill, fit, shorten, table_width, wrap

# names as they come: Latin, digits, dots, Chinese (two cells each), spaces
TEXT = st.text(alphabet=st.sampled_from(list("abcdefghij.0123_ ") + list("卷积层输出感受野")), max_size=60)


@given(TEXT, st.integers(min_value=3, max_value=40), st.booleans())
def test_a_shortened_name_fits_and_keeps_its_ends(text, width, at_end):
    short = shorten(text, width, at_end)
    assert cell_len(short) <= max(width, cell_len(text[: len(text) - len(text.lstrip(" "))]) + 2)
    if cell_len(text) <= width:
        assert short == text
    elif not at_end and text.strip():
        assert "…" in short


@given(st.lists(TEXT.filter(lambda t: t.strip()), min_size=1, max_size=12), st.integers(min_value=12, max_value=100))
def test_wrapped_prose_fits_and_loses_no_word(words, width):
    line = "  " + " ".join(w.strip() for w in words)
    pieces = wrap(line, width)
    assert all(cell_len(piece) <= width for piece in pieces), pieces
    assert "".join("".join(p.split()) for p in pieces) == "".join(line.split())
    filled = fill(" ".join(words), width, "", "  ").splitlines()
    assert all(cell_len(piece) <= width for piece in filled)
    assert "".join("".join(p.split()) for p in filled) == "".join(" ".join(words).split())


@given(st.integers(min_value=0, max_value=10**17))
def test_a_rounded_figure_is_short_and_close(value):
    text = compact(value)
    assert len(text) <= 6
    if value < 1000:
        assert text == str(value)
        return
    units = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
    unit = units[text[-1]]
    assert abs(float(text[:-1]) * unit - value) <= 0.05 * unit + 1e-9 * value  # within half the last digit shown


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["name", "figure", "drop"])), min_size=2, max_size=8),
       st.integers(min_value=30, max_value=140))
def test_a_table_that_can_fit_does(spec, width):
    columns = []
    for index, (size, role) in enumerate(spec):
        cells = ["x" * size, "y" * max(1, size // 2)]
        if role == "name":
            columns.append(Column(f"h{index}", cells, shrink=6))
        elif role == "figure":
            columns.append(Column(f"h{index}", ["1" * size, "2"], "right", compact=["1.0k", "2"]))
        else:
            columns.append(Column(f"h{index}", cells, drop=index + 1))
    fitted = fit(columns, width)
    shown = fitted.columns
    smallest = sum(max(6 if c.shrink is not None else 0, cell_len(c.header), 0 if c.shrink is not None else c.width)
                   for c in shown) + 3 * (len(shown) - 1) + 2
    assert table_width(shown) <= width or smallest > width
    assert all(cell_len(cell) <= c.width for c in shown for cell in c.cells)
    if table_width([*columns]) > width and any(c.drop for c in columns):
        assert fitted.footer(width) is not None

"""In a real terminal (a pseudo-terminal of 60, 80 and 120 columns, in English and Chinese): no line
is longer than the terminal is wide — tables, worked arithmetic, help and errors — every table row
stays on one line, and what was left out to fit is named."""

import os
import re
import subprocess
import sys

import pytest
from rich.cells import cell_len

pty = pytest.importorskip("pty")  # POSIX only
import fcntl  # noqa: E402
import struct  # noqa: E402
import termios  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
WIDTHS = (60, 80, 120)


def in_terminal(args: list[str], columns: int, language: str = "en") -> tuple[int, str]:
    """convcalc run on a pseudo-terminal `columns` wide: its exit status and what the terminal shows."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    environ.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8", CONVCALC_LANG=language)
    process = subprocess.Popen([sys.executable, "-m", "convcalc", *args], stdin=slave, stdout=slave, stderr=slave,
                               env=environ, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    code = process.wait(timeout=60)
    os.close(master)
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")
    return code, text


RUNS = {
    "net_lenet5": (["net", "lenet5"], 0),
    "net_resnet50": (["net", "resnet50"], 0),
    "net_vgg16_by_op": (["net", "vgg16", "--by-op", "--device", "a100"], 0),
    "net_lenet5_connections": (["net", "lenet5", "--connections"], 0),
    "net_explain": (["net", "lenet5", "--explain"], 0),
    "net_brief": (["net", "googlenet", "--brief"], 0),
    "layer_explain": (["layer", "--in", "224", "--k", "7", "--s", "2", "--p", "3", "--explain", "all", "--backward"], 0),
    "compute": (["compute", "--x", "[[0,1,2],[3,4,5],[6,7,8]]", "--w", "[[0,1],[2,3]]", "--explain"], 0),
    "solve": (["solve", "--in", "224", "--out", "112", "--k", "3", "--s", "2", "--p", "?", "--explain"], 0),
    "zoo": (["zoo"], 0),
    "help": (["--help"], 0),
    "help_net": (["net", "--help"], 0),
    "help_layer": (["layer", "--help"], 0),
    "error_value": (["layer", "--in", "3y", "--k", "3"], 2),
    "error_batch": (["net", "resnet50", "--input", "1x3x224x224"], 1),
}


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("name", RUNS)
def test_no_line_is_wider_than_the_terminal(name, language, columns):
    args, code = RUNS[name]
    status, text = in_terminal(args, columns, language)
    assert status == code, text
    wide = [line for line in text.splitlines() if cell_len(line) > columns]
    assert wide == [], wide[:3]


# LeNet-5's rows and their parameters, from the notes: C1 6·(5·5 + 1), S2 2·6, C3 60·5·5 + 16 (the
# connection table), S4 2·16, C5 120·(16·5·5 + 1), F6 84·(120 + 1), output 10·(84 + 1) — exact, or
# rounded to the tenth of a thousand (1.5k) where a narrow terminal rounds figures
LENET = [("C1", 6 * (5 * 5 + 1)), ("S2", 2 * 6), ("C3", 60 * 5 * 5 + 16), ("S4", 2 * 16), ("C5", 120 * (16 * 5 * 5 + 1)),
         ("F6", 84 * (120 + 1)), ("output", 10 * (84 + 1))]


def shown(value: int) -> tuple[str, str]:
    return f"{value:,}", (f"{value / 1000:.1f}k" if value >= 1000 else str(value))


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_row_stays_on_one_line(language, columns):
    _, text = in_terminal(["net", "lenet5", "--connections"], columns, language)
    lines = text.splitlines()
    for name, params in LENET:
        row = [line for line in lines if re.match(rf"\s*{name}\s", line)]
        assert len(row) == 1, (name, text)
        assert any(re.search(rf"\s{re.escape(figure)}\s", row[0]) for figure in shown(params)), (name, row)
    assert 156 == 6 * (5 * 5 + 1) and 1_516 == 60 * 25 + 16


@pytest.mark.parametrize("language", ["en", "zh"])
def test_what_gives_way_is_named_and_wide_shows_it(language):
    _, narrow = in_terminal(["net", "resnet50"], 80, language)
    assert "--wide" in narrow
    rf, params = ("RF", "params") if language == "en" else ("感受野", "参数量")

    def header(text: str) -> str:
        return next(line for line in text.splitlines() if params in line)

    assert rf not in header(narrow)  # the RF column gave way at 80 columns
    _, wide = in_terminal(["net", "resnet50", "--wide"], 80, language)
    assert rf in header(wide) and "--wide" not in wide


def test_off_a_terminal_nothing_is_cut_or_wrapped():
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "convcalc", "net", "resnet50"], capture_output=True, text=True,
                          env={**environ, "CONVCALC_LANG": "en"}, timeout=60)
    assert "RF" in done.stdout and "--wide" not in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith(" conv1 "))
    assert "9,408" in row and "118,013,952" in row  # 64·3·7·7 parameters, 9,408·112·112 MACs, written out
    assert 64 * 3 * 7 * 7 == 9_408 and 9_408 * 112 * 112 == 118_013_952


def test_a_notebook_gets_a_table_that_fits():
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "convcalc", "net", "alexnet"], capture_output=True, text=True,
                          env={**environ, "CONVCALC_LANG": "en", "JPY_PARENT_PID": "1"}, timeout=60)
    assert max(cell_len(line) for line in done.stdout.splitlines()) <= 80

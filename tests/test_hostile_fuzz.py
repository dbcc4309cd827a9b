"""Hypothesis writes hostile descriptions — aliases, deep nesting, huge integers, markup and
control characters in names, repeats of empty items, expression chains — and hostile flags.
Whatever it writes, convcalc gives a result in every format or raises ConvcalcError with a
one-line message; the command line prints at most one `Error:` line. (The time and memory of
the worst cases are measured in a subprocess by test_hostile.py and benchmarks/hostile.py.)"""

import io

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc import ConvcalcError
from convcalc.cli import app
from convcalc.core.network import Settings, walk
from convcalc.render.report import CsvWriter, JsonWriter, TableRows, network_table, to_markdown
from convcalc.formats.spec import loads

NAMES = st.lists(st.sampled_from(list("ab[]/|\\\n\r\t\x1b\"':#&*!%@`{},") + ["red", "[/", "×", "中"]), max_size=12).map("".join)
WORDS = st.sampled_from(["conv", "convT", "maxpool", "avgpool", "linear", "flatten", "relu", "batchnorm", "global_avgpool",
                         "adaptive_avgpool", "upsample", "add", "concat", "multiply", "residual", "b", "c", "nope", "dropout"])
KEYS = st.sampled_from(["c", "k", "s", "p", "d", "groups", "bias", "out", "scale", "kernel", "act", "bn", "table", "ceil",
                        "output_padding", "mode", "layers", "shortcut", "<<", "x"])
SCALARS = st.one_of(
    st.integers(-3, 9).map(str),
    st.sampled_from(["0", "1", "2", "3", "true", "false", "null", "yes", "1:30", "2024-01-01", "2.0", "1e400", ".inf",
                     "'$x * $x'", "'$x // 0'", "'(' * 3", "$x", "$y", "same", "'-$x'", "~", "0x10", "!!int 3", "!!str 4",
                     "!!python/object:os.system {}", "9" * 20, "1" + "0" * 400, "9007199254740993", "4503599627370496"]),
    NAMES.map(lambda n: '"' + n.encode("unicode_escape").decode().replace('"', '\\"') + '"'),
)


def flow(children):
    lists = st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
    maps = st.lists(st.tuples(KEYS, children), max_size=4).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}")
    anchored = st.tuples(st.sampled_from("abc"), st.one_of(lists, maps)).map(lambda t: f"&{t[0]} {t[1]}")  # redefines
    return st.one_of(lists, maps, anchored, st.sampled_from(["*a", "*b", "*c"]))


VALUES = st.recursive(SCALARS, flow, max_leaves=12)
PLAIN_VALUES = st.recursive(SCALARS, lambda children: st.lists(children, max_size=9).map(lambda xs: "[" + ", ".join(xs) + "]"),
                            max_leaves=20)
DEEP = st.integers(0, 80).map(lambda n: "[" * n + "]" * n)
SMALL = st.one_of(st.integers(1, 4).map(str), st.sampled_from(["$x", "'$x * 2'", "'$x * $x'", "*a", "true", "2.0", "[2, 1]"]))
SANE = st.one_of(
    st.tuples(SMALL, SMALL, st.sampled_from(["0", "1", "same", "$x"]), st.sampled_from(["relu", "none", "tanh", "$y"])).map(
        lambda t: f"{{conv: {{c: {t[0]}, k: {t[1]}, p: {t[2]}, act: {t[3]}}}}}"),
    st.sampled_from(["relu", "flatten", "global_avgpool", "{maxpool: {k: 2}}", "{batchnorm: null}", "{upsample: {scale: 2}}",
                     "{linear: {out: 3}}", "{residual: [{conv: {c: 3, k: 3, p: 1}}]}", "{concat: [[], [relu]]}",
                     "{add: [[], *b]}", "{b: {x: 2}}", "{c: null}", "{b: {x: $x}}", "{b: null, repeat: 1000000}"]),
)


@st.composite
def items(draw):
    if draw(st.integers(0, 9)) < 6:
        return draw(SANE)
    kind = draw(WORDS)
    options = draw(st.one_of(VALUES, st.just("null")))
    extra = draw(st.lists(st.tuples(st.sampled_from(["repeat", "id", "name", "from"]),
                                    st.one_of(VALUES, NAMES.map(repr), st.sampled_from(["1000000000000", "2", "a", "b"]))), max_size=2))
    return "{" + ", ".join([f"{kind}: {options}"] + [f"{k}: {v}" for k, v in dict(extra).items()]) + "}"


@st.composite
def descriptions(draw):
    head = "input: " + draw(st.sampled_from(["[3, 8, 8]"] * 4 + ["[3, 16]", "[2, 4, 4, 4]", "[3, 8, 8, 8, 8]", "[0, 8]", "[3, 1e3]"])) + "\n"
    if draw(st.booleans()):
        head += "name: " + draw(SCALARS) + "\n"
    # anchors first, so that later aliases find them: a block that is never used holds them
    anchors = draw(st.lists(PLAIN_VALUES, min_size=3, max_size=3))
    head += "blocks:\n  anchors: {args: {" + ", ".join(f"{n}: &{n} [{v}]" for n, v in zip("abc", anchors)) + "}, layers: [relu]}\n"
    blocks = draw(st.lists(st.tuples(st.sampled_from(["b", "c"]), st.lists(items(), min_size=1, max_size=3),
                                     st.sampled_from(["{x: 2, y: relu}", "{x: required, y: relu}", "{x: 2, y: true}"])),
                           max_size=2, unique_by=lambda t: t[0]))
    head += "".join(f"  {n}: {{args: {a}, layers: [{', '.join(body)}]}}\n" for n, body, a in blocks)
    body = draw(st.lists(st.one_of(items(), items(), items(), DEEP), min_size=1, max_size=6))
    return head + "layers: [" + ", ".join(body) + "]\n"


def render_everything(report_network):
    network, settings = report_network
    out = io.StringIO()
    json_writer = JsonWriter(out.write, network.name, network.input_shape, settings)
    report = walk(network, settings, json_writer)
    json_writer.finish(report)
    walk(network, settings, CsvWriter(out.write, settings, None))
    rows = TableRows(None, collapse=True, head=5, tail=2)
    walk(network, settings, rows)
    to_markdown(report, rows)
    from rich.console import Console

    Console(file=io.StringIO(), width=100).print(network_table(report, rows))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(descriptions(), st.sampled_from([Settings(), Settings(batch=3, flops_per_mac=2, dtype="fp16")]))
def test_hostile_descriptions(text, run_settings):
    try:
        network = loads(text, "fuzz.yaml")
        render_everything((network, run_settings))
    except ConvcalcError as error:
        message = str(error)
        assert "\n" not in message and message.strip() == message, message
        assert ", got " in message or ": got " in message or "got " in message, message


runner = CliRunner()
HUGE = st.sampled_from(["1" + "0" * 400, "9" * 17, "9007199254740993", "3x3x3x3x3x3x3x3x3x3", "1x" * 50 + "1", "-0",
                        "0x0", "2x" + "9" * 5000, "same", "nan", "", " ", "\x1b[2J", "[red]1[/red]", "1\n2"])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["conv", "convT", "maxpool", "avgpool", "linear", "flatten", "global_avgpool", "adaptive_avgpool",
                        "batchnorm", "layernorm", "instancenorm"]),
       st.lists(st.tuples(st.sampled_from(["--in", "--k", "--s", "--p", "--d", "--out", "--output-padding", "--cin", "--cout",
                                           "--groups", "--batch", "--p-total"]),
                          st.one_of(HUGE, st.sampled_from(["1", "2", "3", "8", "1:2", "1:2x0:1", "0:9", "1:2x3:4x5:6x7:8", "wide"]))),
                max_size=5),
       st.sampled_from(["table", "json", "csv", "markdown"]))
def test_hostile_flags(op, flags, fmt):
    args = ["layer", "--op", op, "--format", fmt]
    for flag, value in flags:
        args += [flag, value]
    clean_cli(runner.invoke(app, args))


TEACH_VALUES = st.sampled_from(["[[0,1,2],[3,4,5],[6,7,8]]", "[[1,2],[3]]", "[[0.1, 0.2]]", "[[[1]]]", "[]", "[[true]]", "&a [*a]",
                                "[[" + ",".join(["1"] * 400) + "]]", "'x'", "[[1e400]]", "[[" + "9" * 30 + "]]", "@/nonexistent",
                                "[[1, -1]]", "[[[[[[[[1]]]]]]]]", "[" * 100 + "]" * 100, "[[.nan]]", "[[1/3]]"])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["conv", "convT", "maxpool", "avgpool", "bad"]), TEACH_VALUES, TEACH_VALUES,
       st.lists(st.tuples(st.sampled_from(["--s", "--p", "--d", "--k", "--groups", "--output-padding", "--dims", "--bias", "--in"]),
                          st.one_of(HUGE, st.sampled_from(["1", "2", "0", "3x3", "[1]"]))), max_size=3),
       st.sampled_from([[], ["--explain"], ["--symbolic"], ["--draw"], ["--no-count-pad"], ["--ceil"]]),
       st.sampled_from(["table", "json", "csv", "markdown"]))
def test_hostile_compute(op, x, w, flags, switches, fmt):
    args = ["compute", "--op", op, "--x", x, "--w", w, "--format", fmt, *switches]
    for flag, value in flags:
        args += [flag, value]
    clean_cli(runner.invoke(app, args))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["conv", "convT", "maxpool", "avgpool"]),
       st.lists(st.tuples(st.sampled_from(["--in", "--out", "--k", "--s", "--p", "--d", "--output-padding", "--layers", "--rf", "--max-p"]),
                          st.one_of(HUGE, st.sampled_from(["?", "1", "2", "3", "224", "7", "?x3", "32x64", "0"]))), max_size=6),
       st.sampled_from(["table", "json", "csv", "markdown"]), st.booleans())
def test_hostile_solve(op, flags, fmt, explain):
    args = ["solve", "--op", op, "--format", fmt] + ["--explain"] * explain
    for flag, value in flags:
        args += [flag, value]
    clean_cli(runner.invoke(app, args))


def clean_cli(result) -> None:
    if result.exit_code == 0:
        assert result.stdout
        return
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == "" and "Traceback" not in result.stderr
    if result.stderr.startswith("Error: "):
        assert result.stderr.count("\n") == 1 and len(result.stderr) <= 301, result.stderr
    else:  # typer's own usage errors keep their form
        assert result.stderr.startswith("Usage:"), result.stderr


DEVICE_TEXT = st.one_of(
    st.sampled_from(["a100", "A100", " t4 ", "1e12,1e9", "0,1", "-1,1", "nan,1", "inf,1", "1e400,1", "1e-320,1e-320",
                     "1,1", "1e30,1e30", "1e31,1", ",", "1,2,3", "a100,1", "", "９,９"]),
    st.text(max_size=40),
    st.builds(lambda a, b: f"{a},{b}", st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DEVICE_TEXT, st.sampled_from(["sgd", "momentum", "adam", "adamw", "lion", ""]), st.sampled_from([None, "fp16", "bf16", "fp8"]),
       st.sampled_from(["table", "json", "csv", "markdown"]), st.sampled_from(["1", "3", "0"]))
def test_hostile_memory_options(device, optimizer, amp, fmt, batch):
    """--device, --optimizer, --amp and --batch, whatever their values: a result whose JSON is valid
    (every time a finite number), or one Error line."""
    import json

    args = ["net", "lenet5", "--device", device, "--optimizer", optimizer, "--format", fmt, "--batch", batch]
    if amp is not None:
        args += ["--amp", amp]
    result = runner.invoke(app, args)
    clean_cli(result)
    if result.exit_code == 0 and fmt == "json":
        total = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"JSON holds {c}"))["total"]
        assert 0 <= total["time_s"] < float("inf")

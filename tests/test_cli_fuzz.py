"""Fuzzing the command line: whatever the flags, the outcome is a result (exit 0) or one
`Error: …` line on stderr with a non-zero exit — never a traceback."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()

NUMBERS = st.sampled_from(["0", "1", "2", "3", "7", "-1", "-5", "64", "99999999", "1.5", "x", "", "3x3", "3x0", "2x3x4",
                           "4x4x4x4", "same", "valid", "full", "SAME", "1e3", "3×5", "3,5", " 3 ", "nan"])
OPS = st.sampled_from(["conv", "convT", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool",
                       "linear", "flatten", "pool", ""])
FLAGS = st.sampled_from(["--in", "--cin", "--cout", "--k", "--s", "--p", "--d", "--groups", "--output-padding", "--out",
                         "--dims", "--batch", "--flops-per-mac"])


def clean(result) -> None:
    if result.exit_code == 0:
        assert result.stdout
        return
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(("Error:", "Usage:")), result.stderr


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS, st.lists(st.tuples(FLAGS, NUMBERS), max_size=7), st.sampled_from(["table", "json", "csv", "markdown"]),
       st.booleans(), st.booleans())
def test_layer_flags(op, flags, fmt, ceil, explain):
    args = ["layer", "--op", op, "--format", fmt]
    for flag, value in flags:
        args += [flag, value]
    args += ["--ceil"] * ceil + ["--explain"] * explain
    clean(runner.invoke(app, args))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["lenet5", "vgg16", "resnet18", "googlenet", "nope", "", "../README.md"]),
       st.lists(st.tuples(st.sampled_from(["--input", "--batch", "--depth", "--dtype", "--flops-per-mac"]),
                          st.sampled_from(["3x32x32", "3x8x8", "1x224x224", "3x224", "0", "1", "2", "-1", "fp16", "x", "3x1x1"])),
                max_size=3))
def test_net_flags(spec, flags):
    args = ["net", spec, "--format", "json"]
    for flag, value in flags:
        args += [flag, value]
    clean(runner.invoke(app, args))

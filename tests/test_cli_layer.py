"""`convcalc layer` through typer's CliRunner: exit codes, exact error text, the JSON contract."""

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["layer", *args])


def as_json(*args):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_design_call_gives_4x4():
    data = as_json("--in", "10", "--k", "5", "--p", "1", "--s", "2")
    assert data["output_shape"] == [1, (10 + 2 * 1 - 5) // 2 + 1, (10 + 2 * 1 - 5) // 2 + 1]


def test_json_contract():
    data = as_json("--in", "32", "--cin", "3", "--cout", "10", "--k", "5", "--p", "2")
    assert set(data) >= {"schema_version", "type", "input_shape", "output_shape", "params", "macs", "flops", "receptive_field", "warnings"}
    assert data["type"] == "conv" and data["schema_version"] == 2
    assert data["input_shape"] == [3, 32, 32]
    assert data["output_shape"] == [10, 32, 32]
    assert data["params"] == 10 * (3 * 5 * 5 + 1)
    assert data["macs"] == data["flops"] == 3 * 10 * 5 * 5 * 32 * 32
    assert data["receptive_field"]["size"] == [5, 5]
    assert data["receptive_field"]["jump"] == [1, 1]
    assert data["receptive_field"]["start"] == [0.5 + 2 - 2, 0.5 + 2 - 2]
    assert data["warnings"] == []


def test_flops_per_mac_two_doubles_flops_not_macs():
    data = as_json("--in", "32", "--k", "3", "--p", "1", "--s", "2", "--no-bias", "--flops-per-mac", "2")
    assert (data["params"], data["macs"], data["flops"]) == (9, 2304, 2 * 2304)


def test_batch_multiplies_macs():
    data = as_json("--in", "8", "--k", "3", "--batch", "4")
    assert data["macs"] == 4 * (3 * 3 * 6 * 6)


@pytest.mark.parametrize("args, shape", [
    (["--in", "32x64", "--k", "3x5"], [1, 32 - 3 + 1, 64 - 5 + 1]),
    (["--in", "8x32x32", "--k", "3", "--dims", "3"], [1, 8 - 3 + 1, 30, 30]),
    (["--in", "50", "--k", "3", "--dims", "1"], [1, 50 - 3 + 1]),
    (["--in", "7", "--k", "3", "--p", "same", "--s", "2"], [1, 4, 4]),
    (["--in", "12", "--k", "5", "--p", "full"], [1, 12 + 5 - 1, 12 + 5 - 1]),
    (["--op", "maxpool", "--in", "28", "--k", "2", "--cin", "6"], [6, 14, 14]),
    (["--op", "maxpool", "--in", "112", "--k", "3", "--s", "2", "--ceil"], [1, 56, 56]),
    (["--op", "convT", "--in", "4", "--k", "3", "--s", "2", "--p", "1", "--output-padding", "1"], [1, 8, 8]),
    (["--op", "adaptive_avgpool", "--in", "14", "--out", "7", "--cin", "512"], [512, 7, 7]),
    (["--op", "global_avgpool", "--in", "7", "--cin", "2048"], [2048, 1, 1]),
    (["--op", "linear", "--cin", "10", "--cout", "128"], [128]),
    (["--op", "flatten", "--in", "5", "--cin", "16"], [16 * 5 * 5]),
])
def test_shapes_from_flags(args, shape):
    assert as_json(*args)["output_shape"] == shape


def test_mlp_layer_from_the_course():
    assert as_json("--op", "linear", "--cin", "10", "--cout", "128")["params"] == 10 * 128 + 128


def test_explain_substitutes_the_numbers():
    result = run("--in", "10", "--k", "5", "--p", "1", "--s", "2", "--explain")
    assert result.exit_code == 0
    assert "⌊(10 + 2·1 − 5)/2⌋ + 1 = ⌊7/2⌋ + 1 = 4" in result.stdout
    assert "params = C_o·(C_i·K_h·K_w + 1) = 1·(1·5·5 + 1) = 26" in result.stdout


def test_explain_homework_without_bias():
    result = run("--in", "32", "--k", "3", "--p", "1", "--s", "2", "--no-bias", "--explain")
    assert "params = C_o·(C_i·K_h·K_w + 0) = 1·(1·3·3 + 0) = 9" in result.stdout
    assert "MACs = C_i·C_o·K_h·K_w·L_h·L_w = 1·1·3·3·16·16 = 2,304" in result.stdout


def test_table_states_the_counting_rule():
    result = run("--in", "10", "--k", "5")
    assert result.exit_code == 0
    assert "one multiply-add counts as one FLOP" in " ".join(result.stdout.split())


@pytest.mark.parametrize("args, message", [
    (["--in", "10", "--k", "0"], "Error: --k: must be a positive integer, got 0\n"),
    (["--in", "10", "--k", "3", "--s", "0"], "Error: --s: must be a positive integer, got 0\n"),
    (["--in", "10", "--k", "3", "--p", "-1"], "Error: --p: must be a non-negative integer, got -1\n"),
    (["--in", "10x", "--k", "3"], "Error: --in: must be an integer or sizes such as 32x64, got '10x'\n"),
    (["--in", "10", "--k", "3", "--p", "wider"], "Error: --p: must be an integer or sizes such as 32x64, or one of valid, same, full, narrow, equal, wide, got 'wider'\n"),
    (["--in", "4", "--k", "7"], "Error: axis H: kernel larger than the padded input: effective kernel 7 > input 4 + padding 0, got size 4\n"),
    (["--in", "8", "--k", "3", "--cin", "6", "--cout", "4", "--groups", "4"], "Error: --groups: must divide the input channels (6) and the output channels (4), got 4\n"),
    (["--in", "8", "--k", "3", "--cin", "0"], "Error: --cin: must be a positive integer, got 0\n"),
    (["--k", "3"], "Error: --in: the input size is required for --op conv, got none\n"),
    (["--in", "8"], "Error: --k: the kernel size is required for --op conv, got none\n"),
    (["--in", "8x8", "--k", "3x3x3"], "Error: --in: needs 1 or 3 values for 3 spatial axes, got '8x8'\n"),
    (["--op", "maxpool", "--in", "8", "--k", "2", "--p", "2"], "Error: axis H: padding must be at most half the kernel (2/2), got 2\n"),
    (["--op", "convT", "--in", "4", "--k", "3", "--s", "2", "--output-padding", "2"], "Error: axis H: output_padding must be smaller than the stride (2) or the dilation (1), got 2\n"),
    (["--op", "linear", "--cin", "10", "--cout", "0"], "Error: --cout: must be a positive integer, got 0\n"),
])
def test_bad_input_is_one_clear_line(args, message):
    result = run(*args, "--format", "json")
    assert result.exit_code != 0
    assert result.stdout == ""
    assert result.stderr == message


def test_typer_rejects_out_of_range_flags():
    result = run("--in", "8", "--k", "3", "--flops-per-mac", "3")
    assert result.exit_code == 2
    assert "--flops-per-mac" in result.stderr


def test_piped_output_has_no_colour_codes():
    result = run("--in", "10", "--k", "5", "--s", "2")
    assert "\x1b[" not in result.stdout


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("convcalc ")


@pytest.mark.parametrize("fmt, first", [("csv", "name,depth,leaf,type,input_shape"), ("markdown", "| layer | type |")])
def test_other_formats(fmt, first):
    result = run("--in", "10", "--k", "5", "--format", fmt)
    assert result.exit_code == 0 and result.stdout.startswith(first)

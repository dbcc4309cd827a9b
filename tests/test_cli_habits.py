"""Command-line habits people bring: -h, a misspelt command or key answered with its closest name, and exit
statuses a shell can test (no solution is 1, as grep's no match; a reader that stops early is no failure)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["net"], ["layer"], ["solve"], ["compute"], ["zoo"], ["export"]])
def test_short_help_is_help(command):
    short, long = runner.invoke(app, [*command, "-h"]), runner.invoke(app, [*command, "--help"])
    assert short.exit_code == 0 and short.output == long.output and "Usage:" in short.output


def test_a_misspelt_command_gets_its_closest_name():
    result = runner.invoke(app, ["lyer"])
    assert result.exit_code == 2 and "did you mean layer?" in result.output and result.output.count("\n") == 1


@pytest.mark.parametrize("key, meant", [("activation", "act"), ("batchnorm", "bn"), ("filters", "c")])
def test_other_libraries_words_for_options_get_convcalcs(key, meant):
    text = f"input: [3, 8, 8]\nlayers:\n  - conv: {{c: 4, k: 3, {key}: 1}}\n"
    result = runner.invoke(app, ["net", "-"], input=text)
    assert result.exit_code == 1 and f"did you mean '{meant}'?" in result.output


def test_solve_says_no_solution_with_exit_status_1():
    none = runner.invoke(app, ["solve", "--in", "5", "--out", "100", "--k", "3", "--p", "?"])
    assert none.exit_code == 1 and "no solution" in none.output
    found = runner.invoke(app, ["solve", "--in", "224", "--out", "224", "--k", "3", "--p", "?"])
    assert found.exit_code == 0 and "p = 1" in found.output


def test_an_undeclared_argument_says_how_to_declare_it():
    text = "input: [3, 8, 8]\nlayers:\n  - conv: {c: $width, k: 3}\n"
    result = runner.invoke(app, ["net", "-"], input=text)
    assert result.exit_code == 1 and "args: {width: 64}" in result.output and "--set width=" in result.output
    misspelt = runner.invoke(app, ["net", "-"], input="input: [3, 8, 8]\nargs: {widht: 4}\n" + text.split("\n", 1)[1])
    assert misspelt.exit_code == 1 and "did you mean '$widht'?" in misspelt.output


# --- shapes are checked, never reinterpreted -----------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["layer", "--in", "3x32x32", "--k", "3", "--cin", "3"], "did you mean --in 32x32 --cin 3?"),
    (["layer", "--in", "1x28x28", "--k", "5"], "did you mean --in 28x28 --cin 1?"),
    (["net", "resnet50", "--input", "224x224"], "ResNet-50 takes C×H×W (3 values, such as 3x224x224)"),
    (["net", "resnet50", "--input", "1x3x224x224"], "write --input 3x224x224 --batch 1"),
])
def test_a_shape_with_the_wrong_axes_is_refused_with_what_was_meant(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code in (1, 2) and message in result.stderr and result.stdout == ""


def test_a_3d_network_takes_its_own_default_input():
    import json

    data = json.loads(runner.invoke(app, ["net", "r3d_18", "--input", "3x16x112x112", "-f", "json"]).stdout)
    assert data["input_shape"] == [3, 16, 112, 112] and data["output_shape"] == [400]


def test_a_layer_on_several_axes_is_said_so():
    result = runner.invoke(app, ["layer", "--in", "8x32x32", "--k", "3", "--dims", "3", "-f", "json"])
    import json

    assert json.loads(result.stdout)["output_shape"] == [1, 8 - 3 + 1, 32 - 3 + 1, 32 - 3 + 1]


# --- less by default, more on request -----------------------------------------------------------

def test_a_warning_on_several_layers_is_written_once():
    folded = runner.invoke(app, ["net", "resnet50"], env={"COLUMNS": "200"}).stdout
    every = runner.invoke(app, ["net", "resnet50", "--warnings"], env={"COLUMNS": "200"}).stdout
    # ResNet-50 at 224: conv1, maxpool1 and the three strided stages' two convolutions (main and shortcut)
    layers = 2 + 3 * 2
    assert folded.count("is not divisible by S") == 1 and f"and {layers - 1} more layers with this warning" in folded
    assert every.count("is not divisible by S") == layers


def test_brief_keeps_shapes_parameters_and_flops():
    brief = runner.invoke(app, ["net", "lenet5", "--brief"], env={"COLUMNS": "200"}).stdout
    assert "60,850" in brief and "326,520" in brief  # LeNet-5's parameters and MACs
    assert "RF" not in brief and "training memory" not in brief and "backward" not in brief


def test_layer_shows_the_backward_pass_when_asked():
    plain = runner.invoke(app, ["layer", "--in", "28", "--k", "5", "--cout", "6"]).stdout
    asked = runner.invoke(app, ["layer", "--in", "28", "--k", "5", "--cout", "6", "--backward"]).stdout
    assert "backward" not in plain
    # the first layer's backward pass: the weight gradient only, its forward MACs 1·6·5·5·24·24
    assert "backward MACs" in asked and f"{1 * 6 * 5 * 5 * 24 * 24:,}" in asked


@pytest.mark.parametrize("parts, shown, hidden", [
    ("shape", ["H/W: ⌊(M + 2P − K)/S⌋ + 1"], ["params =", "MACs =", "RF "]),
    ("params,rf", ["params = ", "RF H/W"], ["MACs =", "saved for backward"]),
    ("all", ["params = ", "MACs = ", "connections", "saved for backward", "backward MACs", "RF H/W"], []),
])
def test_explain_shows_the_parts_asked_for(parts, shown, hidden):
    text = runner.invoke(app, ["layer", "--in", "28", "--k", "5", "--cout", "6", "--explain", parts]).stdout
    assert all(s in text for s in shown) and not any(h in text for h in hidden), text
    assert text.rstrip().splitlines()[-1].startswith("symbols: ")


def test_a_bare_explain_before_the_network_name_still_reads_the_name():
    first = runner.invoke(app, ["net", "--explain", "lenet5"])
    assert first.exit_code == 0 and "C1 (conv)" in first.stdout
    typo = runner.invoke(app, ["layer", "--in", "8", "--k", "3", "--explain", "shpe"])
    assert typo.exit_code == 2 and "did you mean shape?" in typo.stderr


def test_linear_on_a_map_without_flatten_is_warned():
    text = "input: [1, 28, 28]\nlayers:\n  - conv: {c: 6, k: 5}\n  - maxpool: {k: 2}\n  - linear: {out: 10}\n"
    result = runner.invoke(app, ["net", "-"], input=text, env={"COLUMNS": "200"})
    # applied at each of the 12·12 positions: 6·10 + 10 parameters, where a classifier has 6·12·12·10 + 10
    assert "applied at each of the 144 positions" in result.stdout and "a classifier needs flatten" in result.stdout
    assert 12 * 12 == 144


# --- formats carry what the table shows ------------------------------------------------------------

def test_csv_ends_with_the_totals_the_table_shows():
    import csv
    import io
    import json

    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["net", "resnet18", "-f", "csv"]).stdout)))
    total = json.loads(runner.invoke(app, ["net", "resnet18", "-f", "json"]).stdout)["total"]
    leaves, last = [r for r in rows if r["leaf"] == "true"], rows[-1]
    assert last["name"] == "total" and last["depth"] == "-1"
    for column in ("params", "buffers", "macs", "flops", "saved_bytes", "backward_macs"):
        assert int(last[column]) == sum(int(r[column]) for r in leaves) == total[column.replace("saved_bytes", "saved_activation_bytes")]
    for column in ("param_bytes", "course_activation_bytes", "inference_peak_bytes", "training_bytes"):
        assert int(last[column]) == total[column] and all(r[column] == "" for r in rows[:-1])
    assert all(r["connections"] != "" for r in leaves)


def test_excel_gets_its_mark_and_shapes_as_numbers():
    text = runner.invoke(app, ["net", "lenet5", "-f", "csv", "--excel"]).stdout
    assert text.startswith("\ufeffname,")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    c1 = next(r for r in rows if r["name"] == "C1")
    assert [c1[f"output_{i}"] for i in range(1, 5)] == ["6", "28", "28", ""]  # 32 − 5 + 1 = 28
    refused = runner.invoke(app, ["net", "lenet5", "--excel"])
    assert refused.exit_code == 2 and "add --format csv" in refused.stderr


@pytest.mark.parametrize("command", [["layer", "--in", "8", "--k", "3"], ["net", "lenet5"], ["zoo"],
                                     ["compute", "--x", "[[1,2],[3,4]]", "--w", "[[1]]"],
                                     ["solve", "--in", "8", "--out", "8", "--k", "3", "--p", "?"]])
def test_every_json_has_a_schema_version(command):
    import json

    assert json.loads(runner.invoke(app, [*command, "-f", "json"]).stdout)["schema_version"] == 2


def test_markdown_has_every_column_and_total():
    text = runner.invoke(app, ["net", "lenet5", "-f", "markdown", "--connections"]).stdout
    header = text.splitlines()[0]
    for column in ("layer", "type", "output", "params", "FLOPs", "connections", "RF", "all", "FLOPs share"):
        assert f" {column} |" in header
    for total in ("parameters", "MACs", "backward MACs", "parameter memory", "inference peak", "training memory"):
        assert f"| {total} |" in text


def test_a_merge_is_one_row_named_once():
    import json

    text = "input: [8, 8, 8]\nlayers:\n  - {conv: {c: 8, k: 3, p: 1}, id: a}\n  - conv: {c: 8, k: 3, p: 1}\n  - add: [[], a]\n"
    names = [x["name"] for x in json.loads(runner.invoke(app, ["net", "-", "-f", "json"], input=text).stdout)["layers"]]
    assert names == ["conv1", "conv2", "add1"]


def test_shell_completion_offers_the_bundled_networks(monkeypatch):
    from convcalc.cli.options import complete_spec

    assert {"resnet18", "resnet50"} <= set(complete_spec("resnet"))
    assert "vgg16" not in complete_spec("resnet")

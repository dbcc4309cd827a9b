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

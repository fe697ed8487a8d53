"""--help reads as git's or ruff's: real metavars, defaults that survive rich markup, -h, an example."""

import re

import pytest
from typer.testing import CliRunner

from convcalc.cli import app


def help_text(*args: str, columns: int = 100) -> str:
    env = {"COLUMNS": str(columns)}
    result = CliRunner().invoke(app, [*args], env=env, prog_name="convcalc", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(text: str) -> str:
    """The help with its box drawing and wrapping undone, so each option's text reads as one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


COMMANDS = ["conv", "compare"]


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("command", COMMANDS)
def test_usage_line_names_the_arguments(command, columns):
    text = help_text(command, "--help", columns=columns)
    assert f"Usage: convcalc {command} [OPTIONS] C_IN C_OUT KERNEL" in text
    assert "{" not in text and "<" not in text  # no {c_in}, <bool>, <str>, <list[str]> placeholders


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("command", COMMANDS)
def test_metavars_and_defaults(command, columns):
    text = rows(help_text(command, "--help", columns=columns))
    for option, shown in [
        ("--stride -s SIZE", "[default: 1]"),
        ("--padding -p PADDING", "[default: 0]"),
        ("--input -i SIZE", "[default: 224]"),
        ("--batch -b N", "[default: 1]"),
        ("--device DEVICE", "[default: cpu]"),
        ("--format -f FORMAT", "[default: table]"),
        ("--padding-mode MODE", "[default: zeros]"),
        ("--expect NAME=VALUE", "repeatable"),
    ]:
        assert option in text, option
        after = text[text.index(option) :]
        assert shown in after[: after.index(" --", len(option))], (option, shown)
    for choice in ("table, json, csv, markdown, latex", "zeros, reflect, replicate, circular"):
        assert choice in text
    assert re.search(r"--full\s+Run the real", text)  # a flag takes no value, so shows none


def test_compare_defaults_in_words():
    text = rows(help_text("compare", "--help"))
    assert "--groups -g N Groups of a grouped variant; repeatable. [default: up to four common" in text
    assert "--bias --no-bias Conv bias. [default: on, off with --bn]" in text
    assert "--multiplier -m M Depthwise channel multiplier. [default: 1]" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_one_example_that_runs(run, command):
    examples = [line.strip() for line in help_text(command, "-h").splitlines() if "Example:" in line]
    assert len(examples) == 1
    typed = examples[0].removeprefix("Example: convcalc ")
    assert typed.startswith(command + " ")
    assert run(typed + " --no-verify").exit_code == 0


@pytest.mark.parametrize("args", [["-h"], ["conv", "-h"], ["compare", "-h"]])
def test_dash_h_is_help(args):
    assert "Usage: convcalc" in help_text(*args)
    assert help_text(*args) == help_text(*args[:-1], "--help")

"""--help reads as git's or ruff's: plain text, real metavars, every default, -h, an example, and no
option name cut short at any width or on an ASCII stream."""

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
    """The help with its wrapping undone, so each option's text reads as one line."""
    return " ".join(text.split())


COMMANDS = ["conv", "compare"]
PLACEHOLDER = re.compile(r"<[a-z_\[\]]+>")  # {c_in}, <bool>, <str>, <list[str]>; not 'macs<=600M'


@pytest.mark.parametrize("columns", [60, 80, 100])
@pytest.mark.parametrize(("command", "usage"), [("stack", "[OPTIONS] [SPEC]"), ("model", "[OPTIONS] TARGET")])
def test_network_commands_help(command, usage, columns):
    text = help_text(command, "-h", columns=columns)
    assert f"Usage: convcalc {command} {usage}" in text
    assert "{" not in text and not PLACEHOLDER.search(text)
    flat = rows(text)
    assert "Example" in flat
    given = {"stack": "-i, --input SIZE", "model": "-i, --input [NAME=]SHAPE[:DTYPE]"}[command]
    for option in (given, "--expect NAME=VALUE", "--columns LIST", "-f, --format FORMAT"):
        assert option in flat


def test_model_help_says_plainly_it_runs_your_code():
    text = rows(help_text("model", "-h"))
    assert "this runs your code" in text and "Only this command imports and runs code you name" in text
    assert "nothing in them is run" in rows(help_text("stack", "-h"))


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("command", COMMANDS)
def test_usage_line_names_the_arguments(command, columns):
    text = help_text(command, "--help", columns=columns)
    assert f"Usage: convcalc {command} [OPTIONS] C_IN C_OUT KERNEL" in text
    assert "{" not in text and not PLACEHOLDER.search(text)


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("command", COMMANDS)
def test_metavars_and_defaults(command, columns):
    text = rows(help_text(command, "--help", columns=columns))
    for option, shown in [
        ("-s, --stride SIZE", "[default: 1]"),
        ("-p, --padding PADDING", "[default: 0]"),
        ("-i, --input SIZE", "224 per dimension if not given"),
        ("-b, --batch N", "[default: 1]"),
        ("--device DEVICE", "[default: cpu]"),
        ("-f, --format FORMAT", "[default: table]"),
        ("--padding-mode MODE", "[default: zeros]"),
        ("--expect NAME=VALUE", "repeatable"),
    ]:
        assert option in text, option
        after = text[text.index(option) :]
        assert shown in after[: re.search(r" -{1,2}[a-z]", after[len(option) :]).start() + len(option)], (
            option,
            shown,
        )
    for choice in ("table, json, csv, markdown, latex", "zeros, reflect, replicate, circular"):
        assert choice in text
    assert re.search(r"--full\s+Run the real", text)  # a flag takes no value, so shows none


def test_compare_defaults_in_words():
    text = rows(help_text("compare", "--help"))
    assert "-g, --groups N Groups of a grouped variant; repeatable. [default: (up to four common" in text
    assert "--bias / --no-bias Conv bias. [default: (on, off with --bn)]" in text
    assert "-m, --multiplier M Depthwise channel multiplier. [default: 1]" in text


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


@pytest.mark.parametrize("columns", [40, 60, 100])
@pytest.mark.parametrize("args", [["-h"], ["conv", "-h"], ["compare", "-h"]])
def test_no_option_is_cut_short_and_ascii_streams_get_help(args, columns):
    """rich cut names with an ellipsis at 60 columns and crashed on ASCII; plain help wraps the text."""
    result = CliRunner(charset="ascii").invoke(
        app, args, env={"COLUMNS": str(columns)}, catch_exceptions=False
    )
    assert result.exit_code == 0 and result.stdout.isascii()
    described = [line for line in result.stdout.splitlines() if not line.startswith("Usage:")]
    assert "…" not in result.stdout and not any("..." in line for line in described)
    for name in ["--output-padding", "--padding-mode", "--no-verify"] if args != ["-h"] else ["--version"]:
        assert name in result.stdout or args == ["compare", "-h"] and name == "--output-padding"

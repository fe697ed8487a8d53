"""`convcalc check`: a project's compute budgets, the checks of its budgets file, run in one process and
held to their --expect clauses, to torch and to the snapshot (runner.py runs them)."""

from __future__ import annotations

import os
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.check import CheckReport
from ..core.errors import ConvCalcError
from ..render.check import CHECK_FORMATS, failure_lines, markdown, render_check
from .command import Command, command_app
from .options import one_of
from .output import Outcome, stream
from .runner import check_report

command = command_app()  # this command alone; cli/group.py loads it when it runs

CheckFormat = Enum("CheckFormat", {f: f for f in CHECK_FORMATS}, type=str)


@command.command(
    cls=Command,
    short_help="A project's budgets: every check of its budgets file, in one process.",
    epilog="\b\nExamples: convcalc check\n"
    "          convcalc check stem backbone -f junit > convcalc.xml\n"
    "          convcalc check --update",
)
def check(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME]...", help="The checks to run; every one if none is named.", show_default=False
        ),
    ] = None,
    pattern: Annotated[
        str | None,
        typer.Option(
            "-k",
            metavar="PATTERN",
            help="Also the checks whose name matches PATTERN: a glob such as 'stem*', or a part of the name.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="The budgets file: a pyproject.toml with [tool.convcalc], or a convcalc.toml.",
            show_default="the nearest upward from here",
        ),
    ] = None,
    snapshot: Annotated[
        str | None,
        typer.Option(
            "--snapshot",
            metavar="FILE",
            help="The snapshot to hold the figures to (or, with --update, to write).",
            show_default="the budgets file's, convcalc.lock.json beside it",
        ),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Write the snapshot: every figure of every check that ran, with the torch and convcalc "
            "versions. Figures that moved are listed, not failed.",
        ),
    ] = False,
    fmt: Annotated[
        CheckFormat,
        typer.Option("--format", "-f", metavar="FORMAT", help=f"Output format: {one_of(CheckFormat)}."),
    ] = CheckFormat.table,
    summary: Annotated[
        str | None,
        typer.Option(
            "--summary",
            metavar="FILE",
            help='Also append the Markdown summary to FILE, such as "$GITHUB_STEP_SUMMARY".',
            show_default=False,
        ),
    ] = None,
) -> Outcome:
    """Run the checks of a budgets file ([tool.convcalc.checks] in pyproject.toml, or convcalc.toml),
    each a convcalc command line, in one process: torch imported once, each model traced once. A check
    passes when its --expect clauses hold, torch agrees, and no figure moved from the snapshot beyond
    its tolerance. Exit code: 0 all passed; 1 one failed; 2 the file, a check or the snapshot is
    invalid, or a check could not run. The budgets file and the snapshot: docs/ci.md."""
    if summary is not None:
        _check_summary(summary)
    make = partial(check_report, config, names, pattern=pattern, snapshot=snapshot, update=update)
    return Outcome(
        make if summary is None else partial(_summarised, make, summary),
        lambda report: render_check(report, fmt.value, **stream(fmt)),
        problems=failure_lines if fmt is not CheckFormat.table else _said,  # a table says them
        verdict=lambda report: report.exit_code,
    )


def _check_summary(path: str) -> None:
    """Refuse, before any check runs, a --summary file that cannot be appended to."""
    target = Path(path)
    if target.is_dir() or not target.parent.is_dir():
        raise ConvCalcError(f"--summary {path}: {'a directory' if target.is_dir() else 'no such directory'}")
    if not os.access(target if target.exists() else target.parent, os.W_OK):
        raise ConvCalcError(f"--summary {path}: not writable")


def _summarised(make: Any, path: str) -> CheckReport:
    """The report, its Markdown summary appended to path (as `>> $GITHUB_STEP_SUMMARY` would)."""
    report = make()
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(markdown(report))
    except OSError as exc:
        raise ConvCalcError(f"--summary {path}: cannot write it ({exc.strerror})") from None
    return report


def _said(report: CheckReport) -> list[str]:
    return []

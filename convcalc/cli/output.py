"""How a command ends: the report written where it goes, each problem on stderr, the exit code."""

from __future__ import annotations

from typing import Any

import typer

from ..render.lines import value_text
from . import emit
from .options import Format


def problem_lines(report: Any) -> list[str]:
    """One line per figure torch disagreed with (prefixed by its variant or layer) and per unmet --expect."""
    lines = [
        f"MISMATCH {prefix}{c.key}: analytic {c.analytic} but torch measured {c.measured}"
        for prefix, c in report.mismatches()
    ]
    return lines + [
        f"expectation not met: {e.key}{e.op}{e.expected}, actual {value_text(e.key, e.actual)}"
        for e in report.expectations
        if not e.ok
    ]


def finish(text: str, report: Any) -> None:
    """Write the report's text, then each of its problems to stderr. Exit 1 if anything disagreed or was
    not met, even when the output could not be written: a CI check's verdict outranks the stream's trouble."""
    problems = problem_lines(report)
    failed = emit.write(text)
    for line in problems:
        emit.warn(f"convcalc: {line}")
    raise typer.Exit(1 if not report.ok else failed or 0)


def stream(fmt: Format) -> dict[str, Any]:
    """How the output must look where it goes: width (None for a pipe), colour, ASCII."""
    return {
        "width": emit.width(),
        "color": fmt is Format.table and emit.is_terminal(),
        "ascii_only": emit.ascii_only(),
    }

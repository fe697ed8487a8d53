"""How a command ends: the report written where it goes, each problem on stderr, the exit code.

A command reads its options and returns what it was asked for as an Outcome; the group (group.py) makes
the report and writes it. `convcalc check` runs the same commands and takes their reports unwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..render.lines import mismatch_lines, unmet_lines
from . import emit


def problem_lines(report: Any) -> list[str]:
    """One line per figure torch disagreed with (prefixed by its variant or layer) and per unmet --expect."""
    return mismatch_lines(report) + unmet_lines(report.expectations)


def exit_code(report: Any) -> int:
    """A report's exit code: 1 if torch disagreed or an --expect was not met, else 0."""
    return 0 if report.ok else 1


@dataclass(frozen=True)
class Outcome:
    """What a command was asked for, its options read and checked: make() does the work (analysis,
    torch, the user's model) and returns the report; text() writes a report as the command line asked
    (format, columns, width). The group calls both; `convcalc check` only make()."""

    make: Callable[[], Any]
    text: Callable[[Any], str | Iterable[str]]  # the text, or its pieces in order
    problems: Callable[[Any], list[str]] = problem_lines  # each a line on stderr
    verdict: Callable[[Any], int] = exit_code

    def finish(self) -> int:
        """Make the report, write its text, then each of its problems to stderr; the exit code. The
        report's verdict (1 if anything disagreed or was not met) stands even when the output could not
        be written: a CI check's verdict outranks the stream's trouble."""
        report = self.make()
        text = self.text(report)
        problems = self.problems(report)
        failed = emit.write(text)
        for line in problems:
            emit.warn(f"convcalc: {line}")
        return self.verdict(report) or failed or 0


def stream(fmt: Enum) -> dict[str, Any]:
    """How the output must look where it goes: width (None for a pipe), colour, ASCII."""
    return {
        "width": emit.width(),
        "color": fmt.value == "table" and emit.is_terminal(),
        "ascii_only": emit.ascii_only(),
    }

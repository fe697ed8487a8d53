"""Turn a Report (conv_report) into text: a rich table for people; JSON, CSV, Markdown and LaTeX to paste.

Returns strings and never prints.
"""

from __future__ import annotations

from ..core.conventions import CONVENTION, TRAINING_CONVENTION
from ..core.results import Check, Report
from .bench import bench_lines
from .cells import MARK, TEXT, Cell
from .lines import (
    check_format,
    expectation_lines,
    input_line,
    kind_of,
    padding_lines,
    to_json,
    verification_line,
    warning_lines,
)
from .sheet import Column, Sheet, write


def render_conv(
    report: Report,
    fmt: str = "table",
    *,
    width: int | None = 100,
    color: bool = False,
    ascii_only: bool = False,
) -> str:
    """A conv_report() in one of FORMATS."""
    check_format(fmt, explain=bool(report.explanation))
    if fmt == "json":
        return to_json(report.to_dict(), ascii_only)
    sheet = conv_sheet(report, versions=fmt != "latex")  # a paper's table names no tool versions
    return write(sheet, fmt, width=width, color=color, ascii_only=ascii_only)


def conv_sheet(report: Report, versions: bool = True) -> Sheet:
    """One row per figure; the torch columns only when torch ran; versions False for a paper (LaTeX)."""
    verified = report.verification is not None
    # CSV headers (keys) are those of the JSON `checks`.
    columns = [Column("figure", wrap=12, key="figure"), Column("convcalc", "r", key="analytic")]
    if verified:
        columns += [
            Column("torch", "r", key="measured"),
            Column("match", "c", key="ok"),
            Column("how torch counted", dim=True, wrap=16, moves=1, key="note"),
        ]
    checks = report.checks()
    rows = [_row(c, verified) for c in checks]
    return Sheet(
        title=report.result.layer,
        columns=columns,
        rows=rows,
        notes=headline(report, versions),
        extra=list(report.explanation),
        csv_prefix=[("layer", [report.result.layer] * len(checks)), ("key", [c.key for c in checks])],
        label="tab:convcalc-conv",
    )


def _row(c: Check, verified: bool) -> list[Cell]:
    kind = kind_of(c.key, c.analytic)
    row = [(TEXT, c.label), (kind, c.analytic)]
    if verified:
        row += [(kind, c.measured), (MARK, c.ok), (TEXT, c.note)]
    return row


def headline(report: Report, versions: bool = True) -> list[str]:
    """The lines that go with every table: input, dtype, how it was verified, convention."""
    r = report.result
    return [
        input_line(r.spec, r.input_shape, r.memory.dtype),
        *padding_lines(r.spec),
        verification_line(report, versions),
        *warning_lines([report.verification]),
        *bench_lines(report.bench),
        *expectation_lines(report.expectations),
        CONVENTION,
        *([TRAINING_CONVENTION] if report.training else []),
    ]

"""Turn a Report into text: a rich table for people; JSON, CSV, Markdown and LaTeX to paste.

Returns strings and never prints.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from ..core.backward import TRAINING_CONVENTION
from ..core.errors import FormatError
from ..core.results import CONVENTION, Check, Report
from .bench import bench_lines
from .sheet import BYTES, COUNT, MARK, SHAPE, TEXT, Cell, Column, Sheet, shape_text, text, write

FORMATS = ("table", "json", "csv", "markdown", "latex")


def render(
    report: Any,
    fmt: str = "table",
    *,
    width: int | None = 100,
    color: bool = False,
    ascii_only: bool = False,
    columns: Sequence[str] | None = None,
) -> str:
    """The report in one of FORMATS: width None for a pipe; ascii_only for a stream that is not Unicode;
    columns, a network table's (as --columns: kind, output, params, ...).

    Takes a Report (conv_report), a CompareReport (compare_report, passed on to render_compare) or a
    NetworkReport (stack_report, model_report, passed on to render_network with its default columns).
    """
    if not isinstance(report, Report):
        from ..core.compare import CompareReport
        from ..core.network import NetworkReport
        from .compare import render_compare
        from .network import render_network

        stream = {"width": width, "color": color, "ascii_only": ascii_only}
        if isinstance(report, CompareReport):
            return render_compare(report, fmt, **stream)
        if isinstance(report, NetworkReport):
            return render_network(report, fmt, **stream, **({"columns": columns} if columns else {}))
        raise TypeError(
            "render() takes a report from conv_report(), compare_report(), stack_report() or "
            f"model_report(); got {type(report).__name__}"
        )
    check_format(fmt, explain=bool(report.explanation))
    if fmt == "json":
        return to_json(report.to_dict(), ascii_only)
    sheet = conv_sheet(report, versions=fmt != "latex")  # a paper's table names no tool versions
    return write(sheet, fmt, width=width, color=color, ascii_only=ascii_only)


def check_format(fmt: str, explain: bool) -> None:
    """Refuse, before any work, a format convcalc does not write, and what a format cannot hold: CSV has
    no place for --explain's lines."""
    if fmt not in FORMATS:
        raise FormatError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if explain and fmt == "csv":
        raise FormatError("--explain cannot be written as CSV; use -f table, markdown, json or latex")


def to_json(data: Any, ascii_only: bool = False) -> str:
    """JSON as UTF-8 text, or with \\u escapes for an ASCII stream: the same data either way."""
    return json.dumps(data, indent=2, ensure_ascii=ascii_only) + "\n"


def kind_of(key: str, value: Any) -> str:
    """How a figure is written, from its key."""
    if isinstance(value, tuple):
        return SHAPE
    if isinstance(value, str):  # "yes"/"no" of the torch_accepts row
        return TEXT
    return BYTES if key.endswith("bytes") else COUNT


def value_text(key: str, value: Any) -> str:
    return text(kind_of(key, value), value)


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


def verification_line(verification: Any, versions: bool = True) -> str:
    """How torch verified, with which versions (left out of a paper's table), and the verdict."""
    v = verification
    if v is None:
        return "analytic only (--no-verify): nothing was confirmed by torch"
    if v.mode == "skipped":
        return f"{v.reason} (torch {v.torch_version})" if versions else v.reason
    tools = f"torch {v.torch_version}" + (f", torchinfo {v.torchinfo_version}" if v.torchinfo_version else "")
    compared = [c for c in v.checks if c.ok is not None]
    differ = [c.label for c in compared if not c.ok]
    verdict = (
        f"all {len(compared)} compared figures agree"
        if not differ
        else f"{len(differ)} of {len(compared)} figures DIFFER: {', '.join(differ)}"
    )
    if v.mode == "meta":  # say plainly which rows were only computed
        verdict += "; the memory rows are not measured, since the meta device allocates nothing"
    return "; ".join([f"verified on {v.device}: {v.reason}", *([tools] if versions else []), verdict])


def input_line(spec: Any, input_shape: tuple[int, ...], dtype: str) -> str:
    default = " (default --input; set it with -i)" if spec.default_input else ""
    return f"input {shape_text(input_shape)}{default}, {dtype}"


def warning_lines(verifications: Any, names: Sequence[str] = ()) -> list[str]:
    """What torch warned while it ran, once each, as convcalc notes; then where each --backward training
    step ran, once each, with the names (a compare's variants) it holds for where several differ."""
    pairs = [(v, name) for v, name in itertools.zip_longest(verifications, names, fillvalue="") if v]
    seen = dict.fromkeys(w for v, _ in pairs for w in v.warnings)
    steps: dict[str, list[str]] = {}
    for v, name in pairs:
        if v.training_step:
            steps.setdefault(v.training_step, []).append(name)
    lines = [f"torch warned: {w}" for w in seen]
    for step, holders in steps.items():
        who = ", ".join(holders) + ": " if len(steps) > 1 and all(holders) else ""
        lines.append(f"--backward: {who}{step}")
    return lines


def expectation_lines(expectations: Any) -> list[str]:
    return [
        f"expect {e.key}{e.op}{e.expected}: {'ok' if e.ok else 'NOT MET'}"
        f" (actual {value_text(e.key, e.actual)})"
        for e in expectations
    ]


def headline(report: Report, versions: bool = True) -> list[str]:
    """The lines that go with every table: input, dtype, how it was verified, convention."""
    r = report.result
    return [
        input_line(r.spec, r.input_shape, r.memory.dtype),
        verification_line(report.verification, versions),
        *warning_lines([report.verification]),
        *bench_lines(report.bench),
        *expectation_lines(report.expectations),
        CONVENTION,
        *([TRAINING_CONVENTION] if report.training else []),
    ]


def differing(report: Report) -> list[Check]:
    """Rows where torch disagrees with the analytic figure."""
    return [c for c in report.checks() if c.ok is False]

"""render(): any report as text, passed to the writer of its kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.compare import CompareReport
from ..core.network import NetworkReport
from ..core.results import Report
from .compare import render_compare
from .conv import render_conv
from .network import render_network


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
    stream = {"width": width, "color": color, "ascii_only": ascii_only}
    if isinstance(report, Report):
        return render_conv(report, fmt, **stream)
    if isinstance(report, CompareReport):
        return render_compare(report, fmt, **stream)
    if isinstance(report, NetworkReport):
        return render_network(report, fmt, **stream, **({"columns": columns} if columns else {}))
    raise TypeError(
        "render() takes a report from conv_report(), compare_report(), stack_report() or "
        f"model_report(); got {type(report).__name__}"
    )

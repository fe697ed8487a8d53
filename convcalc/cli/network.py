"""What `convcalc stack` and `convcalc model` share: their --input and --columns, and how they end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..core.errors import ConvCalcError, InvalidSpecError, printable
from ..core.network import NetworkReport
from ..core.spec import parse_count, parse_size
from ..render.network import COLUMNS, DEFAULT_COLUMNS, check_columns, network_chunks
from .options import Format
from .output import Outcome, stream

ALL_DEFAULT = ",".join(DEFAULT_COLUMNS)
NetInput = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        metavar="SIZE",
        help="Input per sample, channels first: 3x224x224, 16x100 (CxL), 1x32x64x64 (CxDxHxW) or 64 "
        "(features); an inline SPEC needs it, a spec file may name its own.",
        show_default=False,
    ),
]
Columns = Annotated[
    str,
    typer.Option(metavar="LIST", help=f"Table columns, comma-separated, from: {', '.join(COLUMNS)}."),
]


_BACKWARD_COLUMNS = ["bwd-macs", "saved"]


def columns_option(text: str, backward: bool, command: str = "stack") -> list[str]:
    """--columns as a list; a stack's default gains --backward's columns when it is given. Those columns
    are refused where they would stay empty: without --backward, and on a model (counted as a whole)."""
    columns = list(dict.fromkeys(c.strip().lower() for c in text.split(",") if c.strip()))
    check_columns(columns)
    asked = [c for c in columns if c in _BACKWARD_COLUMNS]
    if asked and (command == "model" or not backward):
        why = "a model's step is counted as a whole" if command == "model" else "they need --backward"
        raise ConvCalcError(f"--columns: {','.join(asked)}: no per-layer figures to show; {why}")
    return columns + _BACKWARD_COLUMNS if backward and command == "stack" and text == ALL_DEFAULT else columns


def network_outcome(make: Callable[[], NetworkReport], fmt: Format, columns: list[str]) -> Outcome:
    """The report, to be written as a table of the columns chosen, or in another format."""
    return Outcome(make, lambda report: network_chunks(report, fmt.value, columns=columns, **stream(fmt)))


def network_input(text: str) -> list[int]:
    size = parse_size(text, "input_size")
    values = list(size) if isinstance(size, tuple) else [size]
    if len(values) > 4 or min(values) < 1:
        raise InvalidSpecError(
            "input_size", f"got {text!r}; use positive integers, channels first: C, CxL, CxHxW or CxDxHxW"
        )
    return values


def depth_option(text: str) -> int:
    depth = parse_count(text, "depth", "an integer >= 0")
    if depth < 0:
        raise InvalidSpecError("depth", f"got {depth}; it must be an integer >= 0")
    return depth


def title_of(spec: Any) -> str:
    return printable(spec if len(spec) <= 60 else spec[:57] + "...")

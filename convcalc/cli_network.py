"""`convcalc stack` and `convcalc model`: parse options, call the API, render, choose the exit code.

Registered on cli.app; the options they share with `conv` and `compare` come from cli.py, so each
means the same everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .api import model_report, stack_report
from .cli import (
    BackwardOpt,
    Batch,
    BenchOpt,
    Command,
    Device,
    DType,
    DTypeOpt,
    Expect,
    Format,
    FormatOpt,
    Full,
    PeakGbps,
    PeakTflops,
    Verify,
    _finish,
    _problems,
    _speed,
    _stream,
    app,
    no_digit_limit,
)
from .core.errors import ConvCalcError, InvalidSpecError, printable
from .core.network import NetworkReport
from .core.results import Check
from .core.spec import parse_count, parse_size
from .core.stackspec import PRESETS
from .render.network import COLUMNS, DEFAULT_COLUMNS, check_columns, render_network

_ALL_DEFAULT = ",".join(DEFAULT_COLUMNS)
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


def _columns(text: str, backward: bool, command: str = "stack") -> list[str]:
    """--columns as a list; a stack's default gains --backward's columns when it is given. Those columns
    are refused where they would stay empty: without --backward, and on a model (counted as a whole)."""
    columns = list(dict.fromkeys(c.strip().lower() for c in text.split(",") if c.strip()))
    check_columns(columns)
    asked = [c for c in columns if c in _BACKWARD_COLUMNS]
    if asked and (command == "model" or not backward):
        why = "a model's step is counted as a whole" if command == "model" else "they need --backward"
        raise ConvCalcError(f"--columns: {','.join(asked)}: no per-layer figures to show; {why}")
    return (
        columns + _BACKWARD_COLUMNS if backward and command == "stack" and text == _ALL_DEFAULT else columns
    )


def _exit(report: NetworkReport, fmt: Format, columns: list[str]) -> None:
    """Write the report; one MISMATCH line per figure torch disagreed with, exit 1 if any."""
    mismatches = [
        (f"{row.name}.", Check(key, key, analytic, measured, False))
        for row in report.layers
        for key, analytic, measured in row.mismatches()
    ]
    if report.verification:
        mismatches += [("", c) for c in report.verification.checks if c.ok is False]
    problems = _problems(mismatches, report.expectations)
    text = render_network(report, fmt.value, columns=columns, **_stream(fmt))
    _finish(text, report.ok, problems)


@app.command(
    cls=Command,
    short_help="A sequence of layers, every one confirmed by torch.",
    epilog="\b\nExamples: convcalc stack --preset mobilenet_v1\n"
    "          convcalc stack 'conv out=32 kernel=3 stride=2; bn; relu; dwsep out=64 kernel=3' -i 3x224x224",
)
def stack(
    spec: Annotated[
        str | None,
        typer.Argument(
            metavar="SPEC",
            help="A .toml or .json spec file, or the layers inline: 'conv out=16 kernel=3; bn; relu'.",
            show_default=False,
        ),
    ] = None,
    preset_name: Annotated[
        str | None,
        typer.Option(
            "--preset", metavar="NAME", help=f"A shipped spec instead of SPEC: {', '.join(PRESETS)}."
        ),
    ] = None,
    input_size: NetInput = None,
    batch: Batch = "1",
    dtype: DTypeOpt = DType.float32,
    device: Device = "cpu",
    verify: Verify = True,
    full: Full = False,
    fmt: FormatOpt = Format.table,
    expect: Expect = None,
    columns: Columns = _ALL_DEFAULT,
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
) -> None:
    """A stack of layers: each layer's figures and the totals, computed analytically, then confirmed by
    building the stack in torch as one nn.Sequential. Spec files are data: nothing in them is run.

    Layer kinds: conv, depthwise, pointwise, dwsep, bn, relu (and leaky, relu6, gelu, silu, sigmoid,
    tanh, identity), maxpool, avgpool, adaptive_avgpool, flatten, linear, dropout, repeat times=N [ ... ].
    Their fields, the TOML and JSON forms and the presets: docs/networks.md."""
    no_digit_limit()
    chosen = _columns(columns, backward)
    report = stack_report(
        spec,
        preset=preset_name,
        input_size=None if input_size is None else _input(input_size),
        batch=parse_count(batch, "--batch"),
        dtype=dtype.value,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
        title=None if spec is None else _title(spec),
        **_speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    _exit(report, fmt, chosen)


def _input(text: str) -> list[int]:
    size = parse_size(text, "--input")
    values = list(size) if isinstance(size, tuple) else [size]
    if len(values) > 4 or min(values) < 1:
        raise InvalidSpecError(
            "--input", f"got {text!r}; use positive integers, channels first: C, CxL, CxHxW or CxDxHxW"
        )
    return values


def _depth(text: str) -> int:
    depth = parse_count(text, "--depth", "an integer >= 0")
    if depth < 0:
        raise InvalidSpecError("--depth", f"got {depth}; it must be an integer >= 0")
    return depth


def _title(spec: Any) -> str:
    return printable(spec if len(spec) <= 60 else spec[:57] + "...")


@app.command(
    cls=Command,
    short_help="A torch model's layers and totals; imports and runs your code.",
    epilog="\b\nExample: convcalc model mypkg.nets:build -i 3x224x224 --expect 'macs<=600M'",
)
def model(
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET",
            help="package.module:callable or path/to/file.py:callable, returning an nn.Module. "
            "convcalc imports that module and calls it: this runs your code.",
            show_default=False,
        ),
    ],
    input_size: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="SIZE",
            help="Required. Input per sample, channels first: 3x224x224, 16x100 (CxL), 1x32x64x64.",
            show_default=False,
        ),
    ] = None,
    batch: Batch = "1",
    dtype: Annotated[
        DType | None,
        typer.Option(
            "--dtype",
            metavar="DTYPE",
            help="Convert the model to this element type.",
            show_default="the model's",
        ),
    ] = None,
    device: Annotated[
        str,
        typer.Option(metavar="DEVICE", help="meta (no weights allocated), cpu, cuda, cuda:N, mps or auto."),
    ] = "meta",
    depth: Annotated[str, typer.Option(metavar="N", help="Show modules nested up to N deep.")] = "3",
    fmt: FormatOpt = Format.table,
    expect: Expect = None,
    columns: Columns = _ALL_DEFAULT,
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
) -> None:
    """A torch model, built by your code and traced once (on the meta device unless --device says
    otherwise): every module's figures, convcalc's beside torch's where convcalc models the layer, and
    torch's own totals. Only this command imports and runs code you name."""
    no_digit_limit()
    chosen = _columns(columns, backward, "model")
    if input_size is None:
        raise ConvCalcError("--input: required for a model, e.g. --input 3x224x224 (channels first)")
    report = model_report(
        target,
        input_size=_input(input_size),
        batch=parse_count(batch, "--batch"),
        dtype=dtype and dtype.value,
        device=device,
        expect=expect or (),
        depth=_depth(depth),
        **_speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    _exit(report, fmt, chosen)

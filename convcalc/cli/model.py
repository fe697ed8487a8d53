"""`convcalc model`: a torch model's layers and totals; imports and runs the user's code."""

from __future__ import annotations

from typing import Annotated

import typer

from ..api import model_report
from ..core.errors import ConvCalcError
from ..core.spec import parse_count
from .command import Command, command_app
from .network import ALL_DEFAULT, Columns, columns_option, depth_option, finish_network, network_input
from .options import (
    BackwardOpt,
    Batch,
    BenchOpt,
    DType,
    Expect,
    Format,
    FormatOpt,
    PeakGbps,
    PeakTflops,
    no_digit_limit,
    speed,
)

command = command_app()  # this command alone; cli/group.py loads it when it runs


@command.command(
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
    columns: Columns = ALL_DEFAULT,
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
) -> None:
    """A torch model, built by your code and traced once (on the meta device unless --device says
    otherwise): every module's figures, convcalc's beside torch's where convcalc models the layer, and
    torch's own totals. Only this command imports and runs code you name."""
    no_digit_limit()
    chosen = columns_option(columns, backward, "model")
    if input_size is None:
        raise ConvCalcError("--input: required for a model, e.g. --input 3x224x224 (channels first)")
    report = model_report(
        target,
        input_size=network_input(input_size),
        batch=parse_count(batch, "batch"),
        dtype=dtype and dtype.value,
        device=device,
        expect=expect or (),
        depth=depth_option(depth),
        **speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    finish_network(report, fmt, chosen)

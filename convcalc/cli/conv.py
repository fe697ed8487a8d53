"""`convcalc conv`: one layer's figures, confirmed by torch."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Annotated

import typer

from ..api import conv_report
from ..core.errors import ConvCalcError
from ..core.spec import ConvSpec, parse_count, parse_size
from ..render.conv import render_conv
from ..render.lines import check_format
from .command import Command, command_app
from .options import (
    BackwardOpt,
    Batch,
    BenchOpt,
    CIn,
    COut,
    Device,
    Dilation,
    Dim,
    DType,
    DTypeOpt,
    Expect,
    Format,
    FormatOpt,
    Full,
    InputSize,
    Kernel,
    Padding,
    PaddingMode,
    PadMode,
    PeakGbps,
    PeakTflops,
    Stride,
    Verify,
    conv_spec,
    speed,
)
from .output import Outcome, stream

command = command_app()  # this command alone; cli/group.py loads it when it runs


@command.command(
    cls=Command,
    short_help="One layer's figures, confirmed by torch.",
    epilog="\b\nExample: convcalc conv 64 128 3 -p 1 -i 56 -g 2",  # \b: click never rewraps it
)
def conv(
    c_in: CIn,
    c_out: COut,
    kernel: Kernel,
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    output_padding: Annotated[
        str, typer.Option(metavar="SIZE", help="Extra output size of a transposed conv: 1, or 1x0.")
    ] = "0",
    output_size: Annotated[
        str | None,
        typer.Option(
            metavar="SIZE",
            help="Output size of a transposed conv, as torch's forward takes output_size: 16, or 16x8. "
            "It sets --output-padding.",
            show_default=False,
        ),
    ] = None,
    groups: Annotated[
        str, typer.Option("--groups", "-g", metavar="N", help="Groups; must divide C_IN and C_OUT.")
    ] = "1",
    depthwise: Annotated[bool, typer.Option("--depthwise", help="Depthwise: groups = C_IN.")] = False,
    bias: Annotated[
        bool, typer.Option("--bias/--no-bias", help="Learnable bias, as torch's default.")
    ] = True,
    transposed: Annotated[
        bool, typer.Option("--transposed", "-T", help="ConvTranspose instead of Conv.")
    ] = False,
    dim: Dim = None,
    padding_mode: PadMode = PaddingMode.zeros,
    input_size: InputSize = None,
    batch: Batch = "1",
    dtype: DTypeOpt = DType.float32,
    device: Device = "cpu",
    verify: Verify = True,
    full: Full = False,
    fmt: FormatOpt = Format.table,
    expect: Expect = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each formula with the numbers filled in.")
    ] = False,
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
) -> Outcome:
    """One convolution layer: figures computed analytically, then confirmed by the real torch layer."""
    check_format(fmt.value, explain)
    count = parse_count(groups, "groups")
    spec = conv_spec(
        locals(),
        groups=1 if depthwise else count,
        bias=bias,
        transposed=transposed,
        output_padding=parse_size(output_padding, "output_padding", minimum=0),
        output_size=None if output_size is None else parse_size(output_size, "output_size"),
    )
    if depthwise:
        spec = _depthwise(spec, count)
    make = partial(
        conv_report,
        spec,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
        explain=explain,
        **speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    return Outcome(make, lambda report: render_conv(report, fmt.value, **stream(fmt)))


def _depthwise(spec: ConvSpec, groups: int) -> ConvSpec:
    """--depthwise: one group per input channel, unless --groups says otherwise."""
    if groups not in (1, spec.in_channels):
        raise ConvCalcError(
            f"--depthwise sets groups to C_IN={spec.in_channels}; drop --groups {groups} or --depthwise"
        )
    return replace(spec, groups=spec.in_channels)

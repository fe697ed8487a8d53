"""`convcalc compare`: a layer beside its grouped, depthwise and separable kin."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from ..api import compare_report
from ..core.kinds import ACTIVATIONS
from ..core.spec import parse_count
from ..render.compare import plot_compare, render_compare
from ..render.plot import check_plot_path
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
    PlotOpt,
    Stride,
    Verify,
    conv_spec,
    one_of,
    speed,
)
from .output import finish, stream

command = command_app()  # this command alone; cli/group.py loads it when it runs


Activation = Enum("Activation", {a: a for a in ACTIVATIONS}, type=str)


@command.command(
    cls=Command,
    short_help="A layer beside its grouped, depthwise and separable kin.",
    epilog="\b\nExample: convcalc compare 64 128 3 -p 1 -i 56 -g 2 -g 32",
)
def compare(
    c_in: CIn,
    c_out: COut,
    kernel: Kernel,
    groups: Annotated[
        list[str] | None,
        typer.Option(
            "--groups",
            "-g",
            metavar="N",
            help="Groups of a grouped variant; repeatable.",
            show_default="up to four common divisors",
        ),
    ] = None,
    multiplier: Annotated[
        str, typer.Option("--multiplier", "-m", metavar="M", help="Depthwise channel multiplier.")
    ] = "1",
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    bias: Annotated[
        bool | None,
        typer.Option("--bias/--no-bias", help="Conv bias.", show_default="on, off with --bn"),
    ] = None,
    bn: Annotated[bool, typer.Option("--bn", help="BatchNorm after each convolution.")] = False,
    act: Annotated[
        Activation | None,
        typer.Option(metavar="NAME", help=f"Activation after each convolution: {one_of(ACTIVATIONS)}."),
    ] = None,
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
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
    plot: PlotOpt = None,
) -> None:
    """A standard convolution beside its grouped, depthwise, pointwise and separable alternatives."""
    spec = conv_spec(locals(), bias=(not bn) if bias is None else bias)
    if plot is not None:
        check_plot_path(plot)  # a bad path or no matplotlib: say so before any work
    report = compare_report(
        spec,
        groups=None if groups is None else [parse_count(g, "groups") for g in groups],
        multiplier=parse_count(multiplier, "multiplier"),
        bn=bn,
        act=act and act.value,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
        **speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    if plot is not None:
        plot_compare(report, plot)
    finish(render_compare(report, fmt.value, **stream(fmt)), report)

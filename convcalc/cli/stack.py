"""`convcalc stack`: a sequence of layers, every one confirmed by torch."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from ..api import stack_report
from ..core.spec import parse_count
from ..core.stack_grammar import PRESETS
from .command import Command, command_app
from .network import (
    ALL_DEFAULT,
    Columns,
    NetInput,
    columns_option,
    depth_option,
    network_input,
    network_outcome,
    title_of,
)
from .options import (
    BackwardOpt,
    Batch,
    BenchOpt,
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
    no_digit_limit,
    speed,
)
from .output import Outcome

command = command_app()  # this command alone; cli/group.py loads it when it runs


@command.command(
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
    columns: Columns = ALL_DEFAULT,
    depth: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Group the table's rows: 2, a layer with the batchnorm and activations after it; 1, also "
            "repeated blocks as one row (5 x); 0, the totals alone.",
            show_default="every layer",
        ),
    ] = None,
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
) -> Outcome:
    """A stack of layers: each layer's figures and the totals, computed analytically, then confirmed by
    building the stack in torch as one nn.Sequential. Spec files are data: nothing in them is run.

    Layer kinds: conv, depthwise, pointwise, dwsep, bn, relu (and leaky, relu6, gelu, silu, sigmoid,
    tanh, identity), dropout, maxpool, avgpool, adaptive_avgpool, upsample, flatten, linear,
    repeat times=N [ ... ].
    Their fields, the TOML and JSON forms and the presets: docs/networks.md."""
    no_digit_limit()
    chosen = columns_option(columns, backward)
    make = partial(
        stack_report,
        spec,
        preset=preset_name,
        input_size=None if input_size is None else network_input(input_size),
        batch=parse_count(batch, "batch"),
        dtype=dtype.value,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
        title=None if spec is None else title_of(spec),
        **speed(bench, peak_tflops, peak_gbps),
        backward=backward,
        depth=None if depth is None else depth_option(depth),
    )
    return network_outcome(make, fmt, chosen)

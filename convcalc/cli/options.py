"""Options shared by every command, so each means the same everywhere, and the layer they describe."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from ..core.spec import DTYPE_BYTES, PADDING_MODES, ConvSpec, parse_count, parse_padding, parse_size
from ..render.lines import FORMATS

Format = Enum("Format", {f: f for f in FORMATS}, type=str)
DType = Enum("DType", {d: d for d in DTYPE_BYTES}, type=str)
PaddingMode = Enum("PaddingMode", {m: m for m in PADDING_MODES}, type=str)


def one_of(choices: Any) -> str:
    return ", ".join(c.value if isinstance(c, Enum) else c for c in choices)


# Options shared by every command, so each means the same everywhere. Counts and sizes are read as
# text and parsed by spec's one grammar, so every value is held to the same rule and message.
CIn = Annotated[str, typer.Argument(metavar="C_IN", help="Input channels.", show_default=False)]
COut = Annotated[str, typer.Argument(metavar="C_OUT", help="Output channels.", show_default=False)]
Kernel = Annotated[
    str, typer.Argument(metavar="KERNEL", help="Kernel size: 3, or one per dimension: 3x5, 3x3x3.")
]
Stride = Annotated[str, typer.Option("--stride", "-s", metavar="SIZE", help="Stride: 2, or 2x1.")]
Padding = Annotated[
    str,
    typer.Option(
        "--padding",
        "-p",
        metavar="PADDING",
        help="Padding: 1, 1x2, same, valid, tf-same (TensorFlow's 'SAME', any stride), or before+after "
        "per side: 0+1, 0+1x1.",
    ),
]
Dilation = Annotated[str, typer.Option("--dilation", "-d", metavar="SIZE", help="Dilation: 2, or 2x1.")]
Dim = Annotated[
    str | None, typer.Option(metavar="N", help="1, 2 or 3; inferred from sizes like 3x3x3, else 2.")
]
PadMode = Annotated[
    PaddingMode, typer.Option(metavar="MODE", help=f"How torch pads: {one_of(PADDING_MODES)}.")
]
InputSize = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        metavar="SIZE",
        help="Input spatial size: 32, or 32x32; 224 per dimension if not given.",
    ),
]
Batch = Annotated[str, typer.Option("--batch", "-b", metavar="N", help="Batch size.")]
DTypeOpt = Annotated[
    DType,
    typer.Option(
        "--dtype", metavar="DTYPE", help=f"Element type for memory and the real layer: {one_of(DType)}."
    ),
]
Device = Annotated[str, typer.Option(metavar="DEVICE", help="cpu, cuda, cuda:N, mps, meta or auto.")]
Verify = Annotated[
    bool,
    typer.Option(
        "--verify/--no-verify", help="Confirm every figure in torch, or give the analytic figures only."
    ),
]
Full = Annotated[bool, typer.Option("--full", help="Run the real forward pass even when it looks too big.")]
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", metavar="FORMAT", help=f"Output format: {one_of(Format)}.")
]
Expect = Annotated[
    list[str] | None,
    typer.Option(
        metavar="NAME=VALUE",
        help="A figure to check: params=270, a bound such as 'macs>=1M', output=1x10x30x30; repeatable.",
    ),
]

BenchOpt = Annotated[
    bool,
    typer.Option(
        "--bench",
        help="Time the real forward pass (torch.utils.benchmark): latency, FLOP/s, memory traffic, "
        "intensity, roofline.",
    ),
]
PeakTflops = Annotated[
    float | None,
    typer.Option(
        metavar="TFLOPS", help="The device's peak TFLOP/s, for --bench's roofline.", show_default=False
    ),
]
PeakGbps = Annotated[
    float | None,
    typer.Option(
        metavar="GBPS",
        help="The device's peak memory bandwidth in GB/s, for --bench's roofline.",
        show_default=False,
    ),
]

BackwardOpt = Annotated[
    bool,
    typer.Option(
        "--backward",
        help="Add a training step: backward MACs (grad input, weight, bias) and training memory (weights, "
        "grads, SGD-momentum and Adam state, saved activations), confirmed by torch's own backward.",
    ),
]
PlotOpt = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="Also draw a plot for a paper: FILE.svg, .pdf or .png (needs the plot extra: "
        "pip install 'convcalc[plot]').",
        show_default=False,
    ),
]


def no_digit_limit() -> None:
    """Arguments and spec values are parsed (and capped at MAX_DIGITS); figures built from them, and
    integers a spec file holds, may be longer than Python's default limit on reading or writing one."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)


def conv_spec(options: dict[str, Any], **layer: Any) -> ConvSpec:
    """A ConvSpec from a command's shared options (its locals(), named as above), plus layer settings."""
    o = options
    no_digit_limit()
    return ConvSpec(
        parse_count(o["c_in"], "in_channels"),
        parse_count(o["c_out"], "out_channels"),
        parse_size(o["kernel"], "kernel_size"),
        stride=parse_size(o["stride"], "stride"),
        padding=parse_padding(o["padding"]),
        dilation=parse_size(o["dilation"], "dilation"),
        dim=None if o["dim"] is None else parse_count(o["dim"], "dim", "1, 2 or 3"),
        padding_mode=o["padding_mode"].value,
        batch=parse_count(o["batch"], "batch"),
        dtype=o["dtype"].value,
        input_size=None if o["input_size"] is None else parse_size(o["input_size"], "input_size"),
        **layer,
    )


def speed(bench: bool, peak_tflops: float | None, peak_gbps: float | None) -> dict[str, Any]:
    """--bench and its peaks, as the API takes them."""
    return {"bench": bench, "peak_tflops": peak_tflops, "peak_gbps": peak_gbps}

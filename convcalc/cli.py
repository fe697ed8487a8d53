"""The convcalc command: parse options, call the API, render, choose the exit code. No formulas here."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from enum import Enum
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__, emit
from .api import compare_report, conv_report
from .core.errors import ConvCalcError, InvalidSpecError
from .core.spec import DTYPE_BYTES, PADDING_MODES, ConvSpec, parse_count, parse_padding, parse_size
from .core.variants import ACTIVATIONS
from .render.compare import plot_compare, render_compare
from .render.layer import FORMATS, check_format, differing, render, value_text
from .render.plot import check_plot_path

Format = Enum("Format", {f: f for f in FORMATS}, type=str)
DType = Enum("DType", {d: d for d in DTYPE_BYTES}, type=str)
PaddingMode = Enum("PaddingMode", {m: m for m in PADDING_MODES}, type=str)


# click's error base, whether typer uses click or (since 0.2x) a vendored copy of it.
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class CleanHelp:
    """Help that reads as git's: no `<bool>` after a flag nor `<str>` after C_IN (its name says what it
    is), and `C_IN` rather than `{C_IN}` in the usage line."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if param.param_type_name == "argument":
                param.display_type_rich = _no_type
            elif getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]  # type: ignore[misc]


def _no_type(ctx: Any) -> None:
    return None


class Command(CleanHelp, TyperCommand):
    pass


class OneLineErrors(CleanHelp, TyperGroup):
    """Bad input of any kind -- click's usage errors and convcalc's own -- becomes one line and exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        argv = list(kwargs.get("args") or (args[0] if args else None) or sys.argv[1:])
        closed = emit.closed()  # nowhere to write: say so before any work
        if closed is not None:
            sys.exit(closed)
        try:
            code = super().main(*args, **kwargs)
        except (ClickException, ConvCalcError) as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `convcalc`: the help, as a usage error
                sys.exit(emit.write(exc.format_message() + "\n") or 2)
            message = exc.format_message() if isinstance(exc, ClickException) else str(exc)
            # pydantic's "Value error, " prefix on a choice typer validates adds nothing for a user
            message = (_negative_argument(exc, argv) or message).replace("Value error, ", "")
            emit.warn(f"convcalc: error: {message}")
            sys.exit(2)
        except typer.Abort:
            sys.exit(130)
        except OSError as exc:  # click printing --version or help to a closed pipe or a full disk
            if exc.errno not in emit.WRITE_ERRORS:
                raise
            sys.exit(emit.failed(exc))
        except SystemExit as exc:  # click or rich, printing to a closed pipe, exit 1 on their own
            if exc.code == 1 and emit.closed_by_reader():
                sys.exit(emit.BROKEN_PIPE)
            raise
        sys.exit(code if isinstance(code, int) else 0)


_NEGATIVE = re.compile(r"-\d", re.ASCII)


def _negative_argument(exc: Exception, argv: list[str]) -> str | None:
    """`conv -1 10 3`: click took -1 for an option. Name the argument it stood for, and the rule."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None or not _NEGATIVE.match(getattr(exc, "option_name", "") or ""):
        return None
    params = ctx.command.params
    arguments = [p for p in params if p.param_type_name == "argument"]
    takes_value = {o for p in params if p.param_type_name == "option" and not p.is_flag for o in p.opts}
    tokens = argv[argv.index(ctx.info_name) + 1 :] if ctx.info_name in argv else []
    position, value_next = 0, False
    for token in tokens:
        if value_next or (token.startswith("-") and not _NEGATIVE.match(token)):
            value_next = not value_next and token in takes_value  # an option, then maybe its value
        elif _NEGATIVE.match(token):
            if position >= len(arguments):  # one value too many: click's own message says enough
                return None
            shown = token if re.fullmatch(r"-\d+", token, re.ASCII) else repr(token)
            name = arguments[position].metavar
            return str(InvalidSpecError(name, f"got {shown}; it must be a positive integer"))
        else:
            position += 1
    return None


app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Parameters, MACs, FLOPs, output shape, receptive field and memory of convolution layers, "
    "computed analytically and confirmed by the real PyTorch layer.",
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """convcalc: a calculator for convolution layers."""


def _one_of(choices: Any) -> str:
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
    str, typer.Option("--padding", "-p", metavar="PADDING", help="Padding: 1, 1x2, same or valid.")
]
Dilation = Annotated[str, typer.Option("--dilation", "-d", metavar="SIZE", help="Dilation: 2, or 2x1.")]
Dim = Annotated[
    str | None, typer.Option(metavar="N", help="1, 2 or 3; inferred from sizes like 3x3x3, else 2.")
]
PadMode = Annotated[
    PaddingMode, typer.Option(metavar="MODE", help=f"How torch pads: {_one_of(PADDING_MODES)}.")
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
        "--dtype", metavar="DTYPE", help=f"Element type for memory and the real layer: {_one_of(DType)}."
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
    Format, typer.Option("--format", "-f", metavar="FORMAT", help=f"Output format: {_one_of(Format)}.")
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


def _spec(options: dict[str, Any], **layer: Any) -> ConvSpec:
    """A ConvSpec from a command's shared options (its locals(), named as above), plus layer settings."""
    o = options
    no_digit_limit()
    return ConvSpec(
        parse_count(o["c_in"], "C_IN"),
        parse_count(o["c_out"], "C_OUT"),
        parse_size(o["kernel"], "KERNEL"),
        stride=parse_size(o["stride"], "--stride"),
        padding=parse_padding(o["padding"]),
        dilation=parse_size(o["dilation"], "--dilation"),
        dim=None if o["dim"] is None else parse_count(o["dim"], "--dim", "1, 2 or 3"),
        padding_mode=o["padding_mode"].value,
        batch=parse_count(o["batch"], "--batch"),
        dtype=o["dtype"].value,
        input_size=None if o["input_size"] is None else parse_size(o["input_size"], "--input"),
        **layer,
    )


def _speed(bench: bool, peak_tflops: float | None, peak_gbps: float | None) -> dict[str, Any]:
    """--bench and its peaks, as the API takes them."""
    return {"bench": bench, "peak_tflops": peak_tflops, "peak_gbps": peak_gbps}


def _problems(mismatches: list[tuple[str, Any]], expectations: Any) -> list[str]:
    """One line per figure torch disagreed with (prefixed by its variant) and per unmet --expect."""
    lines = [
        f"MISMATCH {prefix}{c.key}: analytic {c.analytic} but torch measured {c.measured}"
        for prefix, c in mismatches
    ]
    return lines + [
        f"expectation not met: {e.key}{e.op}{e.expected}, actual {value_text(e.key, e.actual)}"
        for e in expectations
        if not e.ok
    ]


def _finish(text: str, ok: bool, problems: list[str]) -> None:
    """Write the output, then each problem to stderr. Exit 1 if anything disagreed or was not met,
    even when the output could not be written: a CI check's verdict outranks the stream's trouble."""
    failed = emit.write(text)
    for line in problems:
        emit.warn(f"convcalc: {line}")
    raise typer.Exit(1 if not ok else failed or 0)


def _stream(fmt: Format) -> dict[str, Any]:
    """How the output must look where it goes: width (None for a pipe), colour, ASCII."""
    return {
        "width": emit.width(),
        "color": fmt is Format.table and emit.is_terminal(),
        "ascii_only": emit.ascii_only(),
    }


@app.command(
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
) -> None:
    """One convolution layer: figures computed analytically, then confirmed by the real torch layer."""
    check_format(fmt.value, explain)
    count = parse_count(groups, "--groups")
    spec = _spec(
        locals(),
        groups=1 if depthwise else count,
        bias=bias,
        transposed=transposed,
        output_padding=parse_size(output_padding, "--output-padding", minimum=0),
    )
    if depthwise:
        spec = _depthwise(spec, count)
    report = conv_report(
        spec,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
        explain=explain,
        **_speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    problems = _problems([("", c) for c in differing(report)], report.expectations)
    _finish(render(report, fmt.value, **_stream(fmt)), report.ok, problems)


def _depthwise(spec: ConvSpec, groups: int) -> ConvSpec:
    """--depthwise: one group per input channel, unless --groups says otherwise."""
    if groups not in (1, spec.in_channels):
        raise ConvCalcError(
            f"--depthwise sets groups to C_IN={spec.in_channels}; drop --groups {groups} or --depthwise"
        )
    return replace(spec, groups=spec.in_channels)


Activation = Enum("Activation", {a: a for a in ACTIVATIONS}, type=str)


@app.command(
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
        typer.Option(metavar="NAME", help=f"Activation after each convolution: {_one_of(ACTIVATIONS)}."),
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
    spec = _spec(locals(), bias=(not bn) if bias is None else bias)
    if plot is not None:
        check_plot_path(plot)  # a bad path or no matplotlib: say so before any work
    report = compare_report(
        spec,
        groups=None if groups is None else [parse_count(g, "--groups") for g in groups],
        multiplier=parse_count(multiplier, "--multiplier"),
        bn=bn,
        act=act and act.value,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
        **_speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    mismatches = [
        (f"{row.variant.name}.", c)
        for row in report.rows
        if row.verification
        for c in row.verification.checks
        if c.ok is False
    ]
    problems = _problems(mismatches, report.expectations)
    if plot is not None:
        plot_compare(report, plot)
    _finish(render_compare(report, fmt.value, **_stream(fmt)), report.ok, problems)


from . import cli_network  # noqa: E402, F401 -- registers `stack` and `model` on app

from . import cli_sweep  # noqa: E402, F401  # isort: skip -- registers `sweep` on app


def main() -> None:
    app(prog_name="convcalc")

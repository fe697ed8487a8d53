"""The convcalc command: parse options, call the API, render, choose the exit code. No formulas here."""

from __future__ import annotations

import shutil
import sys
from enum import Enum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from . import __version__
from .api import conv_report
from .compare import compare_report
from .errors import ConvCalcError
from .render import FORMATS, check_format, differing, render
from .render_compare import render_compare
from .spec import DTYPE_BYTES, PADDING_MODES, ConvSpec, parse_padding, parse_size
from .variants import ACTIVATIONS

Format = Enum("Format", {f: f for f in FORMATS}, type=str)
DType = Enum("DType", {d: d for d in DTYPE_BYTES}, type=str)
PaddingMode = Enum("PaddingMode", {m: m for m in PADDING_MODES}, type=str)


# click's error base, whether typer uses click or (since 0.2x) a vendored copy of it.
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class OneLineErrors(TyperGroup):
    """Bad input of any kind -- click's usage errors and convcalc's own -- becomes one line and exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except (ClickException, ConvCalcError) as exc:
            message = exc.format_message() if isinstance(exc, ClickException) else str(exc)
            if message:  # empty when click has just shown the help for a bare `convcalc`
                typer.echo(f"convcalc: error: {message}", err=True)
            sys.exit(2)
        except typer.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
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


# Options shared by every command, so each means the same everywhere.
CIn = Annotated[int, typer.Argument(help="Input channels.", show_default=False)]
COut = Annotated[int, typer.Argument(help="Output channels.", show_default=False)]
Kernel = Annotated[str, typer.Argument(help="Kernel size: 3, or one per dimension: 3x5, 3x3x3.")]
Stride = Annotated[str, typer.Option("--stride", "-s", help="Stride: int or 2x1.")]
Padding = Annotated[str, typer.Option("--padding", "-p", help="Padding: int, 1x2, same or valid.")]
Dilation = Annotated[str, typer.Option("--dilation", "-d", help="Dilation: int or 2x2.")]
Dim = Annotated[int | None, typer.Option(help="1, 2 or 3; inferred from sizes like 3x3x3, else 2.")]
PadMode = Annotated[PaddingMode, typer.Option(help="How torch pads.")]
InputSize = Annotated[
    str | None, typer.Option("--input", "-i", help="Input spatial size: int or 32x32 [default: 224].")
]
Batch = Annotated[int, typer.Option("--batch", "-b", help="Batch size.")]
DTypeOpt = Annotated[DType, typer.Option("--dtype", help="Element type for memory and the real layer.")]
Device = Annotated[str, typer.Option(help="cpu, cuda, cuda:N, mps, meta or auto.")]
Verify = Annotated[
    bool,
    typer.Option("--verify/--no-verify", help="Confirm in torch (--no-verify: analytic only, no torch)."),
]
Full = Annotated[bool, typer.Option("--full", help="Run the real forward pass even when it looks too big.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
Expect = Annotated[
    list[str] | None,
    typer.Option(help="NAME=VALUE to check, e.g. params=270, macs=2.3M, output=1x10x30x30; repeatable."),
]


def _spec(options: dict[str, Any], **layer: Any) -> ConvSpec:
    """A ConvSpec from a command's shared options (its locals(), named as above), plus layer settings."""
    o = options
    if hasattr(sys, "set_int_max_str_digits"):
        # Arguments are parsed (and capped at MAX_DIGITS); figures built from them may be longer.
        sys.set_int_max_str_digits(0)
    return ConvSpec(
        o["c_in"],
        o["c_out"],
        parse_size(o["kernel"], "KERNEL"),
        stride=parse_size(o["stride"], "--stride"),
        padding=parse_padding(o["padding"]),
        dilation=parse_size(o["dilation"], "--dilation"),
        dim=o["dim"],
        padding_mode=o["padding_mode"].value,
        batch=o["batch"],
        dtype=o["dtype"].value,
        input_size=parse_size(o["input_size"], "--input") if o["input_size"] else None,
        **layer,
    )


def _problems(mismatches: list[tuple[str, Any]], expectations: Any) -> list[str]:
    """One line per figure torch disagreed with (prefixed by its variant) and per unmet --expect."""
    lines = [
        f"MISMATCH {prefix}{c.key}: analytic {c.analytic} but torch measured {c.measured}"
        for prefix, c in mismatches
    ]
    return lines + [
        f"expectation not met: {e.key}={e.expected}, actual {e.actual}" for e in expectations if not e.ok
    ]


def _finish(text: str, ok: bool, problems: list[str]) -> None:
    """Write the output, then each problem to stderr; exit 1 if anything disagreed or was not met."""
    typer.echo(text, nl=False)
    for line in problems:
        typer.echo(f"convcalc: {line}", err=True)
    raise typer.Exit(0 if ok else 1)


def _color(fmt: Format) -> bool:
    return fmt is Format.table and sys.stdout.isatty()


@app.command()
def conv(
    c_in: CIn,
    c_out: COut,
    kernel: Kernel,
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    output_padding: Annotated[str, typer.Option(help="Extra output size of a transposed conv.")] = "0",
    groups: Annotated[int, typer.Option("--groups", "-g", help="Groups; must divide C_IN and C_OUT.")] = 1,
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
    batch: Batch = 1,
    dtype: DTypeOpt = DType.float32,
    device: Device = "cpu",
    verify: Verify = True,
    full: Full = False,
    fmt: FormatOpt = Format.table,
    expect: Expect = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each formula with the numbers filled in.")
    ] = False,
) -> None:
    """One convolution layer: figures computed analytically, then confirmed by the real torch layer."""
    check_format(fmt.value, explain)
    if depthwise and groups not in (1, c_in):
        raise ConvCalcError(f"--depthwise sets groups to C_IN={c_in}; drop --groups {groups} or --depthwise")
    spec = _spec(
        locals(),
        groups=c_in if depthwise else groups,
        bias=bias,
        transposed=transposed,
        output_padding=parse_size(output_padding, "--output-padding"),
    )
    report = conv_report(spec, device=device, verify=verify, full=full, expect=expect or (), explain=explain)
    problems = _problems([("", c) for c in differing(report)], report.expectations)
    _finish(render(report, fmt.value, width=_width(), color=_color(fmt)), report.ok, problems)


Activation = Enum("Activation", {a: a for a in ACTIVATIONS}, type=str)


@app.command()
def compare(
    c_in: CIn,
    c_out: COut,
    kernel: Kernel,
    groups: Annotated[
        list[int] | None,
        typer.Option(
            "--groups",
            "-g",
            help="Grouped variants to show; repeatable [default: up to four common divisors].",
        ),
    ] = None,
    multiplier: Annotated[
        int, typer.Option("--multiplier", "-m", help="Depthwise channel multiplier M.")
    ] = 1,
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    bias: Annotated[
        bool | None, typer.Option("--bias/--no-bias", help="Conv bias [default: on, off with --bn].")
    ] = None,
    bn: Annotated[bool, typer.Option("--bn", help="BatchNorm after each convolution.")] = False,
    act: Annotated[
        Activation | None, typer.Option("--act", help="Activation after each convolution.")
    ] = None,
    dim: Dim = None,
    padding_mode: PadMode = PaddingMode.zeros,
    input_size: InputSize = None,
    batch: Batch = 1,
    dtype: DTypeOpt = DType.float32,
    device: Device = "cpu",
    verify: Verify = True,
    full: Full = False,
    fmt: FormatOpt = Format.table,
    expect: Expect = None,
) -> None:
    """A standard convolution beside its grouped, depthwise, pointwise and separable alternatives."""
    spec = _spec(locals(), bias=(not bn) if bias is None else bias)
    report = compare_report(
        spec,
        groups=groups,
        multiplier=multiplier,
        bn=bn,
        act=act and act.value,
        device=device,
        verify=verify,
        full=full,
        expect=expect or (),
    )
    mismatches = [
        (f"{row.variant.name}.", c)
        for row in report.rows
        if row.verification
        for c in row.verification.checks
        if c.ok is False
    ]
    problems = _problems(mismatches, report.expectations)
    _finish(render_compare(report, fmt.value, width=_width(), color=_color(fmt)), report.ok, problems)


def _width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def main() -> None:
    app(prog_name="convcalc")

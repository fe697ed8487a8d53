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
from .errors import ConvCalcError
from .render import FORMATS, differing, render
from .spec import DTYPE_BYTES, PADDING_MODES, ConvSpec, parse_padding, parse_size

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


SizeOpt = Annotated[str, typer.Option(help="An int, or one per dimension: 2x1.")]


@app.command()
def conv(
    c_in: Annotated[int, typer.Argument(help="Input channels.", show_default=False)],
    c_out: Annotated[int, typer.Argument(help="Output channels.", show_default=False)],
    kernel: Annotated[str, typer.Argument(help="Kernel size: 3, or one per dimension: 3x5, 3x3x3.")],
    stride: Annotated[str, typer.Option("--stride", "-s", help="Stride: int or 2x1.")] = "1",
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding: int, 1x2, same or valid.")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation: int or 2x2.")] = "1",
    output_padding: Annotated[str, typer.Option(help="Extra output size of a transposed conv.")] = "0",
    groups: Annotated[int, typer.Option("--groups", "-g", help="Groups; must divide C_IN and C_OUT.")] = 1,
    depthwise: Annotated[bool, typer.Option("--depthwise", help="Depthwise: groups = C_IN.")] = False,
    bias: Annotated[
        bool, typer.Option("--bias/--no-bias", help="Learnable bias, as torch's default.")
    ] = True,
    transposed: Annotated[
        bool, typer.Option("--transposed", "-T", help="ConvTranspose instead of Conv.")
    ] = False,
    dim: Annotated[
        int | None, typer.Option(help="1, 2 or 3; inferred from sizes like 3x3x3, else 2.")
    ] = None,
    padding_mode: Annotated[PaddingMode, typer.Option(help="How torch pads.")] = PaddingMode.zeros,
    input_size: Annotated[
        str | None, typer.Option("--input", "-i", help="Input spatial size: int or 32x32 [default: 224].")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", "-b", help="Batch size.")] = 1,
    dtype: Annotated[DType, typer.Option(help="Element type for memory and the real layer.")] = DType.float32,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N, mps, meta or auto.")] = "cpu",
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Confirm in torch (--no-verify: analytic only, torch is not imported).",
        ),
    ] = True,
    full: Annotated[
        bool, typer.Option("--full", help="Run the real forward pass even when it looks too big.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    expect: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE to check, e.g. params=270, macs=2.3M, output=1x10x30x30; repeatable."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each formula with the numbers filled in.")
    ] = False,
) -> None:
    """One convolution layer: figures computed analytically, then confirmed by the real torch layer."""
    if depthwise and groups not in (1, c_in):
        raise ConvCalcError(f"--depthwise sets groups to C_IN={c_in}; drop --groups {groups} or --depthwise")
    spec = ConvSpec(
        c_in,
        c_out,
        parse_size(kernel, "KERNEL"),
        stride=parse_size(stride, "--stride"),
        padding=parse_padding(padding),
        dilation=parse_size(dilation, "--dilation"),
        groups=c_in if depthwise else groups,
        bias=bias,
        transposed=transposed,
        output_padding=parse_size(output_padding, "--output-padding"),
        padding_mode=padding_mode.value,
        input_size=parse_size(input_size, "--input") if input_size else None,
        batch=batch,
        dtype=dtype.value,
        dim=dim,
    )
    report = conv_report(spec, device=device, verify=verify, full=full, expect=expect or (), explain=explain)
    color = fmt is Format.table and sys.stdout.isatty()
    typer.echo(render(report, fmt.value, width=_width(), color=color), nl=False)
    _tell_problems(report)
    raise typer.Exit(0 if report.ok else 1)


def _width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def _tell_problems(report: Any) -> None:
    """Mismatches and unmet expectations also go to stderr, so they show whatever the format."""
    for c in differing(report):
        typer.echo(
            f"convcalc: MISMATCH {c.key}: analytic {c.analytic} but torch measured {c.measured}", err=True
        )
    for e in report.expectations:
        if not e.ok:
            typer.echo(f"convcalc: expectation not met: {e.key}={e.expected}, actual {e.actual}", err=True)


def main() -> None:
    app(prog_name="convcalc")

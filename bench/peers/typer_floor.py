"""The start-up floor of a Typer CLI like convcalc's: `conv` with the same arguments and options, no torch.

    python bench/peers/typer_floor.py conv 6 10 3 -g 2 --no-bias --no-verify -f json

Parses exactly what `convcalc conv` parses (Annotated options, same types; the choices are copied so
that nothing of convcalc is imported) and prints one line. What convcalc takes beyond this is its own.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

Format = Enum("Format", {f: f for f in ("table", "json", "csv", "markdown", "latex")}, type=str)
DType = Enum("DType", {d: d for d in ("float32", "float16", "bfloat16", "float64")}, type=str)
PaddingMode = Enum("PaddingMode", {m: m for m in ("zeros", "reflect", "replicate", "circular")}, type=str)

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", is_eager=True)] = False) -> None:
    """A group, as convcalc is, so that `conv` is a subcommand."""


@app.command()
def conv(
    c_in: Annotated[int, typer.Argument()],
    c_out: Annotated[int, typer.Argument()],
    kernel: Annotated[str, typer.Argument()],
    stride: Annotated[str, typer.Option("--stride", "-s")] = "1",
    padding: Annotated[str, typer.Option("--padding", "-p")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d")] = "1",
    output_padding: Annotated[str, typer.Option()] = "0",
    groups: Annotated[int, typer.Option("--groups", "-g")] = 1,
    depthwise: Annotated[bool, typer.Option("--depthwise")] = False,
    bias: Annotated[bool, typer.Option("--bias/--no-bias")] = True,
    transposed: Annotated[bool, typer.Option("--transposed", "-T")] = False,
    dim: Annotated[int | None, typer.Option()] = None,
    padding_mode: Annotated[PaddingMode, typer.Option()] = PaddingMode.zeros,
    input_size: Annotated[str | None, typer.Option("--input", "-i")] = None,
    batch: Annotated[int, typer.Option("--batch", "-b")] = 1,
    dtype: Annotated[DType, typer.Option("--dtype")] = DType.float32,
    device: Annotated[str, typer.Option()] = "cpu",
    verify: Annotated[bool, typer.Option("--verify/--no-verify")] = True,
    full: Annotated[bool, typer.Option("--full")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    expect: Annotated[list[str] | None, typer.Option()] = None,
    explain: Annotated[bool, typer.Option("--explain")] = False,
    bench: Annotated[bool, typer.Option("--bench")] = False,
    peak_tflops: Annotated[float | None, typer.Option()] = None,
    peak_gbps: Annotated[float | None, typer.Option()] = None,
    backward: Annotated[bool, typer.Option("--backward")] = False,
) -> None:
    """Parse convcalc's conv options and print them in one line."""
    typer.echo(f"conv {c_in} {c_out} {kernel} groups={groups} bias={bias} verify={verify} format={fmt.value}")


if __name__ == "__main__":
    app(prog_name="typer_floor")

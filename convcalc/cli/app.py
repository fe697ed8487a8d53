"""The convcalc app: the command group every command registers on, with --version."""

from __future__ import annotations

from typing import Annotated

import typer

from ..version import __version__
from .group import OneLineErrors

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

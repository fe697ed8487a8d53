"""The command class every convcalc command uses: help that reads as git's."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand


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


def command_app() -> typer.Typer:
    """The Typer app one command registers on, read as the group's own would be (plain help)."""
    return typer.Typer(rich_markup_mode=None, add_completion=False)

"""The command group: help that reads as git's, and bad input of any kind as one line and exit 2."""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from ..core.errors import ConvCalcError, InvalidSpecError
from . import emit, words

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
            message = exc.format_message() if isinstance(exc, ClickException) else words.message(exc)
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

"""The command group: each command's module imported only when that command runs (start-up stays at the
floor of a Typer app), and bad input of any kind as one line and exit 2."""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from ..core.errors import ConvCalcError, InvalidSpecError, printable, short
from . import emit, words
from .command import CleanHelp, ClickException

LONGEST = 2000  # characters of an error line: the longest list of choices fits; a 5 KB value does not
INTERRUPTED = 130  # as a shell reports a process ended by SIGINT (128 + 2)
COMMANDS = ("conv", "compare", "stack", "model", "sweep", "check")  # in the order --help lists them


def command_module(name: str) -> Any:
    """The module of a command, imported when it is needed."""
    if name == "conv":
        from . import conv as module
    elif name == "compare":
        from . import compare as module
    elif name == "stack":
        from . import stack as module
    elif name == "model":
        from . import model as module
    elif name == "sweep":
        from . import sweep as module
    else:
        from . import check as module
    return module


class OneLineErrors(CleanHelp, TyperGroup):
    """The commands, loaded when asked for; bad input of any kind -- click's usage errors and convcalc's
    own -- becomes one line and exit 2."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name in COMMANDS and name not in self.commands:
            self.add_command(typer.main.get_command(command_module(name).command), name)
        return super().get_command(ctx, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        argv = list(kwargs.get("args") or (args[0] if args else None) or sys.argv[1:])
        closed = emit.closed()  # nowhere to write: say so before any work
        if closed is not None:
            sys.exit(closed)
        try:
            code = super().main(*args, **kwargs)
            if code is not None and not isinstance(code, int):  # a report: the command only made it
                from .output import Outcome  # loaded already by the command that made it

                assert isinstance(code, Outcome), code
                code = code.finish()
        except (ClickException, ConvCalcError) as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `convcalc`: the help, as a usage error
                sys.exit(emit.write(exc.format_message() + "\n") or 2)
            message = exc.format_message() if isinstance(exc, ClickException) else words.message(exc)
            # pydantic's "Value error, " prefix on a choice typer validates adds nothing for a user
            message = (_negative_argument(exc, argv) or message).replace("Value error, ", "")
            # one line, whatever a value held: escaped, and cut where a value made it unreadably long
            emit.warn(f"convcalc: error: {printable(short(message, LONGEST))}")
            sys.exit(2)
        except (typer.Abort, KeyboardInterrupt):
            emit.warn("convcalc: interrupted")
            sys.exit(INTERRUPTED)
        except OSError as exc:  # click printing --version or help to a closed pipe or a full disk
            if exc.errno not in emit.WRITE_ERRORS:
                raise
            sys.exit(emit.failed(exc))
        except SystemExit as exc:  # click or rich, printing to a closed pipe, exit 1 on their own
            if exc.code == 1 and emit.closed_by_reader():
                sys.exit(emit.BROKEN_PIPE)
            raise
        if code == INTERRUPTED:  # typer's answer to Ctrl-C, or to a model's code raising KeyboardInterrupt
            emit.warn("convcalc: interrupted")
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

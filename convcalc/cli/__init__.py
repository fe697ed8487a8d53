"""The convcalc command: one module per command (parse options, call the API, render, choose the exit
code), loaded only when that command runs (group.py); the options they share in options.py, how a
command ends in output.py, the options the library's messages name in words.py."""

from __future__ import annotations

from typing import NoReturn

from .app import app


def main() -> None:
    """Run the command line from Python: the command's outcome is a SystemExit, as click's."""
    app(prog_name="convcalc")


def entry() -> NoReturn:
    """The `convcalc` program: main(), then the process ends without the interpreter's teardown."""
    from . import emit

    emit.OWNS_PROCESS = True
    try:
        main()
    except SystemExit as stop:
        emit.end_process(stop.code)
    emit.end_process(0)

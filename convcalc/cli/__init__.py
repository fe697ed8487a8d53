"""The convcalc command: one module per command (parse options, call the API, render, choose the exit
code), loaded only when that command runs (group.py); the options they share in options.py, how a
command ends in output.py, the options the library's messages name in words.py."""

from __future__ import annotations

from .app import app


def main() -> None:
    app(prog_name="convcalc")

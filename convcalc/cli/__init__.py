"""The convcalc command: one module per command (parse options, call the API, render, choose the exit
code), the options they share in options.py, the group and its one-line errors in group.py."""

from __future__ import annotations

from . import compare, conv, model, stack, sweep  # noqa: F401 -- each registers its command on app
from .app import app


def main() -> None:
    app(prog_name="convcalc")

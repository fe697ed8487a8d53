"""Errors convcalc raises on purpose, in the library's own terms. The CLI turns ConvCalcError into one line
and exit code 2, naming each setting by the option the user typed (cli/words.py).

A message names a setting with term(): `term("stride")` reads `stride` from Python and in str(error),
`--stride` on the command line; `term("transposed=True")` reads `-T` there. One message, two readers,
the translation at the edge only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_MARK = "\x00"  # never in a message otherwise: user values reach messages through repr() or printable()
_TERM = re.compile(f"{_MARK}([^{_MARK}]*){_MARK}")


def term(name: str) -> str:
    """A setting named in a message: its Python name (or `name=value`), worded by whoever shows it."""
    return f"{_MARK}{name}{_MARK}"


def worded(message: str, words: Mapping[str, str] | None = None) -> str:
    """The message with each term as words give it, else as its Python name."""
    return _TERM.sub(lambda m: (words or {}).get(m[1], m[1]), message)


class ConvCalcError(Exception):
    """Base class: a problem with what the user asked for, not a bug in convcalc."""

    def __init__(self, message: str) -> None:
        self.template = message  # with its terms marked, for in_words()
        super().__init__(worded(message))

    def in_words(self, words: Mapping[str, str]) -> str:
        """The message with its settings named by words (the CLI's options, a spec's fields)."""
        return worded(self.template, words)


class InvalidSpecError(ConvCalcError, ValueError):
    """A layer setting breaks a rule torch enforces (or that convcalc enforces on purpose)."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.body = message  # the rule broken, terms marked: a message to wrap for another setting
        super().__init__(f"{term(param)}: {message}")

    def __reduce__(self) -> tuple:  # pickled (a process pool) as its two arguments, not its str
        return type(self), (self.param, self.body)


class DeviceError(ConvCalcError):
    """The device asked for cannot be used with the installed torch."""


class ExpectError(ConvCalcError, ValueError):
    """An --expect clause that cannot be read."""


class FormatError(ConvCalcError, ValueError):
    """An output format that cannot hold what was asked for, such as --explain as CSV."""


class SpecFileError(ConvCalcError, ValueError):
    """A stack spec (TOML, JSON or inline) that cannot be read: one line naming the layer and the field."""


class BudgetError(ConvCalcError, ValueError):
    """A budgets file, or a check in it, that cannot be run: one line naming the file, the check and the
    problem, before any check runs."""


class TargetError(ConvCalcError, ValueError):
    """`convcalc model`'s TARGET cannot be imported, found or built as a torch module: one line, exit 2."""


class SnapshotError(ConvCalcError, ValueError):
    """A snapshot (convcalc.lock.json) that is not convcalc's, is corrupt, or cannot be written."""


def printable(text: str) -> str:
    """Control characters (a newline, an ANSI escape) in a name or message shown escaped, as repr does:
    a user's module name or error must not break a table row or drive the terminal."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def short(name: str, most: int = 60) -> str:
    """A name as a message shows it: the start and the end of one too long to read whole."""
    return name if len(name) <= most else f"{name[: most // 2]}...{name[-(most // 3) :]}"

"""Errors convcalc raises on purpose. The CLI turns ConvCalcError into one line and exit code 2."""


class ConvCalcError(Exception):
    """Base class: a problem with what the user asked for, not a bug in convcalc."""


class InvalidSpecError(ConvCalcError, ValueError):
    """A layer setting breaks a rule torch enforces (or that convcalc enforces on purpose)."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(f"{param}: {message}")


class DeviceError(ConvCalcError):
    """The device asked for cannot be used with the installed torch."""


class ExpectError(ConvCalcError, ValueError):
    """An --expect clause that cannot be read."""


class FormatError(ConvCalcError, ValueError):
    """An output format that cannot hold what was asked for, such as --explain as CSV."""


class SpecFileError(ConvCalcError, ValueError):
    """A stack spec (TOML, JSON or inline) that cannot be read: one line naming the layer and the field."""


def printable(text: str) -> str:
    """Control characters (a newline, an ANSI escape) in a name or message shown escaped, as repr does:
    a user's module name or error must not break a table row or drive the terminal."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")

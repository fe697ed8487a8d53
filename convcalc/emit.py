"""Write the output as a Unix tool does: fit the stream it goes to, and fail in one line, not a traceback.

A terminal gets its own width; a pipe or a file gets whole lines, however long. A stream that cannot
carry Unicode (LANG=C, PYTHONIOENCODING=ascii or latin-1) gets ASCII. A reader that stops early (`| head`)
ends convcalc quietly; a stream that cannot be written (closed, a full disk) gets one line on stderr.
"""

from __future__ import annotations

import os
import shutil
import sys

# What a shell reports for a tool ended by SIGPIPE (128 + 13), as `seq 1000000 | head -1` shows.
BROKEN_PIPE = 141
CANNOT_WRITE = 2


def width() -> int | None:
    """The terminal's columns (COLUMNS wins, as for every tool); None for a pipe or a file."""
    if os.environ.get("COLUMNS", "").isdigit():
        return max(20, int(os.environ["COLUMNS"]))
    stream = sys.stdout
    if stream is not None and stream.isatty():
        return max(20, shutil.get_terminal_size((100, 24)).columns)
    return None


def is_terminal() -> bool:
    return sys.stdout is not None and sys.stdout.isatty()


def ascii_only() -> bool:
    """True when stdout's encoding cannot carry the box-drawing and maths characters of the output."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return not encoding.lower().replace("-", "").replace("_", "").startswith("utf")


def write(text: str) -> int | None:
    """Write text to stdout and flush it; None on success, else the exit code (a line is on stderr)."""
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        return _fail("standard output is closed")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE
    except (OSError, ValueError) as exc:  # ValueError: a stream closed from within (I/O on closed file)
        _silence_stdout()
        return _fail(getattr(exc, "strerror", None) or str(exc))
    return None


def warn(line: str) -> None:
    """One line on stderr, unless stderr too is gone."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _fail(why: str) -> int:
    warn(f"convcalc: error: cannot write the output: {why}")
    return CANNOT_WRITE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's own flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass

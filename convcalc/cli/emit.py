"""Write the output as a Unix tool does: fit the stream it goes to, and fail in one line, not a traceback.

A terminal gets its own width; a pipe or a file gets whole lines, however long. A stream whose encoding
cannot carry Unicode (PYTHONIOENCODING=ascii or latin-1, a non-UTF-8 locale) gets ASCII. A reader that
closes the pipe ends convcalc quietly (141); a stream that cannot be written (closed, a full disk, a
file-size limit) gets one line on stderr and exit 2.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import gc
import io
import os
import shutil
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

# What a shell reports for a tool ended by SIGPIPE (128 + 13), as `seq 1000000 | head -1` shows.
BROKEN_PIPE = 141
CANNOT_WRITE = 2
# The errors of a write to a stream that cannot take it: a closed pipe, a full or failing disk, a bad fd.
WRITE_ERRORS = {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF}


def width() -> int | None:
    """The terminal's columns (COLUMNS wins, as for every tool); None for a pipe or a file."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and int(columns) > 0:  # 0 or junk: unset, as shutil does
        return max(20, int(columns))
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


def write(text: str | Iterable[str]) -> int | None:
    """Write text, or its pieces in turn, to stdout and flush it; None on success, else the exit code
    (a line is on stderr). Pieces are made while writing, so that a big output is never held whole."""
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        return closed()
    for batch in _batches([text] if isinstance(text, str) else text):  # made outside the try: their
        try:  # own errors are not the stream's
            _write_all(sys.stdout, batch)
        except (OSError, ValueError) as exc:  # ValueError: a stream closed from within (I/O on closed file)
            return failed(exc)
    return None


BATCH = 1 << 20  # characters a write gathers from small pieces: few system calls, little held


def _batches(pieces: Iterable[str]) -> Iterator[str]:
    held: list[str] = []
    size = 0
    for piece in pieces:
        held.append(piece)
        size += len(piece)
        if size >= BATCH:
            yield "".join(held)
            held, size = [], 0
    if held:
        yield "".join(held)


def _write_all(stream: Any, text: str) -> None:
    """Every byte of text, or an OSError. Python's buffered stdout can drop the rest of a write that a
    pipe or a file-size limit took only in part, and exit 0 with the output cut; os.write does not."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file descriptor (a test runner's buffer)
        stream.write(text)
        stream.flush()
        return
    stream.flush()  # whatever was written through the stream before goes first
    if os.linesep != "\n":
        text = text.replace("\n", os.linesep)
    data = memoryview(text.encode(stream.encoding or "utf-8", errors="replace"))
    while data:
        written = os.write(fd, data)
        if not written:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        data = data[written:]


def failed(exc: Exception) -> int:
    """The exit code for a write to stdout that raised exc, with its line on stderr unless a pipe closed."""
    _silence(sys.stdout)
    if isinstance(exc, BrokenPipeError):
        return BROKEN_PIPE
    return _fail(getattr(exc, "strerror", None) or str(exc))


def closed_by_reader() -> bool:
    """True once click or rich met a broken pipe and exited 1: click then wraps stdout to ignore
    further flushes; rich points it at /dev/null."""
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError):
        return False


def closed() -> int | None:
    """Exit code when stdout was closed before convcalc started (`>&-`), else None."""
    return _fail("standard output is closed") if sys.stdout is None else None


def warn(line: str) -> None:
    """One line on stderr, unless stderr too is gone."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except (OSError, ValueError):
        _silence(sys.stderr)  # else Python's own flush at exit fails again and exits 120


def _fail(why: str) -> int:
    warn(f"convcalc: error: cannot write the output: {why}")
    return CANNOT_WRITE


def _silence(stream: Any) -> None:
    """Point stream at /dev/null so that Python's own flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


OWNS_PROCESS = False  # the convcalc program (cli.entry), which ends the process itself; not a caller's


def end_process(code: object) -> NoReturn:
    """End the process with the exit status SystemExit(code) would give, skipping the interpreter's
    teardown: unloading torch's modules one by one costs 0.5-0.9 s after the answer is out (more than
    the whole count of ResNet-50 on meta), and nothing is left for it to do. What a normal exit would
    still do is done first: the atexit hooks run, then every open file and the streams are flushed. A
    thread (not a daemon) or a worker process still running gets the normal exit, which waits for it."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("text"): the text on stderr, status 1
        warn(str(code))
        status = 1
    if _threads_running() or _workers_running():
        sys.exit(status)
    atexit._run_exitfuncs()
    _flush_files()
    status = _flush(sys.stdout, status)
    _flush(sys.stderr, status)
    os._exit(status)


_FILES = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)  # what a user's open() gives for writing


def _flush_files() -> None:
    """What a model wrote to a file it never closed, flushed as the teardown's closing would: every open
    file object still alive (40 ms among torch's 200,000 objects; by type(), which no proxy's __class__
    can answer with a warning)."""
    for found in gc.get_objects():
        if issubclass(type(found), _FILES) and found is not sys.stdout and found is not sys.stderr:
            with contextlib.suppress(Exception):  # closed, read-only, or its descriptor gone
                found.flush()


def _threads_running() -> bool:
    """Threads a normal exit would wait for; daemon threads it ends as os._exit does."""
    main = threading.main_thread()
    return any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())


def _workers_running() -> bool:
    multiprocessing = sys.modules.get("multiprocessing")  # never imported here only to ask
    return multiprocessing is not None and bool(multiprocessing.active_children())


def _flush(stream: Any, status: int) -> int:
    """Flush a stream as the interpreter would at exit; a stdout that cannot take it changes a
    successful status to the one a failed write gets."""
    if stream is None:
        return status
    try:
        stream.flush()
    except (OSError, ValueError) as exc:
        if stream is sys.stdout:
            code = failed(exc)
            return code if status == 0 else status
        _silence(stream)
    return status

"""A progress bar on stderr for a long trace: a model of many modules takes seconds to trace, and a
terminal that shows nothing for that long reads as a hang. Only on a terminal, only after 2 s."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

AFTER = 2.0  # seconds of silence before the bar appears
WIDTH = 30  # characters of the bar itself


class Bar:
    """Draws `tracing [#####.....] 12,345 of 100,001 modules` in place, at most ten times a second."""

    def __init__(self, stream: object) -> None:
        self.stream = stream
        self.start: float | None = None  # the first report of the trace under way
        self.drawn = 0.0  # when it was last drawn; 0: never

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if total == 0:  # the trace ended
            if self.drawn:
                self._write("\r\033[K")
            self.start, self.drawn = None, 0.0
            return
        self.start = self.start or now
        if now - self.start < AFTER or now - self.drawn < 0.1:
            return
        filled = WIDTH * done // max(total, 1)
        self._write(f"\rtracing [{'#' * filled}{'.' * (WIDTH - filled)}] {done:,} of {total:,} modules")
        self.drawn = now

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed stderr: no bar, the work goes on
            self.stream.write(text)  # type: ignore[attr-defined]
            self.stream.flush()  # type: ignore[attr-defined]


@contextlib.contextmanager
def progress_bar() -> Iterator[None]:
    """A bar for each trace inside, where stderr is a terminal."""
    stream = sys.stderr
    if stream is None or not stream.isatty():
        yield
        return
    from ..measure.trace import PROGRESS  # here: the trace's modules are not a start-up cost

    token = PROGRESS.set(Bar(stream))
    try:
        yield
    finally:
        PROGRESS.reset(token)

"""`convcalc sweep --verify`: every valid row's layer built on the meta device in a pool of processes.

Each worker builds the layer in torch (no weights allocated), runs it under the FLOP witness and
compares output shape, parameters and FLOPs with the row's analytic figures. Rows travel in chunks,
a bounded number in flight, and come back in order, so memory stays flat however long the sweep.
torch is imported inside the workers' functions only.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from ..core.analysis import analyze
from ..core.plan import FREE_SHARE, unrepresentable
from ..core.spec import ConvSpec
from ..core.sweep import MISMATCH, SweepRow
from .planned import free_memory

CHUNK = 32  # rows a worker verifies per task: milliseconds of work against one message each way
WORKER_BYTES = 320 << 20  # a worker's memory once it has imported torch and built a layer on meta
AHEAD = 4  # tasks in flight per worker: enough to keep it busy while the writer catches up
OK = "ok"

Task = list[tuple[tuple[Any, ...], tuple[Any, ...]] | None]  # per row: settings and figures, or None


def pool_size(jobs: int | None) -> int:
    """The workers a pool starts: as many as asked (the CPUs by default), but no more than the CPUs and
    what the free memory holds, each worker holding torch."""
    cpus = os.cpu_count() or 1
    wanted = cpus if jobs is None else jobs
    free = free_memory("cpu")
    room = max(1, int(free * FREE_SHARE) // WORKER_BYTES) if free is not None else cpus
    return max(1, min(wanted, cpus, room))


def verify_rows(rows: Iterable[SweepRow], jobs: int) -> Iterator[SweepRow]:
    """Each row with its verdict (SweepRow.verified), in order: 'ok', 'skipped: why', 'MISMATCH: ...',
    or '' for an invalid row (nothing to build). jobs 1 verifies in this process; more start a pool,
    whose workers end with this process however it ends (SIGTERM and SIGHUP stop the pool first)."""
    rows = iter(rows)
    if jobs == 1:
        for chunk in iter(lambda: list(islice(rows, CHUNK)), []):
            yield from _verified(chunk, verify_chunk(_task(chunk)))
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe beside threads, and absent on Windows
    with (
        _ended_by_signals(),
        ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_start) as pool,
    ):
        try:
            yield from _in_order(pool, rows, jobs * AHEAD)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class Ended(BaseException):
    """SIGTERM or SIGHUP reached the process while a pool ran: the pool is shut down, then it exits."""

    def __init__(self, signum: int) -> None:
        self.code = 128 + signum


@contextlib.contextmanager
def _ended_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Ended where they would end the process at once, so that the pool's own
    shutdown runs (no orphaned workers, no leaked semaphores); their handlers are put back after."""

    ended: list[int] = []

    def end(signum: int, frame: Any) -> None:
        if not ended:  # once: a second signal while the pool shuts down waits for it
            ended.append(signum)
            raise Ended(signum)

    saved = {}
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and threading.current_thread() is threading.main_thread():
            saved[signum] = signal.signal(signum, end)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _worker_start() -> None:
    """In a worker: Ctrl-C is the main process's to handle (it stops the pool), not a traceback each; and
    on Linux the worker is ended with the main process, even when that one is killed outright."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):  # prctl: Linux only
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _in_order(pool: Executor, rows: Iterator[SweepRow], ahead: int) -> Iterator[SweepRow]:
    """Submit chunks until `ahead` are in flight; yield the oldest's rows as it completes."""
    flight: deque[tuple[list[SweepRow], Future]] = deque()
    while True:
        while len(flight) < ahead:
            chunk = list(islice(rows, CHUNK))
            if not chunk:
                break
            flight.append((chunk, pool.submit(verify_chunk, _task(chunk))))
        if not flight:
            return
        chunk, future = flight.popleft()
        yield from _verified(chunk, future.result())


def _verified(chunk: list[SweepRow], verdicts: list[str]) -> Iterator[SweepRow]:
    return (row._replace(verified=verdict) for row, verdict in zip(chunk, verdicts))


def _task(chunk: list[SweepRow]) -> Task:
    """What a worker needs of each row: the layer's settings and the figures to check; None if invalid."""
    return [
        (row.settings, (row.result.output_shape, row.result.params, row.result.flops)) if row.valid else None
        for row in chunk
    ]


def verify_chunk(task: Task) -> list[str]:
    """A verdict per row of the task; runs in a worker."""
    return [verify_layer(*item) if item is not None else "" for item in task]


def verify_layer(settings: tuple[Any, ...], expected: tuple[Any, ...]) -> str:
    """Build the layer on the meta device and compare output shape, params and FLOPs with expected."""
    import warnings

    import torch

    from .build import build_layer
    from .witness import count_flops

    spec = ConvSpec(*settings)
    why_not = unrepresentable([analyze(spec)])
    if why_not:
        return f"skipped: {why_not}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'same' padding with an even kernel: torch's note, not news
        try:
            layer = build_layer(spec, "meta")
            x = torch.empty(spec.input_shape, device="meta", dtype=getattr(torch, spec.dtype))
            with torch.no_grad():
                counted = count_flops(lambda: layer(x))
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            return f"{MISMATCH}: torch refused the layer: {str(exc).splitlines()[0]}"
    measured = (tuple(counted.value.shape), sum(p.numel() for p in layer.parameters()), counted.flops)
    differ = [
        f"{key} {_shown(a)} (torch {_shown(m)})"
        for key, a, m in zip(("output_shape", "params", "flops"), expected, measured)
        if a != m
    ]
    return f"{MISMATCH}: " + "; ".join(differ) if differ else OK


def _shown(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)

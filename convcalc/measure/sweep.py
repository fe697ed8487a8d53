"""`convcalc sweep --verify`: every valid row's layer built on the meta device in a pool of processes.

Each worker builds the layer in torch (no weights allocated), runs it under the FLOP witness and
compares output shape, parameters and FLOPs with the row's analytic figures. Rows travel in chunks,
a bounded number in flight, and come back in order, so memory stays flat however long the sweep.
torch is imported inside the workers' functions only.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from ..core.analysis import analyze
from ..core.plan import unrepresentable
from ..core.spec import ConvSpec
from ..core.sweep import MISMATCH, SweepRow

CHUNK = 32  # rows a worker verifies per task: milliseconds of work against one message each way
AHEAD = 4  # tasks in flight per worker: enough to keep it busy while the writer catches up
OK = "ok"

Task = list[tuple[tuple[Any, ...], tuple[Any, ...]] | None]  # per row: settings and figures, or None


def verify_rows(rows: Iterable[SweepRow], jobs: int) -> Iterator[SweepRow]:
    """Each row with its verdict (SweepRow.verified), in order: 'ok', 'skipped: why', 'MISMATCH: ...',
    or '' for an invalid row (nothing to build). jobs 1 verifies in this process; more start a pool."""
    rows = iter(rows)
    if jobs == 1:
        for chunk in iter(lambda: list(islice(rows, CHUNK)), []):
            yield from _verified(chunk, verify_chunk(_task(chunk)))
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe beside threads, and absent on Windows
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_leave_interrupts) as pool:
        try:
            yield from _in_order(pool, rows, jobs * AHEAD)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _leave_interrupts() -> None:
    """In a worker: Ctrl-C is the main process's to handle (it stops the pool), not a traceback each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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

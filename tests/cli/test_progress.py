"""The progress bar a long trace draws on a terminal, and the trace's reports that feed it."""

import io

import torch
from torch import nn

from convcalc.cli import progress
from convcalc.measure.trace import PROGRESS, PROGRESS_EVERY, trace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_waits_two_seconds_then_draws_then_clears(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    stream = io.StringIO()
    bar = progress.Bar(stream)
    bar(256, 1000)
    clock.now += 1.9
    bar(512, 1000)
    assert stream.getvalue() == ""  # a trace under 2 s shows nothing
    clock.now += 0.2
    bar(768, 1000)
    assert stream.getvalue() == f"\rtracing [{'#' * 23}{'.' * 7}] 768 of 1,000 modules"
    bar(0, 0)
    assert stream.getvalue().endswith("\r\033[K")  # the line is cleared for the report
    clock.now += 10
    bar(256, 1000)  # the next trace starts its own clock
    assert stream.getvalue().endswith("\r\033[K")


def test_no_bar_where_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(progress.sys, "stderr", io.StringIO())
    with progress.progress_bar():
        assert PROGRESS.get() is None


def test_a_trace_reports_its_modules_and_its_end():
    seen = []
    model = nn.Sequential(*[nn.ReLU() for _ in range(3 * PROGRESS_EVERY)]).to("meta")
    token = PROGRESS.set(lambda done, total: seen.append((done, total)))
    try:
        trace(model, (torch.zeros(1, 2, 4, 4, device="meta"),), "float32")
    finally:
        PROGRESS.reset(token)
    total = 3 * PROGRESS_EVERY + 1
    assert seen[-1] == (0, 0)
    assert [t for _, t in seen[:-1]] == [total] * 3
    assert [d for d, _ in seen[:-1]] == sorted(d for d, _ in seen[:-1]) and all(
        0 < d < total for d, _ in seen[:-1]
    )

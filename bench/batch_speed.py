"""Throughput of the analytic engine on a stream: configurations validated and analysed per second.

    python bench/batch_speed.py                 # 200,000 configurations, a quarter of them invalid
    python bench/batch_speed.py --count 2000000 # memory stays flat however long the stream

Prints configurations per second, median of --repeat runs: the engine alone (the configurations built
beforehand) and end to end (a generator building each dict as the engine asks for it); then the peak
of Python allocations while consuming the stream (tracemalloc, a separate pass: it slows the run).
A benchmark, not a test: the figure depends on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from itertools import islice

from convcalc import analyze_many


def configurations(count: int) -> Iterator[dict]:
    """A design-space sweep: channels, kernels, strides, groups, dims, transposed; some invalid."""
    for i in range(count):
        dim = 1 + i % 3
        groups = (1, 2, 4, 3)[i % 4]  # groups 3 does not divide 8, 16, ...: invalid rows
        yield {
            "in_channels": 8 * (1 + i % 64),
            "out_channels": 16 * (1 + i % 32),
            "kernel_size": (1, 3, 5, 7)[i % 4],
            "stride": 1 + i % 2,
            "padding": i % 3,
            "dilation": 1 + i % 2,
            "groups": groups,
            "transposed": i % 5 == 0,
            "input_size": (8, 32, 56, 224)[i % 4],
            "batch": 1 + i % 8,
            "dim": dim,
        }


def run(count: int) -> tuple[float, int]:
    """End to end: the generator above builds each configuration's dict, then the engine takes it."""
    start = time.perf_counter()
    valid = sum(row.valid for row in analyze_many(configurations(count)))
    return count / (time.perf_counter() - start), valid


def engine(count: int) -> float:
    """The engine alone: the same configurations, built beforehand, so the producer is not timed."""
    built = list(configurations(count))
    start = time.perf_counter()
    for _ in analyze_many(built):
        pass
    return count / (time.perf_counter() - start)


def peak_bytes(count: int) -> int:
    tracemalloc.start()
    for _ in islice(analyze_many(configurations(count)), count):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rates, alone = [], []
    for _ in range(args.repeat):
        rate, valid = run(args.count)
        rates.append(rate)
        alone.append(engine(args.count))
    print(f"{args.count:,} configurations ({valid:,} valid, {args.count - valid:,} invalid with a reason)")
    for label, measured in (("engine alone", alone), ("end to end, with the producer", rates)):
        runs = ", ".join(f"{r:,.0f}" for r in measured)
        print(f"{label}: median {statistics.median(measured):,.0f} configurations/s (runs: {runs})")
    for count in (args.count // 10, args.count):
        print(f"peak Python allocations over {count:,} configurations: {peak_bytes(count) / 1024:,.1f} KiB")


if __name__ == "__main__":
    main()

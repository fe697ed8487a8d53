"""Throughput of `convcalc sweep`: rows per second, in process and as the command, with its peak memory.

    python bench/sweep_speed.py                        # in process, then the command: 3 rounds, 1 warm-up
    python bench/sweep_speed.py --repeat 9 --skip-cli  # in process only
    python bench/sweep_speed.py --only valid           # the all-valid sweep alone

Two workloads. SWEEP (393,216 rows, a quarter of them invalid, cheap to reject) and VALID (1,000,000
rows, every one valid: each is analysed and written in full). In process, median of --repeat runs: the
engine alone (every row made and analysed: figure_rows(), as the command, and rows(), which builds each
row's ConvSpec and ConvResult for Python) and end to end (the rows written as CSV to a file). Then
the command itself, as fresh processes in rotating rounds (bench/harness.py): each workload and SWEEP
eight times longer (3,145,728 rows), to a file (-o) and to stdout on /dev/null; per command the median
wall time (start-up included), rows per second and the peak RSS, which must not grow with the rows.
A benchmark, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/harness.py, however this is started
import harness
from harness import Command

from convcalc.core.sweep import parse_sweep
from convcalc.render.sweep import render_sweep

SWEEP = {
    "c_in": "8:1024:8",
    "c_out": "16:512:16",
    "kernel": "1,3,5",
    "groups": "1,2,4,dw",
    "stride": "1,2",
    "input": "32,56,112,224",
}
LONGER = {**SWEEP, "batch": "1,8", "bias": "on,off", "dilation": "1,2"}  # eight times the rows
VALID = {"c_in": "1:1000", "c_out": "1:1000", "kernel": "3", "input": "32"}  # every row valid
# The in-process workloads, and the commands (label, sweep) of each: --only picks workloads by name.
WORKLOADS = {
    "mixed": (SWEEP, (("sweep", SWEEP), ("8x sweep", LONGER))),
    "valid": (VALID, (("all-valid sweep", VALID),)),
}


def options(sweep: dict[str, str]) -> list[str]:
    return [arg for name, text in sweep.items() for arg in (f"--{name.replace('_', '-')}", text)]


def options_text(sweep: dict[str, str]) -> str:
    return " ".join(options(sweep))


def engine(sweep: dict[str, str], objects: bool = False) -> float:
    """Rows per second: every row made, validated and analysed, nothing written; objects: rows()
    (a ConvSpec and ConvResult each, the Python API), else figure_rows() (what the command writes)."""
    plan = parse_sweep(sweep)
    start = time.perf_counter()
    for _ in plan.rows() if objects else plan.figure_rows():
        pass
    return plan.count / (time.perf_counter() - start)


def end_to_end(sweep: dict[str, str], path: str) -> float:
    """Rows per second: the rows made and written as CSV to a file, as `convcalc sweep -o` does."""
    plan = parse_sweep(sweep)
    start = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="") as out:
        for chunk in render_sweep(plan, plan.figure_rows(), "csv"):
            out.write(chunk)
    return plan.count / (time.perf_counter() - start)


def in_process(sweep: dict[str, str], repeat: int) -> None:
    rows = parse_sweep(sweep).count
    valid = sum(row.valid for row in parse_sweep(sweep).figure_rows())
    print(f"in process: {options_text(sweep)}")
    print(f"  {rows:,} rows ({valid:,} valid, {rows - valid:,} invalid with a reason)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "rows.csv")
        ways = (
            ("engine alone (figure_rows)", lambda: engine(sweep)),
            ("rows(), with a ConvSpec and ConvResult each", lambda: engine(sweep, objects=True)),
            ("engine + CSV to a file", lambda: end_to_end(sweep, path)),
        )
        for label, measure in ways:
            rates = [measure() for _ in range(repeat)]
            runs = ", ".join(f"{r:,.0f}" for r in rates)
            print(f"  {label}: median {statistics.median(rates):,.0f} rows/s (runs: {runs})")


def commands(python: str, path: str, only: list[str]) -> list[tuple[Command, int]]:
    convcalc = [python, "-m", "convcalc", "sweep"]
    found = []
    for name, sweep in (labelled for workload in only for labelled in WORKLOADS[workload][1]):
        rows = parse_sweep(sweep, max_rows=10**9).count
        for where, extra in (("-o FILE", ["-o", path]), ("> /dev/null", [])):
            argv = [*convcalc, *options(sweep), *extra]
            found.append((Command(f"{name}, {rows:,} rows, {where}", argv), rows))
    return found


def as_command(rounds: int, warmup: int, only: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        timed = commands(sys.executable, os.path.join(folder, "rows.csv"), only)
        harness.measure([cmd for cmd, _ in timed], rounds, warmup)
    body = []
    for cmd, rows in timed:
        wall = statistics.median(cmd.wall)
        rss = statistics.median(cmd.rss) / 1024
        body.append([cmd.label, f"{wall:.2f}", f"{rows / wall:,.0f}", f"{rss:.0f}"])
    print(harness.markdown(["command", "median wall (s)", "rows/s", "peak RSS (MiB)"], "lrrr", body))
    for cmd, _ in timed:
        print(f"{cmd.label}: {cmd.line}")
    sys.exit(harness.failed([cmd for cmd, _ in timed]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="in-process runs (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the command (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds, not measured (default 1)")
    parser.add_argument("--skip-cli", action="store_true", help="in process only")
    parser.add_argument(
        "--only", action="append", choices=list(WORKLOADS), help="a workload (repeatable; default all)"
    )
    args = parser.parse_args()
    only = args.only or list(WORKLOADS)
    for workload in only:
        in_process(WORKLOADS[workload][0], args.repeat)
    if not args.skip_cli:
        as_command(args.rounds, args.warmup, only)


if __name__ == "__main__":
    main()

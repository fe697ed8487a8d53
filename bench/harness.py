"""What bench/startup.py and bench/model_speed.py share: commands timed as fresh processes, in rounds.

Each round runs every command once as a new process, in an order that rotates from round to round,
so that a machine whose speed drifts (a busy neighbour, turbo) slows every command alike. Per run:
wall time (perf_counter around the process) and peak RSS (wait4's ru_maxrss, the child alone); per
command: medians, the IQR and the median of the per-round ratio to a baseline timed in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # commands run here, so their paths are relative to it

# Bytecode cached, as on a user's machine: the warm-up rounds write the .pyc files that an inherited
# PYTHONDONTWRITEBYTECODE=1 (set on some CI and sandbox machines) would forbid.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Command:
    label: str
    argv: list[str]
    baseline: str | None = None  # label of the command its per-round ratio is taken against
    shown: str = ""  # the command as a table shows it, where not the command line itself
    wall: list[float] = field(default_factory=list)  # seconds, one per measured round
    rss: list[int] = field(default_factory=list)  # KiB, one per measured round
    failures: dict[int, int] = field(default_factory=dict)  # exit status -> how many runs
    headline: str = ""  # what the command printed, as the script that keeps its stdout sums it up

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


def run_once(argv: list[str], keep_stdout: bool = False) -> tuple[float, int, int, str, str]:
    """Run argv as a fresh process: wall seconds, peak RSS in KiB, exit status, stdout, end of stderr.

    Stdout goes to /dev/null unless keep_stdout; then it is returned ("" otherwise).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # files: no pipe can block
        stdout_to = out if keep_stdout else subprocess.DEVNULL
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=ENV, stdin=subprocess.DEVNULL, stdout=stdout_to, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        stdout = ""
        if keep_stdout:
            out.seek(0)
            stdout = out.read().decode(errors="replace")
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    return wall, usage.ru_maxrss, proc.returncode, stdout, "\n    ".join(tail)


def measure(
    cmds: list[Command],
    rounds: int,
    warmup: int,
    on_stdout: Callable[[Command, str], None] | None = None,
) -> None:
    """warmup + rounds rounds, in rotating order; a failure is said on stderr the first time only.

    With on_stdout, each command's stdout is kept and handed to it after every run that exits 0.
    """
    for r in range(warmup + rounds):
        shift = r % len(cmds)
        for cmd in cmds[shift:] + cmds[:shift]:
            wall, rss, code, stdout, tail = run_once(cmd.argv, keep_stdout=on_stdout is not None)
            if code != 0:
                if not cmd.failures:
                    print(f"!!! FAILED: {cmd.label} exited {code}: {cmd.line}\n    {tail}", file=sys.stderr)
                cmd.failures[code] = cmd.failures.get(code, 0) + 1
            elif on_stdout is not None:
                on_stdout(cmd, stdout)
            if r >= warmup:
                cmd.wall.append(wall)
                cmd.rss.append(rss)
        done = f"warm-up round {r + 1}/{warmup}" if r < warmup else f"round {r + 1 - warmup}/{rounds}"
        print(f"{done} done", file=sys.stderr)


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def summary(cmd: Command, base: Command | None) -> dict[str, Any]:
    """Medians, IQR, the paired ratio to base (None without one) and every run; scripts add their keys."""
    q1, q3 = quartiles(cmd.wall)
    ratio = statistics.median(w / b for w, b in zip(cmd.wall, base.wall)) if base else None
    return {
        "label": cmd.label,
        "command": cmd.line,
        "median_s": statistics.median(cmd.wall),
        "iqr_s": q3 - q1,
        "median_rss_mib": statistics.median(cmd.rss) / 1024,
        "ratio_median": ratio,
        "wall_s": cmd.wall,
        "rss_kib": cmd.rss,
        "failures": {str(code): n for code, n in cmd.failures.items()},
    }


def markdown(header: Sequence[str], align: str, body: list[Sequence[str]]) -> str:
    """A Markdown table; align has one letter a column: l (left) or r (right)."""
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


Column = tuple[str, str, Callable[[dict[str, Any]], str]]  # header, align (l or r), the cell of a row


def results(rows: list[dict[str, Any]], label: str, command: str, more: Sequence[Column]) -> str:
    """The summaries as a table: label (FAILED and its exits where a run failed), row[command] as code,
    median and IQR, then the script's own columns."""

    def label_cell(row: dict[str, Any]) -> str:
        failures = ", ".join(f"exit {c} x{n}" for c, n in row["failures"].items())
        return row["label"] + (f" **FAILED** ({failures})" if failures else "")

    def code_cell(row: dict[str, Any]) -> str:
        escaped = row[command].replace("|", "\\|")
        return f"`{escaped}`"

    columns: list[Column] = [
        (label, "l", label_cell),
        ("command", "l", code_cell),
        ("median (s)", "r", lambda row: f"{row['median_s']:.3f}"),
        ("IQR (s)", "r", lambda row: f"{row['iqr_s']:.3f}"),
        *more,
    ]
    body = [[cell(row) for _, _, cell in columns] for row in rows]
    return markdown([h for h, _, _ in columns], "".join(a for _, a, _ in columns), body)


def rss_cell(row: dict[str, Any]) -> str:
    return f"{row['median_rss_mib']:.0f}"


def add_options(parser: argparse.ArgumentParser, python_help: str, rounds: int, warmup: int) -> None:
    """--python, --rounds and --warmup, with the script's defaults."""
    parser.add_argument("--python", default=sys.executable, help=python_help)
    parser.add_argument("--rounds", type=int, default=rounds, help=f"measured rounds (default {rounds})")
    parser.add_argument(
        "--warmup", type=int, default=warmup, help=f"warm-up rounds, not measured (default {warmup})"
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--json and --list."""
    parser.add_argument("--json", metavar="FILE", help="also write every run and summary as JSON")
    parser.add_argument("--list", action="store_true", help="print label<TAB>command per line, run nothing")


def interpreter(parser: argparse.ArgumentParser, name: str) -> str:
    """--python as an absolute path: a bare name looked up on PATH, a path not resolved (venv symlinks)."""
    python = shutil.which(name) if os.sep not in name else os.path.abspath(name)
    if not python or not os.access(python, os.X_OK):
        parser.error(f"--python {name}: not an executable")
    return python


def listing(cmds: list[Command]) -> str:
    """label<TAB>command, one line a command (bench/startup.sh reads it)."""
    return "\n".join(f"{c.label}\t{c.line}" for c in cmds)


def failed(cmds: list[Command]) -> int:
    """Say on stderr which commands exited non-zero; 1 if any did, else 0."""
    labels = [c.label for c in cmds if c.failures]
    if labels:
        print(f"\n!!! {len(labels)} command(s) exited non-zero: {', '.join(labels)}", file=sys.stderr)
    return 1 if labels else 0

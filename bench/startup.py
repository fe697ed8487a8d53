"""Start-up and verification time of convcalc beside its peers: fresh processes, interleaved rounds.

    python3 -m venv .bench-venv
    .bench-venv/bin/pip install -c .ci/constraints.txt -e . -r bench/requirements-peers.txt
    .bench-venv/bin/python bench/startup.py --suite all                  # 11 rounds after 2 warm-up rounds
    .bench-venv/bin/python bench/startup.py --suite big --only fvcore --rounds 3 --json big.json
    python3 bench/startup.py --python .bench-venv/bin/python --list      # the commands, one per line

Each round runs every command once as a new process, in an order that rotates from round to round,
so that a machine whose speed drifts (a busy neighbour, turbo) slows every command alike. Per command:
median wall time (perf_counter around the process), its IQR, median peak RSS (wait4's ru_maxrss) and
the median of the per-round ratio to its baseline (paired: both timed in the same round). Stdout goes
to /dev/null; a command that exits non-zero is reported on stderr and marked FAILED in the table.
PYTHONDONTWRITEBYTECODE is removed from the commands' environment, so every tool runs with its bytecode
cached (written by the warm-up rounds), as on a user's machine.
`convcalc` is the executable beside --python. bench/startup.sh runs the same commands with hyperfine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # commands run here, so their paths are relative to it
PEERS = ("torchinfo", "thop", "ptflops", "fvcore", "torchscan", "flopcounter")
SMALL = ["6", "10", "3", "-g", "2", "--no-bias"]  # torch.nn.Conv2d(6, 10, 3, groups=2, bias=False)
BIG = ["512", "512", "3", "-p", "1", "-i", "1024"]  # torch.nn.Conv2d(512, 512, 3, padding=1), 1024x1024
# convcalc's commands per layer: label, arguments, label of the baseline for the paired ratio.
CONVCALC = {
    "small": [
        ("convcalc json", ["conv", *SMALL, "-f", "json"], "import torch"),
        ("convcalc table", ["conv", *SMALL], "torchinfo small"),
        ("convcalc compare", ["compare", "6", "12", "3", "--no-bias"], "import torch"),
        ("convcalc no-verify", ["conv", *SMALL, "--no-verify", "-f", "json"], "typer floor"),
    ],
    "big": [
        ("convcalc big json", ["conv", *BIG, "-f", "json"], "import torch"),
        (
            "convcalc 3d json",
            ["conv", "64", "64", "3", "--dim", "3", "-i", "512", "-f", "json"],
            "import torch",
        ),
    ],
}


@dataclass
class Command:
    label: str
    argv: list[str]
    baseline: str | None  # label of the command its per-round ratio is taken against
    wall: list[float] = field(default_factory=list)  # seconds, one per measured round
    rss: list[int] = field(default_factory=list)  # KiB, one per measured round
    failures: dict[int, int] = field(default_factory=dict)  # exit status -> how many runs

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


def suite(name: str, python: str) -> list[Command]:
    """The commands of a preset: the floors, then convcalc's commands, then the peers' scripts."""
    convcalc = str(Path(python).parent / "convcalc")  # not resolved: a venv's python is a symlink
    floor = [python, "bench/peers/typer_floor.py", "conv", *SMALL, "--no-verify", "-f", "json"]
    cmds = [
        Command("import torch", [python, "-c", "import torch"], None),
        Command("typer floor", floor, None),
    ]
    layers = ["small", "big"] if name == "all" else [name]
    for layer in layers:
        cmds += [Command(label, [convcalc, *args], base) for label, args, base in CONVCALC[layer]]
    for layer in layers:
        for peer in PEERS:
            argv = [python, f"bench/peers/{peer}_peer.py", "--layer", layer]
            cmds.append(Command(f"{peer} {layer}", argv, "import torch"))
    return cmds


# Bytecode cached, as a user's machine has it: the warm-up rounds write the .pyc files that an
# inherited PYTHONDONTWRITEBYTECODE=1 (set on some CI and sandbox machines) would forbid.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(cmd: Command) -> tuple[float, int, int, str]:
    """Run cmd as a fresh process: wall seconds, peak RSS in KiB, exit status and the end of stderr."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty command cannot block on it
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd.argv, cwd=ROOT, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    return wall, usage.ru_maxrss, proc.returncode, "\n    ".join(tail)


def measure(cmds: list[Command], rounds: int, warmup: int) -> None:
    for r in range(warmup + rounds):
        shift = r % len(cmds)
        for cmd in cmds[shift:] + cmds[:shift]:
            wall, rss, code, tail = run_once(cmd)
            if code != 0:
                if not cmd.failures:
                    print(f"!!! FAILED: {cmd.label} exited {code}: {cmd.line}\n    {tail}", file=sys.stderr)
                cmd.failures[code] = cmd.failures.get(code, 0) + 1
            if r >= warmup:
                cmd.wall.append(wall)
                cmd.rss.append(rss)
        done = f"warm-up round {r + 1}/{warmup}" if r < warmup else f"round {r + 1 - warmup}/{rounds}"
        print(f"{done} done", file=sys.stderr)


def summary(cmd: Command, by_label: dict[str, Command]) -> dict[str, Any]:
    q1, _, q3 = (
        statistics.quantiles(cmd.wall, n=4, method="inclusive") if len(cmd.wall) > 1 else (cmd.wall[0],) * 3
    )
    base = by_label.get(cmd.baseline or "")
    ratio = statistics.median(w / b for w, b in zip(cmd.wall, base.wall)) if base else None
    return {
        "label": cmd.label,
        "command": cmd.line,
        "argv": cmd.argv,
        "median_s": statistics.median(cmd.wall),
        "iqr_s": q3 - q1,
        "median_rss_mib": statistics.median(cmd.rss) / 1024,
        "baseline": base and base.label,
        "ratio_median": ratio,
        "wall_s": cmd.wall,
        "rss_kib": cmd.rss,
        "failures": {str(code): n for code, n in cmd.failures.items()},
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| label | command | median (s) | IQR (s) | peak RSS (MiB) | x baseline (paired median) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        label = row["label"]
        if row["failures"]:
            label += " **FAILED** (" + ", ".join(f"exit {c} x{n}" for c, n in row["failures"].items()) + ")"
        ratio = f"{row['ratio_median']:.2f} x {row['baseline']}" if row["baseline"] else "-"
        command = row["command"].replace("|", "\\|")
        lines.append(
            f"| {label} | `{command}` | {row['median_s']:.3f} | {row['iqr_s']:.3f} "
            f"| {row['median_rss_mib']:.0f} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("small", "big", "all"), default="small")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the bench venv")
    parser.add_argument("--rounds", type=int, default=11, help="measured rounds (default 11)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up rounds, not measured (default 2)")
    parser.add_argument(
        "--only", action="append", metavar="LABEL", help="labels containing LABEL; repeatable"
    )
    parser.add_argument("--json", metavar="FILE", help="also write every run and summary as JSON")
    parser.add_argument("--list", action="store_true", help="print label<TAB>command per line, run nothing")
    args = parser.parse_args()
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")
    # A bare name is looked up on PATH; a path is made absolute but not resolved (venv symlinks).
    python = shutil.which(args.python) if os.sep not in args.python else os.path.abspath(args.python)
    if not python or not os.access(python, os.X_OK):
        parser.error(f"--python {args.python}: not an executable")
    cmds = suite(args.suite, python)
    if args.only:
        wanted = {c.label for c in cmds if any(o.lower() in c.label.lower() for o in args.only)}
        if not wanted:
            parser.error(f"--only {args.only}: no label matches; labels: {', '.join(c.label for c in cmds)}")
        wanted |= {c.baseline for c in cmds if c.label in wanted and c.baseline}  # ratios need them
        cmds = [c for c in cmds if c.label in wanted]
    if args.list:
        print("\n".join(f"{c.label}\t{c.line}" for c in cmds))
        return 0
    missing = sorted({c.argv[0] for c in cmds if not Path(c.argv[0]).exists()})
    if missing:
        parser.error(f"missing {', '.join(missing)}: install convcalc into the environment of {python}")

    print(f"# {args.rounds} rounds after {args.warmup} warm-up of {len(cmds)} commands", file=sys.stderr)
    measure(cmds, args.rounds, args.warmup)
    by_label = {c.label: c for c in cmds}
    rows = [summary(c, by_label) for c in cmds]
    when = time.strftime("%Y-%m-%d %H:%M")
    print(f"Suite {args.suite}: {args.rounds} rounds after {args.warmup} warm-up; {when}; {python}")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs\n")
    print(markdown(rows))
    if args.json:
        meta = {"suite": args.suite, "python": python, "rounds": args.rounds, "warmup": args.warmup}
        Path(args.json).write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    failed = [c.label for c in cmds if c.failures]
    if failed:
        print(f"\n!!! {len(failed)} command(s) exited non-zero: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

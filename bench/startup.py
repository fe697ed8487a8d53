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
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/harness.py, however this is started
import harness
from harness import Command

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


def summary(cmd: Command, by_label: dict[str, Command]) -> dict[str, Any]:
    base = by_label.get(cmd.baseline or "")
    return {**harness.summary(cmd, base), "argv": cmd.argv, "baseline": base and base.label}


def markdown(rows: list[dict[str, Any]]) -> str:
    def ratio(row: dict[str, Any]) -> str:
        return f"{row['ratio_median']:.2f} x {row['baseline']}" if row["baseline"] else "-"

    more = [("peak RSS (MiB)", "r", harness.rss_cell), ("x baseline (paired median)", "l", ratio)]
    return harness.results(rows, "label", "command", more)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("small", "big", "all"), default="small")
    harness.add_options(parser, "interpreter of the bench venv", rounds=11, warmup=2)
    parser.add_argument(
        "--only", action="append", metavar="LABEL", help="labels containing LABEL; repeatable"
    )
    harness.add_output_options(parser)
    args = parser.parse_args()
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")
    python = harness.interpreter(parser, args.python)
    cmds = suite(args.suite, python)
    if args.only:
        wanted = {c.label for c in cmds if any(o.lower() in c.label.lower() for o in args.only)}
        if not wanted:
            parser.error(f"--only {args.only}: no label matches; labels: {', '.join(c.label for c in cmds)}")
        wanted |= {c.baseline for c in cmds if c.label in wanted and c.baseline}  # ratios need them
        cmds = [c for c in cmds if c.label in wanted]
    if args.list:
        print(harness.listing(cmds))
        return 0
    missing = sorted({c.argv[0] for c in cmds if not Path(c.argv[0]).exists()})
    if missing:
        parser.error(f"missing {', '.join(missing)}: install convcalc into the environment of {python}")

    print(f"# {args.rounds} rounds after {args.warmup} warm-up of {len(cmds)} commands", file=sys.stderr)
    harness.measure(cmds, args.rounds, args.warmup)
    by_label = {c.label: c for c in cmds}
    rows = [summary(c, by_label) for c in cmds]
    when = time.strftime("%Y-%m-%d %H:%M")
    print(f"Suite {args.suite}: {args.rounds} rounds after {args.warmup} warm-up; {when}; {python}")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs\n")
    print(markdown(rows))
    if args.json:
        meta = {"suite": args.suite, "python": python, "rounds": args.rounds, "warmup": args.warmup}
        Path(args.json).write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    return harness.failed(cmds)


if __name__ == "__main__":
    sys.exit(main())

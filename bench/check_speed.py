"""Time `convcalc check` on a budgets file of 23 checks beside `import torch` and beside the same checks
run as 23 separate `convcalc` commands.

    python bench/check_speed.py                    # 5 rounds after 1 warm-up round
    python bench/check_speed.py --budgets bench/check_budgets_meta.toml
    python bench/check_speed.py --rounds 3 --json check.json
    python bench/check_speed.py --list             # the commands, one per line, run nothing

The budgets file is bench/check_budgets.toml: 20 `conv` and `compare` checks (the docs' examples, each
confirmed in torch on the cpu), the two stack presets and ResNet-50 on the meta device; or
bench/check_budgets_meta.toml, the same checks all on the meta device (torch checks shapes,
parameters and FLOPs and computes nothing), so that convcalc's own cost is what is timed. Each round runs
every command once as a new process, in an order that rotates from round to round (bench/harness.py),
so that a machine whose speed drifts slows every command alike; the ratios are the medians of the
per-round ratios (paired: both timed in the same round). The commands:

  import torch     python -c "import torch": the baseline (the issue's target: check <= 2.5 x it)
  convcalc check   convcalc check --config BUDGETS --snapshot FILE, every figure held
                   to a snapshot that this script writes first (--update), as a CI job would
  separate calls   the same 23 command lines, each its own `convcalc` process, one after another (one
                   bash process runs them, in bench/, where the budgets file's paths are written from)

It reports and exits 0 unless a command fails; the target is printed as met or missed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/harness.py, however this is started
import harness
from harness import ROOT, Command
from model_speed import machine, torch_version

BUDGETS = "bench/check_budgets.toml"
RATIO_TARGET = 2.5  # x import torch


def check_lines(budgets: str) -> list[str]:
    """The budgets file's command lines, as `convcalc check` reads them."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    checks = tomllib.loads((ROOT / budgets).read_text())["checks"]
    return [run if isinstance(run, str) else run["run"] for run in checks.values()]


def commands(python: str, snapshot: str, budgets: str) -> list[Command]:
    convcalc = str(Path(python).parent / "convcalc")  # not resolved: a venv's python is a symlink
    check = [convcalc, "check", "--config", budgets, "--snapshot", snapshot]
    lines = check_lines(budgets)
    home = shlex.quote(str(Path(budgets).parent))  # where the file's paths are written from
    script = f"set -e; cd {home}; " + "; ".join(
        f"{shlex.quote(convcalc)} {line} > /dev/null" for line in lines
    )
    return [
        Command("import torch", [python, "-c", "import torch"], shown="python -c 'import torch'"),
        Command(
            "convcalc check",
            check,
            shown=f"convcalc check --config {budgets} --snapshot convcalc.lock.json",
        ),
        Command(
            "separate calls",
            ["bash", "-c", script],
            shown=f"the same {len(lines)} command lines, each `convcalc ...` in a process of its own",
        ),
    ]


def summary(cmd: Command, base: Command) -> dict[str, Any]:
    return {**harness.summary(cmd, base), "shown": cmd.shown}


def verdict(by_label: dict[str, dict[str, Any]]) -> list[str]:
    check, separate = by_label["convcalc check"], by_label["separate calls"]
    ratio = check["ratio_median"]
    over = ratio - RATIO_TARGET
    said = "MET" if over <= 0 else f"MISSED by {over:.2f} x ({over / RATIO_TARGET:.0%})"
    paired = statistics.median(s / c for s, c in zip(separate["wall_s"], check["wall_s"]))
    return [
        f"convcalc check: <= {RATIO_TARGET:g} x import torch: {said} ({ratio:.2f} x)",
        f"separate calls: {separate['ratio_median']:.1f} x import torch (the issue: about 23 x)",
        f"separate calls over convcalc check: {paired:.1f} x (paired median)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, "interpreter whose venv has convcalc", rounds=5, warmup=1)
    parser.add_argument(
        "--budgets", default=BUDGETS, metavar="FILE", help=f"the budgets file (default {BUDGETS})"
    )
    harness.add_output_options(parser)
    args = parser.parse_args()
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1, --warmup at least 0")
    python = harness.interpreter(parser, args.python)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = str(Path(tmp) / "convcalc.lock.json")
        cmds = commands(python, snapshot, args.budgets)
        if args.list:
            print(harness.listing(cmds))
            return 0
        written = subprocess.run(
            [*cmds[1].argv, "--update", "-f", "json"], cwd=ROOT, capture_output=True, text=True
        )
        if written.returncode != 0:
            print(
                f"convcalc check --update failed ({written.returncode}):\n{written.stderr}", file=sys.stderr
            )
            return 1
        passed = json.loads(written.stdout)["summary"]
        print(f"# {args.rounds} rounds after {args.warmup} warm-up of {len(cmds)} commands", file=sys.stderr)
        harness.measure(cmds, args.rounds, args.warmup)
    rows = [summary(c, cmds[0]) for c in cmds]
    by_label = {row["label"]: row for row in rows}
    when = time.strftime("%Y-%m-%d %H:%M")
    print(f"{shlex.join(['python', 'bench/check_speed.py', *sys.argv[1:]])}\n# {when}; {python}")
    print(f"# {machine()}; torch {torch_version(python)}\n")
    more = [("x import torch (paired median)", "r", lambda row: f"{row['ratio_median']:.2f}")]
    print(harness.results(rows, "run", "shown", more))
    print(f"\nThe checks: {passed['checks']}, {passed['passed']} passed (--update, before the rounds)")
    print(
        "\nTarget (the issue: convcalc check <= 2.5 x import torch, against about 23 x for separate calls):"
    )
    for line in verdict(by_label):
        print(f"  {line}")
    if args.json:
        data = {"python": python, "rounds": args.rounds, "warmup": args.warmup, "results": rows}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return harness.failed(cmds)


if __name__ == "__main__":
    sys.exit(main())

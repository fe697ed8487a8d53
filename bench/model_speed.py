"""Time `convcalc model` on ResNet-50 (meta device) beside `import torch`, the bare meta pass and the peers.

    python bench/model_speed.py                        # 10 rounds after 1 warm-up round, then the breakdown
    python bench/model_speed.py --rounds 5 --breakdown 0 --json model.json
    python bench/model_speed.py --list                 # the commands, one per line, run nothing

Each round runs every command once as a new process, in an order that rotates from round to round
(as bench/startup.py does), so that a machine whose speed drifts slows every command alike. Per
command: median wall time (perf_counter around the process), its IQR, median peak RSS (wait4's
ru_maxrss, the child alone) and the median of the per-round ratio to `import torch` (paired: both
timed in the same round). The commands:

  import torch     python -c "import torch": the baseline of the issue's target (<= 2 x, < 1 GiB)
  convcalc json    convcalc model docs/examples/resnet.py:resnet50 -i 3x224x224 -f json (meta by default)
  convcalc table   the same, as the table
  meta floor       import torch, build ResNet-50 under torch.device("meta"), one forward under no_grad,
                   no counting: what torch's own first meta pass costs any tool that runs it all
  FlopCounterMode  torch.utils.flop_counter.FlopCounterMode around the same meta forward
  torchinfo        torchinfo.summary of the same meta model (skipped if torchinfo is not installed)

  --teardown adds import torch, the floor and convcalc's json ended by os._exit(0): what the
  interpreter's shutdown costs each (module teardown, garbage collection, atexit hooks).

Then --breakdown fresh processes of each kind time in-process the phases of the floor (torch's
first-use imports made explicit) and of convcalc's work, and say which heavy modules each imported.
It reports and exits 0 unless a command fails; the targets are printed as met or missed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/harness.py, however this is started
import harness
from harness import ROOT, Command

TARGET = "docs/examples/resnet.py:resnet50"
INPUT = "3x224x224"
RATIO_TARGET = 2.0  # x import torch
RSS_TARGET_MIB = 1024

# Each snippet prints one headline, shown under the table, so a reader sees each tool did the work.
_BUILD = """\
import sys
import torch
sys.path.insert(0, "docs/examples")
from resnet import resnet50
with torch.device("meta"):
    model = resnet50().eval()
x = torch.empty(1, 3, 224, 224, device="meta")
"""
FLOOR = (
    _BUILD
    + """\
with torch.no_grad():
    out = model(x)
first = [m for m in ("sympy", "torch._dynamo") if m in sys.modules]
print(f"output {tuple(out.shape)}; the first meta pass imported {', '.join(first) or 'neither'}")
"""
)
FLOPCOUNTER = (
    _BUILD
    + """\
from torch.utils.flop_counter import FlopCounterMode
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(x)
print(f"FLOPs {counter.get_total_flops():,} (MACs {counter.get_total_flops() // 2:,})")
"""
)
TORCHINFO = (
    _BUILD
    + """\
from torchinfo import summary
stats = summary(model, input_data=[x], verbose=0)
print(f"mult-adds {stats.total_mult_adds:,} (MACs + bias adds), params {stats.total_params:,}")
"""
)
# --teardown: the same work ended by os._exit, which skips the interpreter's shutdown (module
# teardown, garbage collection, torch's atexit hooks), to show what that shutdown costs.
_EXIT = """\
import os, sys
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""
CONVCALC_EXIT = """\
import os, sys
sys.argv = ["convcalc", "model", *sys.argv[1:]]
from convcalc.cli import main
try:
    main()
    code = 0
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


# In-process phases, each timed once per fresh process; each snippet ends by printing
# {"phases": {name: seconds}, "imported": [...]}. In the floor, the two first-use imports of a meta
# pass are made explicit (conv's meta kernel calls torch._check, which imports symbolic_shapes and so
# sympy; BatchNorm's meta path runs torch._refs, whose type-promotion wrapper is torch._disable_dynamo,
# which imports torch._dynamo on its first call), so "first forward" is what is left once they are paid.
_LAP = """\
import time
t = [time.perf_counter()]
def lap():
    t.append(time.perf_counter())
    return t[-1] - t[-2]
import sys, json
import torch
phases = {"import torch": lap()}
"""
_END = """\
heavy = ("sympy", "torch._dynamo", "torch._inductor")
print(json.dumps({"phases": phases, "imported": [m for m in heavy if m in sys.modules]}))
"""
BREAKDOWN_FLOOR = (
    _LAP
    + """\
import torch.fx.experimental.symbolic_shapes
phases["import symbolic_shapes (sympy), as conv's torch._check does"] = lap()
import torch._dynamo
phases["import torch._dynamo, as torch._refs' first call does"] = lap()
sys.path.insert(0, "docs/examples")
from resnet import resnet50
with torch.device("meta"):
    model = resnet50().eval()
x = torch.empty(1, 3, 224, 224, device="meta")
phases["build ResNet-50 on meta"] = lap()
with torch.no_grad():
    model(x)
phases["first meta forward, with those imports paid"] = lap()
with torch.no_grad():
    model(x)
phases["second meta forward"] = lap()
"""
    + _END
)
BREAKDOWN_CONVCALC = (
    _LAP
    + """\
import convcalc.cli
from convcalc import model_report
from convcalc.render.network import render_network
phases["import convcalc's CLI (Typer, pydantic)"] = lap()
import torch.fx.experimental.symbolic_shapes
phases["import symbolic_shapes (sympy), as conv's torch._check does"] = lap()
for i, fmt in enumerate(("json", "table", "json", "table")):
    render_network(model_report(sys.argv[1], input_size=sys.argv[2]), fmt)
    phases[f"build, trace, count and render {fmt}, {('first', 'second')[i // 2]} time"] = lap()
"""
    + _END
)
BREAKDOWNS = {"meta floor": BREAKDOWN_FLOOR, "convcalc": BREAKDOWN_CONVCALC}


def commands(python: str, teardown: bool = False) -> tuple[list[Command], list[str]]:
    """The commands, and a note per peer that could not be run."""
    convcalc = str(Path(python).parent / "convcalc")  # not resolved: a venv's python is a symlink
    model = [convcalc, "model", TARGET, "-i", INPUT]
    cmds = [
        Command("import torch", [python, "-c", "import torch"], shown="python -c 'import torch'"),
        Command(
            "convcalc json", [*model, "-f", "json"], shown=shlex.join(["convcalc", *model[1:], "-f", "json"])
        ),
        Command("convcalc table", model, shown=shlex.join(["convcalc", *model[1:]])),
        Command(
            "meta floor", [python, "-c", FLOOR], shown="build on meta, one forward under no_grad, no counting"
        ),
        Command(
            "FlopCounterMode", [python, "-c", FLOPCOUNTER], shown="FlopCounterMode around the meta forward"
        ),
    ]
    notes = []
    probe = [python, "-c", "import importlib.util, sys; sys.exit(not importlib.util.find_spec('torchinfo'))"]
    if subprocess.run(probe, cwd=ROOT).returncode != 0:
        notes.append("torchinfo: not installed here, not run (pip install torchinfo)")
    else:
        cmds.append(
            Command("torchinfo", [python, "-c", TORCHINFO], shown="torchinfo.summary of the meta model")
        )
    if teardown:
        skip = ", then os._exit(0): no interpreter shutdown"
        cmds += [
            Command(
                "import torch, no shutdown",
                [python, "-c", "import torch\n" + _EXIT],
                shown="import torch" + skip,
            ),
            Command("meta floor, no shutdown", [python, "-c", FLOOR + _EXIT], shown="meta floor" + skip),
            Command(
                "convcalc json, no shutdown",
                [python, "-c", CONVCALC_EXIT, TARGET, "-i", INPUT, "-f", "json"],
                shown="convcalc's main() for the json" + skip,
            ),
        ]
    return cmds, notes


def headline(stdout: str) -> str:
    """The line that shows the count: the totals of convcalc's JSON or table, else the last line."""
    try:
        whole = json.loads(stdout)["layers"][0]  # the model itself comes first
        return f"params {whole['params']:,}, MACs {whole['macs']:,}, FLOPs {whole['flops']:,}"
    except (ValueError, LookupError, TypeError):
        lines = stdout.strip().splitlines()
        return next((line for line in lines if line.startswith("params ")), lines[-1])


def keep_headline(cmd: Command, stdout: str) -> None:
    if not cmd.headline and stdout.strip():
        cmd.headline = headline(stdout)


def summary(cmd: Command, base: Command) -> dict[str, Any]:
    return {
        **harness.summary(cmd, base),
        "shown": cmd.shown,
        "max_rss_mib": max(cmd.rss) / 1024,
        "headline": cmd.headline,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    more = [
        ("x import torch (paired median)", "r", lambda row: f"{row['ratio_median']:.2f}"),
        ("peak RSS (MiB)", "r", harness.rss_cell),
    ]
    return harness.results(rows, "tool", "shown", more)


def verdict(by_label: dict[str, dict[str, Any]]) -> list[str]:
    """One line per target and convcalc command: met or missed, and by how much; the floor beside."""
    lines = []
    floor = by_label["meta floor"]
    for label in ("convcalc json", "convcalc table"):
        row = by_label[label]
        ratio, rss = row["ratio_median"], row["max_rss_mib"]
        over = ratio - RATIO_TARGET
        said = "MET" if over <= 0 else f"MISSED by {over:.2f} x ({over / RATIO_TARGET:.0%})"
        lines.append(f"{label}: <= {RATIO_TARGET:g} x import torch: {said} ({ratio:.2f} x)")
        said = "MET" if rss < RSS_TARGET_MIB else "MISSED"
        lines.append(f"{label}: < 1 GiB peak RSS: {said} (largest of the rounds {rss:.0f} MiB)")
    lines.append(
        f"meta floor (torch alone, no counting): {floor['ratio_median']:.2f} x import torch, "
        f"{floor['median_rss_mib']:.0f} MiB"
    )
    for label in ("convcalc json", "convcalc table"):
        row = by_label[label]
        paired = statistics.median(w / f for w, f in zip(row["wall_s"], floor["wall_s"]))
        lines.append(
            f"{label} beside the floor: {row['median_s'] - floor['median_s']:+.3f} s (medians), "
            f"{paired:.2f} x (paired median)"
        )
    return lines


def breakdown(python: str, runs: int) -> tuple[str, dict[str, Any]]:
    """In-process phases over `runs` fresh processes per snippet: Markdown tables of medians, every run."""
    data: dict[str, Any] = {}
    tables = []
    for title, snippet in BREAKDOWNS.items():
        phases: dict[str, list[float]] = {}
        imported: set[str] = set()
        for i in range(runs):
            _, _, code, stdout, tail = harness.run_once(
                [python, "-c", snippet, TARGET, INPUT], keep_stdout=True
            )
            if code != 0:
                tables.append(f"breakdown of {title} FAILED (exit {code}):\n    {tail}")
                break
            run = json.loads(stdout.strip().splitlines()[-1])
            imported.update(run["imported"])
            for name, seconds in run["phases"].items():
                phases.setdefault(name, []).append(seconds)
            print(f"breakdown of {title}: run {i + 1}/{runs} done", file=sys.stderr)
        else:
            body = []
            for name, values in phases.items():
                q1, q3 = harness.quartiles(values)
                body.append([name, f"{statistics.median(values):.3f}", f"{q3 - q1:.3f}"])
            header = [f"{title}: phase, in this order", "median (s)", "IQR (s)"]
            heavy = ", ".join(sorted(imported)) or "none"
            tables.append(
                harness.markdown(header, "lrr", body)
                + f"\n\nOf sympy, torch._dynamo and torch._inductor, imported by the end: {heavy}"
            )
        data[title] = {"phases": phases, "imported": sorted(imported)}
    return "\n\n".join(tables), data


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def torch_version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True, cwd=ROOT
    )
    return out.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, "interpreter whose venv has convcalc", rounds=10, warmup=1)
    parser.add_argument("--breakdown", type=int, default=5, metavar="N", help="in-process runs (default 5)")
    parser.add_argument(
        "--teardown",
        action="store_true",
        help="also time import torch, the floor and convcalc ended by os._exit",
    )
    harness.add_output_options(parser)
    args = parser.parse_args()
    if args.rounds < 1 or args.warmup < 0 or args.breakdown < 0:
        parser.error("--rounds must be at least 1, --warmup and --breakdown at least 0")
    python = harness.interpreter(parser, args.python)
    cmds, notes = commands(python, args.teardown)
    if args.list:
        print(harness.listing(cmds))
        return 0
    if not Path(cmds[1].argv[0]).exists():
        parser.error(f"missing {cmds[1].argv[0]}: install convcalc into the environment of {python}")

    print(f"# {args.rounds} rounds after {args.warmup} warm-up of {len(cmds)} commands", file=sys.stderr)
    harness.measure(cmds, args.rounds, args.warmup, on_stdout=keep_headline)
    rows = [summary(c, cmds[0]) for c in cmds]
    by_label = {row["label"]: row for row in rows}
    table, phases = breakdown(python, args.breakdown) if args.breakdown else ("", {})

    when = time.strftime("%Y-%m-%d %H:%M")
    argv = shlex.join(["python", "bench/model_speed.py", *sys.argv[1:]])
    print(f"{argv}\n# {args.rounds} rounds after {args.warmup} warm-up; {when}; {python}")
    print(f"# {machine()}; torch {torch_version(python)}\n")
    print(markdown(rows))
    print("\nWhat each printed (first run):")
    for cmd in cmds:
        if cmd.label != "import torch" and cmd.headline:
            print(f"  {cmd.label}: {cmd.headline[:160]}")
    for note in notes:
        print(f"  {note}")
    print("\nTargets (the issue: `convcalc model` on meta <= 2 x import torch and < 1 GiB peak RSS):")
    for line in verdict(by_label):
        print(f"  {line}")
    if table:
        print(f"\nWhere the time goes, in one process ({args.breakdown} fresh processes, medians):\n")
        print(table)
    if args.json:
        meta = {"python": python, "rounds": args.rounds, "warmup": args.warmup, "machine": machine()}
        data = {**meta, "results": rows, "breakdown": phases}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return harness.failed(cmds)


if __name__ == "__main__":
    sys.exit(main())

"""`convcalc model` at scale: a model of 100,000 small modules, and a 7B decoder traced on meta, beside
torch alone doing the same work, each a fresh process, in rotating rounds (bench/harness.py).

    python bench/model_scale.py                  # 3 rounds after 1 warm-up
    python bench/model_scale.py --rounds 5 --json scale.json
    python bench/model_scale.py --list           # the commands, one per line, run nothing

The commands (bench/models/scale.py holds the models):

  torch: relus       build 100,000 ReLUs on the cpu and run them once under no_grad (the floor)
  convcalc: table    convcalc model bench/models/scale.py:relus -i 4x8x8 (meta, every row in the table)
  convcalc: json     the same, -f json
  torch: llama_7b    import transformers, build a 7B LlamaForCausalLM on meta and run it once (the floor)
  convcalc: 7b       convcalc model bench/models/scale.py:llama_7b -i input_ids=128:int64 --depth 0
  import torch       python -c "import torch" (the 7B target's baseline)
  stack: 9,999       convcalc stack 'conv ...; repeat times=9998 [relu]' --backward (a long stack's step)

Targets (issues 16 and 17): the 100,000-module model <= 3 x torch's own time and <= 1.5 x its peak
RSS; the 7B decoder under 1.5 GiB and <= 3 x import torch. They are printed as met or missed, never
asserted; the 7B commands are left out where transformers is not installed.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/harness.py, however this is started
import harness
from harness import Command

MODEL = "bench/models/scale.py"
STACK = "conv out=8 kernel=3 padding=1; repeat times=9998 [relu]"


def commands(python: str, decoder: bool) -> list[Command]:
    convcalc = str(Path(python).parent / "convcalc")
    cmds = [
        Command("torch: relus", [python, MODEL, "relus"], shown=f"python {MODEL} relus"),
        Command("convcalc: table", [convcalc, "model", f"{MODEL}:relus", "-i", "4x8x8"], "torch: relus"),
        Command(
            "convcalc: json",
            [convcalc, "model", f"{MODEL}:relus", "-i", "4x8x8", "-f", "json"],
            "torch: relus",
        ),
        Command("stack: 9,999", [convcalc, "stack", STACK, "-i", "8x16x16", "--backward"]),
    ]
    if decoder:
        ids = ["-i", "input_ids=128:int64", "--depth", "0"]
        cmds += [
            Command("import torch", [python, "-c", "import torch"]),
            Command("torch: llama_7b", [python, MODEL, "llama_7b", "meta"], "import torch"),
            Command("convcalc: 7b", [convcalc, "model", f"{MODEL}:llama_7b", *ids], "import torch"),
        ]
    return cmds


def has_transformers(python: str) -> bool:
    return subprocess.run([python, "-c", "import transformers"], capture_output=True).returncode == 0


def verdicts(rows: dict[str, dict]) -> list[str]:
    lines = []
    floor = rows["torch: relus"]
    for label in ("convcalc: table", "convcalc: json"):
        row = rows[label]
        memory = row["median_rss_mib"] / floor["median_rss_mib"]
        lines.append(
            f"{label}: <= 3 x torch's time: {_met(row['ratio_median'] <= 3)} ({row['ratio_median']:.2f} x)"
        )
        lines.append(f"{label}: <= 1.5 x torch's peak RSS: {_met(memory <= 1.5)} ({memory:.2f} x)")
    if "convcalc: 7b" in rows:
        row = rows["convcalc: 7b"]
        lines.append(
            f"7B decoder: < 1.5 GiB: {_met(row['median_rss_mib'] < 1536)} ({row['median_rss_mib']:.0f} MiB)"
        )
        lines.append(
            f"7B decoder: <= 3 x import torch: {_met(row['ratio_median'] <= 3)} ({row['ratio_median']:.2f} x)"
        )
        floor7 = rows["torch: llama_7b"]
        lines.append(
            f"7B decoder beside torch and transformers alone building and running it: "
            f"{row['median_s'] / floor7['median_s']:.2f} x ({floor7['ratio_median']:.2f} x import torch)"
        )
    return lines


def _met(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, "interpreter whose venv has convcalc", rounds=3, warmup=1)
    harness.add_output_options(parser)
    args = parser.parse_args()
    python = harness.interpreter(parser, args.python)
    cmds = commands(python, has_transformers(python))
    if args.list:
        print(harness.listing(cmds))
        return 0
    harness.measure(cmds, args.rounds, args.warmup)
    labels = {c.label: c for c in cmds}
    rows = [harness.summary(c, labels.get(c.baseline or "")) for c in cmds]
    by_label = {row["label"]: row for row in rows}
    argv = shlex.join(["python", "bench/model_scale.py", *sys.argv[1:]])
    when = time.strftime("%Y-%m-%d %H:%M")
    print(f"{argv}\n# {args.rounds} rounds after {args.warmup} warm-up; {when}; {platform.platform()}\n")
    ratio = (
        "x baseline (paired median)",
        "r",
        lambda r: "-" if r["ratio_median"] is None else f"{r['ratio_median']:.2f}",
    )
    print(harness.results(rows, "what", "command", [ratio, ("peak RSS (MiB)", "r", harness.rss_cell)]))
    print("\nBaselines: the torch floors for the 100,000-module model and the 7B decoder's own build;")
    print("import torch for the 7B target.\n\nTargets:")
    for line in verdicts(by_label):
        print(f"  {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"argv": argv, "results": rows}, indent=2) + "\n")
    return harness.failed(cmds)


if __name__ == "__main__":
    sys.exit(main())

"""Time each `convcalc compare` variant's real forward pass: fewer MACs is not proportionally faster.

    python bench/variant_speed.py --device cpu  --c 64  --size 56 --batch 8
    python bench/variant_speed.py --device cuda --c 256 --size 56 --batch 64 --dtype float16

Prints, per variant: MACs and time relative to the standard convolution, achieved TFLOP/s, and the
arithmetic intensity (FLOPs per byte of the minimum memory traffic: input, weights and output once).
A benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch.utils import benchmark

from convcalc import ConvSpec, compare_report
from convcalc.measure.build import build_variant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--c", type=int, default=64, help="channels in and out")
    parser.add_argument("--size", type=int, default=56)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    base = ConvSpec(
        args.c, args.c, 3, padding=1, bias=False, input_size=args.size, batch=args.batch, dtype=args.dtype
    )
    report = compare_report(base, groups=[4], verify=False)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    shape = "x".join(map(str, base.input_shape))
    print(f"# {report.standard.layer}, input {shape}, {args.dtype}, {where}, torch {torch.__version__}")
    print("| variant | MACs | x std | time (ms) | x std | TFLOP/s | FLOPs/byte |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [row for row in report.rows if row.result]
    dtype = getattr(torch, args.dtype)
    modules = [build_variant(row.variant, args.device).eval() for row in rows]
    x = torch.randn(base.input_shape, device=args.device, dtype=dtype)
    # Round-robin over the variants, so that a machine whose speed drifts (turbo, a busy neighbour)
    # slows every variant alike; each figure is the median over the rounds.
    times: list[list[float]] = [[] for _ in rows]
    with torch.no_grad():
        for _ in range(args.rounds):
            for i, module in enumerate(modules):
                timer = benchmark.Timer("module(x)", globals={"module": module, "x": x})
                times[i].append(timer.blocked_autorange(min_run_time=0.2).median)
    standard = rows[0].result
    base_seconds = statistics.median(times[0])
    for row, runs in zip(rows, times):
        r, seconds = row.result, statistics.median(runs)
        traffic = (
            r.stages[0].memory.input_bytes + r.param_bytes + sum(s.memory.output_bytes for s in r.stages)
        )
        cells = [
            row.variant.title,
            f"{r.macs / 1e6:,.1f}M",
            f"{r.macs / standard.macs:.3f}",
            f"{seconds * 1e3:.3f}",
            f"{seconds / base_seconds:.3f}",
            f"{r.flops / seconds / 1e12:.3f}",
            f"{r.flops / traffic:.1f}",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

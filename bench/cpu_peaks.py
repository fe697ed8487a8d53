"""This machine's practical ceilings, for --bench's roofline: --peak-tflops and --peak-gbps to pass.

    python bench/cpu_peaks.py             # float32 on the cpu, every thread torch uses
    python bench/cpu_peaks.py --device cuda

Compute: the best of a few large float32 matrix products (2 n^3 FLOPs each). Bandwidth: a copy of a
256 MiB tensor, which reads and writes each byte once (2 x its size moved). Both are timed with
torch.utils.benchmark, as --bench times a layer. Practical peaks, not datasheet ones: a roofline built
on them says how close a layer gets to what this machine does at its best.
"""

from __future__ import annotations

import argparse

import torch
import torch.utils.benchmark as benchmark


def median(stmt: str, **tensors: torch.Tensor) -> float:
    timer = benchmark.Timer(stmt, globals=tensors, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=1.0).median


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=2048, help="matrix size for the FLOP/s ceiling")
    args = parser.parse_args()
    a = torch.randn(args.n, args.n, device=args.device)
    b = torch.randn(args.n, args.n, device=args.device)
    flops = 2 * args.n**3 / median("a @ b", a=a, b=b)
    src = torch.empty(1 << 26, device=args.device)  # 256 MiB of float32
    dst = torch.empty_like(src)
    moved = 2 * src.numel() * src.element_size() / median("dst.copy_(src)", src=src, dst=dst)
    print(f"device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"float32 matmul {args.n}x{args.n}: {flops / 1e12:.3f} TFLOP/s")
    print(f"copy of 256 MiB: {moved / 1e9:.1f} GB/s (read + write)")
    print(f"--peak-tflops {flops / 1e12:.3g} --peak-gbps {moved / 1e9:.3g}")


if __name__ == "__main__":
    main()

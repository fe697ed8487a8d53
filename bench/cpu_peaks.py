"""This machine's practical ceilings, for --bench's roofline: --peak-tflops and --peak-gbps to pass.

    python bench/cpu_peaks.py             # float32 on the cpu, every thread torch uses
    python bench/cpu_peaks.py --device cuda

Compute: the best rate of float32 matrix products of a few sizes (2 n^3 FLOPs each) and of a few large
3x3 convolutions (oneDNN's, which on some CPUs beat the BLAS behind the matrix product by 2x).
Bandwidth: a copy of a 256 MiB tensor, which reads and writes each byte once (2 x its size moved).
Both are timed with torch.utils.benchmark, as --bench times a layer. Practical peaks, not datasheet
ones: a roofline built on them says how close a layer gets to what this machine does at its best.
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
    parser.add_argument("--sizes", default="1024,2048,4096", help="matrix sizes for the FLOP/s ceiling")
    args = parser.parse_args()
    rates = {}
    for n in map(int, args.sizes.split(",")):
        a = torch.randn(n, n, device=args.device)
        b = torch.randn(n, n, device=args.device)
        rates[n] = 2 * n**3 / median("a @ b", a=a, b=b)
    for channels, size in ((128, 56), (256, 56), (256, 28)):
        conv = torch.nn.Conv2d(channels, channels, 3, padding=1, device=args.device).eval()
        x = torch.zeros(1, channels, size, size, device=args.device)
        with torch.no_grad():
            seconds = median("conv(x)", conv=conv, x=x)
        rates[f"conv {channels}x{channels} 3x3 at {size}"] = 2 * channels**2 * 9 * size**2 / seconds
    flops = max(rates.values())
    src = torch.empty(1 << 26, device=args.device)  # 256 MiB of float32
    dst = torch.empty_like(src)
    moved = 2 * src.numel() * src.element_size() / median("dst.copy_(src)", src=src, dst=dst)
    print(f"device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    for what, rate in rates.items():
        name = f"matmul {what}x{what}" if isinstance(what, int) else what
        print(f"float32 {name}: {rate / 1e12:.3f} TFLOP/s")
    print(f"copy of 256 MiB: {moved / 1e9:.1f} GB/s (read + write)")
    print(f"--peak-tflops {flops / 1e12:.3g} --peak-gbps {moved / 1e9:.3g}")


if __name__ == "__main__":
    main()

"""What every peer script shares: the two layers, the --layer flag and the RAM guard.

Each peer builds the layer the way its users would: the small layer on the cpu with a real input,
the big one on torch's meta device (shapes and counts, no data) wherever the peer accepts meta.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import torch

# Layer name -> (Conv2d arguments, Conv2d keyword arguments, input shape); the same layers as
#   convcalc conv 6 10 3 -g 2 --no-bias        and   convcalc conv 512 512 3 -p 1 -i 1024
LAYERS: dict[str, tuple[tuple[int, int, int], dict[str, Any], tuple[int, ...]]] = {
    "small": ((6, 10, 3), {"groups": 2, "bias": False}, (1, 6, 224, 224)),
    "big": ((512, 512, 3), {"padding": 1}, (1, 512, 1024, 1024)),
}
RAM_CAP = 12 * 10**9  # bytes a real forward pass may use before a peer skips the layer
TORCH_FOOTPRINT = 512 * 2**20  # RSS of a process that has imported torch, rounded up
SKIPPED = 3  # exit status of a skipped peer: startup.py then reports it loudly instead of timing it


def setup(
    peer: str, description: str | None, meta_ok: bool = True
) -> tuple[str, torch.nn.Conv2d, torch.Tensor]:
    """Parse --layer; return its name, the layer and an input of zeros, on meta or the cpu.

    The big layer goes on the meta device where the peer handles it (meta_ok); otherwise it runs
    for real on the cpu, as the peer's users must, unless guard_real_pass finds it too big.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--layer", choices=sorted(LAYERS), default="small")
    layer = parser.parse_args().layer
    device = "meta" if layer == "big" and meta_ok else "cpu"
    if device == "cpu":
        guard_real_pass(layer, peer)
    module, shape = build(layer, device)
    return layer, module, torch.zeros(shape, device=device)


def build(layer: str, device: str) -> tuple[torch.nn.Conv2d, tuple[int, ...]]:
    """The layer on device, in eval mode, and the shape of its input (batch included)."""
    args, kwargs, shape = LAYERS[layer]
    return torch.nn.Conv2d(*args, **kwargs, device=device).eval(), shape


def guard_real_pass(layer: str, peer: str) -> None:
    """Exit with SKIPPED, saying why, if a real float32 pass would pass RAM_CAP or 80% of free memory.

    Counted (shapes from a meta copy): input, output, parameters and torch's own footprint, plus one
    more input-sized buffer that the measured peak shows (oneDNN's reordered copy, presumably; there
    is no im2col buffer). Measured for fvcore on the big layer: 6.3 GiB peak RSS, 6.5 GiB estimated.
    """
    module, shape = build(layer, "meta")
    with torch.no_grad():
        out = module(torch.empty(shape, device="meta"))
    elements = 2 * math.prod(shape) + out.numel() + sum(p.numel() for p in module.parameters())
    need = 4 * elements + TORCH_FOOTPRINT
    cap = min(RAM_CAP, int(available_memory() * 0.8))
    if need > cap:
        why = f"{peer}: skipped: a real pass needs about {need / 2**30:.1f} GiB, over {cap / 2**30:.1f} GiB"
        print(why)
        print(why, file=sys.stderr)
        sys.exit(SKIPPED)


def available_memory() -> int:
    """MemAvailable (free plus reclaimable cache) on Linux; RAM_CAP where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return RAM_CAP

"""--bench's figures: a measured latency beside the work and the memory traffic it implies. No torch.

Minimum memory traffic: every module reads its input and its weights and writes its output once, so
bytes = input + weights + output, summed over the modules a pass runs one after the other. Arithmetic
intensity = FLOPs / bytes. With a device's peaks (FLOP/s and bytes/s) the roofline model bounds the
achievable rate at min(peak FLOP/s, intensity x peak bytes/s); roofline_fraction is the achieved rate
over that bound. A layer with few FLOPs per byte (a depthwise convolution) is bound by memory, so
fewer MACs make it less faster than the MAC count suggests.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .conventions import SPEED_CONVENTION
from .errors import InvalidSpecError, term

# Dense peaks from NVIDIA's datasheets: TFLOP/s per dtype as torch runs a convolution (float32 on tensor
# cores as TF32, torch's default for cuDNN convolutions), and GB/s. Matched on the whole name torch
# reports, so a board not listed (an H100 NVL, a GH200, an H200 NVL) gets no peaks rather than wrong ones.
_H100 = {"float32": 494.5, "float16": 989.5, "bfloat16": 989.5, "float64": 67.0}
_A100 = {"float32": 156.0, "float16": 312.0, "bfloat16": 312.0, "float64": 19.5}
PEAKS: dict[str, tuple[str, dict[str, float], float]] = {
    "H100 PCIe": (
        r"\bH100 PCIe\b",
        {"float32": 378.0, "float16": 756.5, "bfloat16": 756.5, "float64": 51.0},
        2000.0,
    ),
    "H100 SXM": (r"\bH100 80GB HBM3$", _H100, 3350.0),
    "H200": (r"\bH200$", _H100, 4800.0),
    "A100 SXM4 80GB": (r"\bA100-SXM4-80GB$", _A100, 2039.0),
    "A100 SXM4 40GB": (r"\bA100-SXM4-40GB$", _A100, 1555.0),
}


@dataclass(frozen=True, slots=True)
class Peaks:
    """A device's ceilings: FLOP/s and bytes/s, each None where unknown, and where they came from."""

    flops_per_s: float | None = None
    bytes_per_s: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Bench:
    """One timed forward pass, or why none ran (median_s None and `skipped` says why)."""

    device: str
    flops: int
    bytes: int
    median_s: float | None = None
    iqr_s: float | None = None
    runs: int = 0
    peaks: Peaks = Peaks()
    skipped: str = ""
    threads: int = 0  # the threads torch ran on
    load: float | None = None  # the machine's 1-minute load average as timing began, where known
    cpus: int = 0

    @property
    def busy(self) -> bool:
        """Other work held at least half the CPUs as timing began: the latencies may be inflated."""
        return self.load is not None and self.cpus > 0 and self.load - 1 >= self.cpus / 2

    @property
    def flops_per_s(self) -> float | None:
        return self.flops / self.median_s if self.median_s else None

    @property
    def intensity(self) -> float | None:
        """FLOPs per byte of minimum traffic."""
        return self.flops / self.bytes if self.bytes else None

    @property
    def bound_flops_per_s(self) -> float | None:
        """The roofline: the rate the peaks allow at this intensity (one ceiling if only one is known)."""
        ceilings = [self.peaks.flops_per_s] if self.peaks.flops_per_s else []
        if self.peaks.bytes_per_s and self.intensity is not None:
            ceilings.append(self.intensity * self.peaks.bytes_per_s)
        return min(ceilings) if ceilings else None

    @property
    def bound(self) -> str:
        """Which ceiling the roofline is at: 'compute', 'memory', or '' when the peaks are not both known."""
        if not (self.peaks.flops_per_s and self.peaks.bytes_per_s and self.intensity is not None):
            return ""
        return "memory" if self.intensity * self.peaks.bytes_per_s < self.peaks.flops_per_s else "compute"

    @property
    def roofline_fraction(self) -> float | None:
        achieved, bound = self.flops_per_s, self.bound_flops_per_s
        return achieved / bound if achieved is not None and bound else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "median_s": self.median_s,
            "iqr_s": self.iqr_s,
            "runs": self.runs,
            "flops": self.flops,
            "flops_per_s": self.flops_per_s,
            "bytes": self.bytes,
            "intensity": self.intensity,
            "peak_flops_per_s": self.peaks.flops_per_s,
            "peak_bytes_per_s": self.peaks.bytes_per_s,
            "peaks_from": self.peaks.source or None,
            "bound": self.bound or None,
            "roofline_flops_per_s": self.bound_flops_per_s,
            "roofline_fraction": self.roofline_fraction,
            "skipped": self.skipped or None,
            "threads": self.threads,
            "load_average": self.load,
            "convention": SPEED_CONVENTION,
        }


def bench_settings(bench: bool, device: str, tflops: float | None, gbps: float | None) -> Peaks | None:
    """The peaks to judge a --bench run by, or None without --bench; refused before any work: a bench
    on the meta device (which computes nothing), or peaks without --bench (they would be ignored)."""
    if not bench:
        if tflops is not None or gbps is not None:
            option = "peak_tflops" if tflops is not None else "peak_gbps"
            raise InvalidSpecError(option, f"it sets the roofline of a timed run; add {term('bench=True')}")
        return None
    if device == "meta":
        raise InvalidSpecError(
            "bench",
            f"it times real passes and the meta device computes nothing; use {term('device')} cpu or cuda",
        )
    return given_peaks(tflops, gbps)


def given_peaks(tflops: float | None, gbps: float | None) -> Peaks:
    """--peak-tflops and --peak-gbps as a Peaks, each a finite positive number or None."""
    for option, value in (("peak_tflops", tflops), ("peak_gbps", gbps)):
        if value is not None and not (math.isfinite(value) and 1e-6 <= value < 1e9):
            raise InvalidSpecError(
                option, f"got {value}; it must be a number from 1e-6 to 1e9, such as 67 or 3350"
            )
    if tflops is None and gbps is None:
        return Peaks()
    return Peaks(tflops and tflops * 1e12, gbps and gbps * 1e9, "given")


def known_peaks(device_name: str, dtype: str, given: Peaks) -> Peaks:
    """The given peaks, each one not given filled from PEAKS where the device's name is listed."""
    board = device_name.partition("(")[2].rstrip(")").strip()  # "cuda (NVIDIA H100 80GB HBM3)"
    entry = next((e for e in PEAKS.items() if re.search(e[1][0], board)), None)
    if entry is None or (given.flops_per_s and given.bytes_per_s):
        return given
    name, (_, tflops, gbps) = entry
    flops = given.flops_per_s or (tflops[dtype] * 1e12 if dtype in tflops else None)
    source = "given and " if given.source else ""
    return Peaks(flops, given.bytes_per_s or gbps * 1e9, f"{source}{name} datasheet (dense)")


def stage_bytes(input_bytes: int, param_bytes: int, output_bytes: int) -> int:
    """A module's minimum traffic: read its input and weights, write its output."""
    return input_bytes + param_bytes + output_bytes

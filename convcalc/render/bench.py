"""--bench's figures as text: a latency in s/ms/us, rates short (199G FLOP/s), the roofline's verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.conventions import SPEED_CONVENTION
from .cells import BYTES, PERCENT, SECONDS, SI, text

if TYPE_CHECKING:
    from ..core.bench import Bench

MIN_BLOCKS = 3  # fewer timed blocks give no spread worth the name: the notes say so


def rate(value: float | None, unit: str) -> str:
    """A rate short for people: 199G FLOP/s, 3.35T B/s."""
    return "-" if value is None else f"{text(SI, round(value))} {unit}"


def bench_lines(bench: Bench | None, what: str = "forward pass") -> list[str]:
    """The notes of a timed run: latency, achieved rate, traffic and intensity, then the roofline."""
    if bench is None:
        return []
    if bench.median_s is None:
        return [f"--bench on {bench.device}: {bench.skipped}"]
    median, iqr = text(SECONDS, bench.median_s), text(SECONDS, bench.iqr_s)
    rough = "; too few to trust, a slow pass or a busy machine" if bench.runs < MIN_BLOCKS else ""
    lines = [
        f"--bench on {bench.device} ({bench.threads} threads), {what}: median {median} (IQR {iqr}, "
        f"{bench.runs} timed blocks{rough}), {rate(bench.flops_per_s, 'FLOP/s')}; minimum traffic "
        f"{text(BYTES, bench.bytes)}, intensity {bench.intensity or 0:.3g} FLOP/B",
        roofline_line(bench),
    ]
    return [*lines, *busy_line([bench]), SPEED_CONVENTION]


def busy_line(benches: list[Bench]) -> list[str]:
    """A warning when other work shared the CPUs as timing began: threads then wait on each other."""
    busy = next((b for b in benches if b and b.busy), None)
    if busy is None:
        return []
    return [
        f"the machine was busy as timing began (load average {busy.load:.2g} on {busy.cpus} CPUs, torch on "
        f"{busy.threads} threads): latencies may be inflated; time on a quiet machine, or with "
        "OMP_NUM_THREADS=1"
    ]


def roofline_line(bench: Bench) -> str:
    """What the device's peaks say of the achieved rate, or how to give them."""
    if bench.bound_flops_per_s is None:
        return "roofline: this device's peaks are not known; give --peak-tflops and --peak-gbps"
    bound = f", {bench.bound}-bound" if bench.bound else " (one ceiling known)"
    return (
        f"roofline {peaks_text(bench)}: bound {rate(bench.bound_flops_per_s, 'FLOP/s')}"
        f"{bound}; achieved {text(PERCENT, bench.roofline_fraction)} of it"
    )


def peaks_text(bench: Bench) -> str:
    """The ceilings the roofline uses and where they came from: (67T FLOP/s, 3.35T B/s, given)."""
    peaks = bench.peaks
    ceilings = [rate(peaks.flops_per_s, "FLOP/s")] if peaks.flops_per_s else []
    ceilings += [rate(peaks.bytes_per_s, "B/s")] if peaks.bytes_per_s else []
    return f"({', '.join([*ceilings, peaks.source])})"

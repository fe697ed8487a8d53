"""The verification plan: what torch can represent, and what a real pass would cost, before torch runs.

Standard library only, so every bound is decided (and tested) without allocating anything.
Every allocation verification makes is covered here: the forward pass (which torchinfo repeats
on the same tensors, one after the other, so the peak is the same) and the receptive-field probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from math import prod
from typing import Any

from .formulas import effective_kernel
from .spec import ConvSpec, pads_first

INT64 = 1 << 63  # torch's sizes, strides and storage byte counts are signed 64-bit
INT32 = 1 << 31  # torch's CPU transposed-convolution kernel keeps stride and dilation in 32 bits
MEMORY_LIMIT = 1 << 30  # bytes a real forward pass may take before convcalc falls back to meta
TIME_LIMIT = 2.0  # seconds a real forward pass (and torchinfo's repeat of it) may take, by the estimate
FREE_SHARE = 0.8  # even --full never plans past this share of the device's free memory
# Conservative multiply-accumulates per second, so the estimate errs towards meta.
MACS_PER_SECOND = {"cpu": 1e10, "cuda": 2e12, "mps": 2e11}
SLOW_ON_CPU = {"float16": 8, "bfloat16": 4, "float64": 2}
PROBE_ELEMENTS = 1 << 21  # float64 values the receptive-field probe may hold: 16 MiB
PROBE_MACS = 1 << 24  # and the multiply-accumulates it may do: milliseconds
_SETTINGS = ("in_channels", "out_channels", "groups", "batch")
_SIZES = ("kernel_size", "stride", "dilation", "output_padding", "input_size")


@dataclass(frozen=True)
class Plan:
    """How verification will run: "real" (a forward pass on the device), "meta" or "skipped"."""

    mode: str
    reason: str


def choose(
    stages: list[Any], device: str, full: bool, free: int | None, extra_bytes: int = 0, extra_macs: int = 0
) -> Plan:
    """Real pass, meta device or no torch at all, for these ConvResults run one after the other
    (with extra_bytes and extra_macs, multiply-accumulates or their like, for a stack's other layers)."""
    why_not = unrepresentable(stages)
    if why_not:
        return Plan("skipped", f"not verified: {why_not}; the figures are analytic only")
    if device == "meta":
        return Plan("meta", "meta device: shapes, parameters and FLOPs, no data and no real pass")
    need, seconds = cost(stages, device, extra_bytes, extra_macs)
    if free is not None and need > free * FREE_SHARE:
        return Plan(
            "meta",
            f"counted on the meta device, since a real pass on {device} would need about {gib(need)}"
            f"{_peak(device, stages)} and only {gib(free)} is free",
        )
    if full:
        return Plan("real", f"real forward pass forced by --full (estimated {gib(need)}, {seconds:.2g} s)")
    if too_costly(need, seconds):
        return Plan(
            "meta",
            f"counted on the meta device, since a real pass on {device} would need about {gib(need)}"
            f"{_peak(device, stages)} and {seconds:.2g} s (--full forces it)",
        )
    return Plan("real", "real forward pass")


def cost(
    stages: list[Any], device: str, extra_bytes: int = 0, extra_macs: int = 0, passes: int = 2
) -> tuple[int, float]:
    """What a real pass would take, erring high: the bytes it may hold at its peak and its seconds, the
    convolutions run `passes` times (verification's torchinfo repeats the pass)."""
    need = sum(forward_bytes(r, device) for r in stages) + extra_bytes
    seconds = passes * sum(forward_seconds(r, device) for r in stages)
    seconds += extra_macs / MACS_PER_SECOND.get(device.partition(":")[0], MACS_PER_SECOND["cpu"])
    return need, seconds


def too_costly(need: int, seconds: float) -> bool:
    """Past what convcalc runs for real unless told to (--full; --device cpu for a model)."""
    return need > MEMORY_LIMIT or seconds > TIME_LIMIT


def _peak(device: str, stages: list[Any]) -> str:
    """Why the peak of a real pass exceeds the table's estimated total memory (convolutions on a cpu)."""
    if device.partition(":")[0] == "cpu" and stages:
        return (
            " at its peak (more than the estimated total memory: the CPU kernel also unfolds its input "
            "into columns, a kernel's worth of values per position, and copies the output once)"
        )
    return ""


def unrepresentable(stages: list[Any]) -> str:
    """Why torch cannot hold a setting or a tensor of these layers at all, or ''."""
    for result in stages:
        spec: ConvSpec = result.spec
        values = [(name, getattr(spec, name)) for name in _SETTINGS]
        values += [(name, v) for name in _SIZES for v in getattr(spec, name)]
        values += [("padding", v) for pair in spec.pads for v in pair]
        for name, value in values:
            if abs(value) >= INT64:
                return f"{name}={value:,} is beyond torch's 64-bit integers"
        for label, value in _intermediates(spec):
            if value >= INT64:
                return f"the {label} ({value:,}) is beyond torch's 64-bit integers"
        for label, shape in tensor_shapes(result):
            too_big = oversized(label, shape, spec.element_bytes)
            if too_big:
                return too_big
    return ""


def oversized(label: str, shape: tuple[int, ...], element_bytes: int) -> str:
    """Why a tensor of this shape cannot exist in torch, or ''."""
    size = prod(shape) * element_bytes
    if size < INT64:
        return ""
    dims = "x".join(map(str, shape))
    return f"the {label} tensor {dims} would take {Decimal(size):.3g} bytes, beyond torch's 64-bit sizes"


def _intermediates(spec: ConvSpec) -> list[tuple[str, int]]:
    """Sizes torch computes on the way to the output's: they must fit 64 bits too."""
    sizes = [("effective kernel", effective_kernel(k, d)) for k, d in zip(spec.kernel_size, spec.dilation)]
    sizes += [("padding", max(p)) for p in spec.pads]  # 'same' resolves to dilation x (kernel - 1) / 2
    if spec.transposed:
        sizes += [("stretched input", (n - 1) * s) for n, s in zip(spec.input_size, spec.stride)]
    else:
        sizes += [("padded input", n + sum(p)) for n, p in zip(spec.input_size, spec.pads)]
    return sizes


def tensor_shapes(result: Any) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor a forward pass holds: input, weight, output (the bias is smaller than the output)."""
    spec = result.spec
    per_group = spec.out_channels // spec.groups if spec.transposed else spec.in_channels // spec.groups
    first = spec.in_channels if spec.transposed else spec.out_channels
    return [
        ("input", result.input_shape),
        ("weight", (first, per_group, *spec.kernel_size)),
        ("output", result.output_shape),
    ]


def forward_bytes(result: Any, device: str) -> int:
    """Bytes a real forward pass may hold at its peak, erring high, batch included."""
    spec, mem = result.spec, result.memory
    need = mem.input_bytes + mem.output_bytes + mem.param_bytes
    if spec.padding_mode != "zeros" or spec.padding == "same" or pads_first(spec):
        padded = (n + left + right for n, (left, right) in zip(spec.input_size, spec.pads))
        need += prod((spec.batch, spec.in_channels, *padded)) * spec.element_bytes
    if device.partition(":")[0] == "cpu":
        # CPU kernels may unfold the input into columns (im2col) before the matrix product, and
        # some paths (float64, some strides and dtypes) unfold the whole batch at once; oneDNN
        # writes the output in its own layout and copies it out, so the output is held twice. On a
        # GPU a failed allocation raises and falls back to meta; on the cpu the OS kills the process.
        spatial = spec.input_size if spec.transposed else result.output_shape[2:]
        channels = spec.out_channels if spec.transposed else spec.in_channels
        need += spec.batch * channels * prod(spec.kernel_size) * prod(spatial) * spec.element_bytes
        need += mem.output_bytes
    return need


def forward_seconds(result: Any, device: str) -> float:
    kind = device.partition(":")[0]
    rate = MACS_PER_SECOND.get(kind, MACS_PER_SECOND["cpu"])
    if kind == "cpu":
        rate /= SLOW_ON_CPU.get(result.spec.dtype, 1)
    return result.macs / rate


@dataclass(frozen=True)
class Probe:
    """A one-channel probe along one dimension: `batch` copies of an input of `inputs` ones, and for
    copy b the gradient of output `first + b`, whose non-zero span is that output's receptive field."""

    batch: int
    inputs: int
    outputs: int
    first: int


def probe_size(transposed: bool, kernel: int, stride: int, dilation: int) -> Probe | None:
    """The receptive-field probe for one dimension, O(receptive field); None where it would be too big.

    A convolution needs one output, so an input as long as the effective kernel. A transposed one
    needs one fully covered output per residue of the stride: 2 + ceil((k_eff - 2) / stride) inputs
    cover outputs k_eff - 1 ... (inputs - 1)*stride, at least `stride` of them.
    """
    k_eff = effective_kernel(kernel, dilation)
    if max(k_eff, stride, dilation) >= INT32:  # beyond torch's 32-bit CPU transposed kernel
        return None
    if not transposed:
        probe = Probe(1, k_eff, 1, 0)
    else:
        inputs = 2 + -(-max(k_eff - 2, 0) // stride)
        probe = Probe(stride, inputs, (inputs - 1) * stride + k_eff, k_eff - 1)
    held = 2 * probe.batch * (probe.inputs + probe.outputs)  # values and their gradients
    work = probe.batch * probe.inputs * kernel if transposed else kernel  # multiply-accumulates
    return probe if held <= PROBE_ELEMENTS and work <= PROBE_MACS else None


def gib(n: int) -> str:
    return f"{n / 2**30:,.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"

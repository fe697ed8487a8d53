"""Where and how torch runs a measurement: the device resolved, its free memory, the plan (core/plan.py)
for a layer or a stack, and the run itself, falling back to the meta device where a real pass fails.
torch is imported inside functions only."""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

from ..core import formulas
from ..core.errors import DeviceError, term
from ..core.plan import Plan, choose, oversized
from ..core.results import ConvResult
from ..core.spec import DTYPE_BYTES
from ..core.stack_analysis import StackResult

_ELSEWHERE = f"use {term('device')} cpu or {term('device')} meta"
UNMEASURED_ON_META = ("param_bytes", "input_bytes", "output_bytes", "activation_bytes")


def plan(
    stages: list[ConvResult], device: str, full: bool, extra_bytes: int = 0, extra_macs: int = 0
) -> Plan:
    """Choose a real forward pass, the meta device, or no torch at all, from limits, memory and time
    (extra_bytes and extra_macs: what runs beside the stages, as core.plan.choose takes them)."""
    free = None if device == "meta" else free_memory(device)
    return choose(stages, device, full, free, extra_bytes, extra_macs)


def run_planned(
    run: Callable[[str], dict[str, Any]], chosen: Plan, device: str
) -> tuple[Plan, dict[str, Any]]:
    """run(device)'s measurements: for real where planned and it works, else on the meta device.

    measured["rejected"] holds torch's message where even the meta device refuses the layer. On meta the
    memory sizes are None: nothing was allocated, and the sizes would only repeat convcalc's arithmetic.
    """
    import torch

    if chosen.mode == "real":
        try:
            return chosen, run(device)
        except (torch.OutOfMemoryError, MemoryError):
            failure = "out of memory"
        except (RuntimeError, NotImplementedError, TypeError) as exc:
            # A dtype the device lacks, a failed allocation, or a kernel's own limit (the CPU
            # transposed kernel keeps strides in 32 bits): the meta device still counts.
            failure = str(exc).splitlines()[0]
        chosen = Plan(
            "meta", f"counted on the meta device, since the real pass failed on {device}: {failure}"
        )
    try:
        return chosen, {**run("meta"), **dict.fromkeys(UNMEASURED_ON_META)}
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as exc:
        return chosen, {"rejected": str(exc).splitlines()[0]}


def resolve_device(name: str) -> str:
    """Turn 'auto' into a device and refuse one this torch cannot use, saying why."""
    import torch

    mps_ok = hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            build = (
                f"the installed torch {torch.__version__} is a CPU-only build"
                if torch.version.cuda is None
                else f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
            )
            raise DeviceError(f"{term('device')} {name}: no CUDA device: {build}; {_ELSEWHERE}")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"{term('device')} {name}: only {torch.cuda.device_count()} CUDA device(s) visible; "
                f"use cuda:0..cuda:{torch.cuda.device_count() - 1}"
            )
    if name == "mps" and not mps_ok:
        raise DeviceError(
            f"{term('device')} mps: MPS is not available (it needs Apple silicon and a torch built with "
            f"MPS); {_ELSEWHERE}"
        )
    return name


def device_label(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


def free_memory(device: str) -> int | None:
    """Bytes free on device (physical memory for the cpu), or None where it cannot be told."""
    import os

    import torch

    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    if device == "cpu" and hasattr(os, "sysconf") and "SC_AVPHYS_PAGES" in os.sysconf_names:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def plan_stack(
    result: StackResult, device: str, full: bool, extra_bytes: int = 0, extra_macs: int = 0
) -> Plan:
    """The conv layers' plan (memory, time, 64-bit limits), with the other layers' tensors added (and
    extra_bytes and extra_macs, a training step's beyond the forward pass)."""
    element = DTYPE_BYTES[result.dtype]
    for row in result.layers:
        why = oversized(f"{row.name} output", row.output_shape, element)
        if why:
            return Plan("skipped", f"not verified: {why}; the figures are analytic only")
    convs = [row.conv for row in result.layers if row.conv is not None]
    others = [row for row in result.layers if row.conv is None]
    extra = extra_bytes + sum(row.activation_bytes + row.params * element for row in others)
    extra += formulas.tensor_bytes(result.input_shape, element)
    work = extra_macs + sum(row.macs + _window_work(row) for row in others)
    return plan(convs, device, full, extra, work)


def _window_work(row: Any) -> int:
    """A pool's work, as multiply-accumulates are counted for time: every output reads its window."""
    kernel = row.settings.get("kernel") if row.kind in ("maxpool", "avgpool") else None
    if kernel is None:
        return prod(row.input_shape)  # element-wise, or an adaptive pool reading its input once
    spatial = len(row.output_shape) - 2
    return prod(row.output_shape) * (kernel**spatial if isinstance(kernel, int) else prod(kernel))

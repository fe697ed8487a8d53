"""--bench: time the real forward pass with torch.utils.benchmark, only where the memory plan allows one.

The plan (core/plan.py) that decides whether verification may run a real pass decides here too: a
layer too big to run is not timed, and its Bench says why. torch.utils.benchmark warms up, synchronises
the device around every timed block (torch.accelerator.synchronize) and gives the median and IQR.
torch is imported inside functions only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from math import prod
from typing import Any

from ..core.bench import Bench, Peaks, known_peaks, stage_bytes
from ..core.plan import Plan
from ..core.spec import DTYPE_BYTES
from .build import build_layer, build_stack, build_variant
from .planned import device_label, plan, plan_stack, resolve_device

MIN_RUN_TIME = 0.5  # seconds of timed blocks per subject, after torch's own warm-up


# Layers that move no data in eval: flatten is a view, dropout returns its input.
_NO_TRAFFIC = ("flatten", "dropout")


def bench_conv(result: Any, device: str, full: bool, given: Peaks) -> Bench:
    """One convolution (a ConvResult), timed where verification's plan would run it for real."""
    device = resolve_device(device)
    spec, memory = result.spec, result.memory
    traffic = stage_bytes(memory.input_bytes, memory.param_bytes, memory.output_bytes)
    build = lambda dev: build_layer(spec, dev)  # noqa: E731
    chosen = plan([result], device, full)
    return bench_run(build, result.input_shape, spec.dtype, device, chosen, result.flops, traffic, given)


def bench_variant(result: Any, device: str, full: bool, given: Peaks) -> Bench:
    """One compare variant (a VariantResult): its modules one after the other, each reading its input."""
    device = resolve_device(device)
    first = result.stages[0]
    element = first.spec.element_bytes
    # every module reads the one before's output: input + 2 x outputs - the last; BatchNorm's running
    # mean and var are read too (its third buffer, a step count, is not)
    stats = (result.buffers - len(result.stages)) * element if result.variant.bn else 0
    moved = first.memory.input_bytes + 2 * result.activation_bytes - result.output_bytes
    traffic = moved + result.param_bytes + stats
    build = lambda dev: build_variant(result.variant, dev)  # noqa: E731
    chosen = plan(list(result.stages), device, full)
    return bench_run(
        build, result.input_shape, first.spec.dtype, device, chosen, result.flops, traffic, given
    )


def bench_stack(result: Any, device: str, full: bool, given: Peaks) -> Bench:
    """A stack (a StackResult) as one nn.Sequential, timed where its verification plan allows."""
    device = resolve_device(device)
    element = DTYPE_BYTES[result.dtype]
    traffic = sum(
        stage_bytes(
            prod(row.input_shape) * element, (row.params + row.buffers) * element, row.activation_bytes
        )
        for row in result.layers
        if row.kind not in _NO_TRAFFIC
    )
    build = lambda dev: build_stack(result, dev)  # noqa: E731
    chosen = plan_stack(result, device, full)
    return bench_run(build, result.input_shape, result.dtype, device, chosen, result.flops, traffic, given)


def bench_run(
    build: Callable[[str], Any],
    inputs: tuple[int, ...] | Callable[[str], tuple[tuple[Any, ...], dict[str, Any]]],
    dtype: str,
    device: str,
    chosen: Plan,
    flops: int,
    traffic: int,
    given: Peaks,
) -> Bench:
    """Build the module on device as the plan allows and time forward passes on its inputs: zeros of a
    shape, or what a function makes on the device (positional and keyword arguments)."""
    import torch

    label = device_label(device)
    peaks = known_peaks(label, _peak_dtype(device, dtype), given)
    if chosen.mode != "real":
        return Bench(label, flops, traffic, peaks=peaks, skipped=f"not timed: {chosen.reason}")
    try:
        module = build(device).eval()
        if callable(inputs):
            args, kwargs = inputs(device)
        else:
            args, kwargs = (torch.zeros(inputs, device=device, dtype=getattr(torch, dtype)),), {}
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        median, iqr, runs = time_module(module, args, kwargs)
    except (torch.OutOfMemoryError, MemoryError):
        return Bench(label, flops, traffic, peaks=peaks, skipped=f"not timed: out of memory on {device}")
    except (RuntimeError, NotImplementedError, TypeError) as exc:  # a kernel the device lacks for the dtype
        failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        why = f"not timed: the real pass failed on {device}: {failure}"
        return Bench(label, flops, traffic, peaks=peaks, skipped=why)
    machine = {"threads": torch.get_num_threads(), "load": load, "cpus": os.cpu_count() or 0}
    return Bench(label, flops, traffic, median, iqr, runs, peaks, **machine)


def time_module(
    module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
) -> tuple[float, float, int]:
    """Median and IQR in seconds of module(*args, **kwargs), no grad, on every thread torch uses; and the
    timed blocks."""
    import contextlib

    import torch
    import torch.utils.benchmark as benchmark

    scope = {"module": module, "args": args, "kwargs": kwargs or {}}
    timer = benchmark.Timer("module(*args, **kwargs)", globals=scope, num_threads=torch.get_num_threads())
    devices = [t.device for t in (*args, *(kwargs or {}).values()) if isinstance(t, torch.Tensor)]
    on_gpu = (
        torch.cuda.device(devices[0]) if devices and devices[0].type == "cuda" else contextlib.nullcontext()
    )
    with torch.no_grad(), on_gpu:  # the timer synchronises the current device: make it the inputs'
        measured = timer.blocked_autorange(min_run_time=MIN_RUN_TIME)
    return measured.median, measured.iqr, len(measured.times)


def _peak_dtype(device: str, dtype: str) -> str:
    """The datasheet column a convolution runs at: float32 as TF32 where cuDNN allows it (torch's default)."""
    import torch

    if device.startswith("cuda") and dtype == "float32" and not torch.backends.cudnn.allow_tf32:
        return "float32 without TF32"  # not in the table: no peak assumed
    return dtype


def model_traffic(traced: Any, dtype: str) -> int:
    """A traced model's minimum traffic: each leaf module's first input, its outputs and its weights."""
    element = DTYPE_BYTES.get(dtype, 4)
    total = 0
    for record in traced.records:
        if list(record.module.children()) or not record.calls:
            continue
        weights = sum(
            t.numel() * t.element_size() for t in (*record.module.parameters(), *record.module.buffers())
        )
        inputs = prod(record.input_shape) * element * record.calls if record.input_shape else 0
        total += stage_bytes(inputs, weights, record.output_bytes)
    return total

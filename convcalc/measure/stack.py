"""A stack in torch: built as one nn.Sequential (build.py), traced once (trace.py), every layer measured and
the totals checked. torch is imported inside functions only."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..core.results import Check, Verification
from ..core.stack_analysis import StackResult
from .build import build_stack
from .checks import check, network_verification, recording_warnings
from .planned import plan_stack, resolve_device, run_planned
from .trace import ForwardError, Record, Trace, trace


def verify_stack(
    result: StackResult, device: str = "cpu", full: bool = False
) -> tuple[Verification, dict[str, dict[str, Any]]]:
    """Build the stack on device (or meta, as the plan decides) and trace one pass: the verification,
    whose checks are the totals, and torch's figures for each layer by name."""
    with recording_warnings() as lines:
        verification, layers = _verify_stack(result, device, full)
    return dataclasses.replace(verification, warnings=tuple(lines)), layers


def _verify_stack(
    result: StackResult, device: str, full: bool
) -> tuple[Verification, dict[str, dict[str, Any]]]:
    device = resolve_device(device)
    chosen = plan_stack(result, device, full)
    if chosen.mode == "skipped":
        return network_verification(device, chosen, [], None), {}
    run = lambda dev: {"trace": _run_stack(result, dev)}  # noqa: E731
    chosen, measured = run_planned(run, chosen, device)
    if "rejected" in measured:
        refused = Check("torch_accepts", "torch builds the stack", "yes", "no", False, measured["rejected"])
        return network_verification(device, chosen, [refused], None), {}
    traced: Trace = measured["trace"]
    layers = {r.name: measured_figures(r, chosen.mode == "meta") for r in traced.records}
    root = layers[""]
    rows = [
        ("output_shape", result.output_shape, traced.output_shape, "forward pass"),
        ("params", result.params, root["params"], "sum of parameters"),
        ("buffers", result.buffers, root["buffers"], "sum of buffers"),
        ("macs", result.macs, traced.flops // 2, f"{traced.witness} / 2"),
        ("flops", result.flops, traced.flops, traced.witness),
    ]
    checks = [check(key, a, m, note, key.replace("_", " ")) for key, a, m, note in rows]
    return network_verification(device, chosen, checks, traced), layers


def _run_stack(result: StackResult, device: str) -> Trace:
    import torch

    model = build_stack(result, device).eval()  # inference: BatchNorm takes a batch of one
    x = torch.zeros(result.input_shape, device=device, dtype=getattr(torch, result.dtype))
    try:
        return trace(model, (x,), result.dtype)
    except ForwardError as exc:  # a kernel the device lacks for this dtype: run_planned counts on meta
        raise RuntimeError(str(exc)) from None


def measured_figures(record: Record, on_meta: bool) -> dict[str, Any]:
    """torch's figures for one module: its parameters and buffers (children included, each once), the
    FLOPs of every call, its first output's shape and the bytes of every output (None on meta)."""
    module = record.module
    if module._modules:
        params, buffers = list(module.parameters()), list(module.buffers())
    else:  # a leaf's own tensors, each once: no walk of the tree, 100,000 times over
        params = list({id(p): p for p in module._parameters.values() if p is not None}.values())
        buffers = list({id(b): b for b in module._buffers.values() if b is not None}.values())
    return {
        "output_shape": record.output_shape,
        "params": sum(p.numel() for p in params),
        "trainable_params": sum(p.numel() for p in params if p.requires_grad),
        "buffers": sum(b.numel() for b in buffers),
        "macs": record.flops // 2,
        "flops": record.flops,
        "param_bytes": None if on_meta else sum(p.numel() * p.element_size() for p in params),
        "output_bytes": None if on_meta or not (record.calls or record.summed) else record.output_bytes,
    }

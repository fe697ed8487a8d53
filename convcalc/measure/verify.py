"""verify(): build the real torch layer (or a compare variant) and measure what analyze() computed.

The plan (core/plan.py, run by planned.py) decides beforehand what may run. torch and torchinfo are
imported inside functions only, so that the analytic path stays instant.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ..core import formulas
from ..core.results import Check, ConvResult, Verification
from ..core.spec import ConvSpec
from .build import build_layer, build_variant, conv_of, is_pad
from .checks import check, make_verification, memory_note, noting_warnings
from .planned import UNMEASURED_ON_META, plan, resolve_device, run_planned
from .probe import measure_receptive_field
from .shortcut import shortcut_mode
from .witness import count_flops


@noting_warnings
def verify(result: ConvResult, device: str = "cpu", full: bool = False) -> Verification:
    """Build result's layer in torch on device and compare every figure torch can measure."""
    spec = result.spec
    device = resolve_device(device)
    chosen = plan([result], device, full)
    if chosen.mode == "skipped":
        return make_verification(device, chosen, [])
    chosen, measured = run_planned(
        lambda dev: run_module(lambda d: build_layer(spec, d), spec, dev), chosen, device
    )
    if "rejected" in measured:
        return make_verification(device, chosen, [_rejected(measured["rejected"])])
    info, info_note = torchinfo_figures(measured["module"], measured["input"])
    checks = _checks(result, measured, info, info_note, device == "meta", chosen.mode == "meta")
    return make_verification(device, chosen, checks, measured, info)


def _rejected(message: str) -> Check:
    return Check("torch_accepts", "torch builds the layer", "yes", "no", False, message)


def run_module(build: Callable[[str], Any], spec: ConvSpec, device: str) -> dict[str, Any]:
    """Build the module on device and measure one forward pass on zeros of spec's input shape."""
    import torch

    module = build(device).eval()  # inference: BatchNorm then accepts a single value per channel
    x = torch.zeros(spec.input_shape, device=device, dtype=getattr(torch, spec.dtype))
    return {"module": module, "input": x, **measure_module(module, x)}


def torchinfo_figures(module: Any, x: Any) -> tuple[dict[str, Any] | None, str]:
    """torchinfo's summary of the module already built, on the input already made, or why not.

    The same tensors, one pass after the other, so the plan's peak covers it. On the cpu it does
    not pull in sympy; on meta the meta kernels have already done so.
    """
    try:
        from importlib.metadata import version

        import torchinfo

        stats = torchinfo.summary(module, input_data=[x], verbose=0, device=x.device)
    except Exception as exc:  # a second witness only: its failure must not hide torch's verdict
        return None, f"torchinfo could not summarise the layer: {type(exc).__name__}: {exc}"
    return {
        "version": version("torchinfo"),
        "params": stats.total_params,
        "mult_adds": stats.total_mult_adds,
        "forward_backward_bytes": stats.total_output_bytes,
        "param_bytes": stats.total_param_bytes,
    }, ""


def _checks(
    result: ConvResult,
    measured: dict[str, Any],
    info: dict[str, Any] | None,
    info_note: str,
    meta_asked: bool,
    on_meta: bool,
) -> list[Check]:
    figures, get, witness = result.figures(), measured.get, measured["witness"]
    layer = conv_of(measured["module"])  # the convolution, after its pad module where it has one
    rf, rf_note = (
        (None, "not probed on --device meta") if meta_asked else measure_receptive_field(result.spec)
    )
    if on_meta:  # torchinfo's pass size, like run_planned's sizes, is only arithmetic on meta
        info = info and {**info, "forward_backward_bytes": None}
    rows = [
        ("output_shape", get("output_shape"), "forward pass"),
        ("weight_params", layer.weight.numel(), "weight.numel()"),
        ("bias_params", 0 if layer.bias is None else layer.bias.numel(), "bias.numel()"),
        ("params", get("params"), "sum of parameters"),
        ("macs", get("flops") // 2, f"{witness} / 2"),
        ("flops", get("flops"), witness),
        ("bias_adds", None, "not in torch's FLOP count"),
        ("effective_kernel", None, "no torch equivalent"),
        ("receptive_field", rf, rf_note),
        ("param_bytes", get("param_bytes"), memory_note(on_meta, "parameter tensors")),
        ("input_bytes", get("input_bytes"), memory_note(on_meta, "input tensor")),
        ("output_bytes", get("output_bytes"), memory_note(on_meta, "output tensor")),
        (
            "forward_backward_bytes",
            info and info["forward_backward_bytes"],
            memory_note(on_meta, "torchinfo (prints decimal MB)") if info else info_note,
        ),
        ("total_bytes", None, "input + fwd/bwd + params"),
    ]
    checks = [check(key, figures[key], value, note) for key, value, note in rows]
    return checks + (_torchinfo_checks(result, info) if info else [])


def _torchinfo_checks(result: ConvResult, info: dict[str, Any]) -> list[Check]:
    """torchinfo's own figures, checked against what its convention should give."""
    spec = result.spec
    expected = formulas.torchinfo_mult_adds(
        result.weight_params, result.bias_params, spec.batch, result.output_shape[2:]
    )
    if spec.transposed:
        why = f"torchinfo counts over the output size ({info['mult_adds'] - result.macs:+,} vs MACs)"
    else:
        why = "torchinfo adds bias adds to MACs"
    return [
        check("torchinfo_params", result.params, info["params"], "torchinfo", "params (torchinfo)"),
        check("torchinfo_mult_adds", expected, info["mult_adds"], why, "mult-adds (torchinfo)"),
    ]


def measure_module(module: Any, x: Any) -> dict[str, Any]:
    """Forward x through module under the FLOP witness; sizes of parameters, buffers and outputs."""
    import torch

    outputs: list[int] = []
    # a pad module's output, the padded input, is the convolution's working copy, as inside ConvNd
    leaves = [m for m in module.modules() if not list(m.children()) and not is_pad(m)]
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel() * out.element_size()))
        for m in leaves
    ]
    # On meta, simple ops' shapes answered without torch's Python references (shortcut.py): BatchNorm's
    # would import torch._dynamo, 0.7 s. Outermost, so the witness has counted an op before it answers.
    outer = shortcut_mode() if x.device.type == "meta" else contextlib.nullcontext()
    try:
        # no_grad, not inference_mode: torch's flop counting sees nothing under inference_mode.
        with outer, torch.no_grad():
            counted = count_flops(lambda: module(x))
    finally:
        for hook in hooks:
            hook.remove()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    y, params, buffers = counted.value, list(module.parameters()), list(module.buffers())
    return {
        "output_shape": tuple(y.shape),
        "params": sum(p.numel() for p in params),
        "buffers": sum(b.numel() for b in buffers),
        "flops": counted.flops,
        "witness": counted.witness,
        "witness_note": counted.note,
        "param_bytes": sum(p.numel() * p.element_size() for p in params),
        "input_bytes": x.numel() * x.element_size(),
        "output_bytes": y.numel() * y.element_size(),
        "activation_bytes": sum(outputs),
    }


@noting_warnings
def verify_variant(result: Any, device: str = "cpu", full: bool = False) -> Verification:
    """Build one compare variant (a VariantResult) in torch and check its figures."""
    device = resolve_device(device)
    variant = result.variant
    chosen = plan(list(result.stages), device, full)
    if chosen.mode == "skipped":
        return make_verification(device, chosen, [])
    build = lambda dev: build_variant(variant, dev)  # noqa: E731
    chosen, measured = run_planned(lambda dev: run_module(build, variant.stages[0], dev), chosen, device)
    if "rejected" in measured:
        return make_verification(device, chosen, [_rejected(measured["rejected"])])
    figures, witness = result.figures(), measured["witness"]
    rows = [
        ("output_shape", "forward pass"),
        ("params", "sum of parameters"),
        ("macs", f"{witness} / 2"),
        ("flops", witness),
        ("param_bytes", "parameter tensors"),
        ("output_bytes", "output tensor"),
        ("activation_bytes", "every module's output"),
    ]
    if variant.bn:
        rows.insert(2, ("buffers", "BatchNorm buffers"))
    measured["macs"] = measured["flops"] // 2
    on_meta = chosen.mode == "meta"
    label = lambda key: key.replace("_", " ")  # noqa: E731
    checks = [
        check(
            key,
            figures[key],
            measured[key],
            memory_note(on_meta and key in UNMEASURED_ON_META, note),
            label(key),
        )
        for key, note in rows
    ]
    return make_verification(device, chosen, checks, measured)

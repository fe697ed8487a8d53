"""verify(): build the real torch layer and measure what analyze() computed.

With witness.py and probe.py in measure/, the only modules that import torch and torchinfo, and only
inside functions, so that the analytic path stays instant. core/plan.py decides beforehand what may run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..core import formulas
from ..core.errors import DeviceError
from ..core.plan import Plan, choose
from ..core.results import FIGURES, Check, ConvResult, Verification
from ..core.spec import ConvSpec
from .probe import measure_receptive_field
from .witness import count_flops


def noting_warnings(check: Callable[..., Verification]) -> Callable[..., Verification]:
    """check, with what torch warned while it ran kept as one line each, not printed with file paths."""

    @functools.wraps(check)
    def checked(*args: Any, **kwargs: Any) -> Verification:
        with recording_warnings() as lines:
            verification = check(*args, **kwargs)
        return dataclasses.replace(verification, warnings=tuple(lines)) if lines else verification

    return checked


@contextlib.contextmanager
def recording_warnings() -> Iterator[list[str]]:
    """What torch warns inside the block, one line each, in the list given (filled as the block ends)."""
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lines
    lines.extend(dict.fromkeys(_one_line(str(w.message)) for w in caught))


def _one_line(message: str) -> str:
    """torch's message without the C++ source location it appends."""
    return message.split(" (Triggered internally at", 1)[0].splitlines()[0].strip()


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


def make_verification(
    device: str, chosen: Plan, checks: list[Check], measured: dict | None = None, info: dict | None = None
) -> Verification:
    import torch

    measured = measured or {}
    reason = chosen.reason + (f"; {measured['witness_note']}" if measured.get("witness_note") else "")
    return Verification(
        device=device_label(device),
        mode=chosen.mode,
        reason=reason,
        torch_version=torch.__version__,
        torchinfo_version=info.get("version") if info else None,
        checks=tuple(checks),
        flop_witness=measured.get("witness"),
    )


def _rejected(message: str) -> Check:
    return Check("torch_accepts", "torch builds the layer", "yes", "no", False, message)


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
            raise DeviceError(f"--device {name}: no CUDA device: {build}; use --device cpu or --device meta")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible; "
                f"use cuda:0..cuda:{torch.cuda.device_count() - 1}"
            )
    if name == "mps" and not mps_ok:
        raise DeviceError(
            "--device mps: MPS is not available (it needs Apple silicon and a torch built with MPS); "
            "use --device cpu or --device meta"
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


def build_layer(spec: ConvSpec, device: str) -> Any:
    """The torch module spec describes, on device, in spec's dtype."""
    import torch

    cls = getattr(torch.nn, spec.kind)
    kwargs: dict[str, Any] = dict(
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
        padding_mode=spec.padding_mode,
        device=device,
        dtype=getattr(torch, spec.dtype),
    )
    if spec.transposed:
        kwargs["output_padding"] = spec.output_padding
    return cls(spec.in_channels, spec.out_channels, spec.kernel_size, **kwargs)


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


def compare(key: str, analytic: Any, measured: Any, note: str, label: str | None = None) -> Check:
    """One row: ok is None where torch has nothing to compare."""
    ok = None if measured is None else measured == analytic
    return Check(key, label or FIGURES[key], analytic, measured, ok, note)


def _checks(
    result: ConvResult,
    measured: dict[str, Any],
    info: dict[str, Any] | None,
    info_note: str,
    meta_asked: bool,
    on_meta: bool,
) -> list[Check]:
    figures, get, layer, witness = result.figures(), measured.get, measured["module"], measured["witness"]
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
        ("param_bytes", get("param_bytes"), _memory_note(on_meta, "parameter tensors")),
        ("input_bytes", get("input_bytes"), _memory_note(on_meta, "input tensor")),
        ("output_bytes", get("output_bytes"), _memory_note(on_meta, "output tensor")),
        (
            "forward_backward_bytes",
            info and info["forward_backward_bytes"],
            _memory_note(on_meta, "torchinfo (prints decimal MB)") if info else info_note,
        ),
        ("total_bytes", None, "input + fwd/bwd + params"),
    ]
    checks = [compare(key, figures[key], value, note) for key, value, note in rows]
    return checks + (_torchinfo_checks(result, info) if info else [])


UNMEASURED_ON_META = ("param_bytes", "input_bytes", "output_bytes", "activation_bytes")


def _memory_note(on_meta: bool, how: str) -> str:
    return "not measured: the meta device allocates nothing" if on_meta else how


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
        compare("torchinfo_params", result.params, info["params"], "torchinfo", "params (torchinfo)"),
        compare("torchinfo_mult_adds", expected, info["mult_adds"], why, "mult-adds (torchinfo)"),
    ]


def measure_module(module: Any, x: Any) -> dict[str, Any]:
    """Forward x through module under the FLOP witness; sizes of parameters, buffers and outputs."""
    import torch

    outputs: list[int] = []
    leaves = [m for m in module.modules() if not list(m.children())]
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel() * out.element_size()))
        for m in leaves
    ]
    try:
        # no_grad, not inference_mode: torch's flop counting sees nothing under inference_mode.
        with torch.no_grad():
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
        compare(
            key,
            figures[key],
            measured[key],
            _memory_note(on_meta and key in UNMEASURED_ON_META, note),
            label(key),
        )
        for key, note in rows
    ]
    return make_verification(device, chosen, checks, measured)


def build_variant(variant: Any, device: str) -> Any:
    """The variant's modules in order: each conv stage, then BatchNorm and the activation if asked."""
    import torch

    from ..core.variants import ACTIVATIONS

    modules = []
    for spec in variant.stages:
        modules.append(shared_depthwise(spec, device) if variant.shared else build_layer(spec, device))
        if variant.bn:
            norm = getattr(torch.nn, f"BatchNorm{spec.dim}d")
            modules.append(norm(spec.out_channels, device=device, dtype=getattr(torch, spec.dtype)))
        if variant.act:
            modules.append(getattr(torch.nn, ACTIVATIONS[variant.act])())
    return modules[0] if len(modules) == 1 else torch.nn.Sequential(*modules)


def shared_depthwise(spec: ConvSpec, device: str) -> Any:
    """A depthwise conv whose M = Cout/Cin kernels (and M biases) are shared by every input channel.

    The seed post builds it with functional conv and a repeated weight; its bias had M elements
    where torch needs Cout, so here the bias is repeated the same way as the weight.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    m, dtype = spec.out_channels // spec.in_channels, getattr(torch, spec.dtype)
    conv = getattr(F, f"conv{spec.dim}d")
    # F.pad wants the last dimension first; non-zero modes pad before convolving, as nn.Conv does.
    pad = [p for left_right in reversed(spec.pads) for p in left_right]
    padding = spec.padding if spec.padding_mode == "zeros" else 0

    class SharedDepthwise(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(m, 1, *spec.kernel_size, device=device, dtype=dtype))
            self.bias = torch.nn.Parameter(torch.zeros(m, device=device, dtype=dtype)) if spec.bias else None

        def forward(self, x: Any) -> Any:
            if spec.padding_mode != "zeros":
                x = F.pad(x, pad, mode=spec.padding_mode)
            weight = self.weight.repeat(spec.in_channels, *[1] * (spec.dim + 1))  # output o uses kernel o % M
            bias = None if self.bias is None else self.bias.repeat(spec.in_channels)
            return conv(x, weight, bias, spec.stride, padding, spec.dilation, spec.in_channels)

    return SharedDepthwise()

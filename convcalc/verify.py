"""verify(): build the real torch layer and measure what analyze() computed.

The only module that imports torch and torchinfo, and only inside functions, so that the
analytic path stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

from . import formulas
from .errors import DeviceError
from .results import FIGURES, Check, ConvResult, Verification
from .spec import ConvSpec

MEMORY_LIMIT = 1 << 30  # bytes a real forward pass may take before convcalc falls back to meta
TIME_LIMIT = 2.0  # seconds a real forward pass may take, by the estimate below
# Conservative multiply-accumulates per second, so the estimate errs towards meta.
MACS_PER_SECOND = {"cpu": 1e10, "cuda": 2e12, "mps": 2e11}
PROBE_LIMIT = 512  # widest effective kernel the receptive-field probe measures
_SLOW_ON_CPU = {"float16": 8, "bfloat16": 4, "float64": 2}


def verify(result: ConvResult, device: str = "cpu", full: bool = False) -> Verification:
    """Build result's layer in torch on device and compare every figure torch can measure."""
    spec = result.spec
    device = resolve_device(device)
    mode, reason, measured = run_planned(lambda dev: build_layer(spec, dev), spec, [result], device, full)
    info, info_note = torchinfo_figures(spec)
    return _verification(device, mode, reason, _checks(result, measured, info, info_note), info)


def _verification(device: str, mode: str, reason: str, checks: list[Check], info: dict | None = None):
    import torch

    return Verification(
        device=device_label(device),
        mode=mode,
        reason=reason,
        torch_version=torch.__version__,
        torchinfo_version=info.get("version") if info else None,
        checks=tuple(checks),
    )


def run_planned(
    build: Callable[[str], Any], spec: ConvSpec, stages: list[ConvResult], device: str, full: bool
) -> tuple[str, str, dict[str, Any]]:
    """Measure build(device) on an input of spec's shape: for real where it fits, else on meta."""
    mode, reason = plan(stages, device, full)
    measured = None
    if mode == "real":
        measured, failure = _run_real(build, spec, device)
        if measured is None:
            mode, reason = (
                "meta",
                f"counted on the meta device, since the real pass failed on {device}: {failure}",
            )
    if measured is None:
        measured = run_module(build, spec, "meta")
    return mode, reason, measured


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


def plan(stages: list[ConvResult], device: str, full: bool) -> tuple[str, str]:
    """Choose a real forward pass or the meta device, from estimated memory and time."""
    if device == "meta":
        return "meta", "meta device: shapes, parameters and FLOPs, no data and no real pass"
    estimates = [estimate(r, device) for r in stages]
    need, seconds = sum(e[0] for e in estimates), sum(e[1] for e in estimates)
    free = free_memory(device)
    if free is not None and need > free * 0.8:
        # Even --full does not get to run the machine out of memory.
        return "meta", (
            f"counted on the meta device, since a real pass on {device} would need about {_gib(need)} "
            f"and only {_gib(free)} is free"
        )
    if full:
        return "real", f"real forward pass forced by --full (estimated {_gib(need)}, {seconds:.2g} s)"
    if need > MEMORY_LIMIT or seconds > TIME_LIMIT:
        return "meta", (
            f"counted on the meta device, since a real pass on {device} would need about {_gib(need)} "
            f"and {seconds:.2g} s (--full forces it)"
        )
    return "real", "real forward pass"


def free_memory(device: str) -> int | None:
    """Bytes free on device (physical memory for the cpu), or None where it cannot be told."""
    import os

    import torch

    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    if device == "cpu" and hasattr(os, "sysconf") and "SC_AVPHYS_PAGES" in os.sysconf_names:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def estimate(result: ConvResult, device: str) -> tuple[int, float]:
    """Bytes and seconds a real forward pass would take, erring high."""
    spec, mem = result.spec, result.memory
    need = mem.input_bytes + mem.output_bytes + mem.param_bytes
    if spec.padding_mode != "zeros" or spec.padding == "same":
        need += formulas.tensor_bytes((spec.batch, spec.in_channels, *_padded(spec)), spec.element_bytes)
    kind = device.partition(":")[0]
    rate = MACS_PER_SECOND.get(kind, MACS_PER_SECOND["cpu"])
    if kind == "cpu":
        # CPU kernels may unfold one sample's group into columns (im2col) before the matrix product.
        spatial = spec.input_size if spec.transposed else spec.output_spatial
        channels = (spec.out_channels if spec.transposed else spec.in_channels) // spec.groups
        need += channels * prod(spec.kernel_size) * prod(spatial) * spec.element_bytes
        rate /= _SLOW_ON_CPU.get(spec.dtype, 1)
    return need, result.macs / rate


def _padded(spec: ConvSpec) -> tuple[int, ...]:
    return tuple(n + left + right for n, (left, right) in zip(spec.input_size, spec.pads))


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


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
    return {"module": module, **measure_module(module, x)}


def _run_real(build: Callable[[str], Any], spec: ConvSpec, device: str) -> tuple[dict[str, Any] | None, str]:
    import torch

    try:
        return run_module(build, spec, device), ""
    except (torch.OutOfMemoryError, MemoryError):
        return None, "out of memory"
    except (RuntimeError, NotImplementedError, TypeError) as exc:
        # Only a missing kernel (a dtype the device lacks) or a failed allocation falls back;
        # anything else is a real error.
        text = str(exc).splitlines()[0]
        if any(
            w in text.lower()
            for w in ("not implemented", "not supported", "doesn't support", "can't allocate")
        ):
            return None, text
        raise


def measure_receptive_field(spec: ConvSpec) -> tuple[int, ...] | None:
    """Per dimension, the widest span of inputs that reach one output, from a 1-channel probe on cpu.

    Each input position gets a one-hot vector (a batch of them); with all-ones weights an output
    element is non-zero exactly when that input position reaches it.
    """
    import torch

    spans = []
    for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation):
        k_eff = formulas.effective_kernel(k, d)
        if k_eff > PROBE_LIMIT or s > PROBE_LIMIT:
            return None
        n = k_eff + 2 * s + 2
        cls = torch.nn.ConvTranspose1d if spec.transposed else torch.nn.Conv1d
        probe = cls(1, 1, k, stride=s, dilation=d, bias=False, dtype=torch.float64)
        with torch.no_grad():
            probe.weight.fill_(1.0)
            reach = probe(torch.eye(n, dtype=torch.float64).unsqueeze(1))[:, 0, :] != 0  # (input, output)
        widths = []
        for column in reach.T:
            hit = column.nonzero().flatten()
            widths.append(int(hit.max() - hit.min()) + 1 if len(hit) else 0)
        spans.append(max(widths))
    return tuple(spans)


def torchinfo_figures(spec: ConvSpec) -> tuple[dict[str, Any] | None, str]:
    """torchinfo's summary of the layer on the meta device (same counts, no memory), or why not."""
    import torch

    try:
        from importlib.metadata import version

        import torchinfo

        layer = build_layer(spec, "meta")
        x = torch.empty(spec.input_shape, device="meta", dtype=getattr(torch, spec.dtype))
        stats = torchinfo.summary(layer, input_data=[x], verbose=0)
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
    result: ConvResult, measured: dict[str, Any], info: dict[str, Any] | None, info_note: str
) -> list[Check]:
    figures, get, layer = result.figures(), measured.get, measured["module"]
    rf = measure_receptive_field(result.spec)
    rows = [
        ("output_shape", get("output_shape"), "forward pass"),
        ("weight_params", layer.weight.numel(), "weight.numel()"),
        ("bias_params", 0 if layer.bias is None else layer.bias.numel(), "bias.numel()"),
        ("params", get("params"), "sum of parameters"),
        ("macs", get("flops") // 2, "FlopCounterMode / 2"),
        ("flops", get("flops"), "FlopCounterMode"),
        ("bias_adds", None, "FlopCounterMode leaves bias out"),
        ("effective_kernel", None, "no torch equivalent"),
        ("receptive_field", rf, "one-hot probe on cpu" if rf else "kernel too wide to probe"),
        ("param_bytes", get("param_bytes"), "parameter tensors"),
        ("input_bytes", get("input_bytes"), "input tensor"),
        ("output_bytes", get("output_bytes"), "output tensor"),
        (
            "forward_backward_bytes",
            info and info["forward_backward_bytes"],
            "torchinfo" if info else info_note,
        ),
        ("total_bytes", None, "input + fwd/bwd + params"),
    ]
    checks = [compare(key, figures[key], value, note) for key, value, note in rows]
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
        compare("torchinfo_params", result.params, info["params"], "torchinfo", "params (torchinfo)"),
        compare("torchinfo_mult_adds", expected, info["mult_adds"], why, "mult-adds (torchinfo)"),
    ]


def measure_module(module: Any, x: Any) -> dict[str, Any]:
    """Forward x through module under the flop counter; sizes of parameters, buffers and outputs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    outputs: list[int] = []
    leaves = [m for m in module.modules() if not list(m.children())]
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel() * out.element_size()))
        for m in leaves
    ]
    try:
        # no_grad, not inference_mode: the flop counter sees nothing under inference_mode.
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            y = module(x)
    finally:
        for hook in hooks:
            hook.remove()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    params, buffers = list(module.parameters()), list(module.buffers())
    return {
        "output_shape": tuple(y.shape),
        "params": sum(p.numel() for p in params),
        "buffers": sum(b.numel() for b in buffers),
        "flops": counter.get_total_flops(),
        "param_bytes": sum(p.numel() * p.element_size() for p in params),
        "input_bytes": x.numel() * x.element_size(),
        "output_bytes": y.numel() * y.element_size(),
        "activation_bytes": sum(outputs),
    }


def verify_variant(result: Any, device: str = "cpu", full: bool = False) -> Verification:
    """Build one compare variant (a VariantResult) in torch and check its figures."""
    device = resolve_device(device)
    variant = result.variant
    mode, reason, measured = run_planned(
        lambda dev: build_variant(variant, dev), variant.stages[0], list(result.stages), device, full
    )
    figures = result.figures()
    rows = [
        ("output_shape", "forward pass"),
        ("params", "sum of parameters"),
        ("macs", "FlopCounterMode / 2"),
        ("flops", "FlopCounterMode"),
        ("param_bytes", "parameter tensors"),
        ("output_bytes", "output tensor"),
        ("activation_bytes", "every module's output"),
    ]
    if variant.bn:
        rows.insert(2, ("buffers", "BatchNorm buffers"))
    measured["macs"] = measured["flops"] // 2
    checks = [compare(key, figures[key], measured[key], note, key.replace("_", " ")) for key, note in rows]
    return _verification(device, mode, reason, checks)


def build_variant(variant: Any, device: str) -> Any:
    """The variant's modules in order: each conv stage, then BatchNorm and the activation if asked."""
    import torch

    from .variants import ACTIVATIONS

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

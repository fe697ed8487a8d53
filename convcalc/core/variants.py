"""A standard convolution and its cheaper alternatives, each as a sequence of ConvSpecs.

Standard library only. Every figure comes from analyze() on the stages; nothing here has a
formula of its own beyond adding stages up and the closed forms shown to readers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import gcd, prod
from typing import Any

from . import formulas
from .analysis import analyze
from .errors import ConvCalcError, InvalidSpecError, term
from .kinds import ACTIVATIONS
from .results import ConvResult
from .spec import ConvSpec, layer_repr


@dataclass(frozen=True)
class Variant:
    """One alternative: its conv stages, each followed by BatchNorm and an activation when asked."""

    name: str  # as --expect addresses it: standard, grouped2, depthwise, pointwise, dwsep, shared
    title: str
    stages: tuple[ConvSpec, ...]
    formula: str  # closed form of the weights
    shared: bool = False  # one set of depthwise kernels shared by every channel
    bn: bool = False
    act: str | None = None
    skipped: str = ""  # why the variant cannot be built for these channels


def build_variants(
    base: ConvSpec,
    groups: list[int] | None = None,
    multiplier: int = 1,
    bn: bool = False,
    act: str | None = None,
) -> list[Variant]:
    """standard, grouped (per g), depthwise, pointwise, depthwise-separable and shared-kernel depthwise."""
    if base.transposed:
        raise ConvCalcError(
            "compare: transposed convolutions have no depthwise-separable family; "
            f"drop {term('transposed=True')}"
        )
    for name, count in (("multiplier", multiplier), *(("groups", g) for g in groups or ())):
        if count < 1:  # as torch: a count that merely does not divide the channels is a skipped row
            raise InvalidSpecError(name, f"got {count}; it must be a positive integer")
    if act is not None and act not in ACTIVATIONS:
        raise InvalidSpecError("act", f"unknown activation {act!r}; use one of {', '.join(ACTIVATIONS)}")
    k, cin, m = _k(base), base.in_channels, multiplier
    standard = replace(base, groups=1)
    depthwise = replace(base, out_channels=m * cin, groups=cin)
    pointwise = replace(base, kernel_size=1, padding=0, dilation=1, padding_mode="zeros")
    after_dw = replace(
        base,
        in_channels=m * cin,
        kernel_size=1,
        stride=1,
        padding=0,
        dilation=1,
        padding_mode="zeros",
        input_size=depthwise.output_spatial,
        groups=1,
    )
    extra = {"bn": bn, "act": act}
    rows = [Variant("standard", "standard", (standard,), f"Cin·Cout·{k}", **extra)]
    rows += [_grouped(base, g, k, extra) for g in (default_groups(base) if groups is None else groups)]
    dw_formula = f"Cin·{k}" if m == 1 else f"M·Cin·{k}"
    rows += [
        Variant(
            "depthwise", "depthwise" if m == 1 else f"depthwise M={m}", (depthwise,), dw_formula, **extra
        ),
        Variant("pointwise", "pointwise", (pointwise,), "Cin·Cout", **extra),
        Variant(
            "dwsep",
            "dw-separable",
            (depthwise, after_dw),
            f"{dw_formula} + {'M·' * (m > 1)}Cin·Cout",
            **extra,
        ),
        Variant("shared", "dw shared kernel", (depthwise,), f"{'M·' * (m > 1)}{k}", shared=True, **extra),
    ]
    return rows


def default_groups(base: ConvSpec) -> list[int]:
    """Up to four common divisors of both channel counts, spread out, short of depthwise."""
    shared = formulas.divisors(gcd(base.in_channels, base.out_channels))
    common = [g for g in shared if 1 < g < base.in_channels]
    if len(common) <= 4:
        return common
    step = (len(common) - 1) / 3
    return sorted({common[round(i * step)] for i in range(4)})


def _grouped(base: ConvSpec, g: int, k: str, extra: dict) -> Variant:
    name, title, formula = f"grouped{g}", f"grouped g={g}", f"g·(Cin/g)·(Cout/g)·{k}"
    if g == 1:
        return Variant(name, title, (), formula, skipped="groups=1 is the standard convolution", **extra)
    for label, channels in (("C_IN", base.in_channels), ("C_OUT", base.out_channels)):  # the table's words
        if channels % g:
            return Variant(
                name, title, (), formula, skipped=f"{label}={channels} is not divisible by {g}", **extra
            )
    return Variant(name, title, (replace(base, groups=g),), formula, **extra)


def _k(spec: ConvSpec) -> str:
    """k, k², k³ for square kernels; kh·kw and the like otherwise."""
    ks = spec.kernel_size
    if len(set(ks)) == 1:
        return "k" + {1: "", 2: "²", 3: "³"}[len(ks)]
    return "·".join({1: ["k"], 2: ["kh", "kw"], 3: ["kd", "kh", "kw"]}[len(ks)])


@dataclass(frozen=True)
class VariantResult:
    """A variant's figures, summed over its stages."""

    variant: Variant
    stages: tuple[ConvResult, ...]
    layer: str
    weight_params: int
    bias_params: int
    bn_params: int
    buffers: int
    macs: int
    bias_adds: int
    output_shape: tuple[int, ...]
    receptive_field: tuple[int, ...]
    param_bytes: int
    output_bytes: int
    activation_bytes: int

    @property
    def params(self) -> int:
        return self.weight_params + self.bias_params + self.bn_params

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.stages[0].input_shape

    def figures(self) -> dict[str, Any]:
        keys = (
            "output_shape",
            "params",
            "weight_params",
            "bias_params",
            "bn_params",
            "buffers",
            "macs",
            "flops",
            "bias_adds",
            "receptive_field",
            "param_bytes",
            "output_bytes",
            "activation_bytes",
        )
        return {key: getattr(self, key) for key in keys}


def analyze_variant(variant: Variant) -> VariantResult:
    """Add up the stages; BatchNorm adds weight and bias per channel and three buffers."""
    stages = tuple(analyze(spec) for spec in variant.stages)
    first, last = stages[0], stages[-1]
    per_channel = [s.spec.out_channels for s in stages] if variant.bn else []
    m = first.spec.out_channels // first.spec.in_channels
    weight = m * prod(first.spec.kernel_size) if variant.shared else sum(s.weight_params for s in stages)
    bias = (m if first.spec.bias else 0) if variant.shared else sum(s.bias_params for s in stages)
    modules_per_stage = 1 + variant.bn + (variant.act is not None)  # each module keeps its output
    bn_params = 2 * sum(per_channel)  # BatchNorm's weight and bias
    return VariantResult(
        variant=variant,
        stages=stages,
        layer=variant_repr(variant),
        weight_params=weight,
        bias_params=bias,
        bn_params=bn_params,
        buffers=sum(2 * c + 1 for c in per_channel),  # running mean, running var, num_batches_tracked
        macs=sum(s.macs for s in stages),
        bias_adds=sum(s.bias_adds for s in stages),
        output_shape=last.output_shape,
        receptive_field=tuple(
            formulas.stack_receptive_field(
                [s.effective_kernel[d] for s in stages], [s.spec.stride[d] for s in stages]
            )
            for d in range(first.spec.dim)
        ),
        param_bytes=(weight + bias + bn_params) * first.spec.element_bytes,
        output_bytes=last.memory.output_bytes,
        activation_bytes=modules_per_stage * sum(s.memory.output_bytes for s in stages),
    )


def variant_repr(variant: Variant) -> str:
    """The modules in order, as torch names them: Conv2d(...) -> BatchNorm2d(6) -> ReLU()."""
    parts = []
    for spec in variant.stages:
        conv = layer_repr(spec)
        parts.append(conv.replace("Conv", "SharedDepthwiseConv", 1) if variant.shared else conv)
        if variant.bn:
            parts.append(f"BatchNorm{spec.dim}d({spec.out_channels})")
        if variant.act:
            parts.append(f"{ACTIVATIONS[variant.act]}()")
    return " -> ".join(parts)

"""conv, depthwise, pointwise and dwsep: convolutions, through ConvSpec and analyze(), so no conv formula
lives here twice."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from .. import formulas
from ..analysis import analyze
from ..results import ConvResult
from ..spec import PAD_MODULES, ConvSpec, Size, pads_first, read_conv, torch_padding
from .base import BOOL, COUNT, MODE, PADDING, SIZE, SIZE0, Cost, Kind, Recipe, Row, Saved, Step, spatial

_CONV = {"out": COUNT, "kernel": SIZE, "stride": SIZE, "padding": PADDING, "dilation": SIZE, "groups": COUNT}
_CONV_MORE = {"bias": BOOL, "transposed": BOOL, "output_padding": SIZE0, "padding_mode": MODE}
_CONV_MORE |= {"output_size": SIZE}  # a transposed conv's output size: it sets output_padding, as torch
_DW = {
    "multiplier": COUNT,
    "kernel": SIZE,
    "stride": SIZE,
    "padding": PADDING,
    "dilation": SIZE,
    "bias": BOOL,
}
_CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "bias": True}
# The stack fields ConvSpec takes as they are (output_size only where given: a torch module has none).
_SPEC_FIELDS = ("stride", "padding", "dilation", "groups", "bias", "transposed", "output_padding")
_SPEC_FIELDS += ("padding_mode",)
_GIVEN_FIELDS = (*_SPEC_FIELDS, "output_size")
_CONV_CLASSES = tuple(f"{c}{d}d" for c in ("Conv", "ConvTranspose") for d in (1, 2, 3))


@dataclass(frozen=True)
class Conv(Kind):
    """conv, depthwise (groups = C_IN, `multiplier` x C_IN outputs) and pointwise (kernel 1): through
    ConvSpec and analyze(), so no conv formula lives here twice."""

    def spec(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> ConvSpec:
        dims, channels = spatial(shape, self.name), shape[1]
        settings = {k: v for k, v in layer.items() if k in _GIVEN_FIELDS}
        if self.name == "conv":
            settings.update(out_channels=layer["out"], kernel_size=layer["kernel"])
        elif self.name == "depthwise":
            settings.update(out_channels=layer["multiplier"] * channels, kernel_size=layer["kernel"])
            settings.update(groups=channels)
        else:
            settings.update(out_channels=layer["out"], kernel_size=1)
        return ConvSpec(channels, input_size=dims, batch=shape[0], dtype=dtype, dim=len(dims), **settings)

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        spec = self.spec(layer, shape, dtype)
        result = analyze(spec)
        # A transposed layer with stride > 1 puts its outputs off a uniform grid over the input.
        uniform = not spec.transposed or set(spec.stride) == {1}
        return Step(
            result.output_shape,
            params=result.params,
            macs=result.macs,
            bias_adds=result.bias_adds,
            window=result.receptive_field,
            step=spec.stride if uniform else None,
            conv=result,
        )

    def backward(self, row: Row, index: int, x: Hashable, grad: bool, size: int, device: str) -> Cost:
        assert row.conv is not None  # every conv row carries its single-layer result
        return conv_cost(row.conv, grad, x, index, row.params if row.shared else None)

    def module(self, row: Row) -> Recipe:
        assert row.conv is not None
        return conv_recipe(row.conv.spec)

    def from_module(self, module: Any) -> dict[str, Any] | None:
        if not module.in_channels:  # nn.LazyConv*d before its first forward pass
            return None
        spec = read_conv(module)
        settings = {key: getattr(spec, key) for key in _SPEC_FIELDS}
        return {"kind": "conv", "out": spec.out_channels, "kernel": spec.kernel_size, **settings}


def conv_recipe(spec: ConvSpec) -> Recipe:
    """The torch module a ConvSpec describes: Conv2d(C_IN, C_OUT, kernel, stride=..., ...); where its two
    sides pad differently (per side, tf-same), Sequential(ZeroPad2d(pads), Conv2d(..., padding=0)), with
    the pad module of its padding mode, as code ported from TensorFlow builds it."""
    first = pads_first(spec)
    kwargs = {
        "stride": spec.stride,
        "padding": torch_padding(spec),
        "dilation": spec.dilation,
        "groups": spec.groups,
        "bias": spec.bias,
        "padding_mode": "zeros" if first else spec.padding_mode,
    }
    if spec.transposed:
        kwargs["output_padding"] = spec.output_padding
    conv = Recipe(spec.kind, (spec.in_channels, spec.out_channels, spec.kernel_size), kwargs, True)
    if first is None:
        return conv
    return Recipe("Sequential", (Recipe(f"{PAD_MODULES[spec.padding_mode]}{spec.dim}d", (first,)), conv))


def conv_cost(
    result: ConvResult, input_grad: bool, x: Hashable, tag: Hashable, shared_params: int | None = None
) -> Cost:
    """A convolution's backward: one aten.convolution_backward. shared_params: a compare variant's
    shared-kernel depthwise conv, with that many parameters."""
    spec = result.spec
    saved = _conv_saved(result, input_grad, x, tag)
    if shared_params is not None:  # kernels repeated to Cout x 1 x k: a tensor of its own, saved by the conv
        saved += (((tag, "weight"), spec.out_channels * prod(spec.kernel_size) * spec.element_bytes),)
    return Cost(
        grad_input_macs=result.macs if input_grad else 0,  # conv_transpose(grad_out, w): the forward's MACs
        grad_weight_macs=result.macs,  # every weight meets every position it touched once: the forward's
        torch_grad_weight_macs=spec.groups * result.macs,  # torch's formula ignores groups here
        bias_grad_adds=result.bias_adds,  # a sum of grad_out per channel: N x Cout x prod(out)
        params=result.params if shared_params is None else shared_params,
        tensors=1 + spec.bias,
        saved=saved,
    )


def _conv_saved(result: ConvResult, input_grad: bool, x: Hashable, tag: Hashable) -> Saved:
    """The input the conv saves, or the padded copy torch makes before convolving (and keeps)."""
    spec, size = result.spec, result.spec.element_bytes
    lead = result.input_shape[:2]  # N, Cin
    if spec.padding_mode != "zeros" or pads_first(spec):  # padded first, then a conv without padding
        padded = tuple(n + left + right for n, (left, right) in zip(spec.input_size, spec.pads))
        copy = ((tag, "padded"), formulas.tensor_bytes((*lead, *padded), size))
        # reflect and replicate pads need their input for their own backward; circular does not
        keeps_input = input_grad and spec.padding_mode in ("reflect", "replicate")
        return ((x, result.memory.input_bytes), copy) if keeps_input else (copy,)
    if any(left != right for left, right in spec.pads):  # asymmetric 'same': the odd extra on the right
        padded = tuple(n + right - left for n, (left, right) in zip(spec.input_size, spec.pads))
        return (((tag, "padded"), formulas.tensor_bytes((*lead, *padded), size)),)
    return ((x, result.memory.input_bytes),)


@dataclass(frozen=True)
class DepthwiseSeparable(Kind):
    """dwsep: written as one layer, expanded by stack_grammar into depthwise `.dw` and pointwise `.pw`."""

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        raise ValueError("dwsep is expanded into depthwise and pointwise layers before it is analysed")

    def expand(self, layer: dict[str, Any]) -> list[dict[str, Any]]:
        parts = {k: v for k, v in layer.items() if k != "out"}
        depthwise = {**parts, "kind": "depthwise", "part": ".dw"}
        pointwise = {"kind": "pointwise", "out": layer["out"], "stride": 1, "bias": layer["bias"]}
        named = {"name": layer["name"]} if "name" in layer else {}
        return [depthwise, {**pointwise, **named, "base": "dwsep", "part": ".pw"}]


ENTRIES = (
    Conv(
        "conv",
        {**_CONV, **_CONV_MORE},
        ("out", "kernel"),
        {**_CONV_DEFAULTS, "groups": 1, "transposed": False, "output_padding": 0, "padding_mode": "zeros"},
        _CONV_CLASSES,
    ),
    Conv("depthwise", _DW, ("kernel",), {"multiplier": 1, **_CONV_DEFAULTS}),
    Conv("pointwise", {"out": COUNT, "stride": SIZE, "bias": BOOL}, ("out",), {"stride": 1, "bias": True}),
    DepthwiseSeparable(
        "dwsep", {"out": COUNT, **_DW}, ("out", "kernel"), {"multiplier": 1, **_CONV_DEFAULTS}
    ),
)

"""analyze_stack(): the figures of a sequence of layers, walking the shapes from the input. No torch.

Each layer's figures are its kind's (core/kinds: conv-like layers through ConvSpec and analyze(), so
no conv formula lives here twice), counted as torch.utils.flop_counter.FlopCounterMode counts them, so
verification compares directly: MACs = its count / 2. Bias additions are reported apart, as for one
layer.

Receptive field and jump, per spatial dimension, by the recurrence of Araujo et al. (Distill 2019),
from r = j = 1 at the input: a layer whose window spans w input positions of its own input with step s
gives r_out = r_in + (w - 1) * j_in and j_out = j_in * s; each kind gives its window and step. Like
the single-layer figure they count padding positions, so they can exceed the input. After a layer
whose outputs are off a uniform grid over its input (a strided transposed conv, an adaptive pool whose
output size does not divide its input, an upsample that changes the size), the jump and every later
layer's receptive field are None ("not modelled").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import formulas
from .errors import InvalidSpecError, SpecFileError
from .kinds import Step, layer_step, receptive
from .results import ConvResult
from .spec import DTYPE_BYTES, Size, json_ready

# The spec's words for the settings ConvSpec's messages name (a layer's input: the one before gives it).
STACK_WORDS = {
    "in_channels": "input channels",
    "out_channels": "out",
    "kernel_size": "kernel",
    "input_size": "input",
    "transposed=True": "transposed=true",
}


@dataclass(frozen=True, slots=True)
class StackLayer:
    """One layer's figures; shapes include the batch. receptive_field and jump: None when not modelled."""

    name: str
    kind: str
    depth: int  # nesting in the built nn.Sequential: 1 for the halves of a depthwise-separable layer
    settings: dict[str, Any]
    input_shape: Size
    output_shape: Size
    params: int
    trainable_params: int
    buffers: int  # batchnorm's running mean and variance, and its num_batches_tracked
    macs: int
    flops: int
    bias_adds: int
    receptive_field: Size | None
    jump: Size | None
    activation_bytes: int  # the output tensor
    conv: ConvResult | None  # the single-layer result, for conv, depthwise and pointwise layers


@dataclass(frozen=True, slots=True)
class StackResult:
    """Every layer and the totals; receptive_field and jump are the last layer's."""

    layers: tuple[StackLayer, ...]
    input_shape: Size
    batch: int
    dtype: str
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    bias_adds: int
    activation_bytes: int  # every layer's output, summed (what a forward pass keeps for backward)
    param_bytes: int
    receptive_field: Size | None
    jump: Size | None

    @property
    def output_shape(self) -> Size:
        return self.layers[-1].output_shape


def analyze_stack(
    layers: Iterable[Mapping[str, Any]], input_shape: Size, batch: int = 1, dtype: str = "float32"
) -> StackResult:
    """Walk the layers (as stack_grammar builds them) from an input (C, *spatial); every figure, no torch."""
    _check_run(input_shape, batch, dtype)
    shape: Size = (batch, *input_shape)
    spatial = len(input_shape) - 1
    field: Size | None = (1,) * spatial
    jump: Size | None = (1,) * spatial
    rows: list[StackLayer] = []
    for index, layer in enumerate(layers, 1):
        where = f"layer {index} ({layer['name']}, {layer['kind']})"
        try:
            step = layer_step(layer, shape, dtype)
        except InvalidSpecError as exc:
            raise SpecFileError(f"{where}: {exc.in_words(STACK_WORDS)}") from None
        field, jump = receptive(field, jump, step)
        rows.append(_row(layer, shape, step, field, jump, dtype))
        shape = step.output_shape
    if not rows:
        raise SpecFileError("spec: no layers; give at least one, e.g. 'conv out=16 kernel=3'")
    return _totals(tuple(rows), (batch, *input_shape), batch, dtype)


def _check_run(input_shape: Size, batch: int, dtype: str) -> None:
    if not 1 <= len(input_shape) <= 4 or any(type(v) is not int or v < 1 for v in input_shape):
        shown = "x".join(map(str, input_shape))
        raise InvalidSpecError("input_size", f"got {shown!r}; use positive integers C, CxL, CxHxW or CxDxHxW")
    if type(batch) is not int or batch < 1:
        raise InvalidSpecError("batch", f"got {batch!r}; it must be a positive integer")
    if dtype not in DTYPE_BYTES:
        raise InvalidSpecError("dtype", f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")


def _row(
    layer: Mapping[str, Any], shape: Size, step: Step, field: Size | None, jump: Size | None, dtype: str
) -> StackLayer:
    settings = {k: json_ready(v) for k, v in layer.items() if k not in ("kind", "name")}
    return StackLayer(
        name=layer["name"],
        kind=layer["kind"],
        depth=layer["name"].count("."),
        settings=settings,
        input_shape=shape,
        output_shape=step.output_shape,
        params=step.params,
        trainable_params=step.params,  # a spec freezes nothing
        buffers=step.buffers,
        macs=step.macs,
        flops=2 * step.macs,
        bias_adds=step.bias_adds,
        receptive_field=field,
        jump=jump,
        activation_bytes=formulas.tensor_bytes(step.output_shape, DTYPE_BYTES[dtype]),
        conv=step.conv,
    )


def _totals(rows: tuple[StackLayer, ...], input_shape: Size, batch: int, dtype: str) -> StackResult:
    def total(key: str) -> int:
        return sum(getattr(row, key) for row in rows)

    return StackResult(
        layers=rows,
        input_shape=input_shape,
        batch=batch,
        dtype=dtype,
        params=total("params"),
        trainable_params=total("trainable_params"),
        buffers=total("buffers"),
        macs=total("macs"),
        flops=total("flops"),
        bias_adds=total("bias_adds"),
        activation_bytes=total("activation_bytes"),
        param_bytes=total("params") * DTYPE_BYTES[dtype],
        receptive_field=rows[-1].receptive_field,
        jump=rows[-1].jump,
    )


def _shape(shape: Size) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"

"""analyze_stack(): the figures of a sequence of layers, walking the shapes from the input. No torch.

Conv-like layers (conv, depthwise, pointwise) go through ConvSpec and analyze(), so no conv formula
lives here twice. Counting follows torch.utils.flop_counter.FlopCounterMode, so verification compares
directly: MACs = its count / 2; convolutions and linear layers only (linear: N * in * out, bias left
out); batchnorm, activations, pooling, flatten and dropout count 0 MACs, as that counter counts none of
their ops. Bias additions are reported apart, as for one layer.

Receptive field and jump, per spatial dimension, by the recurrence of Araujo et al. (Distill 2019),
from r = j = 1 at the input: a layer whose window spans w input positions of its own input with step s
gives r_out = r_in + (w - 1) * j_in and j_out = j_in * s. Like the single-layer figure they count
padding positions, so they can exceed the input. The window of each kind:
- conv, depthwise, pointwise: the effective kernel dilation*(k - 1) + 1; step = stride.
- maxpool: its effective kernel (dilation too); avgpool: its kernel; step = stride.
- adaptive_avgpool from n to m: torch's windows [floor(i*n/m), ceil((i+1)*n/m)); w = the widest
  (formulas.adaptive_window) and step = n/m when m divides n (the usual 7 -> 7 and 7 -> 1 cases).
- flatten: a window over the whole remaining map (w = step = its size): every feature sees every
  position, as a fully connected layer seen as a convolution whose kernel covers the map (Araujo et al.).
  After it there are no spatial dimensions; linear, batchnorm, activations and dropout change nothing.
- transposed conv: its own window is the single-layer figure (formulas.transposed_receptive_field),
  so its own receptive field is exact; with stride 1 the recurrence goes on, with a larger stride its
  outputs are no longer a uniform grid over the input, so its jump, and the receptive field and jump of
  every later layer, are None ("not modelled"). The same holds after an adaptive pool whose output size
  does not divide its input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from . import formulas
from .analysis import analyze
from .errors import InvalidSpecError, SpecFileError
from .results import ConvResult, json_value
from .spec import DTYPE_BYTES, OPTION, ConvSpec, Size
from .stack_grammar import ACTIVATION_KINDS

# The stack field each ConvSpec message names by its CLI option.
_FIELD = {option: field for field, option in OPTION.items()} | {
    "C_IN": "input channels",
    "C_OUT": "out",
    "KERNEL": "kernel",
    "--output-padding": "output_padding",
    "--padding-mode": "padding_mode",
    "--input": "input",  # a layer's input: the one before it gives it, or --input
}
_CONV_FIELDS = {
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "transposed",
    "output_padding",
    "padding_mode",
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


@dataclass(frozen=True, slots=True)
class Step:
    """What one layer does: its output, counts, and its window and step for the receptive field."""

    output_shape: Size
    params: int = 0
    buffers: int = 0
    macs: int = 0
    bias_adds: int = 0
    window: Size | None = None  # None: the layer leaves the receptive field and jump as they are
    step: Size | None = None  # None with a window: outputs not on a uniform grid (jump not modelled)
    conv: ConvResult | None = None


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
            raise SpecFileError(f"{where}: {_FIELD.get(exc.param, exc.param)}: {_body(exc)}") from None
        field, jump = receptive(field, jump, step)
        rows.append(_row(layer, shape, step, field, jump, dtype))
        shape = step.output_shape
    if not rows:
        raise SpecFileError("spec: no layers; give at least one, e.g. 'conv out=16 kernel=3'")
    return _totals(tuple(rows), (batch, *input_shape), batch, dtype)


def _check_run(input_shape: Size, batch: int, dtype: str) -> None:
    if not 1 <= len(input_shape) <= 4 or any(type(v) is not int or v < 1 for v in input_shape):
        shown = "x".join(map(str, input_shape))
        raise InvalidSpecError("--input", f"got {shown!r}; use positive integers C, CxL, CxHxW or CxDxHxW")
    if type(batch) is not int or batch < 1:
        raise InvalidSpecError("--batch", f"got {batch!r}; it must be a positive integer")
    if dtype not in DTYPE_BYTES:
        raise InvalidSpecError("--dtype", f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")


def _body(exc: InvalidSpecError) -> str:
    """The message, with the options of `convcalc conv` it names written as a spec's fields."""
    body = str(exc).removeprefix(f"{exc.param}: ")
    return _OPTION_WORD.sub(lambda m: _FIELD.get(m[0], m[0]), body)


_OPTION_WORD = re.compile(r"--[a-z-]+|\bC_IN\b|\bC_OUT\b|\bKERNEL\b")


def layer_step(layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
    kind = layer["kind"]
    if kind in ("conv", "depthwise", "pointwise"):
        return _conv(layer, shape, dtype)
    if kind in ("maxpool", "avgpool"):
        return _pool(layer, shape)
    if kind == "adaptive_avgpool":
        return _adaptive(layer, shape)
    if kind == "linear":
        return _linear(layer, shape)
    if kind == "flatten":
        spatial = _spatial(shape, "flatten", needed=False)
        return Step((shape[0], prod(shape[1:])), window=spatial or None, step=spatial)
    if kind == "batchnorm":
        # weight and bias per channel; buffers running_mean, running_var and num_batches_tracked
        channels = shape[1]
        return Step(shape, params=2 * channels, buffers=2 * channels + 1)
    if kind in ACTIVATION_KINDS or kind == "dropout":
        return Step(shape)  # element-wise: FlopCounterMode counts no MACs for it
    raise ValueError(f"analyze_stack: unknown layer kind {kind!r}")  # stack_grammar admits none


def _spatial(shape: Size, kind: str, needed: bool = True) -> Size:
    spatial = shape[2:]
    if needed and not 1 <= len(spatial) <= 3:
        raise InvalidSpecError(
            "input",
            f"a {kind} layer needs a (N, C, *spatial) input with 1 to 3 spatial dimensions; got "
            f"{_shape(shape)}" + (" (it cannot follow flatten or linear)" if len(shape) == 2 else ""),
        )
    return spatial


def _conv(layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
    spatial, channels = _spatial(shape, layer["kind"]), shape[1]
    settings = {k: v for k, v in layer.items() if k in _CONV_FIELDS}
    if layer["kind"] == "conv":
        settings.update(out_channels=layer["out"], kernel_size=layer["kernel"])
    elif layer["kind"] == "depthwise":
        settings.update(
            out_channels=layer["multiplier"] * channels, kernel_size=layer["kernel"], groups=channels
        )
    else:
        settings.update(out_channels=layer["out"], kernel_size=1)
    spec = ConvSpec(channels, input_size=spatial, batch=shape[0], dtype=dtype, dim=len(spatial), **settings)
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


def _per_dim(layer: Mapping[str, Any], key: str, dim: int, default: int = 1) -> Size:
    value = layer.get(key, default)
    if isinstance(value, int):
        return (value,) * dim
    if len(value) != dim:
        raise InvalidSpecError(
            key,
            f"{'x'.join(map(str, value))} has {len(value)} values but the input is {dim}-D; "
            f"write {dim} {'value' if dim == 1 else 'values'} such as {'x'.join([str(value[0])] * dim)}, "
            "or one value",
        )
    return tuple(value)


def _pool(layer: Mapping[str, Any], shape: Size) -> Step:
    spatial = _spatial(shape, layer["kind"])
    kernel, stride, padding, dilation = (
        _per_dim(layer, key, len(spatial)) for key in ("kernel", "stride", "padding", "dilation")
    )
    for k, p in zip(kernel, padding):
        if p > k // 2:  # torch: "pad should be at most half of ... kernel size"
            raise InvalidSpecError(
                "padding", f"got {p} with kernel {k}; it must be at most half the kernel ({k // 2})"
            )
    out = tuple(
        formulas.pool_output_size(n, k, s, p, d, layer["ceil_mode"])
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    )
    window = tuple(formulas.effective_kernel(k, d) for k, d in zip(kernel, dilation))
    for axis, (size, n, p, w) in enumerate(zip(out, spatial, padding, window), 1):
        if size < 1:
            raise InvalidSpecError(
                "kernel",
                f"effective kernel {w} is larger than the padded input {n + 2 * p} along dimension "
                f"{axis}, so the output would be empty; use a smaller kernel or a larger input",
            )
    return Step((*shape[:2], *out), window=window, step=stride)


def _adaptive(layer: Mapping[str, Any], shape: Size) -> Step:
    spatial = _spatial(shape, "adaptive_avgpool")
    out = _per_dim(layer, "out", len(spatial))
    window = tuple(formulas.adaptive_window(n, m) for n, m in zip(spatial, out))
    uniform = all(n % m == 0 for n, m in zip(spatial, out))
    step = tuple(n // m for n, m in zip(spatial, out)) if uniform else None
    return Step((*shape[:2], *out), window=window, step=step)


def _linear(layer: Mapping[str, Any], shape: Size) -> Step:
    """A stack's linear takes a flat (N, features) input; a model's nn.Linear (its `in` given) any
    (..., features) input, as torch applies it to the last dimension."""
    if len(shape) != 2 and "in" not in layer:
        raise InvalidSpecError(
            "input", f"linear needs a flat (N, features) input; got {_shape(shape)}: add flatten before it"
        )
    rows, features, out = prod(shape[:-1]), shape[-1], layer["out"]
    if features != layer.get("in", features):
        raise InvalidSpecError("in_features", f"{layer['in']} but the input has {features} features")
    return Step(
        (*shape[:-1], out),
        params=features * out + formulas.bias_params(out, layer["bias"]),  # weight (out, in) and bias
        macs=formulas.linear_macs(rows, features, out),
        bias_adds=rows * out if layer["bias"] else 0,
    )


def receptive(field: Size | None, jump: Size | None, step: Step) -> tuple[Size | None, Size | None]:
    """r_out = r_in + (w - 1) * j_in and j_out = j_in * s, per dimension (Araujo et al., Distill 2019)."""
    if field is None or jump is None:  # after a layer whose outputs are off a uniform grid
        return None, None
    if step.window is None:
        return field, jump
    field = tuple(r + (w - 1) * j for r, w, j in zip(field, step.window, jump))
    return field, None if step.step is None else tuple(j * s for j, s in zip(jump, step.step))


def _row(
    layer: Mapping[str, Any], shape: Size, step: Step, field: Size | None, jump: Size | None, dtype: str
) -> StackLayer:
    settings = {k: json_value(v) for k, v in layer.items() if k not in ("kind", "name")}
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

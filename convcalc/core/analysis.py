"""analyze(): a ConvSpec's figures from the formulas alone; analyze_many() for streams. No torch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import formulas
from .errors import InvalidSpecError
from .results import ConvResult, Memory
from .spec import DTYPE_BYTES, ConvSpec, Size


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One configuration of a stream: its settings as given, and the figures or why it is invalid."""

    settings: Any  # the mapping given to analyze_many
    result: ConvResult | None
    reason: str = ""  # the InvalidSpecError message, naming the parameter and the rule

    @property
    def valid(self) -> bool:
        return self.result is not None


def analyze(spec: ConvSpec) -> ConvResult:
    """Every analytic figure of one layer."""
    out_spatial, input_shape = spec.output_spatial, spec.input_shape
    output_shape = (spec.batch, spec.out_channels, *out_spatial)
    weight = formulas.weight_params(spec.in_channels, spec.out_channels, spec.kernel_size, spec.groups)
    bias = formulas.bias_params(spec.out_channels, spec.bias)
    effective = tuple(map(formulas.effective_kernel, spec.kernel_size, spec.dilation))
    if spec.transposed:
        macs = formulas.transposed_macs(
            spec.batch, spec.input_size, spec.in_channels, spec.out_channels, spec.kernel_size, spec.groups
        )
    else:
        macs = formulas.conv_macs(
            spec.batch, out_spatial, spec.in_channels, spec.out_channels, spec.kernel_size, spec.groups
        )
    # Positional, in ConvResult's field order: streams of layers (sweeps) build millions of these.
    return ConvResult(
        spec,
        input_shape,
        output_shape,
        weight,  # weight_params
        bias,  # bias_params
        macs,
        formulas.bias_adds(spec.batch, spec.out_channels, out_spatial, spec.bias),
        effective,  # effective_kernel
        receptive_field(spec, effective),
        memory(spec, weight + bias, input_shape, output_shape),
    )


def analyze_many(configs: Iterable[Mapping[str, Any]]) -> Iterator[BatchRow]:
    """Validate and analyse each configuration (ConvSpec's keyword arguments), lazily, one row each.

    A generator, so memory stays constant however long the stream; an invalid configuration is a
    row with the reason, as ConvSpec words it, not an exception. For sweeps over design spaces.
    """
    for settings in configs:
        try:
            spec = ConvSpec(**settings)
        except InvalidSpecError as exc:
            yield BatchRow(settings, None, str(exc))
        else:
            yield BatchRow(settings, analyze(spec))


def receptive_field(spec: ConvSpec, effective: Size) -> Size:
    """Input positions, per dimension, that one output element depends on; a convolution's: its taps."""
    if not spec.transposed:
        return effective
    return tuple(
        formulas.transposed_receptive_field(k, s, d)
        for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation)
    )


def memory(spec: ConvSpec, params: int, input_shape: Size, output_shape: Size) -> Memory:
    """Parameter and activation bytes; forward/backward doubles the output for its gradient (torchsummary)."""
    size = DTYPE_BYTES[spec.dtype]
    param_bytes = params * size
    input_bytes = formulas.tensor_bytes(input_shape, size)
    output_bytes = formulas.tensor_bytes(output_shape, size)
    forward_backward = 2 * output_bytes
    # dtype, element_bytes, param_bytes, input_bytes, output_bytes, forward_backward_bytes, total_bytes
    return Memory(
        spec.dtype,
        size,
        param_bytes,
        input_bytes,
        output_bytes,
        forward_backward,
        input_bytes + forward_backward + param_bytes,
    )

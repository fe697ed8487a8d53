"""--explain: each figure's formula with the layer's own numbers in it, as the seed posts teach.

Standard library only.
"""

from __future__ import annotations

from .results import ConvResult
from .vocabulary import TF_SAME


def _x(values) -> str:
    return " x ".join(map(str, values))


def explain(result: ConvResult) -> tuple[str, ...]:
    """Formula lines for output size, params, MACs, FLOPs, bias adds, receptive field and memory."""
    spec = result.spec
    return (
        *_output_lines(result),
        *_param_lines(result),
        *_mac_lines(result),
        f"FLOPs = 2 x MACs = 2 x {result.macs:,} = {result.flops:,}",
        _bias_adds_line(result),
        *_field_lines(result),
        f"memory = elements x {spec.element_bytes} B ({spec.dtype}): input {result.memory.input_bytes:,} B, "
        f"output {result.memory.output_bytes:,} B, params {result.params:,} x {spec.element_bytes} = "
        f"{result.memory.param_bytes:,} B",
    )


def _output_lines(result: ConvResult) -> list[str]:
    spec = result.spec
    dims = zip(
        spec.input_size,
        spec.kernel_size,
        spec.stride,
        spec.pads,
        spec.dilation,
        spec.output_padding,
        result.output_shape[2:],
    )
    if spec.transposed:
        lines = _output_size_lines(result)
        lines += ["output = (in - 1) x stride - 2 x padding + dilation x (kernel - 1) + output_padding + 1"]
        lines += [
            f"  dim {i}: ({n} - 1) x {s} - 2 x {p} + {d} x ({k} - 1) + {op} + 1 = {out}"
            for i, (n, k, s, (p, _), d, op, out) in enumerate(dims, 1)
        ]
        return lines
    lines = _tf_same_lines(result)
    lines += ["output = floor((in + pad_left + pad_right - dilation x (kernel - 1) - 1) / stride) + 1"]
    lines += [
        f"  dim {i}: floor(({n} + {left} + {right} - {d} x ({k} - 1) - 1) / {s}) + 1 = {out}"
        for i, (n, k, s, (left, right), d, _, out) in enumerate(dims, 1)
    ]
    return lines


def _tf_same_lines(result: ConvResult) -> list[str]:
    """TensorFlow's 'SAME': the total padding that gives ceil(in / stride), split with the odd one after."""
    spec = result.spec
    if spec.padding != TF_SAME:
        return []
    lines = [
        "padding tf-same (TensorFlow's 'SAME'): total = max((ceil(in / stride) - 1) x stride "
        "+ dilation x (kernel - 1) + 1 - in, 0); pad_left = floor(total / 2), pad_right = total - pad_left"
    ]
    lines += [
        f"  dim {i}: max((ceil({n} / {s}) - 1) x {s} + {d} x ({k} - 1) + 1 - {n}, 0) = {left + right}: "
        f"pad_left {left}, pad_right {right}"
        for i, (n, k, s, d, (left, right)) in enumerate(
            zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads), 1
        )
    ]
    return lines


def _output_size_lines(result: ConvResult) -> list[str]:
    """output_size's output_padding: what is left beyond the formula's size at output_padding 0."""
    spec = result.spec
    if spec.output_size is None:
        return []
    lines = [
        "output_padding = output_size - ((in - 1) x stride - 2 x padding + dilation x (kernel - 1) + 1), "
        "from 0 to stride - 1 (torch's forward(x, output_size=...))"
    ]
    lines += [
        f"  dim {i}: {size} - (({n} - 1) x {s} - 2 x {p} + {d} x ({k} - 1) + 1) = {op}"
        for i, (n, k, s, p, d, op, size) in enumerate(
            zip(
                spec.input_size,
                spec.kernel_size,
                spec.stride,
                spec.padding,
                spec.dilation,
                spec.output_padding,
                spec.output_size,
            ),
            1,
        )
    ]
    return lines


def _param_lines(result: ConvResult) -> list[str]:
    spec = result.spec
    g, cin, cout, k = spec.groups, spec.in_channels, spec.out_channels, spec.kernel_size
    ks = " x ".join("k" * len(k))
    if spec.transposed:
        weight = (
            f"weight = g x (Cin/g) x (Cout/g) x {ks} = {g} x {cin // g} x {cout // g} x {_x(k)} "
            f"= {result.weight_params:,}   (torch stores it as Cin x Cout/g x {ks})"
        )
    else:
        weight = (
            f"weight = g x ({ks} x Cin/g) x (Cout/g) = {g} x ({_x(k)} x {cin // g}) x {cout // g} "
            f"= {result.weight_params:,}"
        )
    bias = f"bias = Cout = {cout}" if spec.bias else "bias = 0 (no bias)"
    return [
        weight,
        bias,
        f"params = weight + bias = {result.weight_params:,} + {result.bias_params:,} = {result.params:,}",
    ]


def _mac_lines(result: ConvResult) -> list[str]:
    spec = result.spec
    g, cin, cout, k = spec.groups, spec.in_channels, spec.out_channels, spec.kernel_size
    if spec.transposed:
        return [
            f"MACs = N x prod(input) x Cin x (Cout/g) x prod(kernel) = {spec.batch} x "
            f"{_x(spec.input_size)} x {cin} x {cout // g} x {_x(k)} = {result.macs:,}"
            "   (each input element meets its group's weights once)"
        ]
    return [
        f"MACs = N x prod(output) x Cout x (Cin/g) x prod(kernel) = {spec.batch} x "
        f"{_x(result.output_shape[2:])} x {cout} x {cin // g} x {_x(k)} = {result.macs:,}"
    ]


def _bias_adds_line(result: ConvResult) -> str:
    spec = result.spec
    if not spec.bias:
        return "bias adds = 0 (no bias)"
    return (
        f"bias adds = N x Cout x prod(output) = {spec.batch} x {spec.out_channels} x "
        f"{_x(result.output_shape[2:])} = {result.bias_adds:,}"
    )


def _field_lines(result: ConvResult) -> list[str]:
    spec = result.spec
    lines = [
        "effective kernel = dilation x (kernel - 1) + 1 = "
        + ", ".join(
            f"{d} x ({k} - 1) + 1 = {e}"
            for k, d, e in zip(spec.kernel_size, spec.dilation, result.effective_kernel)
        )
    ]
    if spec.transposed:
        lines.append(
            "receptive field = widest run of taps landing on one output, spaced by stride: "
            f"{_x(result.receptive_field)} input positions"
        )
    else:
        lines.append(f"receptive field = effective kernel = {_x(result.receptive_field)} input positions")
    return lines

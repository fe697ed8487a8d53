"""Pure integer formulas, one function per quantity, per spatial dimension where it applies.

Standard library only. Shape formulas are the ones in the PyTorch docs of nn.Conv2d and
nn.ConvTranspose2d; MACs follow torch.utils.flop_counter (FLOPs = 2 x MACs, bias left out).
"""

from __future__ import annotations

from math import gcd, isqrt, prod

Size = tuple[int, ...]


def effective_kernel(kernel: int, dilation: int) -> int:
    """Span of a dilated kernel: dilation inserts (dilation - 1) gaps between taps."""
    return dilation * (kernel - 1) + 1


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """torch's 'same': total dilation*(k-1), left gets the floor half, right the rest."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's (and JAX's) 'SAME': the output is ceil(in / stride), the total padding the least that
    gives it, max((out - 1)*stride + dilation*(k-1) + 1 - in, 0); before gets the floor half, after the
    rest (TensorFlow's guide to convolution padding; jax.lax.padtype_to_pads)."""
    out = -(-size // stride)  # ceil(in / stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def conv_output_size(
    size: int, kernel: int, stride: int, pad_left: int, pad_right: int, dilation: int
) -> int:
    """floor((in + pad_left + pad_right - dilation*(k-1) - 1) / stride) + 1 (torch docs, per side)."""
    return (size + pad_left + pad_right - dilation * (kernel - 1) - 1) // stride + 1


def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> int:
    """(in - 1)*stride - 2*padding + dilation*(k-1) + output_padding + 1 (torch docs of ConvTranspose)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def output_padding_for(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_size: int
) -> int | None:
    """The output_padding that gives a transposed convolution this output size, or None where torch's
    forward(x, output_size=...) refuses it: sizes from the formula's at output_padding 0 to stride - 1
    more (torch's ConvTranspose _output_padding)."""
    extra = output_size - transposed_output_size(size, kernel, stride, padding, dilation, 0)
    return extra if 0 <= extra < stride else None


def weight_params(in_channels: int, out_channels: int, kernel: Size, groups: int) -> int:
    """Cout * (Cin/groups) * prod(k); a transposed weight (Cin, Cout/groups, *k) holds the same count."""
    return out_channels * (in_channels // groups) * prod(kernel)


def bias_params(out_channels: int, bias: bool) -> int:
    """One bias per output channel, or none."""
    return out_channels if bias else 0


def conv_macs(
    batch: int, out_spatial: Size, in_channels: int, out_channels: int, kernel: Size, groups: int
) -> int:
    """N * prod(out) * Cout * (Cin/groups) * prod(k): every output element sums one group's taps."""
    return batch * prod(out_spatial) * out_channels * (in_channels // groups) * prod(kernel)


def transposed_macs(
    batch: int, in_spatial: Size, in_channels: int, out_channels: int, kernel: Size, groups: int
) -> int:
    """N * prod(in) * Cin * (Cout/groups) * prod(k): every input element meets its group's weights once."""
    return batch * prod(in_spatial) * in_channels * (out_channels // groups) * prod(kernel)


def bias_adds(batch: int, out_channels: int, out_spatial: Size, bias: bool) -> int:
    """One addition per output element when the layer has a bias."""
    return batch * out_channels * prod(out_spatial) if bias else 0


def transposed_receptive_field(kernel: int, stride: int, dilation: int) -> int:
    """Input positions one transposed-conv output element can see: the widest span of taps that land on it.

    Output o takes input i through tap j when i*stride + j*dilation = o + padding. Taps j and j' land
    on the same output when (j - j')*dilation is a multiple of stride, i.e. when j - j' is a multiple
    of p = stride / gcd(stride, dilation); the class of tap 0 is the largest: floor((k-1)/p) + 1 taps,
    one after another dilation/gcd input positions apart. Closed form, so no loop over the taps.
    """
    g = gcd(stride, dilation)
    return (kernel - 1) // (stride // g) * (dilation // g) + 1


def divisors(n: int, search: int = 1 << 16) -> list[int]:
    """Divisors of n in order: all of them when n < search^2, else those up to search and their cofactors.

    Bounded, so a channel count of 10^30 costs what 10^9 does.
    """
    small = [d for d in range(1, min(isqrt(n), search) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def ratio(numerator: int, denominator: int) -> float | int:
    """numerator / denominator as a float, or as a whole number where the float would overflow."""
    try:
        return numerator / denominator
    except OverflowError:  # past 1e308: the integer part is all the precision a ratio needs
        return numerator // denominator


def tensor_bytes(shape: Size, element_bytes: int) -> int:
    """Bytes of a dense tensor."""
    return prod(shape) * element_bytes


def torchinfo_mult_adds(weight: int, bias: int, batch: int, out_spatial: Size) -> int:
    """torchinfo's 'mult-adds' for a conv layer: (weight + bias params) * N * prod(out), transposed or not.

    That is MACs + bias adds for a convolution, and an overcount for a transposed one, which
    torchinfo counts over the output size instead of the input size.
    """
    return (weight + bias) * batch * prod(out_spatial)


def stack_receptive_field(kernels: list[int], strides: list[int]) -> int:
    """r = 1 + sum_l (k_eff_l - 1) * prod_{i<l} s_i for layers in sequence (Araujo et al., Distill 2019)."""
    field, jump = 1, 1
    for k_eff, stride in zip(kernels, strides):
        field += (k_eff - 1) * jump  # each tap of this layer is `jump` input positions apart
        jump *= stride
    return field


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """torch's pooling_output_shape: the conv formula, rounded up in ceil mode, where the last window must
    start inside the input or its left padding (PyTorch docs of nn.MaxPool2d)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:  # that window would start in the right padding
        out -= 1
    return out


def adaptive_window(size: int, out: int) -> int:
    """Widest window of torch's adaptive pooling: output i averages [floor(i*n/m), ceil((i+1)*n/m)).

    With n = q*m + r and a = i*n mod m, window i holds q + ceil((a + r)/m) inputs; a runs over the
    multiples of g = gcd(n, m) below m, so the widest is q (r = 0), q + 1 (0 < r <= g) or q + 2.
    """
    q, r = divmod(size, out)
    return q if r == 0 else q + 1 if r <= gcd(size, out) else q + 2


def linear_macs(batch: int, in_features: int, out_features: int) -> int:
    """N * in * out: one multiply-accumulate per weight and sample (torch's addmm count / 2, no bias)."""
    return batch * in_features * out_features

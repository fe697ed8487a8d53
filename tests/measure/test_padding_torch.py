"""tf-same, per-side padding and output_size against torch: layers built by hand with F.pad and torch's own
forward(x, output_size=...), on the meta device, beside convcalc's figures and its torch build."""

import warnings

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import example, given, settings
from hypothesis import strategies as st

from convcalc import ConvSpec, InvalidSpecError
from convcalc.api import conv_report
from convcalc.core.analysis import analyze
from convcalc.core.spec import Sides
from convcalc.measure.build import build_layer
from convcalc.measure.witness import count_flops

MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def tf_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'SAME', as tf.nn's notes on padding write it (not convcalc's formula)."""
    k_eff = d * (k - 1) + 1
    total = max(k_eff - s, 0) if n % s == 0 else max(k_eff - n % s, 0)
    return total // 2, total - total // 2


def by_hand(x: torch.Tensor, pads: list[tuple[int, int]], mode: str, conv: torch.nn.Module) -> torch.Tensor:
    """F.pad (last dimension first), then the convolution without padding: how ported code does it."""
    flat = [p for pair in reversed(pads) for p in pair]
    return conv(F.pad(x, flat, mode=MODES[mode]))


def measured(module, x) -> tuple[tuple[int, ...], int, int]:
    with torch.no_grad():
        counted = count_flops(lambda: module(x))
    return tuple(counted.value.shape), sum(p.numel() for p in module.parameters()), counted.flops


def figures(spec: ConvSpec) -> tuple[tuple[int, ...], int, int]:
    result = analyze(spec)
    return result.output_shape, result.params, result.flops


@st.composite
def strided_same(draw):
    dim = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 12 if dim == 3 else 40)) for _ in range(dim)]
    kernel = [draw(st.integers(1, 5)) for _ in range(dim)]
    stride = [draw(st.integers(1, 4)) for _ in range(dim)]
    dilation = [draw(st.integers(1, 3)) for _ in range(dim)]
    mode = draw(st.sampled_from(["zeros", "zeros", "replicate", "reflect", "circular"]))
    return dim, sizes, kernel, stride, dilation, mode


@settings(max_examples=120)
@given(strided_same(), st.integers(1, 3), st.integers(1, 4))
@example((2, [224, 225], [3, 3], [2, 2], [1, 1], "zeros"), 3, 8)
@example((1, [5], [4], [3], [2], "reflect"), 2, 2)
def test_tf_same_in_torch_agrees_on_shape_params_and_flops(case, c_in, c_out):
    dim, sizes, kernel, stride, dilation, mode = case
    pads = [tf_pads(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation)]
    fits = mode == "zeros" or all(
        max(p) < n if mode == "reflect" else max(p) <= n for p, n in zip(pads, sizes) if mode != "replicate"
    )
    settings = {"stride": tuple(stride), "dilation": tuple(dilation), "padding": "tf-same"}
    settings |= {"padding_mode": mode, "input_size": tuple(sizes)}
    if not fits:  # reflect pads less than the input, circular at most the input: torch refuses the rest
        with pytest.raises(InvalidSpecError, match="is too wide for"):
            ConvSpec(c_in, c_out, tuple(kernel), **settings)
        return
    spec = ConvSpec(c_in, c_out, tuple(kernel), **settings)
    assert spec.pads == tuple(pads)
    x = torch.empty(1, c_in, *sizes, device="meta")
    conv = getattr(torch.nn, f"Conv{dim}d")(c_in, c_out, tuple(kernel), stride, 0, dilation, device="meta")
    with torch.no_grad():
        shape = tuple(by_hand(x, pads, mode, conv).shape)
    # TensorFlow's output, ceil(n / s); torch by hand; convcalc; convcalc's own torch build
    assert shape[2:] == tuple(-(-n // s) for n, s in zip(sizes, stride)) == spec.output_spatial
    assert measured(build_layer(spec, "meta"), x) == figures(spec)
    assert figures(spec)[:2] == (shape, sum(p.numel() for p in conv.parameters()))


@st.composite
def per_side(draw):
    dim = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 10 if dim == 3 else 24)) for _ in range(dim)]
    pads = [(draw(st.integers(0, 6)), draw(st.integers(0, 6))) for _ in range(dim)]
    kernel = [draw(st.integers(1, 4)) for _ in range(dim)]
    stride = [draw(st.integers(1, 3)) for _ in range(dim)]
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    return dim, sizes, pads, kernel, stride, mode


@settings(max_examples=120)
@given(per_side())
@example((2, [5, 6], [(0, 1), (2, 0)], [3, 3], [2, 1], "zeros"))
@example((1, [3], [(3, 0)], [2], [1], "reflect"))  # reflect needs a side below the input: refused by both
@example((1, [3], [(3, 3)], [2], [1], "circular"))  # circular wraps at most once: both take it
def test_per_side_padding_is_accepted_and_counted_as_torch_does(case):
    """F.pad then the conv, by hand: torch refuses exactly what convcalc refuses, and agrees on the rest."""
    dim, sizes, pads, kernel, stride, mode = case
    x = torch.empty(1, 2, *sizes, device="meta")
    conv = getattr(torch.nn, f"Conv{dim}d")(2, 3, tuple(kernel), tuple(stride), device="meta")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shape = tuple(by_hand(x, pads, mode, conv).shape)
    except (RuntimeError, ValueError, NotImplementedError):
        shape = None
    padding = tuple(pair if pair[0] != pair[1] else pair[0] for pair in pads)
    settings = {"stride": tuple(stride), "padding": padding, "padding_mode": mode, "input_size": tuple(sizes)}
    try:
        spec = ConvSpec(2, 3, tuple(kernel), **settings)
    except InvalidSpecError:
        assert shape is None, f"convcalc refused a layer torch runs: {case}"
        return
    assert shape is not None, f"convcalc accepted a layer torch refuses: {case}"
    assert figures(spec) == (shape, *measured(build_layer(spec, "meta"), x)[1:])
    assert measured(build_layer(spec, "meta"), x)[0] == shape


@settings(max_examples=150)
@given(
    n=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    p=st.integers(0, 2),
    extra=st.integers(-2, 5),
)
@example(n=[6, 4], k=3, s=2, d=1, p=1, extra=1)  # TensorFlow's 'SAME' conv2d_transpose test: 6x4 -> 12x8
@example(n=[7], k=3, s=1, d=3, p=0, extra=1)  # output_padding 1 is valid for the layer, not for output_size
def test_output_size_is_accepted_and_shaped_as_torchs_forward(n, k, s, d, p, extra):
    dim = len(n)
    layer = getattr(torch.nn, f"ConvTranspose{dim}d")(2, 3, k, s, p, dilation=d, device="meta")
    x = torch.empty(1, 2, *n, device="meta")
    size = [(v - 1) * s - 2 * p + d * (k - 1) + 1 + extra for v in n]
    if min(size) < 1:
        return
    try:
        with torch.no_grad():
            counted = count_flops(lambda: layer(x, output_size=size))
        torch_says = (tuple(counted.value.shape), counted.flops)
    except (RuntimeError, ValueError):
        torch_says = None
    settings = {"stride": s, "padding": p, "dilation": d, "input_size": tuple(n), "transposed": True}
    try:
        spec = ConvSpec(2, 3, k, output_size=tuple(size), **settings)
    except InvalidSpecError as error:
        assert torch_says is None and "valid sizes range from" in str(error)
        return
    assert torch_says is not None
    ours = figures(spec)
    assert (ours[0], ours[2]) == torch_says
    assert measured(build_layer(spec, "meta"), x) == ours


def test_conv_report_confirms_tf_same_and_per_side_layers_in_a_real_pass():
    for spec in (
        ConvSpec(3, 8, 3, stride=2, padding="tf-same", input_size=(9, 10)),
        ConvSpec(3, 8, 3, stride=2, padding="tf-same", padding_mode="reflect", input_size=10, dim=1),
        ConvSpec(3, 8, 3, padding=((0, 2), (1, 0)), padding_mode="circular", input_size=5),
        ConvSpec(4, 6, 3, stride=2, padding=1, transposed=True, input_size=(6, 4), output_size=(12, 8)),
        ConvSpec(3, 8, 3, padding=Sides(-1, 2), padding_mode="replicate", input_size=6),  # a crop, then pad
    ):
        report = conv_report(spec, device="cpu")
        assert report.verification.mode == "real" and report.ok, [
            c for c in report.verification.checks if c.ok is False
        ]

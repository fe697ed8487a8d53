"""torch as the judge: analytic figures equal the real layer's over thousands of random settings.

FLOPs are checked by both witnesses: FlopCounterMode, and the light one the CLI uses.

Valid settings are checked on the meta device (no memory); acceptance versus rejection is
checked on the cpu with tiny real tensors, since the meta device does not validate everything.
"""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import tuples, valid_settings  # tests/strategies.py
from torch.utils.flop_counter import FlopCounterMode

from convcalc import ConvSpec, InvalidSpecError, analyze
from convcalc.measure.witness import LIGHT, count_flops

# 6 layer types x 350 = 2,100 valid configurations a run.
VALID_EXAMPLES = 350


def build(spec_kwargs: dict, device: str) -> torch.nn.Module:
    dim = spec_kwargs["dim"]
    transposed = spec_kwargs["transposed"]
    cls = getattr(torch.nn, f"{'ConvTranspose' if transposed else 'Conv'}{dim}d")
    extra = (
        {"output_padding": spec_kwargs["output_padding"]}
        if transposed or any(spec_kwargs["output_padding"])
        else {}
    )
    return cls(
        spec_kwargs["in_channels"],
        spec_kwargs["out_channels"],
        spec_kwargs["kernel_size"],
        stride=spec_kwargs["stride"],
        padding=spec_kwargs["padding"],
        dilation=spec_kwargs["dilation"],
        groups=spec_kwargs["groups"],
        bias=spec_kwargs["bias"],
        padding_mode=spec_kwargs["padding_mode"],
        device=device,
        **extra,
    )


def assert_matches_torch(kwargs: dict) -> None:
    result = analyze(ConvSpec(**kwargs))
    layer = build(kwargs, "meta")
    x = torch.empty(result.input_shape, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = layer(x)
    with torch.no_grad():
        light = count_flops(lambda: layer(x))  # the witness the CLI uses, beside the full one
    assert light.witness == LIGHT and light.flops == counter.get_total_flops()
    assert tuple(y.shape) == result.output_shape
    assert sum(p.numel() for p in layer.parameters()) == result.params
    assert layer.weight.numel() == result.weight_params
    assert (0 if layer.bias is None else layer.bias.numel()) == result.bias_params
    assert counter.get_total_flops() == result.flops == 2 * result.macs
    assert repr(layer) == result.layer


LAYERS = [(dim, transposed) for transposed in (False, True) for dim in (1, 2, 3)]


@pytest.mark.slow
@pytest.mark.parametrize(("dim", "transposed"), LAYERS, ids=[f"{'T' if t else ''}{d}d" for d, t in LAYERS])
def test_analytic_equals_torch(dim, transposed):
    @settings(max_examples=VALID_EXAMPLES)
    @given(valid_settings(dim, transposed))
    def check(kwargs):
        assert_matches_torch(kwargs)

    check()


@st.composite
def any_settings(draw) -> dict:
    """Settings drawn wide enough that many break one of torch's rules."""
    dim = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    size = lambda low, high: draw(st.one_of(st.integers(low, high), tuples(dim, low, high)))  # noqa: E731
    return dict(
        dim=dim,
        transposed=transposed,
        groups=draw(st.integers(1, 4)),
        in_channels=draw(st.integers(1, 6)),
        out_channels=draw(st.integers(1, 6)),
        kernel_size=size(0, 6),
        stride=size(0, 3),
        dilation=size(0, 3),
        padding=draw(st.one_of(st.integers(-1, 6), tuples(dim, 0, 6), st.sampled_from(["same", "valid"]))),
        output_padding=size(0, 3) if draw(st.booleans()) else 0,
        padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
        bias=draw(st.booleans()),
        batch=draw(st.integers(1, 2)),
        input_size=size(1, 7),
    )


def torch_accepts(kwargs: dict) -> bool:
    sized = ("kernel_size", "stride", "dilation", "output_padding", "input_size", "padding")
    as_tuple = {
        k: (v,) * kwargs["dim"] if isinstance(v, int) and k in sized else v for k, v in kwargs.items()
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about zero-size weights before rejecting them
            build(as_tuple, "cpu")(
                torch.zeros(kwargs["batch"], kwargs["in_channels"], *as_tuple["input_size"])
            )
            if kwargs["transposed"]:
                _reference_transposed(as_tuple)
    except (RuntimeError, ValueError, TypeError, ZeroDivisionError):
        return False
    return True


def _reference_transposed(settings_: dict) -> None:
    """torch checks a transposed convolution's arguments only on its reference kernel.

    Other paths (oneDNN: batch > 1, groups > 1, some 2-D/3-D shapes) accept dilation 0 and empty
    outputs. The reference kernel runs for a 1-D layer with batch 1 and groups 1, and the shape rules
    are per dimension, so each dimension is asked there too: torch accepts only if every path does.
    """
    for axis in range(settings_["dim"]):
        one = dict(settings_, dim=1, groups=1)
        for key in ("kernel_size", "stride", "dilation", "output_padding", "input_size", "padding"):
            one[key] = (settings_[key][axis],)
        build(one, "cpu")(torch.zeros(1, settings_["in_channels"], *one["input_size"]))


def convcalc_accepts(kwargs: dict) -> bool:
    try:
        ConvSpec(**kwargs)
    except InvalidSpecError:
        return False
    return True


@pytest.mark.slow
@settings(max_examples=1500)
@given(any_settings())
def test_accepts_and_rejects_like_torch(kwargs):
    """What torch (on the cpu) accepts convcalc accepts; what it rejects convcalc rejects."""
    assert convcalc_accepts(kwargs) == torch_accepts(kwargs)


@pytest.mark.parametrize("batch", [1, 2])
def test_empty_transposed_output_is_rejected_whatever_the_batch(batch):
    """torch's reference path rejects it, its oneDNN path (batch > 1) does not; convcalc always does."""
    settings_ = dict(
        in_channels=1,
        out_channels=1,
        kernel_size=1,
        padding=1,
        transposed=True,
        input_size=2,
        batch=batch,
        dim=1,
    )
    with pytest.raises(InvalidSpecError, match="output size would be 0"):
        ConvSpec(**settings_)

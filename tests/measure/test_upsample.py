"""upsample, the kind the registry gained: output sizes as torch computes them, its receptive field by
gradient, and one clear line for every setting torch or convcalc refuses."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import analyzed  # tests/strategies.py
from test_stack_torch import extent, positive_paths  # beside this file

from convcalc.core.errors import SpecFileError
from convcalc.core.stack_grammar import parse_stack


def torch_output(shape: tuple[int, ...], **options) -> tuple[int, ...]:
    x = torch.empty((1, *shape), device="meta")
    return tuple(torch.nn.Upsample(**options)(x).shape)


@settings(max_examples=120, deadline=None)
@given(
    dim=st.integers(1, 3),
    sizes=st.lists(st.integers(1, 40), min_size=3, max_size=3),
    scale=st.one_of(st.integers(1, 4), st.floats(0.05, 4.5, allow_nan=False)),
    by_size=st.booleans(),
    bilinear=st.booleans(),
)
@example(dim=1, sizes=[10, 1, 1], scale=0.7, by_size=False, bilinear=False)  # 10 x 0.7 = 7.000000000000001
@example(dim=2, sizes=[5, 7, 1], scale=1.5, by_size=False, bilinear=True)
def test_output_shape_params_and_flops_are_torchs(dim, sizes, scale, by_size, bilinear):
    spatial = tuple(sizes[:dim])
    bilinear = bilinear and dim == 2
    mode = "bilinear" if bilinear else "nearest"
    if by_size:
        target = tuple(max(1, round(n * scale)) for n in spatial)
        text, options = f"upsample size={'x'.join(map(str, target))} mode={mode}", {"size": target}
    else:
        if any(int(n * float(scale)) < 1 for n in spatial):
            with pytest.raises(SpecFileError, match="rounds down to 0"):
                analyzed(f"upsample scale={scale} mode={mode}", (2, *spatial))
            return
        text, options = f"upsample scale={scale} mode={mode}", {"scale_factor": scale}
    row = analyzed(text, (2, *spatial)).layers[0]
    assert row.output_shape == torch_output((2, *spatial), mode=mode, **options)
    assert (row.params, row.macs, row.buffers) == (0, 0, 0)


# (stack, input, expected receptive field and jump of the upsample row), written as arithmetic
FIELD_CASES = [
    ("conv out=1 kernel=3; upsample scale=2", (1, 6, 6), ((3, 3), None)),  # one input per output
    ("conv out=1 kernel=3 stride=2; upsample scale=2 mode=bilinear", (1, 9, 9), ((3 + 1 * 2,) * 2, None)),
    (
        "conv out=1 kernel=3; upsample size=9x7 mode=bilinear align_corners=true",
        (1, 6, 6),
        ((3 + 1,) * 2, None),
    ),
    ("conv out=1 kernel=3; upsample scale=2x1 mode=bilinear", (1, 6, 6), ((3 + 1, 3), None)),
    ("conv out=1 kernel=3 stride=2; upsample scale=1", (1, 9, 9), ((3, 3), (2, 2))),  # the identity
    ("conv out=1 kernel=3; upsample scale=1.5", (1, 6, 6), ((3, 3), None)),
]


@pytest.mark.parametrize(("text", "shape", "expected"), FIELD_CASES)
def test_the_upsample_rows_field_is_the_widest_measured(text, shape, expected):
    """Every output of the upsample row is back-propagated alone: the widest span of inputs any of them
    reaches, per dimension, is the row's receptive field."""
    result = analyzed(text, shape, dtype="float64")
    row = result.layers[-1]
    assert (row.receptive_field, row.jump) == expected
    model = positive_paths(result)
    x = torch.ones(result.input_shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    widest = [0] * (len(shape) - 1)
    for at in itertools.product(*(range(n) for n in y.shape[2:])):
        (grad,) = torch.autograd.grad(y[(0, slice(None), *at)].sum(), x, retain_graph=True)
        span = extent(grad[0].ne(0).any(0))
        widest = [max(w, hi - lo + 1) for w, (lo, hi) in zip(widest, span)]
    assert tuple(widest) == row.receptive_field


def test_after_a_resizing_upsample_the_field_is_not_modelled():
    result = analyzed("conv out=2 kernel=3; upsample scale=2; conv out=2 kernel=3; flatten", (1, 6, 6))
    assert [(r.receptive_field, r.jump) for r in result.layers[2:]] == [(None, None), (None, None)]
    down = analyzed("upsample scale=0.5 mode=bilinear; conv out=1 kernel=1", (1, 8, 8))
    assert [r.receptive_field for r in down.layers] == [None, None]  # rounding decides one or two inputs


@pytest.mark.parametrize(
    ("text", "shape", "message"),
    [
        ("upsample", (1, 4, 4), "scale: give scale or size, one of them"),
        ("upsample scale=2 size=8", (1, 4, 4), "scale: give scale or size, one of them"),
        ("upsample scale=2 align_corners=true", (1, 4, 4), "align_corners: only bilinear has it"),
        (
            "upsample scale=2 mode=bicubic",
            (1, 4, 4),
            "mode: got 'bicubic'; it must be one of nearest, bilinear",
        ),
        (
            "upsample scale=2 mode=bilinear",
            (1, 4),
            "mode: bilinear needs a (N, C, H, W) input; got (1, 1, 4)",
        ),
        ("upsample scale=0", (1, 4, 4), "scale: got 0.0; it must be a number > 0"),
        ("upsample scale=0.1", (1, 4, 4), "scale: 4 x 0.1 rounds down to 0 along dimension 1"),
        ("upsample size=2x2x2", (1, 4, 4), "size: 2x2x2 has 3 values but the input is 2-D"),
        ("flatten; upsample scale=2", (1, 4, 4), "input: a upsample layer needs a (N, C, *spatial) input"),
    ],
)
def test_bad_settings_are_one_line_naming_the_field(text, shape, message):
    with pytest.raises(SpecFileError) as caught:
        analyzed(text, shape)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_scale_per_dimension_in_json_and_toml():
    json_layers = parse_stack('{"layers": [{"kind": "upsample", "scale": [2, 1.5]}]}', "json").layers
    toml_layers = parse_stack('[[layer]]\nkind = "upsample"\nsize = "8x6"\n', "toml").layers
    assert json_layers[0]["scale"] == (2.0, 1.5) and toml_layers[0]["size"] == (8, 6)

"""Validation: every bad setting raises InvalidSpecError naming the setting, the rule and a valid value:
as ConvSpec's field from Python, as the option typed on the command line."""

import dataclasses
import re

import pytest

from convcalc import ConvSpec, InvalidSpecError
from convcalc.cli import words
from convcalc.core.spec import parse_padding, parse_size

FIELDS = {f.name for f in dataclasses.fields(ConvSpec)}


def test_scalars_become_tuples_and_dim_is_inferred():
    spec = ConvSpec(6, 10, (3, 5))
    assert spec.dim == 2
    assert spec.kernel_size == (3, 5)
    assert spec.stride == (1, 1)
    assert spec.input_size == (224, 224)
    assert spec.default_input
    assert ConvSpec(2, 2, 3, input_size=(8, 8, 8)).dim == 3
    assert ConvSpec(2, 2, 3, dim=1).kernel_size == (3,)


def test_parse_size_and_padding():
    assert parse_size("3", "kernel_size") == 3
    assert parse_size("3x5", "kernel_size") == (3, 5)
    assert parse_size("3X3x3", "kernel_size") == (3, 3, 3)
    assert parse_padding("same") == "same"
    assert parse_padding("VALID") == "valid"
    assert parse_padding("1x2") == (1, 2)
    with pytest.raises(InvalidSpecError, match="kernel_size: got 'three'; it must be a positive integer"):
        parse_size("three", "kernel_size")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_channels": 0}, r"C_IN: got 0; it must be a positive integer"),
        ({"out_channels": -3}, r"C_OUT: got -3"),
        ({"kernel_size": 0}, r"KERNEL: got 0"),
        ({"stride": 0}, r"--stride: got 0"),
        ({"dilation": 0}, r"--dilation: got 0"),
        ({"padding": -1}, r"--padding: got -1; it must be an integer >= 0"),
        (
            {"groups": 4},
            r"--groups: C_IN=6 is not divisible by groups=4.*greatest common divisor is 2\): use 1, 2$",
        ),
        ({"groups": 3}, r"--groups: C_OUT=10 is not divisible by groups=3"),
        ({"kernel_size": 300}, r"KERNEL: effective kernel 300 .* larger than the padded input 224"),
        ({"kernel_size": 3, "dilation": 200}, r"effective kernel 401 \(kernel 3, dilation 200\)"),
        ({"padding": "same", "stride": 2}, r"--padding: 'same' needs stride 1"),
        ({"kernel_size": (3, 3, 3), "stride": (1, 1)}, r"--dim: sizes disagree"),
        (
            {"kernel_size": (3, 3), "dim": 3},
            r"KERNEL: 3x3 has 2 values but the layer is 3-D; write 3 values such as 3x3x3",
        ),
        ({"dim": 4}, r"--dim: 4 is not a convolution dimension"),
        ({"dtype": "int8"}, r"--dtype: unknown dtype 'int8'"),
        ({"padding_mode": "mirror"}, r"--padding-mode: unknown mode 'mirror'"),
        ({"padding": "full"}, r"--padding: 'full' is not a padding"),
        ({"output_padding": 1}, r"--output-padding: only transposed convolutions have it"),
        ({"transposed": True, "padding": "same"}, r"--padding: 'same' works only for convolutions"),
        (
            {"transposed": True, "padding_mode": "reflect"},
            r"--padding-mode: transposed convolutions support only",
        ),
        (
            {"transposed": True, "stride": 2, "output_padding": 2},
            r"--output-padding: 2 must be smaller than stride",
        ),
        ({"transposed": True, "padding": 5, "input_size": 1}, r"--padding: output size would be -7"),
        ({"padding": 5, "padding_mode": "reflect", "input_size": 5}, r"--padding: 5 is too wide for reflect"),
        (
            {"padding": 6, "padding_mode": "circular", "input_size": 5},
            r"--padding: 6 is too wide for circular",
        ),
        ({"batch": 0}, r"--batch: got 0"),
        ({"input_size": 0}, r"--input: got 0"),
    ],
)
def test_invalid_settings(kwargs, message):
    """From Python the message names ConvSpec's fields; on the command line, the options typed."""
    settings = {"in_channels": 6, "out_channels": 10, "kernel_size": 3, **kwargs}
    with pytest.raises(InvalidSpecError) as error:
        ConvSpec(**settings)
    assert isinstance(error.value, ValueError)
    assert re.search(message, words.message(error.value))
    python = str(error.value)
    assert python.startswith(f"{error.value.param}: ") and error.value.param in FIELDS
    assert not re.search(r"--|-T\b|C_IN|C_OUT|KERNEL", python), python
    assert "\n" not in python


def test_edges_torch_accepts():
    # circular padding may wrap exactly once; reflect up to input - 1; replicate any amount
    ConvSpec(4, 4, 3, padding=5, padding_mode="circular", input_size=5)
    ConvSpec(4, 4, 3, padding=4, padding_mode="reflect", input_size=5)
    ConvSpec(4, 4, 3, padding=50, padding_mode="replicate", input_size=5)
    # with reflect, replicate and circular modes torch pads with F.pad, where a negative padding crops
    assert ConvSpec(1, 1, 1, padding=-1, padding_mode="reflect", input_size=5, dim=1).output_spatial == (3,)
    # output_padding may reach dilation - 1 when dilation exceeds stride
    ConvSpec(4, 4, 3, transposed=True, dilation=3, output_padding=2)

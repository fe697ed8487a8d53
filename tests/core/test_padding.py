"""Padding beyond torch's words: TensorFlow's 'SAME' for any stride (tf-same), one size per side (0+1),
and a transposed layer sized by its output (output_size). Pure Python: no torch here."""

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from convcalc import ConvSpec, InvalidSpecError
from convcalc.cli import words
from convcalc.core import formulas
from convcalc.core.analysis import analyze
from convcalc.core.explain import explain
from convcalc.core.spec import Sides, layer_repr, parse_padding

# TensorFlow's and Keras' published sizes for strided 'SAME' layers: (input, kernel, stride, dilation,
# output, (before, after)), each with where it is printed.
PUBLISHED = [
    # d2l.ai (TensorFlow edition, "Padding and Stride"): Conv2D(1, kernel_size=3, padding='same', strides=2)
    # on an 8x8 input gives TensorShape([4, 4]).
    (8, 3, 2, 1, 4, (0, 1)),
    # Keras' applications pad stride-2 layers with imagenet_utils.correct_pad before a 'valid' conv, to match
    # 'same': ((k // 2 - (1 - n % 2), k // 2), ...); MobileNetV2's stem at 224: 112 out, pads (0, 1).
    (224, 3, 2, 1, 112, (0, 1)),
    (225, 3, 2, 1, 113, (1, 1)),  # correct_pad at an odd input: adjust 0, so (1, 1)
    # EfficientNet-B0 (Keras): a 5x5 stride-2 block on a 56x56 map, correct_pad (1, 2), 28 out.
    (56, 5, 2, 1, 28, (1, 2)),
    # TensorFlow's notes on padding (tf.nn, also quoted in the answer on 'SAME' vs 'VALID' that its docs
    # link): input width 13, filter width 6, stride 5: 'SAME' pads one column left and two right, 3 out.
    (13, 6, 5, 1, 3, (1, 2)),
    # tf.nn's notes: "when pad_along_height is 5, we pad 2 pixels at the top and 3 pixels at the bottom".
    (10, 6, 1, 1, 10, (2, 3)),
    # Keras Conv2D's docstring, padding='same' at stride 1: (4, 28, 28, 3) -> (4, 28, 28, 2).
    (28, 3, 1, 1, 28, (1, 1)),
    # Atrous 'SAME' (DeepLab's 3x3 rate-2 convolution): stride 1, dilation 2 pads 2 each side.
    (65, 3, 1, 2, 65, (2, 2)),
]


@pytest.mark.parametrize(("n", "k", "s", "d", "out", "pads"), PUBLISHED)
def test_tf_same_matches_tensorflow_and_keras_published_sizes(n, k, s, d, out, pads):
    spec = ConvSpec(8, 16, k, stride=s, dilation=d, padding="tf-same", input_size=n, dim=1)
    assert spec.output_spatial == (out,)
    assert spec.pads == (pads,)
    assert formulas.tf_same_padding(n, k, s, d) == pads


def tf_same_by_tensorflows_notes(n: int, k: int, s: int, d: int) -> tuple[int, tuple[int, int]]:
    """An independent implementation: the output and padding as tf.nn's notes on padding write them,
    through n % s, with the effective kernel for dilation (jax.lax.padtype_to_pads does the same)."""
    k_eff = d * (k - 1) + 1
    out = math.ceil(n / s) if n < 2**52 else (n + s - 1) // s
    total = max(k_eff - s, 0) if n % s == 0 else max(k_eff - n % s, 0)
    return out, (total // 2, total - total // 2)


@given(
    n=st.integers(1, 400),
    k=st.integers(1, 12),
    s=st.integers(1, 9),
    d=st.integers(1, 6),
    dim=st.integers(1, 3),
)
@example(n=1, k=12, s=9, d=6, dim=1)  # a kernel far wider than the input: everything is padding
@example(n=10**30, k=3, s=7, d=1, dim=1)  # beyond a float's precision: integers only
def test_tf_same_equals_tensorflows_own_formula(n, k, s, d, dim):
    spec = ConvSpec(2, 4, k, stride=s, dilation=d, padding="tf-same", input_size=n, dim=dim)
    out, pads = tf_same_by_tensorflows_notes(n, k, s, d)
    assert spec.output_spatial == (out,) * dim
    assert spec.pads == (pads,) * dim
    # and it is a plain per-side padding: the same figures
    assert analyze(
        ConvSpec(2, 4, k, stride=s, dilation=d, padding=Sides(*pads), input_size=n, dim=dim)
    ).macs == (analyze(spec).macs)


@given(n=st.integers(1, 64), k=st.integers(1, 7), d=st.integers(1, 3))
def test_tf_same_at_stride_1_is_torchs_same(n, k, d):
    """torch's 'same' puts the odd pixel after too: the two agree wherever torch's is allowed."""
    ours = ConvSpec(1, 1, k, dilation=d, padding="tf-same", input_size=n, dim=1)
    torchs = ConvSpec(1, 1, k, dilation=d, padding="same", input_size=n, dim=1)
    assert ours.pads == torchs.pads and ours.output_spatial == torchs.output_spatial == (n,)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0+1", Sides(0, 1)),
        ("2+3x1", ((2, 3), 1)),
        ("0+1x0+1", ((0, 1), (0, 1))),
        (" 1+0X0+2x3 ", ((1, 0), (0, 2), 3)),
        ("-1+2", Sides(-1, 2)),  # parsed; ConvSpec allows a crop only with a non-zeros mode
        ("TF-SAME", "tf-same"),
        ("1x2", (1, 2)),
    ],
)
def test_parse_padding_reads_per_side_values(text, value):
    assert parse_padding(text) == value


@pytest.mark.parametrize(
    "text", ["0+", "+1", "0+1+2", "0++1", "0 + 1", "0+1x", "x0+1", "0+1.5", "0+١", "tf_same"]
)
def test_parse_padding_refuses_what_is_not_one_grammar(text):
    with pytest.raises(InvalidSpecError) as error:
        parse_padding(text)
    assert words.message(error.value) == (
        f"--padding: got {text!r}; it must be same, valid, an integer such as 1, one per dimension: 1x2, "
        "before+after: 0+1 or 0+1x0+1, or tf-same"
    )


def test_per_side_padding_pads_each_side_as_written():
    spec = ConvSpec(3, 8, 3, stride=2, padding=parse_padding("0+1x2+0"), input_size=(8, 9))
    assert spec.pads == ((0, 1), (2, 0))
    # floor((n + before + after - k) / s) + 1, per dimension
    assert spec.output_spatial == ((8 + 0 + 1 - 3) // 2 + 1, (9 + 2 + 0 - 3) // 2 + 1)
    assert layer_repr(spec) == "ZeroPad2d((2, 0, 0, 1)) -> Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2))"
    assert spec.settings()["padding"] == [[0, 1], [2, 0]]


def test_per_side_padding_equal_on_both_sides_is_plain_padding():
    spec = ConvSpec(3, 8, 3, padding=((1, 1), 2), input_size=8)
    assert spec.padding == (1, 2) and spec.pads == ((1, 1), (2, 2))
    assert layer_repr(spec) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 2))"
    assert ConvSpec(3, 8, 3, padding=Sides(2, 2)) == ConvSpec(3, 8, 3, padding=2)


def test_tf_same_is_written_as_torch_builds_it():
    even = ConvSpec(3, 8, 3, stride=2, padding="tf-same", input_size=224)
    assert layer_repr(even) == "ZeroPad2d((0, 1, 0, 1)) -> Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2))"
    odd = ConvSpec(3, 8, 3, stride=2, padding="tf-same", input_size=225)  # both sides alike: torch pads it
    assert layer_repr(odd) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    mode = ConvSpec(3, 8, 3, stride=2, padding="tf-same", padding_mode="reflect", input_size=8, dim=1)
    assert layer_repr(mode) == "ReflectionPad1d((0, 1)) -> Conv1d(3, 8, kernel_size=(3,), stride=(2,))"


def test_explain_shows_the_tf_same_split():
    lines = explain(analyze(ConvSpec(3, 8, 5, stride=2, padding="tf-same", input_size=(56, 7))))
    assert lines[0].startswith("padding tf-same (TensorFlow's 'SAME'): total = max((ceil(in / stride) - 1)")
    # (28 - 1) x 2 + 5 - 56 = 3: one before, two after; (4 - 1) x 2 + 5 - 7 = 4: two each
    assert (
        lines[1]
        == "  dim 1: max((ceil(56 / 2) - 1) x 2 + 1 x (5 - 1) + 1 - 56, 0) = 3: pad_left 1, pad_right 2"
    )
    assert (
        lines[2]
        == "  dim 2: max((ceil(7 / 2) - 1) x 2 + 1 x (5 - 1) + 1 - 7, 0) = 4: pad_left 2, pad_right 2"
    )
    assert "  dim 1: floor((56 + 1 + 2 - 1 x (5 - 1) - 1) / 2) + 1 = 28" in lines


# output_size: torch's forward(x, output_size=...) takes sizes from the formula's at output_padding 0
# to stride - 1 more (ConvTranspose's _output_padding), and sets output_padding to the difference.


def reachable(n: int, k: int, s: int, p: int, d: int) -> list[int]:
    """Every output size a transposed layer reaches, by trying each output_padding torch's rule allows."""
    return [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for op in range(s)]


@given(
    n=st.integers(1, 50),
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    d=st.integers(1, 3),
    p=st.integers(0, 3),
    size=st.integers(1, 300),
)
def test_output_size_sets_the_output_padding_torch_would(n, k, s, d, p, size):
    sizes = reachable(n, k, s, p, d)
    settings = {"stride": s, "padding": p, "dilation": d, "input_size": n, "dim": 1, "transposed": True}
    if min(sizes) < 1:
        return  # the padding crops more than the layer makes: refused whatever the size
    if size in sizes:
        spec = ConvSpec(2, 3, k, output_size=size, **settings)
        assert spec.output_spatial == (size,) and spec.output_padding == (sizes.index(size),)
    else:
        with pytest.raises(InvalidSpecError, match=f"valid sizes range from {sizes[0]} to {sizes[-1]} "):
            ConvSpec(2, 3, k, output_size=size, **settings)


def test_output_size_of_tensorflows_same_transposed_layer():
    """TensorFlow's conv2d_transpose test with 'SAME' and stride 2: x 6x4 (3x3 filter) -> y 12x8; in torch,
    padding 1 and output_size 12x8 give it, through output_padding 1."""
    spec = ConvSpec(3, 2, 3, stride=2, padding=1, transposed=True, input_size=(6, 4), output_size=(12, 8))
    assert spec.output_padding == (1, 1) and spec.output_spatial == (12, 8)
    assert layer_repr(spec).endswith("output_padding=(1, 1))")
    assert spec.settings()["output_size"] == [12, 8]
    assert "output_size" not in ConvSpec(3, 2, 3).settings()  # only where given


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"padding": "tf-same", "transposed": True}, "--padding: 'tf-same' works only for convolutions;"),
        ({"padding": Sides(0, 1), "transposed": True}, "--padding: 0+1x0+1: a transposed convolution pads"),
        (
            {"padding": Sides(-1, 1)},
            "--padding: got -1; it must be an integer >= 0 (a negative padding crops",
        ),
        ({"padding": ((0, 1, 2), 1)}, "--padding: a dimension takes one value or a before+after pair"),
        ({"padding": ((0, 1), (0, 1), 1), "kernel_size": (3, 3)}, "--dim: sizes disagree"),
        ({"padding": ((0, 1),), "kernel_size": (3, 3)}, "--dim: sizes disagree"),
        ({"padding": ((0, 1), (0, 1)), "dim": 3}, "--padding: 0+1x0+1 has 2 values but the layer is 3-D"),
        ({"padding": Sides(4, 0), "padding_mode": "reflect", "input_size": 4}, "--padding: 4 is too wide"),
        ({"padding": Sides(0, 10**40)}, None),  # huge: figures in Python integers, never an overflow
        ({"output_size": 8}, "--output-size: only transposed convolutions have it; add -T or drop it"),
        ({"output_size": 0, "transposed": True}, "--output-size: got 0; it must be a positive integer"),
        ({"output_size": (8, 8, 8), "transposed": True, "kernel_size": (3, 3)}, "--dim: sizes disagree"),
        (
            {"output_size": 30, "transposed": True, "stride": 2, "input_size": 7},
            "--output-size: requested 30x30, but valid sizes range from 15x15 to 16x16 for an input of "
            "7x7 (output padding 0 to stride - 1, as torch's forward(x, output_size=...)); use a size in "
            "that range",
        ),
        (
            {"output_size": 16, "output_padding": 1, "transposed": True, "stride": 2, "input_size": 7},
            "--output-size: it sets the output padding; give --output-size or --output-padding, not both",
        ),
    ],
)
def test_bad_paddings_and_output_sizes_are_one_line_naming_the_option(settings, message):
    settings = {"in_channels": 4, "out_channels": 6, "kernel_size": 3, **settings}
    if message is None:
        assert ConvSpec(**settings).output_spatial[0] > 10**40
        return
    with pytest.raises(InvalidSpecError) as error:
        ConvSpec(**settings)
    line = words.message(error.value)
    assert line.startswith(message) and "\n" not in line
    assert not str(error.value).startswith("--")  # from Python, the field's name


def test_strided_same_points_to_tf_same():
    with pytest.raises(InvalidSpecError) as error:
        ConvSpec(3, 8, 3, stride=2, padding="same")
    assert "use tf-same for TensorFlow's 'SAME' (output ceil(input / stride))" in words.message(error.value)

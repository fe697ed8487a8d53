"""Table-driven checks of each formula, expected values written as the arithmetic they come from."""

import pytest

from convcalc.core import formulas


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "left", "right", "dilation", "expected"),
    [
        (224, 3, 1, 0, 0, 1, 224 - 3 + 1),
        (224, 3, 1, 1, 1, 1, 224),
        (
            5,
            2,
            2,
            1,
            1,
            1,
            (5 + 2 - 1 - 1) // 2 + 1,
        ),  # seed: Conv2d(1, 1, 2, stride=2, padding=1) on 5x5 -> 3
        (5, 2, 2, 2, 2, 2, (5 + 4 - 2 * 1 - 1) // 2 + 1),  # seed: dilated example -> 4
        (224, 7, 2, 3, 3, 1, (224 + 6 - 6 - 1) // 2 + 1),  # ResNet stem -> 112
        (6, 4, 1, 1, 2, 1, 6),  # 'same' with an even kernel pads 1 left, 2 right
    ],
)
def test_conv_output_size(size, kernel, stride, left, right, dilation, expected):
    assert formulas.conv_output_size(size, kernel, stride, left, right, dilation) == expected


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "output_padding", "expected"),
    [
        (5, 2, 1, 0, 1, 0, (5 - 1) * 1 + 1 * (2 - 1) + 1),  # seed: ConvTranspose2d(1, 1, 2) on 5x5 -> 6
        (7, 3, 2, 0, 1, 1, (7 - 1) * 2 + 2 + 1 + 1),
        (8, 4, 2, 1, 1, 0, (8 - 1) * 2 - 2 + 3 + 1),  # DCGAN-style doubling -> 16
        (5, 3, 1, 0, 3, 2, 4 + 3 * 2 + 2 + 1),
    ],
)
def test_transposed_output_size(size, kernel, stride, padding, dilation, output_padding, expected):
    assert (
        formulas.transposed_output_size(size, kernel, stride, padding, dilation, output_padding) == expected
    )


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "groups", "expected"),
    [
        (6, 10, (3, 3), 1, 1 * (3 * 3 * (6 // 1)) * (10 // 1)),  # seed: 540
        (6, 10, (3, 3), 2, 2 * (3 * 3 * (6 // 2)) * (10 // 2)),  # seed: 270
        (6, 6, (3, 3), 6, 6 * (3 * 3 * 1) * 1),  # seed: depthwise 54
        (6, 12, (1, 1), 1, 6 * 12),  # seed: pointwise 72
        (3, 6, (3, 3), 3, 6 * 3 * 3),  # depthwise with channel multiplier 2: Cout x k x k
        (4, 8, (3, 3, 3), 4, 8 * 1 * 27),
    ],
)
def test_weight_params(cin, cout, kernel, groups, expected):
    assert formulas.weight_params(cin, cout, kernel, groups) == expected


def test_macs_conv_and_transposed():
    # 1 x 222 x 222 outputs, each summing 3 input channels x 3 x 3 taps, for 10 output channels
    assert formulas.conv_macs(1, (222, 222), 6, 10, (3, 3), 2) == 1 * 222 * 222 * 10 * 3 * 9
    # every one of 2 x 7 x 7 input elements of 4 channels meets 6/2 output channels x 9 taps
    assert formulas.transposed_macs(2, (7, 7), 4, 6, (3, 3), 2) == 2 * 49 * 4 * 3 * 9


def test_bias_counts():
    assert formulas.bias_params(10, True) == 10
    assert formulas.bias_params(10, False) == 0
    assert formulas.bias_adds(2, 4, (224, 224), True) == 2 * 4 * 224 * 224
    assert formulas.bias_adds(2, 4, (224, 224), False) == 0


@pytest.mark.parametrize(
    ("kernel", "dilation", "expected"),
    [(3, 1, 3), (3, 2, 2 * 2 + 1), (2, 2, 3), (5, 4, 4 * 4 + 1), (1, 9, 1)],
)
def test_effective_kernel(kernel, dilation, expected):
    assert formulas.effective_kernel(kernel, dilation) == expected


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "expected"),
    [
        (3, 1, 1, 3),  # stride 1: every tap lands on each output
        (4, 2, 1, 2),  # taps 0, 2 share an output, one input apart
        (3, 2, 1, 2),  # taps 0, 2 -> 2 inputs; tap 1 alone
        (2, 2, 1, 1),  # the seed's ConvTranspose2d(k=2, s=2): no overlap
        (3, 2, 2, 3),  # dilation 2 matches stride 2: taps at 0, 2, 4 all land together
    ],
)
def test_transposed_receptive_field(kernel, stride, dilation, expected):
    assert formulas.transposed_receptive_field(kernel, stride, dilation) == expected


def test_same_padding_splits_like_torch():
    assert formulas.same_padding(3, 1) == (1, 1)
    assert formulas.same_padding(4, 1) == (1, 2)
    assert formulas.same_padding(3, 2) == (2, 2)


def test_torchinfo_convention():
    # (weight + bias) x N x prod(out): for a conv that is MACs + bias adds
    macs = formulas.conv_macs(1, (224, 224), 3, 4, (3, 3), 1)
    adds = formulas.bias_adds(1, 4, (224, 224), True)
    assert formulas.torchinfo_mult_adds(108, 4, 1, (224, 224)) == macs + adds


def test_counts_do_not_overflow():
    # peers have printed wrapped counts above 2**31; Python ints must stay exact
    big = formulas.conv_macs(64, (1024, 1024), 512, 512, (7, 7), 1)
    assert big == 64 * 1024 * 1024 * 512 * 512 * 49
    assert big > 2**45


@pytest.mark.parametrize(
    ("value", "shown"),
    [(999_499_999_999_999, "999T"), (999_500_000_000_000, "1e+15"), (444 * 10**21, "4.44e+23")],
)
def test_si_past_tera_is_plain_scientific(value, shown):
    from convcalc.render.cells import SI, text

    assert text(SI, value) == shown

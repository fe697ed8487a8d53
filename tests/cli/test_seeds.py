"""Every worked example of the seed posts (../shared/seeds), as the one-liner that reproduces it.

Run with torch verification on, so each figure is also confirmed by the real layer.
"""

import json
import shlex

import pytest

SEED_PARAMS = [
    # (command, params, source)
    (["conv", "6", "10", "3", "--no-bias"], 1 * (3 * 3 * 6) * 10, "000: standard 540"),
    (
        ["conv", "6", "10", "3", "-g", "2", "--no-bias"],
        2 * (3 * 3 * (6 // 2)) * (10 // 2),
        "000/001: grouped 270",
    ),
    (["conv", "6", "6", "3", "-g", "6", "--no-bias"], 6 * (3 * 3 * 1) * 1, "000: depthwise 54"),
    (["conv", "6", "6", "3", "--depthwise", "--no-bias"], 6 * 3 * 3, "000: depthwise 54, shorthand"),
    (["conv", "6", "12", "1", "--no-bias"], 1 * 1 * 6 * 12, "000: pointwise 72"),
    (["conv", "6", "12", "3", "--no-bias"], 3 * 3 * 6 * 12, "000: standard 648"),
    (["conv", "3", "4", "3", "-p", "1"], 3 * 3 * 3 * 4 + 4, "004: standard with bias 112"),
    (["conv", "3", "3", "3", "-g", "3", "-p", "1"], 3 * 3 * 3 + 3, "004: depthwise with bias 30"),
    (["conv", "3", "4", "1"], 3 * 4 + 4, "004: pointwise with bias 16"),
    (
        ["conv", "3", "6", "3", "--depthwise", "-p", "1"],
        6 * 3 * 3 + 6,
        "002: channel multiplier 2: Cout x k x k",
    ),
]


def figures(run, *args):
    if len(args) == 1:
        args = tuple(shlex.split(args[0]))
    result = run(*args, "--format", "json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verification"]["ok"] is True
    return data


@pytest.mark.parametrize(("args", "params", "source"), SEED_PARAMS, ids=[s for *_, s in SEED_PARAMS])
def test_seed_parameter_counts(run, args, params, source):
    data = figures(run, *args)
    assert data["params"] == params
    assert data["verification"]["measured"]["params"] == params


def test_depthwise_separable_sums(run):
    # 000: depthwise 54 + pointwise 72 = 126; 004: 30 + 16 = 46
    dw = figures(run, "conv 6 6 3 --depthwise --no-bias")["params"]
    pw = figures(run, "conv 6 12 1 --no-bias")["params"]
    assert dw + pw == 54 + 72
    dw = figures(run, "conv 3 3 3 --depthwise -p 1")["params"]
    pw = figures(run, "conv 3 4 1")["params"]
    assert dw + pw == 30 + 16


def test_torchsummary_memory_of_seed_004(run):
    # torchsummary printed: input 0.57 MB, forward/backward 1.53 MB, params 0.00 MB, total 2.11 MB
    # (its MB is 2^20 bytes)
    result = run(
        "conv 3 4 3 -p 1 --expect input_bytes=0.57MiB --expect forward_backward_bytes=1.53MiB"
        " --expect param_bytes=0.00MiB --expect total_bytes=2.11MiB"
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "shape", "params"),
    [
        # 003: Conv2d(1, 1, kernel_size=2, stride=2, padding=1) on 1x1x5x5
        (["conv", "1", "1", "2", "-s", "2", "-p", "1", "-i", "5"], [1, 1, 3, 3], 2 * 2 + 1),
        # 003: ConvTranspose2d(1, 1, kernel_size=2, bias=False) on 1x1x5x5
        (["conv", "1", "1", "2", "-T", "--no-bias", "-i", "5"], [1, 1, 6, 6], 2 * 2),
        # 003: dilated Conv2d(1, 1, kernel_size=2, stride=2, padding=2, dilation=2, bias=False)
        (
            ["conv", "1", "1", "2", "-s", "2", "-p", "2", "-d", "2", "--no-bias", "-i", "5"],
            [1, 1, 4, 4],
            2 * 2,
        ),
        # 003: grouped Conv2d(4, 2, kernel_size=2, stride=2, padding=2, groups=2, bias=False) on 1x4x5x5
        (
            ["conv", "4", "2", "2", "-s", "2", "-p", "2", "-g", "2", "--no-bias", "-i", "5"],
            [1, 2, 4, 4],
            2 * (4 // 2) * 2 * 2,
        ),
        # 003: depthwise step Conv2d(4, 4, 2, stride=2, padding=2, groups=4) then pointwise Conv2d(4, 1, 1)
        (
            ["conv", "4", "4", "2", "-s", "2", "-p", "2", "--depthwise", "--no-bias", "-i", "5"],
            [1, 4, 4, 4],
            4 * 4,
        ),
        (["conv", "4", "1", "1", "--no-bias", "-i", "4"], [1, 1, 4, 4], 4),
    ],
)
def test_seed_003_shapes(run, args, shape, params):
    data = figures(run, *args)
    assert data["output_shape"] == shape
    assert data["verification"]["measured"]["output_shape"] == shape
    assert data["params"] == params


def test_grouped_cost_is_one_over_g(run):
    # 001: grouping divides the computation by g
    standard = figures(run, "conv 8 8 3 --no-bias -i 32")
    grouped = figures(run, "conv 8 8 3 -g 4 --no-bias -i 32")
    assert grouped["macs"] * 4 == standard["macs"]
    assert grouped["params"] * 4 == standard["params"]

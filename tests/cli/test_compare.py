"""`convcalc compare`: the seeds' comparisons, every variant equal to torch, formats and skips."""

import csv
import io
import json

import pytest
import torch
from hypothesis import given, settings
from strategies import compare_settings  # tests/strategies.py

from convcalc import ConvSpec, compare_report
from convcalc.core.variants import build_variants, default_groups
from convcalc.measure.build import shared_depthwise


def by_name(run, command):
    result = run(command + " -f json")
    assert result.exit_code == 0, result.output
    return {v["variant"]: v for v in json.loads(result.stdout)}


def test_seed_000_six_to_twelve_without_bias(run):
    # standard 1*(3*3*6)*12 = 648, depthwise 6*3*3 = 54, pointwise 6*12 = 72, separable 54 + 72 = 126
    result = run(
        "compare 6 12 3 --no-bias --expect standard.params=648 --expect depthwise.params=54"
        " --expect pointwise.params=72 --expect dwsep.params=126"
    )
    assert result.exit_code == 0, result.output


def test_seed_004_three_to_four_with_bias(run):
    # 3*3*3*4 + 4 = 112; depthwise 3*3*3 + 3 = 30; pointwise 3*4 + 4 = 16; separable 30 + 16 = 46
    variants = by_name(run, "compare 3 4 3 -p 1 -i 224")
    assert [variants[n]["params"] for n in ("standard", "depthwise", "pointwise", "dwsep")] == [
        112,
        30,
        16,
        46,
    ]
    assert variants["dwsep"]["output_shape"] == variants["standard"]["output_shape"] == [1, 4, 224, 224]


def test_seed_000_grouped(run):
    variants = by_name(run, "compare 6 10 3 --no-bias -g 2")
    assert variants["grouped2"]["params"] == 2 * (3 * 3 * 3) * 5
    assert variants["grouped2"]["ratio_params"] == 0.5


def test_seed_002_shared_kernel(run):
    # one set of Cout/Cin kernels shared by every channel: M*k*k weights (+ M biases), MACs as depthwise
    variants = by_name(run, "compare 3 6 3 -p 1 -m 2")
    assert variants["shared"]["weight_params"] == 2 * 3 * 3
    assert variants["shared"]["bias_params"] == 2
    assert variants["shared"]["macs"] == variants["depthwise"]["macs"]
    assert variants["depthwise"]["weight_params"] == 6 * 3 * 3
    assert all(v["verification"]["ok"] for v in variants.values())


def test_shared_kernel_module_equals_a_depthwise_conv_with_tied_weights():
    spec = ConvSpec(3, 6, 3, padding=1, groups=3, input_size=8)
    shared = shared_depthwise(spec, "cpu")
    reference = torch.nn.Conv2d(3, 6, 3, padding=1, groups=3)
    with torch.no_grad():
        reference.weight.copy_(shared.weight.repeat(3, 1, 1, 1))
        reference.bias.copy_(shared.bias.repeat(3))
        x = torch.randn(2, 3, 8, 8)
        torch.testing.assert_close(shared(x), reference(x))
    assert sum(p.numel() for p in shared.parameters()) == 2 * 9 + 2


def test_skipped_variants_are_listed_with_the_reason(run):
    variants = by_name(run, "compare 6 10 3 -g 2 -g 4 -g 1")
    assert variants["grouped4"]["skipped"] == "C_IN=6 is not divisible by 4"
    assert variants["grouped1"]["skipped"] == "groups=1 is the standard convolution"
    assert "params" in variants["grouped2"]
    table = run("compare 6 10 3 -g 4").stdout
    assert "grouped g=4 skipped: C_IN=6 is not divisible by 4" in table


def test_default_groups_are_common_divisors_short_of_depthwise():
    assert default_groups(ConvSpec(6, 10, 3)) == [2]
    assert default_groups(ConvSpec(6, 12, 3)) == [2, 3]
    assert default_groups(ConvSpec(64, 128, 3)) == [2, 4, 16, 32]  # four of 2, 4, 8, 16, 32, spread out
    assert default_groups(ConvSpec(7, 5, 3)) == []


def test_bn_and_act(run):
    variants = by_name(run, "compare 6 10 3 --bn --act silu -g 2")
    standard = variants["standard"]
    assert standard["bias_params"] == 0  # bias off by default with --bn, as in the Conv-BN-Act block
    assert standard["bn_params"] == 2 * 10
    assert standard["buffers"] == 2 * 10 + 1
    assert standard["params"] == 6 * 10 * 9 + 2 * 10
    assert "BatchNorm2d(10) -> SiLU()" in standard["layer"]
    dwsep = variants["dwsep"]
    assert dwsep["bn_params"] == 2 * 6 + 2 * 10
    assert dwsep["buffers"] == (2 * 6 + 1) + (2 * 10 + 1)
    assert all(v["verification"]["ok"] for v in variants.values())
    with_bias = by_name(run, "compare 6 10 3 --bn --bias")
    assert with_bias["standard"]["bias_params"] == 10


def test_separable_closed_form_is_printed_and_agrees(run):
    out = " ".join(run("compare 6 12 3 --no-bias").stdout.split())
    assert "measured 0.1944; MobileNet's closed form 1/Cout + 1/k^2 = 0.1944" in out
    report = compare_report(ConvSpec(32, 64, 3, padding=1, input_size=56), multiplier=2, verify=False)
    measured, closed = report.separable_ratio()
    assert measured == closed == pytest.approx(2 / 64 + 2 / 9)


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex", "csv"])
def test_formats(run, fmt):
    result = run(f"compare 6 12 3 --no-bias -f {fmt}")
    assert result.exit_code == 0
    assert "126" in result.stdout and "648" in result.stdout


def test_csv_keys_and_raw_numbers(run):
    rows = list(csv.DictReader(io.StringIO(run("compare 6 12 3 --no-bias -f csv").stdout)))
    assert [r["variant"] for r in rows] == [
        "standard",
        "grouped2",
        "grouped3",
        "depthwise",
        "pointwise",
        "dwsep",
        "shared",
    ]
    assert rows[5]["params"] == "126"
    assert rows[5]["macs"] == str(6 * 222 * 222 * 9 + 6 * 12 * 222 * 222)


def test_expect_per_variant(run):
    bad = run("compare 6 12 3 --no-bias --expect dwsep.params=127 --no-verify")
    assert bad.exit_code == 1
    assert "expectation not met: dwsep.params=127, actual 126" in bad.stderr
    ratio = run("compare 6 12 3 --no-bias --expect dwsep.ratio_macs=0.194 --no-verify")
    assert ratio.exit_code == 0, ratio.output
    unknown = run("compare 6 12 3 --expect grouped5.params=1")
    assert unknown.exit_code == 2
    assert "unknown figure 'grouped5.params'" in unknown.stderr


def test_no_verify_has_no_torch_column(run):
    data = by_name(run, "compare 6 12 3 --no-verify")
    assert all(v.get("verification") is None for v in data.values())
    assert "analytic only" in run("compare 6 12 3 --no-verify").stdout


def test_invalid_base_layer_is_one_line(run):
    result = run("compare 6 12 9 -i 4")
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: error: KERNEL: effective kernel 9")
    assert len(result.stderr.strip().splitlines()) == 1
    assert run("compare 6 12 3 --act swish").exit_code == 2
    assert run("compare 6 12 3 -m 0").exit_code == 2


@pytest.mark.slow
@settings(max_examples=60)
@given(compare_settings())
def test_every_variant_equals_torch(kwargs):
    report = compare_report(kwargs.pop("base"), device="meta", **kwargs)
    for row in report.rows:
        if row.result is None:
            assert row.variant.skipped
            continue
        assert row.verification.ok, [c for c in row.verification.checks if not c.ok]


def test_transposed_base_is_refused():
    with pytest.raises(Exception, match="transposed"):
        build_variants(ConvSpec(4, 4, 3, transposed=True))

"""--bench: the roofline arithmetic, the traffic each command counts, the plan that keeps big layers from
running, and the output of every command. No timing is asserted: a latency is only checked to exist."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from convcalc import ConvSpec, analyze
from convcalc.api import compare_report, conv_report, stack_report
from convcalc.cli import words
from convcalc.core.bench import Bench, Peaks, bench_settings, given_peaks, known_peaks
from convcalc.core.errors import InvalidSpecError
from convcalc.measure import bench as bench_module

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
NETS = Path(__file__).parents[1] / "nets.py"
KEYS = {"median_s", "iqr_s", "flops_per_s", "bytes", "intensity", "roofline_fraction"}


@pytest.fixture(autouse=True)
def short_runs(monkeypatch):
    """A few milliseconds of timed blocks per subject: the tests check figures, not speed."""
    monkeypatch.setattr(bench_module, "MIN_RUN_TIME", 0.01)


@pytest.mark.parametrize(
    ("flops", "traffic", "median", "peaks", "bound", "limit", "fraction"),
    [
        # compute-bound: intensity 100 FLOP/B x 10 GB/s = 1 TFLOP/s > 0.5 TFLOP/s peak
        (10**9, 10**7, 0.004, Peaks(0.5e12, 10e9, "given"), "compute", 0.5e12, (10**9 / 0.004) / 0.5e12),
        # memory-bound: intensity 2 FLOP/B x 10 GB/s = 20 GFLOP/s < 0.5 TFLOP/s
        (2 * 10**7, 10**7, 0.004, Peaks(0.5e12, 10e9, "given"), "memory", 2 * 10e9, (2e7 / 0.004) / 20e9),
        # one ceiling only: the bound is that ceiling, with no verdict on which
        (10**9, 10**7, 0.01, Peaks(None, 10e9, "given"), "", 100 * 10e9, (1e9 / 0.01) / 1e12),
    ],
)
def test_roofline_arithmetic(flops, traffic, median, peaks, bound, limit, fraction):
    b = Bench("cpu", flops, traffic, median, 0.0, 3, peaks)
    assert b.flops_per_s == flops / median
    assert b.intensity == flops / traffic
    assert b.bound == bound
    assert math.isclose(b.bound_flops_per_s, limit)
    assert math.isclose(b.roofline_fraction, fraction)
    assert set(b.to_dict()) >= KEYS


def test_no_peaks_no_roofline():
    b = Bench("cpu", 10**9, 10**6, 0.01, 0.001, 5)
    assert (b.bound_flops_per_s, b.roofline_fraction, b.bound) == (None, None, "")
    skipped = Bench("cpu", 10**9, 10**6, skipped="not timed: too big")
    assert skipped.flops_per_s is None and skipped.to_dict()["skipped"] == "not timed: too big"


def test_known_peaks_by_device_name_and_dtype():
    h100 = known_peaks("cuda (NVIDIA H100 80GB HBM3)", "float16", Peaks())
    assert (h100.flops_per_s, h100.bytes_per_s) == (989.5e12, 3350e9)
    pcie = known_peaks("cuda (NVIDIA H100 PCIe)", "float32", Peaks())
    assert (pcie.flops_per_s, pcie.bytes_per_s) == (378e12, 2000e9)
    mixed = known_peaks("cuda (NVIDIA H200)", "bfloat16", given_peaks(100, None))
    assert (mixed.flops_per_s, mixed.bytes_per_s) == (100e12, 4800e9)
    assert mixed.source.startswith("given and H200")
    assert known_peaks("cpu", "float32", Peaks()) == Peaks()
    assert known_peaks("cuda (NVIDIA H100)", "float32 without TF32", Peaks()).flops_per_s is None


@pytest.mark.parametrize(
    ("bench", "device", "tflops", "gbps", "option"),
    [
        (True, "meta", None, None, "--bench"),
        (False, "cpu", 10.0, None, "--peak-tflops"),
        (False, "cpu", None, 10.0, "--peak-gbps"),
        (True, "cpu", float("nan"), None, "--peak-tflops"),
        (True, "cpu", None, float("inf"), "--peak-gbps"),
        (True, "cpu", -1.0, None, "--peak-tflops"),
        (True, "cpu", 0.0, None, "--peak-tflops"),
    ],
)
def test_bad_bench_settings_name_the_option(bench, device, tflops, gbps, option):
    """The option on the command line; its argument's name (peak_tflops) from Python."""
    with pytest.raises(InvalidSpecError) as caught:
        bench_settings(bench, device, tflops, gbps)
    assert words.message(caught.value).startswith(f"{option}: ")
    assert str(caught.value).startswith(f"{option.removeprefix('--').replace('-', '_')}: ")


def test_conv_bench_times_the_layer_and_counts_its_traffic():
    spec = ConvSpec(6, 10, 3, groups=2, input_size=32)
    report = conv_report(spec, verify=False, bench=True, peak_tflops=1.0, peak_gbps=10.0)
    b, m = report.bench, analyze(spec).memory
    assert b.median_s > 0 and b.iqr_s >= 0 and b.runs >= 1
    assert b.flops == 2 * 10 * (6 // 2) * 3 * 3 * 30 * 30
    assert b.bytes == m.input_bytes + m.param_bytes + m.output_bytes == 4 * (6 * 32 * 32 + 280 + 10 * 30 * 30)
    assert b.roofline_fraction == b.flops_per_s / b.bound_flops_per_s
    assert set(report.to_dict()["bench"]) >= KEYS


def test_a_layer_past_the_plan_is_not_timed(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a layer past the memory plan was built")

    monkeypatch.setattr("convcalc.measure.bench.build_layer", never)
    b = conv_report(ConvSpec(2048, 2048, 3, input_size=1024, batch=8), verify=False, bench=True).bench
    assert b.median_s is None
    assert b.skipped.startswith("not timed: counted on the meta device")


def test_compare_bench_every_variant_with_its_traffic():
    base = ConvSpec(16, 32, 3, padding=1, input_size=16)
    report = compare_report(base, verify=False, bench=True, bn=True, act="relu")
    rows = {row.variant.name: row for row in report.rows if row.result}
    for row in rows.values():
        assert row.bench.median_s > 0 and row.bench.flops == row.result.flops
    dwsep = rows["dwsep"].result
    mid = dwsep.stages[0].output_shape  # depthwise's output, 16 channels, read by BN, ReLU and pointwise
    element, mid_n, out_n = 4, math.prod(mid), math.prod(dwsep.output_shape)
    # depthwise reads x, writes mid; BN and ReLU each read and write mid; pointwise reads mid, writes out;
    # BN and ReLU each read and write out: mid is moved 6 times, out 5
    moved = element * (16 * 16 * 16 + 6 * mid_n + 5 * out_n)
    stats = element * 2 * (16 + 32)  # BatchNorm's running mean and var
    assert rows["dwsep"].bench.bytes == moved + dwsep.param_bytes + stats
    data = report.to_list()
    assert set(data[0]["bench"]) >= KEYS


def test_stack_bench_counts_every_layer_but_views():
    report = stack_report("conv out=8 kernel=3; relu; flatten; linear out=4", input_size="3x8x8", bench=True)
    conv_in, conv_out, flat = 3 * 8 * 8, 8 * 6 * 6, 8 * 6 * 6
    params = 8 * 3 * 9 + 8 + flat * 4 + 4
    expected = 4 * (conv_in + conv_out + conv_out + conv_out + flat + 4 + params)  # flatten moves nothing
    assert report.bench.bytes == expected
    assert report.bench.flops == report.total["flops"]
    assert report.bench.median_s > 0


@pytest.mark.slow
def test_cli_formats_carry_the_bench(run):
    result = run("compare 8 16 3 -p 1 -i 16 --bench --no-verify -f csv")
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split(",")
    assert {"median_s", "ratio_time", "flops_per_s", "intensity"} <= set(header)
    table = run("compare 8 16 3 -p 1 -i 16 --bench --no-verify")
    assert "time/std" in table.stdout and "dw-separable:" in table.stdout
    conv = run("conv 8 16 3 -i 16 --bench --no-verify -f json")
    assert set(json.loads(conv.stdout)["bench"]) >= KEYS


def test_model_bench_on_cpu_and_refused_on_meta(run):
    ok = run(f"model {NETS}:residual -i 3x16x16 --device cpu --bench -f json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["bench"]["median_s"] > 0 and data["bench"]["flops"] == data["total"]["flops"]
    refused = run(f"model {NETS}:residual -i 3x16x16 --bench")
    assert refused.exit_code == 2
    assert refused.stderr.strip().startswith("convcalc: error: --bench: ")


def test_bench_without_grad_leaves_no_graph():
    layer = torch.nn.Conv2d(3, 4, 3)
    x = torch.zeros(1, 3, 8, 8)
    median, iqr, runs = bench_module.time_module(layer, (x,))
    assert median > 0 and runs >= 1
    assert torch.is_grad_enabled()


@CUDA
def test_cuda_bench(run):
    result = run("conv 64 128 3 -p 1 -i 56 --device cuda --bench -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["bench"]
    assert data["median_s"] > 0 and data["device"].startswith("cuda")


@pytest.mark.parametrize(
    "name", ["cuda (NVIDIA GH200 480GB)", "cuda (NVIDIA H100 NVL)", "cuda (NVIDIA H200 NVL)"]
)
def test_a_board_not_listed_gets_no_peaks(name):
    assert known_peaks(name, "float16", Peaks()) == Peaks()


def test_separable_slower_is_said_so():
    from convcalc.render.compare import _separable_speed

    report = compare_report(ConvSpec(4, 8, 3, input_size=8), verify=False)
    rows = []
    for row in report.rows:
        median = 1e-3 if row.variant.name == "standard" else 5e-3  # the separable one 5x slower
        rows.append(replace(row, bench=Bench("cpu", 1, 1, median, 0.0, 10)))
    line = _separable_speed(replace(report, rows=tuple(rows)))
    assert "5x slower" in line and "faster" not in line


def test_a_busy_machine_is_said_so():
    from convcalc.render.bench import bench_lines

    quiet = Bench("cpu", 10, 10, 1e-3, 0.0, 9, threads=2, load=1.2, cpus=2)
    busy = Bench("cpu", 10, 10, 1e-3, 0.0, 9, threads=2, load=2.5, cpus=2)
    assert not quiet.busy and busy.busy
    assert not any("busy" in line for line in bench_lines(quiet))
    assert any("load average 2.5 on 2 CPUs" in line for line in bench_lines(busy))
    assert busy.to_dict()["threads"] == 2 and busy.to_dict()["load_average"] == 2.5

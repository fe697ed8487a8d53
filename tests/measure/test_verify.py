"""Verification itself: the receptive-field probe, the meta fallback, devices, and mismatches exiting 1."""

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import ConvSpec, DeviceError, analyze
from convcalc import api as api_module
from convcalc.core.plan import PROBE_ELEMENTS, probe_size
from convcalc.measure.planned import plan, resolve_device
from convcalc.measure.probe import measure_receptive_field
from convcalc.measure.verify import verify

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")


@pytest.mark.slow
@settings(max_examples=200)
@given(k=st.integers(1, 9), s=st.integers(1, 9), d=st.integers(1, 5), transposed=st.booleans())
def test_probe_equals_analytic_receptive_field(k, s, d, transposed):
    spec = ConvSpec(1, 1, k, stride=s, dilation=d, transposed=transposed, dim=1, input_size=64, padding=0)
    assert measure_receptive_field(spec)[0] == analyze(spec).receptive_field


@pytest.mark.parametrize(("k", "s", "d"), [(512, 512, 1), (512, 1, 1), (3, 4096, 1), (300, 7, 11)])
def test_probe_stays_small_for_wide_or_strided_transposed_layers(k, s, d):
    """O(receptive field): the old one-hot probe held (k_eff + 2s)^2 values; 19 GB for k = s = 512."""
    spec = ConvSpec(1, 1, k, stride=s, dilation=d, transposed=True, dim=1, input_size=1)
    probe = probe_size(True, k, s, d)
    if probe is None:
        assert measure_receptive_field(spec) == (None, measure_receptive_field(spec)[1])
    else:
        assert 2 * probe.batch * (probe.inputs + probe.outputs) <= PROBE_ELEMENTS
        assert measure_receptive_field(spec)[0] == analyze(spec).receptive_field


@pytest.mark.parametrize(("kernel", "dilation"), [((3, 5), (1, 1)), ((3, 3), (2, 3)), ((1, 4), (1, 2))])
def test_receptive_field_by_backpropagation(kernel, dilation):
    """An independent witness: the input gradient of one output element spans the receptive field."""
    spec = ConvSpec(1, 1, kernel, dilation=dilation, input_size=31, bias=False)
    layer = torch.nn.Conv2d(1, 1, kernel, dilation=dilation, bias=False)
    torch.nn.init.constant_(layer.weight, 1.0)
    x = torch.ones(1, 1, 31, 31, requires_grad=True)
    y = layer(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows, cols = x.grad[0, 0].nonzero(as_tuple=True)
    extent = (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1)
    assert extent == analyze(spec).receptive_field


def test_plan_uses_meta_for_layers_too_big_to_run(monkeypatch):
    from convcalc.measure import planned

    monkeypatch.setattr(planned, "free_memory", lambda device: None)  # any machine's answer
    big = analyze(ConvSpec(64, 64, 3, dim=3, input_size=512))
    chosen = plan([big], "cpu", full=False)
    assert chosen.mode == "meta" and "--full forces it" in chosen.reason
    assert plan([big], "cpu", full=True).mode == "real"
    assert plan([analyze(ConvSpec(6, 10, 3))], "cpu", full=False).mode == "real"
    assert plan([analyze(ConvSpec(6, 10, 3))], "meta", full=False).mode == "meta"


def test_full_never_runs_the_machine_out_of_memory(monkeypatch):
    from convcalc.measure import planned

    monkeypatch.setattr(planned, "free_memory", lambda device: 2**20)
    chosen = plan([analyze(ConvSpec(64, 64, 3, input_size=224))], "cpu", full=True)
    assert chosen.mode == "meta" and "only 1.0 MiB is free" in chosen.reason


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_dtypes_verify_on_cpu(dtype):
    result = analyze(ConvSpec(4, 8, 3, padding=1, input_size=16, dtype=dtype))
    v = verify(result, device="cpu")
    assert v.ok
    measured = {c.key: c.measured for c in v.checks}
    assert measured["param_bytes"] == result.params * {"float16": 2, "bfloat16": 2, "float64": 8}[dtype]


def test_unavailable_devices_are_refused_with_the_reason():
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA device"):
            resolve_device("cuda:0")
    if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        with pytest.raises(DeviceError, match="MPS is not available"):
            resolve_device("mps")
    assert resolve_device("auto") in ("cpu", "cuda", "mps")


def test_a_mismatch_exits_1_and_names_the_row(run, monkeypatch):
    """Pretend the analytic core is wrong by one parameter: verification must catch it."""
    real_analyze = api_module.analyze

    def off_by_one(spec):
        result = real_analyze(spec)
        return dataclasses.replace(result, weight_params=result.weight_params + 1)

    monkeypatch.setattr(api_module, "analyze", off_by_one)
    result = run("conv 6 10 3 -g 2 --no-bias")
    assert result.exit_code == 1
    assert "MISMATCH weight_params: analytic 271 but torch measured 270" in result.stderr
    assert "DIFFERS" in result.stdout


def test_transposed_torchinfo_overcount_is_explained_not_failed():
    v = verify(analyze(ConvSpec(4, 6, 3, stride=2, transposed=True, input_size=7)))
    row = next(c for c in v.checks if c.key == "torchinfo_mult_adds")
    assert row.ok is True
    assert "over the output size" in row.note


@CUDA
def test_cuda_verifies(run):
    result = run("conv 64 128 3 -p 1 --device cuda --dtype float16")
    assert result.exit_code == 0, result.output
    assert "verified on cuda" in result.stdout


@CUDA
def test_cuda_huge_layer_goes_to_meta(run):
    result = run("conv 64 64 3 --dim 3 --input 512 --device cuda")
    assert result.exit_code == 0, result.output
    assert "counted on the meta device" in result.stdout


def test_a_real_pass_that_fails_is_counted_on_meta_with_the_reason(monkeypatch):
    from convcalc.measure import verify as verify_module

    real_run = verify_module.run_module

    def cpu_kernel_refuses(build, spec, device):
        if device != "meta":
            raise RuntimeError("stride should be greater than zero, but got stride_width: -2147483648\nmore")
        return real_run(build, spec, device)

    monkeypatch.setattr(verify_module, "run_module", cpu_kernel_refuses)
    v = verify(analyze(ConvSpec(2, 3, 3, input_size=8)))
    assert v.ok and v.mode == "meta"
    assert v.reason.endswith(
        "the real pass failed on cpu: stride should be greater than zero, but got stride_width: -2147483648"
    )


def test_a_layer_torch_refuses_after_convcalc_accepted_it_exits_1_in_one_line(run, monkeypatch):
    from convcalc.measure import verify as verify_module

    def refuses(build, spec, device):
        raise RuntimeError("Given groups=1, weight of size [10, 6, 3, 3] is not what torch expected")

    monkeypatch.setattr(verify_module, "run_module", refuses)
    result = run("conv 6 10 3 -i 8")
    assert result.exit_code == 1
    assert result.stderr.strip() == "convcalc: MISMATCH torch_accepts: analytic yes but torch measured no"

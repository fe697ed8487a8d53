"""--backward: the training step's analytic figures (core/backward.py) against torch
(measure/backward_step.py).

Table-driven cases written as arithmetic; hypothesis over random convolutions, compare variants and
stacks, measured on the meta device (FLOPs, and the sizes of what autograd and torch.optim keep) and on
the cpu for small ones (real tensors). Every check must agree; torch's grouped grad weight over-count is
asserted as a relation of its own.
"""

from __future__ import annotations

import subprocess
import sys
from math import prod
from typing import Any

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import analyzed, compare_settings, stacks, valid_settings  # tests/strategies.py

from convcalc import ConvSpec, analyze
from convcalc.core.backward import conv_training, stack_training, total, variant_training
from convcalc.core.results import TRAINING_FIGURES, Training
from convcalc.core.spec import DTYPE_BYTES
from convcalc.core.stack_analysis import StackResult
from convcalc.core.variants import analyze_variant, build_variants
from convcalc.measure.backward_step import (
    measure_stack_training,
    measure_training,
    model_training,
    training_checks,
)
from convcalc.measure.build import build_layer, build_stack, build_variant


def failures(checks: list) -> list[tuple[str, Any, Any, str]]:
    return [(c.key, c.analytic, c.measured, c.note) for c in checks if c.ok is False]


def measured_conv(spec: ConvSpec, device: str, input_grad: bool) -> dict[str, Any]:
    x = torch.zeros(spec.input_shape, device=device, dtype=getattr(torch, spec.dtype))
    return measure_training(build_layer(spec, device), x, input_grad)


def assert_conv(spec: ConvSpec, device: str, input_grad: bool) -> Training:
    result = analyze(spec)
    analytic = conv_training(result, input_grad)
    measured = measured_conv(spec, device, input_grad)
    assert not failures(training_checks(analytic, measured, groups=spec.groups))
    # torch's formula: grad input exactly the forward's count, grad weight groups times it
    assert measured["grad_input_flops"] == (2 * result.macs if input_grad else 0)
    assert measured["grad_weight_flops"] == 2 * spec.groups * result.macs
    return analytic


# ---------------------------------------------------------------------------------------------------
# 1. Single layers, written out.

CONV_CASES = [
    # Conv2d(6, 10, 3, groups=2) on 1x6x32x32: out 30x30; weight 10 x 3 x 3 x 3
    (
        dict(in_channels=6, out_channels=10, kernel_size=3, groups=2, input_size=32, dim=2),
        dict(
            grad_input_macs=10 * (6 // 2) * 3 * 3 * 30 * 30,
            grad_weight_macs=10 * (6 // 2) * 3 * 3 * 30 * 30,
            bias_grad_adds=1 * 10 * 30 * 30,
            weight_bytes=(10 * 3 * 3 * 3 + 10) * 4,
            adam_state_bytes=2 * (10 * 3 * 3 * 3 + 10) * 4 + 2 * 4,  # exp_avg, exp_avg_sq, 2 steps
            saved_bytes=1 * 6 * 32 * 32 * 4,  # the input
        ),
    ),
    # depthwise Conv1d(4, 8, 3, stride=2, groups=4), batch 2, length 17: out 8; no bias
    (
        dict(
            in_channels=4,
            out_channels=8,
            kernel_size=3,
            stride=2,
            groups=4,
            bias=False,
            batch=2,
            input_size=17,
            dim=1,
        ),
        dict(
            grad_input_macs=2 * 8 * 8 * 1 * 3,
            grad_weight_macs=2 * 8 * 8 * 1 * 3,
            bias_grad_adds=0,
            weight_bytes=8 * 1 * 3 * 4,
            adam_state_bytes=2 * 8 * 3 * 4 + 4,
            saved_bytes=2 * 4 * 17 * 4,
        ),
    ),
    # ConvTranspose2d(6, 10, 3, stride=2, groups=2) on 1x6x7x7: counted over the input; out 15x15
    (
        dict(
            in_channels=6,
            out_channels=10,
            kernel_size=3,
            stride=2,
            groups=2,
            transposed=True,
            input_size=7,
            dim=2,
        ),
        dict(
            grad_input_macs=1 * 7 * 7 * 6 * (10 // 2) * 3 * 3,
            grad_weight_macs=1 * 7 * 7 * 6 * (10 // 2) * 3 * 3,
            bias_grad_adds=1 * 10 * 15 * 15,
            weight_bytes=(6 * 5 * 3 * 3 + 10) * 4,
            adam_state_bytes=2 * (6 * 5 * 9 + 10) * 4 + 2 * 4,
            saved_bytes=6 * 7 * 7 * 4,
        ),
    ),
    # reflect padding 1 on 2x3x8x8, float64: the padded copy 10x10 and (for its own backward) the input
    (
        dict(
            in_channels=3,
            out_channels=4,
            kernel_size=3,
            padding=1,
            padding_mode="reflect",
            batch=2,
            input_size=8,
            dim=2,
            dtype="float64",
        ),
        dict(
            grad_input_macs=2 * 8 * 8 * 4 * 3 * 9,
            grad_weight_macs=2 * 8 * 8 * 4 * 3 * 9,
            bias_grad_adds=2 * 4 * 8 * 8,
            weight_bytes=(4 * 3 * 9 + 4) * 8,
            adam_state_bytes=2 * (4 * 3 * 9 + 4) * 8 + 2 * 4,
            saved_bytes=(2 * 3 * 10 * 10 + 2 * 3 * 8 * 8) * 8,
        ),
    ),
    # 'same' with an even kernel (total padding 1: 0 left, 1 right): F.pad's copy, 1 longer, is saved
    (
        dict(in_channels=2, out_channels=2, kernel_size=2, padding="same", input_size=5, dim=3),
        dict(
            grad_input_macs=5 * 5 * 5 * 2 * 2 * 8,
            grad_weight_macs=5 * 5 * 5 * 2 * 2 * 8,
            bias_grad_adds=2 * 5 * 5 * 5,
            weight_bytes=(2 * 2 * 8 + 2) * 4,
            adam_state_bytes=2 * (2 * 2 * 8 + 2) * 4 + 2 * 4,
            saved_bytes=2 * 6 * 6 * 6 * 4,
        ),
    ),
]


CASE_IDS = ["grouped", "depthwise-1d", "transposed", "reflect-float64", "same-even-3d"]


@pytest.mark.parametrize(("settings_", "expected"), CONV_CASES, ids=CASE_IDS)
def test_conv_arithmetic_and_torch(settings_, expected):
    spec = ConvSpec(**settings_)
    analytic = conv_training(analyze(spec))
    for key, value in expected.items():
        assert getattr(analytic, key) == value, key
    assert analytic.grad_bytes == analytic.sgd_state_bytes == analytic.weight_bytes
    assert analytic.torch_grad_weight_macs == spec.groups * analytic.grad_weight_macs
    assert analytic.backward_flops == 2 * (analytic.grad_input_macs + analytic.grad_weight_macs)
    assert analytic.adam_total_bytes == analytic.weight_bytes * 4 + 4 * (1 + spec.bias) + analytic.saved_bytes
    assert assert_conv(spec, "cpu", True) == analytic


def test_no_input_grad_drops_grad_input_and_the_pads_own_copy():
    spec = ConvSpec(3, 4, 3, padding=1, padding_mode="replicate", batch=2, input_size=8)
    analytic = assert_conv(spec, "cpu", False)
    assert analytic.grad_input_macs == 0
    assert analytic.saved_bytes == 2 * 3 * 10 * 10 * 4  # the padded copy only
    checks = {c.key: c for c in training_checks(analytic, measured_conv(spec, "meta", False), spec.groups)}
    assert "ungrouped" not in checks["grad_weight_macs"].note  # groups=1: the witness / 2
    assert checks["grad_input_macs"].measured == 0


def test_grouped_note_says_how_torch_counts():
    spec = ConvSpec(8, 8, 3, groups=8, input_size=6)
    checks = {
        c.key: c for c in training_checks(conv_training(analyze(spec)), measured_conv(spec, "meta", True), 8)
    }
    assert checks["grad_weight_macs"].ok
    assert "/ 2 / 8" in checks["grad_weight_macs"].note and "ungrouped" in checks["grad_weight_macs"].note
    assert checks["bias_grad_adds"].ok is None


# ---------------------------------------------------------------------------------------------------
# 2. Random convolutions: 1-3d, grouped, depthwise, transposed, dilated, strided, padding modes.


@st.composite
def convs(draw: Any, small: bool = False) -> ConvSpec:
    dim, transposed = draw(st.integers(1, 3)), draw(st.booleans())
    kwargs = draw(valid_settings(dim, transposed))
    if draw(st.booleans()):  # depthwise, with a channel multiplier
        kwargs["in_channels"] = kwargs["groups"]
    if small:
        kwargs["input_size"] = tuple(min(n, 9 if dim < 3 else 5) for n in kwargs["input_size"])
    kwargs["dtype"] = draw(st.sampled_from(list(DTYPE_BYTES)))
    try:
        spec = ConvSpec(**kwargs)
    except ValueError:  # shrunk below what the window needs
        assume(False)
    return spec


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(spec=convs(), input_grad=st.booleans())
def test_random_convs_on_meta(spec: ConvSpec, input_grad: bool):
    assert_conv(spec, "meta", input_grad)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(spec=convs(small=True), input_grad=st.booleans())
def test_random_convs_on_cpu(spec: ConvSpec, input_grad: bool):
    assert_conv(spec, "cpu", input_grad)


# ---------------------------------------------------------------------------------------------------
# 3. Stacks: the saved-activation rules per kind, then random stacks against the hooks.

N, C, H = 2, 4, 6  # conv out=4 kernel=3 on 2x3x8x8 gives 2x4x6x6
ACT = N * C * H * H * 4  # one float32 activation after that conv
X = N * 3 * 8 * 8 * 4  # the batch


@pytest.mark.parametrize(
    ("text", "saved"),
    [
        ("conv out=4 kernel=3; relu; conv out=4 kernel=3", [X, ACT, 0]),  # relu's output, once
        ("conv out=4 kernel=3; sigmoid; tanh", [X, ACT, ACT]),  # outputs
        ("conv out=4 kernel=3; relu6; gelu; silu; leaky", [X, ACT, ACT, ACT, ACT]),  # inputs
        ("conv out=4 kernel=3; identity; flatten; linear out=3", [X, 0, 0, ACT]),  # views: linear's input
        ("conv out=4 kernel=3; bn", [X, ACT + 2 * C * 4]),  # input, save_mean, save_invstd
        ("conv out=4 kernel=3; maxpool kernel=2", [X, ACT + N * C * 3 * 3 * 8]),  # int64 indices
        ("conv out=4 kernel=3; avgpool kernel=2", [X, ACT]),
        ("conv out=4 kernel=3; adaptive_avgpool out=1; adaptive_avgpool out=1", [X, 0, 0]),  # means
        ("conv out=4 kernel=3; adaptive_avgpool out=2", [X, ACT]),
        ("conv out=4 kernel=3; dropout p=0.5", [X, ACT]),  # a mask of the input's dtype
        ("conv out=4 kernel=3; dropout p=0; relu", [X, 0, ACT]),  # p=0 returns its input
        ("conv out=4 kernel=3; dropout p=1", [X, 4]),  # input times a zero scalar
        ("relu; maxpool kernel=2; conv out=4 kernel=3", [0, 0, N * 3 * 4 * 4 * 4]),  # nothing needs grad
    ],
)
def test_saved_rules(text: str, saved: list[int]):
    result = analyzed(text, (3, 8, 8), batch=N)
    layers, _ = stack_training(result)
    assert [t.saved_bytes for t in layers] == saved
    assert_stack(result, "cpu")


def test_stack_grad_input_starts_after_the_first_weights():
    result = analyzed(
        "relu; conv out=4 kernel=3; relu; conv out=5 kernel=1; flatten; linear out=2", (3, 8, 8)
    )
    layers, whole = stack_training(result)
    assert [t.grad_input_macs for t in layers] == [0, 0, 0, 6 * 6 * 5 * 4, 0, 5 * 6 * 6 * 2]
    assert whole.grad_weight_macs == 6 * 6 * 4 * 3 * 9 + 6 * 6 * 5 * 4 + 180 * 2
    assert whole.bias_grad_adds == 4 * 36 + 5 * 36 + 2
    assert_stack(result, "meta")


def test_half_precision_batchnorm_statistics_follow_the_device():
    result = analyzed("conv out=4 kernel=3; bn; dropout p=0.5", (3, 8, 8), batch=N, dtype="bfloat16")
    on = {device: stack_training(result, device)[0] for device in ("cpu", "meta", "cuda")}
    half = N * C * H * H * 2
    assert on["cpu"][1].saved_bytes == half + 2 * C * 2  # the input's dtype
    assert on["meta"][1].saved_bytes == on["cuda"][1].saved_bytes == half + 2 * C * 4  # float32
    assert on["cpu"][2].saved_bytes == on["meta"][2].saved_bytes == half  # a mask in bfloat16
    assert on["cuda"][2].saved_bytes == N * C * H * H  # the fused kernel's bool mask
    for device in ("cpu", "meta"):
        assert_stack(result, device)


def assert_stack(result: StackResult, device: str) -> None:
    layers, whole = stack_training(result, device)
    model = build_stack(result, device)
    x = torch.zeros(result.input_shape, device=device, dtype=getattr(torch, result.dtype))
    per_layer, measured = measure_stack_training(model, x, [row.name for row in result.layers])
    for row, analytic, got in zip(result.layers, layers, per_layer):
        groups = row.conv.spec.groups if row.conv else None
        assert not failures(training_checks(analytic, got, groups)), row.name
    assert not failures(training_checks(whole, measured))
    assert whole == total(layers)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(stack=stacks(max_layers=5), batch=st.integers(2, 3), dtype=st.sampled_from(list(DTYPE_BYTES)))
def test_random_stacks_on_meta(stack: tuple[str, tuple[int, ...]], batch: int, dtype: str):
    assert_stack(analyzed(stack[0], stack[1], batch, dtype), "meta")


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(stack=stacks(dims=(0, 1, 2), max_layers=4), dtype=st.sampled_from(list(DTYPE_BYTES)))
def test_random_stacks_on_cpu(stack: tuple[str, tuple[int, ...]], dtype: str):
    assert_stack(analyzed(stack[0], stack[1], 2, dtype), "cpu")


# ---------------------------------------------------------------------------------------------------
# 4. compare's variants, and a model measured alone.


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(kwargs=compare_settings(), input_grad=st.booleans(), device=st.sampled_from(["meta", "meta", "cpu"]))
def test_variants(kwargs: dict, input_grad: bool, device: str):
    base = kwargs.pop("base")
    assume(device == "meta" or base.dim < 3)  # real 3-D backwards are slow on a small cpu
    for variant in build_variants(base, **kwargs):
        if variant.skipped:
            continue
        result = analyze_variant(variant)
        # batchnorm in training mode needs more than one value per channel
        assume(not variant.bn or all(prod(s.output_shape) > s.output_shape[1] for s in result.stages))
        x = torch.zeros(result.input_shape, device=device)
        measured = measure_training(build_variant(variant, device), x, input_grad)
        analytic = variant_training(result, input_grad, device)
        assert not failures(training_checks(analytic, measured)), variant.name


def test_model_training_takes_off_the_grouped_overcount():
    result = analyzed(
        "conv out=8 kernel=3 groups=4; bn; relu; depthwise kernel=3 multiplier=2; flatten", (8, 7, 7), batch=2
    )
    _, whole = stack_training(result)
    measured = model_training(
        build_stack(result, "meta"), (torch.zeros(result.input_shape, device="meta"),), {}
    )
    assert measured["backward_flops"] == whole.backward_flops
    assert measured["witness_backward_flops"] - measured["backward_flops"] == 2 * (
        whole.torch_grad_weight_macs - whole.grad_weight_macs
    )
    for key in ("weight_bytes", "grad_bytes", "sgd_state_bytes", "adam_state_bytes", "saved_bytes"):
        assert measured[key] == getattr(whole, key), key


def test_measuring_gives_the_module_back_as_it_was():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()).eval()
    model[0].bias.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model_training(model, (torch.randn(2, 3, 6, 6),), {})
    measure_training(model, torch.randn(2, 3, 6, 6), True)
    assert not model.training and not model[1].training
    assert not model[0].bias.requires_grad and model[0].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # weights, running stats


# ---------------------------------------------------------------------------------------------------
# 5. The record itself.


def test_training_record():
    spec = ConvSpec(6, 10, 3, groups=2, input_size=32)
    one = conv_training(analyze(spec))
    two = total([one, one])
    assert two.backward_macs == 2 * one.backward_macs and two.saved_bytes == 2 * one.saved_bytes
    data = one.to_dict()
    assert set(TRAINING_FIGURES) <= set(data)
    assert data["backward_flops"] == 2 * (data["grad_input_macs"] + data["grad_weight_macs"])
    assert data["sgd_total_bytes"] == one.weight_bytes * 3 + one.saved_bytes
    assert conv_training(analyze(spec), input_grad=False).grad_input_macs == 0


def test_core_training_never_imports_torch():
    probe = "import sys, convcalc.core.backward; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

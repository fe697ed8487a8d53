"""The layer-kind registry: every kind, through every part that reads it, against torch.

One example layer per kind (the table must name every kind the registry holds, so a new kind without an
example fails here): its spec parses, its analytic figures are what the module torch builds from its
recipe computes (shapes, parameters, buffers, FLOPs), its training step's figures are what torch's own
backward gives, and a model holding that module reads it back as the same layer.
"""

from __future__ import annotations

import pytest
import torch
from strategies import analyzed  # tests/strategies.py
from test_stack_torch import assert_row, run_counted  # beside this file

from convcalc import model_report, stack_report
from convcalc.core.kinds import ACTIVATIONS, KINDS
from convcalc.core.modules import layer_from_module
from convcalc.core.stack_analysis import analyze_stack
from convcalc.measure.build import build_stack

# kind -> (an inline layer of that kind, the input (C, *spatial) it stands on)
EXAMPLES = {
    "conv": ("conv out=4 kernel=3 stride=2 padding=1 groups=2", (2, 9, 9)),
    "depthwise": ("depthwise multiplier=2 kernel=3 padding=1", (3, 8, 8)),
    "pointwise": ("pointwise out=5 stride=2", (3, 8, 8)),
    "dwsep": ("dwsep out=6 kernel=3 stride=2", (3, 9, 9)),
    "batchnorm": ("bn", (3, 6, 6)),
    "leaky": ("leaky negative_slope=0.2", (2, 5)),
    **{name: (name, (2, 5, 5)) for name in ACTIVATIONS if name != "leaky"},
    "dropout": ("dropout p=0.25", (2, 5, 5)),
    "maxpool": ("maxpool kernel=3 stride=2 padding=1 dilation=2", (2, 9, 9)),
    "avgpool": ("avgpool kernel=2 ceil_mode=true", (2, 7, 7)),
    "adaptive_avgpool": ("adaptive_avgpool out=2", (2, 6, 6)),
    "upsample": ("upsample scale=2 mode=bilinear align_corners=true", (2, 4, 5)),
    "flatten": ("flatten", (2, 3, 3)),
    "linear": ("linear out=3", (7,)),
}


def test_every_kind_has_an_example():
    assert sorted(EXAMPLES) == sorted(KINDS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_kind_is_what_torch_builds_and_counts(kind):
    text, shape = EXAMPLES[kind]
    result = analyzed(text, shape, batch=2)
    model, seen, counts, total = run_counted(result)
    modules = dict(model.named_modules())
    for row in result.layers:
        flops = sum(counts.get(f"Sequential.{row.name}", {}).values())
        assert_row(row, modules[row.name], seen[row.name], flops)
    assert total == result.flops


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_kinds_training_step_is_torchs(kind):
    text, shape = EXAMPLES[kind]
    spec = f"conv out={shape[0]} kernel=1; {text}" if len(shape) > 1 else text  # its input needs a gradient
    report = stack_report(spec, input_size=shape, batch=2, device="cpu", backward=True)
    assert report.ok, [c for c in report.verification.checks if c.ok is False]
    assert report.verification.training_step.startswith("training step run on cpu")


@pytest.mark.parametrize("kind", sorted(k for k in EXAMPLES if KINDS[k].torch_classes or k == "dwsep"))
def test_a_model_reads_each_kind_back_with_the_same_figures(kind):
    """The module built from a kind's recipe, found in a model, is read as a layer with the same figures
    (a depthwise or pointwise row's module is a Conv, read as conv)."""
    text, shape = EXAMPLES[kind]
    result = analyzed(text, shape)
    modules = dict(build_stack(result, "meta").named_modules())
    for row in result.layers:
        layer = layer_from_module(modules[row.name])
        assert layer is not None
        assert layer["kind"] == ("conv" if row.conv else row.kind)
        (read,) = analyze_stack([{"name": "read", **layer}], row.input_shape[1:], row.input_shape[0]).layers
        assert (read.output_shape, read.params, read.macs, read.bias_adds) == (
            row.output_shape,
            row.params,
            row.macs,
            row.bias_adds,
        )
        if row is result.layers[0]:  # a later row's field grows from the rows before it
            assert (read.receptive_field, read.jump) == (row.receptive_field, row.jump)


def test_a_traced_model_counts_upsample_and_keeps_the_field_up_to_it():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.Upsample(scale_factor=2, mode="bilinear"),
        torch.nn.Conv2d(4, 2, 3),
    )
    report = model_report(model.to("meta"), input_size="3x8x8")
    rows = {row.name: row for row in report.layers}
    assert report.ok
    assert rows["1"].analytic is not None and rows["1"].measured["macs"] == rows["1"].analytic["macs"] == 0
    assert rows["1"].receptive_field == (3 + (2 - 1) * 1,) * 2  # bilinear reads two neighbours
    # off a uniform grid: output 2m reads upsampled m - 1..m + 1 of the first conv's, 2m + 1 reads m..m + 2
    assert rows["1"].jump is None and rows["2"].receptive_field == (3 + (3 - 1) * 1,) * 2
    assert rows["2"].jump is None
    assert rows["2"].measured["output_shape"] == (1, 2, 14, 14)

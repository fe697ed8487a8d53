"""Receptive fields through what modern networks are made of, each measured by gradients on the cpu.

The stand-ins of tests/modern_nets.py (timm's efficientnet_b0, mobilenetv3_large_100, convnext_tiny and
regnety_040, a segmentation UNet, torchvision's r3d_18) each reach their last feature map with a receptive
field, and it is the measured one: the span of inputs with a non-zero gradient from one output element,
widest over a whole period of outputs where they are not evenly spaced (after a strided transposed
convolution), with their first inputs a jump apart where they are. Measured under the convention the
figures state (tests/gradients.py: statistics over the map constants, as BatchNorm's in eval mode).
"""

from __future__ import annotations

import modern_nets  # tests/modern_nets.py
import pytest
import torch
from gradients import field_convention, gradient_span, moved  # tests/gradients.py
from torch import nn

from convcalc.api import model_report

NAMES = sorted(modern_nets.INPUTS)
PERIOD = 8  # outputs per dimension measured where they are unevenly spaced: more than any stand-in's period


def prepared(name: str) -> nn.Module:
    """In float64, parameters small positive random values (no two channels alike, so that a LayerNorm
    over channels does not cancel), normalisations' biases large, so no ReLU after one is ever off."""
    model = getattr(modern_nets, name)().double().eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            for key, p in module.named_parameters(recurse=False):
                p.copy_(0.005 + 0.01 * torch.rand(p.shape, generator=generator, dtype=p.dtype))
                if key == "bias" and isinstance(module, nn.GroupNorm | nn.LayerNorm | nn.BatchNorm3d):
                    p.fill_(1e3)
    return model


def spans_along(model: nn.Module, shape: tuple[int, ...], at: tuple[int, ...], dim: int, count: int):
    """(first, last) input positions of `count` neighbouring outputs along dim."""
    with field_convention():
        return [gradient_span(model, model, shape, moved(at, dim, q)) for q in range(count)]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_last_feature_map_has_the_measured_receptive_field(name):
    model, shape = prepared(name), modern_nets.INPUTS[name]
    report = model_report(model, input_size=shape)
    field, jump = report.layers[0].receptive_field, report.layers[0].jump
    assert field is not None, report.notes
    out = report.layers[0].measured["output_shape"][2:]
    count = PERIOD if jump is None else 2
    at = tuple(n // 2 - count // 2 for n in out)
    for dim in range(len(out)):
        spans = spans_along(model, shape, at, dim, count)
        widths = [last[dim] - first[dim] + 1 for first, last in spans]
        if jump is None:  # unevenly spaced outputs: the widest over a whole period of them
            assert max(widths) == field[dim], (name, dim, widths)
        else:
            assert widths == [field[dim]] * 2, (name, dim, widths)
            assert spans[1][0][dim] - spans[0][0][dim] == jump[dim], (name, dim)
    assert report.total["receptive_field"] == field


def test_every_stand_in_keeps_its_field_and_says_why_none_is_lost():
    for name in NAMES:
        report = model_report(getattr(modern_nets, name)(), input_size=modern_nets.INPUTS[name])
        called = [r for r in report.layers if r.calls and r.measured.get("output_shape")]
        assert all(r.receptive_field is not None for r in called), name
        assert not any("receptive field `-`" in note for note in report.notes), name


def notes_of(model: nn.Module, shape: tuple[int, ...]) -> tuple[list[str], dict]:
    report = model_report(model, input_size=shape)
    return list(report.notes), {r.name: r for r in report.layers}


def test_a_lost_field_names_the_module_and_why():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.PixelShuffle(2), nn.Conv2d(2, 2, 3))
    notes, rows = notes_of(model, (3, 16, 16))
    assert rows["0"].receptive_field == (3, 3)
    assert rows["1"].receptive_field is None and rows["2"].receptive_field is None
    assert (
        "receptive field `-` from `1` (PixelShuffle) on: aten.pixel_shuffle has no receptive-field rule"
        in notes
    )


def test_unevenly_spaced_outputs_say_why_the_jump_is_missing():
    notes, rows = notes_of(modern_nets.unet(), modern_nets.INPUTS["unet"])
    assert rows["up2"].receptive_field is not None and rows["up2"].jump is None
    assert rows["down3"].jump == (4, 4)  # two max pools of 2 before it
    assert any(note.startswith("jump `-` from `up2` (ConvTranspose2d) on:") for note in notes)
    assert any("GroupNorm" in note and "`down1.1` (GroupNorm)" in note for note in notes)


def test_squeeze_excite_gates_are_constants_and_said_so():
    notes, _ = notes_of(modern_nets.efficientnet_b0(), modern_nets.INPUTS["efficientnet_b0"])
    assert any("squeeze-excite" in note and "`3.se` (SqueezeExcite)" in note for note in notes)


def test_without_a_spatial_input_the_note_says_so():
    notes, rows = notes_of(nn.Sequential(nn.Linear(16, 4)), (16,))
    assert rows[""].receptive_field is None
    assert any("no input is a spatial map" in note for note in notes)


def test_statistics_over_the_map_would_otherwise_reach_the_whole_input():
    """Why the convention: without it, one output of a GroupNorm net depends on every input position."""
    model, shape = prepared("unet"), modern_nets.INPUTS["unet"]
    x = torch.ones((1, *shape), dtype=torch.float64, requires_grad=True)
    model(x)[0, :, 10, 10].sum().backward()
    assert bool((x.grad[0].abs().sum(0) != 0).all())


def test_a_tensors_field_goes_with_it_and_an_op_in_place_keeps_the_same_field():
    """A forward of 100,000 modules must not hold a field per intermediate tensor it made."""
    from convcalc.core.receptive import INPUT
    from convcalc.measure.field_rules import field_mode
    from convcalc.measure.fields import Field, Fields

    fields = Fields([])
    x = torch.zeros(1, 2, 8, 8)
    fields.set(x, Field((INPUT, INPUT), ((2, 1, 8), (3, 1, 8))))
    with field_mode(fields):
        y = x
        for _ in range(50):
            y = torch.relu(y)
    assert fields.get(y) is fields.get(x)  # read in place: no new field made
    assert len(fields._states) == 2  # x and the last y: the 49 between went with their tensors
    del y
    assert len(fields._states) == 1

"""The light FLOP witness counts what FlopCounterMode counts, and falls back to it, saying so."""

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from convcalc import ConvSpec, analyze
from convcalc.measure import witness
from convcalc.measure.build import build_layer
from convcalc.measure.verify import verify

LAYERS = [
    ConvSpec(6, 10, 3, groups=2, bias=False, input_size=32),
    ConvSpec(4, 6, 3, stride=2, transposed=True, output_padding=1, input_size=7),
    ConvSpec(2, 4, (3, 1, 2), dilation=2, padding="same", padding_mode="circular", input_size=9, batch=3),
    ConvSpec(3, 3, 5, dim=1, groups=3, input_size=40),
]


def full_flops(module, x) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("spec", LAYERS, ids=lambda s: s.kind)
def test_light_witness_equals_flop_counter_mode(spec, device):
    layer = build_layer(spec, device)
    x = torch.zeros(spec.input_shape, device=device)
    with torch.no_grad():
        counted = witness.count_flops(lambda: layer(x))
    assert counted.witness == witness.LIGHT and counted.note == ""
    assert counted.flops == full_flops(layer, x) == analyze(spec).flops


def test_ops_without_a_formula_decompose_as_in_flop_counter_mode():
    """linear is not in the registry; both witnesses count the addmm it becomes."""
    model = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(3 * 6, 5))
    x = torch.zeros(4, 2, 8)
    with torch.no_grad():
        counted = witness.count_flops(lambda: model(x))
    assert counted.flops == full_flops(model, x) == 2 * (4 * 6 * 3 * 2 * 3 + 4 * 18 * 5)


def test_fallback_to_flop_counter_mode_is_counted_and_said(broken_light_witness):
    v = verify(analyze(ConvSpec(6, 10, 3, groups=2, bias=False, input_size=16)))
    assert v.ok and v.flop_witness == witness.FULL
    assert "light FLOP witness unavailable (AttributeError" in v.reason
    assert {c.key: c.note for c in v.checks}["flops"] == "FlopCounterMode"


def test_fallback_shows_in_the_cli(run, broken_light_witness):
    result = run("conv 6 10 3 -g 2 --no-bias -i 16 -f json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["verification"]["flop_witness"] == "FlopCounterMode"
    assert "counted by FlopCounterMode" in data["verification"]["reason"]


def test_a_witness_that_miscounts_is_not_used(monkeypatch):
    """The self-test catches a registry whose formulas no longer count a 1x1 conv as 2 FLOPs."""
    build = witness._build_light_mode

    def doubled():
        mode = build()
        dispatch = mode.__torch_dispatch__

        def twice(self, func, types, args=(), kwargs=None):
            before = self.flops
            out = dispatch(self, func, types, args, kwargs)
            self.flops += self.flops - before
            return out

        mode.__torch_dispatch__ = twice
        return mode

    monkeypatch.setattr(witness, "_light", None)
    monkeypatch.setattr(witness, "_build_light_mode", doubled)
    assert "counted 4 FLOPs, not 2" in witness.light_mode()

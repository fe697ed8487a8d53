"""nn.LSTM, nn.GRU and nn.RNN count the same on the cpu as on meta, through the matmuls torch's formulas
count: equal to the standard count from their sizes, and to FlopCounterMode's on meta, where torch runs
them step by step. On the cpu torch runs oneDNN's fused LSTM kernel, which no formula counts, unless
convcalc steers it off (witness.recurrent_by_matmuls)."""

from __future__ import annotations

import pytest
import recurrent  # tests/recurrent.py
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convcalc.api import model_report

BATCH = 3
MODELS = ["lstm", "gru", "rnn", "deep_lstm", "packed_full", "packed_ragged"]
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def standard_macs(layer: nn.RNNBase, tokens: int) -> int:
    """Per token, in each layer and direction, each gate's hidden_size outputs sum the layer's input and
    the previous hidden state, each element times a weight (biases aside, as for Linear)."""
    directions = 2 if layer.bidirectional else 1
    per_token = 0
    for index in range(layer.num_layers):
        inputs = layer.input_size if index == 0 else directions * layer.hidden_size  # both directions'
        per_token += directions * GATES[layer.mode] * layer.hidden_size * (inputs + layer.hidden_size)
    return tokens * per_token


def expected_macs(name: str, model: nn.Module) -> int:
    """The recurrent layer's standard count over the tokens it reads, plus the linear head's."""
    steps = recurrent.INPUT[0]
    ragged = name == "packed_ragged"  # sequences of steps, steps - 1, ... (at least 1)
    tokens = sum(max(steps - i, 1) for i in range(BATCH)) if ragged else BATCH * steps
    layer = next(m for m in model.modules() if isinstance(m, nn.RNNBase))
    heads = sum(BATCH * m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    return standard_macs(layer, tokens) + heads


def build(name: str, device: str) -> nn.Module:
    with torch.device(device):
        return getattr(recurrent, name)().eval()


def meta_flop_counter_macs(name: str) -> int:
    """FlopCounterMode's count on meta, where torch has no fused kernel and runs the matmuls."""
    x = torch.zeros(BATCH, *recurrent.INPUT, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        build(name, "meta")(x)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", MODELS)
def test_cpu_and_meta_count_every_matmul(name):
    expected = expected_macs(name, build(name, "meta"))
    assert meta_flop_counter_macs(name) == expected
    shape = "x".join(map(str, recurrent.INPUT))
    for device in ("cpu", "meta"):
        report = model_report(build(name, device), input_size=shape, batch=BATCH)
        assert report.verification.device.startswith(device)
        assert (report.total["macs"], report.total["flops"]) == (expected, 2 * expected), device
        assert report.uncounted == () and report.figures()["uncounted"] == 0


@pytest.mark.parametrize("name", ["lstm", "deep_lstm", "packed_full"])
def test_the_cpu_alone_counts_a_fused_lstm_as_nothing(name):
    """Why the test above can fail: torch's own counter on the cpu misses oneDNN's LSTM kernel."""
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN: its cpu LSTM runs the matmuls")
    x = torch.zeros(BATCH, *recurrent.INPUT)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        build(name, "cpu")(x)
    assert counter.get_total_flops() // 2 < expected_macs(name, build(name, "meta"))


def test_the_fused_kernels_are_back_after_the_trace():
    model_report(build("lstm", "cpu"), input_size="12x6")
    assert torch.backends.mkldnn.enabled and torch.backends.cudnn.enabled


def test_backward_counts_the_same_on_cpu_and_meta():
    """A training step's backward runs on the matmuls the forward ran, so it is counted on the cpu too."""
    figures = [
        model_report(build("deep_lstm", device), input_size="12x6", batch=BATCH, backward=True).backward
        for device in ("cpu", "meta")
    ]
    assert figures[0]["backward_macs"] == figures[1]["backward_macs"] > 0

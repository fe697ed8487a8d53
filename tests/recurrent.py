"""Small recurrent models for `convcalc model`, importable as `tests/recurrent.py:NAME`, and models running
an op torch's flop counter has no formula for. Each takes one input per sample, INPUT: 12 steps of 6
features (a batch-first model reads it as (N, 12, 6), a sequence-first one as 12-long batches of N).
"""

from __future__ import annotations

import torch
from torch import nn

INPUT = (12, 6)


def lstm() -> nn.Module:
    return nn.LSTM(6, 10, batch_first=True)


def gru() -> nn.Module:
    """Sequence-first: (N, 12, 6) is N steps of batch 12."""
    return nn.GRU(6, 10)


def rnn() -> nn.Module:
    return nn.RNN(6, 10, nonlinearity="relu", batch_first=True)


def deep_lstm() -> nn.Module:
    """Two layers, both directions: the second layer reads both directions' outputs."""
    return nn.LSTM(6, 10, num_layers=2, batch_first=True, bidirectional=True)


class Packed(nn.Module):
    """An LSTM over a packed batch, as a model with padded sequences runs one, then a linear head.

    full: every sequence as long as the input (oneDNN runs such a batch on the cpu); else each one step
    shorter than the one before it (at least one step)."""

    def __init__(self, full: bool) -> None:
        super().__init__()
        self.full = full
        self.lstm = nn.LSTM(6, 10, batch_first=True)
        self.head = nn.Linear(10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, steps = x.shape[:2]
        lengths = torch.full((n,), steps) if self.full else (steps - torch.arange(n)).clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
        _, (h, _) = self.lstm(packed)
        return self.head(h[-1])


def packed_full() -> nn.Module:
    return Packed(full=True)


def packed_ragged() -> nn.Module:
    return Packed(full=False)


class Pairs(nn.Module):
    """A linear layer, then nn.Bilinear of its output with itself: the bilinear form runs as
    aten._trilinear, which torch's flop counter has no formula for."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 5)
        self.pair = nn.Bilinear(5, 5, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x)
        return self.pair(y, y)


def pairs() -> nn.Module:
    return Pairs()

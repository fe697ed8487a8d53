"""Recurrent and bilinear models for docs/networks.md: a tagger (a bidirectional two-layer LSTM and a
linear head per step) and a scorer whose nn.Bilinear runs an op torch's flop counter has no formula for."""

from __future__ import annotations

import torch
from torch import nn


class Tagger(nn.Module):
    """Tags each of a sequence's steps: (N, steps, 64) features in, (N, steps, 10) scores out."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(64, 128, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0])


class Scorer(nn.Module):
    """Scores a pair of 64-feature vectors through a bilinear form: x1^T W x2 per output."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(64, 32)
        self.pair = nn.Bilinear(32, 32, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x)
        return self.pair(y, y)


def tagger() -> nn.Module:
    return Tagger()


def scorer() -> nn.Module:
    return Scorer()

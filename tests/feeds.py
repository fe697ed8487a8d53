"""Small torch models whose forward takes more than one float tensor, for `convcalc model -i/--arg/--inputs`:
module-level callables, importable as `tests/feeds.py:NAME`. Each is plain torch, so that what torch counts
for it can be computed here independently."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class TwoInputs(nn.Module):
    """An image and a one-channel map, added after a convolution each; scale a float keyword."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, 8, 3, padding=1)
        self.depth = nn.Conv2d(1, 8, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        if not isinstance(scale, float):
            raise TypeError(f"scale must be a float, got {type(scale).__name__}")
        return self.image(x) + self.depth(y) * scale


class TokenIds(nn.Module):
    """Integer ids through an embedding, an optional bool mask, and a dict of outputs, nested."""

    def __init__(self, vocabulary: int = 100, width: int = 16, classes: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocabulary, width)
        self.head = nn.Linear(width, classes)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, use_cache: bool = True
    ) -> dict:
        if input_ids.dtype != torch.int64:
            raise TypeError(f"input_ids must be int64, got {input_ids.dtype}")
        hidden = self.embed(input_ids)
        if attention_mask is not None:
            hidden = hidden * attention_mask[..., None]
        logits = self.head(hidden)
        return {"logits": logits, "hidden": (hidden, hidden.mean(1)), "cache": None if use_cache else 0}


@dataclass
class Output:
    """A library-style output object: a dataclass of tensors."""

    features: torch.Tensor
    pooled: torch.Tensor


class DataclassOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3)

    def forward(self, x: torch.Tensor) -> Output:
        features = self.conv(x)
        return Output(features, features.mean(-1))


def two_inputs() -> nn.Module:
    return TwoInputs()


def token_ids() -> nn.Module:
    return TokenIds()


def dataclass_out() -> nn.Module:
    return DataclassOut()


def make_two(batch: int = 2) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    """Inputs for two_inputs as (args, kwargs), made wherever torch.device puts them."""
    return (torch.zeros(batch, 3, 8, 8),), {"y": torch.zeros(batch, 1, 8, 8)}


def make_ids() -> dict[str, torch.Tensor]:
    return {"input_ids": torch.zeros(3, 10, dtype=torch.int64)}


def make_on_cpu() -> torch.Tensor:
    """A tensor made on the cpu on purpose, whatever the device: convcalc moves it to the model's."""
    return torch.zeros(1, 4, 12, device="cpu")


def make_raises() -> torch.Tensor:
    raise ValueError("no data here")


def make_nothing() -> int:
    return 7

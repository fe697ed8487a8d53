"""batchnorm, the activations and dropout: element-wise, with no MACs (torch's flop counter counts none)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import formulas
from ..spec import Size
from .base import POSITIVE, PROB, REAL, Cost, Kind, Recipe, Row, Saved, Step, device_type, layer_dim


@dataclass(frozen=True)
class BatchNorm(Kind):
    """Weight and bias per channel; buffers running_mean, running_var and num_batches_tracked. Saves its
    input and save_mean, save_invstd (C each, in the input's dtype; float32 for half precision on meta
    and cuda). eps and momentum are accepted for torch; they change no figure."""

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        channels = shape[1]
        return Step(shape, params=2 * channels, buffers=2 * channels + 1)

    def saves(self, row: Row, index: int, x: Hashable, size: int, device: str) -> Saved:
        stats = 2 * row.input_shape[1] * _stat_bytes(size, device)
        return ((x, formulas.tensor_bytes(row.input_shape, size)), ((index, "stats"), stats))

    def backward(self, row: Row, index: int, x: Hashable, grad: bool, size: int, device: str) -> Cost:
        return Cost(
            params=row.params, tensors=2, saved=self.saves(row, index, x, size, device)
        )  # weight, bias

    def module(self, row: Row) -> Recipe:
        # BatchNorm1d takes (N, C) and (N, C, L); 2d and 3d one and two more spatial dimensions.
        options = {key: row.settings[key] for key in ("eps", "momentum") if key in row.settings}
        return Recipe(f"BatchNorm{max(layer_dim(row), 1)}d", (row.input_shape[1],), options, True)

    def from_module(self, module: Any) -> dict[str, Any] | None:
        return {"kind": self.name} if module.affine and module.track_running_stats else None


def _stat_bytes(element_bytes: int, device: str) -> int:
    """batchnorm's saved statistics: the input's dtype, float32 for half precision on meta and cuda."""
    return max(element_bytes, 4) if device_type(device) in ("meta", "cuda") else element_bytes


@dataclass(frozen=True)
class Activation(Kind):
    """Element-wise; its grad needs its output (relu, sigmoid, tanh), its input (the others), or nothing."""

    torch_class: str = ""
    keeps: str = "input"  # "input", "output" or "" (identity: the input itself)

    def aliases(self, settings: Mapping[str, Any]) -> bool:
        return not self.keeps

    def saves(self, row: Row, index: int, x: Hashable, size: int, device: str) -> Saved:
        if self.keeps == "output":
            return ((index, formulas.tensor_bytes(row.output_shape, size)),)
        return ((x, formulas.tensor_bytes(row.input_shape, size)),) if self.keeps else ()

    def module(self, row: Row) -> Recipe:
        slope = row.settings.get("negative_slope")
        return Recipe(self.torch_class, kwargs={} if slope is None else {"negative_slope": slope})


def _activation(name: str, torch_class: str, keeps: str = "input", **fields: Any) -> Activation:
    return Activation(name, fields, torch_classes=(torch_class,), torch_class=torch_class, keeps=keeps)


_DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout")


@dataclass(frozen=True)
class Dropout(Kind):
    """Element-wise. Keeps a mask of its input's shape in its dtype (a bool per element on cuda, whose
    fused kernel keeps one), one scalar at p = 1, nothing at p = 0 (the input itself is returned)."""

    def aliases(self, settings: Mapping[str, Any]) -> bool:
        return settings["p"] == 0

    def saves(self, row: Row, index: int, x: Hashable, size: int, device: str) -> Saved:
        p = row.settings["p"]
        if p == 1:  # input * a zero scalar
            return (((index, "mask"), size),)
        if p > 0:
            mask = 1 if device_type(device) == "cuda" else size
            return (((index, "mask"), formulas.tensor_bytes(row.input_shape, mask)),)
        return ()

    def module(self, row: Row) -> Recipe:
        return Recipe("Dropout", (row.settings["p"],))


ACTIVATIONS = (
    _activation("relu", "ReLU", "output"),
    _activation("leaky", "LeakyReLU", negative_slope=REAL),
    _activation("gelu", "GELU"),
    _activation("silu", "SiLU"),
    _activation("sigmoid", "Sigmoid", "output"),
    _activation("tanh", "Tanh", "output"),
    _activation("identity", "Identity", ""),
    _activation("relu6", "ReLU6"),
)
ENTRIES = (
    BatchNorm(
        "batchnorm",
        {"eps": POSITIVE, "momentum": PROB},
        torch_classes=("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"),
        prefix="bn",
    ),
    *ACTIVATIONS,
    Dropout("dropout", {"p": PROB}, (), {"p": 0.5}, _DROPOUTS),
)

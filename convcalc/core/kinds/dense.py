"""flatten and linear: from a map to features, and a dense layer over them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from .. import formulas
from ..errors import InvalidSpecError
from ..spec import Size
from .base import BOOL, COUNT, Cost, Kind, Recipe, Row, Step, shape_text, spatial


@dataclass(frozen=True)
class Flatten(Kind):
    """A window over the whole remaining map (w = step = its size): every feature sees every position, as
    a fully connected layer seen as a convolution whose kernel covers the map (Araujo et al.). A view."""

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        dims = spatial(shape, "flatten", needed=False)
        return Step((shape[0], prod(shape[1:])), window=dims or None, step=dims)

    def aliases(self, settings: Mapping[str, Any]) -> bool:
        return True

    def module(self, row: Row) -> Recipe:
        return Recipe("Flatten")

    def from_module(self, module: Any) -> dict[str, Any] | None:
        return {"kind": self.name} if (module.start_dim, module.end_dim) == (1, -1) else None


@dataclass(frozen=True)
class Linear(Kind):
    """A stack's linear takes a flat (N, features) input; a model's nn.Linear (its `in` given) any
    (..., features) input, as torch applies it to the last dimension. MACs N x in x out, bias left out;
    its backward: grad input and grad weight, N x in x out each (two mm ops), bias grad N x out adds."""

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        if len(shape) != 2 and "in" not in layer:
            raise InvalidSpecError(
                "input",
                f"linear needs a flat (N, features) input; got {shape_text(shape)}: add flatten before it",
            )
        rows, features, out = prod(shape[:-1]), shape[-1], layer["out"]
        if features != layer.get("in", features):
            raise InvalidSpecError("in_features", f"{layer['in']} but the input has {features} features")
        return Step(
            (*shape[:-1], out),
            params=features * out + formulas.bias_params(out, layer["bias"]),  # weight (out, in) and bias
            macs=formulas.linear_macs(rows, features, out),
            bias_adds=rows * out if layer["bias"] else 0,
        )

    def backward(self, row: Row, index: int, x: Hashable, grad: bool, size: int, device: str) -> Cost:
        samples, features, out = prod(row.input_shape[:-1]), row.input_shape[-1], row.output_shape[-1]
        # grad input: grad_out (N, out) @ W (out, in); grad weight: grad_out^T (out, N) @ x (N, in)
        macs = samples * features * out
        bias = bool(row.settings.get("bias", True))
        return Cost(
            grad_input_macs=macs if grad else 0,
            grad_weight_macs=macs,
            torch_grad_weight_macs=macs,
            bias_grad_adds=samples * out if bias else 0,  # grad_out summed over the N rows
            params=row.params,
            tensors=1 + bias,
            saved=((x, formulas.tensor_bytes(row.input_shape, size)),),
        )

    def module(self, row: Row) -> Recipe:  # analyze_stack has checked its input is (N, features)
        return Recipe(
            "Linear", (row.input_shape[-1], row.settings["out"]), {"bias": row.settings["bias"]}, True
        )

    def from_module(self, module: Any) -> dict[str, Any] | None:
        return {
            "kind": self.name,
            "in": module.in_features,
            "out": module.out_features,
            "bias": module.bias is not None,
        }


ENTRIES = (
    Flatten("flatten", torch_classes=("Flatten",)),
    Linear("linear", {"out": COUNT, "bias": BOOL}, ("out",), {"bias": True}, ("Linear",)),
)

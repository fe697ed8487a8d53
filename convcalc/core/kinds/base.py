"""What every layer kind is made of: the field types a spec's values are read as, the Kind base class,
the Step of the receptive-field recurrence, and the records a kind's backward and torch builder fill in.
Standard library only."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import InvalidSpecError
from ..results import ConvResult
from ..spec import PADDING_MODES, Size

# Field types: how a spec's value is read and the rule it must keep (stack_grammar's readers).
COUNT, SIZE, SIZE0, PADDING, BOOL, PROB, POSITIVE, REAL, SCALE, NAME = (
    "count",
    "size",
    "size0",
    "padding",
    "bool",
    "prob",
    "positive",
    "real",
    "scale",
    "name",
)


@dataclass(frozen=True)
class Choice:
    """A field type: one of these words."""

    words: tuple[str, ...]


MODE = Choice(PADDING_MODES)
Saved = tuple[tuple[Hashable, int], ...]  # (tensor identity, bytes) of what a layer keeps for backward


@dataclass(frozen=True, slots=True)
class Step:
    """What one layer does: its output, counts, and its window and step for the receptive field."""

    output_shape: Size
    params: int = 0
    buffers: int = 0
    macs: int = 0
    bias_adds: int = 0
    window: Size | None = None  # None: the layer leaves the receptive field and jump as they are
    step: Size | None = None  # None with a window: outputs not on a uniform grid (jump not modelled)
    conv: ConvResult | None = None
    modelled: bool = True  # False: convcalc does not model the receptive field through this layer


def receptive(field: Size | None, jump: Size | None, step: Step) -> tuple[Size | None, Size | None]:
    """r_out = r_in + (w - 1) * j_in and j_out = j_in * s, per dimension (Araujo et al., Distill 2019)."""
    if field is None or jump is None or not step.modelled:  # off a uniform grid, or not modelled
        return None, None
    if step.window is None:
        return field, jump
    field = tuple(r + (w - 1) * j for r, w, j in zip(field, step.window, jump))
    return field, None if step.step is None else tuple(j * s for j, s in zip(jump, step.step))


class Row(NamedTuple):
    """What a layer's backward rule and torch builder read: a stack's row, or a compare variant's module."""

    kind: str
    settings: Mapping[str, Any]
    input_shape: Size
    output_shape: Size
    params: int
    conv: ConvResult | None = None
    shared: bool = False  # a compare variant's shared-kernel depthwise conv


class Cost(NamedTuple):
    """A layer's training step before its saved tensors are deduplicated against earlier layers'."""

    grad_input_macs: int = 0
    grad_weight_macs: int = 0
    torch_grad_weight_macs: int = 0  # as torch's formula counts it (groups x): verification only
    bias_grad_adds: int = 0
    params: int = 0  # trainable
    tensors: int = 0  # parameter tensors (one Adam step each)
    saved: Saved = ()


class Recipe(NamedTuple):
    """A torch module to build: torch.nn.<cls>(*args, **kwargs), with device and dtype when typed."""

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = {}
    typed: bool = False  # takes device= and dtype= (it has parameters or buffers)


@dataclass(frozen=True)
class Kind:
    """A layer kind; subclasses give its figures. The defaults suit a layer without parameters that
    changes nothing the recurrence sees (an activation)."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    torch_classes: tuple[str, ...] = ()
    prefix: str = ""  # of default names (bn1, bn2, ...): the kind's name unless given

    def expand(self, layer: dict[str, Any]) -> list[dict[str, Any]]:
        """The layers it stands for in a stack: itself, or more (dwsep's depthwise and pointwise)."""
        return [layer]

    def complete(self, layer: dict[str, Any]) -> dict[str, Any]:
        """The layer with what its fields imply filled in; raises InvalidSpecError for fields that clash."""
        return layer

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        return Step(shape)

    def aliases(self, settings: Mapping[str, Any]) -> bool:
        """Whether its output is its input, or a view of it (nothing new to save)."""
        return False

    def saves(self, row: Row, index: int, x: Hashable, size: int, device: str) -> Saved:
        """The tensors it keeps for backward: x is its input's identity, index its own output's."""
        return ()

    def backward(self, row: Row, index: int, x: Hashable, grad: bool, size: int, device: str) -> Cost:
        """Its training step; grad: whether its input needs a gradient."""
        return Cost(params=row.params, saved=self.saves(row, index, x, size, device))

    def module(self, row: Row) -> Recipe:
        raise NotImplementedError(self.name)

    def from_module(self, module: Any) -> dict[str, Any] | None:
        """A torch module of one of torch_classes as a layer of this kind, or None where the figures
        would differ from what this kind describes."""
        return {"kind": self.name}


def spatial(shape: Size, kind: str, needed: bool = True) -> Size:
    """The spatial dimensions of an input (N, C, *spatial); refused where a kind needs 1 to 3."""
    dims = shape[2:]
    if needed and not 1 <= len(dims) <= 3:
        raise InvalidSpecError(
            "input",
            f"a {kind} layer needs a (N, C, *spatial) input with 1 to 3 spatial dimensions; got "
            f"{shape_text(shape)}" + (" (it cannot follow flatten or linear)" if len(shape) == 2 else ""),
        )
    return dims


def shape_text(shape: Size) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def per_dim(layer: Mapping[str, Any], key: str, dim: int, default: Any = 1) -> tuple[Any, ...]:
    """A field as one value per spatial dimension; refused where it gives another number of values."""
    value = layer.get(key, default)
    if not isinstance(value, tuple | list):
        return (value,) * dim
    if len(value) != dim:
        raise InvalidSpecError(
            key,
            f"{'x'.join(map(str, value))} has {len(value)} values but the input is {dim}-D; "
            f"write {dim} {'value' if dim == 1 else 'values'} such as {'x'.join([str(value[0])] * dim)}, "
            "or one value",
        )
    return tuple(value)


def sizes(row: Row, *keys: str) -> list[Any]:
    # row.settings holds per-dimension sizes as lists (JSON-ready); torch's modules print tuples
    return [tuple(v) if isinstance(v, list) else v for v in (row.settings[key] for key in keys)]


def layer_dim(row: Row) -> int:
    return len(row.input_shape) - 2  # spatial dimensions after batch and channels


def device_type(device: str) -> str:
    """cuda for cuda:1: where torch's rules differ by device, they differ by its type."""
    return device.partition(":")[0]

"""Receptive field and jump over a traced graph: each tensor carries its own, op by op.

A dispatch mode (field_rules.py) follows every op a forward runs and gives its output a Field: per
spatial dimension of the input, the input positions each of its positions depends on (a Span, from
core/receptive.py), and which of the tensor's axes hold that dimension. Where no rule applies the output
is Lost, with the reason and the module it happened in, and so is everything computed from it: every
`-` has its reason (field_notes). Parameters, buffers and what is made from them alone are constants
and carry no field. This module is the store the rules read and write.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from ..core.receptive import Span
from ..core.spec import Size

Axis = tuple[int, int, int]  # a spatial dimension's tensor axis, its stride inside that axis, its size


@dataclass(frozen=True)
class Field:
    """A tensor's input positions per spatial dimension of the input, and where that dimension lives.

    axes () once the map is folded into features (flatten, a global pool without keepdim); broadcast:
    the same value at every position of the map (a per-channel value expanded over it)."""

    spans: tuple[Span, ...]
    axes: tuple[Axis, ...] = ()
    broadcast: bool = False

    @property
    def size(self) -> Size:
        return tuple(span.size for span in self.spans)

    @property
    def jump(self) -> Size | None:
        jumps = tuple(span.jump for span in self.spans)
        return None if None in jumps else jumps  # type: ignore[return-value]


@dataclass(frozen=True)
class Lost:
    """Why a tensor has no field: the rule that failed, in the module (torch name) whose forward ran it."""

    reason: str
    where: str


class Fields:
    """id(tensor) -> its Field or Lost, for tensors still alive; constants are tracked apart. Also the
    conventions used (what was taken as constant, and where first) and the module running now."""

    def __init__(self, constants: list[Any]) -> None:
        self._states: dict[int, tuple[Any, Field | Lost]] = {}
        self._constants: dict[int, Any] = {id(t): weakref.ref(t) for t in constants}
        self.modules: list[str] = []  # the modules whose forward is running, outermost first
        self.conventions: dict[str, str] = {}  # what was taken as constant -> the first module it was in

    def state(self, tensor: Any) -> Field | Lost | None:
        held = self._states.get(id(tensor))
        return held[1] if held and held[0]() is tensor else None

    def get(self, tensor: Any) -> Field | None:
        state = self.state(tensor)
        return state if isinstance(state, Field) else None

    def set(self, tensor: Any, state: Field | Lost | None) -> None:
        if state is None:
            self._states.pop(id(tensor), None)
        else:
            # the entry goes with its tensor: a forward's intermediates do not pile up (100,000 modules)
            key, states = id(tensor), self._states
            self._states[key] = (weakref.ref(tensor, lambda _: states.pop(key, None)), state)

    def constant(self, tensor: Any) -> bool:
        held = self._constants.get(id(tensor))
        return tensor.dim() == 0 or (held is not None and held() is tensor)

    def make_constant(self, tensor: Any) -> None:
        self._constants[id(tensor)] = weakref.ref(tensor)
        self.set(tensor, None)

    def lost(self, reason: str) -> Lost:
        return Lost(reason, self.modules[-1] if self.modules else "")

    def used(self, convention: str) -> None:
        self.conventions.setdefault(convention, self.modules[-1] if self.modules else "")


def field_notes(records: list[Any], conventions: dict[str, str], mapped: bool) -> list[str]:
    """Why each `-` in the receptive field and jump columns, and the conventions its figures used.

    records: a trace's, in order (name, module, calls, out_field)."""
    classes = {r.name: type(r.module).__name__ for r in records}
    notes = []
    if not mapped:
        return ["receptive field: none, as no input is a spatial map (a floating tensor (N, C, *spatial))"]
    losses = dict.fromkeys(r.out_field for r in records if isinstance(r.out_field, Lost))
    for lost in losses:
        notes.append(f"receptive field `-` from {_module(lost.where, classes)} on: {lost.reason}")
    leaves = [r for r in records if not list(r.module.children())]
    uneven = next((r for r in leaves if isinstance(r.out_field, Field) and r.out_field.jump is None), None)
    if uneven is not None:
        notes.append(
            f"jump `-` from {_module(uneven.name, classes)} on: its outputs are not evenly spaced over the "
            "input (a strided transposed convolution or an upsampling puts several outputs per input "
            "step); the receptive field there is the widest over all its outputs"
        )
    apart = [r.name or "the model" for r in records if r.calls and r.out_field is None]
    if apart:
        shown = ", ".join(f"`{name}`" for name in apart[:3]) + (
            f" and {len(apart) - 3} more" if len(apart) > 3 else ""
        )
        notes.append(f"receptive field `-` for {shown}: its output is not a map of the input")
    if conventions:
        taken = "; ".join(
            f"{what} (first in {_module(where, classes)})" for what, where in conventions.items()
        )
        notes.append(
            f"receptive field: {taken} taken as constants, as BatchNorm's running statistics are in eval "
            "mode, so each position depends on its own window alone"
        )
    return notes


def _module(name: str, classes: dict[str, str]) -> str:
    return (
        f"`{name}` ({classes.get(name, '?')})"
        if name
        else f"the model's own forward ({classes.get('', '?')})"
    )

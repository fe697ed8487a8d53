"""Receptive-field rules of the ops that move, merge, split or fold the map's axes without reading
along them: views and reshapes, permutes, expand, split, slice, select, reductions, softmax."""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

from ..core import receptive
from .fields import Axis, Field, Fields, Lost

State = Field | Lost | None
_SAME_ELEMENTS = frozenset(
    ("view", "_unsafe_view", "reshape", "_reshape_alias", "unsqueeze", "squeeze", "flatten", "view_as")
)
_REDUCTIONS = frozenset(("mean", "sum", "amax", "amin", "var", "std", "max", "min", "logsumexp"))


def moved(state: Field, lead: int) -> Field:
    """The field of a tensor broadcast to `lead` more leading axes (the same one for none: most ops)."""
    if not lead:
        return state
    return Field(state.spans, tuple((a + lead, inner, n) for a, inner, n in state.axes), state.broadcast)


def shifted(fields: Fields, state: Field, out: Any, lefts: dict[int, int], steps: dict[int, int]) -> State:
    """Spatial axes read from position `left` on, every `step`-th; the others as they were."""
    spans = list(state.spans)
    for i, (axis, inner, _) in enumerate(state.axes):
        if axis in lefts and (lefts[axis] or steps.get(axis, 1) != 1):
            if inner != 1 or sum(a == axis for a, _, _ in state.axes) != 1:
                return fields.lost("a pad or slice along an axis that holds several spatial dimensions")
            spans[i] = receptive.read(spans[i], *receptive.window(1, steps.get(axis, 1), lefts[axis]))
    axes = tuple((a, inner, out.shape[a] if a in lefts else n) for a, inner, n in state.axes)
    return Field(tuple(spans), axes, state.broadcast)


def _same_elements(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    """A view or reshape: the elements in the same order, so each spatial dimension keeps its stride in
    that order, and lives in whichever output axis holds it whole. Flattening the map into features
    (N, C, *spatial) -> (N, features) gives every feature the whole map, as the flatten layer does."""
    x, out = args[0], outs[0]
    state = fields.state(x)
    if not isinstance(state, Field) or not state.axes:
        return state
    strides = [inner * prod(x.shape[a + 1 :]) for a, inner, _ in state.axes]
    suffix = [prod(out.shape[b:]) for b in range(out.dim() + 1)]
    axes = []
    for stride, (_, _, n) in zip(strides, state.axes):
        found = [b for b in range(out.dim()) if stride % suffix[b + 1] == 0 and suffix[b] % (stride * n) == 0]
        if not found:
            return fields.lost("a reshape that splits a spatial axis")
        axes.append((found[0], stride // suffix[found[0] + 1], n))
    if out.dim() == 2 and out.shape[0] == x.shape[0] and all(a == 1 for a, _, _ in axes):
        return _folded(fields, state)
    return Field(state.spans, tuple(axes), state.broadcast)


def _folded(fields: Fields, state: Field, keep: tuple[Axis, ...] = ()) -> State:
    """One value from the whole map (flatten, a global pool): its spans read every position."""
    spans = [receptive.read(s, *receptive.whole(n)) for s, (_, _, n) in zip(state.spans, state.axes)]
    if None in spans:
        return fields.lost("a map that does not line up with its input")
    return Field(tuple(spans), keep)  # type: ignore[arg-type]


def _permute(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x, state = args[0], fields.state(args[0])
    if not isinstance(state, Field):
        return state
    order = [d % x.dim() for d in args[1]]
    return Field(state.spans, tuple((order.index(a), i, n) for a, i, n in state.axes), state.broadcast)


def _transpose(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x = args[0]
    order = list(range(x.dim()))
    if len(args) > 1:
        a, b = args[1] % x.dim(), args[2] % x.dim()
        order[a], order[b] = order[b], order[a]
    else:  # t(): a matrix
        order.reverse()
    return _permute(fields, (x, order), kwargs, outs, varying)


def _expand(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    """Expanding a per-channel value over the map makes it broadcast; other axes move by the new ones."""
    x, out = args[0], outs[0]
    state = fields.state(x)
    if not isinstance(state, Field):
        return state
    lead = out.dim() - x.dim()
    grown = any(x.shape[a] != out.shape[a + lead] for a, _, _ in state.axes)
    axes = tuple((a, i, out.shape[a] if grown else n) for a, i, n in moved(state, lead).axes)
    return Field(state.spans, axes, state.broadcast or grown)


def _split(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x = args[0]
    dim = (args[2] if len(args) > 2 else kwargs.get("dim", 0)) % x.dim()
    return _off_map(fields, x, dim, "a split along a spatial axis")


def _off_map(fields: Fields, x: Any, dim: int, why: str) -> State:
    state = fields.state(x)
    if isinstance(state, Field) and any(a == dim for a, _, _ in state.axes):
        return fields.lost(why)
    return state


def _slice(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x = args[0]
    dim = (args[1] if len(args) > 1 else 0) % x.dim()
    start = args[2] if len(args) > 2 and args[2] is not None else 0
    step = args[4] if len(args) > 4 else 1
    state = fields.state(x)
    if not isinstance(state, Field):
        return state
    start = min(max(start + x.shape[dim] if start < 0 else start, 0), x.shape[dim])
    return shifted(fields, state, outs[0], {dim: -start}, {dim: step})


def _select(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x, dim = args[0], args[1] % args[0].dim()
    state = _off_map(fields, x, dim, "one position picked from a spatial axis")
    if not isinstance(state, Field):
        return state
    return Field(state.spans, tuple((a - (a > dim), i, n) for a, i, n in state.axes), state.broadcast)


def _unbind(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    return _select(fields, (args[0], dim), kwargs, outs, varying)


def _reduction(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> list[State]:
    """Over axes that hold no spatial dimension: position by position. Over all that do: the whole
    map (a global pool). Over some of them only: not modelled."""
    x, out = args[0], outs[0]
    state = fields.state(x)
    if not isinstance(state, Field):
        return [state] * len(outs)
    dims = args[1] if len(args) > 1 and isinstance(args[1], list | tuple | int) else kwargs.get("dim")
    dims = range(x.dim()) if dims is None or dims == [] else [dims] if isinstance(dims, int) else dims
    reduced = {d % x.dim() for d in dims}
    keep = out.dim() == x.dim()
    spatial = {a for a, _, _ in state.axes}
    if out.dim() == 0 or 0 in reduced:
        return [fields.lost("a reduction over the batch")] * len(outs)
    if not spatial & reduced or not state.axes:
        axes = tuple((a if keep else a - sum(d < a for d in reduced), i, n) for a, i, n in state.axes)
        return [Field(state.spans, axes, state.broadcast)] * len(outs)
    if not spatial <= reduced:
        return [fields.lost("a reduction over some spatial axes but not all")] * len(outs)
    kept = tuple((a, 1, 1) for a, _, _ in state.axes) if keep else ()
    return [_folded(fields, state, kept)] * len(outs)


def _softmax(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x = args[0]
    return _off_map(fields, x, args[1] % x.dim(), "a softmax over a spatial axis")


def _glu(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x = args[0]
    return _off_map(fields, x, (args[1] if len(args) > 1 else -1) % x.dim(), "a GLU over a spatial axis")


RULES: dict[str, Callable[..., Any]] = {
    **dict.fromkeys(_SAME_ELEMENTS, _same_elements),
    "permute": _permute,
    "transpose": _transpose,
    "t": _transpose,
    "expand": _expand,
    "split": _split,
    "split_with_sizes": _split,
    "slice": _slice,
    "select": _select,
    "unbind": _unbind,
    **dict.fromkeys(_REDUCTIONS, _reduction),
    "_softmax": _softmax,
    "_log_softmax": _softmax,
    "glu": _glu,
}

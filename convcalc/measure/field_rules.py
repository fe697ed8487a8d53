"""The receptive-field rule of each aten op a forward runs, and the dispatch mode that applies them.

field_layers.py has the rules of layers along the map, field_views.py those that move its axes;
docs/networks.md lists them all.

A rule reads its op's arguments and its inputs' fields and returns the fields of its outputs, or a Lost
saying why not. Conventions, as for BatchNorm in eval mode, whose statistics are constants:
- a value broadcast over the map (one per channel: a squeeze-excite gate, a global pool added back) is a
  constant for the positions it multiplies or is added to;
- GroupNorm's statistics, and LayerNorm's where it normalises over spatial axes, are constants too, so
  they act position by position. LayerNorm over channels alone (ConvNeXt's) needs no convention.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import receptive
from . import field_layers, field_views
from .field_views import moved
from .fields import Axis, Field, Fields, Lost

State = Field | Lost | None
# Ops whose output depends on their input's shape alone.
_CONSTANT_MAKERS = frozenset(
    ("zeros_like", "ones_like", "empty_like", "full_like", "new_zeros", "new_ones", "new_empty", "new_full")
    + ("fill_", "zero_", "rand_like", "randn_like", "scalar_tensor")
)

# Element-wise ops torch does not tag as pointwise.
_ELEMENTWISE = frozenset(
    ("hardswish", "hardswish_", "_prelu_kernel", "rrelu_with_noise", "log_sigmoid_forward", "native_dropout")
    + ("_to_copy", "detach", "alias", "lift_fresh", "clone", "contiguous", "copy", "_conj", "resolve_conj")
)


def field_mode(fields: Fields) -> Any:
    """A dispatch mode that runs each op, then gives its outputs the fields its rule implies."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class FieldMode(TorchDispatchMode):
        pass

    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            follow(fields, func, args, kwargs, out)
        except Exception as exc:  # a case these rules never met: the field is lost, the model's run goes on
            from torch.utils._pytree import tree_leaves

            lost = fields.lost(
                f"aten.{func.overloadpacket.__name__}: no rule for this case ({type(exc).__name__})"
            )
            for t in tree_leaves(out):
                if hasattr(t, "dim"):
                    fields.set(t, lost)
        return out

    # Set after the class is made, as witness.py does: a hook present at class creation is wrapped
    # in a shim whose first call imports torch._dynamo (over a second).
    FieldMode.__torch_dispatch__ = dispatch
    return FieldMode()


def follow(fields: Fields, func: Any, args: Any, kwargs: Any, out: Any) -> None:
    """Give out the fields op func implies from its inputs'."""
    import torch
    from torch.utils._pytree import tree_leaves

    outs = (
        [out]
        if isinstance(out, torch.Tensor)
        else [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
    )
    if not outs:
        return
    flat = not kwargs and all(not isinstance(a, list | tuple | dict) for a in args)  # most ops: no walk
    ins = [t for t in (args if flat else tree_leaves((args, kwargs))) if isinstance(t, torch.Tensor)]
    varying = [t for t in ins if not fields.constant(t)]
    if not varying or func.overloadpacket.__name__ in _CONSTANT_MAKERS:
        for t in outs:  # made from parameters alone (weight.t()), or from a shape (zeros_like)
            fields.make_constant(t)
        return
    if all(fields.state(t) is None for t in varying):
        return  # nothing of the map here (token ids, a timestep)
    for t, state in zip(outs, output_states(fields, func, args, kwargs, outs, varying)):
        fields.set(t, state)


def output_states(
    fields: Fields, func: Any, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]
) -> list[State]:
    """One state per output tensor of func."""
    import torch

    name = func.overloadpacket.__name__
    rule = _RULES.get(name)
    if name in ("max", "min") and len(args) > 1 and isinstance(args[1], torch.Tensor):
        rule = _pointwise  # max(a, b): element-wise, not a reduction
    if rule is None and (torch.Tag.pointwise in func.tags or name in _ELEMENTWISE):
        rule = _pointwise
    if rule is None and "batch_norm" in name:
        rule = _batch_norm
    if rule not in (_pointwise, _cat):  # there a lost input may be a constant over the map: _join decides
        lost = next((s for s in map(fields.state, varying) if isinstance(s, Lost)), None)
        if lost is not None:
            return [lost] * len(outs)
    if rule is None:
        return [fields.lost(f"aten.{name} has no receptive-field rule")] * len(outs)
    result = rule(fields, args, kwargs, outs, varying)
    return result if isinstance(result, list) else [result] * len(outs)


# ---------------------------------------------------------------------------------------------------
# Element-wise ops and concatenation: parallel paths join


def _pointwise(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    return _join(fields, outs[0], varying)


def _join(fields: Fields, out: Any, tensors: list[Any], along: int | None = None) -> State:
    """The output of an op that reads each input at the output's own position (along `along`, a
    concatenation's axis, sizes may differ). An input the same at every position of the map is a
    constant there (the module docstring's convention)."""
    paths, others = [], []
    for t in tensors:
        state = fields.state(t)
        lead = out.dim() - t.dim()
        if isinstance(state, Field) and not state.broadcast and state.axes and _covers(t, state, out, lead):
            paths.append(moved(state, lead))
        else:
            others.append((t, state, lead))
    if not paths:  # features, not a map: (N, C) values
        flat = [fields.state(t) for t in tensors]
        if all(isinstance(s, Field) and not s.axes for s in flat):
            return _union(fields, flat, ())
        return next((s for s in flat if isinstance(s, Lost)), None) or fields.lost(
            "inputs without a map joined"
        )
    if len(paths) == 1 and not others and along is None:  # one input read in place: its field (most ops)
        return paths[0]
    axes = {p.axes for p in paths}
    if len(axes) != 1:
        return fields.lost("paths whose spatial axes differ joined position by position")
    spatial = {a for a, _, _ in paths[0].axes}
    for t, state, lead in others:
        flat = isinstance(state, Field) and state.broadcast
        if not flat and not all(t.shape[a - lead] == 1 for a in spatial if a >= lead):
            return state if isinstance(state, Lost) else fields.lost("an input without a field on the map")
        if isinstance(state, Field):
            fields.used("values broadcast over the map (a squeeze-excite gate)")
    if along is not None and along in spatial:
        return fields.lost("a concatenation along a spatial axis")
    return _union(fields, paths, paths[0].axes)


def _covers(t: Any, state: Field, out: Any, lead: int) -> bool:
    """Whether t varies over the whole of the output's map (is not broadcast along a spatial axis)."""
    return all(out.shape[a + lead] == t.shape[a] for a, _, _ in state.axes)


def _union(fields: Fields, states: list[Any], axes: tuple[Axis, ...]) -> State:
    spans = []
    for dim in zip(*(s.spans for s in states)):
        joined = receptive.join(list(dim))
        if joined is None:
            return fields.lost("paths that do not line up on the map joined")
        spans.append(joined)
    return Field(tuple(spans), axes)


def _cat(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    return _join(fields, outs[0], varying, dim % outs[0].dim())


def _norm(fields: Fields, x: Any, outs: list[Any], varying: list[Any], over_map: bool) -> list[State]:
    """Normalisation: the output position by position, its statistics constants (module docstring)."""
    state = fields.state(x)
    if any(t is not x for t in varying):
        return [fields.lost("a normalisation whose scale depends on the input")] * len(outs)
    if isinstance(state, Field) and over_map:
        fields.used("normalisation statistics over the map (GroupNorm; LayerNorm over spatial axes)")
    return [state] + [None] * (len(outs) - 1)  # its saved statistics are not maps


def _group_norm(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> list[State]:
    return _norm(fields, args[0], outs, varying, True)


def _layer_norm(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> list[State]:
    x, state = args[0], fields.state(args[0])
    normalised = set(range(x.dim() - len(args[1]), x.dim()))
    spatial = {a for a, _, _ in state.axes} if isinstance(state, Field) else set()
    return _norm(fields, x, outs, varying, bool(normalised & spatial))


def _batch_norm(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> list[State]:
    return _norm(fields, args[0], outs, varying, False)  # traced in eval mode: running statistics


def _dense(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    """x @ W with W constant: x's rows stay where they are; its columns, contracted, must hold no
    spatial dimension (a flattened map is features already)."""
    x = args[-2]
    if any(t is not x for t in varying):
        return fields.lost("a product of two tensors that both depend on the input (attention)")
    state = fields.state(x)
    if not isinstance(state, Field):
        return state
    contracted = x.dim() - 1
    if any(a == contracted for a, _, _ in state.axes):
        return fields.lost("a matrix product over the map's positions")
    return state


_RULES: dict[str, Callable[..., Any]] = {
    "cat": _cat,
    "native_group_norm": _group_norm,
    "native_layer_norm": _layer_norm,
    "mm": _dense,
    "addmm": _dense,
    "bmm": _dense,
    "baddbmm": _dense,
    **field_layers.RULES,
    **field_views.RULES,
}

"""Receptive field and jump over a traced graph: each tensor carries its own, op by op.

Layers convcalc models (convolutions, pooling, flatten, linear, ...) set their output's field in
trace.py from core's recurrence. Between them, this dispatch mode carries fields through the ops a
forward runs on its own: element-wise ops and concatenation take the largest field over their inputs
(the largest over parallel paths, as a residual add joins them), a reduction or view to one value per
feature covers the whole map. Any other op, or an input whose field is unknown, leaves the output's
unknown: a figure is shown only where the whole path from the input is modelled. Parameters,
buffers and what is made from them alone are constants and carry no field.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from ..core.spec import Size


@dataclass(frozen=True)
class Field:
    """A tensor's receptive field and jump per spatial dimension; jump None when paths disagree."""

    size: Size
    jump: Size | None


_PASS = ("_to_copy", "detach", "alias", "contiguous", "native_dropout", "lift_fresh")
_WHOLE_MAP = ("view", "_unsafe_view", "reshape", "mean", "sum", "amax", "flatten")
_DENSE = ("mm", "addmm", "linear")  # on a flat (N, features) tensor, with a constant weight


class Fields:
    """id(tensor) -> its Field, for tensors still alive; constants are tracked apart."""

    def __init__(self, constants: list[Any]) -> None:
        self._fields: dict[int, tuple[Any, Field]] = {}
        self._constants: dict[int, Any] = {id(t): weakref.ref(t) for t in constants}

    def get(self, tensor: Any) -> Field | None:
        held = self._fields.get(id(tensor))
        return held[1] if held and held[0]() is tensor else None

    def set(self, tensor: Any, field: Field | None) -> None:
        if field is None:
            self._fields.pop(id(tensor), None)
        else:
            self._fields[id(tensor)] = (weakref.ref(tensor), field)

    def forget(self, out: Any) -> None:
        from torch.utils._pytree import tree_leaves

        for t in tree_leaves(out):
            if hasattr(t, "dim"):
                self.set(t, None)

    def constant(self, tensor: Any) -> bool:
        held = self._constants.get(id(tensor))
        return tensor.dim() == 0 or (held is not None and held() is tensor)

    def follow(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        """Give out the field op func implies from its inputs', or forget it."""
        import torch
        from torch.utils._pytree import tree_leaves

        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        if not outs:
            return
        varying = [t for t in ins if not self.constant(t)]
        if not varying:  # made from parameters alone, as weight.t()
            for t in outs:
                self._constants[id(t)] = weakref.ref(t)
            return
        fields = [self.get(t) for t in varying]
        field = None if None in fields else _rule(func, varying, fields, outs[0])
        for t in outs[:1] if "batch_norm" in func.__name__ else outs:
            self.set(t, field)


def _rule(func: Any, ins: list[Any], fields: list[Field], out: Any) -> Field | None:
    import torch

    name = func.overloadpacket.__name__
    first = ins[0]
    if out.dim() == 0:  # a whole-tensor reduction: no map left, and no batch to keep apart
        return None
    if name in _DENSE and first.dim() == 2 == out.dim():
        return fields[0]
    same_map = all(t.shape[2:] == out.shape[2:] and t.dim() == out.dim() for t in ins)
    pointwise = torch.Tag.pointwise in func.tags or name in _PASS or "batch_norm" in name
    if same_map and (pointwise or name == "cat"):
        return merge(fields)
    if name in _WHOLE_MAP and len(ins) == 1 and first.dim() >= 3 and out.shape[0] == first.shape[0]:
        flat = out.dim() == 2 or all(n == 1 for n in out.shape[2:])
        return whole_map(fields[0], first.shape[2:]) if flat else None
    return None


def merge(fields: list[Field]) -> Field:
    """The largest field over parallel paths; their jump where they agree."""
    size = tuple(max(sizes) for sizes in zip(*(f.size for f in fields)))
    jumps = {f.jump for f in fields}
    return Field(size, jumps.pop() if len(jumps) == 1 else None)


def whole_map(field: Field, spatial: Size) -> Field | None:
    """A window over the whole map (a global pool, or flatten before a dense layer)."""
    if field.jump is None:
        return None
    size = tuple(r + (n - 1) * j for r, n, j in zip(field.size, spatial, field.jump))
    return Field(size, tuple(j * n for j, n in zip(field.jump, spatial)))


def field_mode(fields: Fields) -> Any:
    """A dispatch mode that runs each op, then has fields follow it."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class FieldMode(TorchDispatchMode):
        pass

    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            fields.follow(func, args, kwargs, out)
        except Exception:  # an op these rules never met: its field is unknown, the model's run goes on
            fields.forget(out)
        return out

    # Set after the class is made, as witness.py does: a hook present at class creation is wrapped
    # in a shim whose first call imports torch._dynamo (over a second).
    FieldMode.__torch_dispatch__ = dispatch
    return FieldMode()

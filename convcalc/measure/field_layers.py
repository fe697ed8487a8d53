"""Receptive-field rules of the layers that move along the map: convolutions (any module that runs
aten.convolution: nn.Conv*, timm's Conv2dSame, torchvision's Conv3DSimple), pools, pads, upsampling.
Each reads a (N, C, *spatial) input and gives each spatial dimension its table (core/receptive.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import receptive
from .field_views import shifted
from .fields import Field, Fields, Lost

State = Field | Lost | None


def _canonical(state: Field, x: Any) -> bool:
    """(N, C, *spatial) with the input's dimensions in order: what a convolution or pool reads."""
    return state.axes == tuple((2 + i, 1, x.shape[2 + i]) for i in range(x.dim() - 2))


def _along(fields: Fields, x: Any, out: Any, tables: list[tuple[int, int, receptive.Taps]]) -> State:
    """Each spatial dimension of a (N, C, *spatial) input read through its table."""
    state = fields.state(x)
    if not isinstance(state, Field) or not _canonical(state, x) or len(tables) != len(state.spans):
        return state if isinstance(state, Lost) else fields.lost("a layer over axes that are not the map's")
    spans = []
    for span, (period, advance, taps) in zip(state.spans, tables):
        read = receptive.read(span, period, advance, taps)
        if read is None:
            return fields.lost("outputs that read no input (a transposed kernel shorter than its stride)")
        spans.append(read)
    return Field(tuple(spans), tuple((2 + i, 1, n) for i, n in enumerate(out.shape[2:])))


def _each(value: Any, dims: int, default: int = 1) -> list[int]:
    if value is None or value == []:
        return [default] * dims
    values = list(value) if isinstance(value, list | tuple) else [value]
    return values * dims if len(values) == 1 else values


def _convolution(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x, weight = args[0], args[1]
    if any(t is not x for t in varying):
        return fields.lost("a convolution whose weights depend on the input")
    dims = x.dim() - 2
    kernel = weight.shape[2:]
    stride, padding, dilation = (_each(args[i], dims) for i in (3, 4, 5))
    build = receptive.transposed if args[6] else receptive.window
    return _along(fields, x, outs[0], [build(*a) for a in zip(kernel, stride, padding, dilation)])


def _pool(
    fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any], dilated: bool
) -> list[State]:
    x = args[0]
    dims = x.dim() - 2
    kernel = _each(args[1], dims)
    stride = _each(args[2], dims) if len(args) > 2 and args[2] else kernel
    padding = _each(args[3] if len(args) > 3 else 0, dims, 0)
    dilation = _each(args[4] if dilated and len(args) > 4 else 1, dims)
    tables = [receptive.window(*a) for a in zip(kernel, stride, padding, dilation)]
    return [_along(fields, x, outs[0], tables)] * len(outs)  # max pools' indices too


def _adaptive(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> list[State]:
    x = args[0]
    tables = [receptive.adaptive(n, m) for n, m in zip(x.shape[2:], outs[0].shape[2:])]
    return [_along(fields, x, outs[0], tables)] * len(outs)


def _nearest(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x, out = args[0], outs[0]
    if any(m % n for n, m in zip(x.shape[2:], out.shape[2:])):
        return fields.lost("nearest resampling by a factor that is not a whole number")
    return _along(fields, x, out, [receptive.nearest(n, m) for n, m in zip(x.shape[2:], out.shape[2:])])


def _linear_resample(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    x, out = args[0], outs[0]
    corners = bool(args[2]) if len(args) > 2 else False
    tables = [receptive.interpolated(n, m, corners) for n, m in zip(x.shape[2:], out.shape[2:])]
    return _along(fields, x, out, tables)


def _pad(fields: Fields, args: Any, kwargs: Any, outs: list[Any], varying: list[Any]) -> State:
    """constant, reflection and replication pads: each padded spatial axis shifts by its left pad
    (padding counted as positions; a negative pad crops)."""
    x, pad = args[0], list(args[1])
    state = fields.state(x)
    if not isinstance(state, Field):
        return state
    lefts = {x.dim() - 1 - i: pad[2 * i] for i in range(len(pad) // 2)}  # from the last axis backwards
    return shifted(fields, state, outs[0], lefts, {})


RULES: dict[str, Callable[..., Any]] = {
    "convolution": _convolution,
    "_convolution": _convolution,
    "max_pool1d": lambda *a: _pool(*a, dilated=True),
    "max_pool2d": lambda *a: _pool(*a, dilated=True),
    "max_pool3d": lambda *a: _pool(*a, dilated=True),
    "max_pool1d_with_indices": lambda *a: _pool(*a, dilated=True),
    "max_pool2d_with_indices": lambda *a: _pool(*a, dilated=True),
    "max_pool3d_with_indices": lambda *a: _pool(*a, dilated=True),
    "avg_pool1d": lambda *a: _pool(*a, dilated=False),
    "avg_pool2d": lambda *a: _pool(*a, dilated=False),
    "avg_pool3d": lambda *a: _pool(*a, dilated=False),
    "_adaptive_avg_pool2d": _adaptive,
    "_adaptive_avg_pool3d": _adaptive,
    "adaptive_max_pool2d": _adaptive,
    "adaptive_max_pool3d": _adaptive,
    "upsample_nearest1d": _nearest,
    "upsample_nearest2d": _nearest,
    "upsample_nearest3d": _nearest,
    "_upsample_nearest_exact1d": _nearest,
    "_upsample_nearest_exact2d": _nearest,
    "_upsample_nearest_exact3d": _nearest,
    "upsample_linear1d": _linear_resample,
    "upsample_bilinear2d": _linear_resample,
    "upsample_trilinear3d": _linear_resample,
    "constant_pad_nd": _pad,
    "reflection_pad1d": _pad,
    "reflection_pad2d": _pad,
    "reflection_pad3d": _pad,
    "replication_pad1d": _pad,
    "replication_pad2d": _pad,
    "replication_pad3d": _pad,
}

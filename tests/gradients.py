"""The receptive field measured by torch for whole models: the gradient of one output element w.r.t. the
input, whose non-zero extent (per spatial dimension, channels summed) is the set of inputs it depends on.

Shared by tests/measure/test_model.py and test_fields.py. field_convention() is the view convcalc's
figures take (docs/networks.md): what is computed from the whole map (GroupNorm's statistics, a
squeeze-excite gate broadcast back over the map) is a constant, as BatchNorm's running statistics are;
and a max pool depends on its whole window, where its gradient reaches only the maximum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode


def gradient_span(
    model: nn.Module, module: nn.Module, shape: tuple[int, ...], at: tuple[int, ...]
) -> tuple[list[int], list[int]]:
    """First and last input position, per spatial dimension, that output `at` of module's first call
    depends on (its channels summed)."""
    outputs: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda m, i, o: outputs.append(o))
    x = torch.ones((1, *shape), dtype=torch.float64, requires_grad=True)
    try:
        model(x)
    finally:
        handle.remove()
    outputs[0][(0, slice(None), *at)].sum().backward()
    seen = x.grad[0].abs().sum(0).nonzero()
    first, last = seen.min(0).values.tolist(), seen.max(0).values.tolist()
    spatial = shape[1:]
    assert all(a > 0 and b < n - 1 for a, b, n in zip(first, last, spatial)), "input too small"
    return first, last


def moved(at: tuple[int, ...], dim: int, by: int = 1) -> tuple[int, ...]:
    return tuple(i + by * (d == dim) for d, i in enumerate(at))


class field_convention(TorchFunctionMode):  # noqa: N801 -- used as a context manager, like a function
    """GroupNorm with its mean and variance detached; a value with one element per channel (spatial size
    1) detached where it is multiplied or added onto a map; max pools (without dilation) averaging their
    window instead."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.group_norm:
            return _group_norm(*args, **kwargs)
        if func is F.max_pool2d:
            return F.avg_pool2d(*args[:4], **{k: kwargs[k] for k in ("stride", "padding") if k in kwargs})
        name = getattr(func, "__name__", "")
        if name in ("mul", "__mul__", "__rmul__", "add", "__add__", "__radd__") and len(args) == 2:
            a, b = args
            if _gate(a, b):
                a = a.detach()
            elif _gate(b, a):
                b = b.detach()
            args = (a, b)
        return func(*args, **kwargs)


def _gate(value, onto) -> bool:
    """value holds one element per channel and onto is a map it is broadcast over."""
    if not (isinstance(value, torch.Tensor) and isinstance(onto, torch.Tensor)):
        return False
    if not value.dim() == onto.dim() >= 3:
        return False
    return all(n == 1 for n in value.shape[2:]) and any(n > 1 for n in onto.shape[2:])


def _group_norm(x, groups, weight=None, bias=None, eps=1e-5):
    grouped = x.reshape(x.shape[0], groups, -1)
    mean = grouped.mean(-1, keepdim=True).detach()
    var = grouped.var(-1, unbiased=False, keepdim=True).detach()
    y = ((grouped - mean) / torch.sqrt(var + eps)).reshape(x.shape)
    affine = (1, -1) + (1,) * (x.dim() - 2)
    return y * weight.reshape(affine) + bias.reshape(affine)

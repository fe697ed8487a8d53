"""Tensors a forward makes itself, on meta: a big one (torch.ones(n, n)) made there, where it costs
nothing; a small one where the forward expects it. torch is imported inside functions only."""

from __future__ import annotations

from typing import Any

SHADOW_ELEMENTS = 1 << 16  # elements a small tensor has: masks, lengths and positions, never activations


_FACTORIES = (
    "ones",
    "zeros",
    "full",
    "empty",
    "rand",
    "randn",
    "randint",
    "arange",
    "linspace",
    "logspace",
    "eye",
)


def big_factories_to_meta() -> Any:
    """A function mode in which a tensor factory the forward calls without a device (torch.ones(n, n),
    torch.arange(n)) makes a big tensor on meta, where it costs nothing, and a small one on the cpu, as
    the forward expects (lengths for pack_padded_sequence, indices, masks): meta first never allocates
    gigabytes for the model's own constants. A small cpu one meeting meta tensors is moved to meta then
    (value_mode), its value kept."""
    import torch
    from torch.overrides import TorchFunctionMode

    factories = {getattr(torch, name) for name in _FACTORIES}

    class BigOnMeta(TorchFunctionMode):
        pass

    def function(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func not in factories or kwargs.get("device") is not None:
            return func(*args, **kwargs)
        shaped = func(*args, **{**kwargs, "device": "meta"})  # its shape, for free
        if isinstance(shaped, torch.Tensor) and shaped.numel() > SHADOW_ELEMENTS:
            return shaped
        return func(*args, **kwargs)

    BigOnMeta.__torch_function__ = function  # after creation, as the dispatch modes (no dynamo shim)
    return BigOnMeta()

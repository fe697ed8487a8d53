"""The layer a Python user hands over: a ConvSpec, or a torch convolution module read into one.

Standard library only: a module is recognised by its class's ancestry and read by duck typing, so
accepting torch modules never imports torch.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .spec import ConvSpec, IntOrSize, read_conv

ACCEPTED = (
    "a ConvSpec or a torch convolution module "
    "(nn.Conv1d/2d/3d, nn.ConvTranspose1d/2d/3d, or a subclass of one)"
)


def as_spec(
    layer: Any,
    *,
    input_size: IntOrSize | None = None,
    batch: int | None = None,
    dtype: str | None = None,
) -> ConvSpec:
    """layer as a ConvSpec; input_size, batch and dtype, when given, replace the layer's own."""
    given = {
        k: v for k, v in (("input_size", input_size), ("batch", batch), ("dtype", dtype)) if v is not None
    }
    if isinstance(layer, ConvSpec):
        if "input_size" in given:
            given["default_input"] = False
        return replace(layer, **given) if given else layer
    return spec_from_module(layer, **given)


def is_torch_conv(obj: Any) -> bool:
    """Whether obj is an instance of torch's _ConvNd, the base of every Conv and ConvTranspose layer."""
    return any(c.__name__ == "_ConvNd" and c.__module__.startswith("torch.") for c in type(obj).__mro__)


def spec_from_module(
    module: Any, *, input_size: IntOrSize | None = None, batch: int = 1, dtype: str | None = None
) -> ConvSpec:
    """A ConvSpec with the module's settings, read as torch names them; dtype defaults to its weight's."""
    if not is_torch_conv(module):
        raise TypeError(f"expected {ACCEPTED}; got {type(module).__name__}")
    if module.in_channels == 0:  # nn.LazyConv*d before its first forward pass
        raise TypeError(
            f"{type(module).__name__} has no in_channels until its first forward pass; run it once"
        )
    return read_conv(module, input_size=input_size, batch=batch, dtype=dtype)


def layer_from_module(module: Any) -> dict[str, Any] | None:
    """A torch layer as a stack layer (the dict stack_grammar builds), or None where convcalc does not
    model it: its kind's reading (core/kinds), for the torch.nn classes a kind names.

    Only torch's own classes, not subclasses: a subclass may change what forward does. Settings that
    change the figures beyond what the stack kinds describe (no affine BatchNorm, pooling that returns
    indices, a partial flatten) leave the layer to torch's figures alone.
    """
    from .kinds import BY_TORCH_CLASS  # the registry: not needed to read one convolution

    cls = type(module)
    kind = BY_TORCH_CLASS.get(cls.__name__) if cls.__module__.startswith("torch.nn.modules.") else None
    return None if kind is None else kind.from_module(module)

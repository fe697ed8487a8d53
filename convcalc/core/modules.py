"""The layer a Python user hands over: a ConvSpec, or a torch convolution module read into one.

Standard library only: a module is recognised by its class's ancestry and read by duck typing, so
accepting torch modules never imports torch.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .spec import ConvSpec, IntOrSize

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
    return ConvSpec(
        module.in_channels,
        module.out_channels,
        tuple(module.kernel_size),
        stride=tuple(module.stride),
        padding=module.padding if isinstance(module.padding, str) else tuple(module.padding),
        dilation=tuple(module.dilation),
        groups=module.groups,
        bias=module.bias is not None,
        transposed=bool(module.transposed),
        output_padding=tuple(module.output_padding),
        padding_mode=module.padding_mode,
        input_size=input_size,
        batch=batch,
        dtype=dtype or _dtype_name(module),
        dim=len(module.kernel_size),
    )


def _dtype_name(module: Any) -> str:
    # ConvSpec names a dtype it does not know (and the ones it does) in its message.
    return str(module.weight.dtype).removeprefix("torch.")


# torch.nn classes a model's layer is read from, by name, into a stack layer of this kind.
_ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky", "GELU": "gelu", "SiLU": "silu"}
_ACTIVATIONS |= {"Sigmoid": "sigmoid", "Tanh": "tanh", "Identity": "identity"}
_DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout")


def layer_from_module(module: Any) -> dict[str, Any] | None:
    """A torch layer as a stack layer (the dict stack_grammar builds), or None where convcalc does not
    model it.

    Only torch's own classes, not subclasses: a subclass may change what forward does. Settings that
    change the figures beyond what the stack kinds describe (no affine BatchNorm, pooling that returns
    indices, a partial flatten) leave the layer to torch's figures alone.
    """
    cls = type(module)
    name = cls.__name__
    if not cls.__module__.startswith("torch.nn.modules."):
        return None
    if is_torch_conv(module) and module.in_channels:
        spec = spec_from_module(module)
        fields = ("stride", "padding", "dilation", "groups", "bias", "transposed", "output_padding")
        settings = {k: getattr(spec, k) for k in fields}
        return {"kind": "conv", "out": spec.out_channels, "kernel": spec.kernel_size, **settings} | {
            "padding_mode": spec.padding_mode
        }
    if name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        plain = module.affine and module.track_running_stats
        return {"kind": "batchnorm"} if plain else None
    if name in ("MaxPool1d", "MaxPool2d", "MaxPool3d") and not module.return_indices:
        return _pool("maxpool", module) | {"dilation": module.dilation}
    if name in ("AvgPool1d", "AvgPool2d", "AvgPool3d"):
        return _pool("avgpool", module)
    if name in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"):
        out = module.output_size
        return None if out is None or None in _seq(out) else {"kind": "adaptive_avgpool", "out": out}
    if name == "Flatten" and (module.start_dim, module.end_dim) == (1, -1):
        return {"kind": "flatten"}
    if name == "Linear":
        return {
            "kind": "linear",
            "in": module.in_features,
            "out": module.out_features,
            "bias": module.bias is not None,
        }
    if name in _ACTIVATIONS:
        return {"kind": _ACTIVATIONS[name]}
    if name in _DROPOUTS:
        return {"kind": "dropout"}
    return None


def _pool(kind: str, module: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "kernel": module.kernel_size,
        "stride": module.stride or module.kernel_size,  # torch's default stride is the kernel
        "padding": module.padding,
        "ceil_mode": module.ceil_mode,
    }


def _seq(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)

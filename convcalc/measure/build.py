"""The torch modules convcalc measures: a layer (build_layer), a compare variant (build_variant) and a
stack (build_stack), a StackResult as one real torch module, every layer registered under its own name.

Conv-like rows go through build_layer, so a convolution's settings are read in one place.
The other kinds take the shapes analyze_stack already walked (the rank picks the 1-D, 2-D or 3-D
class; linear's in_features is its row's input). torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import SpecFileError
from ..core.spec import ConvSpec
from ..core.stack_analysis import StackLayer, StackResult
from ..core.stack_grammar import ACTIVATION_KINDS


def build_layer(spec: ConvSpec, device: str) -> Any:
    """The torch module spec describes, on device, in spec's dtype."""
    import torch

    cls = getattr(torch.nn, spec.kind)
    kwargs: dict[str, Any] = dict(
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
        padding_mode=spec.padding_mode,
        device=device,
        dtype=getattr(torch, spec.dtype),
    )
    if spec.transposed:
        kwargs["output_padding"] = spec.output_padding
    return cls(spec.in_channels, spec.out_channels, spec.kernel_size, **kwargs)


def build_variant(variant: Any, device: str) -> Any:
    """The variant's modules in order: each conv stage, then BatchNorm and the activation if asked."""
    import torch

    from ..core.variants import ACTIVATIONS

    modules = []
    for spec in variant.stages:
        modules.append(shared_depthwise(spec, device) if variant.shared else build_layer(spec, device))
        if variant.bn:
            norm = getattr(torch.nn, f"BatchNorm{spec.dim}d")
            modules.append(norm(spec.out_channels, device=device, dtype=getattr(torch, spec.dtype)))
        if variant.act:
            modules.append(getattr(torch.nn, ACTIVATIONS[variant.act])())
    return modules[0] if len(modules) == 1 else torch.nn.Sequential(*modules)


def shared_depthwise(spec: ConvSpec, device: str) -> Any:
    """A depthwise conv whose M = Cout/Cin kernels (and M biases) are shared by every input channel.

    The seed post builds it with functional conv and a repeated weight; its bias had M elements
    where torch needs Cout, so here the bias is repeated the same way as the weight.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    m, dtype = spec.out_channels // spec.in_channels, getattr(torch, spec.dtype)
    conv = getattr(F, f"conv{spec.dim}d")
    # F.pad wants the last dimension first; non-zero modes pad before convolving, as nn.Conv does.
    pad = [p for left_right in reversed(spec.pads) for p in left_right]
    padding = spec.padding if spec.padding_mode == "zeros" else 0

    class SharedDepthwise(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(m, 1, *spec.kernel_size, device=device, dtype=dtype))
            self.bias = torch.nn.Parameter(torch.zeros(m, device=device, dtype=dtype)) if spec.bias else None

        def forward(self, x: Any) -> Any:
            if spec.padding_mode != "zeros":
                x = F.pad(x, pad, mode=spec.padding_mode)
            weight = self.weight.repeat(spec.in_channels, *[1] * (spec.dim + 1))  # output o uses kernel o % M
            bias = None if self.bias is None else self.bias.repeat(spec.in_channels)
            return conv(x, weight, bias, spec.stride, padding, spec.dilation, spec.in_channels)

    return SharedDepthwise()


_CONV_KINDS = ("conv", "depthwise", "pointwise")


def build_stack(result: StackResult, device: str = "meta") -> Any:
    """The stack as a torch.nn.Sequential in result.dtype on device; named_modules()[row.name] is each row.

    A dotted name (dwsep1.dw) nests: the halves of a depthwise-separable layer sit in a child
    Sequential (dwsep1), which runs them in order. Modules come in torch's default training mode.
    """
    import torch

    model = torch.nn.Sequential()
    for index, row in enumerate(result.layers, 1):
        _attach(model, index, row, build_row(row, device, result.dtype))
    return model


def build_row(row: StackLayer, device: str, dtype: str) -> Any:
    """The torch module of one row of a stack."""
    import torch

    if row.kind in _CONV_KINDS:
        assert row.conv is not None  # analyze_stack keeps the single-layer result of every conv row
        return build_layer(row.conv.spec, device)
    if row.kind in ("linear", "batchnorm"):
        return _weighted(row, device, getattr(torch, dtype))
    return _stateless(row)


def _weighted(row: StackLayer, device: str, dtype: Any) -> Any:
    import torch

    s, features = row.settings, row.input_shape[1]
    if row.kind == "linear":  # analyze_stack has checked its input is (N, features)
        return torch.nn.Linear(features, s["out"], bias=s["bias"], device=device, dtype=dtype)
    # BatchNorm1d takes (N, C) and (N, C, L); 2d and 3d one and two more spatial dimensions.
    norm = getattr(torch.nn, f"BatchNorm{max(_dim(row), 1)}d")
    options = {key: s[key] for key in ("eps", "momentum") if key in s}
    return norm(features, **options, device=device, dtype=dtype)


def _stateless(row: StackLayer) -> Any:
    """Modules without parameters: activations, pooling, flatten, dropout."""
    import torch

    s, dim = row.settings, _dim(row)
    if row.kind in ACTIVATION_KINDS:
        cls = getattr(torch.nn, ACTIVATION_KINDS[row.kind])
        return cls(negative_slope=s["negative_slope"]) if "negative_slope" in s else cls()
    if row.kind == "maxpool":
        window = _sizes(s, "kernel", "stride", "padding", "dilation")
        return getattr(torch.nn, f"MaxPool{dim}d")(*window, ceil_mode=s["ceil_mode"])
    if row.kind == "avgpool":
        window = _sizes(s, "kernel", "stride", "padding")
        return getattr(torch.nn, f"AvgPool{dim}d")(*window, ceil_mode=s["ceil_mode"])
    if row.kind == "adaptive_avgpool":
        return getattr(torch.nn, f"AdaptiveAvgPool{dim}d")(*_sizes(s, "out"))
    if row.kind == "flatten":
        return torch.nn.Flatten()
    if row.kind == "dropout":
        return torch.nn.Dropout(s["p"])
    raise ValueError(f"build_stack: unknown layer kind {row.kind!r}")  # analyze_stack admits none


def _dim(row: StackLayer) -> int:
    return len(row.input_shape) - 2  # spatial dimensions after batch and channels


def _sizes(settings: Mapping[str, Any], *keys: str) -> list[int | tuple[int, ...]]:
    # row.settings holds per-dimension sizes as lists (JSON-ready); torch's modules print tuples
    return [tuple(v) if isinstance(v, list) else v for v in (settings[key] for key in keys)]


def _attach(model: Any, index: int, row: StackLayer, module: Any) -> None:
    """Register module under row.name, creating a child Sequential for each dotted prefix."""
    import torch

    *parents, leaf = row.name.split(".")
    parent = model
    for part in parents:
        child = parent._modules.get(part)
        if child is None:
            child = torch.nn.Sequential()
            _add(parent, part, child, index, row)
        elif not isinstance(child, torch.nn.Sequential) or list(parent._modules)[-1] != part:
            # a row's own module, or a group already closed: nesting here would not run in order
            raise _name_error(
                index, row, f"{part!r} is already the name of another layer; rename one of them"
            )
        parent = child
    if leaf in parent._modules:  # add_module would replace it silently
        raise _name_error(
            index, row, f"{leaf!r} is already the name of a group of layers; rename one of them"
        )
    _add(parent, leaf, module, index, row)


def _add(parent: Any, name: str, module: Any, index: int, row: StackLayer) -> None:
    try:
        parent.add_module(name, module)
    except KeyError:  # torch refuses a name its own class uses: forward, training, append, ...
        raise _name_error(
            index, row, f"{name!r} is taken by torch.nn.Sequential itself; choose another name"
        ) from None


def _name_error(index: int, row: StackLayer, why: str) -> SpecFileError:
    return SpecFileError(f"layer {index} ({row.name}, {row.kind}): name: {why}")

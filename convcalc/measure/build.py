"""The torch modules convcalc measures: a layer (build_layer), a compare variant (build_variant) and a
stack (build_stack), a StackResult as one real torch module, every layer registered under its own name.

Every module comes from its layer kind's recipe (core/kinds): a torch.nn class and its arguments, from
the shapes analyze_stack already walked (the rank picks the 1-D, 2-D or 3-D class; linear's
in_features is its row's input). torch is imported inside functions only.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import SpecFileError
from ..core.kinds import KINDS
from ..core.kinds.base import Recipe, Row
from ..core.kinds.conv import conv_recipe
from ..core.spec import ConvSpec, pads_first, torch_padding
from ..core.stack_analysis import StackLayer, StackResult


def make(recipe: Recipe, device: str, dtype: str) -> Any:
    """The torch module a layer kind's recipe describes, on device, in dtype where it has parameters."""
    import torch

    def torch_value(value: Any) -> Any:  # a row's settings hold sizes as lists; torch prints tuples
        return tuple(value) if isinstance(value, list) else value

    args = [make(v, device, dtype) if isinstance(v, Recipe) else torch_value(v) for v in recipe.args]
    kwargs = {key: torch_value(v) for key, v in recipe.kwargs.items()}
    if recipe.typed:
        kwargs.update(device=device, dtype=getattr(torch, dtype))
    return getattr(torch.nn, recipe.cls)(*args, **kwargs)


def build_layer(spec: ConvSpec, device: str) -> Any:
    """The torch module spec describes, on device, in spec's dtype: the convolution, or a Sequential of
    the pad module and the convolution where its two sides pad differently (conv_recipe)."""
    return make(conv_recipe(spec), device, spec.dtype)


def conv_of(module: Any) -> Any:
    """The convolution of a module build_layer made: itself, or the last of its pad module and conv."""
    import torch

    return module[-1] if isinstance(module, torch.nn.Sequential) else module


def is_pad(module: Any) -> bool:
    """Whether a module is one of torch's pad modules (ZeroPad2d, ReflectionPad1d, ...): the padding a
    layer built as pad module and conv holds, counted with its convolution."""
    return type(module).__module__ == "torch.nn.modules.padding"


def build_variant(variant: Any, device: str) -> Any:
    """The variant's modules in order: each conv stage, then BatchNorm and the activation if asked."""
    import torch

    modules = []
    for spec in variant.stages:
        modules.append(shared_depthwise(spec, device) if variant.shared else build_layer(spec, device))
        out = (spec.batch, spec.out_channels, *spec.output_spatial)
        for kind in ("batchnorm",) * variant.bn + ((variant.act,) if variant.act else ()):
            modules.append(make(KINDS[kind].module(Row(kind, {}, out, out, 0)), device, spec.dtype))
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
    # F.pad wants the last dimension first; non-zero modes pad before convolving, as nn.Conv does, and so
    # does a padding whose two sides differ (per side, tf-same), as a pad module would.
    pad = [p for left_right in reversed(spec.pads) for p in left_right]
    first = spec.padding_mode != "zeros" or pads_first(spec) is not None
    mode = "constant" if spec.padding_mode == "zeros" else spec.padding_mode
    padding = 0 if first else torch_padding(spec)

    class SharedDepthwise(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(m, 1, *spec.kernel_size, device=device, dtype=dtype))
            self.bias = torch.nn.Parameter(torch.zeros(m, device=device, dtype=dtype)) if spec.bias else None

        def forward(self, x: Any) -> Any:
            if first:
                x = F.pad(x, pad, mode=mode)
            weight = self.weight.repeat(spec.in_channels, *[1] * (spec.dim + 1))  # output o uses kernel o % M
            bias = None if self.bias is None else self.bias.repeat(spec.in_channels)
            return conv(x, weight, bias, spec.stride, padding, spec.dilation, spec.in_channels)

    return SharedDepthwise()


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
    """The torch module of one row of a stack, by its kind's recipe."""
    return make(KINDS[row.kind].module(row), device, dtype)


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

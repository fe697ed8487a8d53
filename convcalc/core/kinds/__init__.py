"""Layer kinds: one entry per kind of layer a stack spec names or a model's trace reads, in one place.

An entry says everything convcalc knows of its kind, and every part of convcalc that needs a kind
reads it here:
- `fields`, `required`, `defaults`: the spec's fields and their types (stack_grammar reads them);
- `step(layer, shape, dtype)`: its analytic figures on an input (N, C, *spatial): the output shape,
  parameters, MACs, and the window and step of its receptive field (stack_analysis walks them);
- `backward(row, ...)`: what a training step computes and saves for its backward (core/backward.py);
- `module(row)`: how torch builds it, as a torch.nn class name and its arguments (measure/build.py);
- `torch_classes`, `from_module(module)`: the torch.nn classes a model's layer is read from
  (core/modules.py).

Each family module declares its kinds in ENTRIES; adding a kind is one class and one entry there.
Counting follows torch.utils.flop_counter, as everywhere: convolutions and linear layers have MACs;
batchnorm, activations, pooling, upsampling, flatten and dropout count none, as that counter counts
none of their ops. Standard library only: torch modules are read by duck typing and built in measure/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..spec import Size
from . import conv, dense, elementwise, resample
from .base import Kind, Step, receptive

__all__ = ["ACTIVATIONS", "BY_TORCH_CLASS", "ELEMENTWISE", "KINDS", "Kind", "Step", "layer_step", "receptive"]

KINDS: dict[str, Kind] = {
    kind.name: kind for family in (conv, elementwise, resample, dense) for kind in family.ENTRIES
}
ACTIVATIONS: dict[str, str] = {a.name: a.torch_class for a in elementwise.ACTIVATIONS}  # kind -> nn class
# The element-wise kinds (batchnorm, activations, dropout): a paper's table folds them into the layer before.
ELEMENTWISE = frozenset(kind.name for kind in elementwise.ENTRIES)
# torch.nn class name -> the kind a model's layer of that class is read as
BY_TORCH_CLASS: dict[str, Kind] = {cls: kind for kind in KINDS.values() for cls in kind.torch_classes}


def layer_step(layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
    """A layer's analytic figures on an input shape, by its kind's rule."""
    return KINDS[layer["kind"]].step(layer, shape, dtype)

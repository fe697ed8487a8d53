"""Training cost: the backward pass's MACs and the memory of one training step. Standard library only.

Counting follows torch.utils.flop_counter, as the forward does; convcalc reports the true counts and
verification compares like with like (measure/backward_step.py). Established on torch 2.13 (cpu and meta):

- A convolution's backward is one op, aten.convolution_backward, whose output_mask says which of
  grad input, grad weight and grad bias it computes; the CPU and meta backwards dispatch exactly it
  (padding modes add their pad's backward, which has no FLOP formula). Grad input is conv_transpose(
  grad_out, w) (for a transposed layer a convolution): the forward's multiply-accumulates. Grad weight
  pairs every weight with every output position it touched: the forward's count again. torch's formula
  (conv_backward_flop) counts grad input exactly, but grad weight as conv_flop_count on shapes with
  batch and channels swapped, which drops `groups`: it counts `groups` x the true multiply-accumulates
  (Cin x for a depthwise layer), for convolutions and transposed ones, 1-D to 3-D alike.
  `torch_grad_weight_macs` keeps what torch counts, for verification only.
- Bias grad: a sum of grad_out per channel, N x Cout x prod(out) additions, apart as forward bias adds
  are (torch counts 0). Linear (its input's leading dimensions N): grad input N x in x out, grad weight
  N x in x out (two mm ops), bias grad N x out adds. Batchnorm, activations, pools, flatten and dropout
  dispatch backward ops without a FLOP formula: 0 MACs, as their forward.
- Memory of a step: trainable weights, their grads (1x), optimizer state (SGD-momentum: a buffer per
  parameter, 1x; Adam: exp_avg and exp_avg_sq, 2x, plus a float32 `step` scalar per parameter tensor,
  kept on the cpu unless the optimizer is fused or capturable) and the activations autograd saves.
- Saved activations in training mode, each tensor once however many layers save it: conv and linear
  save their input (a padded copy instead where torch pads first: a non-zeros padding mode, or an
  asymmetric 'same'; reflect and replicate padding also keep the input when it needs a gradient);
  relu, sigmoid, tanh their output; relu6, leaky, gelu, silu their input; identity nothing; batchnorm
  its input and save_mean, save_invstd (C each, in the input's dtype; float32 for half precision on
  meta and cuda); maxpool its input and int64 indices of its output's shape; avgpool its input;
  adaptive_avgpool its input, nothing when every output size is 1 (a mean); flatten nothing (a view);
  dropout a mask of its input's shape in its dtype (a bool per element on cuda, whose fused kernel
  keeps one), one scalar at p = 1, nothing at p = 0 (the input itself is returned). Parameters and
  buffers do not count; the input batch does where the first layer saves it.
- A layer whose input needs no gradient and that has no parameters records nothing at all; a layer
  whose input needs no gradient (a stack's first) computes no grad input.
- The cuda rules (float32 batchnorm statistics, bool dropout mask) follow torch's source; they were not
  measured. mps is modelled as the cpu.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from math import prod
from typing import Any, NamedTuple

from .formulas import tensor_bytes
from .results import ConvResult
from .spec import DTYPE_BYTES, Size
from .stack_analysis import StackResult
from .variants import VariantResult

# Adam's `step`: a float32 scalar per parameter tensor (float64 where that is torch's default dtype)
ADAM_STEP_BYTES = 4
INDEX_BYTES = 8  # maxpool keeps int64 indices for its backward
SAVES_OUTPUT = ("relu", "sigmoid", "tanh")  # their grad is a function of the output
SAVES_INPUT = ("relu6", "leaky", "gelu", "silu", "avgpool")  # and conv, linear: see _conv_saved, _linear
ALIASES = ("flatten", "identity")  # a view of the input, or the input itself

TRAINING_FIGURES = {
    "grad_input_macs": "grad input MACs",
    "grad_weight_macs": "grad weight MACs",
    "backward_macs": "backward MACs",
    "backward_flops": "backward FLOPs (2 x MACs)",
    "bias_grad_adds": "bias grad adds",
    "weight_bytes": "trainable params memory",
    "grad_bytes": "gradients memory",
    "sgd_state_bytes": "SGD momentum memory",
    "adam_state_bytes": "Adam state memory",
    "saved_bytes": "saved activations",
    "sgd_total_bytes": "training memory (SGD-momentum)",
    "adam_total_bytes": "training memory (Adam)",
}
TRAINING_CONVENTION = (
    "backward MACs = grad input + grad weight multiply-accumulates (FLOPs = 2 x MACs, as "
    "torch.utils.flop_counter, whose formula counts a grouped conv's grad weight groups times; convcalc "
    "counts it once); bias grad adds apart; training memory = trainable weights + their grads + optimizer "
    "state (SGD momentum 1x, Adam 2x + a 4-byte step per parameter tensor) + activations saved for "
    "backward, each tensor once; the peak of the backward's own temporaries is not included."
)


@dataclass(frozen=True, slots=True)
class Training:
    """The backward pass's counts and one training step's memory, for a layer or a network."""

    grad_input_macs: int
    grad_weight_macs: int
    bias_grad_adds: int
    weight_bytes: int  # trainable parameter bytes
    grad_bytes: int
    sgd_state_bytes: int  # momentum buffers
    adam_state_bytes: int  # exp_avg + exp_avg_sq + step tensors
    saved_bytes: int  # activations saved for backward
    torch_grad_weight_macs: int  # grad weight as torch's formula counts it (groups x): verification only

    @property
    def backward_macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs

    @property
    def backward_flops(self) -> int:
        return 2 * self.backward_macs

    @property
    def sgd_total_bytes(self) -> int:
        return self.weight_bytes + self.grad_bytes + self.sgd_state_bytes + self.saved_bytes

    @property
    def adam_total_bytes(self) -> int:
        return self.weight_bytes + self.grad_bytes + self.adam_state_bytes + self.saved_bytes

    def figures(self) -> dict[str, int]:
        """Each figure of TRAINING_FIGURES by key."""
        return {key: getattr(self, key) for key in TRAINING_FIGURES}

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, **self.figures()}


def total(trainings: Iterable[Training]) -> Training:
    """Field by field sums: a network's figures from its layers'."""
    rows = list(trainings)
    return Training(**{f.name: sum(getattr(t, f.name) for t in rows) for f in fields(Training)})


class _Cost(NamedTuple):
    """One layer's figures before its saved tensors are deduplicated against earlier layers'."""

    grad_input_macs: int = 0
    grad_weight_macs: int = 0
    torch_grad_weight_macs: int = 0
    bias_grad_adds: int = 0
    params: int = 0  # trainable
    tensors: int = 0  # parameter tensors (one Adam step each)
    saved: tuple[tuple[Hashable, int], ...] = ()  # (tensor identity, bytes)

    def training(self, element_bytes: int, seen: set[Hashable]) -> Training:
        fresh = {key: size for key, size in self.saved if key not in seen}
        seen.update(fresh)
        weight = self.params * element_bytes
        return Training(
            grad_input_macs=self.grad_input_macs,
            grad_weight_macs=self.grad_weight_macs,
            bias_grad_adds=self.bias_grad_adds,
            weight_bytes=weight,
            grad_bytes=weight,  # a grad per trainable parameter, same dtype
            sgd_state_bytes=weight,  # one momentum buffer per parameter
            adam_state_bytes=2 * weight + ADAM_STEP_BYTES * self.tensors,  # exp_avg, exp_avg_sq, step
            saved_bytes=sum(fresh.values()),
            torch_grad_weight_macs=self.torch_grad_weight_macs,
        )


def conv_training(result: ConvResult, input_grad: bool = True) -> Training:
    """One convolution inside a network (input_grad: its input needs a gradient, as a later layer's)."""
    return _conv(result, input_grad, "input", "conv").training(result.spec.element_bytes, set())


def _conv(
    result: ConvResult, input_grad: bool, x: Hashable, tag: Hashable, shared_params: int | None = None
) -> _Cost:
    """shared_params: a compare variant's shared-kernel depthwise conv, with that many parameters."""
    spec = result.spec
    saved = _conv_saved(result, input_grad, x, tag)
    if shared_params is not None:  # kernels repeated to Cout x 1 x k: a tensor of its own, saved by the conv
        saved += (((tag, "weight"), spec.out_channels * prod(spec.kernel_size) * spec.element_bytes),)
    return _Cost(
        grad_input_macs=result.macs if input_grad else 0,  # conv_transpose(grad_out, w): the forward's MACs
        grad_weight_macs=result.macs,  # every weight meets every position it touched once: the forward's
        torch_grad_weight_macs=spec.groups * result.macs,  # torch's formula ignores groups here
        bias_grad_adds=result.bias_adds,  # a sum of grad_out per channel: N x Cout x prod(out)
        params=result.params if shared_params is None else shared_params,
        tensors=1 + spec.bias,
        saved=saved,
    )


def _conv_saved(
    result: ConvResult, input_grad: bool, x: Hashable, tag: Hashable
) -> tuple[tuple[Hashable, int], ...]:
    """The input the conv saves, or the padded copy torch makes before convolving (and keeps)."""
    spec, size = result.spec, result.spec.element_bytes
    lead = result.input_shape[:2]  # N, Cin
    if spec.padding_mode != "zeros":  # F.pad by both sides first, then a convolution without padding
        padded = tuple(n + left + right for n, (left, right) in zip(spec.input_size, spec.pads))
        copy = ((tag, "padded"), tensor_bytes((*lead, *padded), size))
        # reflect and replicate pads need their input for their own backward; circular does not
        keeps_input = input_grad and spec.padding_mode in ("reflect", "replicate")
        return ((x, result.memory.input_bytes), copy) if keeps_input else (copy,)
    if any(left != right for left, right in spec.pads):  # asymmetric 'same': the odd extra on the right
        padded = tuple(n + right - left for n, (left, right) in zip(spec.input_size, spec.pads))
        return (((tag, "padded"), tensor_bytes((*lead, *padded), size)),)
    return ((x, result.memory.input_bytes),)


class _Row(NamedTuple):
    """What a layer of a chain needs here: a stack's row, or a compare variant's module."""

    kind: str
    settings: Mapping[str, Any]
    input_shape: Size
    output_shape: Size
    params: int
    conv: ConvResult | None = None
    shared: bool = False


def stack_training(result: StackResult, device: str = "cpu") -> tuple[tuple[Training, ...], Training]:
    """Per layer and in total; the first layer's input (the batch) needs no gradient, as in training.

    device picks torch's rules where they differ (batchnorm statistics in half precision, dropout's
    mask); for a check, the device the measurement ran on (meta when the plan fell back to it).
    """
    rows = [
        _Row(r.kind, r.settings, r.input_shape, r.output_shape, r.trainable_params, r.conv)
        for r in result.layers
    ]
    layers = tuple(_walk(rows, DTYPE_BYTES[result.dtype], False, device))
    return layers, total(layers)


def variant_training(result: VariantResult, input_grad: bool = True, device: str = "cpu") -> Training:
    """A compare variant: its conv stages, each followed by BatchNorm and the activation if asked."""
    variant, rows = result.variant, []
    for stage in result.stages:
        params = result.weight_params + result.bias_params if variant.shared else stage.params
        out = stage.output_shape
        rows.append(_Row("conv", {}, stage.input_shape, out, params, stage, variant.shared))
        if variant.bn:
            rows.append(_Row("batchnorm", {}, out, out, 2 * out[1]))  # weight and bias per channel
        if variant.act:
            rows.append(_Row(variant.act, {}, out, out, 0))
    return total(_walk(rows, result.stages[0].spec.element_bytes, input_grad, device))


def _walk(rows: Sequence[_Row], element_bytes: int, input_grad: bool, device: str) -> list[Training]:
    """Each layer's Training; a tensor saved by several layers counts for the first."""
    seen: set[Hashable] = set()
    current: Hashable = 0  # the running activation: 0 the input, i the output of layer i
    grad = input_grad
    out = []
    for index, row in enumerate(rows, 1):
        cost, alias = _layer(row, index, current, grad, element_bytes, device)
        out.append(cost.training(element_bytes, seen))
        grad = grad or row.params > 0
        current = current if alias else index
    return out


def _layer(row: _Row, index: int, x: Hashable, grad: bool, size: int, device: str) -> tuple[_Cost, bool]:
    """(the layer's cost, whether its output is its input or a view of it)."""
    kind, settings = row.kind, row.settings
    alias = kind in ALIASES or (kind == "dropout" and settings["p"] == 0)
    if not grad and row.params == 0:  # nothing needs a gradient yet: autograd records nothing
        return _Cost(), alias
    if row.conv is not None:
        return _conv(row.conv, grad, x, index, row.params if row.shared else None), alias
    if kind == "linear":
        return _linear(row, grad, x, size), alias
    tensors = 2 if kind == "batchnorm" else 0  # its weight and bias
    return _Cost(params=row.params, tensors=tensors, saved=_saved(row, index, x, size, device)), alias


def _linear(row: _Row, grad: bool, x: Hashable, size: int) -> _Cost:
    samples, features, out = prod(row.input_shape[:-1]), row.input_shape[-1], row.output_shape[-1]
    # grad input: grad_out (N, out) @ W (out, in); grad weight: grad_out^T (out, N) @ x (N, in)
    macs = samples * features * out
    bias = bool(row.settings.get("bias", True))
    return _Cost(
        grad_input_macs=macs if grad else 0,
        grad_weight_macs=macs,
        torch_grad_weight_macs=macs,
        bias_grad_adds=samples * out if bias else 0,  # grad_out summed over the N rows
        params=row.params,
        tensors=1 + bias,
        saved=((x, tensor_bytes(row.input_shape, size)),),
    )


def _saved(row: _Row, index: int, x: Hashable, size: int, device: str) -> tuple[tuple[Hashable, int], ...]:
    """The tensors a layer without a weight matrix saves for its backward (batchnorm's included)."""
    kind, settings = row.kind, row.settings
    given = ((x, tensor_bytes(row.input_shape, size)),)
    if kind in SAVES_OUTPUT:
        return ((index, tensor_bytes(row.output_shape, size)),)
    if kind in SAVES_INPUT or (kind == "adaptive_avgpool" and set(row.output_shape[2:]) != {1}):
        return given
    if kind == "batchnorm":  # save_mean and save_invstd, per channel
        return (*given, ((index, "stats"), 2 * row.input_shape[1] * _stat_bytes(size, device)))
    if kind == "maxpool":
        return (*given, ((index, "indices"), tensor_bytes(row.output_shape, INDEX_BYTES)))
    if kind == "dropout" and settings["p"] == 1:  # input * a zero scalar
        return (((index, "mask"), size),)
    if kind == "dropout" and settings["p"] > 0:
        mask = 1 if _base(device) == "cuda" else size  # cuda's fused kernel keeps a bool mask
        return (((index, "mask"), tensor_bytes(row.input_shape, mask)),)
    return ()  # identity, flatten, dropout at p = 0, adaptive_avgpool to 1 (a mean)


def _stat_bytes(element_bytes: int, device: str) -> int:
    """batchnorm's saved statistics: the input's dtype, float32 for half precision on meta and cuda."""
    return max(element_bytes, 4) if _base(device) in ("meta", "cuda") else element_bytes


def _base(device: str) -> str:
    return device.partition(":")[0]

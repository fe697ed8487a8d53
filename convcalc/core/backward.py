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

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import fields

from .kinds import KINDS
from .kinds.base import Cost, Row
from .kinds.conv import conv_cost
from .results import ConvResult, Training
from .spec import DTYPE_BYTES
from .stack_analysis import StackResult
from .variants import VariantResult

# Adam's `step`: a float32 scalar per parameter tensor (float64 where that is torch's default dtype)
ADAM_STEP_BYTES = 4


def total(trainings: Iterable[Training]) -> Training:
    """Field by field sums: a network's figures from its layers'."""
    rows = list(trainings)
    return Training(**{f.name: sum(getattr(t, f.name) for t in rows) for f in fields(Training)})


def training(cost: Cost, element_bytes: int, seen: set[Hashable]) -> Training:
    """A layer's Training from its cost; a tensor in seen (saved by an earlier layer) counts there."""
    fresh = {key: size for key, size in cost.saved if key not in seen}
    seen.update(fresh)
    weight = cost.params * element_bytes
    return Training(
        grad_input_macs=cost.grad_input_macs,
        grad_weight_macs=cost.grad_weight_macs,
        bias_grad_adds=cost.bias_grad_adds,
        weight_bytes=weight,
        grad_bytes=weight,  # a grad per trainable parameter, same dtype
        sgd_state_bytes=weight,  # one momentum buffer per parameter
        adam_state_bytes=2 * weight + ADAM_STEP_BYTES * cost.tensors,  # exp_avg, exp_avg_sq, step
        saved_bytes=sum(fresh.values()),
        torch_grad_weight_macs=cost.torch_grad_weight_macs,
    )


def conv_training(result: ConvResult, input_grad: bool = True) -> Training:
    """One convolution inside a network (input_grad: its input needs a gradient, as a later layer's)."""
    return training(conv_cost(result, input_grad, "input", "conv"), result.spec.element_bytes, set())


def stack_training(result: StackResult, device: str = "cpu") -> tuple[tuple[Training, ...], Training]:
    """Per layer and in total; the first layer's input (the batch) needs no gradient, as in training.

    device picks torch's rules where they differ (batchnorm statistics in half precision, dropout's
    mask); for a check, the device the measurement ran on (meta when the plan fell back to it).
    """
    rows = [
        Row(r.kind, r.settings, r.input_shape, r.output_shape, r.trainable_params, r.conv)
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
        rows.append(Row("conv", {}, stage.input_shape, out, params, stage, variant.shared))
        if variant.bn:
            rows.append(Row("batchnorm", {}, out, out, 2 * out[1]))  # weight and bias per channel
        if variant.act:
            rows.append(Row(variant.act, {}, out, out, 0))
    return total(_walk(rows, result.stages[0].spec.element_bytes, input_grad, device))


def _walk(rows: Sequence[Row], element_bytes: int, input_grad: bool, device: str) -> list[Training]:
    """Each layer's Training, by its kind's rule; a tensor saved by several layers counts for the first."""
    seen: set[Hashable] = set()
    current: Hashable = 0  # the running activation: 0 the input, i the output of layer i
    grad = input_grad
    out = []
    for index, row in enumerate(rows, 1):
        kind = KINDS[row.kind]
        recorded = grad or row.params > 0  # nothing needs a gradient yet: autograd records nothing
        cost = kind.backward(row, index, current, grad, element_bytes, device) if recorded else Cost()
        out.append(training(cost, element_bytes, seen))
        grad = recorded
        current = current if kind.aliases(row.settings) else index
    return out

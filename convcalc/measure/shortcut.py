"""Shapes of a few simple ops on the meta device, without torch's Python reference kernels.

On meta, torch runs element-wise ops, BatchNorm, mean and addmm through its Python references
(torch._refs), whose first use imports about 340 more modules, sympy among them: 0.7 s of a
ResNet-50 trace, more than the rest of it. For these ops the meta result is only an empty tensor of a
shape and dtype anyone can state, so this mode, the outermost one (after the FLOP witness has counted
the op), answers them itself -- and only when every input is an ordinary floating-point meta tensor of
one dtype and the shapes fit, so anything torch would refuse or type-promote still goes to torch.
Convolutions, pooling and every other op are torch's. tests/measure/test_trace.py checks that a trace with
and without it gives the same shapes and counts.
"""

from __future__ import annotations

from typing import Any

_IN_PLACE = ("relu_", "hardtanh_", "leaky_relu_", "silu_", "sigmoid_", "tanh_", "add_", "mul_", "sub_")
_OUT_OF_PLACE = ("relu", "hardtanh", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "add", "mul", "sub")


def shortcut_mode() -> Any:
    from torch.utils._python_dispatch import TorchDispatchMode

    class MetaShortcut(TorchDispatchMode):
        pass

    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = _answer(func, args, kwargs)
        return func(*args, **kwargs) if out is None else out

    MetaShortcut.__torch_dispatch__ = dispatch  # after creation: no dynamo shim (see witness.py)
    return MetaShortcut()


def _answer(func: Any, args: Any, kwargs: Any) -> Any:
    """The op's meta result, or None to leave it to torch."""
    import torch

    name = func.overloadpacket.__name__
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors or not _plain(tensors):
        return None
    first = tensors[0]
    if name in _IN_PLACE + _OUT_OF_PLACE and func._overloadname in ("default", "Tensor", "Scalar"):
        if set(kwargs) - {"alpha"} or not all(isinstance(a, torch.Tensor | int | float) for a in args):
            return None
        shape = _broadcast([t.shape for t in tensors])
        if name in _IN_PLACE:
            return first if shape == first.shape else None
        return torch.empty_like(first) if shape == first.shape else None
    if func is torch.ops.aten.native_batch_norm.default:
        return _batch_norm(first, args)
    if func is torch.ops.aten.mean.dim and not kwargs.get("dtype"):
        return _mean(first, args, kwargs)
    if func is torch.ops.aten.addmm.default and len(tensors) == 3 and not kwargs:
        return _addmm(*tensors)
    return None


def _plain(tensors: list[Any]) -> bool:
    """Ordinary floating-point meta tensors of one dtype, no subclass (trace runs under no_grad)."""
    import torch

    dtype = tensors[0].dtype
    return all(
        type(t) in (torch.Tensor, torch.nn.Parameter)
        and t.device.type == "meta"
        and t.dtype == dtype
        and t.is_floating_point()
        for t in tensors
    )


def _broadcast(shapes: list[Any]) -> Any:
    import torch

    try:
        return torch.broadcast_shapes(*shapes)
    except RuntimeError:
        return None


def _batch_norm(x: Any, args: Any) -> Any:
    import torch

    channels = x.shape[1] if x.dim() >= 2 else None
    stats = [a for a in args[1:5] if isinstance(a, torch.Tensor)]
    if channels is None or any(tuple(s.shape) != (channels,) for s in stats):
        return None
    return torch.empty_like(x), x.new_empty((channels,)), x.new_empty((channels,))


def _mean(x: Any, args: Any, kwargs: Any) -> Any:
    dims = args[1] if len(args) > 1 else None
    keep = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if not dims or any(not -x.dim() <= d < x.dim() for d in dims):
        return None
    dims = {d % x.dim() for d in dims}
    shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keep or i not in dims]
    return x.new_empty(shape)


def _addmm(bias: Any, left: Any, right: Any) -> Any:
    if left.dim() != 2 or right.dim() != 2 or left.shape[1] != right.shape[0]:
        return None
    shape = (left.shape[0], right.shape[1])
    return left.new_empty(shape) if _broadcast([bias.shape, shape]) == shape else None

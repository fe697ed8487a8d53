"""Values on the meta device: a forward that reads a tensor's value (.item(), `if mask.all():`, a shape
that depends on data) cannot run on meta, where tensors have shapes and no data. Hugging Face decoders do
it in their mask code, on tensors made from the inputs and torch.arange: small, and known. So beside
the meta pass, each tensor whose value convcalc knows (an input it made, a factory op, what small
known tensors give) keeps a shadow on the cpu, computed op by op; a value read is the shadow's, and an
op meta cannot run (nonzero, a data-dependent shape) is answered from the shadows. A value no shadow
knows (one computed from weights, which meta does not hold) is guessed 0 and counted, so the report
says so. torch is imported inside functions only.
"""

from __future__ import annotations

from typing import Any

from .factories import SHADOW_ELEMENTS
from .feed import fill

READ_ELEMENTS = 1 << 24  # elements an op on shadows may read (a made input's sum): its work bounded


def value_mode(made: tuple[Any, ...] = ()) -> Any:
    """A dispatch mode keeping cpu shadows of the meta tensors whose values are known, starting from the
    inputs convcalc made (feed.fill says what they hold). Its `known` and `guessed` count the values the
    forward read."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
    from torch.utils._pytree import tree_flatten, tree_map
    from torch.utils.weak import WeakTensorKeyDictionary

    scalar = torch.ops.aten._local_scalar_dense.default

    class Values(TorchDispatchMode):
        pass

    def init(self: Any) -> None:
        TorchDispatchMode.__init__(self)
        self.shadows = WeakTensorKeyDictionary()
        self.known = self.guessed = 0
        self.made_bytes = 0  # bytes of every tensor the forward made on meta: at least what a real pass holds
        for tensor in made:  # one value, expanded: an input of any size costs one element
            if tensor.is_meta:
                one = torch.full((), fill(tensor.dtype), dtype=tensor.dtype)
                self.shadows[tensor] = one.expand(tensor.shape)

    def shadow_of(self: Any, value: Any) -> Any:
        """The cpu value of an argument: a meta tensor's shadow (None if unknown), anything else itself."""
        if isinstance(value, torch.Tensor) and value.device.type == "meta":
            return self.shadows.get(value)
        return value

    def on_cpu(self: Any, func: Any, args: Any, kwargs: Any, small: bool) -> Any:
        """func run on the shadows, None where one is unknown, too big or the op fails there. small: the
        outputs are known to be small (meta made them), so only what the arguments hold is bounded;
        else (meta could not say) the arguments' sizes too, which bound such an op's outputs."""
        flat, _ = tree_flatten((args, kwargs))
        tensors = [t for t in flat if isinstance(t, torch.Tensor)]
        if any(t.device.type not in ("meta", "cpu") for t in tensors):
            return None
        if any(t.device.type == "meta" and t not in self.shadows for t in tensors):
            return None
        cpu_args, cpu_kwargs = tree_map(lambda v: shadow_of(self, v), (args, kwargs))
        held = [t for t in tree_flatten((cpu_args, cpu_kwargs))[0] if isinstance(t, torch.Tensor)]
        most = READ_ELEMENTS if small else SHADOW_ELEMENTS
        if any(_held(t) > SHADOW_ELEMENTS or t.numel() > most for t in held):
            return None
        if isinstance(cpu_kwargs.get("device"), torch.device | str):
            cpu_kwargs = {
                **cpu_kwargs,
                "device": "cpu" if _is_meta(cpu_kwargs["device"]) else cpu_kwargs["device"],
            }
        try:
            with _disable_current_modes():  # counted once, on meta; these are not the model's work
                return func(*cpu_args, **cpu_kwargs)
        except Exception:
            return None

    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is scalar and args[0].device.type == "meta":
            known = self.shadows.get(args[0])
            if known is not None:
                self.known += 1
                return known.item()
            self.guessed += 1
            kind = args[0].dtype
            return False if kind == torch.bool else 0.0 if kind.is_floating_point else 0
        try:
            out = func(*args, **kwargs)
        except Exception:
            mixed = cpu_to_meta(self, func, args, kwargs)
            if mixed is not None:
                return mixed
            computed = on_cpu(self, func, args, kwargs, small=False)
            if computed is None:
                raise
            # what meta could not answer (nonzero's shape): the shadows' result, on meta unless the
            # forward asked for its data elsewhere (.cpu(), .tolist())
            wants_cpu = func is torch.ops.aten._to_copy.default and not _is_meta(kwargs.get("device", "meta"))
            out = computed if wants_cpu else tree_map(_to_meta, computed)
            self.known += 1  # a value read too: the data behind a shape (nonzero, a mask's selection)
            keep(self, out, computed)
            return out
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        schema = getattr(func, "_schema", None)
        if schema is None or all(r.alias_info is None for r in schema.returns):  # a view makes nothing
            self.made_bytes += sum(t.numel() * t.element_size() for t in outputs if t.is_meta)
        if outputs and all(t.device.type == "meta" and t.numel() <= SHADOW_ELEMENTS for t in outputs):
            computed = on_cpu(self, func, args, kwargs, small=True)
            if computed is not None:
                keep(self, out, computed)
                return out
        forget_written(self, func, args, kwargs)
        return out

    def cpu_to_meta(self: Any, func: Any, args: Any, kwargs: Any) -> Any:
        """func again with the cpu tensors it mixes with meta ones moved to meta (an index or a mask the
        forward made on the cpu), each keeping its value as a shadow; None where there is no such mix."""
        flat = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if not any(t.is_meta for t in flat) or not any(t.device.type == "cpu" and t.dim() for t in flat):
            return None

        def moved(value: Any) -> Any:
            if not isinstance(value, torch.Tensor) or value.device.type != "cpu" or not value.dim():
                return value
            on_meta = value.to("meta")
            if value.numel() <= SHADOW_ELEMENTS:
                self.shadows[on_meta] = value
            return on_meta

        meta_args, meta_kwargs = tree_map(moved, (args, kwargs))
        try:
            return dispatch(self, func, (), meta_args, meta_kwargs)
        except Exception:
            return None

    def keep(self: Any, out: Any, computed: Any) -> None:
        """Each meta output's shadow: the cpu result in the same place."""
        for tensor, value in zip(tree_flatten(out)[0], tree_flatten(computed)[0], strict=False):
            if isinstance(tensor, torch.Tensor) and isinstance(value, torch.Tensor) and tensor.is_meta:
                self.shadows[tensor] = value

    def forget_written(self: Any, func: Any, args: Any, kwargs: Any) -> None:
        """An op that wrote to a shadowed tensor without a shadow of its own: that shadow is stale."""
        schema = getattr(func, "_schema", None)
        if schema is None or not schema.is_mutable:
            return
        given = dict(zip((a.name for a in schema.arguments), args, strict=False)) | kwargs
        for argument in schema.arguments:
            if argument.alias_info is not None and argument.alias_info.is_write:
                written = given.get(argument.name)
                if isinstance(written, torch.Tensor) and written in self.shadows:
                    del self.shadows[written]

    Values.__init__ = init
    Values.__torch_dispatch__ = dispatch  # after creation: no dynamo shim (see witness.py)
    return Values()


def _held(tensor: Any) -> int:
    """The elements a tensor's storage holds: one for an input's expanded value, whatever its shape."""
    return tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)


def _is_meta(device: Any) -> bool:
    return device is not None and str(device).startswith("meta")


def _to_meta(value: Any) -> Any:
    import torch

    return value.to("meta") if isinstance(value, torch.Tensor) else value

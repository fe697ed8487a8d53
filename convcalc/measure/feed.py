"""What a model's forward is called with, made in torch: a tensor for each input (zeros; integer ids zero,
masks all true), the other keyword arguments, or whatever a user's --inputs callable returns, on the
model's device. torch is imported inside functions only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import prod
from typing import Any

from ..core.errors import ConvCalcError, InvalidSpecError, term
from ..core.inputs import INPUT_DTYPES, InputSpec, Request
from ..core.plan import INT64, oversized

MAKER = term("inputs=callable")  # the CLI's --inputs FILE.py:callable


@dataclass(frozen=True)
class Fed:
    """What a forward was called with: the positional and keyword arguments, and each tensor among them as
    (name, shape, dtype) -- a keyword's name, or the position for a positional one."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    records: tuple[tuple[str, tuple[int, ...], str], ...]
    made: tuple[Any, ...] = ()  # the tensors made from shapes, whose values are known: fill(dtype)
    default: str = ""  # whose default the inputs are, where none were given (Request.default)

    def call(self, module: Any) -> Any:
        return module(*self.args, **self.kwargs)

    @property
    def tensors(self) -> list[Any]:
        import torch

        return [t for t in (*self.args, *self.kwargs.values()) if isinstance(t, torch.Tensor)]

    @property
    def bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors)


def feed(request: Request, device: Any, float_dtype: Any) -> Fed:
    """The request's inputs made on device; a floating input in float_dtype unless it names its own."""
    import torch

    made = []
    if request.maker is not None:
        args, kwargs = _made(request, device)
    else:
        args, kwargs = [], {}
        for name, item in request.items:
            tensor = item
            if not isinstance(item, torch.Tensor):
                tensor = _tensor(item, request.batch, device, float_dtype)
                made.append(tensor)
            if name is None:
                args.append(tensor)
            else:
                kwargs[name] = tensor
    kwargs = {**kwargs, **request.kwargs}
    records = [(str(i), t) for i, t in enumerate(args)] + list(kwargs.items())
    described = tuple(
        (name, tuple(t.shape), str(t.dtype).removeprefix("torch."))
        for name, t in records
        if isinstance(t, torch.Tensor)
    )
    return Fed(tuple(args), kwargs, described, tuple(made), request.default)


def _tensor(spec: InputSpec, batch: int, device: Any, float_dtype: Any) -> Any:
    import torch

    dtype = getattr(torch, spec.dtype) if spec.dtype else float_dtype
    size = (batch, *spec.shape)
    bytes_each = INPUT_DTYPES.get(str(dtype).removeprefix("torch."), dtype.itemsize)
    too_big = oversized(f"input {spec.text}", size, bytes_each) or (
        max(size) >= INT64 and f"a size of input {spec.text} is past 64 bits"
    )
    if too_big:
        raise InvalidSpecError("inputs", f"{too_big}; use a smaller {term('inputs')} or {term('batch')}")
    return torch.full(size, fill(dtype), dtype=dtype, device=device)


def fill(dtype: Any) -> int:
    """What an input made from a shape holds: a bool mask all true (it hides nothing), else zeros (integer
    ids 0 are valid in every vocabulary)."""
    import torch

    return 1 if dtype == torch.bool else 0


def _made(request: Request, device: Any) -> tuple[list[Any], dict[str, Any]]:
    """The inputs a user's callable returns, made under device (tensors cost nothing on meta): a tensor, a
    tuple or list of positional inputs, a dict of keyword inputs, or (args, kwargs)."""
    import torch

    try:
        with torch.device(device):
            made = request.maker()
    except (KeyboardInterrupt, ConvCalcError):
        raise
    except BaseException as exc:  # the user's code: whatever it raises is one line
        from .trace import error_line

        raise ConvCalcError(f"{MAKER}: {request.maker_name}() raised {error_line(exc)}") from None
    if isinstance(made, torch.Tensor):
        made = (made,)
    args: Any = None
    if isinstance(made, dict):
        args, kwargs = [], dict(made)
    elif (
        isinstance(made, tuple)
        and len(made) == 2
        and isinstance(made[0], tuple | list)
        and isinstance(made[1], dict)
    ):
        args, kwargs = list(made[0]), dict(made[1])
    elif isinstance(made, tuple | list):
        args, kwargs = list(made), {}
    if args is not None:
        bad = next((k for k in kwargs if not isinstance(k, str)), None)
        if bad is None:
            # a tensor the callable made elsewhere on purpose (torch.zeros(..., device="cpu")) goes where
            # the model is, as torch would need it; one on meta holds no values to move
            tensors = [v for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor)]
            if torch.device(device).type != "meta" and any(t.is_meta for t in tensors):
                raise ConvCalcError(
                    f"{MAKER}: {request.maker_name}() returned a tensor on the meta device, which holds no "
                    f"values for a pass on {device}; make its tensors without a device (it is called "
                    "under the device of each pass)"
                )
            on = lambda v: v.to(device) if isinstance(v, torch.Tensor) else v  # noqa: E731
            return [on(a) for a in args], {k: on(v) for k, v in kwargs.items()}
        raise ConvCalcError(f"{MAKER}: {request.maker_name}() returned a dict keyed by {bad!r}; use names")
    raise ConvCalcError(
        f"{MAKER}: {request.maker_name}() returned a {type(made).__name__}; return a tensor, a tuple of "
        "inputs, a dict of keyword inputs, or (args, kwargs)"
    )


def check_call(model: Any, fed: Fed, request: Request) -> None:
    """The forward's signature takes what it is given, checked before anything runs, so that a missing or
    unknown input is one line naming the signature, never a forward that fails (and a cpu fallback)."""
    import inspect

    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):  # a builtin or an extension type: torch will say
        return
    try:
        signature.bind(*fed.args, **fed.kwargs)
    except TypeError as exc:
        shown = _plain(signature)
        advice = (
            f"make {request.maker_name}() return what it takes"
            if request.maker
            else f"give each tensor with {term('inputs')} (NAME=SHAPE for a keyword one) and other "
            f"arguments with {term('args')}"
        )
        where = MAKER if request.maker else term("inputs")
        named = re.search(r"keyword argument '(\w+)'", str(exc))
        if named and named[1] in request.kwargs:  # an --arg the forward does not take
            where = term("args")
        raise ConvCalcError(f"{where}: {type(model).__name__}.forward{shown}: {exc}; {advice}") from None


def _plain(signature: Any) -> str:
    """A signature as a user reads it: (x, y, scale=1.0, *args), no annotations; cut to 120 characters."""
    import inspect

    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    parts = []
    for p in signature.parameters.values():
        default = (
            "" if p.default is p.empty else "=" + (repr(p.default) if len(repr(p.default)) <= 12 else "...")
        )
        parts.append(stars.get(p.kind, "") + p.name + default)
    shown = f"({', '.join(parts)})"
    return shown if len(shown) <= 120 else shown[:116] + "...)"


def shape_of(fed: Fed) -> tuple[int, ...]:
    """The first input's shape, batch included (the report's input_shape); () without a tensor input."""
    return fed.records[0][1] if fed.records else ()


def elements(fed: Fed) -> int:
    return sum(prod(shape) for _, shape, _ in fed.records)

"""trace(): run a torch module once and record what each of its submodules did.

Per module, over every call: the input and output shapes of its first call, the FLOPs of the ops it
ran (children included), its output bytes, and -- for the layers convcalc models (core/modules.py) --
convcalc's own figures for each call's input; and the receptive field of each output, carried op by op
(fields.py), or why not.
One forward pass under the FLOP witness; pre- and post-hooks read the running count. torch is imported
inside functions only.
"""

from __future__ import annotations

import contextlib
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConvCalcError, InvalidSpecError, printable, short
from ..core.kinds import Step, layer_step
from ..core.modules import layer_from_module
from ..core.receptive import INPUT
from ..core.spec import DTYPE_BYTES
from .factories import big_factories_to_meta
from .field_rules import field_mode
from .fields import Field, Fields, Lost
from .shortcut import shortcut_mode
from .witness import by_matmuls, counting

# Told, now and then, how many of the model's modules the trace has met so far and how many there are;
# (0, 0) when it ends. The CLI sets it to draw a progress bar on a terminal (cli/progress.py).
PROGRESS: ContextVar[Callable[[int, int], None] | None] = ContextVar("progress", default=None)
PROGRESS_EVERY = 256  # module calls between two reports: a call to Python costs little that seldom


class ForwardError(ConvCalcError):
    """The model raised in its forward pass: one line naming the module and torch's message."""


@dataclass(slots=True)  # 100,000 of them in a model of as many modules: no dict each
class Record:
    """One module: what torch ran, summed over its calls, and convcalc's figures where it models it."""

    name: str
    module: Any
    calls: int = 0
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    flops: int = 0
    uncounted: int = 0  # calls of ops that ran without a FLOP formula (uncounted.py), children's included
    output_bytes: int = 0
    steps: list[Step] | None = None  # convcalc's figures per call; None where it does not model it
    layer: dict[str, Any] | None = None  # the module read as a stack layer, where convcalc models it
    out_field: Field | Lost | None = None  # the first call's output's; None: not a map of the input
    last_field: Field | Lost | None = None  # the last call's: what a container looped over gives on
    summed: bool = False  # never called, but its children were (looped over): its figures are their sums
    dtype: str | None = None  # its first call's input's, where that differs from the model's (a cast)
    _starts: list[tuple[int, int]] = field(default_factory=list)  # the counts at each call's start

    @property
    def depth(self) -> int:
        return 0 if not self.name else self.name.count(".") + 1


@dataclass
class Trace:
    records: list[Record]  # in the order of their first call; modules never called last
    flops: int
    witness: str
    note: str
    output_shape: tuple[int, ...] | None
    outputs: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)  # path, shape, dtype
    read: tuple[int, int] = (0, 0)  # values the forward read on meta: known from shadows, guessed 0
    uncounted: dict[str, int] = field(default_factory=dict)  # calls by op no formula counted, most first
    conventions: dict[str, str] = field(default_factory=dict)  # taken as constant -> first module
    mapped: bool = False  # some input is a spatial map (so has a receptive field)


def trace(
    model: Any,
    args: tuple[Any, ...],
    dtype: str,
    kwargs: dict[str, Any] | None = None,
    shortcut: bool = True,
    values: Any = None,
) -> Trace:
    """Run model(*args, **kwargs) once, without gradients, and record every submodule; ForwardError if it
    raises. Every output tensor is listed with its path in what the forward returned.

    shortcut: on meta, answer simple ops' shapes without torch's Python references (shortcut.py).
    values: on meta, a values.value_mode(): a value the forward reads from a tensor (.item(), bool(t)) is
    known from the cpu shadows it keeps, else guessed 0, so that a forward that reads data runs there."""
    import torch

    if isinstance(model, torch.jit.ScriptModule):  # it refuses the hooks a trace needs
        raise ConvCalcError(
            "model: a TorchScript module; convcalc traces an nn.Module's forward: give the module before "
            "torch.jit.script or torch.jit.trace"
        )
    records = {id(m): Record(name, m) for name, m in model.named_modules(remove_duplicate=True)}
    kwargs = kwargs or {}
    fields = Fields([*model.parameters(), *model.buffers()])
    tensors = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor)]
    for x in tensors:  # every input map (N, C, *spatial) starts from r = j = 1
        if x.dim() >= 3 and x.is_floating_point():
            axes = tuple((2 + i, 1, n) for i, n in enumerate(x.shape[2:]))
            fields.set(x, Field((INPUT,) * (x.dim() - 2), axes))
    on_meta = any(t.device.type == "meta" for t in tensors)
    order: list[Record] = []
    # Outermost, so the FLOP witness has counted an op before the shortcut answers it.
    outer = shortcut_mode() if shortcut and on_meta else contextlib.nullcontext()
    reading = values if values is not None and on_meta else contextlib.nullcontext()
    progress = PROGRESS.get()
    with outer, counting() as tally, reading:
        handles = _hook(records, order, tally, fields, dtype, progress)
        try:
            # no_grad: inference_mode hides ops from the count
            # on meta, a big tensor the forward makes itself (torch.ones(n, n)) is made there too
            big = big_factories_to_meta() if on_meta else contextlib.nullcontext()
            with torch.no_grad(), big, by_matmuls(model), field_mode(fields):
                y = model(*args, **kwargs)
        except (ConvCalcError, KeyboardInterrupt):
            raise
        except BaseException as exc:  # SystemExit and GeneratorExit too: whatever user code raises
            raise ForwardError(_failure(model, _raised_in(exc, records), exc)) from None
        finally:
            _unhook(handles)
            if progress is not None:
                progress(0, 0)  # done: the bar goes
    outputs = output_tensors(y)
    shape = outputs[0][1] if outputs else None  # the first tensor, as on the model's row
    read = (values.known, values.guessed) if values is not None and on_meta else (0, 0)
    rows = _with_uncalled(order, records)
    uncounted = dict(tally.uncounted.most_common())
    mapped = any(fields.state(x) is not None for x in tensors)
    return Trace(
        rows,
        tally.total(),
        tally.witness,
        tally.note,
        shape,
        outputs,
        read,
        uncounted,
        fields.conventions,
        mapped,
    )


def output_tensors(value: Any) -> list[tuple[str, tuple[int, ...], str]]:
    """Every tensor a forward returned, nested in tuples, lists, dicts, dataclasses or a library's output
    object, with its path ('' for the output itself, 'logits', '1.0'), its shape and dtype, in order."""
    return [(path, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for path, t in _tensors(value)]


def _tensors(value: Any) -> Iterator[tuple[str, Any]]:
    """(path, tensor) for each tensor in value, depth first in order. Each container is opened once, so
    an output that holds itself ends, and no nesting is too deep (no recursion)."""
    import dataclasses

    import torch

    opened: set[int] = set()
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, torch.Tensor):
            yield path, item
            continue
        if id(item) in opened:
            continue
        if isinstance(item, dict) or (hasattr(item, "keys") and hasattr(item, "__getitem__")):
            items = [(str(k), item[k]) for k in item.keys()]  # noqa: SIM118 -- any mapping-like output
        elif isinstance(item, tuple) and len(_field_names(item)) == len(item):  # a namedtuple, torch.max's
            items = list(zip(_field_names(item), item, strict=True))
        elif isinstance(item, tuple | list):
            items = [(str(i), v) for i, v in enumerate(item)]
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            items = [(f.name, getattr(item, f.name)) for f in dataclasses.fields(item)]
        else:
            continue
        opened.add(id(item))
        stack += [(f"{path}.{key}" if path else key, v) for key, v in reversed(items)]


def _field_names(item: tuple) -> tuple:
    """A named tuple's field names: a namedtuple's _fields, a struct sequence's (torch.return_types)
    __match_args__; () for a plain tuple."""
    names = getattr(item, "_fields", None) or getattr(type(item), "__match_args__", None)
    return names if isinstance(names, tuple) and all(isinstance(n, str) for n in names) else ()


def _with_uncalled(order: list[Record], records: dict[int, Record]) -> list[Record]:
    """The modules called, in order; each one never called (a weight used functionally, as
    MultiheadAttention's out_proj) placed after its parent's last row, so the nesting reads right."""
    _sum_children(order, records)
    rows = list(order)
    for record in records.values():
        if record.calls or record.summed:
            continue
        parent = record.name.rpartition(".")[0]
        inside = [i for i, r in enumerate(rows) if r.name == parent or r.name.startswith(parent + ".")]
        rows.insert(inside[-1] + 1 if inside and parent else len(rows), record)
    return rows


def _sum_children(order: list[Record], records: dict[int, Record]) -> None:
    """A container never called whose children ran (`for m in self.blocks: x = m(x)`, as YOLO, Hugging
    Face's ViT and nn.TransformerEncoder loop) gets their sums, marked: its FLOPs and output bytes
    theirs, its input the first one called's, its output and receptive field the last one's. It is placed
    in order just before the first module called inside it, outermost first."""
    children: dict[str, list[Record]] = defaultdict(list)
    for record in records.values():
        if record.name:
            children[record.name.rpartition(".")[0]].append(record)
    rank = {id(record): i for i, record in enumerate(order)}  # a summed one takes its first child's
    ahead: dict[int, list[Record]] = defaultdict(list)  # id(a module called) -> the summed ones before it
    lead: dict[int, Record] = {}  # id(a summed one) -> the module called first inside it
    for record in sorted((r for r in records.values() if not r.calls), key=lambda r: -r.depth):
        ran = sorted((r for r in children[record.name] if r.calls or r.summed), key=lambda r: rank[id(r)])
        if not ran:  # deepest first: a summed child counts in its parent's sums
            continue
        record.summed = True
        record.flops = sum(r.flops for r in ran)
        record.output_bytes = sum(r.output_bytes for r in ran)
        record.input_shape, record.output_shape = ran[0].input_shape, ran[-1].output_shape
        record.out_field = record.last_field = ran[-1].last_field  # a loop run twice ends at its last
        rank[id(record)] = rank[id(ran[0])]
        lead[id(record)] = ran[0] if ran[0].calls else lead[id(ran[0])]
        ahead[id(lead[id(record)])].insert(0, record)  # its summed children came first: it goes before
    order[:] = [r for called in order for r in (*ahead.get(id(called), ()), called)]


def _hook(
    records: dict[int, Record],
    order: list[Record],
    tally: Any,
    fields: Fields,
    dtype: str,
    progress: Callable[[int, int], None] | None,
) -> list[Any]:
    """Two hooks for every module call, the model's modules found by id: global ones (torch's
    register_module_forward_*_hook), not one pair per module, whose dicts and handles cost 1.7 KB a
    module in a model of 100,000. They run before a module's own hooks: the call's start is taken
    before its own pre-hooks run, its input after them (torch gives the forward hooks the arguments
    the forward took), so a pre-hook that pads the input is the module's, as torch runs it."""
    from torch.nn.modules import module as torch_module

    calls = iter(range(1, sys.maxsize))

    def before(module: Any, args: tuple[Any, ...]) -> None:
        record = records.get(id(module))
        if record is None:  # a module not of this model (one the forward makes and calls)
            return
        if progress is not None and next(calls) % PROGRESS_EVERY == 0:
            progress(len(order), len(records))
        if not record.calls:
            order.append(record)
        record.calls += 1
        record._starts.append((tally.total(), tally.uncounted.total()))
        fields.modules.append(record.name)

    def after(module: Any, args: tuple[Any, ...], *rest: Any) -> None:
        # (kwargs, output), or (output) where torch's always_call path leaves kwargs out
        record = records.get(id(module))
        if record is None:
            return
        flops, uncounted = record._starts.pop()
        record.flops += tally.total() - flops
        record.uncounted += tally.uncounted.total() - uncounted
        fields.modules.pop()
        if record.calls == 1:
            kwargs = rest[0] if len(rest) == 2 else {}
            first = args[0] if args else next(iter(kwargs.values()), None)
            record.input_shape = _shape(first)
            record.dtype = _cast_dtype(first, dtype)
        if record.steps is not None or record.calls == 1:
            record.steps = _modelled(module, record, args, record.dtype or dtype)
        tensor = _first_tensor(rest[-1])  # None where the forward raised
        if tensor is None:
            return
        record.output_bytes += tensor.numel() * tensor.element_size()
        record.last_field = fields.state(tensor)
        if record.calls == 1:
            record.output_shape = tuple(tensor.shape)
            record.out_field = fields.state(tensor)

    try:  # with_kwargs: the input of a call by keywords alone (torch 2.2 may not take it)
        ended = torch_module.register_module_forward_hook(after, with_kwargs=True, always_call=True)
    except TypeError:
        ended = torch_module.register_module_forward_hook(after, always_call=True)
    return [torch_module.register_module_forward_pre_hook(before), ended]


def _unhook(handles: list[Any]) -> None:
    """The hooks removed; and the with_kwargs mark torch 2.13's handle leaves behind for a global
    forward hook (one entry a trace, for as long as the process lives)."""
    from torch.nn.modules import module as torch_module

    marks = getattr(torch_module, "_global_forward_hooks_with_kwargs", None)
    for handle in handles:
        handle.remove()
        if isinstance(marks, dict):
            marks.pop(handle.id, None)


def _raised_in(exc: BaseException, records: dict[int, Record]) -> Record | None:
    """The innermost of the model's modules whose call the error left, read from its traceback: a
    module's own hook that raised is its, the parent's code raising after a child returned is the
    parent's."""
    import torch

    calls = {torch.nn.Module._call_impl.__code__, torch.nn.Module._wrapped_call_impl.__code__}
    found = None
    frames = exc.__traceback__
    while frames is not None:
        frame = frames.tb_frame
        if frame.f_code in calls:
            found = records.get(id(frame.f_locals.get("self")), found)
        frames = frames.tb_next
    return found


def _modelled(module: Any, record: Record, args: tuple[Any, ...], dtype: str) -> list[Step] | None:
    """convcalc's figures for this call appended to the earlier calls', or None where it stops modelling."""
    layer = layer_from_module(module)
    shape = _shape(args[0]) if len(args) == 1 else None
    if layer is None or shape is None:
        return None
    record.layer = layer
    try:
        step = layer_step(layer, shape, dtype)
    except (InvalidSpecError, ValueError):  # torch will say what is wrong when it runs the layer
        return None
    return [*(record.steps or []), step]


def _cast_dtype(value: Any, model: str) -> str | None:
    """A floating input's dtype where it is not the model's (a tensor cast to bfloat16 in a float32
    model): that layer's figures are in it, as torch runs it. None otherwise."""
    if not hasattr(value, "is_floating_point") or not value.is_floating_point():
        return None
    name = str(value.dtype).removeprefix("torch.")
    return name if name != model and name in DTYPE_BYTES else None


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if hasattr(value, "shape") and hasattr(value, "dim") else None


def _first_tensor(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):  # most modules' output: no walk
        return out
    return next((t for _, t in _tensors(out)), None)


def _failure(model: Any, where: Record | None, exc: Exception) -> str:
    """Which module raised (the innermost one the error left), and the error's first line."""
    name = short(where.name) if where and where.name else "the model"
    cls = type(where.module if where else model).__name__
    return f"forward pass failed in {printable(name)} ({cls}): {error_line(exc)}"


def error_line(exc: BaseException) -> str:
    """`Type: first line of its message`, printable, whatever the exception's __str__ does."""
    try:
        lines = str(exc).strip().splitlines()
    except Exception:  # user code's own __str__ may raise
        lines = []
    return printable(f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__)

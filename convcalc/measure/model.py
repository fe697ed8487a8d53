"""A user's model in torch: built (target.py) and traced once (trace.py), on the meta device unless asked
otherwise; rows of convcalc's figures beside torch's where it models a layer, and torch's own totals.
torch is imported inside functions only."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
import sys
from collections.abc import Iterator
from math import prod
from typing import Any

from ..core import formulas
from ..core.bench import Bench, Peaks
from ..core.errors import ConvCalcError, printable, short, term
from ..core.inputs import InputSpec, Request
from ..core.named import named_form
from ..core.network import LayerRow, NetworkReport, analytic_figures, totals
from ..core.plan import FREE_SHARE, Plan, cost, gib, too_costly
from ..core.results import json_value
from ..core.spec import DTYPE_BYTES
from ..core.vocabulary import counted
from .bench import bench_run, model_traffic
from .checks import check, network_verification, recording_warnings
from .feed import Fed, check_call, feed, shape_of
from .fields import Field, field_notes
from .named import Named, load_named, missing_default
from .planned import free_memory, resolve_device
from .stack import measured_figures
from .target import build_model, load_target, output_to_stderr, strays_to_meta
from .trace import ForwardError, Record, Trace, trace
from .uncounted import uncounted_line
from .values import value_mode


def model_rows(traced: Trace, dtype: str, on_meta: bool) -> tuple[LayerRow, ...]:
    """One row per module of a traced model, in the order torch first called them."""
    return tuple(_model_row(record, dtype, on_meta) for record in traced.records)


def _model_row(record: Record, dtype: str, on_meta: bool) -> LayerRow:
    dtype = record.dtype or dtype  # a layer fed a cast tensor runs in its dtype
    steps = record.steps
    analytic = None
    if steps:
        first = steps[0]
        analytic = analytic_figures(
            first.output_shape,
            first.params,
            first.buffers,
            sum(s.macs for s in steps),
            sum(s.bias_adds for s in steps),
            dtype,
            first.conv,
        )
        element = DTYPE_BYTES[dtype]
        analytic["output_bytes"] = sum(formulas.tensor_bytes(s.output_shape, element) for s in steps)
    field = record.out_field if isinstance(record.out_field, Field) else None
    return LayerRow(
        name=record.name,
        kind=type(record.module).__name__,
        depth=record.depth,
        input_shape=record.input_shape,
        analytic=analytic,
        measured=measured_figures(record, on_meta),
        settings={k: json_value(v) for k, v in (record.layer or {}).items() if k != "kind"},
        receptive_field=field.size if field else None,
        jump=field.jump if field else None,
        calls=record.calls,
        summed=record.summed,
        leaf=not list(record.module.children()),
    )


def model_totals(model: Any, traced: Trace, fed: Fed, dtype: str) -> dict[str, Any]:
    """torch's own count: each parameter once, the FLOPs of every op the witness saw, every leaf's outputs."""
    params = list(model.parameters())
    leaves = [r for r in traced.records if not list(r.module.children())]
    root = traced.records[0] if traced.records and traced.records[0].name == "" else None
    field = root.out_field if root and isinstance(root.out_field, Field) else None
    return totals(
        params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        buffers=sum(b.numel() for b in model.buffers()),
        macs=traced.flops // 2,
        bias_adds=sum(s.bias_adds for r in traced.records for s in r.steps or ()),
        input_bytes=fed.bytes,
        activation_bytes=sum(r.output_bytes for r in leaves),
        dtype=dtype,
        output_shape=traced.output_shape,
        receptive_field=field.size if field else None,
        jump=field.jump if field else None,
    )


# Weights and input a model may hold when its forward cannot run on meta, even with the values it reads
# guessed, so that what a cpu pass would take is not known: convcalc runs it unasked only this small.
FALLBACK_BYTES = 1 << 26


META_REASON = "built and run on the meta device: shapes, parameters and FLOPs, no weights and no data"


def run_model(
    model: Any,
    request: Request,
    dtype: str | None,
    device: str,
    title: str | None,
    depth: int | None,
    peaks: Peaks | None = None,
    backward: bool = False,
) -> NetworkReport:
    """Trace a module where it is, or build TARGET (a string) on device first, called with the request's
    inputs: the rows, torch's totals; with peaks, the forward pass timed where it ran for real."""
    notes: list[str] = []
    with recording_warnings() as lines, output_to_stderr(), room_to_recurse(), _hinted(request):
        if isinstance(model, str):
            title = title or model
            model, device, traced, fed, reason = _target_pass(model, request, dtype, device, notes)
        else:
            title = title or type(model).__name__
            device = _device_of(model)
            if device == "meta":
                traced, fed, failure = _meta_pass(model, request, dtype, notes)
                if failure is not None:
                    raise failure
            else:
                traced, fed = _model_pass(model, request, dtype)
            reason = META_REASON if device == "meta" else "real forward pass"
    dtype = _float_dtype(model, dtype)[0]
    notes += field_notes(traced.records, traced.conventions, traced.mapped)
    on_meta = device == "meta"
    notes += [_uncounted_note(traced)] if traced.uncounted else []
    rows = model_rows(traced, dtype, on_meta)
    summed = [row.name for row in rows if row.summed]
    if summed:
        notes.append(
            f"children summed: {_names(summed)}: never called as a whole (the forward looped over its "
            "children), so each row's figures are its children's sums"
        )
    modelled = [row for row in rows if row.leaf and row.analytic]
    leaves = [row for row in rows if row.leaf and row.calls]
    checks = [
        check(
            "modelled_macs",
            sum(row.analytic["macs"] for row in modelled),
            sum(row.measured["macs"] for row in modelled),
            f"{len(modelled)} of {len(leaves)} layers called are modelled",
            "MACs of the layers convcalc models",
        )
    ]
    verification = dataclasses.replace(
        network_verification(device, Plan("meta" if on_meta else "real", reason), checks, traced),
        warnings=tuple(lines),
    )
    total = model_totals(model, traced, fed, dtype)
    timed = None if peaks is None else _bench_model(model, traced, fed, dtype, peaks, verification, device)
    step = None
    if backward:
        from .backward import model_backward

        with output_to_stderr():
            step = model_backward(model, fed, _model_bytes(model, traced, fed), notes, any(traced.read))
    return NetworkReport(
        "model",
        title,
        shape_of(fed),
        dtype,
        rows,
        total,
        verification,
        (),
        tuple(notes),
        depth,
        timed,
        step,
        inputs=fed.records,
        outputs=tuple(traced.outputs),
        default_input=fed.default,
        uncounted=tuple(traced.uncounted.items()),
    )


def _names(names: list[str], most: int = 4) -> str:
    """A few module names for a note, and how many more."""
    shown = ", ".join(printable(short(name)) for name in names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")


def _uncounted_note(traced: Trace) -> str:
    """The ops no FLOP formula counted, and the innermost modules they ran in."""
    inner = [r.name for r in traced.records if r.uncounted and not _inner_uncounted(r, traced.records)]
    where = [name for name in inner if name]  # not the model itself
    inside = f" (in {_names(where)})" if where else ""
    return (
        f"uncounted ops: {uncounted_line(traced.uncounted)}{inside}: they ran without a FLOP formula in "
        "torch, so the MACs and FLOPs leave their work out (--expect uncounted=0 fails on them)"
    )


def _inner_uncounted(record: Record, records: list[Record]) -> bool:
    """Whether a module inside record ran one of the uncounted ops."""
    prefix = f"{record.name}." if record.name else ""
    return any(r.uncounted and r is not record and r.name.startswith(prefix) for r in records)


@contextlib.contextmanager
def _hinted(request: Request) -> Iterator[None]:
    """A forward's failure with the hint its inputs call for: float ids given to an embedding."""
    try:
        yield
    except ForwardError as failure:
        floats = [spec for _, spec in request.items if isinstance(spec, InputSpec) and spec.dtype is None]
        if "'indices'" in str(failure) and floats:
            ids = floats[0].name or "input_ids"
            shape = "x".join(map(str, floats[0].shape))
            hint = f"; ids are integers: give them as {term('inputs')} {ids}={shape}:int64"
            raise ForwardError(f"{failure}{hint}") from None
        raise


def _meta_only(failure: ForwardError) -> bool:
    """Whether a forward failed for the meta device alone (a value read, a tensor left on the cpu, a kernel
    meta lacks), so that a real device may run it; any other failure fails there too."""
    # "meta" as a word or a name's part: "meta tensors", "register_meta" (torch.nonzero's message)
    return re.search(r"(?<![^\W_])meta(?![^\W_])", str(failure), re.IGNORECASE) is not None


RECURSION_ROOM = 2000  # frames the trace's hooks and modes add at the bottom of a deeply nested model


@contextlib.contextmanager
def room_to_recurse() -> Iterator[None]:
    """Room for the frames a trace adds below what torch itself needs, so that a model nested as deep as
    torch can run is traced; one line where torch's own walk of a deeper one runs out of it."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + RECURSION_ROOM)
    try:
        yield
    except RecursionError:
        raise ConvCalcError(
            f"model: its modules nest deeper than Python's recursion limit ({limit:,} frames) lets torch "
            "walk them"
        ) from None
    finally:
        sys.setrecursionlimit(limit)


def _bench_model(
    model: Any, traced: Trace, fed: Fed, dtype: str, peaks: Peaks, verification: Any, device: str
) -> Bench:
    """The model's forward pass timed where it ran for real; on meta, why not."""
    chosen = Plan(verification.mode, verification.reason)
    traffic = model_traffic(traced, dtype)
    build = lambda _dev: model  # noqa: E731 -- built already, on its inputs' device
    inputs = lambda _dev: (fed.args, fed.kwargs)  # noqa: E731
    return bench_run(build, inputs, dtype, device, chosen, traced.flops, traffic, peaks)


def _model_pass(model: Any, request: Request, dtype: str | None, values: bool = False) -> tuple[Trace, Fed]:
    """The model (converted to dtype, when given) traced once on the request's inputs, made where its
    weights are, in its floating dtype; with values, the values it reads on meta known or guessed."""
    import torch

    if dtype is not None:
        model.to(getattr(torch, dtype))
    name, kind = _float_dtype(model, dtype)
    fed = feed(request, torch.device(_device_of(model)), kind)
    check_call(model, fed, request)
    mode = value_mode(fed.made) if values else None
    try:
        return trace(model.eval(), fed.args, name, fed.kwargs, values=mode), fed
    except ForwardError as failure:
        failure.made_bytes = mode.made_bytes if mode is not None else 0  # what it made before it failed
        raise


def _meta_pass(
    model: Any, request: Request, dtype: str | None, notes: list[str]
) -> tuple[Trace | None, Fed | None, ForwardError | None]:
    """A model on meta traced: its stray cpu tensors moved there first; where its forward reads values,
    again with them known from the inputs or guessed (values.py). (None, None, why) where meta cannot
    run it even so; a failure that is not meta's own is raised."""
    moved = strays_to_meta(model)
    if moved:
        notes.append(
            f"moved to the meta device: {moved:,} of its parameters and buffers, which its constructor made "
            "on the cpu (torch.Tensor(n) ignores the default device)"
        )
    try:
        return *_model_pass(model, request, dtype), None
    except ForwardError as failure:
        if not _meta_only(failure):
            raise
    try:
        traced, fed = _model_pass(model, request, dtype, values=True)
    except ForwardError as failure:
        if not _meta_only(failure):
            raise
        return None, None, failure
    known, guessed = traced.read
    values = counted(known + guessed, "value")
    if guessed:
        notes.append(
            f"on the meta device its forward read {values}, {guessed:,} of them from what meta holds no "
            "value for (its weights, and what they give): each was taken as 0, so a branch that depends "
            "on one may differ from a real run on the cpu"
        )
    elif known:  # none at all: it only mixed small cpu tensors with meta ones, moved there
        notes.append(
            f"on the meta device its forward read {values} (a mask's .all(), .item()): each was computed "
            "from the inputs convcalc made"
        )
    return traced, fed, None


def _float_dtype(model: Any, dtype: str | None) -> tuple[str, Any]:
    """The model's floating dtype, by name and as torch's: its first floating parameter's or buffer's,
    else dtype's or float32."""
    import torch

    tensors = itertools.chain(model.parameters(), model.buffers())
    first = next((t for t in tensors if t.is_floating_point()), None)
    kind = first.dtype if first is not None else getattr(torch, dtype or "float32")
    return str(kind).removeprefix("torch."), kind


def _device_of(model: Any) -> str:
    """Where the model's weights are (its first parameter's or buffer's device), else the cpu."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    if first is None:
        return "cpu"
    return str(first.device) if first.device.type == "cuda" else first.device.type


def _target_pass(
    target: str, request: Request, dtype: str | None, device: str, notes: list[str]
) -> tuple[Any, str, Trace, Fed, str]:
    """Build TARGET on meta and trace it there; then for real where asked (when it fits in free memory),
    or on the cpu where meta cannot run it or had to guess values, if the plan every unasked real pass
    keeps to allows it; else the meta count stands, or the failure with what a cpu pass would take."""
    named = load_named(target) if named_form(target) else None
    factory, call = (named.factory, named.call) if named else (load_target(target), f"{target}()")
    wanted = "meta" if device == "meta" else resolve_device(device)
    cap = FALLBACK_BYTES if wanted == "meta" else None  # a constructor meta cannot run: built small, unasked
    model, built_on, note = build_model(factory, call, "meta", cap)
    notes += [note] if note else []
    if named and not request.items and request.maker is None:
        request = _defaulted(request, named, model, target)
    if built_on != "meta":
        traced, fed = _model_pass(model, request, dtype)
        return model, built_on, traced, fed, f"real forward pass on {built_on}"
    traced, fed, failure = _meta_pass(model, request, dtype, notes)
    exact = failure is None and not traced.read[1]
    if wanted == "meta" and exact:
        return model, "meta", traced, fed, META_REASON
    need, seconds = _cpu_need(model, traced, fed, request, getattr(failure, "made_bytes", 0))
    real = "cpu" if wanted == "meta" else wanted
    free = free_memory(real)
    fits = free is None or need is None or need <= free * FREE_SHARE
    if wanted == "meta":
        small = (need or 0) <= FALLBACK_BYTES if traced is None else not too_costly(need or 0, seconds)
        fits = fits and small
    if not fits and failure is not None:
        hint = _insist(failure, need, traced is None, real, wanted != "meta", free)
        raise ForwardError(f"{failure}{hint}")
    if not fits:  # the meta count stands: exact, or with the values it guessed said in a note
        return model, "meta", traced, fed, _meta_reason(wanted, need, free, traced.read[1])
    notes[:] = [n for n in notes if not n.startswith(_READ)]  # what meta read: a real pass follows
    if wanted == "meta":
        why = f"({failure})" if failure else "(on meta it had to guess values its weights give)"
        notes.append(f"run on the cpu: its forward cannot run exactly on the meta device {why}")
    # the meta model and its trace go first: else a model of 100,000 modules is held twice
    del model, traced, fed, failure
    model, built_on, _ = build_model(factory, call, real)
    traced, fed = _model_pass(model, request, dtype)
    return model, built_on, traced, fed, f"real forward pass on {built_on}"


def _defaulted(request: Request, named: Named, model: Any, target: str) -> Request:
    """The request given no input, with the one the model's library says it takes, and whose it is."""
    default = named.default(model)
    if default is None:
        raise missing_default(model, target)
    specs, whose = default
    return dataclasses.replace(request, items=tuple((spec.name, spec) for spec in specs), default=whose)


_READ = "on the meta device its forward read"


def _meta_reason(wanted: str, need: int | None, free: int | None, guessed: int) -> str:
    if guessed:  # the figures are what the guesses gave: said where the verdict is, not only in a note
        return (
            f"counted on the meta device with {counted(guessed, 'value')} its weights "
            "give taken as 0, so the figures are a guess wherever a branch or a shape depends on one; a "
            f"real pass on the cpu would need about {gib(need or 0)}"
        )
    if wanted == "meta":
        return META_REASON
    return (
        f"counted on the meta device, since a real pass on {wanted} would need about {gib(need or 0)} "
        f"and only {gib(free or 0)} is free"
    )


def _cpu_need(
    model: Any, traced: Trace | None, fed: Fed | None, request: Request, made: int = 0
) -> tuple[int | None, float]:
    """What a real pass would take: from the meta trace, its tensors, the convolutions' workspace and its
    seconds; without one (meta could not run it), the weights, the inputs and what the forward made on
    meta before it failed (at least that)."""
    if traced is None or fed is None:
        weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
        shapes = [item.shape for _, item in request.items if hasattr(item, "shape")]
        return weights + made + sum(prod((request.batch, *shape)) * 8 for shape in shapes), 0.0
    convs = [step.conv for record in traced.records for step in record.steps or () if step.conv]
    work = max(traced.flops // 2 - sum(c.macs for c in convs), 0)
    return cost(convs, "cpu", _model_bytes(model, traced, fed), work, passes=1)


def _insist(
    failure: ForwardError, need: int | None, lower: bool, device: str, asked: bool, free: int | None
) -> str:
    """The hint after a forward that cannot run on meta: what a real pass would take, and how to insist
    where the machine could hold it."""
    if "overflow" in str(failure).lower():
        return ""
    what = f"at least {gib(need or 0)} (its weights, inputs and what it made before it failed)"
    what = what if lower else f"about {gib(need or 0)}"
    if asked:
        return f"; a pass on {device} would need {what}, more than is free"
    if free is not None and (need or 0) > free * FREE_SHARE:
        return f"; a real pass on the cpu would need {what}, more than this machine has free ({gib(free)})"
    return f"; a real pass on the cpu would need {what}: run it with {term('device')} cpu to insist"


def _model_bytes(model: Any, traced: Trace, fed: Fed) -> int:
    """Parameters, buffers, the inputs and every layer's output, as if all were held at once (erring high)."""
    tensors = [*model.parameters(), *model.buffers()]
    leaves = (r for r in traced.records if not list(r.module.children()))
    held = sum(t.numel() * t.element_size() for t in tensors) + fed.bytes
    return held + sum(r.output_bytes for r in leaves)

"""Training cost as torch measures it: a real (or meta) backward under the FLOP witness, the tensors
autograd saves, the grads, and the state torch.optim keeps. torch is imported inside functions only.

How (torch 2.13, cpu and meta alike):
- Backward FLOPs: the FLOP witness (witness.py) around `backward()` alone. A conv's backward is one
  aten.convolution_backward; grad input and grad weight are told apart by a second pass: pass A is the
  training step as it is (the input needing a gradient or not, the parameters trainable), pass B the
  same with the parameters frozen and the input needing a gradient: grad input only. grad weight = A - B.
  torch's formula counts a grouped conv's grad weight `groups` times (core/backward.py), so the checks
  compare the witness with what that formula counts, and say so.
- Per layer (stacks): a hook on each layer's output tensor reads the witness's running count when that
  output's gradient is complete, which is when the layer's own backward starts; it ends where the layer
  before it starts (or with the backward). Tensor hooks leave the graph as it is (module backward hooks
  would not, and refuse in-place ops).
- Saved activations: torch.autograd.graph.saved_tensors_hooks' pack hook sees every tensor autograd
  saves, during the forward; parameters and buffers are left out and each storage counts once (by the
  storage's identity, which works on meta too, where every data pointer is 0), for the layer that saved it
  first. Bytes: the storage's nbytes.
- Grads: p.grad of each trainable parameter after pass A. Optimizer state: torch.optim.SGD(momentum=0.9)
  then torch.optim.Adam, one step each (lr=0, so the weights stay as they were), every tensor in
  optimizer.state. Both work on meta: sizes only, but what autograd and torch.optim choose to keep, so
  they are reported there too (Adam's step scalar is a real 4-byte cpu tensor even then).
- The module is put in training mode and given back as it was: modes, requires_grad, grads, and its
  buffers (batchnorm's running statistics, which a training forward updates).

Memory of a real run, for the plan: pass A holds what the forward holds (its tensors and saved
activations), then during backward the gradients flowing back (at most two activations' worth in a chain:
grad output, then grad input, the first seeded with ones of the output's shape), the grads (1x params) and
the kernels' temporaries (on the cpu a conv's backward unfolds columns as its forward does); then SGD
(1x params) and, after it is freed, Adam (2x params) beside the grads. Pass B repeats the forward and
computes grad input only. Peak: forward peak + input + 2 x the largest activation + 3 x params; time:
about 5 forward passes' MACs (A: 1 + 2, B: 1 + 1). Building a torch.optim optimizer imports torch._dynamo
once (add_param_group is wrapped by torch._disable_dynamo): about a second, the first time in a process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..core.results import TRAINING_FIGURES, Check, Training
from .checks import check
from .witness import by_matmuls, counting

MEMORY_KEYS = ("weight_bytes", "grad_bytes", "sgd_state_bytes", "adam_state_bytes", "saved_bytes")


def measure_training(module: Any, x: Any, input_grad: bool) -> dict[str, Any]:
    """One training step of module (a layer, or a chain of layers such as a compare variant) on x's device
    (cpu or meta). Keys: grad_input_flops (0 where no input needs a gradient), grad_weight_flops,
    backward_flops (witness FLOPs, as it counted them), weight_bytes, grad_bytes, sgd_state_bytes,
    adam_state_bytes, saved_bytes, witness, witness_note, device (its type: cpu, meta, cuda)."""
    leaves = {name: m for name, m in module.named_modules() if not list(m.children())}
    return _measure(module, x, input_grad, leaves)[1]


def measure_stack_training(
    module: Any, x: Any, names: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A stack (build_stack's module; the batch needs no gradient): per named layer, as measure_training's
    keys, and in total. A layer's grad_input_flops is 0 where its input needs no gradient."""
    modules = dict(module.named_modules())
    layers, totals = _measure(module, x, False, {name: modules[name] for name in names})
    return [layers[name] for name in names], totals


def model_training(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A user's model, measured only (the batch needing no gradient, its parameters as they are):
    backward_flops (torch's grouped grad weight over-count taken off), witness_backward_flops (as the
    witness counted), grouped_overcount_flops, the memory figures, witness, witness_note."""
    with _training(module), _Grouped() as grouped:
        step = _pass(module, args, False, {}, optimizers=True, kwargs=kwargs)
    return {
        "backward_flops": step["flops"] - grouped.overcount,
        "witness_backward_flops": step["flops"],
        "grouped_overcount_flops": grouped.overcount,
        **{key: step[key] for key in (*MEMORY_KEYS, "witness", "witness_note", "device", "no_gradient")},
    }


def _measure(module: Any, x: Any, input_grad: bool, layers: Mapping[str, Any]) -> tuple[dict, dict]:
    """Pass A, the step as it is; pass B, parameters frozen and the input needing a gradient, gives each
    layer's grad input, counted where the layer's input needed a gradient in pass A. The layers run as a
    chain, one after the other."""
    with _training(module):
        step = _pass(module, (x,), input_grad, layers, optimizers=True)
        needs = {name: step["input_grad"].get(name, False) for name in layers}
        probe = _pass(module, (x,), True, layers, optimizers=False) if any(needs.values()) else None
    per_layer = {
        name: _figures(step["layers"][name], probe["layers"][name]["flops"] if needs[name] else 0, step)
        for name in layers
    }
    return per_layer, _figures(step, sum(v["grad_input_flops"] for v in per_layer.values()), step)


def _figures(counts: Mapping[str, Any], grad_input: int, step: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "grad_input_flops": grad_input,
        "grad_weight_flops": counts["flops"] - grad_input,
        "backward_flops": counts["flops"],
        **{key: counts[key] for key in MEMORY_KEYS},
        "witness": step["witness"],
        "witness_note": step["witness_note"],
        "device": step["device"],
    }


def _pass(
    module: Any,
    args: tuple[Any, ...],
    input_grad: bool,
    layers: Mapping[str, Any],
    optimizers: bool,
    kwargs: dict[str, Any] | None = None,
) -> dict:
    """Forward and backward once, called with args (the first needing a gradient where input_grad) and
    kwargs. optimizers: the trainable parameters as they are, their grads and optimizer state measured;
    else every parameter frozen."""
    import torch

    trainable = [p for p in module.parameters() if p.requires_grad]
    if not optimizers:
        for p in trainable:
            p.requires_grad_(False)
    try:
        args = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
        if input_grad:
            args = (args[0].requires_grad_(True), *args[1:])
        device = next(
            (t.device.type for t in (*args, *(kwargs or {}).values()) if isinstance(t, torch.Tensor)), "cpu"
        )
        # enable_grad: a training step computes gradients, whatever a model's module set at import
        with torch.enable_grad(), _recording(module, layers) as record, by_matmuls(module):
            produced = _tensors(module(*args, **(kwargs or {})))
            outputs = [t for t in produced if t.requires_grad]
        record["no_gradient"] = "" if outputs else _why_no_gradient(produced)
        with torch.enable_grad(), counting() as tally:
            record.update(tally=tally, witness=tally.witness, witness_note=tally.note, device=device)
            if outputs:
                torch.autograd.backward(outputs, [torch.ones_like(t) for t in outputs])
            record["flops"] = tally.total()
        del outputs, args
    finally:
        if not optimizers:
            for p in trainable:
                p.requires_grad_(True)
    return _collect(record, layers, trainable if optimizers else [])


def _why_no_gradient(outputs: list[Any]) -> str:
    if not outputs:
        return "its forward returns no tensor"
    return "no tensor its forward returns carries a gradient (integer outputs, or ones made without grad)"


_PASS_KEYS = ("flops", "witness", "witness_note", "input_grad", "device", "no_gradient")


def _collect(record: dict, layers: Mapping[str, Any], params: list) -> dict:
    """The pass's figures in total and per layer; its grads dropped once measured."""
    memory = _memory(params, layers)
    flops, stop = {}, record["flops"]
    for name in layers:  # layer i's backward runs from its output's mark to the mark of the layer before
        mark = record["marks"].get(name)
        flops[name], stop = (0, stop) if mark is None else (stop - mark, mark)
    per_layer = {
        name: {"flops": flops[name], "saved_bytes": record["saved"].get(name, 0), **memory[name]}
        for name in layers
    }
    for p in params:
        p.grad = None
    return {
        **{
            key: record[key]
            for key in ("flops", "witness", "witness_note", "input_grad", "device", "no_gradient")
        },
        "saved_bytes": sum(record["saved"].values()),
        **memory[None],
        "layers": per_layer,
    }


def _memory(params: list, layers: Mapping[str, Any]) -> dict[str | None, dict[str, int]]:
    """Weights, grads and optimizer state, by layer name and in total (None)."""
    import torch

    owner = {id(p): name for name, layer in layers.items() for p in layer.parameters()}
    out = {key: dict.fromkeys(MEMORY_KEYS[:4], 0) for key in (None, *layers)}

    def add(key: str, p: Any, size: int) -> None:
        for row in {None, owner.get(id(p))}:
            out[row][key] += size

    for p in params:
        add("weight_bytes", p, _bytes(p))
        add("grad_bytes", p, 0 if p.grad is None else _bytes(p.grad))
    for key, make in (
        ("sgd_state_bytes", lambda ps: torch.optim.SGD(ps, lr=0.0, momentum=0.9)),
        ("adam_state_bytes", lambda ps: torch.optim.Adam(ps, lr=0.0)),
    ):
        if not params:
            break
        optimizer = make(params)  # lr=0: the step leaves the weights as they were
        optimizer.step()
        for p, state in optimizer.state.items():
            add(key, p, sum(_bytes(v) for v in state.values() if isinstance(v, torch.Tensor)))
        del optimizer
    return out


@contextlib.contextmanager
def _recording(module: Any, layers: Mapping[str, Any]) -> Iterator[dict]:
    """Saved tensors by the layer that saved them first, and hooks that mark each layer's backward."""
    import torch

    record: dict[str, Any] = {"saved": {}, "marks": {}, "input_grad": {}}
    excluded = {_storage(t) for t in (*module.parameters(), *module.buffers())}
    counted: dict[int, int] = {}  # bytes counted so far for each storage saved
    inside: list[str] = []

    def pack(t: Any) -> Any:
        # Each storage once, as the largest tensor saved from it (the layer saving it first gets it; a
        # larger view later adds the rest). Tensor bytes, not the storage's: some CPU kernels (3-D
        # transposed convolution) hand back a tensor in a storage larger than it, a detail of theirs.
        key, size = _storage(t), _bytes(t)
        if key not in excluded and size > counted.get(key, 0):
            name = inside[-1] if inside else ""
            record["saved"][name] = record["saved"].get(name, 0) + size - counted.get(key, 0)
            counted[key] = size
        return t

    def before(name: str, args: tuple) -> None:
        inside.append(name)
        record["input_grad"][name] = bool(args) and bool(getattr(args[0], "requires_grad", False))

    def after(name: str, out: Any) -> None:
        inside.pop()
        if isinstance(out, torch.Tensor) and out.requires_grad:  # its grad is complete: the layer starts
            out.register_hook(lambda _grad: record["marks"].__setitem__(name, record["tally"].total()))

    handles = []
    for name, layer in layers.items():
        handles.append(layer.register_forward_pre_hook(lambda _m, a, n=name: before(n, a)))
        handles.append(layer.register_forward_hook(lambda _m, _a, o, n=name: after(n, o)))
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            yield record
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _training(module: Any) -> Iterator[None]:
    """module in training mode inside; its modes, requires_grad, grads and buffers restored after."""
    import torch

    modes = [(m, m.training) for m in module.modules()]
    params = [(p, p.requires_grad, p.grad) for p in module.parameters()]
    buffers = [(b, b.clone()) for b in module.buffers()]
    module.train()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag, grad in params:
            p.requires_grad_(flag)
            p.grad = grad
        with torch.no_grad():
            for b, kept in buffers:
                b.copy_(kept)


class _Grouped:
    """A dispatch mode under the witness: what torch's formula over-counts in grouped grad weights,
    (groups - 1) / groups of its grad weight count, from torch's own formula on the same op."""

    overcount = 0

    def __enter__(self) -> _Grouped:
        from torch.utils._python_dispatch import TorchDispatchMode

        def dispatch(mode: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            self._see(func, args, out)
            return out

        mode_class = type("GroupedGradWeight", (TorchDispatchMode,), {})
        mode_class.__torch_dispatch__ = dispatch  # set after creation: no dynamo shim (see witness.py)
        self._mode = mode_class()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)

    def _see(self, func: Any, args: Any, out: Any) -> None:
        import torch
        from torch.utils.flop_counter import flop_registry

        if func.overloadpacket is not torch.ops.aten.convolution_backward:
            return
        groups, mask = args[9], args[10]  # the op's groups and output_mask (grad input, weight, bias)
        if groups > 1 and mask[1]:
            counted = flop_registry[func.overloadpacket](*args[:10], [False, True, False], out_val=out)
            self.overcount += counted - counted // groups


def training_checks(
    analytic: Training, measured: Mapping[str, Any], groups: int | None = None
) -> list[Check]:
    """One Check per figure of TRAINING_FIGURES. analytic: for the device measured (core.backward's device).

    groups: a single conv's, to show its grad weight as the witness's count / 2 / groups; without it,
    torch's over-count (analytic.torch_grad_weight_macs - grad_weight_macs) is taken off the witness's.
    """
    rows = _flop_rows(analytic, measured, groups) + _memory_rows(measured)
    figures = analytic.figures()
    return [check(key, figures[key], value, note, TRAINING_FIGURES[key]) for key, value, note in rows]


def _flop_rows(analytic: Training, measured: Mapping[str, Any], groups: int | None) -> list[tuple]:
    witness = measured.get("witness") or "the FLOP witness"
    over = analytic.torch_grad_weight_macs - analytic.grad_weight_macs
    weight, backward = measured.get("grad_weight_flops"), measured.get("backward_flops")
    if groups and groups > 1:
        weight_macs = None if weight is None else weight // 2 // groups
        why = f"{witness} / 2 / {groups}: torch's formula counts grad weight as if ungrouped"
    else:
        weight_macs = None if weight is None else weight // 2 - over
        why = f"{witness} / 2{_less(over)}"
    total = None if backward is None else backward // 2 - over
    grad_input = measured.get("grad_input_flops")
    return [
        (
            "grad_input_macs",
            None if grad_input is None else grad_input // 2,
            f"{witness} / 2, weights frozen",
        ),
        ("grad_weight_macs", weight_macs, why),
        ("backward_macs", total, f"{witness} / 2{_less(over)}"),
        ("backward_flops", None if total is None else 2 * total, f"{witness}{_less(2 * over)}"),
        ("bias_grad_adds", None, "not in torch's FLOP count (a sum of grad output)"),
    ]


def _less(over: int) -> str:
    """torch's formula counts a grouped conv's grad weight groups times: the excess, taken off."""
    return f", less torch's over-count of grouped grad weight ({over:,})" if over else ""


def _memory_rows(measured: Mapping[str, Any]) -> list[tuple]:
    on_meta = "; meta: the sizes of what torch keeps" if measured.get("device") == "meta" else ""
    rows = [
        ("weight_bytes", "trainable parameter tensors"),
        ("grad_bytes", "p.grad after backward"),
        ("sgd_state_bytes", "torch.optim.SGD(momentum=0.9) state after a step"),
        ("adam_state_bytes", "torch.optim.Adam state after a step"),
        ("saved_bytes", "saved_tensors_hooks: each storage once, parameters and buffers left out"),
    ]
    out = [(key, measured.get(key), how + on_meta) for key, how in rows]
    for key, state in (("sgd_total_bytes", "sgd_state_bytes"), ("adam_total_bytes", "adam_state_bytes")):
        parts = [measured.get(k) for k in ("weight_bytes", "grad_bytes", state, "saved_bytes")]
        out.append((key, None if None in parts else sum(parts), "the measured memory rows added"))
    return out


def _tensors(value: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_leaves

    return [t for t in tree_leaves(value) if isinstance(t, torch.Tensor)]


def _storage(t: Any) -> int:
    """The StorageImpl's address: one per storage, on meta too (where every data pointer is 0)."""
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, AttributeError):  # a tensor without a plain storage
        return id(t)


def _bytes(t: Any) -> int:
    return t.numel() * t.element_size()

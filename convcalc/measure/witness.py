"""The FLOP witness: torch's own FLOP formulas, applied to the ops torch actually dispatched.

torch.utils.flop_counter.FlopCounterMode wraps its dispatch hook in a dynamo-disable shim
whose first call imports torch._dynamo, sympy and inductor: over a second, twice the cost of
importing torch. The light witness below is a plain dispatch mode that sees the same ops and
applies the same registered formulas (flop_registry), so it counts exactly what FlopCounterMode
counts, without that import. Where this torch lacks what it needs, count_flops() falls back to
FlopCounterMode itself and says so. Either way the ops that ran without a formula and do a matmul's
kind of work are noted (uncounted.py), and by_matmuls() steers attention and recurrent layers off the
fused kernels no formula counts. torch is imported inside functions only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from .uncounted import note_uncounted, recording_mode

LIGHT = "torch's FLOP formulas"
FULL = "FlopCounterMode"

# Normalisations: FlopCounterMode decomposes them into element-wise ops and reductions, none of which
# it counts, so running them whole counts the same -- and saves torch's Python decomposition, about
# 15 ms a call on the meta device (0.8 s for ResNet-50's 53 BatchNorms); tests/measure/test_witness.py
# checks it.
UNCOUNTED_NORMS = (
    "native_batch_norm",
    "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training",
    "native_layer_norm",
    "native_group_norm",
)
_light: Any = None  # the light mode's class once built, or the reason it could not be


@dataclass(frozen=True)
class Counted:
    """What running fn under a witness gave: its result, the FLOPs, and which witness counted."""

    value: Any
    flops: int
    witness: str  # LIGHT or FULL
    note: str = ""  # why the light witness was not used, if it was not


def count_flops(fn: Callable[[], Any], light: bool = True) -> Counted:
    """Run fn() under the light witness where this torch allows it, else under FlopCounterMode."""
    with counting(light) as tally:
        value = fn()
    return Counted(value, tally.total(), tally.witness, tally.note)


@dataclass(frozen=True)
class Tally:
    """A running count: total() is the FLOPs so far, so hooks can read what each module added."""

    total: Callable[[], int]
    witness: str
    note: str = ""
    # calls by op name of the ops that ran without a formula and do a matmul's kind of work (uncounted.py)
    uncounted: Counter[str] = field(default_factory=Counter)


@contextmanager
def counting(light: bool = True) -> Iterator[Tally]:
    """Count the FLOPs of the ops run inside the block, by the light witness or FlopCounterMode, and
    note the ops it could not count."""
    mode = light_mode() if light else "asked for FlopCounterMode"
    if isinstance(mode, str):
        from torch.utils.flop_counter import FlopCounterMode

        note = light and f"light FLOP witness unavailable ({mode}); counted by FlopCounterMode"
        uncounted: Counter[str] = Counter()
        with recording_mode(uncounted), FlopCounterMode(display=False) as counter:
            yield Tally(counter.get_total_flops, FULL, note or "", uncounted)
        return
    with mode() as light_counter:
        yield Tally(lambda: light_counter.flops, LIGHT, uncounted=light_counter.uncounted)


def light_mode() -> Any:
    """The light mode's class, built and checked once; a string saying why not where it cannot be."""
    global _light
    if _light is None:
        try:
            _light = _build_light_mode()
            _self_test(_light)
        except Exception as exc:  # any change in torch's internals lands here, never in a user's run
            _light = f"{type(exc).__name__}: {exc}"
    return _light


def _build_light_mode() -> type:
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class LightFlopMode(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.flops = 0
            self.uncounted: Counter[str] = Counter()

    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        formula = flop_registry.get(func.overloadpacket)
        if formula is None and func.overloadpacket.__name__ not in UNCOUNTED_NORMS:
            # As FlopCounterMode does: an op without a formula may decompose into ops with one.
            with self:
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = func(*args, **kwargs)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        else:
            note_uncounted(func, self.uncounted)
        return out

    # TorchDispatchMode wraps a subclass's own __torch_dispatch__ in the dynamo-disable shim when
    # the class is created; a hook set after creation is used as it is.
    LightFlopMode.__torch_dispatch__ = dispatch
    return LightFlopMode


def _self_test(mode: type) -> None:
    """One 1x1 convolution: 2 FLOPs, or this torch does not work the way the mode expects.

    On the cpu: a meta kernel would import sympy through torch._check.
    """
    import torch

    layer = torch.nn.Conv1d(1, 1, 1, bias=False)
    with torch.no_grad(), mode() as counter:
        layer(torch.zeros(1, 1, 1))
    if counter.flops != 2:
        raise RuntimeError(f"a 1x1 convolution counted {counter.flops} FLOPs, not 2")


@contextmanager
def by_matmuls(model: Any = None) -> Iterator[None]:
    """Attention and recurrent layers through the matmuls torch's FLOP formulas count, on every device.
    Given the model, the recurrent switch is on only where it holds a recurrent layer: the switch is a
    function mode, which every torch call in the trace would otherwise pass through (a tenth of a
    100,000-module model's time)."""
    import torch

    recurrent = model is None or any(isinstance(m, torch.nn.RNNBase) for m in model.modules())
    with attention_by_matmuls(), recurrent_by_matmuls() if recurrent else nullcontext():
        yield


# What nn.LSTM, nn.GRU and nn.RNN call, packed sequences too (torch._VF's functions, as torch's).
_RECURRENT = ("lstm", "gru", "rnn_tanh", "rnn_relu")


@contextmanager
def recurrent_by_matmuls() -> Iterator[None]:
    """Recurrent layers step by step, a matmul per step that torch's FLOP formulas count, on every device.

    On the cpu nn.LSTM runs oneDNN's fused kernel (mkldnn_rnn_layer), on cuda cuDNN's (_cudnn_rnn), and
    torch's flop counter has a formula for neither: an LSTM counted 0 MACs there. Only while a recurrent
    layer runs, both libraries are switched off and the layer runs torch's own decomposition, the one
    meta runs: the same matmuls, and the same tensors saved for backward, on every device (torch's cpu
    kernel projects every step's input at once, and saves that copy).
    """
    import torch
    from torch.overrides import TorchFunctionMode

    recurrent = {getattr(torch, name) for name in _RECURRENT}

    class StepByStep(TorchFunctionMode):
        pass

    def function(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func not in recurrent:
            return func(*args, **(kwargs or {}))
        with _fused_off():
            return _decomposed(func, args)(*args, **(kwargs or {}))

    StepByStep.__torch_function__ = function  # after creation, as the dispatch modes (no dynamo shim)
    with StepByStep():
        yield


def _decomposed(func: Any, args: tuple[Any, ...]) -> Any:
    """torch's Python decomposition of a recurrent function for these arguments, or func itself. A packed
    sequence (the .data overload) passes its batch sizes second (LSTM) or its hidden state third (GRU,
    RNN), where the padded one (.input) passes a list of hidden states or its parameters."""
    import torch
    from torch._decomp import decomposition_table

    packed = isinstance(args[1] if func is torch.lstm else args[2], torch.Tensor) if len(args) > 2 else False
    overload = getattr(getattr(torch.ops.aten, func.__name__), "data" if packed else "input", None)
    return decomposition_table.get(overload, func)


@contextmanager
def _fused_off() -> Iterator[None]:
    import torch

    mkldnn, cudnn = torch.backends.mkldnn, torch.backends.cudnn
    was = mkldnn.enabled, cudnn.enabled
    try:
        mkldnn.enabled = cudnn.enabled = False
        yield
    finally:
        mkldnn.enabled, cudnn.enabled = was


@contextmanager
def attention_by_matmuls() -> Iterator[None]:
    """Attention through its math path, whose matmuls torch's FLOP formulas count, on every device.

    Without gradients, nn.MultiheadAttention takes a fused fast path and the cpu's SDPA a flash kernel,
    and torch's flop counter has a formula for neither: their FLOPs would vanish from the count.
    """
    import torch

    mha = getattr(torch.backends, "mha", None)
    fast = mha.get_fastpath_enabled() if mha else None
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        math = sdpa_kernel(SDPBackend.MATH)
    except ImportError:  # torch < 2.3: the older switch
        math = torch.backends.cuda.sdp_kernel(enable_flash=False, enable_mem_efficient=False)
    try:
        if mha:
            mha.set_fastpath_enabled(False)
        with math:
            yield
    finally:
        if mha:
            mha.set_fastpath_enabled(fast)

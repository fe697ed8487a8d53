"""Which ops a FLOP count leaves out: those that ran without a formula and do a matmul's kind of work.

torch's convention counts matrix products, convolutions and attention, and nothing else: element-wise
ops, reductions, softmax, normalisations, pooling, interpolation and copies do arithmetic that no
formula counts, in every model, so naming them would bury the ops that matter. The rule here names only
ops whose every output sums products over an axis of their inputs -- the work torch's counter is meant
to count: matrix and vector products, convolutions, fused recurrent and attention kernels, bilinear
forms, distance matrices, FFTs and linear-algebra factorisations and solves. One of them that ran
without a formula (a oneDNN or MPS kernel, nn.Bilinear's _trilinear, torch.mv, torch.fft) is work the
total does not hold. torch is imported inside functions only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

# A word of an op's name (its name split at '_') that says each output sums products over an axis.
_MATMUL_WORDS = frozenset(
    {
        # matrix and vector products, and what becomes one
        *("mm", "bmm", "addmm", "addbmm", "baddbmm", "hspmm", "sspaddmm", "mv", "addmv"),
        *("dot", "vdot", "matmul", "linear", "bilinear", "trilinear", "einsum", "tensordot"),
        # convolutions, whatever kernel runs them
        *("conv", "convolution", "conv1d", "conv2d", "conv3d"),
        # fused recurrent and attention kernels
        *("rnn", "lstm", "gru", "attention", "transformer"),
        # distance matrices, transforms, linear algebra
        *("cdist", "pdist", "fft", "cholesky", "lu", "qr", "geqrf", "ormqr", "householder"),
        *("svd", "eig", "eigh", "eigvals", "eigvalsh", "solve", "inv", "det", "slogdet", "logdet"),
        *("lstsq", "pinv"),
    }
)
# Names with such a word whose work is element-wise, data movement or bookkeeping: the fused gates after
# an RNN's matmuls (counted apart), a weight's layout or quantisation, unpacking a factorisation, the
# FFT's frequencies and shifts, choosing a kernel.
_NOT_MATMUL = ("_thnn_fused", "_thnn_differentiable", "mkldnn_reorder", "lu_unpack")
_NOT_MATMUL_WORDS = frozenset(
    {"flatten", "prepack", "quantize", "fftfreq", "rfftfreq", "fftshift", "ifftshift", "search"}
)


def does_matmul_work(name: str) -> bool:
    """Whether an op, by its name without namespace (`mkldnn_rnn_layer`), sums products over an axis."""
    words = set(name.strip("_").split("_"))
    if name.startswith(_NOT_MATMUL) or words & _NOT_MATMUL_WORDS:
        return False
    return bool(words & _MATMUL_WORDS)


def note_uncounted(func: Any, uncounted: Counter[str]) -> None:
    """Add one call of func to uncounted where it does a matmul's kind of work (it ran without a formula)."""
    packet = func.overloadpacket
    if does_matmul_work(packet.__name__):
        uncounted[str(packet)] += 1


def recording_mode(uncounted: Counter[str]) -> Any:
    """A dispatch mode that notes, in uncounted, each op run through it that has no FLOP formula and
    does a matmul's kind of work: entered outside FlopCounterMode, it sees only the ops that ran whole."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class UncountedOps(TorchDispatchMode):
        pass

    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func.overloadpacket not in flop_registry:
            note_uncounted(func, uncounted)
        return func(*args, **(kwargs or {}))

    UncountedOps.__torch_dispatch__ = dispatch  # after creation: no dynamo shim (see witness.py)
    return UncountedOps()


def uncounted_line(uncounted: dict[str, int]) -> str:
    """`aten.mkldnn_rnn_layer x2, aten.mv x1`, in the order given."""
    return ", ".join(f"{name} x{calls:,}" for name, calls in uncounted.items())

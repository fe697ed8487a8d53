"""Result records with to_dict(). Standard library only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from .conventions import CONVENTION, TRAINING_CONVENTION
from .spec import ConvSpec, Size, layer_repr, pads_first
from .vocabulary import TF_SAME

if TYPE_CHECKING:
    from .bench import Bench

SCHEMA_VERSION = 1

# Every figure convcalc reports, in display order: key (as in JSON and --expect) -> label.
FIGURES = {
    "output_shape": "output shape",
    "weight_params": "weight params",
    "bias_params": "bias params",
    "params": "params (total)",
    "macs": "MACs",
    "flops": "FLOPs (2 x MACs)",
    "bias_adds": "bias adds",
    "effective_kernel": "effective kernel",
    "receptive_field": "receptive field",
    "param_bytes": "params memory",
    "input_bytes": "input memory",
    "output_bytes": "output memory",
    "forward_backward_bytes": "forward/backward pass",
    "total_bytes": "estimated total memory",
}
MEMORY_KEYS = ("param_bytes", "input_bytes", "output_bytes", "forward_backward_bytes", "total_bytes")


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


@dataclass(frozen=True, slots=True)
class Memory:
    """Bytes for the chosen dtype; the last two follow torchsummary's estimate users know."""

    dtype: str
    element_bytes: int
    param_bytes: int
    input_bytes: int
    output_bytes: int
    forward_backward_bytes: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class ConvResult:
    """Analytic figures of one layer."""

    spec: ConvSpec
    input_shape: Size
    output_shape: Size
    weight_params: int
    bias_params: int
    macs: int
    bias_adds: int
    effective_kernel: Size
    receptive_field: Size
    memory: Memory

    @property
    def layer(self) -> str:
        """The layer as torch's repr() prints it; made when asked, so streams of results skip it."""
        return layer_repr(self.spec)

    @property
    def params(self) -> int:
        return self.weight_params + self.bias_params

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def figures(self) -> dict[str, Any]:
        """Each figure of FIGURES by key."""
        values = {key: getattr(self, key) for key in FIGURES if key not in MEMORY_KEYS}
        values.update({key: getattr(self.memory, key) for key in MEMORY_KEYS})
        return values


@dataclass(frozen=True)
class Check:
    """One figure as convcalc computed it beside what torch (or torchinfo) measured.

    ok is None for a row shown for information, with nothing on the torch side to compare.
    """

    key: str
    label: str
    analytic: Any
    measured: Any
    ok: bool | None
    note: str = ""


@dataclass(frozen=True)
class Verification:
    """What building the real layer in torch showed."""

    device: str
    # "real": a forward pass on the device; "meta": shapes and counts on the meta device;
    # "skipped": torch cannot represent the layer, so nothing was run (reason says why)
    mode: str
    reason: str
    torch_version: str
    torchinfo_version: str | None
    checks: tuple[Check, ...]
    flop_witness: str | None = None  # which of torch's FLOP counters confirmed MACs and FLOPs
    warnings: tuple[str, ...] = ()  # what torch warned while it built and ran the layer, one line each
    training_step: str = ""  # --backward: where torch ran the training step, or why it did not

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def with_training_step(self, checks: Iterable[Check], where: str) -> Verification:
        """This verification with a --backward training step's checks added, and where it ran."""
        return replace(self, checks=(*self.checks, *checks), training_step=where)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "mode": self.mode,
            "reason": self.reason,
            "torch_version": self.torch_version,
            "torchinfo_version": self.torchinfo_version,
            "flop_witness": self.flop_witness,
            "warnings": list(self.warnings),
            **({"training_step": self.training_step} if self.training_step else {}),
            "measured": {c.key: json_value(c.measured) for c in self.checks if c.measured is not None},
            "checks": [
                {
                    "key": c.key,
                    "analytic": json_value(c.analytic),
                    "measured": json_value(c.measured),
                    "ok": c.ok,
                    "note": c.note,
                }
                for c in self.checks
            ],
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Expectation:
    """One --expect clause and whether the figure met it."""

    key: str
    expected: str
    actual: Any
    ok: bool
    op: str = "="  # one of =, <=, >=, <, >; last, with a default, so older constructors still work

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "op": self.op,
            "expected": self.expected,
            "actual": json_value(self.actual),
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Report:
    """Everything one `convcalc conv` run says: analytic result, torch's verdict, expectations."""

    result: ConvResult
    verification: Verification | None = None
    expectations: tuple[Expectation, ...] = ()
    explanation: tuple[str, ...] = field(default=())
    bench: Bench | None = None  # with --bench
    training: Training | None = None  # with --backward

    @property
    def ok(self) -> bool:
        verified = self.verification is None or self.verification.ok
        return verified and all(e.ok for e in self.expectations)

    def mismatches(self) -> list[tuple[str, Check]]:
        """(where, check) for every figure torch disagreed with; where is '' for one layer."""
        return [("", c) for c in self.checks() if c.ok is False]

    def figures(self) -> dict[str, Any]:
        """Every figure by key, as --expect names them: the layer's, then --backward's."""
        return self.result.figures() | (self.training.figures() if self.training else {})

    def checks(self) -> list[Check]:
        """One row per figure: torch's check where there is one, else the analytic figure alone."""
        by_key = {c.key: c for c in self.verification.checks} if self.verification else {}
        figures = _figure_rows(self.result)
        if self.training is not None:
            values = self.training.figures()
            figures += [(key, label, values[key]) for key, label in TRAINING_FIGURES.items()]
        rows = [by_key.pop(key, Check(key, label, value, None, None)) for key, label, value in figures]
        return rows + list(by_key.values())

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "layer": r.layer,
            "kind": r.spec.kind,
            "settings": r.spec.settings(),
            **({"pads": [list(p) for p in r.spec.pads]} if sided(r.spec) else {}),
            "input_shape": list(r.input_shape),
            "output_shape": list(r.output_shape),
            "params": r.params,
            "weight_params": r.weight_params,
            "bias_params": r.bias_params,
            "macs": r.macs,
            "flops": r.flops,
            "bias_adds": r.bias_adds,
            "effective_kernel": list(r.effective_kernel),
            "receptive_field": list(r.receptive_field),
            "memory": {k: getattr(r.memory, k) for k in ("dtype", "element_bytes", *MEMORY_KEYS)},
            "convention": CONVENTION,
            "verification": self.verification.to_dict() if self.verification else None,
            "expectations": [e.to_dict() for e in self.expectations],
            "ok": self.ok,
        }
        if self.explanation:
            out["explanation"] = list(self.explanation)
        if self.bench:
            out["bench"] = self.bench.to_dict()
        if self.training:
            out["backward"] = backward_dict(self.training)
        return out


def _figure_rows(result: ConvResult) -> list[tuple[str, str, Any]]:
    figures = result.figures()
    return [(key, label, figures[key]) for key, label in FIGURES.items()]


def backward_dict(training: Training) -> dict[str, Any]:
    """--backward's figures as JSON holds them, with their convention."""
    return {**training.figures(), "convention": TRAINING_CONVENTION}


def sided(spec: ConvSpec) -> bool:
    """Whether the padding names no sizes torch's ConvNd would print (tf-same, per side): the JSON then
    gives the padding of each side as `pads`."""
    return spec.padding == TF_SAME or pads_first(spec) is not None


def json_value(value: Any) -> Any:
    """A figure as JSON holds it: shapes (tuples) as lists."""
    return list(value) if isinstance(value, tuple) else value

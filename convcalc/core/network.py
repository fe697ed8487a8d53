"""A network's report, shared by `convcalc stack` and `convcalc model`: one row per layer, the totals,
torch's verdict and the --expect clauses. Standard library only; api.py builds one.

A row carries convcalc's figures (`analytic`, None for a layer convcalc does not model) and torch's
(`measured`, None without verification). A stack's totals are convcalc's, checked against torch's; a
model's are torch's own count (every parameter once, every call's FLOPs), as model-zoo tables count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from . import formulas
from .conventions import NETWORK_CONVENTION, TRAINING_CONVENTION
from .results import SCHEMA_VERSION, Check, ConvResult, Expectation, Verification, json_value, sided
from .spec import DTYPE_BYTES, Size
from .stack_analysis import StackResult

# Figures a row may hold, in display order; the ones both sides have are compared.
ROW_FIGURES = (
    "output_shape",
    "params",
    "trainable_params",
    "buffers",
    "macs",
    "flops",
    "bias_adds",
    "receptive_field",
    "jump",
    "param_bytes",
    "output_bytes",
)
ROW_BACKWARD = ("backward_macs", "saved_bytes")  # a row's --backward figures, only with --backward
COMPARED = ("output_shape", "params", "buffers", "macs", "flops", "output_bytes", *ROW_BACKWARD)
TOTALS = (
    "params",
    "trainable_params",
    "non_trainable_params",
    "buffers",
    "macs",
    "flops",
    "bias_adds",
    "input_bytes",
    "param_bytes",
    "activation_bytes",
    "forward_backward_bytes",
    "total_bytes",
    "output_shape",
    "receptive_field",
    "jump",
)


@dataclass(frozen=True)
class LayerRow:
    """One layer (a stack's, or a model's module): what convcalc computed beside what torch measured."""

    name: str
    kind: str  # the stack kind, or the torch class of a model's module
    depth: int  # nesting: 0 for a model itself, 1 for its children, ...
    input_shape: Size | None
    analytic: dict[str, Any] | None  # None: convcalc does not model this layer
    measured: dict[str, Any] | None  # None: not verified (or not run)
    settings: dict[str, Any] = field(default_factory=dict)
    receptive_field: Size | None = None  # None where not modelled along the whole path from the input
    jump: Size | None = None
    calls: int = 1  # how many times the model called it (its figures are over every call)
    summed: bool = False  # never called, its children were: its figures are their sums
    leaf: bool = True  # False for a container, whose figures include its children's

    def figure(self, key: str) -> Any:
        """convcalc's figure where it has one, else torch's."""
        if key in ("receptive_field", "jump"):
            return getattr(self, key)
        for side in (self.analytic, self.measured):
            if side and side.get(key) is not None:
                return side[key]
        return None

    def mismatches(self) -> list[tuple[str, Any, Any]]:
        """(key, analytic, measured) for every figure both sides have and disagree on."""
        return list(self._differs)

    @cached_property
    def _differs(self) -> tuple[tuple[str, Any, Any], ...]:
        # once per row: a table, its verdicts and JSON each ask, over 100,000 rows
        if not self.analytic or not self.measured:
            return ()
        return tuple(
            (key, self.analytic[key], self.measured[key])
            for key in COMPARED
            if self.analytic.get(key) is not None
            and self.measured.get(key) is not None
            and self.analytic[key] != self.measured[key]
        )

    @property
    def ok(self) -> bool | None:
        """None where there was nothing to compare."""
        return None if not self.analytic or not self.measured else not self._differs

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "depth": self.depth,
            "calls": self.calls,
            "summed": self.summed,
            "modelled": self.analytic is not None,
            "settings": self.settings,
            "input_shape": json_value(self.input_shape),
        }
        out.update({key: json_value(self.figure(key)) for key in ROW_FIGURES if "bytes" not in key})
        out["memory"] = {key: self.figure(key) for key in ("param_bytes", "output_bytes")}
        if any(self.figure(key) is not None for key in ROW_BACKWARD):
            out["backward"] = {key: self.figure(key) for key in ROW_BACKWARD}
        conv = (self.analytic or {}).get("conv")
        if conv:  # the keys of `convcalc conv` that only a convolution has
            out |= {k: json_value(v) for k, v in conv.items()}
        out["measured"] = (
            None if self.measured is None else {k: json_value(v) for k, v in self.measured.items()}
        )
        out["ok"] = self.ok
        return out


@dataclass(frozen=True)
class NetworkReport:
    """Everything one `convcalc stack` or `convcalc model` run says."""

    command: str  # "stack" or "model"
    title: str  # what was analysed: a preset, a spec, a model's target
    input_shape: Size  # with the batch
    dtype: str
    layers: tuple[LayerRow, ...]
    total: dict[str, Any]  # TOTALS: convcalc's for a stack, torch's for a model
    verification: Verification | None = None  # how torch ran it; checks hold the totals compared
    expectations: tuple[Expectation, ...] = ()
    notes: tuple[str, ...] = ()
    depth: int | None = None  # rows deeper than this are left out of the table (never the totals)
    bench: Any = None  # a core.bench.Bench with --bench: the whole network's forward pass
    # --backward's TRAINING_FIGURES: convcalc's for a stack, torch's own count for a model
    backward: dict[str, Any] | None = None
    inputs: tuple[tuple[str, Size, str], ...] = ()  # a model's: each tensor input's name, shape, dtype
    outputs: tuple[tuple[str, Size, str], ...] = ()  # a model's: each output tensor's path, shape, dtype
    default_input: str = ""  # a model by name given no input: whose default its inputs are
    # a model's: each op that ran without a FLOP formula and does a matmul's kind of work, with its calls
    uncounted: tuple[tuple[str, int], ...] = ()

    @property
    def ok(self) -> bool:
        rows = all(row.ok is not False for row in self.layers)
        verified = self.verification is None or self.verification.ok
        return rows and verified and all(e.ok for e in self.expectations)

    @property
    def batch(self) -> int | None:
        """The first input's first dimension; None where no input is a tensor (an --inputs object)."""
        return self.input_shape[0] if self.input_shape else None

    def mismatches(self) -> list[tuple[str, Check]]:
        """(layer., check) for every figure torch disagreed with, per layer, then the totals'."""
        rows = [
            (f"{row.name}.", Check(key, key, analytic, measured, False))
            for row in self.layers
            for key, analytic, measured in row.mismatches()
        ]
        totals = [("", c) for c in self.verification.checks if c.ok is False] if self.verification else []
        return rows + totals

    def figures(self) -> dict[str, Any]:
        """The totals by name, then every layer's figures as `name.figure`, for --expect."""
        out = {key: value for key, value in self.total.items() if value is not None}
        out |= {key: value for key, value in (self.backward or {}).items() if value is not None}
        out |= {f"outputs.{path}": shape for path, shape, _ in self.outputs if path}
        if self.command == "model":
            out["uncounted"] = sum(calls for _, calls in self.uncounted)
        for row in self.layers:
            for key in (*ROW_FIGURES, *ROW_BACKWARD):
                value = row.figure(key)
                if value is not None and row.name:
                    out.setdefault(f"{row.name}.{key}", value)
        return out

    def to_dict(self, layers: bool = True) -> dict[str, Any]:
        """The report as JSON data; layers False leaves the rows' list empty, for a writer that makes
        each row's dict in turn."""
        extra: dict[str, Any] = {"bench": self.bench.to_dict()} if self.bench else {}
        if self.inputs:
            extra["inputs"] = [{"name": n, "shape": list(s), "dtype": d} for n, s, d in self.inputs]
        if self.default_input:
            extra["default_input"] = self.default_input
        if self.outputs:
            extra["outputs"] = [{"path": p, "shape": list(s), "dtype": d} for p, s, d in self.outputs]
        if self.command == "model":
            extra["uncounted_ops"] = [{"op": op, "calls": calls} for op, calls in self.uncounted]
        if self.backward is not None:
            extra["backward"] = {**self.backward, "convention": TRAINING_CONVENTION}
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "title": self.title,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "dtype": self.dtype,
            "layers": [row.to_dict() for row in self.layers] if layers else [],
            "total": {key: json_value(self.total.get(key)) for key in TOTALS},
            "convention": NETWORK_CONVENTION,
            "verification": self.verification.to_dict() if self.verification else None,
            "expectations": [e.to_dict() for e in self.expectations],
            "notes": list(self.notes),
            "ok": self.ok,
            **extra,
        }


def analytic_figures(
    output_shape: Size,
    params: int,
    buffers: int,
    macs: int,
    bias_adds: int,
    dtype: str,
    conv: ConvResult | None,
    trainable: bool = False,
) -> dict[str, Any]:
    """A layer's figures as a row holds them; a convolution's also carry the keys only it has.
    trainable: every parameter trains (a stack's); a model's layers may be frozen, so torch says."""
    element = DTYPE_BYTES[dtype]
    figures: dict[str, Any] = {
        "output_shape": output_shape,
        "params": params,
        **({"trainable_params": params} if trainable else {}),
        "buffers": buffers,
        "macs": macs,
        "flops": 2 * macs,
        "bias_adds": bias_adds,
        "param_bytes": params * element,
        "output_bytes": formulas.tensor_bytes(output_shape, element),
    }
    if conv is not None:
        figures["conv"] = {
            "weight_params": conv.weight_params,
            "bias_params": conv.bias_params,
            "effective_kernel": conv.effective_kernel,
        }
        if sided(conv.spec):  # tf-same or per side: each side's padding, as conv's JSON gives it
            figures["conv"]["pads"] = [list(pair) for pair in conv.spec.pads]
    return figures


def stack_rows(result: StackResult) -> tuple[LayerRow, ...]:
    """One row per layer of an analysed stack, convcalc's figures only."""
    return tuple(
        LayerRow(
            name=layer.name,
            kind=layer.kind,
            depth=layer.depth + 1,
            input_shape=layer.input_shape,
            analytic=analytic_figures(
                layer.output_shape,
                layer.params,
                layer.buffers,
                layer.macs,
                layer.bias_adds,
                result.dtype,
                layer.conv,
                trainable=True,
            ),
            measured=None,
            settings=layer.settings,
            receptive_field=layer.receptive_field or None,  # () for a features-only input: no map
            jump=layer.jump or None,
        )
        for layer in result.layers
    )


def totals(
    *,
    params: int,
    trainable_params: int,
    buffers: int,
    macs: int,
    bias_adds: int,
    input_bytes: int,
    activation_bytes: int,
    dtype: str,
    output_shape: Size | None,
    receptive_field: Size | None,
    jump: Size | None,
) -> dict[str, Any]:
    """The TOTALS of a network; memory as torchsummary estimates it (forward/backward = 2 x outputs)."""
    param_bytes = params * DTYPE_BYTES[dtype]
    return {
        "params": params,
        "trainable_params": trainable_params,
        "non_trainable_params": params - trainable_params,
        "buffers": buffers,
        "macs": macs,
        "flops": 2 * macs,
        "bias_adds": bias_adds,
        "input_bytes": input_bytes,
        "param_bytes": param_bytes,
        "activation_bytes": activation_bytes,
        "forward_backward_bytes": 2 * activation_bytes,
        "total_bytes": input_bytes + 2 * activation_bytes + param_bytes,
        "output_shape": output_shape,
        "receptive_field": receptive_field or None,
        "jump": jump or None,
    }


def stack_totals(result: StackResult) -> dict[str, Any]:
    return totals(
        params=result.params,
        trainable_params=result.trainable_params,
        buffers=result.buffers,
        macs=result.macs,
        bias_adds=result.bias_adds,
        input_bytes=formulas.tensor_bytes(result.input_shape, DTYPE_BYTES[result.dtype]),
        activation_bytes=result.activation_bytes,
        dtype=result.dtype,
        output_shape=result.output_shape,
        receptive_field=result.receptive_field,
        jump=result.jump,
    )


def with_backward(report: NetworkReport, layers: tuple[Any, ...], total: Any) -> NetworkReport:
    """A stack's report with --backward's figures (core.backward's, per layer and in total) added."""
    rows = tuple(
        replace(
            row, analytic={**row.analytic, "backward_macs": t.backward_macs, "saved_bytes": t.saved_bytes}
        )
        for row, t in zip(report.layers, layers)
    )
    return replace(report, layers=rows, backward=total.figures())

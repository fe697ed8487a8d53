"""A comparison's data: a standard convolution beside its cheaper alternatives, each maybe verified.

Standard library only. compare_report() in api.py builds one.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import Any

from .conventions import COMPARE_CONVENTION
from .formulas import ratio
from .results import SCHEMA_VERSION, Check, Expectation, Verification, backward_dict
from .spec import ConvSpec
from .variants import Variant, VariantResult


@dataclass(frozen=True)
class VariantRow:
    variant: Variant
    result: VariantResult | None  # None when skipped
    verification: Verification | None
    bench: Any = None  # a core.bench.Bench with --bench
    training: Any = None  # a core.backward.Training with --backward


@dataclass(frozen=True)
class CompareReport:
    base: ConvSpec
    rows: tuple[VariantRow, ...]
    verified: bool
    expectations: tuple[Expectation, ...] = ()

    @property
    def standard(self) -> VariantResult:
        return self.rows[0].result

    @property
    def ok(self) -> bool:
        checked = all(r.verification.ok for r in self.rows if r.verification)
        return checked and all(e.ok for e in self.expectations)

    def mismatches(self) -> list[tuple[str, Check]]:
        """(variant., check) for every figure torch disagreed with."""
        return [
            (f"{row.variant.name}.", c)
            for row in self.rows
            if row.verification
            for c in row.verification.checks
            if c.ok is False
        ]

    def ratios(self, result: VariantResult) -> tuple[float | int, float | int]:
        """params and MACs over the standard convolution's."""
        standard = self.standard
        return ratio(result.params, standard.params), ratio(result.macs, standard.macs)

    def figures(self) -> dict[str, Any]:
        """Every variant's figures as `variant.figure`, for --expect."""
        out = {}
        for row in self.rows:
            if row.result:
                ratio_params, ratio_macs = self.ratios(row.result)
                figures = {**row.result.figures(), "ratio_params": ratio_params, "ratio_macs": ratio_macs}
                figures |= row.training.figures() if row.training else {}
                out.update({f"{row.variant.name}.{k}": v for k, v in figures.items()})
        return out

    def separable_ratio(self) -> tuple[Fraction, Fraction] | None:
        """Depthwise-separable MACs over standard, measured and by MobileNet's closed form M/Cout + M/k^2."""
        dwsep = next((r.result for r in self.rows if r.variant.name == "dwsep" and r.result), None)
        if dwsep is None:
            return None
        depthwise = dwsep.stages[0].spec
        m = depthwise.out_channels // depthwise.in_channels
        closed = Fraction(m, self.base.out_channels) + Fraction(m, prod(depthwise.kernel_size))
        return Fraction(dwsep.macs, self.standard.macs), closed

    def to_list(self) -> list[dict[str, Any]]:
        return [self._row_dict(row) for row in self.rows]

    def _row_dict(self, row: VariantRow) -> dict[str, Any]:
        head = {"schema_version": SCHEMA_VERSION, "variant": row.variant.name, "title": row.variant.title}
        if row.result is None:
            return {**head, "skipped": row.variant.skipped}
        out = self._figures_dict(row, head)
        if row.bench:
            out["bench"] = row.bench.to_dict()
        if row.training:
            out["backward"] = backward_dict(row.training)
        return out

    def _figures_dict(self, row: VariantRow, head: dict[str, Any]) -> dict[str, Any]:
        r = row.result
        ratio_params, ratio_macs = self.ratios(r)
        spec = r.stages[0].spec
        prefix = row.variant.name + "."
        return {
            **head,
            "layer": r.layer,
            "formula": row.variant.formula,
            "stages": [s.spec.settings() for s in r.stages],
            "input_shape": list(r.input_shape),
            "output_shape": list(r.output_shape),
            "params": r.params,
            "weight_params": r.weight_params,
            "bias_params": r.bias_params,
            "bn_params": r.bn_params,
            "buffers": r.buffers,
            "macs": r.macs,
            "flops": r.flops,
            "bias_adds": r.bias_adds,
            "receptive_field": list(r.receptive_field),
            "memory": {
                "dtype": spec.dtype,
                "element_bytes": spec.element_bytes,
                "param_bytes": r.param_bytes,
                "input_bytes": r.stages[0].memory.input_bytes,
                "output_bytes": r.output_bytes,
                "activation_bytes": r.activation_bytes,
            },
            "ratio_params": ratio_params,
            "ratio_macs": ratio_macs,
            "convention": COMPARE_CONVENTION,
            "verification": row.verification.to_dict() if row.verification else None,
            "expectations": [e.to_dict() for e in self.expectations if e.key.startswith(prefix)],
            "ok": (row.verification is None or row.verification.ok)
            and all(e.ok for e in self.expectations if e.key.startswith(prefix)),
        }

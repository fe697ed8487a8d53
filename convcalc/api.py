"""The public functions the CLI calls, named as its commands: conv_report() and compare_report(), each a
whole pipeline (analysis, verification in torch, --expect) as one call, for Python users and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .core.analysis import analyze
from .core.compare import CompareReport, VariantRow
from .core.expect import check_expectations
from .core.explain import explain as explain_lines
from .core.layers import as_spec
from .core.results import Report
from .core.spec import ConvSpec, IntOrSize, check_device
from .core.variants import analyze_variant, build_variants


def conv_report(
    spec: ConvSpec | Any,
    *,
    input_size: IntOrSize | None = None,
    batch: int | None = None,
    dtype: str | None = None,
    device: str = "cpu",
    verify: bool = True,
    full: bool = False,
    expect: Sequence[str] = (),
    explain: bool = False,
) -> Report:
    """Analyze spec; unless verify is False, confirm it in torch on device; check expectations.

    spec is a ConvSpec or a torch convolution module (nn.Conv2d(3, 4, 3), ...), whose settings are read
    into one; input_size, batch and dtype, when given, replace the spec's (a module's dtype is its weight's).
    """
    spec = as_spec(spec, input_size=input_size, batch=batch, dtype=dtype)
    check_device(device)
    result = analyze(spec)
    expectations = check_expectations(result.figures(), list(expect))  # bad clauses fail before torch loads
    verification = None
    if verify:
        from .measure.verify import verify as run_verify  # imports torch lazily, inside its functions

        verification = run_verify(result, device=device, full=full)
    return Report(result, verification, expectations, explain_lines(result) if explain else ())


def compare_report(
    base: ConvSpec,
    *,
    groups: list[int] | None = None,
    multiplier: int = 1,
    bn: bool = False,
    act: str | None = None,
    device: str = "cpu",
    verify: bool = True,
    full: bool = False,
    expect: Sequence[str] = (),
) -> CompareReport:
    """Analyze every variant of base; unless verify is False, build each in torch on device."""
    check_device(device)
    variants = build_variants(base, groups, multiplier, bn, act)
    results = [None if v.skipped else analyze_variant(v) for v in variants]
    draft = CompareReport(base, tuple(VariantRow(v, r, None) for v, r in zip(variants, results)), verify)
    expectations = check_expectations(draft.figures(), list(expect))  # bad clauses fail before torch loads
    verifications = [None] * len(variants)
    if verify:
        from .measure.verify import verify_variant

        verifications = [r and verify_variant(r, device=device, full=full) for r in results]
    rows = tuple(VariantRow(v, r, ver) for v, r, ver in zip(variants, results, verifications))
    return CompareReport(base, rows, verify, expectations)

"""What every report's text shares: the formats, JSON, how a figure is written, and the lines under a
table (input, how torch verified, what it warned, each --expect)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..core.errors import FormatError, term
from ..core.results import Report, Verification
from ..core.vocabulary import TF_SAME, padding_text

if TYPE_CHECKING:
    from ..core.compare import CompareReport
    from ..core.network import NetworkReport
from .cells import BYTES, COUNT, SHAPE, TEXT, shape_text, text

FORMATS = ("table", "json", "csv", "markdown", "latex")


def check_format(fmt: str, explain: bool) -> None:
    """Refuse, before any work, a format convcalc does not write, and what a format cannot hold: CSV has
    no place for --explain's lines."""
    if fmt not in FORMATS:
        raise FormatError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if explain and fmt == "csv":
        raise FormatError(
            f"{term('explain=True')} cannot be written as CSV; "
            f"use {term('fmt')} table, markdown, json or latex"
        )


def to_json(data: Any, ascii_only: bool = False, layers: Iterable[dict[str, Any]] | None = None) -> str:
    """JSON as UTF-8 text, or with \\u escapes for an ASCII stream: the same data either way.

    layers: the top-level "layers" list given row by row (json_chunks)."""
    if layers is None:
        return json.dumps(data, indent=2, ensure_ascii=ascii_only) + "\n"
    return "".join(json_chunks(data, ascii_only, layers))


def json_chunks(data: Any, ascii_only: bool, layers: Iterable[dict[str, Any]]) -> Iterator[str]:
    """to_json's text in pieces, the top-level "layers" list made and written row by row, so that a model
    of 100,000 modules never holds them all, nor the whole text (80 MB), nor the encoder's pieces."""
    head, empty, tail = json.dumps({**data, "layers": []}, indent=2, ensure_ascii=ascii_only).partition(
        '\n  "layers": []'  # two spaces: the top level's key, whatever a string deeper holds
    )
    rows = (json.dumps(row, indent=2, ensure_ascii=ascii_only).replace("\n", "\n    ") for row in layers)
    first = next(rows, None)
    if first is None:
        yield head + empty + tail + "\n"
        return
    yield f'{head}\n  "layers": [\n    {first}'
    for row in rows:
        yield ",\n    " + row
    yield "\n  ]" + tail + "\n"


def kind_of(key: str, value: Any) -> str:
    """How a figure is written, from its key."""
    if isinstance(value, tuple):
        return SHAPE
    if isinstance(value, str):  # "yes"/"no" of the torch_accepts row
        return TEXT
    return BYTES if key.endswith("bytes") else COUNT


def value_text(key: str, value: Any) -> str:
    return text(kind_of(key, value), value)


NOT_VERIFIED = "analytic only (--no-verify): nothing was confirmed by torch"
_META_MEMORY = "memory is not measured on meta, which allocates nothing"


def verification_line(report: Any, versions: bool = True) -> str:
    """How torch verified any report, with which versions (left out of a paper's table), and the verdict:
    a layer's figures, each variant of a comparison, or a network's layers and totals."""
    if not isinstance(report, Report):
        from ..core.compare import CompareReport  # loaded already where a comparison was made

        if isinstance(report, CompareReport):
            return _variants_line(report, versions)
    v = report.verification
    if v is None:
        return NOT_VERIFIED
    if not isinstance(report, Report):
        return _network_line(report, v, versions)
    if v.mode == "skipped":
        return f"{v.reason} (torch {v.torch_version})" if versions else v.reason
    tools = f"torch {v.torch_version}" + (f", torchinfo {v.torchinfo_version}" if v.torchinfo_version else "")
    compared = [c for c in v.checks if c.ok is not None]
    differ = [c.label for c in compared if not c.ok]
    verdict = (
        f"all {len(compared)} compared figures agree"
        if not differ
        else f"{len(differ)} of {len(compared)} figures DIFFER: {', '.join(differ)}"
    )
    if v.mode == "meta":  # say plainly which rows were only computed
        verdict += "; the memory rows are not measured, since the meta device allocates nothing"
    return "; ".join([f"verified on {v.device}: {v.reason}", *([tools] if versions else []), verdict])


def _variants_line(report: CompareReport, versions: bool) -> str:
    checked = [row for row in report.rows if row.verification]
    if not report.verified:
        return NOT_VERIFIED
    if not checked:
        return "nothing to verify"
    skipped = [row for row in checked if row.verification.mode == "skipped"]
    ran = [row for row in checked if row.verification.mode != "skipped"]
    parts = []
    if ran:
        first = ran[0].verification
        bad = [row.variant.name for row in ran if not row.verification.ok]
        modes = sorted({row.verification.mode for row in ran})
        verdict = f"all {len(ran)} variants agree" if not bad else f"DIFFERS: {', '.join(bad)}"
        passes = " and ".join(modes)
        if "meta" in modes:
            verdict += f"; {_META_MEMORY}"
        tools = f", torch {first.torch_version}" if versions else ""
        parts.append(f"verified on {first.device} ({passes} passes){tools}: {verdict}")
    if skipped:
        names = ", ".join(row.variant.name for row in skipped)
        parts.append(f"{names}: {skipped[0].verification.reason}")
    return "; ".join(parts)


def _network_line(report: NetworkReport, v: Verification, versions: bool) -> str:
    tools = f", torch {v.torch_version}" if versions else ""
    if v.mode == "skipped":
        return v.reason
    compared = [row for row in report.layers if row.ok is not None]
    differ = [row.name for row in compared if not row.ok] + [c.key for c in v.checks if c.ok is False]
    agree = (
        "no layer is modelled by convcalc"
        if not compared
        else "the one layer modelled agrees"
        if len(compared) == 1
        else f"all {len(compared)} layers modelled agree"
    )
    verdict = (
        agree if not differ else f"DIFFERS: {', '.join(differ[:8])}" + (", ..." if len(differ) > 8 else "")
    )
    if report.command == "stack":
        verdict += " and so do the totals" if not differ else ""
    else:
        verdict += "; the totals are torch's own count"
    if v.mode == "meta":
        verdict += f"; {_META_MEMORY}"
    where = "verified" if v.reason.startswith("counted on") else f"verified on {v.device}"  # says where
    return f"{where}: {v.reason}{tools} (FLOPs by {v.flop_witness}): {verdict}"


def input_line(spec: Any, input_shape: tuple[int, ...], dtype: str) -> str:
    default = " (default --input; set it with -i)" if spec.default_input else ""
    return f"input {shape_text(input_shape)}{default}, {dtype}"


def padding_lines(spec: Any) -> list[str]:
    """What a layer's tf-same padding came to, and the output padding its output_size sets, where given."""
    lines = []
    if spec.padding == TF_SAME:
        lines.append(
            f"padding tf-same (TensorFlow's 'SAME': output ceil(input / stride)) pads "
            f"{padding_text(spec.pads)} (before+after where the two differ)"
        )
    if spec.output_size is not None:
        lines.append(
            f"output_size {shape_text(spec.output_size)}: output_padding {shape_text(spec.output_padding)}, "
            "as torch's forward(x, output_size=...) sets it"
        )
    return lines


def warning_lines(verifications: Any, names: Sequence[str] = ()) -> list[str]:
    """What torch warned while it ran, once each, as convcalc notes; then where each --backward training
    step ran, once each, with the names (a compare's variants) it holds for where several differ."""
    pairs = [(v, name) for v, name in itertools.zip_longest(verifications, names, fillvalue="") if v]
    seen = dict.fromkeys(w for v, _ in pairs for w in v.warnings)
    steps: dict[str, list[str]] = {}
    for v, name in pairs:
        if v.training_step:
            steps.setdefault(v.training_step, []).append(name)
    lines = [f"torch warned: {w}" for w in seen]
    for step, holders in steps.items():
        who = ", ".join(holders) + ": " if len(steps) > 1 and all(holders) else ""
        lines.append(f"--backward: {who}{step}")
    return lines


def expectation_lines(expectations: Any) -> list[str]:
    return [
        f"expect {e.key}{e.op}{e.expected}: {'ok' if e.ok else 'NOT MET'}"
        f" (actual {value_text(e.key, e.actual)})"
        for e in expectations
    ]


def mismatch_lines(report: Any) -> list[str]:
    """One line per figure torch disagreed with, prefixed by its variant or layer, for any report."""
    return [
        f"MISMATCH {prefix}{c.key}: analytic {c.analytic} but torch measured {c.measured}"
        for prefix, c in report.mismatches()
    ]


def unmet_lines(expectations: Any) -> list[str]:
    """One line per --expect clause not met, with the figure's actual value."""
    return [
        f"expectation not met: {e.key}{e.op}{e.expected}, actual {value_text(e.key, e.actual)}"
        for e in expectations
        if not e.ok
    ]

"""--expect NAME=VALUE: check a figure against what the user says it should be.

Plain integers are exact; '2.3M' holds when the figure rounds to 2.3M at the precision written
(K, M, G, T are powers of 1000; KiB, MiB, GiB of 1024). Shapes are written 1x10x30x30.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import ExpectError
from .results import FIGURES, ConvResult, Expectation

ALIASES = {"output": "output_shape", "shape": "output_shape", "rf": "receptive_field"}
_SCALES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(k|m|g|t|kib|mib|gib)?$", re.IGNORECASE)
_SHAPED = ("output_shape", "receptive_field", "effective_kernel")


def check_expectations(result: ConvResult, clauses: list[str]) -> tuple[Expectation, ...]:
    """One Expectation per clause; a clause that cannot be read raises ExpectError."""
    figures = result.figures()
    checked = []
    for clause in clauses:
        key, expected = parse_clause(clause)
        actual = figures[key]
        checked.append(Expectation(key, expected, actual, holds(key, expected, actual)))
    return tuple(checked)


def parse_clause(clause: str) -> tuple[str, str]:
    name, sep, value = clause.partition("=")
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if not sep or not value.strip():
        raise ExpectError(f"--expect {clause!r}: write NAME=VALUE, e.g. --expect params=270")
    if key not in FIGURES:
        names = ", ".join([*FIGURES, *ALIASES])
        raise ExpectError(f"--expect {clause!r}: unknown figure {name.strip()!r}; use one of {names}")
    value = value.strip()
    if key in _SHAPED:
        if not re.fullmatch(r"\d+(x\d+)*", value.lower()):
            raise ExpectError(
                f"--expect {clause!r}: {key} is written like 1x10x30x30 (or 3 for every dimension)"
            )
    elif not _NUMBER.match(value):
        raise ExpectError(f"--expect {clause!r}: {value!r} is not a count; write 270, 2.3M or 1.5MiB")
    return key, value


def holds(key: str, expected: str, actual: Any) -> bool:
    if key in _SHAPED:
        values = tuple(int(v) for v in expected.lower().split("x"))
        if key != "output_shape" and len(values) == 1:
            values *= len(actual)
        return values == tuple(actual)
    number, suffix = _NUMBER.match(expected).groups()
    scale = _SCALES[(suffix or "").lower()]
    if not suffix:
        return Decimal(number) == actual
    written = Decimal(number)
    rounded = (Decimal(actual) / scale).quantize(
        Decimal(1).scaleb(written.as_tuple().exponent), rounding=ROUND_HALF_UP
    )
    return rounded == written

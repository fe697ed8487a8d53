"""--expect NAME=VALUE: check a figure against what the user says it should be.

Plain integers are exact; '2.3M' holds when the figure rounds to 2.3M at the precision written
(K, M, G, T are powers of 1000; KiB, MiB, GiB of 1024), and so does a plain decimal like 0.19.
Shapes are written 1x10x30x30. Names may carry a prefix, as in `dwsep.params` for `compare`.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from .errors import ExpectError
from .results import Expectation
from .spec import MAX_DIGITS

ALIASES = {"output": "output_shape", "shape": "output_shape", "rf": "receptive_field"}
_SCALES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}
# ASCII digits only, as every size and count convcalc reads (int() would take the full-width '２７０').
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(k|m|g|t|kib|mib|gib)?$", re.IGNORECASE | re.ASCII)
_SHAPE = re.compile(r"\d+(x\d+)*", re.ASCII)
_SHAPED = ("output_shape", "receptive_field", "effective_kernel")


def check_expectations(figures: dict[str, Any], clauses: list[str]) -> tuple[Expectation, ...]:
    """One Expectation per clause, checked against figures; an unreadable clause raises ExpectError."""
    checked = []
    for clause in clauses:
        key, expected = parse_clause(clause, figures)
        actual = figures[key]
        checked.append(Expectation(key, expected, actual, holds(key, expected, actual)))
    return tuple(checked)


def parse_clause(clause: str, figures: dict[str, Any]) -> tuple[str, str]:
    name, sep, value = clause.partition("=")
    prefix, dot, figure = name.strip().lower().rpartition(".")
    key = prefix + dot + ALIASES.get(figure, figure)
    if not sep or not value.strip():
        raise ExpectError(f"--expect {clause!r}: write NAME=VALUE, e.g. --expect params=270")
    if key not in figures:
        raise ExpectError(
            f"--expect {clause!r}: unknown figure {name.strip()!r}; use one of {_names(figures)}"
        )
    value = value.strip()
    if len(value) > MAX_DIGITS:
        raise ExpectError(f"--expect {name.strip()}=...: the value has more than {MAX_DIGITS:,} characters")
    if figure_of(key) in _SHAPED:
        if not _SHAPE.fullmatch(value.lower()):
            raise ExpectError(
                f"--expect {name.strip()}: got {value!r}; it must be a shape such as 1x10x30x30 "
                "(or 3 for every dimension)"
            )
    elif not _NUMBER.match(value):
        raise ExpectError(
            f"--expect {name.strip()}: got {value!r}; it must be a number >= 0 such as 270, 2.3M, 0.19 "
            "or 1.5MiB"
        )
    elif (_NUMBER.match(value).group(2) or "").lower().endswith("ib") and not key.endswith("bytes"):
        raise ExpectError(
            f"--expect {name.strip()}: got {value!r}; KiB, MiB and GiB are for the *_bytes figures, "
            "and this one is a count: use K, M, G or T"
        )
    return key, value


def _names(figures: dict[str, Any]) -> str:
    names = list(figures)
    if not any("." in n for n in names):
        names += list(ALIASES)
    return ", ".join(names) if len(names) <= 30 else ", ".join(names[:30]) + ", ..."


def figure_of(key: str) -> str:
    return key.rpartition(".")[2]


def holds(key: str, expected: str, actual: Any) -> bool:
    if figure_of(key) in _SHAPED:
        values = tuple(int(v) for v in expected.lower().split("x"))
        if figure_of(key) != "output_shape" and len(values) == 1:
            values *= len(actual)
        return values == tuple(actual)
    number, suffix = _NUMBER.match(expected).groups()
    written = Decimal(number)
    if not suffix and written == written.to_integral_value() and "." not in number:
        return written == actual  # a plain integer is exact
    scale = _SCALES[(suffix or "").lower()]
    exponent = written.as_tuple().exponent
    value = Decimal(actual) if isinstance(actual, int) else Decimal(str(actual))
    with localcontext() as ctx:
        # Exact whatever the size: room for every digit of the figure and every decimal written.
        ctx.prec = max(28, int(actual).bit_length() // 3 + 12 - exponent)
        rounded = (value / scale).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
    return rounded == written

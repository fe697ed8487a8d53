"""--expect NAME OP VALUE: check a figure against what the user says it should be.

OP is =, <=, >=, < or > (== means =). With =, plain integers are exact; '2.3M' holds when the figure
rounds to 2.3M at the precision written (K, M, G, T are powers of 1000; KiB, MiB, GiB of 1024), and so
does a plain decimal like 0.19. The other operators compare the figure exactly with the value written
times its scale: macs<=600M means macs <= 600,000,000. Shapes are written 1x10x30x30 and compared with =
only. Names may carry a prefix, as in `dwsep.params` for `compare`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from .errors import ExpectError, term
from .results import TRAINING_FIGURES, Expectation
from .spec import MAX_DIGITS

ALIASES = {"output": "output_shape", "shape": "output_shape", "rf": "receptive_field"}
_SCALES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}
# ASCII digits only, as every size and count convcalc reads (int() would take the full-width '２７０').
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(k|m|g|t|kib|mib|gib)?$", re.IGNORECASE | re.ASCII)
_SHAPE = re.compile(r"\d+(x\d+)*|\(\)", re.ASCII)  # () a scalar's
_SHAPED = ("output_shape", "receptive_field", "effective_kernel", "jump")
# The whole run of operator characters is the operator, so '=<' or '<<' is refused, not half-read.
_EXPECT = term("expect")
_CLAUSE = re.compile(r"([^<>=!]*)([<>=!]+)(.*)", re.DOTALL)
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
OPERATORS = ("=", *_ORDER)
_GRAMMAR = f"write NAME=VALUE or NAME<=VALUE (operators =, <=, >=, <, >), e.g. {term('expect')} params=270"


def check_expectations(figures: dict[str, Any], clauses: list[str]) -> tuple[Expectation, ...]:
    """One Expectation per clause, checked against figures; an unreadable clause raises ExpectError."""
    checked = []
    for clause in clauses:
        key, op, expected = parse_clause(clause, figures)
        actual = figures[key]
        checked.append(Expectation(key, expected, actual, holds(key, expected, actual, op), op=op))
    return tuple(checked)


def parse_clause(clause: str, figures: dict[str, Any]) -> tuple[str, str, str]:
    """The figure's key, the operator ('==' read as '=') and the value as written."""
    name, op, value = split_clause(clause)
    prefix, dot, figure = name.rpartition(".")
    key = prefix + dot + ALIASES.get(figure.lower(), figure.lower())
    if key not in figures:  # layer names keep their case; a name typed in another case still finds one
        key = next((k for k in figures if k.lower() == key.lower()), key)
    if key not in figures and figure.lower() in TRAINING_FIGURES:
        raise ExpectError(
            f"{_EXPECT} {clause!r}: {figure!r} is a {term('backward')} figure: "
            f"add {term('backward=True')} (where it is given, the notes say why torch could not count it)"
        )
    if key not in figures:
        raise ExpectError(f"{_EXPECT} {clause!r}: unknown figure {name!r}; use one of {_names(figures)}")
    if len(value) > MAX_DIGITS:
        raise ExpectError(f"{_EXPECT} {name}{op}...: the value has more than {MAX_DIGITS:,} characters")
    if figure_of(key) in _SHAPED:
        _check_shape(clause, name, op, value)
    else:
        _check_number(key, name, value)
    return key, op, value


def split_clause(clause: str) -> tuple[str, str, str]:
    """NAME, OP and VALUE of a clause, stripped of the spaces allowed around OP."""
    match = _CLAUSE.fullmatch(clause)
    if not match or not match[3].strip():
        raise ExpectError(f"{_EXPECT} {clause!r}: {_GRAMMAR}")
    name, op, value = match[1].strip(), match[2], match[3].strip()
    if op == "==":
        op = "="
    if op not in OPERATORS:
        swapped = {"=<": " (did you mean <=?)", "=>": " (did you mean >=?)"}.get(op, "")
        raise ExpectError(
            f"{_EXPECT} {clause!r}: unknown operator {op!r}{swapped}; use one of =, <=, >=, <, > (or ==)"
        )
    return name, op, value


def _check_shape(clause: str, name: str, op: str, value: str) -> None:
    if op != "=":
        raise ExpectError(
            f"{_EXPECT} {clause!r}: shapes are compared with = only, e.g. {_EXPECT} {name}={value}"
        )
    if not _SHAPE.fullmatch(value.lower()):
        raise ExpectError(
            f"{_EXPECT} {name}: got {value!r}; it must be a shape such as 1x10x30x30 "
            "(or 3 for every dimension, () for a scalar)"
        )


def _check_number(key: str, name: str, value: str) -> None:
    number = _NUMBER.match(value)
    if not number:
        raise ExpectError(
            f"{_EXPECT} {name}: got {value!r}; it must be a number >= 0 such as 270, 2.3M, 0.19 or 1.5MiB"
        )
    if (number.group(2) or "").lower().endswith("ib") and not key.endswith("bytes"):
        raise ExpectError(
            f"{_EXPECT} {name}: got {value!r}; KiB, MiB and GiB are for the *_bytes figures, "
            "and this one is a count: use K, M, G or T"
        )


def _names(figures: dict[str, Any]) -> str:
    names = list(figures)
    if not any("." in n for n in names):
        names += list(ALIASES)
    return ", ".join(names) if len(names) <= 30 else ", ".join(names[:30]) + ", ..."


def figure_of(key: str) -> str:
    """The figure a key names: its last part; a model's output tensor (outputs.PATH) is a shape."""
    return "output_shape" if key.startswith("outputs.") else key.rpartition(".")[2]


def holds(key: str, expected: str, actual: Any, op: str = "=") -> bool:
    """Whether the figure meets the clause; shapes only ever with '='."""
    if figure_of(key) in _SHAPED:
        values = tuple(int(v) for v in expected.lower().split("x") if v != "()")
        if figure_of(key) != "output_shape" and len(values) == 1:
            values *= len(actual)
        return values == tuple(actual)
    if op in _ORDER:
        return _ORDER[op](_exact(actual), _written(expected))
    return _rounds_to(expected, actual)


def _exact(actual: Any) -> Decimal:
    # A float as Python prints it (the shortest repr that reads back the same), as '=' and JSON show it.
    return Decimal(actual) if isinstance(actual, int) else Decimal(str(actual))


def _written(expected: str) -> Decimal:
    """The value written times its scale, exactly: 600M is 600,000,000 and 1.5KiB is 1,536."""
    number, suffix = _NUMBER.match(expected).groups()
    with localcontext() as ctx:
        # Room for every digit written and every digit of the scale, so the product is not rounded.
        ctx.prec = len(number) + 16
        return Decimal(number) * _SCALES[(suffix or "").lower()]


def _rounds_to(expected: str, actual: Any) -> bool:
    """'=': a plain integer is exact; anything else holds when the figure rounds to it as written."""
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

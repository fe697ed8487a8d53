"""How one value is written: a cell's kind (a count, bytes, a shape, ...) and its text for people or its
plain value for a spreadsheet. Every writer of every report formats values here. Standard library only."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from ..core.errors import printable

# Cell kinds: how a value is written. (kind, value) pairs are the cells.
COUNT, BYTES, SHAPE, TEXT, MARK, RATIO, BAR = "count", "bytes", "shape", "text", "mark", "ratio", "bar"
SI = "si"  # a count written short for people (31.9M), exact in CSV
SECONDS, PERCENT = "seconds", "percent"  # a duration (2.32 ms) and a fraction (12.3%); raw in CSV
_SI = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
Cell = tuple[str, Any]
_BYTE_UNITS = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"))  # below 1 MiB: exact bytes


def byte_unit(largest: int) -> tuple[int, str]:
    """The unit figures up to `largest` bytes are written in together: B, MiB, GiB or TiB."""
    return next(((scale, unit) for scale, unit in _BYTE_UNITS if largest >= scale), (1, "B"))


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "()"  # () a scalar's, as --expect reads it


def text(kind: str, value: Any, unit: tuple[int, str] | None = None) -> str:
    """A cell for people: counts with separators, bytes in B/MiB/GiB/TiB (or `unit`), shapes as 1x10x30x30."""
    if kind == MARK:
        return {True: "ok", False: "DIFFERS", None: ""}[value]
    if value is None:
        return "-"
    if kind == SHAPE:
        return shape_text(value)
    if kind == BYTES:
        scale, name = unit or next(((s, u) for s, u in _BYTE_UNITS if value >= s), (1, "B"))
        if scale == 1:
            return f"{value:,} B"
        with localcontext() as exact:  # Decimal: no float overflow past 1e308; every digit it prints true
            exact.prec = max(28, len(str(value)) + 4)
            scaled = Decimal(value) / scale
        # Two decimals, or two significant digits for a figure that small beside larger ones.
        return f"{scaled:,.2f} {name}" if not value or scaled >= Decimal("0.01") else f"{scaled:.2g} {name}"
    if kind == COUNT:
        return f"{value:,}"
    if kind == RATIO:
        return f"{value:.3g}" if isinstance(value, float) else _g3(Decimal(value))
    if kind == SECONDS:
        return seconds(value)
    if kind == PERCENT:
        return f"{100 * value:.3g}%"
    if kind == SI:
        # A unit once the value rounds to 1.00 of it (999,999,999 is 1G, not 1e+3M); Decimal past 1e308.
        if 2000 * value >= 1999 * 10**15:  # past T: plain scientific (4.44e+23), never 4.44e+11T
            return _g3(Decimal(value))
        short = ((Decimal(value) / scale, suffix) for scale, suffix in _SI if 2000 * value >= 1999 * scale)
        return next((f"{_g3(v)}{suffix}" for v, suffix in short), str(value))
    return printable(str(value))


def seconds(value: float) -> str:
    """A duration at three significant digits in the unit that reads best: 2.32 ms, 90.5 us."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def _g3(value: Decimal) -> str:
    """Three significant digits without trailing zeros, as float's 'g' writes them: 16M, not 16.0M."""
    mantissa, e, exponent = f"{value:.3g}".partition("e")
    return (mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa) + e + exponent


def plain(kind: str, value: Any) -> Any:
    """A cell for spreadsheets: raw numbers, shapes as 1x10x30x30, marks as yes/no."""
    if value is None:
        return ""
    if kind == SHAPE:
        return shape_text(value)
    if kind == MARK:
        return "yes" if value else "no"
    if kind == BAR:
        return ""
    return printable(value) if isinstance(value, str) else value

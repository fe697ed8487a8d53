"""The rules of the padding forms beyond torch's own: a per-side padding's normal form, and the output
padding a transposed layer's output_size sets (torch's rule). geometry.py asks them of a layer's sizes.
Standard library only.
"""

from __future__ import annotations

from typing import Any

from . import formulas
from .errors import InvalidSpecError, term
from .vocabulary import Sides, Size


def per_side(padding: tuple) -> tuple:
    """A padding with any dimension written as a (before, after) pair (or Sides) as a pair per dimension;
    as one value per dimension where every dimension pads its two sides alike."""
    if not any(isinstance(p, tuple | list | Sides) for p in padding):
        return padding
    pairs = []
    for p in padding:
        if isinstance(p, Sides):
            p = (p.before, p.after)
        elif not isinstance(p, tuple | list):
            p = (p, p)
        elif len(p) != 2:
            raise InvalidSpecError(
                "padding",
                f"a dimension takes one value or a before+after pair such as 0+1, not {len(p)} values",
            )
        pairs.append(tuple(p))
    if all(type(b) is type(a) and b == a for b, a in pairs):
        return tuple(b for b, _ in pairs)
    return tuple(pairs)


def check_output_size(spec: Any) -> None:
    """output_size sets output_padding, as torch's forward(x, output_size=...) does; refused as torch
    refuses it where no output_padding from 0 to stride - 1 gives it."""
    if any(spec.output_padding):
        raise InvalidSpecError(
            "output_size",
            f"it sets the output padding; give {term('output_size')} or {term('output_padding')}, not both",
        )
    dims = list(zip(spec.input_size, spec.kernel_size, spec.stride, spec.padding, spec.dilation))
    paddings = [formulas.output_padding_for(*dim, size) for dim, size in zip(dims, spec.output_size)]
    if None in paddings:
        low = [formulas.transposed_output_size(*dim, 0) for dim in dims]
        high = [size + s - 1 for size, (_, _, s, _, _) in zip(low, dims)]
        raise InvalidSpecError(
            "output_size",
            f"requested {_x(spec.output_size)}, but valid sizes range from {_x(low)} to {_x(high)} for an "
            f"input of {_x(spec.input_size)} (output padding 0 to stride - 1, as torch's "
            "forward(x, output_size=...)); use a size in that range",
        )
    spec.output_padding = tuple(paddings)


def _x(values: Size) -> str:
    """Sizes as a message writes them: 15x15, a huge one as its order (about 10^22), on one short line."""
    big = max(map(abs, values))
    return "x".join(map(str, values)) if big < 10**15 else f"a size of about 10^{len(str(big)) - 1}"

"""The words and sizes convcalc's settings are named and counted in, shared by ConvSpec's parsers
(spec.py) and its size rules (geometry.py) so that neither imports the other's module for them. The
settings are named as ConvSpec's fields; the CLI words them as its options (cli/words.py).

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

Size = tuple[int, ...]
IntOrSize = int | Size

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
# 'same' and 'valid' as torch takes them; 'tf-same' is TensorFlow's (and JAX's) 'SAME', for any stride.
TF_SAME = "tf-same"
PADDING_WORDS = ("same", "valid", TF_SAME)
# Bytes per element of each dtype convcalc accepts (torch's itemsize).
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
DEFAULT_INPUT = 224
# Python's own default limit for int <-> str, also click's for integer arguments. Longer values are
# refused; figures built from them may be longer, and the CLI lifts the limit to print them.
MAX_DIGITS = 4300
TUPLE_FIELDS = ("kernel_size", "stride", "dilation", "output_padding", "input_size")
DIM_FIELDS = (*TUPLE_FIELDS, "padding", "output_size")  # output_size: None unless given
# How torch pads first, by padding mode, where a layer's two sides differ: this module, then the conv.
PAD_MODULES = {"zeros": "ZeroPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad"}
PAD_MODULES |= {"circular": "CircularPad"}


@dataclass(frozen=True, slots=True)
class Sides:
    """A padding with its own size before and after, the same for every dimension: '0+1' on the
    command line. Per dimension, a padding holds (before, after) pairs instead: ((0, 1), (1, 1))."""

    before: int
    after: int

    def __str__(self) -> str:
        return f"{self.before}+{self.after}"


def padding_text(padding: object) -> str:
    """A padding as the options take it: 1, 1x2, same, tf-same, 0+1, 0+1x1 (one side each where they
    differ)."""
    if isinstance(padding, tuple):
        return "x".join(
            (str(p[0]) if p[0] == p[1] else f"{p[0]}+{p[1]}") if isinstance(p, tuple) else str(p)
            for p in padding
        )
    return str(padding)


def counted(n: int, noun: str) -> str:
    """`1 value`, `3 values`, `1,024 checks`: a count and its noun, plural where it is not one."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def what(minimum: int) -> str:
    return "a positive integer" if minimum == 1 else "an integer >= 0"

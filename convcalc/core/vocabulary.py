"""The words and sizes convcalc's settings are named and counted in, shared by ConvSpec's parsers
(spec.py) and its size rules (geometry.py) so that neither imports the other's module for them. The
settings are named as ConvSpec's fields; the CLI words them as its options (cli/words.py).

Standard library only.
"""

from __future__ import annotations

Size = tuple[int, ...]
IntOrSize = int | Size

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PADDING_WORDS = ("same", "valid")
# Bytes per element of each dtype convcalc accepts (torch's itemsize).
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
DEFAULT_INPUT = 224
# Python's own default limit for int <-> str, also click's for integer arguments. Longer values are
# refused; figures built from them may be longer, and the CLI lifts the limit to print them.
MAX_DIGITS = 4300
TUPLE_FIELDS = ("kernel_size", "stride", "dilation", "output_padding", "input_size")
DIM_FIELDS = (*TUPLE_FIELDS, "padding")


def what(minimum: int) -> str:
    return "a positive integer" if minimum == 1 else "an integer >= 0"

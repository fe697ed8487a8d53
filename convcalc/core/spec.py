"""ConvSpec: one convolution layer's settings, named as torch names them, validated once.

Standard library only: building a spec never imports torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from . import formulas
from .errors import InvalidSpecError, term
from .geometry import INT, Geometry, at_least, geometry
from .vocabulary import DEFAULT_INPUT as DEFAULT_INPUT  # re-exported, as the vocabulary always was
from .vocabulary import (
    DIM_FIELDS,
    DTYPE_BYTES,
    MAX_DIGITS,
    PAD_MODULES,
    PADDING_WORDS,
    TF_SAME,
    IntOrSize,
    Size,
    what,
)
from .vocabulary import PADDING_MODES as PADDING_MODES  # re-exported, as the vocabulary always was
from .vocabulary import Sides as Sides  # re-exported: a padding's before+after, for every dimension

_DEVICE = re.compile(r"^(cpu|meta|mps|auto|cuda(:\d+)?)$")


# One grammar for every count and size typed on the command line: ASCII digits, one value per
# dimension joined by 'x'. No '+', '_', decimal point or inner space (int() would take '1_0', ' 6' and
# the full-width '６'); a '-' is read, so that ConvSpec can name the rule a negative value breaks.
_INTEGER = re.compile(r"-?\d+", re.ASCII)
_SIZE_RULE = "{what} such as 3, or one per dimension: 3x5"
PADDING_RULE = (
    "same, valid, an integer such as 1, one per dimension: 1x2, before+after: 0+1 or 0+1x0+1, or tf-same"
)
_SIDES = re.compile(r"(-?\d+)\+(-?\d+)", re.ASCII)


def _integers(text: str, name: str, rule: str, sizes: bool = True) -> IntOrSize:
    """'3' as 3 and, when sizes, '3x5' as (3, 5); anything else raises, naming the rule broken."""
    parts = text.strip().lower().split("x") if sizes else [text.strip()]
    if not all(_INTEGER.fullmatch(p) for p in parts):
        raise InvalidSpecError(name, f"got {text!r}; it must be {rule}")
    if max(len(p.lstrip("-")) for p in parts) > MAX_DIGITS:
        raise InvalidSpecError(name, f"a value has more than {MAX_DIGITS:,} digits; write a shorter integer")
    values = tuple(int(p) for p in parts)
    return values[0] if len(values) == 1 else values


def parse_count(text: str, name: str, rule: str = what(1)) -> int:
    """Read a count (channels, groups, batch, multiplier): '64' as 64; ConvSpec checks its range."""
    return _integers(text, name, rule, sizes=False)


def parse_size(text: str, name: str, minimum: int = 1) -> IntOrSize:
    """Read '3' as 3 and '3x5' as (3, 5); name is the setting, for the error message."""
    return _integers(text, name, _SIZE_RULE.format(what=what(minimum)))


def parse_padding(text: str, name: str = "padding") -> IntOrSize | Sides | tuple | str:
    """A padding: 'same', 'valid', 'tf-same', an integer or one per dimension ('1x2'), or per side,
    before+after: '0+1' for every dimension (Sides), '0+1x1' per dimension ((0, 1), 1)."""
    word = text.strip().lower()
    if word in PADDING_WORDS:
        return word
    if "+" not in word:
        return _integers(text, name, PADDING_RULE)
    parts = word.split("x")
    sides = [_SIDES.fullmatch(p) for p in parts]
    if not all(m or _INTEGER.fullmatch(p) for m, p in zip(sides, parts)):
        raise InvalidSpecError(name, f"got {text!r}; it must be {PADDING_RULE}")
    if max(len(v.lstrip("-")) for v in re.split(r"[+x]", word)) > MAX_DIGITS:
        raise InvalidSpecError(name, f"a value has more than {MAX_DIGITS:,} digits; write a shorter integer")
    values = tuple((int(m[1]), int(m[2])) if m else int(p) for m, p in zip(sides, parts))
    return Sides(*values[0]) if len(values) == 1 else values


def check_device(device: str) -> str:
    """Check the device's spelling without torch; whether it exists is verify's business."""
    if not _DEVICE.fullmatch(device):  # fullmatch: '$' would let a trailing newline through
        raise InvalidSpecError(
            "device", f"unknown device {device!r}; use cpu, cuda, cuda:N, mps, meta or auto"
        )
    return device


@dataclass(frozen=True, slots=True)
class ConvSpec:
    """One ConvNd / ConvTransposeNd layer plus the input it is applied to.

    Scalars are normalised to one value per spatial dimension; `dim` is inferred from any tuple
    given, else 2. Padding stays 'same', 'valid' or 'tf-same' when given so, as torch keeps its words;
    a per-side padding (Sides, or a (before, after) pair in a dimension) becomes a pair per dimension,
    or one value per dimension where every dimension pads its two sides alike. output_size, on a
    transposed layer, sets output_padding as torch does.
    """

    in_channels: int
    out_channels: int
    kernel_size: IntOrSize
    stride: IntOrSize = 1
    padding: IntOrSize | str = 0
    dilation: IntOrSize = 1
    groups: int = 1
    bias: bool = True
    transposed: bool = False
    output_padding: IntOrSize = 0
    padding_mode: str = "zeros"
    input_size: IntOrSize | None = None
    batch: int = 1
    dtype: str = "float32"
    dim: int | None = None
    # A transposed layer's output size, as torch's forward(x, output_size=...) takes it: it sets
    # output_padding. After dim, so that positional arguments keep their places.
    output_size: IntOrSize | None = None
    default_input: bool = field(default=False, compare=False)
    # Derived once, in __post_init__: padding applied as (left, right) per dimension, with 'same'
    # and 'valid' resolved; and the spatial output size by torch's formula for the layer type.
    pads: tuple[tuple[int, int], ...] = field(init=False, compare=False, repr=False)
    output_spatial: Size = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        sizes = geometry(self)
        check_layer(sizes, self.in_channels, self.out_channels, self.groups, self.batch, self.dtype)
        set_ = object.__setattr__.__get__(self)  # frozen: normalise in place, once
        for name in _NORMALISED:
            set_(name, getattr(sizes, name))
        if sizes.default_input:
            set_("default_input", True)

    @property
    def kind(self) -> str:
        """The torch class name: Conv2d, ConvTranspose3d, ..."""
        return f"{'ConvTranspose' if self.transposed else 'Conv'}{self.dim}d"

    @property
    def input_shape(self) -> Size:
        return (self.batch, self.in_channels, *self.input_size)

    @property
    def element_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def settings(self) -> dict:
        """The settings as plain JSON-ready values; output_size only where given."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        if out["output_size"] is None:
            del out["output_size"]
        return {k: json_ready(v) for k, v in out.items()}


def json_ready(value: Any) -> Any:
    """A setting as JSON holds it: sizes (tuples, a per-side padding's pairs too) as lists."""
    if isinstance(value, tuple):
        return [list(v) if isinstance(v, tuple) else v for v in value]
    return str(value) if isinstance(value, Sides) else value


def pads_first(spec: ConvSpec) -> tuple[int, ...] | None:
    """Where torch builds the layer as a pad module, then the convolution without padding (a per-side or
    tf-same padding whose two sides differ in some dimension): the pad module's padding, as F.pad takes
    it (the last dimension first). None for a layer torch's ConvNd pads itself ('same' included)."""
    if spec.padding == "same" or all(left == right for left, right in spec.pads):
        return None
    return tuple(p for pair in reversed(spec.pads) for p in pair)


def torch_padding(spec: ConvSpec) -> IntOrSize | str:
    """The padding torch's ConvNd takes for this layer: its own, tf-same resolved where both sides
    agree, and 0 where a pad module pads first (pads_first)."""
    if spec.padding == TF_SAME or (isinstance(spec.padding, tuple) and type(spec.padding[0]) is tuple):
        return 0 if pads_first(spec) else tuple(left for left, _ in spec.pads)
    return spec.padding


_NORMALISED = (*DIM_FIELDS, "dim", "pads", "output_spatial")
_COUNTS = ("in_channels", "out_channels", "groups", "batch")


def check_layer(
    sizes: Geometry, in_channels: int, out_channels: int, groups: int, batch: int, dtype: str
) -> None:
    """ConvSpec's rules, given its sizes judged (geometry()): raises InvalidSpecError for the first one
    broken. A function of the values, so that a sweep asks the same rules of a row without building it."""
    # The rules in their order, so a layer breaking two is told of the same one first.
    if sizes.shape_problem:
        raise InvalidSpecError(*sizes.shape_problem)
    counts = (in_channels, out_channels, groups, batch)
    if not (set(map(type, counts)) == INT and min(counts) >= 1):
        for name, value in zip(_COUNTS, counts):
            for v in value if isinstance(value, tuple) else (value,):
                at_least(name, v, 1)
    if sizes.size_problem:
        raise InvalidSpecError(*sizes.size_problem)
    if in_channels % groups or out_channels % groups:
        _check_groups(in_channels, out_channels, groups)
    if dtype not in DTYPE_BYTES:
        raise InvalidSpecError("dtype", f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
    problem = sizes.rules_problem()
    if problem:
        raise InvalidSpecError(*problem)


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            common = math.gcd(in_channels, out_channels)
            raise InvalidSpecError(
                "groups",
                f"{term(name)}={channels} is not divisible by groups={groups}; groups must divide "
                f"both channel counts (their greatest common divisor is {common:,}): use "
                f"{_short_list(formulas.divisors(common))}",
            )


def _short_list(values: list[int], limit: int = 12) -> str:
    if len(values) > limit:
        values, tail = values[: limit - 1], f", ..., {values[-1]:,}"
    else:
        tail = ""
    return ", ".join(f"{v:,}" for v in values) + tail


def layer_repr(spec: ConvSpec) -> str:
    """The layer as torch's repr() prints it, so it can be pasted into code."""

    def tup(values: tuple[int, ...]) -> str:
        return f"({values[0]},)" if len(values) == 1 else f"({', '.join(map(str, values))})"

    parts = [
        str(spec.in_channels),
        str(spec.out_channels),
        f"kernel_size={tup(spec.kernel_size)}",
        f"stride={tup(spec.stride)}",
    ]
    padding, first = torch_padding(spec), pads_first(spec)
    if isinstance(padding, str):
        parts.append(f"padding={padding}")
    elif isinstance(padding, tuple) and any(padding):
        parts.append(f"padding={tup(padding)}")
    if any(d != 1 for d in spec.dilation):
        parts.append(f"dilation={tup(spec.dilation)}")
    if any(spec.output_padding):
        parts.append(f"output_padding={tup(spec.output_padding)}")
    if spec.groups != 1:
        parts.append(f"groups={spec.groups}")
    if not spec.bias:
        parts.append("bias=False")
    if spec.padding_mode != "zeros" and not first:
        parts.append(f"padding_mode={spec.padding_mode}")
    conv = f"{spec.kind}({', '.join(parts)})"
    return conv if not first else f"{PAD_MODULES[spec.padding_mode]}{spec.dim}d({first}) -> {conv}"


def read_conv(module: Any, *, input_size: Any = None, batch: int = 1, dtype: str | None = None) -> ConvSpec:
    """A torch convolution module's settings as a ConvSpec, read as torch names them; dtype defaults to
    its weight's (ConvSpec names a dtype it does not know in its message)."""
    return ConvSpec(
        module.in_channels,
        module.out_channels,
        tuple(module.kernel_size),
        stride=tuple(module.stride),
        padding=module.padding if isinstance(module.padding, str) else tuple(module.padding),
        dilation=tuple(module.dilation),
        groups=module.groups,
        bias=module.bias is not None,
        transposed=bool(module.transposed),
        output_padding=tuple(module.output_padding),
        padding_mode=module.padding_mode,
        input_size=input_size,
        batch=batch,
        dtype=dtype or str(module.weight.dtype).removeprefix("torch."),
        dim=len(module.kernel_size),
    )

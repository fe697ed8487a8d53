"""Geometry: a layer's sizes, normalised, and every rule that depends on the sizes alone.

These rules (kernel, stride, padding, dilation, input, dim, padding mode, transposed) do not depend on
channels, groups, batch or dtype, so they are validated once per distinct geometry and the verdict is
cached: a sweep that varies only those reuses it instead of judging the same sizes again.
ConvSpec.__post_init__ (spec.py) asks for the verdicts. Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from . import formulas
from .errors import InvalidSpecError, term
from .padding import check_output_size, per_side
from .vocabulary import (
    DEFAULT_INPUT,
    DIM_FIELDS,
    PADDING_MODES,
    PADDING_WORDS,
    TF_SAME,
    IntOrSize,
    Sides,
    Size,
    padding_text,
    what,
)

Problem = tuple[str, str]  # an InvalidSpecError's setting and rule, kept to raise again
GEOMETRY_FIELDS = (*DIM_FIELDS, "dim", "padding_mode", "transposed")
_GEOMETRY_OF = attrgetter(*GEOMETRY_FIELDS)
_KEY_TYPES = {int, str, tuple, type(None), Sides}
_UNCHECKED = object()


@dataclass(slots=True, eq=False)
class Geometry:
    """A layer's sizes, normalised, and the verdict of every rule that depends on them alone -- not on
    channels, groups, batch or dtype. ConvSpec keeps one per distinct set of sizes, so a stream of layers
    that differ only in those (a sweep over channels) checks its sizes once. Each rule's verdict is kept
    by the stage it belongs to, so that __post_init__ asks them in the order it always has."""

    kernel_size: Any  # in GEOMETRY_FIELDS' order, as geometry() builds it
    stride: Any
    dilation: Any
    output_padding: Any
    input_size: Any
    padding: Any
    output_size: Any
    dim: Any
    padding_mode: Any
    transposed: Any
    default_input: bool = False
    pads: tuple[tuple[int, int], ...] = ()
    output_spatial: Size = ()
    shape_problem: Problem | None = None  # the number of dimensions: before any other rule
    size_problem: Problem | None = None  # sizes and padding in range: after the counts'
    rules: Any = _UNCHECKED  # the rest: after groups and dtype, so asked for when a layer gets there

    def rules_problem(self) -> Problem | None:
        if self.rules is _UNCHECKED:
            self.rules = _problem(_check_rules, self)
        return self.rules


_GEOMETRIES: dict[tuple, Geometry] = {}
_GEOMETRIES_KEPT = 1024  # a bound, not a tuning: a sweep has far fewer distinct sizes than layers


def forget_geometries() -> None:
    """Drop every verdict kept, so the next layer's sizes are judged afresh."""
    _GEOMETRIES.clear()


def geometry(spec: Any) -> Geometry:
    """spec's sizes normalised and judged: found again for sizes seen before, else worked out."""
    return sizes_geometry(_GEOMETRY_OF(spec))


def sizes_geometry(sizes: tuple) -> Geometry:
    """geometry() of the sizes given as values, in GEOMETRY_FIELDS' order: a sweep asks it of a row's
    values without building the row's ConvSpec."""
    key = _key(sizes)
    found = _GEOMETRIES.get(key) if key is not None else None
    if found is None:
        found = Geometry(*sizes)
        found.shape_problem = _problem(_normalise, found)
        if found.shape_problem is None:
            found.size_problem = _problem(_check_sizes, found)
        if key is not None:
            if len(_GEOMETRIES) >= _GEOMETRIES_KEPT:
                _GEOMETRIES.clear()
            _GEOMETRIES[key] = found
    return found


def _key(key: tuple) -> tuple | None:
    """The sizes as a dict key, or None unless each is an int, a word, None or a tuple of ints (and
    transposed a bool): 3.0, True and numpy's integers equal 3 or 1 but break other rules."""
    kinds = set(map(type, key[:-1]))
    if not kinds <= _KEY_TYPES or type(key[-1]) is not bool:
        return None
    plain = tuple not in kinds or all(INT.issuperset(map(type, v)) for v in key if type(v) is tuple)
    if not (plain and Sides not in kinds) and not all(map(_exact, key[:-1])):  # per side: ints alone
        return None
    return key


def _exact(value: Any) -> bool:
    """Whether a per-side padding (pairs, or Sides) holds ints alone; any other value passes here."""
    if type(value) is Sides:
        return type(value.before) is int and type(value.after) is int
    if type(value) is tuple:
        return all(type(v) is int or (type(v) is tuple and INT.issuperset(map(type, v))) for v in value)
    return True


def _problem(check: Callable[[Geometry], None], sizes: Geometry) -> Problem | None:
    try:
        check(sizes)
    except InvalidSpecError as exc:
        return exc.param, exc.body
    return None


def _normalise(g: Geometry) -> None:
    g.dim = dim = _infer_dim(g)
    if g.input_size is None:
        g.input_size, g.default_input = DEFAULT_INPUT, True
    for name in DIM_FIELDS:
        value = getattr(g, name)
        if type(value) is int:  # the common case first: one value for every dimension
            setattr(g, name, (value,) * dim)
        elif isinstance(value, str):  # padding 'same', 'valid' or 'tf-same', kept as a word as torch keeps it
            setattr(g, name, value.lower())
        elif value is None:  # output_size, when not given
            continue
        elif isinstance(value, Sides) and name == "padding":  # one before+after pair for every dimension
            g.padding = per_side((value,) * dim)
        else:
            setattr(g, name, _as_tuple(value, dim, name))
            if name == "padding":
                g.padding = per_side(g.padding)


def _infer_dim(spec: Geometry) -> int:
    if spec.dim is not None:
        if spec.dim not in (1, 2, 3):
            raise InvalidSpecError("dim", f"{spec.dim} is not a convolution dimension; use 1, 2 or 3")
        return spec.dim
    lengths = {name: len(value) for name in DIM_FIELDS if isinstance(value := getattr(spec, name), tuple)}
    if not lengths:
        return 2
    dims = set(lengths.values())
    if len(dims) > 1:
        listed = ", ".join(f"{term(n)} has {n_}" for n, n_ in lengths.items())
        raise InvalidSpecError(
            "dim", f"sizes disagree on the number of dimensions ({listed}); give each 1, 2 or 3 values"
        )
    (dim,) = dims
    if dim not in (1, 2, 3):
        raise InvalidSpecError(
            "dim", f"sizes with {dim} values imply a {dim}-D convolution; use 1, 2 or 3 values"
        )
    return dim


def _as_tuple(value: IntOrSize, dim: int, name: str) -> Size:
    if isinstance(value, int):
        return (value,) * dim
    value = tuple(value)
    if len(value) != dim:
        written = [padding_text((v,)) if name == "padding" else str(v) for v in value]
        example = "x".join([written[0]] * dim)  # the user's own first value, once per dimension
        raise InvalidSpecError(
            name,
            f"{'x'.join(written)} has {len(value)} values but the layer is {dim}-D; "
            f"write {dim} values such as {example}, or one value for every dimension",
        )
    return value


INT = {int}
_SIZE_MINIMUMS = (
    ("kernel_size", 1),
    ("stride", 1),
    ("dilation", 1),
    ("input_size", 1),
    ("output_padding", 0),
)


def _check_sizes(g: Geometry) -> None:
    positive = (*g.kernel_size, *g.stride, *g.dilation, *g.input_size)
    # One pass for the common case; the message is built (field by field, in order) only on failure.
    plain = set(map(type, positive)) == INT and set(map(type, g.output_padding)) == INT
    if not (plain and min(positive) >= 1 and min(g.output_padding) >= 0):
        for name, minimum in _SIZE_MINIMUMS:
            value = getattr(g, name)
            for v in value if isinstance(value, tuple) else (value,):
                at_least(name, v, minimum)
    if g.output_size is not None:
        for v in g.output_size:
            at_least("output_size", v, 1)
    padding = g.padding
    if isinstance(padding, tuple) and not (set(map(type, padding)) == {int} and min(padding) >= 0):
        for v in (v for p in padding for v in (p if isinstance(p, tuple) else (p,))):
            _check_padding_value(g, v)


def _check_rules(g: Geometry) -> None:
    # The usual layer (integer zero padding, not transposed, no output padding) passes the word,
    # transposed and padding-mode rules without asking them.
    usual = (
        type(g.padding) is tuple
        and g.padding_mode == "zeros"
        and not g.transposed
        and not any(g.output_padding)
        and g.output_size is None
    )
    if not usual:
        _check_words(g)
        _check_transposed(g)
    g.pads = _pads(g)
    g.output_spatial = _output_spatial(g)
    if not usual:
        _check_padding_mode(g)
    if min(g.output_spatial) < 1:
        _check_output(g)


def _pads(spec: Geometry) -> tuple[tuple[int, int], ...]:
    if spec.padding == "valid":
        return ((0, 0),) * spec.dim
    if spec.padding == "same":
        return tuple(formulas.same_padding(k, d) for k, d in zip(spec.kernel_size, spec.dilation))
    if spec.padding == TF_SAME:
        return tuple(
            formulas.tf_same_padding(n, k, s, d)
            for n, k, s, d in zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation)
        )
    return tuple(p if type(p) is tuple else (p, p) for p in spec.padding)


def _output_spatial(spec: Geometry) -> Size:
    if spec.transposed:
        return tuple(
            formulas.transposed_output_size(n, k, s, p, d, op)
            for n, k, s, (p, _), d, op in zip(
                spec.input_size, spec.kernel_size, spec.stride, spec.pads, spec.dilation, spec.output_padding
            )
        )
    return tuple(
        formulas.conv_output_size(n, k, s, left, right, d)
        for n, k, s, (left, right), d in zip(
            spec.input_size, spec.kernel_size, spec.stride, spec.pads, spec.dilation
        )
    )


def at_least(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidSpecError(name, f"got {value!r}; it must be {what(minimum)}")


def _check_padding_value(spec: Geometry, value: int) -> None:
    # torch pads with F.pad for the non-zeros modes, where a negative padding crops the input; the
    # zeros mode and transposed convolutions refuse it ("negative padding is not supported").
    if type(value) is int and value < 0 and not spec.transposed and spec.padding_mode == "zeros":
        raise InvalidSpecError(
            "padding",
            f"got {value}; it must be an integer >= 0 (a negative padding crops the input, "
            f"as torch allows only with {term('padding_mode')} reflect, replicate or circular)",
        )
    if spec.padding_mode == "zeros" or spec.transposed or not isinstance(value, int) or value >= 0:
        at_least("padding", value, 0)


def _check_words(spec: Geometry) -> None:
    if spec.padding_mode not in PADDING_MODES:
        raise InvalidSpecError(
            "padding_mode", f"unknown mode {spec.padding_mode!r}; use one of {', '.join(PADDING_MODES)}"
        )
    if isinstance(spec.padding, str) and spec.padding not in PADDING_WORDS:
        raise InvalidSpecError(
            "padding", f"{spec.padding!r} is not a padding; use same, valid, tf-same or integers"
        )
    if spec.padding == "same" and any(s != 1 for s in spec.stride):
        raise InvalidSpecError(
            "padding",
            f"'same' needs stride 1 (torch rejects it for strided convolutions), got stride "
            f"{'x'.join(map(str, spec.stride))}; use tf-same for TensorFlow's 'SAME' (output "
            f"ceil(input / stride)) or integers, e.g. {term('padding')} 1",
        )


def _check_transposed(spec: Geometry) -> None:
    if not spec.transposed:
        given = ("output_padding",) * any(spec.output_padding) + ("output_size",) * bool(spec.output_size)
        if given:
            raise InvalidSpecError(
                given[0], f"only transposed convolutions have it; add {term('transposed=True')} or drop it"
            )
        return
    if spec.padding == TF_SAME:
        raise InvalidSpecError(
            "padding",
            f"'tf-same' works only for convolutions; for a transposed convolution's output of input x "
            f"stride (TensorFlow's 'SAME'), give {term('output_size')} with integer padding",
        )
    if isinstance(spec.padding, str):
        raise InvalidSpecError(
            "padding",
            f"'{spec.padding}' works only for convolutions; a transposed convolution takes integers, e.g. 0",
        )
    if any(type(p) is tuple for p in spec.padding):
        raise InvalidSpecError(
            "padding",
            f"{padding_text(spec.padding)}: a transposed convolution pads both sides alike in torch; "
            "give one value per dimension, e.g. 1",
        )
    if spec.padding_mode != "zeros":
        raise InvalidSpecError("padding_mode", "transposed convolutions support only 'zeros', as torch")
    for op, s, d in zip(spec.output_padding, spec.stride, spec.dilation):
        if op >= max(s, d):
            raise InvalidSpecError(
                "output_padding",
                f"{op} must be smaller than stride ({s}) or dilation ({d}); use 0..{max(s, d) - 1}",
            )
    if spec.output_size is not None:
        check_output_size(spec)


def _check_padding_mode(spec: Geometry) -> None:
    # torch pads before convolving: reflect needs padding < input, circular wraps at most once.
    if spec.padding_mode not in ("reflect", "circular"):
        return
    limits = {"reflect": (lambda p, n: p < n, "smaller than"), "circular": (lambda p, n: p <= n, "at most")}
    fits, words = limits[spec.padding_mode]
    for (left, right), n in zip(spec.pads, spec.input_size):
        if not (fits(left, n) and fits(right, n)):
            raise InvalidSpecError(
                "padding",
                f"{max(left, right)} is too wide for {spec.padding_mode} padding of an input of {n}: "
                f"it must be {words} the input size; lower it or use {term('padding_mode')} zeros",
            )


def _check_output(spec: Geometry) -> None:
    for axis, out in enumerate(spec.output_spatial):
        if out >= 1:
            continue
        n, k, d = spec.input_size[axis], spec.kernel_size[axis], spec.dilation[axis]
        k_eff = formulas.effective_kernel(k, d)
        if spec.transposed:
            raise InvalidSpecError(
                "padding",
                f"output size would be {out} along dimension {axis + 1}: padding "
                f"{spec.pads[axis][0]} crops more than the transposed convolution produces; "
                f"lower {term('padding')}",
            )
        padded = n + sum(spec.pads[axis])
        if min(spec.pads[axis]) < 0 and (padded < 1 or k_eff <= n):  # the crop, not the kernel, empties it
            raise InvalidSpecError(
                "padding",
                f"{min(spec.pads[axis])} crops the input of {n} to {max(padded, 0)} along dimension "
                f"{axis + 1}, less than the effective kernel {k_eff}; use {(k_eff - n + 1) // 2} or more",
            )
        raise InvalidSpecError(
            "kernel_size",
            f"effective kernel {k_eff} (kernel {k}, dilation {d}) is larger than the padded input "
            f"{padded} along dimension {axis + 1}, so the output would be empty; "
            f"use a larger {term('input_size')} or {term('padding')}",
        )

"""A sweep: lists and ranges of conv's settings, every combination of them, one analysed row each.

Standard library only. The grammar: an option takes a comma list whose items are values in conv's own
grammar (3, 3x5, same, on) or inclusive integer ranges start:stop[:step]. A range stays a range -- its
length is arithmetic -- so a sweep's size is known, and refused when absurd, before any row is made.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Any, NamedTuple

from . import formulas
from .analysis import analyze
from .errors import InvalidSpecError, term
from .geometry import GEOMETRY_FIELDS, Geometry, sizes_geometry
from .results import ConvResult
from .spec import DTYPE_BYTES, PADDING_MODES, ConvSpec, check_layer, parse_count, parse_padding, parse_size

# The settings, in ConvSpec's argument order, so that a row's values are the layer's arguments as they
# stand; each named as its option names it (--c-in: c_in), which is also the column a row writes it in.
SETTINGS = (
    "c_in",
    "c_out",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "transposed",
    "output_padding",
    "padding_mode",
    "input",
    "batch",
    "dtype",
    "dim",
)
# A setting written only by a sweep that gives it: a transposed layer's output size. Last, as in ConvSpec.
OUTPUT_SIZE = "output_size"
AXES = (*SETTINGS, OUTPUT_SIZE)  # what a row's values hold: its layer's arguments, in ConvSpec's order
REQUIRED = ("c_in", "c_out", "kernel")
# conv's defaults, in the sweep's grammar; dim None: inferred from the sizes, as conv does.
DEFAULTS: dict[str, str | None] = {
    "stride": "1",
    "padding": "0",
    "dilation": "1",
    "groups": "1",
    "bias": "on",
    "transposed": "no",
    "output_padding": "0",
    "padding_mode": "zeros",
    "input": "224",
    "batch": "1",
    "dtype": "float32",
    "dim": None,
    OUTPUT_SIZE: None,
}
DEPTHWISE = "dw"  # a groups value: groups = that row's c_in
MISMATCH = "MISMATCH"  # how the verdict of a row torch disagreed with begins (--verify)
MAX_ROWS = 100_000_000  # about a quarter of an hour at 100,000 rows a second; --max-rows raises it
SHORT = 4096  # a list this long is held whole by itertools.product; a longer range is walked instead
_GROUPS = SETTINGS.index("groups")
_RANGE = re.compile(r"\s*(-?\d+):(-?\d+)(?::(-?\d+))?\s*", re.ASCII)
_WORDS = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
_INTEGER_SETTINGS = ("c_in", "c_out", "groups", "batch", "dim", "kernel", "stride", "padding", "dilation")
_INTEGER_SETTINGS += ("output_padding", "input", OUTPUT_SIZE)
# A row's sizes, picked from its values (ConvSpec's argument order) in GEOMETRY_FIELDS' order.
_SPEC_FIELDS = [f.name for f in fields(ConvSpec) if f.init]
_SIZE_INDICES = [_SPEC_FIELDS.index(name) for name in GEOMETRY_FIELDS]
_SIZES_OF = itemgetter(*_SIZE_INDICES)
_TRANSPOSED = _SPEC_FIELDS.index("transposed")
_LAYER_OF = itemgetter(
    *map(_SPEC_FIELDS.index, ("in_channels", "out_channels", "groups", "bias", "batch", "dtype"))
)
_SIZES_KEPT = 1024  # distinct sizes a sweep keeps at once: a bound on memory, as geometry's


@dataclass(frozen=True)
class Steps:
    """start, start + step, ... up to stop included: a range that is never made into a list."""

    start: int
    stop: int
    step: int

    @property
    def count(self) -> int:
        return (self.stop - self.start) // self.step + 1

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop + 1, self.step))


@dataclass(frozen=True)
class Values:
    """One setting's values: single values and ranges, in the order given."""

    name: str
    items: tuple[Any, ...]  # a value, or Steps

    @property
    def count(self) -> int:
        return sum(item.count if isinstance(item, Steps) else 1 for item in self.items)

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            if isinstance(item, Steps):
                yield from item
            else:
                yield item


class SweepRows:
    """A sweep's rows as sweep_rows() gives them: lazily, in constant memory, in the grid's order (the
    first setting changing slowest); with a verifier, each row with torch's verdict, and `mismatches`
    counting the rows torch disagreed with as they pass."""

    def __init__(
        self,
        sweep: Sweep,
        words: Mapping[str, str] | None = None,
        verifier: Callable[[Iterator[SweepRow]], Iterator[SweepRow]] | None = None,
    ) -> None:
        self.sweep, self.words, self.verifier, self.mismatches = sweep, words, verifier, 0

    @property
    def count(self) -> int:
        """How many rows the sweep has (valid or not), known before any is made."""
        return self.sweep.count

    def __iter__(self) -> Iterator[SweepRow]:
        rows = self.sweep.rows(self.words)
        if self.verifier is None:
            yield from rows
            return
        for row in self.verifier(rows):
            if row.verified.startswith(MISMATCH):
                self.mismatches += 1
            yield row

    def figure_rows(self) -> Iterator[FigureRow]:
        """The same rows as the writers take them, without a ConvResult each and without verdicts: what
        the command writes when it neither verifies nor plots."""
        return self.sweep.figure_rows(self.words)


class SweepRow(NamedTuple):
    """One combination: the layer's settings (AXES' order, groups 'dw' resolved), and its figures or
    why it is invalid, in ConvSpec's words; with --verify, what torch said of it."""

    settings: tuple[Any, ...]
    result: ConvResult | None
    reason: str
    verified: str | None = None  # 'ok', 'skipped: why', 'MISMATCH: ...'; '' for an invalid row

    @property
    def valid(self) -> bool:
        return self.result is not None


class FigureRow(NamedTuple):
    """One combination as the writers take it: the settings (as SweepRow's), and where the layer is
    valid its number of dimensions and its figures (FIGURES' order, shapes as tuples), else why not."""

    settings: tuple[Any, ...]
    dim: int | None  # as ConvSpec infers it; None for an invalid row
    figures: tuple[Any, ...] | None
    reason: str
    verified: str | None = None  # as SweepRow's

    @property
    def valid(self) -> bool:
        return self.figures is not None


@dataclass(frozen=True)
class Sweep:
    """Every combination of the values of each setting, the first setting's changing slowest."""

    axes: tuple[Values, ...]  # one per AXES

    @property
    def sized(self) -> bool:
        """Whether output_size is given, so that its rows write it."""
        return self.axes[-1].items != (None,)

    @property
    def count(self) -> int:
        return math.prod(axis.count for axis in self.axes)

    def swept(self) -> list[str]:
        """The settings given more than one value."""
        return [axis.name for axis in self.axes if axis.count > 1]

    def combinations(self, axes: Iterable[Iterable[Any]] | None = None) -> Iterator[tuple[Any, ...]]:
        """Each combination's values, lazily, in constant memory; axes: the same values written
        otherwise (as text, one per value), walked in the same order."""
        return product(self.axes if axes is None else list(axes), [a.count for a in self.axes])

    def _layers(self) -> Iterator[tuple[Any, ...]]:
        """Each combination's values as the layer's arguments: groups 'dw' as that row's c_in."""
        if DEPTHWISE not in self.axes[_GROUPS].items:
            return self.combinations()
        return map(_depthwise, self.combinations())

    def _sizes_by_value(self) -> bool:
        """Whether rows' sizes can be kept by value: each an int, a word, None or a tuple of ints
        (transposed a bool), as parse_values makes them. geometry() keeps nothing else, since 3.0, True
        and numpy's integers equal 3 or 1 but break rules; a Sweep built by hand may hold them."""
        for index in _SIZE_INDICES:
            for item in self.axes[index].items:
                kind = type(item)
                if index == _TRANSPOSED:
                    exact = kind is bool
                else:
                    exact = kind in (int, str, type(None), Steps)
                    exact = exact or (kind is tuple and all(type(v) is int for v in item))
                if not exact:
                    return False
        return True

    def rows(self, words: Mapping[str, str] | None = None) -> Iterator[SweepRow]:
        """One row per combination: the same layer, figures and reason as ConvSpec + analyze(); words name
        the settings in a reason (the CLI's options), else their names."""
        for values in self._layers():
            try:
                spec = ConvSpec(*values)
            except InvalidSpecError as exc:
                yield SweepRow(values, None, exc.in_words(words) if words else str(exc))
            else:
                yield SweepRow(values, analyze(spec), "")

    def figure_rows(self, words: Mapping[str, str] | None = None) -> Iterator[FigureRow]:
        """rows(words) as the writers take them, without a ConvSpec, ConvResult and Memory made for each:
        what `convcalc sweep` writes. The same rules (check_layer, the sizes judged once per distinct
        set, as ConvSpec does), reasons and figures (analyze()'s formulas), row for row."""
        kept: dict[tuple, _Sizes] = {}
        by_value = self._sizes_by_value()
        for values in self._layers():
            in_channels, out_channels, groups, bias, batch, dtype = _LAYER_OF(values)
            sizes = _SIZES_OF(values)
            shared = kept.get(sizes) if by_value else None
            if shared is None:
                shared = _Sizes(sizes_geometry(sizes))
                if len(kept) >= _SIZES_KEPT:
                    kept.clear()
                if by_value:
                    kept[sizes] = shared
            try:
                check_layer(shared.geometry, in_channels, out_channels, groups, batch, dtype)
            except InvalidSpecError as exc:
                yield FigureRow(values, None, None, exc.in_words(words) if words else str(exc))
                continue
            if shared.effective is None:
                shared.take(analyze(ConvSpec(*values)))
            figures = _figures(shared, in_channels, out_channels, groups, bias, batch, dtype)
            yield FigureRow(values, shared.geometry.dim, figures, "")


def _depthwise(values: tuple[Any, ...]) -> tuple[Any, ...]:
    if values[_GROUPS] != DEPTHWISE:
        return values
    return (*values[:_GROUPS], values[0], *values[_GROUPS + 1 :])


class _Sizes:
    """One distinct set of sizes in a sweep: their Geometry and, from the first valid layer with them,
    the figures that depend on the sizes alone (its effective kernel and receptive field)."""

    __slots__ = ("geometry", "effective", "receptive")

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry
        self.effective: tuple[int, ...] | None = None
        self.receptive: tuple[int, ...] = ()

    def take(self, result: ConvResult) -> None:
        self.effective, self.receptive = result.effective_kernel, result.receptive_field


def _figures(
    shared: _Sizes, in_channels: int, out_channels: int, groups: int, bias: bool, batch: int, dtype: str
) -> tuple[Any, ...]:
    """A valid layer's figures in FIGURES' order: analyze()'s formulas, as it composes them (the
    properties params and flops as ConvResult's, the bytes as memory()'s), with the sizes' share kept."""
    g = shared.geometry
    out_spatial, kernel = g.output_spatial, g.kernel_size
    output_shape = (batch, out_channels, *out_spatial)
    weight = formulas.weight_params(in_channels, out_channels, kernel, groups)
    bias_params = formulas.bias_params(out_channels, bias)
    if g.transposed:
        macs = formulas.transposed_macs(batch, g.input_size, in_channels, out_channels, kernel, groups)
    else:
        macs = formulas.conv_macs(batch, out_spatial, in_channels, out_channels, kernel, groups)
    params = weight + bias_params
    size = DTYPE_BYTES[dtype]
    param_bytes = params * size
    input_bytes = formulas.tensor_bytes((batch, in_channels, *g.input_size), size)
    output_bytes = formulas.tensor_bytes(output_shape, size)
    forward_backward = 2 * output_bytes
    return (
        output_shape,
        weight,
        bias_params,
        params,
        macs,
        2 * macs,  # flops
        formulas.bias_adds(batch, out_channels, out_spatial, bias),
        shared.effective,
        shared.receptive,
        param_bytes,
        input_bytes,
        output_bytes,
        forward_backward,
        input_bytes + forward_backward + param_bytes,
    )


def product(axes: list[Iterable[Any]], counts: list[int]) -> Iterator[tuple[Any, ...]]:
    """itertools.product of the axes, lazily: product copies each axis into a tuple first, so a long
    range (more than SHORT values) is walked by a loop of its own instead."""
    long = next((i for i, count in enumerate(counts) if count > SHORT), None)
    if long is None:
        return itertools.product(*(tuple(axis) for axis in axes))
    return _around(axes, counts, long)


def _around(axes: list[Iterable[Any]], counts: list[int], long: int) -> Iterator[tuple[Any, ...]]:
    for head in product(axes[:long], counts[:long]):
        for value in axes[long]:
            for tail in product(axes[long + 1 :], counts[long + 1 :]):
                yield (*head, value, *tail)


def parse_sweep(given: Mapping[str, Any], max_rows: int = MAX_ROWS) -> Sweep:
    """The sweep the settings describe, each as text in the CLI's grammar ('8:64:8', '1,3x5') or as Python
    values (a value, a list of values, a range); None or absent for conv's default. Raises
    InvalidSpecError, naming the setting and the rule, for bad syntax or more rows than max_rows."""
    texts = {**DEFAULTS, **{k: as_text(k, v) for k, v in given.items() if v is not None}}
    missing = [name for name in REQUIRED if texts.get(name) is None]
    if missing:
        raise InvalidSpecError(missing[0], "required: a value, a list such as 32,64 or a range, 8:64:8")
    axes = tuple(
        Values(name, (None,)) if texts[name] is None else parse_values(name, texts[name]) for name in AXES
    )
    sweep = Sweep(axes)
    if sweep.count > max_rows:
        largest = max(axes, key=lambda axis: axis.count)
        name, limit = largest.name, term("max_rows")
        raise InvalidSpecError(
            name,
            f"the sweep has {_about(sweep.count)} rows ({term(name)} has {_about(largest.count)} values), "
            f"more than {limit} {max_rows:,}: narrow a list or a range, or raise {limit}",
        )
    return sweep


def as_text(name: str, value: Any) -> str:
    """A setting's Python values in the sweep's grammar: a list (or range) is several values, anything
    else one; a tuple is one size per dimension (3, 5): 3x5; True is on."""
    if isinstance(value, str):
        return value
    if isinstance(value, range):
        if not value or value.step < 1:
            raise InvalidSpecError(name, f"got {value!r}; a range must count up and hold a value")
        return f"{value.start}:{value[-1]}:{value.step}"
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidSpecError(name, "got an empty list; give a value, a list or a range")
    return ",".join(_one_text(name, item) for item in items)


def _one_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return "x".join(_one_text(name, v) for v in value)
    if isinstance(value, range):
        return as_text(name, value)
    if type(value) is int or isinstance(value, str):
        return str(value)
    raise InvalidSpecError(
        name, f"got {type(value).__name__} {value!r}; give integers, words or tuples of them"
    )


def _about(count: int) -> str:
    return f"{count:,}" if count < 10**15 else f"about 10^{math.floor(math.log10(count))}"


def parse_values(name: str, text: str) -> Values:
    """One option's comma list: each item a value in conv's grammar or a range start:stop[:step]."""
    flag = name  # the setting errors name
    items = text.split(",")
    for position, item in enumerate(items, 1):
        if not item.strip():
            raise InvalidSpecError(
                flag, f"value {position} of {text!r} is empty; separate values with one comma: 1,3,5"
            )
    return Values(name, tuple(_item(name, flag, item) for item in items))


def _item(name: str, flag: str, item: str) -> Any:
    if name in _INTEGER_SETTINGS and ":" in item:
        bounds = _RANGE.fullmatch(item)
        if not bounds:
            raise InvalidSpecError(
                flag, f"got {item!r}; a range is start:stop or start:stop:step, e.g. 8:64:8"
            )
        return _steps(flag, item.strip(), bounds.groups())
    if name in ("bias", "transposed"):
        word = item.strip().lower()
        if word not in _WORDS:
            raise InvalidSpecError(flag, f"got {item!r}; use on or off (yes or no), or both: on,off")
        return _WORDS[word]
    if name in ("padding_mode", "dtype"):
        known = PADDING_MODES if name == "padding_mode" else tuple(DTYPE_BYTES)
        word = item.strip().lower()
        if word not in known:
            raise InvalidSpecError(flag, f"unknown {name.replace('_', ' ')} {item!r}; use {', '.join(known)}")
        return word
    if name == "groups" and item.strip().lower() == DEPTHWISE:
        return DEPTHWISE
    return _value(name, flag, item)


def _value(name: str, flag: str, item: str) -> Any:
    """One value in conv's grammar for the setting."""
    if name == "padding":
        return parse_padding(item, flag)
    if name in ("kernel", "stride", "dilation", "input", OUTPUT_SIZE):
        return parse_size(item, flag)
    if name == "output_padding":
        return parse_size(item, flag, minimum=0)
    rule = "1, 2 or 3" if name == "dim" else "a positive integer"
    if name == "groups":
        rule += " or dw (groups = c_in)"
    return parse_count(item, flag, rule)


def _steps(flag: str, item: str, bounds: tuple[str | None, ...]) -> Steps:
    start, stop, step = (parse_count(b, flag) if b is not None else 1 for b in bounds)
    if step < 1:
        raise InvalidSpecError(
            flag, f"the step of {item!r} is {step}; a range start:stop:step counts up, by 1 or more"
        )
    if start > stop:
        raise InvalidSpecError(
            flag, f"{item!r} is empty: it starts above its stop; write the smaller first: {stop}:{start}"
        )
    return Steps(start, stop, step)

"""A sweep: lists and ranges of conv's settings, every combination of them, one analysed row each.

Standard library only. The grammar: an option takes a comma list whose items are values in conv's own
grammar (3, 3x5, same, on) or inclusive integer ranges start:stop[:step]. A range stays a range -- its
length is arithmetic -- so a sweep's size is known, and refused when absurd, before any row is made.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .analysis import analyze
from .errors import InvalidSpecError, term
from .results import ConvResult
from .spec import DTYPE_BYTES, PADDING_MODES, ConvSpec, parse_count, parse_padding, parse_size

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
}
DEPTHWISE = "dw"  # a groups value: groups = that row's c_in
MISMATCH = "MISMATCH"  # how the verdict of a row torch disagreed with begins (--verify)
MAX_ROWS = 100_000_000  # about a quarter of an hour at 100,000 rows a second; --max-rows raises it
SHORT = 4096  # a list this long is held whole by itertools.product; a longer range is walked instead
_GROUPS = SETTINGS.index("groups")
_RANGE = re.compile(r"\s*(-?\d+):(-?\d+)(?::(-?\d+))?\s*", re.ASCII)
_WORDS = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
_INTEGER_SETTINGS = ("c_in", "c_out", "groups", "batch", "dim", "kernel", "stride", "padding", "dilation")
_INTEGER_SETTINGS += ("output_padding", "input")


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


class SweepRow(NamedTuple):
    """One combination: the layer's settings (SETTINGS' order, groups 'dw' resolved), and its figures or
    why it is invalid, in ConvSpec's words; with --verify, what torch said of it."""

    settings: tuple[Any, ...]
    result: ConvResult | None
    reason: str
    verified: str | None = None  # 'ok', 'skipped: why', 'MISMATCH: ...'; '' for an invalid row

    @property
    def valid(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class Sweep:
    """Every combination of the values of each setting, the first setting's changing slowest."""

    axes: tuple[Values, ...]  # one per SETTINGS

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

    def rows(self, words: Mapping[str, str] | None = None) -> Iterator[SweepRow]:
        """One row per combination: the same layer, figures and reason as ConvSpec + analyze(); words name
        the settings in a reason (the CLI's options), else their names."""
        depthwise = DEPTHWISE in self.axes[_GROUPS].items
        for values in self.combinations():
            if depthwise and values[_GROUPS] == DEPTHWISE:
                values = (*values[:_GROUPS], values[0], *values[_GROUPS + 1 :])
            try:
                spec = ConvSpec(*values)
            except InvalidSpecError as exc:
                yield SweepRow(values, None, exc.in_words(words) if words else str(exc))
            else:
                yield SweepRow(values, analyze(spec), "")


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


def parse_sweep(given: Mapping[str, str | None], max_rows: int = MAX_ROWS) -> Sweep:
    """The sweep the options describe (setting -> text, None or absent for conv's default). Raises
    InvalidSpecError, naming the option and the rule, for bad syntax or more rows than max_rows."""
    texts = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
    missing = [name for name in REQUIRED if texts.get(name) is None]
    if missing:
        raise InvalidSpecError(missing[0], "required: a value, a list such as 32,64 or a range, 8:64:8")
    axes = tuple(
        Values(name, (None,)) if texts[name] is None else parse_values(name, texts[name]) for name in SETTINGS
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
    if name in ("kernel", "stride", "dilation", "input"):
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

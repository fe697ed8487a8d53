"""Stack specs: a sequence of layers from a TOML file, a JSON file or an inline string, as validated dicts.

One grammar, three syntaxes. A spec is an optional input ("3x224x224") and a list of layers; a layer
is a kind and its fields, named as `convcalc conv` names its options:

- TOML: `input = "3x224x224"`, then one `[[layer]]` table per layer (`kind = "conv"`, `out = 32`, ...);
  a repeat holds `times` and `layers`, an array of inline tables (or `[[layer.layers]]` tables).
- JSON: `{"input": "3x224x224", "layers": [{"kind": "conv", "out": 32, ...}, ...]}`.
- inline: `conv out=32 kernel=3 stride=2; bn; relu; repeat times=2 [ conv out=32 kernel=3 padding=1; relu ]`.

Sizes are `3`, `"3x3"` or `[3, 3]`; counts are integers; TOML and JSON booleans are booleans (inline
ones `true`/`false`). Data only: read with tomllib, json or a small tokenizer; nothing is evaluated or
imported. Every error is one SpecFileError line naming the layer (its position, `4.2` inside a repeat)
and the field. Standard library only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidSpecError, SpecFileError, printable, term
from .kinds import KINDS
from .kinds.base import (
    BOOL,
    COUNT,
    NAME,
    PADDING,
    POSITIVE,
    PROB,
    REAL,
    SCALE,
    SIZE,
    SIZE0,
    Choice,
)
from .spec import Sides, Size, parse_count, parse_padding, parse_size
from .stack_reader import MAX_BYTES, MAX_NESTING, read_file, read_inline, read_json, read_toml, type_name

MAX_LAYERS = 10_000  # layers once repeats and depthwise-separable pairs are expanded

BODY = "body"  # a repeat's layers
# A repeat is grammar, not a layer kind: it holds layers, expanded here.
REPEAT = {"times": COUNT, "layers": BODY}
ALIASES = {"bn": "batchnorm"}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_REAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", re.ASCII)


@dataclass(frozen=True)
class StackSpec:
    """A parsed stack: the input it names, if any (C, *spatial), and its layers in order, expanded."""

    layers: tuple[dict[str, Any], ...]
    input_shape: Size | None = None


def load_stack(source: str) -> StackSpec:
    """A stack from a .toml or .json file, or from an inline string (anything else)."""
    suffix = Path(source).suffix.lower()
    if suffix not in (".toml", ".json"):
        one_word = bool(source.strip()) and not any(mark in source for mark in "=; ")
        looks_like_path = ("/" in source or "." in source) and one_word
        if one_word and Path(source).exists():  # a folder named `adir`, not a layer kind
            raise SpecFileError(f"{printable(source)}: {_what_it_is(Path(source))}")
        if looks_like_path:
            raise SpecFileError(
                f"{source}: no such spec file; give a .toml or .json file, or layers inline such as "
                "'conv out=16 kernel=3; relu'"
            )
        return parse_stack(source, "inline")
    return parse_stack(read_file(source), suffix[1:])


def _what_it_is(path: Path) -> str:
    """Why a path that exists is not a spec file."""
    if path.is_dir():
        return "a folder, not a spec file; give a .toml or .json file inside it"
    if not path.is_file():
        return "not a regular file (a device or a pipe); a spec is a .toml or .json file"
    return "a spec file must end in .toml or .json"


def parse_stack(text: str, syntax: str) -> StackSpec:
    """Parse text written in one syntax: 'toml', 'json' or 'inline'."""
    if len(text) > MAX_BYTES:
        raise SpecFileError(f"spec: longer than {MAX_BYTES:,} bytes; a stack spec is a short text")
    if syntax == "inline":
        return StackSpec(build_layers(read_inline(text), inline=True))
    data = read_toml(text) if syntax == "toml" else read_json(text)
    key = "layer" if syntax == "toml" else "layers"
    if not isinstance(data, dict):
        raise SpecFileError(
            f"spec: the top level must be an object with {key} (and input); got {type_name(data)}"
        )
    unknown = sorted(set(data) - {"input", key})
    if unknown:
        raise SpecFileError(f"spec: unknown top-level field {unknown[0]!r}; use input, {key}")
    if key not in data:
        raise SpecFileError(
            f"spec: no {key}; list the layers as {'[[layer]] tables' if key == 'layer' else key}"
        )
    if syntax == "toml" and isinstance(data[key], dict):  # [layer], one table, where [[layer]] lists them
        raise SpecFileError("spec: layer: one [layer] table; write each layer as a [[layer]] table")
    shape = None if "input" not in data else parse_input(data["input"])
    return StackSpec(build_layers(data[key], inline=False), shape)


def parse_input(value: Any) -> Size:
    """The input as (C, *spatial): '3x224x224', [3, 224, 224] or 64 (features only)."""
    try:
        shape = _size(value, "input", 1, inline=False)
    except InvalidSpecError as exc:
        raise SpecFileError(str(exc)) from None
    shape = shape if isinstance(shape, tuple) else (shape,)
    if len(shape) > 4:
        raise SpecFileError(f"input: got {len(shape)} values; use C, CxL, CxHxW or CxDxHxW")
    return shape


def build_layers(raw_layers: Any, inline: bool) -> tuple[dict[str, Any], ...]:
    """Validate raw layers (dicts as read), expand repeats and depthwise-separable pairs, name them all."""
    nodes, total = _check_sequence(raw_layers, "", inline)
    if not total:
        raise SpecFileError("spec: no layers; give at least one, e.g. 'conv out=16 kernel=3'")
    layers: list[dict[str, Any]] = []
    _expand(nodes, "", layers)
    counters: Counter[str] = Counter()
    seen: dict[str, int] = {}
    given = {layer["name"] for layer in layers if layer.get("name")}  # default names step around them
    for index, layer in enumerate(layers, 1):
        base, part = layer.pop("base"), layer.pop("part", "")
        prefix = _prefix(base)
        if part != ".pw":  # a depthwise-separable pair shares one number
            counters[prefix] += 1
            while f"{prefix}{counters[prefix]}" in given:
                counters[prefix] += 1
        name = layer.pop("name", None) or f"{prefix}{counters[prefix]}"
        order = KINDS[layer["kind"]].fields
        layers[index - 1] = layer = {
            "kind": layer["kind"],
            "name": name + part,
            **{key: layer[key] for key in order if key in layer},
        }
        if layer["name"] in seen:
            raise SpecFileError(
                f"layer {index} ({layer['name']}, {layer['kind']}): name: already used by layer "
                f"{seen[layer['name']]}; names must be unique"
            )
        seen[layer["name"]] = index
    return tuple(layers)


def _check_sequence(raw_layers: Any, path: str, inline: bool) -> tuple[list[Any], int]:
    if not isinstance(raw_layers, list):
        where = f"layer {path[:-1]}: layers" if path else "spec: layers"
        raise SpecFileError(f"{where}: got {type_name(raw_layers)}; it must be a list of layers")
    nodes, total = [], 0
    for index, raw in enumerate(raw_layers, 1):
        node, count = _check_layer(raw, f"{path}{index}", inline)
        nodes.append(node)
        total += count
        if total > MAX_LAYERS:
            raise SpecFileError(
                f"layer {path}{index}: the stack would have more than {MAX_LAYERS:,} layers; "
                "use fewer repeats or smaller times"
            )
    return nodes, total


def _check_layer(raw: Any, path: str, inline: bool) -> tuple[Any, int]:
    """One raw layer as (node, expanded count): a validated dict, or (times, body) for a repeat."""
    if not isinstance(raw, dict):
        raise SpecFileError(f"layer {path}: got {type_name(raw)}; each layer is a table with a kind")
    kind = raw.get("kind")
    name = raw.get("name")
    where = f"layer {path} ({name}, {kind})" if isinstance(name, str) else f"layer {path} ({kind})"
    if not isinstance(kind, str) or ALIASES.get(kind, kind) not in (*KINDS, "repeat"):
        shown = "no kind" if kind is None else f"unknown kind {kind!r}"
        raise SpecFileError(f"layer {path}: {shown}; use one of {', '.join([*KINDS, 'repeat', *ALIASES])}")
    kind = ALIASES.get(kind, kind)
    entry = KINDS.get(kind)
    fields = REPEAT if entry is None else {**entry.fields, "name": NAME}
    required = ("times", "layers") if entry is None else entry.required
    for key in raw:
        if key != "kind" and key not in fields:
            raise SpecFileError(f"{where}: unknown field {key!r}; use {', '.join(fields) or 'no fields'}")
    missing = [key for key in required if key not in raw]
    if missing:
        raise SpecFileError(f"{where}: {missing[0]}: missing; a {kind} layer needs {', '.join(required)}")
    if entry is None:
        return _check_repeat(raw, path, where, inline)
    layer = {"kind": kind, **entry.defaults}
    for key, value in raw.items():
        if key != "kind":
            layer[key] = _field(fields[key], value, key, where, inline)
    try:
        layer = entry.complete(layer)
    except InvalidSpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None
    return layer, len(entry.expand({**layer, "base": kind}))


def _check_repeat(raw: dict[str, Any], path: str, where: str, inline: bool) -> tuple[Any, int]:
    times = _field(COUNT, raw["times"], "times", where, inline)
    if path.count(".") >= MAX_NESTING:
        raise SpecFileError(f"{where}: repeats nested more than {MAX_NESTING} deep")
    body, count = _check_sequence(raw["layers"], f"{path}.", inline)
    if not count:
        raise SpecFileError(f"{where}: layers: empty; a repeat needs at least one layer")
    if times * count > MAX_LAYERS:
        raise SpecFileError(
            f"{where}: times: {count_text(times)} x {count:,} layers is more than {MAX_LAYERS:,}; "
            "use a smaller times"
        )
    return (times, body), times * count


def _expand(nodes: list[Any], suffix: str, out: list[dict[str, Any]]) -> None:
    """Flatten repeats (a given name gets _1, _2, ... per repetition) and split dwsep into .dw and .pw."""
    for node in nodes:
        if isinstance(node, tuple):
            times, body = node
            for i in range(1, times + 1):
                _expand(body, f"{suffix}_{i}" if times > 1 else suffix, out)
            continue
        layer = {**node, "base": node["kind"]}
        if "name" in layer:
            layer["name"] += suffix
        out.extend(KINDS[layer["kind"]].expand(layer))


def _prefix(kind: str) -> str:
    """Default names: bn1, bn2, ...; every other kind is its own prefix, with _ after a digit (relu6_1)."""
    entry = KINDS[kind]
    return entry.prefix or (kind + "_" if kind[-1].isdigit() else kind)


def _field(kind: Any, value: Any, key: str, where: str, inline: bool) -> Any:
    try:
        if isinstance(kind, Choice):
            return _word(value, key, kind.words)
        return _READERS[kind](value, key, inline)
    except InvalidSpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def _int(value: Any, key: str, minimum: int, inline: bool) -> int:
    if isinstance(value, str):
        value = parse_count(value, key, _rule(minimum))
    elif type(value) is not int:
        raise InvalidSpecError(key, f"got {_shown(value)}; it must be {_rule(minimum)}")
    if value < minimum:
        raise InvalidSpecError(key, f"got {_shown(value)}; it must be {_rule(minimum)}")
    return value


def _size(value: Any, key: str, minimum: int, inline: bool) -> int | Size:
    if isinstance(value, str):
        value = parse_size(value, key, minimum)
    elif isinstance(value, list | tuple) and value and all(type(v) is int for v in value):
        value = tuple(value)
    elif type(value) is not int:
        raise InvalidSpecError(
            key, f"got {_shown(value)}; it must be {_rule(minimum)} or one per dimension: 3x5"
        )
    for v in value if isinstance(value, tuple) else (value,):
        _int(v, key, minimum, inline=False)
    return value


def _padding(value: Any, key: str, inline: bool) -> int | Size | Sides | tuple | str:
    """A padding: a word (same, valid, tf-same), sizes, or per side: "0+1", "0+1x1", [[0, 1], 1]."""
    if isinstance(value, str):
        value = parse_padding(value, key)
        if isinstance(value, str):
            return value
    if isinstance(value, Sides):
        return Sides(*(_int(v, key, 0, inline=False) for v in (value.before, value.after)))
    if isinstance(value, list | tuple) and value and any(isinstance(v, list | tuple) for v in value):
        return tuple(_sides(v, key) if isinstance(v, list | tuple) else _int(v, key, 0, False) for v in value)
    return _size(value, key, 0, inline)


def _sides(value: list | tuple, key: str) -> tuple[int, int]:
    """One dimension's padding written as [before, after]."""
    if len(value) != 2:
        raise InvalidSpecError(
            key, f"got {len(value)} values in a dimension; it takes one, or two: [before, after]"
        )
    return (_int(value[0], key, 0, False), _int(value[1], key, 0, False))


def _bool(value: Any, key: str, inline: bool) -> bool:
    if isinstance(value, bool):
        return value
    if inline and value in ("true", "false"):
        return value == "true"
    how = "true or false" if inline else "true or false, unquoted"
    raise InvalidSpecError(key, f"got {_shown(value)}; it must be {how}")


def _real(value: Any, key: str, inline: bool, low: float = -math.inf, high: float = math.inf) -> float:
    rule = (
        "a number"
        if low == -math.inf
        else f"a number in [{low:g}, {high:g}]"
        if high < math.inf
        else "a number > 0"
    )
    if inline and isinstance(value, str) and _REAL.fullmatch(value):
        value = float(value)
    if type(value) not in (int, float) or not _finite(value) or not low <= value <= high:
        raise InvalidSpecError(key, f"got {_shown(value)}; it must be {rule}")
    if low == 0 and high == math.inf and value == 0:
        raise InvalidSpecError(key, f"got {value}; it must be {rule}")
    return float(value)


def _scale(value: Any, key: str, inline: bool) -> float | tuple[float, ...]:
    """A positive number, or one per dimension: 2, 1.5, "2x1" or [2, 1]."""
    if inline and isinstance(value, str) and "x" in value.lower():
        value = value.lower().split("x")
    if isinstance(value, list | tuple) and value:
        return tuple(_positive(v, key, inline) for v in value)
    return _positive(value, key, inline)


def _positive(value: Any, key: str, inline: bool) -> float:
    return _real(value, key, inline, 0.0)


def _word(value: Any, key: str, choices: tuple[str, ...], pattern: re.Pattern[str] | None = None) -> str:
    if isinstance(value, str) and (value in choices or (pattern and pattern.fullmatch(value))):
        return value
    rule = f"one of {', '.join(choices)}" if choices else "1 to 64 letters, digits, _ or -"
    raise InvalidSpecError(key, f"got {_shown(value)}; it must be {rule}")


_READERS = {
    COUNT: lambda v, k, i: _int(v, k, 1, i),
    SIZE: lambda v, k, i: _size(v, k, 1, i),
    SIZE0: lambda v, k, i: _size(v, k, 0, i),
    PADDING: _padding,
    BOOL: _bool,
    PROB: lambda v, k, i: _real(v, k, i, 0.0, 1.0),
    POSITIVE: lambda v, k, i: _real(v, k, i, 0.0),
    REAL: _real,
    SCALE: lambda v, k, i: _scale(v, k, i),
    NAME: lambda v, k, i: _word(v, k, (), _NAME),
}


def _rule(minimum: int) -> str:
    return "a positive integer" if minimum == 1 else "an integer >= 0"


def _finite(value: float) -> bool:
    """A finite number, and an integer float can hold (math.isfinite would overflow on 10^400)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _shown(value: Any) -> str:
    """A value as a message shows it: cut short where it is long, so the message stays one line."""
    if isinstance(value, bool):
        return str(value).lower()
    if type(value) is int:
        return count_text(value)
    shown = repr(value) if isinstance(value, str | float) else type_name(value)
    return shown if len(shown) <= 40 else f"{shown[:24]}...{shown[-8:]} ({len(value):,} characters)"


def count_text(value: int) -> str:
    """An integer as a message shows it: with separators, or its size where it is past 15 digits."""
    return f"{value:,}" if abs(value) < 10**15 else f"{'-' * (value < 0)}about 10^{len(str(abs(value))) - 1}"


PRESETS = ("mobilenet_v1", "vgg16")


def preset(name: str) -> str:
    """The TOML text of a shipped preset."""
    if name not in PRESETS:
        raise SpecFileError(f"{term('preset')}: unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    return (Path(__file__).parent / "presets" / f"{name}.toml").read_text(encoding="utf-8")

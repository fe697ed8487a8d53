"""What a model's forward is called with: its tensor inputs (positional or by keyword, each a shape per
sample and a dtype) and its other keyword arguments, as `-i`, `--arg` and model_report() give them.

The grammar of one input: `[NAME=]SHAPE[:DTYPE]`: `3x224x224`, `input_ids=128:int64`, `mask=128:bool`.
Integer tensors are zeros (valid token ids), bool tensors all true (a mask that hides nothing), floats
zeros. An argument is `NAME=VALUE`, VALUE a Python literal read by ast.literal_eval (numbers, strings,
booleans, None, tuples, lists, dicts): data, never evaluated as code. Standard library only.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidSpecError
from .spec import Size, parse_size
from .vocabulary import DTYPE_BYTES

# Bytes per element of every dtype an input may have: the float dtypes a layer may have, and these.
INPUT_DTYPES = {**DTYPE_BYTES, "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
MAX_ARG = 4096  # characters of one --arg's value: a literal, not a data file


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One tensor input: its keyword (None: the next positional input), its shape per sample (the batch
    goes before it), and its dtype (None: the floating dtype, --dtype's or the model's)."""

    name: str | None
    shape: Size
    dtype: str | None = None

    @property
    def text(self) -> str:
        shape = "x".join(map(str, self.shape))
        return f"{self.name + '=' if self.name else ''}{shape}{':' + self.dtype if self.dtype else ''}"


def parse_input_spec(text: str, setting: str = "inputs") -> InputSpec:
    """`[NAME=]SHAPE[:DTYPE]` as an InputSpec; one line naming the rule where it is not."""
    name, equals, rest = text.partition("=")
    if not equals:
        name, rest = "", text
    name = name.strip()
    if equals and not _NAME.fullmatch(name):
        raise InvalidSpecError(
            setting, f"{text!r}: {name!r} is not a keyword; write NAME=SHAPE, e.g. mask=128"
        )
    shape_text, colon, dtype = rest.partition(":")
    dtype = dtype.strip().lower()
    if colon and dtype not in INPUT_DTYPES:
        raise InvalidSpecError(
            setting, f"{text!r}: unknown dtype {dtype!r}; use one of {', '.join(INPUT_DTYPES)}"
        )
    size = parse_size(shape_text, setting)
    shape = size if isinstance(size, tuple) else (size,)
    if min(shape) < 1:
        raise InvalidSpecError(setting, f"{text!r}: sizes must be positive, e.g. 3x224x224")
    return InputSpec(name or None, shape, dtype or None)


def parse_arg(text: str, setting: str = "args") -> tuple[str, Any]:
    """`NAME=VALUE` with VALUE a Python literal, as (NAME, value); one line where it is not."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not _NAME.fullmatch(name):
        raise InvalidSpecError(setting, f"{text[:60]!r} is not NAME=VALUE; e.g. use_cache=False, timestep=10")
    if len(value) > MAX_ARG:
        raise InvalidSpecError(setting, f"{name}: the value has more than {MAX_ARG:,} characters")
    try:
        return name, ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise InvalidSpecError(
            setting,
            f"{name}: {shown!r} is not a Python literal (a number, string, True, False, None, tuple, list "
            "or dict); quote a string: name='text'",
        ) from None


def check_names(inputs: list[InputSpec], kwargs: dict[str, Any]) -> None:
    """No keyword given twice, and keyword inputs after the positional ones, as Python calls take them."""
    seen: set[str] = set()
    for spec in inputs:
        if spec.name is None and seen:
            raise InvalidSpecError(
                "inputs",
                f"{spec.text!r}: a positional input after a keyword one; give the positional ones first",
            )
        if spec.name is not None:
            if spec.name in seen:
                raise InvalidSpecError("inputs", f"{spec.name!r} is given twice; keep one")
            seen.add(spec.name)
    for name in kwargs:
        if name in seen:
            raise InvalidSpecError("args", f"{name!r} is given as an input and an argument; keep one")


@dataclass(frozen=True)
class Request:
    """The inputs asked for: (keyword or None, an InputSpec or a tensor) each, the other keyword arguments,
    the batch put before every InputSpec's shape, or a callable that makes them all instead."""

    items: tuple[tuple[str | None, Any], ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int = 1
    maker: Callable[[], Any] | None = None
    maker_name: str = ""
    default: str = ""  # whose default these inputs are, where none were given ("" when they were)


MAX_DIMS = 8  # sizes per sample an input may have: a video clip has 4; more is a typo


def make_request(
    input_size: Any = None, inputs: Any = None, kwargs: Mapping[str, Any] | None = None, batch: Any = 1
) -> Request:
    """The Request that model_report()'s arguments describe. input_size: one positional input, a shape per
    sample. inputs: a tensor (used as it is), `[NAME=]SHAPE[:DTYPE]` text, an InputSpec, a list of those,
    a dict of keyword inputs (NAME: SHAPE[:DTYPE] text, InputSpec or tensor), or a callable returning the
    inputs. kwargs: the forward's other keyword arguments, as they are."""
    if type(batch) is not int or batch < 1:
        raise InvalidSpecError("batch", f"got {batch!r}; it must be a positive integer")
    if input_size is not None and inputs is not None:
        raise InvalidSpecError("inputs", "give input_size or inputs, not both")
    extra = dict(kwargs or {})
    for name in extra:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidSpecError("args", f"{name!r} is not a keyword")
    if callable(inputs) and not _is_tensor(inputs):
        name = getattr(inputs, "__qualname__", type(inputs).__name__)
        return Request((), extra, batch, inputs, name)
    if input_size is not None:
        items: list[tuple[str | None, Any]] = [(None, InputSpec(None, _shape(input_size, "input_size")))]
    elif isinstance(inputs, Mapping):
        items = [(str(k), _item(v, str(k))) for k, v in inputs.items()]
    elif isinstance(inputs, list | tuple):
        items = [_named(_item(v)) for v in inputs]
    else:
        items = [] if inputs is None else [_named(_item(inputs))]
    specs = [item if isinstance(item, InputSpec) else InputSpec(name, ()) for name, item in items]
    check_names(specs, extra)
    return Request(tuple(items), extra, batch)


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, str)


def _item(value: Any, name: str | None = None) -> Any:
    """One input: a tensor as it is, or an InputSpec (named as its dict key says)."""
    if _is_tensor(value):
        return value
    if isinstance(value, InputSpec):
        spec = value
    elif isinstance(value, str):
        spec = parse_input_spec(value if name is None or "=" in value else f"{name}={value}")
    else:
        spec = InputSpec(None, _shape(value, "inputs"))
    if name is not None and spec.name not in (None, name):
        raise InvalidSpecError("inputs", f"{name!r}: the spec names {spec.name!r}; keep one name")
    _check_dims(spec)
    return InputSpec(name or spec.name, spec.shape, spec.dtype)


def _named(item: Any) -> tuple[str | None, Any]:
    return (item.name if isinstance(item, InputSpec) else None), item


def _shape(value: Any, setting: str) -> Size:
    """A shape per sample from text ('3x224x224'), an integer or a sequence of integers."""
    if isinstance(value, str):
        return parse_input_spec(value, setting).shape
    values = list(value) if isinstance(value, list | tuple) else [value]
    shape = tuple(values)
    if not shape or any(type(v) is not int for v in shape) or min(shape) < 1:
        raise InvalidSpecError(setting, f"got {value!r}; use positive integers, e.g. 3x224x224")
    _check_dims(InputSpec(None, shape))
    return shape


def _check_dims(spec: InputSpec) -> None:
    if len(spec.shape) > MAX_DIMS:
        raise InvalidSpecError(
            "inputs", f"{spec.text!r} has {len(spec.shape)} sizes; an input has at most {MAX_DIMS} per sample"
        )

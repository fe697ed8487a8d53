"""The three syntaxes of a stack spec read into plain data: TOML and JSON parsed, inline strings tokenised.

Nothing here knows the layer kinds; stack_grammar.py validates what these return. Data only: nothing is
evaluated or imported. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

from .errors import SpecFileError

MAX_BYTES = 1 << 20  # a spec file or inline string: 1 MiB
MAX_NESTING = 32  # repeats inside repeats
_TOKEN = re.compile(r"[;\[\]]|[^\s;\[\]]+")


def read_file(source: str) -> str:
    """The text of a spec file, at most MAX_BYTES."""
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):  # a FIFO or a device would block or never end
            raise SpecFileError(f"{source}: not a regular file; a spec is a .toml or .json file")
        with open(source, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecFileError(f"{source}: cannot read the spec file ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise SpecFileError(f"{source}: larger than {MAX_BYTES:,} bytes; a stack spec is a short text file")
    try:
        return data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not an error
    except UnicodeDecodeError:
        raise SpecFileError(f"{source}: not UTF-8 text; a spec file is TOML or JSON text") from None


def read_toml(text: str) -> Any:
    try:
        import tomllib
    except ImportError:  # Python 3.10: the same parser, as the tomli package convcalc depends on there
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecFileError(f"spec: not valid TOML: {exc}") from None
    except RecursionError:
        raise SpecFileError("spec: nested too deeply to be a stack") from None
    except ValueError as exc:  # an integer past Python's digit limit for reading text
        raise SpecFileError(f"spec: {str(exc).split(';')[0]}") from None


def read_json(text: str) -> Any:
    def no_constant(word: str) -> None:
        raise SpecFileError(f"spec: not valid JSON: {word} is not a number JSON allows")

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) < len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            raise SpecFileError(f"spec: field {twice!r} is given twice in one object; keep one")
        return dict(pairs)

    try:
        return json.loads(text, parse_constant=no_constant, object_pairs_hook=unique)
    except SpecFileError:
        raise
    except json.JSONDecodeError as exc:
        raise SpecFileError(f"spec: not valid JSON: {exc}") from None
    except (RecursionError, ValueError) as exc:  # deep nesting; integers past Python's digit limit
        raise SpecFileError(f"spec: not valid JSON here: {str(exc).splitlines()[0]}") from None


def read_inline(text: str) -> list[dict[str, Any]]:
    """'KIND key=value ...; ...' with 'repeat times=N [ ... ]' as raw layer dicts of strings."""
    tokens = _TOKEN.findall(text)
    layers, end = _inline_sequence(tokens, 0, "")
    if end < len(tokens):
        raise SpecFileError("spec: a ']' closes no '['; a repeat's body is 'repeat times=N [ ... ]'")
    return layers


def _inline_sequence(tokens: list[str], pos: int, path: str) -> tuple[list[dict[str, Any]], int]:
    layers: list[dict[str, Any]] = []
    words: list[str] = []
    while pos < len(tokens) and tokens[pos] != "]":
        token, pos = tokens[pos], pos + 1
        if token == "[":
            where = f"layer {path}{len(layers) + 1}"
            if path.count(".") >= MAX_NESTING:
                raise SpecFileError(f"{where}: repeats nested more than {MAX_NESTING} deep")
            body, pos = _inline_sequence(tokens, pos, f"{path}{len(layers) + 1}.")
            if pos == len(tokens):
                raise SpecFileError(f"{where}: a '[' is never closed; end the repeat's body with ']'")
            words.append(body)  # type: ignore[arg-type]  # the body rides along as a list
            pos += 1
        elif token == ";":
            layers += [_inline_layer(words, f"{path}{len(layers) + 1}")] if words else []
            words = []
        else:
            words.append(token)
    layers += [_inline_layer(words, f"{path}{len(layers) + 1}")] if words else []
    return layers, pos


def _inline_layer(words: list[Any], path: str) -> dict[str, Any]:
    kind, *rest = words
    if not isinstance(kind, str):
        raise SpecFileError(f"layer {path}: a '[ ... ]' body needs 'repeat times=N' before it")
    raw: dict[str, Any] = {"kind": kind}
    where = f"layer {path} ({kind})"
    for word in rest:
        key, sep, value = word.partition("=") if isinstance(word, str) else ("layers", "=", word)
        if not sep or not key:
            raise SpecFileError(f"{where}: {word!r} is not key=value; write e.g. kernel=3")
        if key in raw:
            raise SpecFileError(f"{where}: {key}: given twice; keep one")
        raw[key] = value
    return raw


def type_name(value: Any) -> str:
    names = {dict: "a table", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)

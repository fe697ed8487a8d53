"""The budgets file: a project's checks, each a convcalc command line with a name.

They live in `[tool.convcalc]` of pyproject.toml, or at the top level of a convcalc.toml, found as ruff
and pytest find theirs: the nearest one upward from the current directory (in each directory
convcalc.toml first; a pyproject.toml without [tool.convcalc] is passed over), or the file named.

    [tool.convcalc]
    snapshot = "convcalc.lock.json"   # the regression gate's file, beside this one (the default)
    tolerance = "0"                   # how far a figure may move from the snapshot (the default)

    [tool.convcalc.checks]
    stem = "conv 3 32 3 -s 2 -p 1 --no-bias --expect params=864"
    backbone = { run = "model mypkg.nets:build -i 3x224x224 --expect 'macs<=4.2G'", tolerance = "2%" }

A check is a command line (`convcalc` may lead it, as typed in a shell) or a table with `run` and
`tolerance`. A tolerance is "0" (the figure must not move), a percentage of the snapshot's value ("2%"),
an amount ("1M", "64KiB") or "any" (recorded, never failed); or a table of them by figure, where a key is
a figure (`macs`: the total and every layer's or variant's), a full key (`layer4.macs`) or a pattern
(`layer4.*`). Standard library only: the command lines are read by the commands themselves, in the CLI.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import BudgetError

CONFIG_NAMES = ("convcalc.toml", "pyproject.toml")  # looked for in this order in each directory
SNAPSHOT_NAME = "convcalc.lock.json"
CHECKED = ("conv", "compare", "stack", "model")  # the commands a check may run
MAX_BYTES = 1 << 20
_KEYS = ("checks", "snapshot", "tolerance")
_CHECK_KEYS = ("run", "tolerance")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}", re.ASCII)
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(%|k|m|g|t|kib|mib|gib)?", re.IGNORECASE | re.ASCII)
_SCALES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}
TOLERANCE_FORMS = "'0', a percentage such as '2%', an amount such as '1M' or '64KiB', or 'any'"


@dataclass(frozen=True)
class Tolerance:
    """How far a figure may move from the snapshot and still pass: exactly as `text` says."""

    text: str  # as written: 0, 2%, 1M, any
    kind: str  # exact, relative (a percentage of the snapshot's value), absolute or any
    amount: Decimal = Decimal(0)

    def allows(self, old: Any, new: Any) -> bool:
        """Whether new is within the tolerance of old; exactly at it passes. A shape or other non-number
        passes only unchanged (or with `any`)."""
        if self.kind == "any" or old == new:
            return True
        if not (_number(old) and _number(new)) or self.kind == "exact":
            return False
        change = abs(_decimal(new) - _decimal(old))
        if self.kind == "relative":
            return change * 100 <= self.amount * abs(_decimal(old))
        return change <= self.amount


EXACT = Tolerance("0", "exact")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimal(value: int | float) -> Decimal:
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def parse_tolerance(value: Any, where: str) -> Tolerance:
    """A tolerance as the file writes it: text ('0', '2%', '1M', '64KiB', 'any') or a whole number."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return EXACT if value == 0 else Tolerance(str(value), "absolute", Decimal(value))
    text = value.strip() if isinstance(value, str) else None
    match = _AMOUNT.fullmatch(text) if text else None
    if text is not None and text.lower() == "any":
        return Tolerance("any", "any")
    if match is None:
        raise BudgetError(f"{where}: tolerance {value!r}: use {TOLERANCE_FORMS}")
    number, unit = match[1], (match[2] or "").lower()
    if Decimal(number) == 0:
        return Tolerance(text, "exact")
    if unit == "%":
        return Tolerance(text, "relative", Decimal(number))
    return Tolerance(text, "absolute", Decimal(number) * _SCALES[unit])


@dataclass(frozen=True)
class Tolerances:
    """Tolerances by figure, as written: (key or pattern, tolerance). The rule that names a figure most
    precisely wins: its full key; else the pattern or figure name with the most characters that are not
    wildcards (the first written, of equals). `*` alone is every figure."""

    rules: tuple[tuple[str, Tolerance], ...] = ()

    def lookup(self, key: str) -> Tolerance | None:
        best, best_score = None, -1
        for pattern, tolerance in self.rules:
            score = _precision(pattern, key)
            if score > best_score:
                best, best_score = tolerance, score
        return best

    def unmatched(self, keys: Iterable[str]) -> list[str]:
        """The rules that match none of keys: a figure name mistyped."""
        keys = list(keys)
        return [pattern for pattern, _ in self.rules if all(_precision(pattern, k) < 0 for k in keys)]


def _precision(pattern: str, key: str) -> int:
    """How precisely pattern names the figure key; -1 when it does not name it."""
    if pattern == key:
        return 1 << 20
    figure = key.rpartition(".")[2]
    if "." not in pattern and pattern == figure:  # a figure's name: the total and every layer's
        return len(pattern)
    if fnmatch.fnmatchcase(key, pattern):
        return len(re.sub(r"[*?\[\]]", "", pattern))
    return -1


def parse_tolerances(value: Any, where: str) -> Tolerances:
    """A tolerance for every figure ('2%'), or a table of them by figure."""
    if isinstance(value, Mapping):
        rules = []
        for pattern, tolerance in value.items():
            if not pattern.strip():
                raise BudgetError(f"{where}: tolerance: an empty figure name")
            rules.append((pattern.strip(), parse_tolerance(tolerance, f"{where}: {pattern}")))
        return Tolerances(tuple(rules))
    return Tolerances((("*", parse_tolerance(value, where)),))


@dataclass(frozen=True)
class CheckSpec:
    """One check: its name, its command line as written and split, and its tolerances."""

    name: str
    run: str
    argv: tuple[str, ...]  # the command (conv, compare, stack or model) and its arguments
    tolerance: Tolerances = Tolerances()

    @property
    def command(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class Budgets:
    """A budgets file: where it is (as messages name it), its checks, its snapshot and its tolerance.
    Its checks run in its directory, as a project's tools do, so that a check's paths (a spec file, a
    model's file or package) mean the same from any directory below it."""

    path: str
    checks: tuple[CheckSpec, ...]
    snapshot: str | None = None  # None: no regression gate
    tolerance: Tolerances = Tolerances()
    home: str | None = None  # the directory the checks run in (the file's), their paths written from there

    def tolerance_for(self, check: CheckSpec, key: str) -> Tolerance:
        """The check's own rule for the figure, else the file's, else 0."""
        return check.tolerance.lookup(key) or self.tolerance.lookup(key) or EXACT

    def where(self, name: str) -> str:
        return f"{self.path}: check {name!r}"

    def select(self, names: Iterable[str] = (), pattern: str | None = None) -> tuple[CheckSpec, ...]:
        """The checks named, and those whose name matches pattern (a glob, else a part of the name, in
        any case); every check when neither is given. An unknown name, or a pattern that matches none,
        is an error."""
        names = list(names)
        if not names and pattern is None:
            return self.checks
        chosen = {self._named(name) for name in names}
        if pattern is not None:
            matching = {c.name for c in self.checks if _matches(c.name, pattern)}
            if not matching:
                raise BudgetError(
                    f"{self.path}: no check matches -k {pattern!r}; its checks: {self._names()}"
                )
            chosen |= matching
        return tuple(c for c in self.checks if c.name in chosen)

    def _named(self, name: str) -> str:
        found = [c.name for c in self.checks if c.name == name] or [
            c.name for c in self.checks if c.name.lower() == name.lower()
        ]
        if not found:
            raise BudgetError(f"{self.path}: no check named {name!r}; its checks: {self._names()}")
        return found[0]

    def _names(self) -> str:
        return ", ".join(c.name for c in self.checks)


def _matches(name: str, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatch(name.lower(), pattern.lower())
    return pattern.lower() in name.lower()


def find_budgets(start: str | os.PathLike[str]) -> Path | None:
    """The nearest budgets file upward from start: convcalc.toml, or a pyproject.toml with [tool.convcalc]."""
    here = Path(start).resolve()
    for directory in (here, *here.parents):
        own = directory / CONFIG_NAMES[0]
        if own.is_file():
            return own
        project = directory / CONFIG_NAMES[1]
        if project.is_file() and "convcalc" in (read_toml_file(project, str(project)).get("tool") or {}):
            return project
    return None


def load_budgets(path: str | os.PathLike[str], shown: str | None = None) -> Budgets:
    """The budgets file at path, validated whole; shown is how messages name it (path as given)."""
    shown = shown or str(path)
    data = read_toml_file(Path(path), shown)
    tool = data.get("tool")
    if "checks" not in data and isinstance(tool, Mapping) and "convcalc" in tool:
        table, label = tool["convcalc"], "[tool.convcalc]"
    elif Path(path).name == CONFIG_NAMES[1]:
        raise BudgetError(f"{shown}: no [tool.convcalc] table; the checks go in [tool.convcalc.checks]")
    else:
        table, label = data, ""
    base = Path(path).resolve().parent
    return replace(parse_budgets(table, shown, label, base), home=str(base))


def parse_budgets(
    table: Any, shown: str, label: str = "[tool.convcalc]", base: Path | None = None
) -> Budgets:
    """Budgets from the table ([tool.convcalc], or a convcalc.toml's top level); the snapshot beside the
    file (base), where a file holds them; a table given in Python has a snapshot only if it names one."""
    if not isinstance(table, Mapping):
        raise BudgetError(f"{shown}: {label or 'the file'} must be a table")
    unknown = [key for key in table if key not in _KEYS]
    if unknown:
        where = f" in {label}" if label else ""
        raise BudgetError(f"{shown}: unknown key {unknown[0]!r}{where}; use {', '.join(_KEYS)}")
    checks = table.get("checks")
    if "checks" in table and not isinstance(checks, Mapping):
        raise BudgetError(f'{shown}: checks: got {checks!r}; it must be a table of name = "command line"')
    if not checks:
        raise BudgetError(
            f"{shown}: no checks: add a table of them, e.g. [tool.convcalc.checks] (in a "
            'convcalc.toml, [checks]) with stem = "conv 3 32 3 -s 2 -p 1 --expect params=896"'
        )
    snapshot = table.get("snapshot", SNAPSHOT_NAME if base is not None else None)
    if snapshot is not None and (not isinstance(snapshot, str) or not snapshot.strip()):
        raise BudgetError(
            f"{shown}: snapshot: got {snapshot!r}; it must be a file name, e.g. {SNAPSHOT_NAME!r}"
        )
    if snapshot is not None and base is not None:
        snapshot = str(base / snapshot)
    tolerance = parse_tolerances(table["tolerance"], f"{shown}") if "tolerance" in table else Tolerances()
    specs = tuple(_check(name, value, shown) for name, value in checks.items())
    _unique(specs, shown)
    return Budgets(shown, specs, snapshot, tolerance)


def _check(name: Any, value: Any, shown: str) -> CheckSpec:
    where = f"{shown}: check {name!r}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BudgetError(
            f"{where}: a check's name is 1 to 64 letters, digits, '_' or '-', and does not start with '-'"
        )
    if isinstance(value, Mapping):
        unknown = [key for key in value if key not in _CHECK_KEYS]
        if unknown:
            raise BudgetError(f"{where}: unknown key {unknown[0]!r}; use {', '.join(_CHECK_KEYS)}")
        if "run" not in value:
            raise BudgetError(f'{where}: no run = "...": the command line to check')
        run, tolerance = value["run"], parse_tolerances(value.get("tolerance", {}), where)
    else:
        run, tolerance = value, Tolerances()
    if not isinstance(run, str):
        raise BudgetError(
            f'{where}: got {run!r}; a check is a command line, e.g. "conv 3 32 3 --expect params=896"'
        )
    return CheckSpec(name, run, split_command(run, where), tolerance)


def split_command(run: str, where: str) -> tuple[str, ...]:
    """The command line split as a shell splits it, `convcalc` dropped where it leads."""
    try:
        argv = shlex.split(run)
    except ValueError as exc:
        raise BudgetError(f"{where}: cannot split the command line: {exc}") from None
    if argv[:1] == ["convcalc"]:
        argv = argv[1:]
    if not argv:
        raise BudgetError(f"{where}: an empty command line; use one of {', '.join(CHECKED)}")
    if argv[0] not in CHECKED:
        why = {
            "sweep": "sweep writes rows and has no budgets",
            "check": "a check cannot run convcalc check",
        }.get(argv[0], f"unknown command {argv[0]!r}")
        raise BudgetError(f"{where}: {why}; a check runs {', '.join(CHECKED)}")
    return tuple(argv)


def _unique(specs: tuple[CheckSpec, ...], shown: str) -> None:
    """Names differing only in case would be one name to `convcalc check NAME` and to a test report."""
    seen: dict[str, str] = {}
    for spec in specs:
        other = seen.setdefault(spec.name.lower(), spec.name)
        if other != spec.name:
            raise BudgetError(f"{shown}: checks {other!r} and {spec.name!r} differ only in case; rename one")


def read_toml_file(path: Path, shown: str) -> dict[str, Any]:
    """A TOML file's data; every problem one BudgetError naming the file (and the line, for a name used
    twice)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BudgetError(f"{shown}: not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise BudgetError(f"{shown}: no such file") from None
    except OSError as exc:
        raise BudgetError(f"{shown}: cannot read it ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise BudgetError(f"{shown}: larger than {MAX_BYTES:,} bytes; a budgets file is a short text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BudgetError(f"{shown}: not UTF-8 text") from None
    return _parse_toml(text, shown)


def _parse_toml(text: str, shown: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10: the same parser, as the tomli package convcalc depends on there
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BudgetError(f"{shown}: {_toml_problem(str(exc), text)}") from None
    except (RecursionError, ValueError) as exc:  # nesting, or an integer past Python's digit limit
        raise BudgetError(f"{shown}: not a budgets file ({str(exc).split(';')[0]})") from None


_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_KEY_ON_LINE = re.compile(r"^\s*\[*\s*([^=\]]+?)\s*[=\]]")


def _toml_problem(message: str, text: str) -> str:
    """tomllib's message, with the key named where it says a key is given twice."""
    at = _AT_LINE.search(message)
    line = int(at[1]) if at else 0
    if at and ("overwrite" in message or "twice" in message) and 0 < line <= len(text.splitlines()):
        key = _KEY_ON_LINE.match(text.splitlines()[line - 1])
        if key:
            name = key[1].rpartition(".")[2].strip().strip("'\"")
            return f"line {line}: {name!r} is given twice; each check needs a name of its own"
    return f"not valid TOML: {message}"

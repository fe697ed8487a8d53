"""The snapshot, convcalc.lock.json: every figure of every check, with the convcalc and torch versions
that counted them. `convcalc check --update` writes it (meant to be committed); `convcalc check` compares
today's figures with it, each within its tolerance (budgets.py).

One figure a line, in the order the check gives them, so that a change reads as a small diff. Written
whole to a temporary file beside it, then renamed over it: an existing snapshot is never left half
written. Standard library only.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budgets import Tolerance
from .errors import SnapshotError

FORMAT = "convcalc-snapshot"
VERSION = 1
MAX_BYTES = 64 << 20
_UPDATE = "convcalc check --update"


@dataclass(frozen=True)
class Entry:
    """One check in the snapshot: its command line then, and its figures."""

    run: str
    figures: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    convcalc: str
    torch: str | None  # None: no torch installed where it was written
    checks: dict[str, Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class Move:
    """A figure that is not what the snapshot holds: within its tolerance, or not."""

    key: str
    old: Any
    new: Any
    tolerance: str  # as written: 0, 2%, 1M, any
    within: bool

    @property
    def change(self) -> float | None:
        """new / old - 1, for numbers with a snapshot value other than 0; else None."""
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (self.old, self.new))
        return self.new / self.old - 1 if numbers and self.old else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "snapshot": figure_json(self.old),
            "now": figure_json(self.new),
            "change": self.change,
            "tolerance": self.tolerance,
            "within": self.within,
        }


def figure_json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def compare_figures(
    old: Mapping[str, Any], new: Mapping[str, Any], tolerance: Callable[[str], Tolerance]
) -> tuple[list[Move], list[str], list[str]]:
    """The figures that moved (each with its tolerance's verdict), those new since the snapshot, and
    those the snapshot has that the check no longer gives."""
    moves = []
    for key, value in new.items():
        if key in old and old[key] != value:
            rule = tolerance(key)
            moves.append(Move(key, old[key], value, rule.text, rule.allows(old[key], value)))
    return moves, [k for k in new if k not in old], [k for k in old if k not in new]


def read_snapshot(path: str | os.PathLike[str], shown: str) -> Snapshot | None:
    """The snapshot at path; None when there is none yet. Anything but convcalc's own is an error."""
    text = _read(Path(path), shown)
    if text is None:
        return None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise SnapshotError(f"{shown}: not a convcalc snapshot: nested too deeply") from None
    except ValueError as exc:
        conflict = "<<<<<<<" in text and FORMAT in text
        hint = f": it holds a merge conflict; {_UPDATE} writes it afresh" if conflict else ""
        raise SnapshotError(f"{shown}: not a convcalc snapshot: not valid JSON ({exc}){hint}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f'{shown}: not a convcalc snapshot (no "format": "{FORMAT}")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotError(f"{shown}: corrupt snapshot: version {version!r}")
    if version > VERSION:
        raise SnapshotError(
            f"{shown}: written by a newer convcalc (snapshot version {version}; this one reads {VERSION}): "
            "upgrade convcalc"
        )
    return _snapshot(data, shown)


def read_for(path: str | None, shown: str | None, update: bool) -> tuple[Snapshot | None, list[str]]:
    """The snapshot there is (None for no path, or no file yet), and a note. With --update, one that is
    convcalc's but unreadable (a merge conflict) is to be written afresh; a file that is not convcalc's
    is never overwritten."""
    if path is None:
        return None, []
    try:
        return read_snapshot(path, shown or path), []
    except SnapshotError as exc:
        if not (update and os.path.isfile(path) and is_ours(path)):
            raise
        why = str(exc).removeprefix(f"{shown}: ")
        return None, [f"the old snapshot could not be read ({why}); written afresh"]


def _no_constant(word: str) -> None:
    raise ValueError(f"{word} is not a number JSON allows")


def is_ours(path: str | os.PathLike[str]) -> bool:
    """Whether a file that cannot be read as a snapshot was one (a merge conflict, a cut write): only
    then may --update replace it."""
    try:
        with open(path, "rb") as handle:
            return FORMAT.encode() in handle.read(MAX_BYTES)
    except OSError:
        return False


def _read(path: Path, shown: str) -> str | None:
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise SnapshotError(
                f"{shown}: not a snapshot: {'a directory' if stat.S_ISDIR(mode) else 'not a file'}"
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"{shown}: cannot read the snapshot ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise SnapshotError(f"{shown}: not a convcalc snapshot (larger than {MAX_BYTES:,} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(f"{shown}: not a convcalc snapshot (not UTF-8 text)") from None


def _snapshot(data: dict[str, Any], shown: str) -> Snapshot:
    written = data.get("written_by")
    checks = data.get("checks")
    if not isinstance(written, dict) or not isinstance(checks, dict):
        raise SnapshotError(f'{shown}: corrupt snapshot: it needs "written_by" and "checks" tables')
    entries = {}
    for name, entry in checks.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("figures"), dict):
            raise SnapshotError(f'{shown}: corrupt snapshot: check {name!r} has no "figures" table')
        figures = {key: _figure(value, shown, name, key) for key, value in entry["figures"].items()}
        entries[name] = Entry(str(entry.get("run", "")), figures)
    convcalc, torch = written.get("convcalc"), written.get("torch")
    if not isinstance(convcalc, str) or not (torch is None or isinstance(torch, str)):
        raise SnapshotError(f'{shown}: corrupt snapshot: "written_by" needs the convcalc and torch versions')
    return Snapshot(convcalc, torch, entries)


def _figure(value: Any, shown: str, name: str, key: str) -> Any:
    if isinstance(value, list) and all(type(v) is int for v in value):
        return tuple(value)
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise SnapshotError(f"{shown}: corrupt snapshot: check {name!r}: figure {key!r} is {value!r}")


def snapshot_text(snapshot: Snapshot) -> str:
    """The snapshot as convcalc writes it: JSON, one figure a line."""
    dump = lambda value: json.dumps(figure_json(value), ensure_ascii=False, allow_nan=False)  # noqa: E731
    written = {"convcalc": snapshot.convcalc, "torch": snapshot.torch}
    lines = [
        "{",
        f'  "format": {dump(FORMAT)},',
        f'  "version": {VERSION},',
        f'  "written_by": {dump(written)},',
        '  "checks": {',
    ]
    for n, (name, entry) in enumerate(snapshot.checks.items()):
        lines += [f"    {dump(name)}: {{", f'      "run": {dump(entry.run)},', '      "figures": {']
        figures = list(entry.figures.items())
        lines += [
            f"        {dump(k)}: {dump(v)}{',' if i < len(figures) - 1 else ''}"
            for i, (k, v) in enumerate(figures)
        ]
        lines += ["      }", "    }" + ("," if n < len(snapshot.checks) - 1 else "")]
    return "\n".join([*lines, "  }", "}"]) + "\n"


def check_writable(path: str | os.PathLike[str], shown: str) -> None:
    """Refuse, before any check runs, a snapshot path that --update could not write."""
    target = Path(path)
    directory = os.path.dirname(shown) or "."  # as the user wrote it
    if target.is_dir():
        raise SnapshotError(f"{shown}: cannot write the snapshot: it is a directory")
    if not target.parent.is_dir():
        why = "is not a directory" if target.parent.exists() else "does not exist"
        raise SnapshotError(f"{shown}: cannot write the snapshot: the directory {directory!r} {why}")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise SnapshotError(
            f"{shown}: cannot write the snapshot: the directory {directory!r} is not writable"
        )
    if target.exists() and not os.access(target, os.W_OK):
        raise SnapshotError(f"{shown}: cannot write the snapshot: the file is read-only")


def write_snapshot(path: str | os.PathLike[str], text: str, shown: str) -> None:
    """Write text whole to a temporary file beside path, then rename it over path: whatever happens, path
    holds the old snapshot or the new one, never a part. The file keeps its permissions."""
    target = Path(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temp = None
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except OSError as exc:
        if temp is not None:
            with suppress(OSError):
                os.unlink(temp)
        raise SnapshotError(f"{shown}: cannot write the snapshot ({exc.strerror or exc})") from None


def write_changed(path: str | os.PathLike[str], snapshot: Snapshot, shown: str) -> str:
    """Write the snapshot unless the file holds it already: `written`, or `unchanged`."""
    text = snapshot_text(snapshot)
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return "unchanged"
    except (OSError, UnicodeDecodeError):
        pass
    write_snapshot(path, text, shown)
    return "written"

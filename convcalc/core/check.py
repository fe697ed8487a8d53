"""`convcalc check`'s report: for each check of a budgets file, its --expect clauses, torch's verdict and
the snapshot's (what moved, within its tolerance or not), or the error that stopped it. Standard library
only; the CLI's runner builds it, render/check.py writes it.

A check passes when every clause holds, torch agrees with every figure it checked, and no figure moved
from the snapshot by more than its tolerance. Exit code: 2 if a check could not run (an error), else 1 if
one failed, else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .budgets import Budgets, CheckSpec
from .results import SCHEMA_VERSION, Expectation
from .snapshot import Entry, Move, Snapshot, compare_figures, figure_json

PASS, FAIL, ERROR = "pass", "fail", "error"
# Where a check stands with the snapshot: none kept, not in it yet, compared with it, or (--update)
# written into it, or kept in it as it was (the check could not run).
NO_SNAPSHOT, NEW, COMPARED, RECORDED, KEPT = "none", "new", "compared", "recorded", "kept"


@dataclass(frozen=True)
class CheckResult:
    """One check: what it ran, and each of its verdicts."""

    name: str
    run: str  # the command line as the file writes it
    command: str  # conv, compare, stack or model
    seconds: float = 0.0
    expectations: tuple[Expectation, ...] = ()
    mismatches: tuple[str, ...] = ()  # each figure torch disagreed with, as a line
    verified: bool = False  # torch checked the figures (not --no-verify, nor skipped)
    verification: str = ""  # how torch checked them, or why it did not
    figures: dict[str, Any] = field(default_factory=dict)  # every figure, as --expect names them
    snapshot: str = NO_SNAPSHOT
    moves: tuple[Move, ...] = ()  # figures that are not what the snapshot holds
    added: tuple[str, ...] = ()  # figures the snapshot does not hold
    gone: tuple[str, ...] = ()  # figures the snapshot holds that the check no longer gives
    notes: tuple[str, ...] = ()
    error: str | None = None  # why the check could not run, in one line
    traceback: str | None = None  # for an error convcalc did not raise on purpose
    reused: str | None = None  # the check whose report this one shares (the same command line)

    @property
    def beyond(self) -> tuple[Move, ...]:
        """Moves that fail the check: beyond their tolerance, unless the snapshot was just written."""
        return () if self.snapshot == RECORDED else tuple(m for m in self.moves if not m.within)

    @property
    def status(self) -> str:
        if self.error is not None:
            return ERROR
        failed = self.mismatches or self.beyond or not all(e.ok for e in self.expectations)
        return FAIL if failed else PASS

    @property
    def ok(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "run": self.run,
            "command": self.command,
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "expectations": [e.to_dict() for e in self.expectations],
            "verified": self.verified,
            "verification": self.verification,
            "mismatches": list(self.mismatches),
            "snapshot": self.snapshot,
            "moves": [m.to_dict() for m in self.moves],
            "added": list(self.added),
            "gone": list(self.gone),
            "notes": list(self.notes),
            "error": self.error,
            "traceback": self.traceback,
            "reused": self.reused,
            "figures": {key: figure_json(value) for key, value in self.figures.items()},
        }


@dataclass(frozen=True)
class CheckReport:
    """A run of a budgets file's checks (all, or those chosen)."""

    config: str  # the budgets file, as messages name it
    results: tuple[CheckResult, ...]
    snapshot: str | None = None  # the snapshot file, as shown; None: no regression gate
    snapshot_state: str = "absent"  # absent, compared, written, unchanged (--update), or none
    convcalc_version: str = ""
    torch_version: str | None = None
    snapshot_versions: tuple[str, str | None] | None = None  # convcalc's and torch's, that wrote it
    notes: tuple[str, ...] = ()
    started: str = ""  # ISO 8601, local time with its offset
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        return 2 if ERROR in statuses else 1 if FAIL in statuses else 0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        written = self.snapshot_versions
        return {
            "schema_version": SCHEMA_VERSION,
            "config": self.config,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "summary": {
                "checks": len(self.results),
                "passed": self.count(PASS),
                "failed": self.count(FAIL),
                "errors": self.count(ERROR),
            },
            "snapshot": {
                "path": self.snapshot,
                "state": self.snapshot_state,
                "written_by": None if written is None else {"convcalc": written[0], "torch": written[1]},
            },
            "convcalc_version": self.convcalc_version,
            "torch_version": self.torch_version,
            "started": self.started,
            "seconds": round(self.seconds, 6),
            "notes": list(self.notes),
            "checks": [r.to_dict() for r in self.results],
        }


def judged(
    result: CheckResult, spec: CheckSpec, budgets: Budgets, old: Snapshot | None, update: bool, path: Any
) -> CheckResult:
    """The result held to the snapshot (old; path None where none is kept): what moved, and whether
    within its tolerance; with update, what the snapshot is to record."""
    entry = None if old is None else old.checks.get(spec.name)
    if result.error is not None:
        return replace(result, snapshot=KEPT) if update and entry else result
    if entry is None:
        if update and path is not None:
            return replace(result, snapshot=RECORDED)
        return replace(result, snapshot=NEW) if old is not None else result
    moves, added, gone = compare_figures(
        entry.figures, result.figures, lambda k: budgets.tolerance_for(spec, k)
    )
    changed = ("its command line has changed since the snapshot",) if entry.run != spec.run else ()
    return replace(
        result,
        snapshot=RECORDED if update else COMPARED,
        moves=tuple(moves),
        added=tuple(added),
        gone=tuple(gone),
        notes=result.notes + changed,
    )


def updated(
    budgets: Budgets,
    results: list[CheckResult],
    old: Snapshot | None,
    filtered: bool,
    versions: tuple[str, str | None],
) -> Snapshot:
    """The snapshot --update writes: each check that ran, afresh; one that could not, as it was; with
    checks chosen (by name or -k), every other entry as it was. versions: convcalc's and torch's."""
    ran = {r.name: r for r in results}
    previous = old.checks if old is not None else {}
    entries = {}
    for spec in budgets.checks:
        result = ran.get(spec.name)
        if result is not None and result.error is None:
            entries[spec.name] = Entry(spec.run, result.figures)
        elif spec.name in previous and (result is not None or filtered):
            entries[spec.name] = previous[spec.name]
    if filtered:
        for name, entry in previous.items():
            entries.setdefault(name, entry)
    return Snapshot(versions[0], versions[1], entries)


def snapshot_notes(
    old: Snapshot | None,
    shown: str | None,
    budgets: Budgets,
    chosen: int,
    update: bool,
    versions: tuple[str, str | None],
    state: str,
) -> list[str]:
    """What the run says about the snapshot: none yet, written, or taken by other versions, or holding
    checks the file no longer has (said only when every check ran)."""
    if shown is None:
        return []
    if state == "absent":
        return [f"no snapshot yet: convcalc check --update records every figure in {shown}"]
    notes = {"written": [f"snapshot written: {shown}"], "unchanged": [f"snapshot unchanged: {shown}"]}
    said = notes.get(state, [])
    if old is None or update:
        return said
    for tool, then, now in (("torch", old.torch, versions[1]), ("convcalc", old.convcalc, versions[0])):
        if then != now:
            said.append(
                f"the snapshot was taken with {tool} {then}, this is {tool} {now}: compared all the same"
            )
    stale = [name for name in old.checks if name not in {c.name for c in budgets.checks}]
    if stale and chosen == len(budgets.checks):
        said.append(
            f"the snapshot holds checks the file no longer has ({', '.join(stale)}); --update drops them"
        )
    return said

"""Runs a budgets file's checks in one process: `convcalc check`, and check_report() from Python.

Each check's line is read by its command's own definition (the Typer function: every option means what
it means in a shell) into an Outcome, its options checked and its work not yet done. Every check is read,
and every --expect clause checked against the figures its command gives, before any check runs. Then
each runs: torch imported once, by the first that needs it; a command line that two checks share (two
budgets on one model) made once. A check that raises is an error of its own, and the others still run.

check_report() lives here rather than in api.py: a check is a command line, read by the commands, which
call api.py; api.py calling them back would close an import circle.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import typer

from ..core.budgets import Budgets, CheckSpec, find_budgets, load_budgets, parse_budgets
from ..core.check import CheckReport, CheckResult, judged, snapshot_notes, updated
from ..core.compare import CompareReport
from ..core.errors import BudgetError, ConvCalcError, printable, term
from ..core.expect import ALIASES, check_expectations, parse_clause, split_clause
from ..core.network import ROW_BACKWARD, ROW_FIGURES, TOTALS
from ..core.results import TRAINING_FIGURES
from ..core.snapshot import check_writable, read_for, write_changed
from ..render.lines import mismatch_lines, verification_line
from ..version import __version__
from . import words
from .command import ClickException
from .output import Outcome

# Options a check may not use, and why: a check's figures are counts, the same on every run.
REFUSED = {
    "bench": "--bench is refused in a check: timings are not budgets (time a layer apart, with --bench)",
    "peak_tflops": "--peak-tflops is --bench's, and --bench is refused in a check: timings are not budgets",
    "peak_gbps": "--peak-gbps is --bench's, and --bench is refused in a check: timings are not budgets",
    "plot": "--plot is refused in a check: a check draws nothing (draw it apart, with compare --plot)",
}
# Options that say how a report is written, not what it holds: a check writes none of them.
WRITING = ("fmt", "columns", "depth", "explain")


@dataclass(frozen=True)
class _Plan:
    """A check read: what its command will make, the clauses to hold it to, and what makes it the same
    work as another check's (its command and every option but those)."""

    spec: CheckSpec
    outcome: Outcome
    clauses: tuple[str, ...]
    key: str
    draft: Any = None  # the report already made without torch, where the check asks for none (or its bug)
    draft_seconds: float = 0.0  # what making it took


def check_report(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
    *,
    pattern: str | None = None,
    snapshot: str | os.PathLike[str] | None = None,
    update: bool = False,
) -> CheckReport:
    """Run the checks of a budgets file and judge each: its --expect clauses, torch's check of its
    figures, and (where the file keeps a snapshot) how far each figure moved from it.

    config is a pyproject.toml with [tool.convcalc] or a convcalc.toml, or the table itself as a dict;
    None finds the nearest one upward from the current directory. names and pattern (a glob, or a part of
    a name) choose checks; none runs them all. snapshot replaces the file's; update writes it (every
    figure of every check that ran) instead of holding the checks to it. Nothing is printed: render()
    writes the report, whose exit_code is the command line's. A file, a check or a snapshot that cannot
    be used raises BudgetError or SnapshotError (both ConvCalcError, ValueError) before any check runs.
    """
    started = datetime.now().astimezone()
    clock = time.perf_counter()
    budgets = _budgets(config)
    chosen = budgets.select([names] if isinstance(names, str) else names or (), pattern)
    path = os.path.abspath(snapshot) if snapshot is not None else budgets.snapshot
    shown = None if path is None else _shown(path)
    with _inside(budgets.home):
        plans = [_read(budgets, spec) for spec in chosen]  # every check read before any runs
        if update and path is not None:
            check_writable(path, shown)
        old, notes = read_for(path, shown, update)
        made: dict[str, tuple[str, Any]] = {}
        results = [judged(_run(plan, made), plan.spec, budgets, old, update, path) for plan in plans]
    versions = (__version__, _torch_version())
    state = "none" if path is None else "absent" if old is None else "compared"
    if update and path is not None:
        fresh = updated(budgets, results, old, bool(names) or pattern is not None, versions)
        state = write_changed(path, fresh, shown)
    notes += snapshot_notes(old, shown, budgets, len(chosen), update, versions, state)
    return CheckReport(
        config=budgets.path,
        results=tuple(results),
        snapshot=shown,
        snapshot_state=state,
        convcalc_version=versions[0],
        torch_version=versions[1],
        snapshot_versions=None if old is None else (old.convcalc, old.torch),
        notes=tuple(notes),
        started=started.isoformat(timespec="seconds"),
        seconds=time.perf_counter() - clock,
    )


@contextmanager
def _inside(directory: str | None) -> Iterator[None]:
    """Run in directory (None: where we are), then leave the process as it was: its directory, and
    Python's limit on the digits of an integer's text, which the commands lift (options.no_digit_limit)."""
    back = os.getcwd()
    digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    if directory is not None:
        os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(back)
        if digits is not None:
            sys.set_int_max_str_digits(digits)


def _budgets(config: Any) -> Budgets:
    if isinstance(config, Mapping):
        tool = config.get("tool")
        if "checks" not in config and isinstance(tool, Mapping) and "convcalc" in tool:
            config = tool["convcalc"]  # a whole pyproject.toml, as tomllib reads it
        return parse_budgets(config, "the budgets given", "the table")
    if config is not None:
        return load_budgets(config, os.fspath(config))
    found = find_budgets(Path.cwd())
    if found is None:
        raise BudgetError(
            "no budgets file: no convcalc.toml, nor a pyproject.toml with [tool.convcalc], here or in a "
            f"directory above; write one, or name it with {term('config')} FILE"
        )
    return load_budgets(found, _shown(found))


def _shown(path: str | os.PathLike[str]) -> str:
    """A path as messages name it: relative to the current directory where that is shorter."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return os.fspath(path)
    return relative if len(relative) < len(os.fspath(Path(path).resolve())) else os.fspath(path)


def _read(budgets: Budgets, spec: CheckSpec) -> _Plan:
    """A check's line read by its command; its clauses held to the figures the command gives (made
    without torch, or for a model from the names a model's figures take). BudgetError if it cannot run."""
    try:
        params, outcome_of = _parse(spec)
        for name, why in REFUSED.items():
            if params.get(name) is not None and params.get(name) is not False:  # given, even as 0
                raise ConvCalcError(why)
        clauses = tuple(params.get("expect") or ())
        outcome = outcome_of({**params, "expect": None})
        draft, clock = None, time.perf_counter()
        if spec.command == "model":
            from ..measure.target import check_target  # no torch: the target's form, and its file

            check_target(params["target"])
            _model_clauses(clauses, bool(params.get("backward")))
        else:
            verify = params.get("verify", False)
            draft = _draft(outcome_of({**params, "expect": None, "verify": False}) if verify else outcome)
            if not isinstance(draft, Exception):
                check_expectations(draft.figures(), list(clauses))
                _tolerances_named(spec, draft.figures())
            draft = None if verify and not isinstance(draft, Exception) else draft
    except (ConvCalcError, ClickException) as exc:
        raise BudgetError(f"{budgets.where(spec.name)}: {_message(exc)}") from None
    kept = sorted((k, repr(v)) for k, v in params.items() if k not in ("expect", *WRITING))
    return _Plan(spec, outcome, clauses, repr((spec.command, kept)), draft, time.perf_counter() - clock)


def _draft(outcome: Outcome) -> Any:
    """The report made without torch; an exception convcalc did not raise on purpose (a bug) is kept, to
    be the check's error when it runs, so that the other checks run all the same."""
    try:
        return outcome.make()
    except (ConvCalcError, ClickException):
        raise
    except Exception as exc:
        return exc


def _parse(spec: CheckSpec) -> tuple[dict[str, Any], Callable[[dict[str, Any]], Outcome]]:
    """The check's options as its command reads them, and how to call the command with options."""
    args = list(spec.argv[1:])
    if any(arg in ("-h", "--help") for arg in args):
        flag = next(a for a in args if a in ("-h", "--help"))
        raise ConvCalcError(f"{flag} shows a command's help, and a check runs the command: drop {flag}")
    command = typer.main.get_command(_command_app(spec.command))
    context = command.make_context(spec.command, args, help_option_names=[])

    def outcome_of(params: dict[str, Any]) -> Outcome:
        with context:
            return context.invoke(command.callback, **params)

    return dict(context.params), outcome_of


def _command_app(name: str) -> Any:
    """The Typer app of a command a check runs (budgets.CHECKED), imported when a check first needs it."""
    if name == "conv":
        from . import conv as module
    elif name == "compare":
        from . import compare as module
    elif name == "stack":
        from . import stack as module
    else:
        from . import model as module
    return module.command


def _model_clauses(clauses: tuple[str, ...], backward: bool) -> None:
    """A model's clauses read before it is built: the totals' names, and `layer.figure` for any layer
    (its layers are known once it is traced, when an unknown one is that check's error)."""
    shaped = ("output_shape", "receptive_field", "jump")
    figures: dict[str, Any] = {k: (1,) if k in shaped else 0 for k in TOTALS}
    figures |= {k: 0 for k in TRAINING_FIGURES} if backward else {}
    per_layer = set(ROW_FIGURES) | (set(ROW_BACKWARD) if backward else set())
    for clause in clauses:
        layer, dot, figure = split_clause(clause)[0].rpartition(".")
        figure = ALIASES.get(figure.lower(), figure.lower())
        if dot and figure in per_layer:
            figures[f"{layer}.{figure}"] = (1,) if figure in shaped else 0
        parse_clause(clause, figures)


def _tolerances_named(spec: CheckSpec, figures: Iterable[str]) -> None:
    unmatched = spec.tolerance.unmatched(figures)
    if unmatched:
        raise ConvCalcError(f"tolerance {unmatched[0]!r} names no figure of this check")


def _message(exc: BaseException) -> str:
    if isinstance(exc, ConvCalcError):
        text = words.message(exc)  # a check is a command line: its settings named as its options
    elif isinstance(exc, ClickException):
        text = exc.format_message()
    else:
        text = f"{type(exc).__name__}: {exc}"
    return printable(" ".join(text.split()))


def _run(plan: _Plan, made: dict[str, tuple[str, Any]]) -> CheckResult:
    """Run one check: its report made (or taken from a check with the same command line), its clauses
    held to it. Any exception is this check's error; the next check runs all the same."""
    spec, start = plan.spec, time.perf_counter() - (plan.draft_seconds if plan.draft is not None else 0)
    base = CheckResult(spec.name, spec.run, spec.command)
    reused = made[plan.key][0] if plan.key in made else None
    try:
        if reused is None:
            made[plan.key] = (spec.name, _made(plan))
        report = made[plan.key][1]
        if isinstance(report, BaseException):
            raise report
        figures = report.figures()
        report = replace(report, expectations=check_expectations(figures, list(plan.clauses)))
        _tolerances_named(spec, figures)
    except Exception as exc:  # one check's failure, whatever it is, is reported; the others run
        unexpected = not isinstance(exc, ConvCalcError | ClickException)
        return replace(
            base,
            seconds=time.perf_counter() - start,
            error=_message(exc),
            traceback="".join(traceback.format_exception(exc)) if unexpected else None,
            reused=reused,
        )
    return replace(
        base,
        seconds=time.perf_counter() - start,
        expectations=report.expectations,
        mismatches=tuple(mismatch_lines(report)),
        verified=_verified(report),
        verification=verification_line(report),
        figures=figures,
        reused=reused,
        notes=(f"the same command line as {reused!r}: its report reused",) if reused else (),
    )


def _made(plan: _Plan) -> Any:
    """The check's report, or what it raised (kept, so that a check sharing the line says the same)."""
    if plan.draft is not None:
        return plan.draft
    try:
        return plan.outcome.make()
    except Exception as exc:
        return exc


def _verified(report: Any) -> bool:
    """Whether torch checked the figures (not --no-verify, nor skipped as beyond its reach)."""
    if isinstance(report, CompareReport):
        return any(r.verification and r.verification.mode != "skipped" for r in report.rows)
    return report.verification is not None and report.verification.mode != "skipped"


def _torch_version() -> str | None:
    """torch's version as installed, read without importing torch."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None

"""Turn a CheckReport (convcalc check) into text: a table of checks for people, JSON for programs, JUnit
XML for a CI's test view (GitHub, GitLab, Jenkins) and Markdown for a job summary or a pull-request
comment. Returns strings and never prints.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any

from ..core.check import COMPARED, ERROR, FAIL, KEPT, NEW, PASS, RECORDED, CheckReport, CheckResult
from ..core.errors import FormatError
from ..core.snapshot import Move
from .cells import BYTES, SECONDS, SI, TEXT, seconds, shape_text, text
from .lines import expectation_lines, to_json, unmet_lines
from .sheet import Column, Sheet, md_row, write

CHECK_FORMATS = ("table", "json", "junit", "markdown")
MOVES_SHOWN = 10  # moved figures listed per check in a table or Markdown; JSON and JUnit hold them all
_VERDICT = {PASS: "pass", FAIL: "FAIL", ERROR: "ERROR"}


def render_check(
    report: CheckReport,
    fmt: str = "table",
    *,
    width: int | None = 100,
    color: bool = False,
    ascii_only: bool = False,
) -> str:
    """A check_report() in one of CHECK_FORMATS."""
    if fmt not in CHECK_FORMATS:
        raise FormatError(f"format {fmt!r}: convcalc check writes {', '.join(CHECK_FORMATS)}")
    if fmt == "json":
        return to_json(report.to_dict(), ascii_only)
    if fmt == "junit":
        return junit(report)
    if fmt == "markdown":
        return markdown(report)
    return write(check_sheet(report), "table", width=width, color=color, ascii_only=ascii_only)


def summary(report: CheckReport) -> str:
    """`5 checks: 4 passed, 1 failed`, with errors when there are any."""
    n = len(report.results)
    parts = [f"{report.count(PASS)} passed", f"{report.count(FAIL)} failed"]
    parts += [f"{report.count(ERROR)} could not run"] if report.count(ERROR) else []
    return f"{n} check{'s' if n != 1 else ''}: {', '.join(parts)}"


def check_sheet(report: CheckReport) -> Sheet:
    """One row per check: its command, its budgets, torch's verdict, the snapshot's, the verdict, the time."""
    columns = [
        Column("check", key="name"),
        Column("command", key="command"),
        Column("budgets", key="expectations"),
        Column("torch", "c", key="verified"),
        Column("snapshot", wrap=8, key="snapshot"),
        Column("verdict", "c", key="status"),
        Column("time", "r", key="seconds"),
    ]
    rows = [
        [
            (TEXT, r.name),
            (TEXT, r.command),
            (TEXT, _budgets(r)),
            (TEXT, _torch(r)),
            (TEXT, _snapshot(r)),
            (TEXT, _VERDICT[r.status]),
            (SECONDS, r.seconds),
        ]
        for r in report.results
    ]
    return Sheet(f"convcalc check: {report.config}", columns, rows, notes=details(report) + footer(report))


def _budgets(r: CheckResult) -> str:
    if r.error is not None or not r.expectations:
        return "-"
    return f"{sum(e.ok for e in r.expectations)} of {len(r.expectations)} met"


def _torch(r: CheckResult) -> str:
    if r.error is not None or not r.verified:
        return "-"
    return "DIFFERS" if r.mismatches else "ok"


def _snapshot(r: CheckResult) -> str:
    if r.error is not None:
        return "kept" if r.snapshot == KEPT else "-"
    if r.snapshot == NEW:
        return "new"
    if r.snapshot == RECORDED:
        return f"recorded, {len(r.moves)} moved" if r.moves else "recorded"
    if r.snapshot != COMPARED:
        return "-"
    beyond = len(r.beyond)
    if not r.moves:
        return "same"
    return f"{len(r.moves)} moved" + (f", {beyond} beyond tolerance" if beyond else ", within tolerance")


def details(report: CheckReport) -> list[str]:
    """What each check has to say beyond its row: problems first, then what moved, then notes."""
    lines = []
    for r in report.results:
        if r.error is not None:
            lines.append(f"{r.name}: error: {r.error}")
            continue
        lines += [f"{r.name}: {line}" for line in unmet_lines(r.expectations)]
        lines += [f"{r.name}: {line}" for line in r.mismatches]
        shown = sorted(r.moves, key=lambda m: m.within)[:MOVES_SHOWN]  # those that fail first
        lines += [move_line(r, m) for m in shown]
        if len(r.moves) > len(shown):
            lines.append(
                f"{r.name}: {len(r.moves) - len(shown)} more figures moved (-f json lists every one)"
            )
        lines += [f"{r.name}: {note}" for note in _snapshot_notes(r) + list(r.notes)]
    return lines


def failure_lines(report: CheckReport) -> list[str]:
    """One line per reason a check failed or could not run, named by the check (for stderr, beside a
    format for programs); at most MOVES_SHOWN moved figures a check."""
    lines = []
    for r in report.results:
        if r.error is not None:
            lines.append(f"{r.name}: error: {r.error}")
        lines += [f"{r.name}: {line}" for line in [*unmet_lines(r.expectations), *r.mismatches]]
        lines += [move_line(r, m) for m in r.beyond[:MOVES_SHOWN]]
        if len(r.beyond) > MOVES_SHOWN:
            lines.append(f"{r.name}: {len(r.beyond) - MOVES_SHOWN} more figures moved beyond their tolerance")
    return lines


def _snapshot_notes(r: CheckResult) -> list[str]:
    notes = []
    if r.snapshot == NEW:
        notes.append("not in the snapshot yet: convcalc check --update records it")
    if r.added and r.snapshot == COMPARED:
        notes.append(f"{_count(r.added)} not in the snapshot ({_few(r.added)}): --update records them")
    if r.gone and r.snapshot == COMPARED:
        notes.append(f"{_count(r.gone)} in the snapshot that it no longer gives ({_few(r.gone)})")
    return notes


def _count(keys: tuple[str, ...]) -> str:
    return f"{len(keys)} figure{'s' if len(keys) != 1 else ''}"


def _few(keys: tuple[str, ...]) -> str:
    return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")


def footer(report: CheckReport) -> list[str]:
    """The run as a whole: the verdict in words, then where the snapshot stands."""
    versions = f"torch {report.torch_version or 'not installed'}, convcalc {report.convcalc_version}"
    return [f"{summary(report)} in {seconds(report.seconds)} ({versions})", *report.notes]


def move_line(r: CheckResult, move: Move) -> str:
    """`backbone.macs 4.09G -> 4.33G (+5.9%): beyond the tolerance (0)`."""
    old, new = _values(move)
    change = _change(move)
    verdict = (
        "recorded"
        if r.snapshot == RECORDED
        else f"{'within' if move.within else 'beyond'} the tolerance ({move.tolerance})"
    )
    return f"{r.name}.{move.key} {old} -> {new}{f' ({change})' if change else ''}: {verdict}"


def _values(move: Move) -> tuple[str, str]:
    """Both values short (4.09G), unless short they read the same; then in full (4,089,184,256)."""
    pair = (move.old, move.new)
    if any(isinstance(v, tuple) for v in pair):
        return tuple(shape_text(v) if isinstance(v, tuple) else str(v) for v in pair)  # type: ignore[return-value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        return tuple(f"{v:.6g}" if isinstance(v, float) else str(v) for v in pair)  # type: ignore[return-value]
    kind = BYTES if move.key.endswith("bytes") else SI
    short = tuple(text(kind, v) for v in pair)
    if short[0] != short[1]:
        return short  # type: ignore[return-value]
    return tuple(f"{v:,}" + (" B" if kind == BYTES else "") for v in pair)  # type: ignore[return-value]


def _change(move: Move) -> str:
    """+5.9%; a change too small for one decimal with as many as it needs (+0.0000063%)."""
    change = move.change
    if change is None:
        return "from 0" if move.old == 0 and isinstance(move.new, int | float) else ""
    percent = 100 * change
    if percent == 0 or abs(percent) >= 0.1:
        return f"{percent:+.1f}%"
    digits = -math.floor(math.log10(abs(percent))) + 1
    return f"{percent:+.{digits}f}%"


def markdown(report: CheckReport) -> str:
    """A summary for $GITHUB_STEP_SUMMARY or a pull-request comment: the verdict, the table of checks,
    and what each check had to say in a code block (no Markdown inside it to escape)."""
    sheet = check_sheet(report)
    align = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        f"### {'✅' if report.ok else '❌'} convcalc check: {summary(report).partition(': ')[2]}",
        "",
        md_row([c.title for c in sheet.columns]),
        md_row([align[c.align] for c in sheet.columns]),
    ]
    lines += [md_row([text(kind, value) for kind, value in row]) for row in sheet.rows]
    said = details(report)
    if said:
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", "\n".join(said))), default=0))
        lines += ["", fence + "text", *said, fence]
    lines += ["", *(f"<sub>{_html(line)}</sub><br>" for line in footer(report))]
    return "\n".join(lines) + "\n"


def _html(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Characters XML 1.0 cannot carry at all, even escaped: a user's message may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(value: Any) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def junit(report: CheckReport) -> str:
    """JUnit XML, as pytest writes it: one <testsuite> of one <testcase> per check; a check that failed
    has a <failure>, one that could not run an <error>; each says what it ran and found in <system-out>."""
    counts = {
        "tests": len(report.results),
        "failures": report.count(FAIL),
        "errors": report.count(ERROR),
        "skipped": 0,
        "time": f"{report.seconds:.3f}",
    }
    suites = ET.Element("testsuites", {"name": "convcalc check", **{k: str(v) for k, v in counts.items()}})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {"name": "convcalc check", **{k: str(v) for k, v in counts.items()}, "timestamp": report.started},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("config", report.config),
        ("snapshot", report.snapshot or ""),
        ("torch", report.torch_version or ""),
        ("convcalc", report.convcalc_version),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _xml(value)})
    for r in report.results:
        _testcase(suite, r, report.config)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, r: CheckResult, config: str) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": "convcalc.check",
            "name": _xml(r.name),
            "time": f"{r.seconds:.3f}",
            "file": _xml(config),
        },
    )
    if r.status == ERROR:
        kind = "error" if r.traceback else "invalid"
        error = ET.SubElement(case, "error", {"message": _xml(r.error), "type": kind})
        error.text = _xml(r.traceback or r.error)
    elif r.status == FAIL:
        problems = [*unmet_lines(r.expectations), *r.mismatches, *(move_line(r, m) for m in r.beyond)]
        failure = ET.SubElement(case, "failure", {"message": _xml(problems[0]), "type": "budget"})
        failure.text = _xml("\n".join(problems))
    said = [
        f"convcalc {r.run}",
        *([r.verification] if r.verification else []),
        *expectation_lines(r.expectations),
        *(move_line(r, m) for m in r.moves),
        *_snapshot_notes(r),
        *r.notes,
    ]
    ET.SubElement(case, "system-out").text = _xml("\n".join(said))

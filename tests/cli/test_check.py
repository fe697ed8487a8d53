"""`convcalc check`: a budgets file's checks in one process. Every output format, the snapshot's round
trip and its tolerance, a check that raises beside checks that pass, bad input as one line and exit 2,
torch imported once (counted), the pre-commit hook's entry in a git repository, and the CI workflows of
docs/ci.md run as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from convcalc import BudgetError, CheckReport, FormatError, SnapshotError, check_report, render

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # where this environment's `convcalc` is
# A small model on the meta device, fast; it counts its module's runs and its builds in files beside it.
MODEL = """
from collections import OrderedDict
from pathlib import Path

import torch.nn as nn

HERE = Path(__file__).parent
with open(HERE / "imported.log", "a") as log:
    log.write("x")


def build():
    with open(HERE / "built.log", "a") as log:
        log.write("x")
    layers = [("conv0", nn.Conv2d(3, 8, 3, padding=1)), ("relu", nn.ReLU()), ("conv2", nn.Conv2d(8, 4, 1))]
    return nn.Sequential(OrderedDict(layers))


def broken():
    raise RuntimeError("no weights here")
"""
CHECKS = """
[checks]
stem = "conv 3 32 3 -s 2 -p 1 --no-bias --no-verify --expect params=864"
block = "compare 6 12 3 -i 8 --no-bias --no-verify --expect 'dwsep.params<=126'"
tiny = "stack 'conv out=8 kernel=3; relu' -i 3x16x16 --no-verify --expect 'macs<=50K'"
net = "model net.py:build -i 3x8x8 --expect 'macs<=20K' --expect conv0.params=224"
"""


def project(tmp_path: Path, checks: str = CHECKS, monkeypatch=None) -> Path:
    """A project with a budgets file and a model file; the current directory when monkeypatch is given."""
    (tmp_path / "convcalc.toml").write_text(textwrap.dedent(checks))
    (tmp_path / "net.py").write_text(MODEL)
    if monkeypatch is not None:
        monkeypatch.chdir(tmp_path)
    return tmp_path


def lock(path: Path) -> dict:
    return json.loads((path / "convcalc.lock.json").read_text())


# --- the formats


def test_the_table_names_every_check_and_its_verdict(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    result = run("check")
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert list(rows) == ["stem", "block", "tiny", "net"]
    assert all(" pass " in rows[name] for name in ("stem", "block", "tiny", "net"))
    assert "1 of 1 met" in rows["stem"] and "2 of 2 met" in rows["net"]
    assert " ok " in rows["net"] and " - " in rows["stem"]  # torch ran for the model, not for --no-verify
    assert "4 checks: 4 passed, 0 failed in " in result.stdout
    assert (
        "no snapshot yet: convcalc check --update records every figure in convcalc.lock.json" in result.stdout
    )
    assert result.stderr == ""


def test_json_holds_every_check_and_figure(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    data = json.loads(run("check -f json").stdout)
    assert data["ok"] is True and data["exit_code"] == 0
    assert data["summary"] == {"checks": 4, "passed": 4, "failed": 0, "errors": 0}
    assert data["config"] == "convcalc.toml"
    assert data["snapshot"] == {"path": "convcalc.lock.json", "state": "absent", "written_by": None}
    stem = data["checks"][0]
    assert (stem["name"], stem["command"], stem["status"]) == ("stem", "conv", "pass")
    assert stem["expectations"] == [
        {"key": "params", "op": "=", "expected": "864", "actual": 864, "ok": True}
    ]
    assert stem["figures"]["output_shape"] == [1, 32, 112, 112]
    assert stem["figures"]["macs"] == 864 * 112 * 112
    net = data["checks"][3]
    assert net["verified"] is True and net["figures"]["conv0.params"] == 3 * 8 * 9 + 8
    assert net["figures"]["macs"] == 8 * 8 * (3 * 8 * 9 + 8 * 4)


def test_junit_is_xml_a_ci_reads(run, tmp_path, monkeypatch):
    project(
        tmp_path,
        CHECKS
        + "fails = \"conv 3 32 3 --no-verify --expect params=1 --expect 'macs<1K'\"\n"
        + 'broken = "model net.py:broken -i 3x8x8"\n',
        monkeypatch,
    )
    result = run("check -f junit")
    assert result.exit_code == 2  # one check could not run
    suites = ET.fromstring(result.stdout)
    assert suites.tag == "testsuites"
    (suite,) = suites.findall("testsuite")
    for element in (suites, suite):
        assert {k: element.get(k) for k in ("tests", "failures", "errors")} == {
            "tests": "6",
            "failures": "1",
            "errors": "1",
        }
        assert float(element.get("time")) > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", suite.get("timestamp"))
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["config"] == "convcalc.toml" and properties["torch"]
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["stem", "block", "tiny", "net", "fails", "broken"]
    assert all(case.get("classname") == "convcalc.check" for case in cases.values())
    assert cases["stem"].find("failure") is None and cases["stem"].find("error") is None
    assert "convcalc conv 3 32 3 -s 2" in cases["stem"].find("system-out").text
    failure = cases["fails"].find("failure")
    assert failure.get("message") == "expectation not met: params=1, actual 896"
    assert "expectation not met: macs<1K, actual 42,581,376" in failure.text
    error = cases["broken"].find("error")
    assert "TARGET: net.py:broken() raised RuntimeError: no weights here" in error.get("message")
    # and on stderr, a line each for the log
    assert "convcalc: fails: expectation not met: params=1, actual 896" in result.stderr
    assert "convcalc: broken: error: TARGET: net.py:broken() raised" in result.stderr


def test_markdown_is_a_summary_for_a_pull_request(run, tmp_path, monkeypatch):
    project(tmp_path, CHECKS + 'fails = "conv 3 32 3 --no-verify --expect params=1"\n', monkeypatch)
    result = run("check -f markdown")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "### ❌ convcalc check: 4 passed, 1 failed"
    assert lines[2] == "| check | command | budgets | torch | snapshot | verdict | time |"
    assert lines[3] == "| --- | --- | --- | :---: | --- | :---: | ---: |"
    assert lines[8].startswith("| fails | conv | 0 of 1 met | - | - | FAIL | ")
    block = result.stdout.split("```text\n")[1].split("```")[0]
    assert block == "fails: expectation not met: params=1, actual 896\n"
    assert "<sub>5 checks: 4 passed, 1 failed in " in result.stdout


def test_summary_appends_the_markdown_to_a_file(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    assert run("check stem --summary summary.md").exit_code == 0
    assert run("check tiny --summary summary.md -f json").exit_code == 0
    text = summary.read_text()
    assert text.startswith("# earlier step\n### ✅ convcalc check: 1 passed, 0 failed\n")
    assert text.count("### ✅ convcalc check") == 2 and "| tiny | stack |" in text


# --- the snapshot: written, compared, moved within or beyond its tolerance


def test_the_snapshot_round_trip(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    written = run("check --update")
    assert written.exit_code == 0, written.output
    assert "snapshot written: convcalc.lock.json" in written.stdout
    data = lock(tmp_path)
    assert list(data["checks"]) == ["stem", "block", "tiny", "net"]
    assert data["checks"]["stem"]["figures"]["params"] == 864
    assert data["checks"]["net"]["figures"]["conv0.macs"] == 8 * 8 * 3 * 8 * 9
    assert data["written_by"]["convcalc"]
    again = run("check")
    assert again.exit_code == 0
    assert again.stdout.count(" same ") == 4
    assert "snapshot unchanged" in run("check --update").stdout

    toml = tmp_path / "convcalc.toml"
    toml.write_text(
        toml.read_text().replace(
            "conv 3 32 3 -s 2 -p 1 --no-bias --no-verify --expect params=864",
            "conv 3 33 3 -s 2 -p 1 --no-bias --no-verify",
        )
    )
    moved = run("check")
    assert moved.exit_code == 1
    assert "stem.params 864 -> 891 (+3.1%): beyond the tolerance (0)" in moved.stdout
    assert "stem.macs 10.8M -> 11.2M (+3.1%): beyond the tolerance (0)" in moved.stdout
    assert "stem.output_shape 1x32x112x112 -> 1x33x112x112: beyond the tolerance (0)" in moved.stdout
    assert "stem: its command line has changed since the snapshot" in moved.stdout
    assert "9 moved, 9 beyond tolerance" in moved.stdout
    recorded = run("check stem --update")
    assert recorded.exit_code == 0
    assert "stem.params 864 -> 891 (+3.1%): recorded" in recorded.stdout
    assert lock(tmp_path)["checks"]["stem"]["figures"]["params"] == 891
    assert run("check").exit_code == 0


@pytest.mark.parametrize(
    ("tolerance", "code", "verdict"),
    [
        ('"25%"', 0, "within the tolerance (25%)"),  # 1,152 -> 1,440 is +25% exactly: it passes
        ('"24.9%"', 1, "beyond the tolerance (24.9%)"),
        ('{ params = "288", "*" = "any" }', 0, "within the tolerance (288)"),  # +288 exactly
        ('{ params = "287", "*" = "any" }', 1, "beyond the tolerance (287)"),
        ('{ "*" = "24.9%", params = "any" }', 1, "recorded"),
    ],
)
def test_a_figure_exactly_at_its_tolerance_passes(run, tmp_path, monkeypatch, tolerance, code, verdict):
    project(tmp_path, '[checks]\nstem = "conv 4 32 3 -s 2 -p 1 --no-bias --no-verify"\n', monkeypatch)
    assert run("check --update").exit_code == 0
    run_line = "conv 5 32 3 -s 2 -p 1 --no-bias --no-verify"
    (tmp_path / "convcalc.toml").write_text(
        f'[checks]\nstem = {{ run = "{run_line}", tolerance = {tolerance} }}\n'
    )
    result = run("check")
    assert result.exit_code == code, result.stdout
    if verdict == "recorded":  # params any, the rest 24.9%: macs fails
        assert "stem.params 1.15K -> 1.44K (+25.0%): within the tolerance (any)" in result.stdout
        assert "stem.macs 14.5M -> 18.1M (+25.0%): beyond the tolerance (24.9%)" in result.stdout
    else:
        assert f"stem.params 1.15K -> 1.44K (+25.0%): {verdict}" in result.stdout


def test_a_shape_moves_or_it_does_not(run, tmp_path, monkeypatch):
    project(tmp_path, '[checks]\nstem = "conv 3 32 3 -s 2 -p 1 --no-bias --no-verify"\n', monkeypatch)
    assert run("check --update").exit_code == 0
    (tmp_path / "convcalc.toml").write_text(
        '[checks]\nstem = { run = "conv 3 32 3 -p 1 --no-bias --no-verify", tolerance = "1000%" }\n'
    )
    result = run("check")
    assert result.exit_code == 1
    assert "stem.output_shape 1x32x112x112 -> 1x32x224x224: beyond the tolerance (1000%)" in result.stdout
    assert "stem.macs 10.8M -> 43.4M (+300.0%): within the tolerance (1000%)" in result.stdout


def test_update_keeps_what_it_did_not_run(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    assert run("check --update").exit_code == 0
    before = lock(tmp_path)["checks"]
    toml = tmp_path / "convcalc.toml"
    toml.write_text(toml.read_text().replace("net.py:build", "net.py:broken").replace("3 32 3", "3 16 3"))
    result = run("check --update tiny net -f json")
    assert result.exit_code == 2  # net could not run
    data = json.loads(result.stdout)
    assert [c["snapshot"] for c in data["checks"]] == ["recorded", "kept"]
    after = lock(tmp_path)["checks"]
    assert after["net"] == before["net"]  # could not run: kept as it was
    assert after["stem"] == before["stem"]  # not chosen: kept, though its line changed


def test_another_torch_version_is_compared_with_a_note(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    assert run("check --update").exit_code == 0
    path = tmp_path / "convcalc.lock.json"
    path.write_text(path.read_text().replace('"torch": "', '"torch": "1.0.0-was-'))
    result = run("check")
    assert result.exit_code == 0
    assert "the snapshot was taken with torch 1.0.0-was-" in result.stdout
    assert result.stdout.count(" same ") == 4


def test_a_check_the_snapshot_does_not_hold_is_new_and_passes(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    assert run("check stem --update").exit_code == 0
    result = run("check -f json")
    assert [c["snapshot"] for c in json.loads(result.stdout)["checks"]] == ["compared", "new", "new", "new"]
    assert result.exit_code == 0


def test_update_writes_a_conflicted_snapshot_afresh_but_never_a_foreign_file(run, tmp_path, monkeypatch):
    project(tmp_path, monkeypatch=monkeypatch)
    path = tmp_path / "convcalc.lock.json"
    path.write_text('{\n<<<<<<< HEAD\n  "format": "convcalc-snapshot",\n=======\n>>>>>>> other\n')
    refused = run("check")
    assert refused.exit_code == 2 and "it holds a merge conflict" in refused.stderr
    result = run("check --update")
    assert result.exit_code == 0
    assert "the old snapshot could not be read" in result.stdout
    assert lock(tmp_path)["format"] == "convcalc-snapshot"
    path.write_text('{"lockfileVersion": 3}')
    foreign = run("check --update")
    assert foreign.exit_code == 2
    assert (
        foreign.stderr
        == 'convcalc: error: convcalc.lock.json: not a convcalc snapshot (no "format": "convcalc-snapshot")\n'
    )
    assert path.read_text() == '{"lockfileVersion": 3}'


# --- checks that raise, and the ones beside them


def test_a_check_that_raises_is_its_own_error_and_the_others_run(run, tmp_path, monkeypatch):
    import convcalc.cli.conv

    real = convcalc.cli.conv.conv_report

    def bug(spec, **kwargs):
        if spec.in_channels == 7:
            raise ZeroDivisionError("a bug in convcalc")
        return real(spec, **kwargs)

    monkeypatch.setattr(convcalc.cli.conv, "conv_report", bug)
    project(
        tmp_path,
        CHECKS + 'buggy = "conv 7 8 3 -i 8 --device meta"\nbroken = "model net.py:broken -i 3x8x8"\n',
        monkeypatch,
    )
    result = run("check -f json")
    assert result.exit_code == 2
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert [c["status"] for c in checks.values()] == ["pass"] * 4 + ["error"] * 2
    assert checks["buggy"]["error"] == "ZeroDivisionError: a bug in convcalc"
    assert "Traceback (most recent call last)" in checks["buggy"]["traceback"]
    assert checks["broken"]["error"] == "TARGET: net.py:broken() raised RuntimeError: no weights here"
    assert checks["broken"]["traceback"] is None  # convcalc's own error: its line says it all
    assert "Traceback" not in result.stderr


def test_a_shared_command_line_is_made_once(run, tmp_path, monkeypatch):
    project(
        tmp_path,
        """
        [checks]
        macs = "model net.py:build -i 3x8x8 --expect 'macs<=20K'"
        params = "convcalc model net.py:build -i 3x8x8 --expect 'params<1K' -f json --depth 1"
        bigger = "model net.py:build -i 3x16x16 --expect 'macs<=80K'"
        """,
        monkeypatch,
    )
    data = json.loads(run("check -f json").stdout)
    assert [c["reused"] for c in data["checks"]] == [None, "macs", None]
    assert [c["status"] for c in data["checks"]] == ["pass"] * 3
    assert (tmp_path / "built.log").read_text() == "xx"  # 3x8x8 once, 3x16x16 once
    assert (tmp_path / "imported.log").read_text() == "x"  # a file is imported once, as Python imports


# --- bad input: one line naming the file, the check and the problem; exit 2; nothing run

BAD = [
    ('stem = "conv 3 32 3 --strid 2"', "check 'stem': No such option: --strid"),
    (
        'stem = "conv 3 32 3 --expect nonsense=3"',
        "check 'stem': --expect 'nonsense=3': unknown figure 'nonsense'",
    ),
    (
        'stem = "compare 6 12 3 --expect dwsep.flop=3"',
        "check 'stem': --expect 'dwsep.flop=3': unknown figure",
    ),
    (
        'stem = "stack --preset vgg16 --expect conv99.params=1"',
        "check 'stem': --expect 'conv99.params=1': unknown",
    ),
    (
        'stem = "model net.py:build -i 3x8x8 --expect flop=3"',
        "check 'stem': --expect 'flop=3': unknown figure",
    ),
    (
        'stem = "model net.py:build -i 3x8x8 --expect conv0.params<=x"',
        "check 'stem': --expect conv0.params: got 'x'",
    ),
    ('stem = "model net.py:build --expect macs=3"', "check 'stem': --input: required for a model"),
    ('stem = "model nowhere.py:build -i 3x8x8"', "check 'stem': TARGET: no file 'nowhere.py'"),
    ('stem = "model net.py -i 3x8x8"', "check 'stem': TARGET: got 'net.py'"),
    ('stem = "model timm: -i 3x8x8"', "check 'stem': TARGET: 'timm:' names no model"),
    ('stem = "model hf:nothere.json"', "check 'stem': TARGET: hf:nothere.json: no such file or folder"),
    ('stem = "conv 3 32 3 --bench"', "check 'stem': --bench is refused in a check: timings are not budgets"),
    ('stem = "conv 3 32 3 --peak-tflops 0"', "check 'stem': --peak-tflops is --bench's"),
    ('stem = "compare 3 6 3 --plot x.svg"', "check 'stem': --plot is refused in a check"),
    ('stem = "conv 3 32 3 -h"', "check 'stem': -h shows a command's help, and a check runs the command"),
    ('stem = "conv 3 32"', "check 'stem': Missing argument 'KERNEL'."),
    ('stem = "conv 0 32 3"', "check 'stem': C_IN: got 0; it must be a positive integer"),
    ('stem = "conv 3 32 3 --device tpu"', "check 'stem': --device: unknown device 'tpu'"),
    ('stem = "stack nets/missing.toml"', "check 'stem': nets/missing.toml: cannot read the spec file"),
    ('stem = "sweep --c-in 3 --c-out 3 --kernel 3"', "check 'stem': sweep writes rows and has no budgets"),
    (
        'stem = { run = "conv 3 3 3", tolerance = { mac = "1%" } }',
        "check 'stem': tolerance 'mac' names no figure",
    ),
    ('stem = "conv 3 3 3"\nstem = "conv 3 3 4"', "line 4: 'stem' is given twice"),
]


@pytest.mark.parametrize(("check", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_and_nothing_runs(run, tmp_path, monkeypatch, check, message):
    project(tmp_path, f'[checks]\nfirst = "model net.py:build -i 3x8x8"\n{check}\n', monkeypatch)
    result = run("check")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"convcalc: error: convcalc.toml: {message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "built.log").exists()  # the valid check before it never ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("check --config missing.toml", "convcalc: error: missing.toml: no such file\n"),
        ("check nosuch", "convcalc: error: convcalc.toml: no check named 'nosuch'; its checks: stem\n"),
        ("check -k zzz", "convcalc: error: convcalc.toml: no check matches -k 'zzz'; its checks: stem\n"),
        ("check -f csv", "convcalc: error: Invalid value for '--format' / '-f': "),
        ("check --update --snapshot nodir/lock.json", "the directory 'nodir' does not exist\n"),
        ("check --update --snapshot convcalc.toml/lock.json", "'convcalc.toml' is not a directory\n"),
        ("check --snapshot .", "convcalc: error: .: not a snapshot: a directory\n"),
        (
            "check --summary nodir/summary.md",
            "convcalc: error: --summary nodir/summary.md: no such directory\n",
        ),
    ],
)
def test_bad_options_are_one_line(run, tmp_path, monkeypatch, args, message):
    project(tmp_path, '[checks]\nstem = "conv 3 3 3 --no-verify"\n', monkeypatch)
    result = run(args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


def test_no_budgets_file_says_how_to_make_one(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "convcalc: error: no budgets file: no convcalc.toml, nor a pyproject.toml"
    )
    assert "--config FILE" in result.stderr


def test_checks_run_in_the_budgets_files_directory(run, tmp_path, monkeypatch):
    project(tmp_path)
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "small.toml").write_text(
        'input = "3x8x8"\n[[layer]]\nkind = "conv"\nout = 4\nkernel = 3\n'
    )
    (tmp_path / "convcalc.toml").write_text(
        CHECKS + "small = \"stack nets/small.toml --no-verify --expect 'params=112'\"\n"
    )
    deep = tmp_path / "src" / "deeper"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    result = run("check --update -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config"] == "../../convcalc.toml"
    assert data["snapshot"]["path"] == "../../convcalc.lock.json"
    assert (tmp_path / "convcalc.lock.json").exists()
    assert Path.cwd() == deep  # and back where it started


# --- Python


def test_check_report_from_python():
    report = check_report(
        {
            "checks": {
                "stem": "conv 3 32 3 -s 2 -p 1 --no-bias --no-verify --expect params=864",
                "x": "conv 3 8 1 --no-verify --expect params=1",
            }
        },
        ["stem"],
    )
    assert isinstance(report, CheckReport)
    assert report.ok and report.exit_code == 0 and report.snapshot is None
    assert [r.name for r in report.results] == ["stem"]
    assert [r.name for r in check_report({"checks": {"stem": "conv 3 3 3 --no-verify"}}, "stem").results] == [
        "stem"
    ]  # one name as a string, not its letters
    assert report.results[0].figures["params"] == 864
    for fmt in ("table", "json", "junit", "markdown"):
        assert "stem" in render(report, fmt)
    with pytest.raises(FormatError, match="convcalc check writes table, json, junit, markdown"):
        render(report, "csv")
    failed = check_report({"checks": {"x": "conv 3 8 1 --no-verify --expect params=1"}})
    assert not failed.ok and failed.exit_code == 1 and failed.results[0].status == "fail"


def test_python_errors_name_the_budgets_and_are_value_errors():
    with pytest.raises(BudgetError, match="the budgets given: check 'x': No such option: --nope") as error:
        check_report({"checks": {"x": "conv 3 8 1 --nope"}})
    assert isinstance(error.value, ValueError)
    with pytest.raises(SnapshotError, match="not a convcalc snapshot"):
        check_report({"checks": {"x": "conv 3 8 1 --no-verify"}}, snapshot=ROOT / "pyproject.toml")


def test_the_pytest_recipe_in_the_docs_runs(tmp_path, monkeypatch):
    """docs/ci.md's test, as written, in a project whose pyproject.toml holds the docs' budgets file."""
    recipe = re.search(r"```py\n(.*?)```", (ROOT / "docs" / "ci.md").read_text(), flags=re.S)[1]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_budgets.py").write_text(recipe)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.convcalc.checks]\nstem = "conv 3 32 3 --no-verify --expect params=896"\n'
    )
    namespace: dict = {"__file__": str(tmp_path / "tests" / "test_budgets.py")}
    exec(compile(recipe, "test_budgets.py", "exec"), namespace)
    namespace["test_compute_budgets"]()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.convcalc.checks]\nstem = "conv 3 32 3 --no-verify --expect params=1"\n'
    )
    with pytest.raises(AssertionError, match="stem: expectation not met: params=1, actual 896"):
        namespace["test_compute_budgets"]()


# --- one process; the fast path; the hook; the workflows (each a fresh process)

PROBE = """
import json, os, subprocess, sys

counts = {"torch imports": 0, "processes started": 0}


class Count:
    def find_spec(self, name, path=None, target=None):  # asked only while torch is not imported yet
        if name == "torch":
            counts["torch imports"] += 1
        return None


sys.meta_path.insert(0, Count())
popen, fork = subprocess.Popen.__init__, os.fork


def counted_popen(self, *args, **kwargs):
    counts["processes started"] += 1
    return popen(self, *args, **kwargs)


def counted_fork():
    counts["processes started"] += 1
    return fork()


subprocess.Popen.__init__, os.fork = counted_popen, counted_fork
from convcalc.cli import main

sys.argv = ["convcalc", "check", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    counts["exit"] = exit.code
counts["torch loaded"] = "torch" in sys.modules
print(json.dumps(counts), file=sys.stderr)
"""


def probe(cwd: Path, *args: str) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.slow
def test_one_process_imports_torch_once_and_traces_each_model_once(tmp_path):
    project(
        tmp_path,
        """
        [checks]
        stem = "conv 3 32 3 -s 2 -p 1 --no-bias --expect params=864"
        block = "compare 6 12 3 -i 16 --no-bias --expect 'dwsep.params<=126'"
        tiny = "stack 'conv out=8 kernel=3; bn; relu' -i 3x16x16"
        net = "model net.py:build -i 3x8x8 --expect 'macs<=20K'"
        net_params = "model net.py:build -i 3x8x8 --expect 'params<1K'"
        net_layer = "model net.py:build -i 3x8x8 --expect conv2.params=36"
        """,
    )
    counts, stdout = probe(tmp_path, "-f", "json")
    assert counts == {"torch imports": 1, "processes started": 0, "exit": 0, "torch loaded": True}
    assert [c["status"] for c in json.loads(stdout)["checks"]] == ["pass"] * 6
    assert all(c["verified"] for c in json.loads(stdout)["checks"])
    assert (tmp_path / "built.log").read_text() == "x"  # three checks, one model: built and traced once
    assert (tmp_path / "imported.log").read_text() == "x"


@pytest.mark.slow
def test_checks_without_torch_never_import_it(tmp_path):
    project(tmp_path, CHECKS.replace('net = "model', '# net = "model'))
    counts, _ = probe(tmp_path, "--update")
    assert counts == {"torch imports": 0, "processes started": 0, "exit": 0, "torch loaded": False}
    counts, _ = probe(tmp_path, "-f", "junit")
    assert counts == {"torch imports": 0, "processes started": 0, "exit": 0, "torch loaded": False}


def hooks() -> list[dict[str, str]]:
    """.pre-commit-hooks.yaml, a list of flat mappings, read without a YAML library."""
    found: list[dict[str, str]] = []
    for line in (ROOT / ".pre-commit-hooks.yaml").read_text().splitlines():
        if line.startswith("- "):
            found.append({})
        match = re.match(r"^[- ] ([a-z_]+): (.*)$", line)
        if match:
            found[-1][match[1]] = match[2]
    return found


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_the_pre_commit_hook_runs_in_a_git_repository(tmp_path):
    (hook,) = hooks()
    assert hook["id"] == "convcalc-check"
    assert hook["pass_filenames"] == "false"  # the budgets file says what to check, not the files changed
    assert {"python", "toml", "json"} <= set(re.findall(r"\w+", hook["types_or"]))
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.convcalc.checks]\n'
        'stem = "conv 3 32 3 -s 2 -p 1 --no-bias --no-verify --expect params=864"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "budgets"], cwd=repo, check=True)

    def entry() -> subprocess.CompletedProcess:
        # as pre-commit runs a hook: its entry, split as a shell would, from the repository's root
        return subprocess.run(shlex.split(hook["entry"]), cwd=repo, env=env, capture_output=True, text=True)

    passed = entry()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 check: 1 passed, 0 failed" in passed.stdout
    (repo / "pyproject.toml").write_text((repo / "pyproject.toml").read_text().replace("-s 2", "-s 1"))
    assert entry().returncode == 0  # params do not depend on the stride
    (repo / "pyproject.toml").write_text((repo / "pyproject.toml").read_text().replace("3 32 3", "3 64 3"))
    failed = entry()
    assert failed.returncode == 1
    assert "stem: expectation not met: params=864, actual 1,728" in failed.stdout


def workflow_commands(language: str) -> list[str]:
    """The convcalc commands of docs/ci.md's workflows: GitHub's `run:` steps, GitLab's `script:` items."""
    text = (ROOT / "docs" / "ci.md").read_text()
    commands = []
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
        if language not in block:
            continue
        for line in block.splitlines():
            match = re.match(r"^\s*(?:run:|-)\s+(convcalc .*)$", line)
            if match:
                commands.append(match[1])
    return commands


def docs_project(tmp_path: Path) -> Path:
    """A project as docs/ci.md has it: its pyproject.toml's budgets, and mypkg.nets:build (ResNet-50)."""
    toml = re.search(
        r"```toml\n(\[tool\.convcalc\.checks\].*?)```", (ROOT / "docs" / "ci.md").read_text(), re.S
    )
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "mypkg"\n\n{toml[1]}')
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(ROOT / "docs" / "examples" / "resnet.py", package / "resnet.py")
    (package / "nets.py").write_text("from .resnet import resnet50 as build  # noqa: F401\n")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["GITHUB_STEP_SUMMARY", "gitlab"])
def test_the_ci_workflows_in_the_docs_run(tmp_path, ci):
    commands = workflow_commands(ci)
    assert commands, f"no convcalc command in docs/ci.md's {ci} workflow"
    root = docs_project(tmp_path)
    summary = tmp_path / "step-summary.md"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    suite = ET.parse(root / "convcalc-results.xml").getroot().find("testsuite")
    assert [case.get("name") for case in suite.findall("testcase")] == [
        "stem",
        "block",
        "mobilenet",
        "backbone",
    ]
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    if ci == "GITHUB_STEP_SUMMARY":
        assert summary.read_text().startswith("### ✅ convcalc check: 4 passed, 0 failed\n")


def test_check_report_leaves_the_process_as_it_was(tmp_path, monkeypatch):
    """The checks run in the budgets file's directory, and the commands lift Python's limit on an
    integer's digits: both are put back."""
    project(tmp_path)
    monkeypatch.chdir(ROOT)
    digits = sys.get_int_max_str_digits()
    report = check_report(tmp_path / "convcalc.toml", ["stem", "tiny"])
    assert report.ok and report.config == str(tmp_path / "convcalc.toml")
    assert Path.cwd() == ROOT
    assert sys.get_int_max_str_digits() == digits

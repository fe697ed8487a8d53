"""The budgets file and the snapshot, as core reads and writes them: finding the file, every check read
and refused in one line, tolerances to their edges, and a snapshot that is never half written. Standard
library only: nothing here imports torch."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from convcalc.core.budgets import (
    EXACT,
    Tolerances,
    find_budgets,
    load_budgets,
    parse_budgets,
    parse_tolerance,
    parse_tolerances,
)
from convcalc.core.errors import BudgetError, SnapshotError
from convcalc.core.snapshot import (
    FORMAT,
    Entry,
    Snapshot,
    check_writable,
    compare_figures,
    is_ours,
    read_snapshot,
    snapshot_text,
    write_snapshot,
)

STEM = 'stem = "conv 3 32 3 -s 2 -p 1 --no-bias --expect params=864"'


def binary(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- finding the file, as ruff and pytest find theirs


def test_the_nearest_file_upward_is_found(tmp_path):
    write(tmp_path / "pyproject.toml", f"[tool.convcalc.checks]\n{STEM}\n")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_budgets(deep) == tmp_path / "pyproject.toml"


def test_convcalc_toml_comes_first_in_a_directory(tmp_path):
    write(tmp_path / "pyproject.toml", f"[tool.convcalc.checks]\n{STEM}\n")
    write(tmp_path / "convcalc.toml", f"[checks]\n{STEM}\n")
    assert find_budgets(tmp_path) == tmp_path / "convcalc.toml"


def test_a_pyproject_without_the_table_is_passed_over(tmp_path):
    write(tmp_path / "pyproject.toml", f"[tool.convcalc.checks]\n{STEM}\n")
    inner = write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "inner"\n')
    assert find_budgets(inner.parent) == tmp_path / "pyproject.toml"


def test_none_is_found_where_there_is_none(tmp_path):
    assert find_budgets(tmp_path) is None or not str(find_budgets(tmp_path)).startswith(str(tmp_path))


def test_both_forms_read_the_same(tmp_path):
    project = load_budgets(write(tmp_path / "a" / "pyproject.toml", f"[tool.convcalc.checks]\n{STEM}\n"))
    own = load_budgets(write(tmp_path / "b" / "convcalc.toml", f"[checks]\n{STEM}\n"))
    assert project.checks == own.checks
    assert " ".join(project.checks[0].argv) == "conv 3 32 3 -s 2 -p 1 --no-bias --expect params=864"
    assert project.snapshot == str(tmp_path / "a" / "convcalc.lock.json")  # beside the file
    assert project.home == str(tmp_path / "a")


def test_a_table_check_and_a_leading_convcalc(tmp_path):
    budgets = load_budgets(
        write(
            tmp_path / "convcalc.toml",
            'snapshot = "ci/lock.json"\ntolerance = "1%"\n[checks]\n'
            "net = { run = \"convcalc model m.py:f -i 3x8x8 --expect 'macs<=1M'\", "
            'tolerance = { macs = "5%" } }\n',
        )
    )
    (net,) = budgets.checks
    assert net.argv == ("model", "m.py:f", "-i", "3x8x8", "--expect", "macs<=1M")
    assert budgets.snapshot == str(tmp_path / "ci" / "lock.json")
    assert budgets.tolerance_for(net, "macs").text == "5%"
    assert budgets.tolerance_for(net, "params").text == "1%"  # the file's, where the check has none


def test_a_table_given_in_python_has_no_snapshot_unless_it_names_one():
    assert parse_budgets({"checks": {"a": "conv 3 3 3"}}, "given").snapshot is None
    assert parse_budgets({"checks": {"a": "conv 3 3 3"}, "snapshot": "x.json"}, "given").snapshot == "x.json"


# --- every problem: one line naming the file, the check and the problem

BAD = [
    ("[checks]\nstem = 'conv 3 3 3'\nstem = 'conv 3 3 4'\n", "convcalc.toml: line 3: 'stem' is given twice"),
    ("[checks]\nStem = 'conv 3 3 3'\nstem = 'conv 3 3 3'\n", "'Stem' and 'stem' differ only in case"),
    ("[checks]\n", "convcalc.toml: no checks"),
    ("checks = 3\n", "checks: got 3; it must be a table"),
    ("[chekcs]\nstem = 'conv 3 3 3'\n", "unknown key 'chekcs'; use checks, snapshot, tolerance"),
    ("not toml at all\n", "convcalc.toml: not valid TOML"),
    ("[checks]\n'bad name' = 'conv 3 3 3'\n", "check 'bad name': a check's name is 1 to 64 letters"),
    ("[checks]\nstem = 42\n", "check 'stem': got 42; a check is a command line"),
    ("[checks]\nstem = ''\n", "check 'stem': an empty command line"),
    ("[checks]\nstem = 'convcalc'\n", "check 'stem': an empty command line"),
    (
        '[checks]\nstem = "conv 3 3 3 \'open"\n',
        "check 'stem': cannot split the command line: No closing quotation",
    ),
    ("[checks]\nstem = 'frobnicate 3'\n", "check 'stem': unknown command 'frobnicate'"),
    ("[checks]\nstem = 'sweep --c-in 3 --c-out 3 --kernel 3'\n", "check 'stem': sweep writes rows"),
    ("[checks]\nstem = 'check'\n", "check 'stem': a check cannot run convcalc check"),
    ("[checks]\nstem = { run = 'conv 3 3 3', tolerence = '1%' }\n", "check 'stem': unknown key 'tolerence'"),
    ("[checks]\nstem = { tolerance = '1%' }\n", "check 'stem': no run = "),
    (
        "[checks]\nstem = { run = 'conv 3 3 3', tolerance = '-1%' }\n",
        "check 'stem': tolerance '-1%': use '0'",
    ),
    ("[checks]\nstem = { run = 'conv 3 3 3', tolerance = 0.5 }\n", "check 'stem': tolerance 0.5"),
    ("snapshot = 3\n[checks]\nstem = 'conv 3 3 3'\n", "snapshot: got 3; it must be a file name"),
    ("tolerance = 'lots'\n[checks]\nstem = 'conv 3 3 3'\n", "convcalc.toml: tolerance 'lots'"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
def test_a_bad_file_is_one_line_naming_it(tmp_path, text, message):
    with pytest.raises(BudgetError) as error:
        load_budgets(write(tmp_path / "convcalc.toml", text), "convcalc.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("convcalc.toml: ")
    assert "\n" not in str(error.value)


def test_a_pyproject_without_the_table_named_outright(tmp_path):
    with pytest.raises(BudgetError, match=r"no \[tool.convcalc\] table"):
        load_budgets(write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n"), "pyproject.toml")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.toml", "no such file"),
        (lambda p: p, "not a regular file"),
        (lambda p: binary(p / "c.toml", b"\xff\xfe[checks]"), "not UTF-8 text"),
        (lambda p: write(p / "big.toml", "# " + "x" * (1 << 20)), "larger than"),
    ],
    ids=["missing", "a directory", "not UTF-8", "too big"],
)
def test_a_file_that_cannot_be_read(tmp_path, make, message):
    with pytest.raises(BudgetError, match=message):
        load_budgets(make(tmp_path))


def test_choosing_checks_by_name_and_pattern(tmp_path):
    budgets = parse_budgets(
        {"checks": {"stem": "conv 3 3 3", "stem_wide": "conv 3 9 3", "head": "conv 9 3 1"}}, "given"
    )
    names = lambda checks: [c.name for c in checks]  # noqa: E731
    assert names(budgets.select()) == ["stem", "stem_wide", "head"]
    assert names(budgets.select(["head", "stem"])) == ["stem", "head"]  # in the file's order
    assert names(budgets.select(["HEAD"])) == ["head"]  # a name typed in another case still finds it
    assert names(budgets.select(pattern="WIDE")) == ["stem_wide"]  # a part of the name, any case
    assert names(budgets.select(pattern="st*")) == ["stem", "stem_wide"]  # a glob
    assert names(budgets.select(["head"], pattern="wide")) == ["stem_wide", "head"]
    with pytest.raises(BudgetError, match="no check named 'tail'; its checks: stem, stem_wide, head"):
        budgets.select(["tail"])
    with pytest.raises(BudgetError, match="no check matches -k 'x'"):
        budgets.select(pattern="x")


# --- tolerances, to their edges


@pytest.mark.parametrize(
    ("tolerance", "old", "new", "allowed"),
    [
        ("0", 864, 864, True),
        ("0", 864, 865, False),
        ("5%", 100, 105, True),  # exactly at the tolerance passes
        ("5%", 100, 95, True),  # either way
        ("5%", 100, 106, False),
        ("5%", 4_089_184_256, 4_089_184_256 + 204_459_212, True),  # 5% is 204,459,212.8
        ("5%", 4_089_184_256, 4_089_184_256 + 204_459_213, False),
        ("5%", 4_089_184_260, 4_089_184_260 + 204_459_213, True),  # exactly 5%, to the unit
        ("5%", 4_089_184_260, 4_089_184_260 - 204_459_213, True),
        ("5%", 4_089_184_260, 4_089_184_260 + 204_459_214, False),
        ("0.5%", 1000, 1005, True),
        ("0.5%", 1000, 1006, False),
        ("1M", 4_000_000, 5_000_000, True),  # an amount: exactly at it passes
        ("1M", 4_000_000, 5_000_001, False),
        ("64KiB", 0, 65_536, True),
        ("64KiB", 0, 65_537, False),
        ("5%", 0, 1, False),  # from 0, any change is infinitely many percent
        ("5%", 0.2, 0.21, True),  # a ratio: exactly 5%, in decimal
        ("5%", (1, 32, 112, 112), (1, 32, 56, 56), False),  # a shape moves or it does not
        ("any", (1, 32, 112, 112), (1, 32, 56, 56), True),
        ("any", 1, 10**30, True),
        (7, 10, 17, True),  # a whole number is an amount
        (7, 10, 18, False),
    ],
)
def test_a_tolerance_allows_up_to_and_including_itself(tolerance, old, new, allowed):
    assert parse_tolerance(tolerance, "here").allows(old, new) is allowed


def test_tolerance_forms():
    assert parse_tolerance("0", "x").kind == parse_tolerance(0, "x").kind == "exact"
    assert parse_tolerance("0%", "x").kind == "exact"
    assert parse_tolerance("2.5%", "x").amount == Decimal("2.5")
    assert parse_tolerance("1.5M", "x").amount == 1_500_000
    assert parse_tolerance("2MiB", "x").amount == 2 * 2**20
    assert parse_tolerance(" ANY ", "x").kind == "any"
    for bad in ("", "-1", "5 %%", "1e3", "lots", True, 1.5, -3, None):
        with pytest.raises(BudgetError, match=r"x: tolerance .*: use '0'"):
            parse_tolerance(bad, "x")


def test_the_rule_that_names_a_figure_most_precisely_wins():
    rules = parse_tolerances(
        {"*": "1%", "macs": "5%", "layer4.*": "any", "layer4.conv1.macs": "0", "*.params": "2%"}, "x"
    )
    assert rules.lookup("flops").text == "1%"
    assert rules.lookup("macs").text == "5%"  # its full key
    assert rules.lookup("conv1.macs").text == "5%"  # a figure's name stands for every layer's too
    assert rules.lookup("layer4.conv2.macs").text == "any"  # layer4.* (7 characters) over macs (4)
    assert rules.lookup("layer4.conv1.macs").text == "0"  # a full key beats every pattern
    assert rules.lookup("fc.params").text == "2%"
    assert rules.unmatched(["macs", "fc.params"]) == ["layer4.*", "layer4.conv1.macs"]
    assert Tolerances().lookup("macs") is None
    assert parse_tolerances("3%", "x").lookup("anything.at.all").text == "3%"
    assert EXACT.allows(1, 1) and not EXACT.allows(1, 2)


# --- the snapshot


def snapshot(**checks) -> Snapshot:
    return Snapshot(
        "0.1.0", "2.13.0+cpu", {name: Entry(f"conv {name}", figures) for name, figures in checks.items()}
    )


def test_a_snapshot_reads_back_what_was_written(tmp_path):
    figures = {"output_shape": (1, 32, 112, 112), "params": 864, "ratio_macs": 7 / 36, "macs": 10**30}
    path = tmp_path / "convcalc.lock.json"
    write_snapshot(path, snapshot_text(snapshot(stem=figures, other={})), "lock")
    back = read_snapshot(path, "lock")
    assert back.checks["stem"].figures == figures
    assert back.checks["stem"].run == "conv stem"
    assert (back.convcalc, back.torch) == ("0.1.0", "2.13.0+cpu")
    text = path.read_text()
    # one figure a line: a change reads as a small diff
    assert '        "output_shape": [1, 32, 112, 112],\n' in text
    assert json.loads(text)["format"] == FORMAT


def test_no_snapshot_yet_is_none(tmp_path):
    assert read_snapshot(tmp_path / "convcalc.lock.json", "lock") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("garbage", "lock: not a convcalc snapshot: not valid JSON"),
        ('{"name": "my-package", "lockfileVersion": 3}', 'lock: not a convcalc snapshot (no "format"'),
        ("[1, 2]", "lock: not a convcalc snapshot"),
        (f'{{"format": "{FORMAT}", "version": 2}}', "written by a newer convcalc (snapshot version 2"),
        (f'{{"format": "{FORMAT}", "version": "1"}}', "corrupt snapshot: version '1'"),
        (f'{{"format": "{FORMAT}", "version": 1}}', 'corrupt snapshot: it needs "written_by" and "checks"'),
        (
            f'{{"format": "{FORMAT}", "version": 1, "written_by": {{"convcalc": "0.1"}}, '
            '"checks": {"stem": {"figures": 3}}}',
            "corrupt snapshot: check 'stem' has no \"figures\" table",
        ),
        (
            f'{{"format": "{FORMAT}", "version": 1, "written_by": {{"convcalc": "0.1"}}, '
            '"checks": {"stem": {"figures": {"params": {"a": 1}}}}}',
            "corrupt snapshot: check 'stem': figure 'params' is {'a': 1}",
        ),
        (
            '{\n<<<<<<< HEAD\n  "format": "convcalc-snapshot",\n=======\n>>>>>>> branch\n}',
            "it holds a merge conflict; convcalc check --update writes it afresh",
        ),
        ("[" * 100_000, "not a convcalc snapshot: nested too deeply"),
        (
            f'{{"format": "{FORMAT}", "version": 1, "written_by": {{"convcalc": "0.1"}}, '
            '"checks": {"stem": {"figures": {"params": NaN}}}}',
            "not valid JSON (NaN is not a number JSON allows)",
        ),
        (
            f'{{"format": "{FORMAT}", "version": 1, "written_by": {{"convcalc": "0.1"}}, '
            '"checks": {"stem": {"figures": {"params": 1e999}}}}',
            "figure 'params' is inf",
        ),
        (
            f'{{"format": "{FORMAT}", "version": 1, "written_by": {{}}, "checks": {{}}}}',
            '"written_by" needs the convcalc and torch versions',
        ),
    ],
    ids=[
        "not JSON",
        "foreign",
        "a list",
        "newer",
        "bad version",
        "no tables",
        "no figures",
        "bad figure",
        "conflict",
        "deep",
        "NaN",
        "infinity",
        "no versions",
    ],
)
def test_a_snapshot_that_is_not_convcalcs_is_one_line(tmp_path, text, message):
    path = write(tmp_path / "convcalc.lock.json", text)
    with pytest.raises(SnapshotError) as error:
        read_snapshot(path, "lock")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_only_a_snapshot_of_convcalcs_may_be_replaced_when_unreadable(tmp_path):
    assert is_ours(write(tmp_path / "a.json", '{\n<<<<<<< HEAD\n"format": "convcalc-snapshot"'))
    assert not is_ours(write(tmp_path / "b.json", '{"lockfileVersion": 3}'))
    assert not is_ours(tmp_path / "missing.json")


def test_a_failed_write_leaves_the_old_snapshot_whole(tmp_path, monkeypatch):
    path = tmp_path / "convcalc.lock.json"
    write_snapshot(path, snapshot_text(snapshot(stem={"params": 864})), "lock")
    before = path.read_text()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(SnapshotError, match="lock: cannot write the snapshot \\(No space left on device\\)"):
        write_snapshot(path, snapshot_text(snapshot(stem={"params": 865})), "lock")
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["convcalc.lock.json"]  # no temporary file left


def test_a_write_keeps_the_files_permissions(tmp_path):
    path = write(tmp_path / "convcalc.lock.json", "{}")
    path.chmod(0o640)
    write_snapshot(path, snapshot_text(snapshot()), "lock")
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing" / "lock.json", "the directory 'missing' does not exist"),
        (lambda p: p, "it is a directory"),
        (lambda p: write(p / "file", "") / "lock.json", "the directory 'file' is not a directory"),
    ],
    ids=["no directory", "a directory", "under a file"],
)
def test_an_unwritable_snapshot_path_is_refused_before_any_work(tmp_path, make, message):
    with pytest.raises(SnapshotError, match=f"cannot write the snapshot: {message}"):
        path = make(tmp_path)
        check_writable(path, os.path.relpath(path, tmp_path))


def test_what_moved_and_whether_within_tolerance():
    old = {"params": 100, "macs": 1000, "output_shape": (1, 8, 4, 4), "gone": 1}
    new = {"params": 100, "macs": 1050, "output_shape": (1, 8, 2, 2), "added": 2}
    rules = parse_tolerances({"macs": "5%"}, "x")
    moves, added, gone = compare_figures(old, new, lambda key: rules.lookup(key) or EXACT)
    assert [(m.key, m.within, m.tolerance) for m in moves] == [
        ("macs", True, "5%"),
        ("output_shape", False, "0"),
    ]
    assert moves[0].change == pytest.approx(0.05)
    assert moves[1].change is None
    assert (added, gone) == (["added"], ["gone"])

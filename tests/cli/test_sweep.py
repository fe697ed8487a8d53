"""`convcalc sweep`: rows as conv gives them, every format, bad input in one line, pipes, --verify, --plot,
and no torch on the analytic path."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from convcalc.core.results import FIGURES
from convcalc.core.sweep import SETTINGS

BASE = "sweep --c-in 32,64 --c-out 64 --kernel 1,3 -g 1,dw,3 -p same -i 56"


def rows_of(run, command):
    result = run(command)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_csv_has_every_setting_figure_and_reason(run):
    rows = rows_of(run, BASE)
    assert list(rows[0]) == [*SETTINGS, *FIGURES, "reason"]
    assert len(rows) == 2 * 2 * 3  # c_in x kernel x groups, the first option changing slowest
    assert [(r["c_in"], r["kernel"], r["groups"]) for r in rows[:3]] == [
        ("32", "1", "1"),
        ("32", "1", "32"),
        ("32", "1", "3"),
    ]
    first = rows[0]
    assert first["output_shape"] == "1x64x56x56" and first["params"] == str(32 * 64 * 1 + 64)
    assert (first["bias"], first["transposed"], first["dim"], first["reason"]) == ("true", "false", "2", "")


@pytest.mark.parametrize(
    ("options", "conv"),
    [
        ("--c-in 64 --c-out 128 --kernel 3 -p 1 -i 56 -g 2", "64 128 3 -p 1 -i 56 -g 2"),
        ("--c-in 6 --c-out 10 --kernel 3x5 --bias off -s 2 -d 2", "6 10 3x5 --no-bias -s 2 -d 2"),
        (
            "--c-in 8 --c-out 4 --kernel 4 --transposed yes -s 2 --output-padding 1",
            "8 4 4 -T -s 2 --output-padding 1",
        ),
        (
            "--c-in 3 --c-out 8 --kernel 3 --dim 3 -i 16 -b 4 --dtype float16",
            "3 8 3 --dim 3 -i 16 -b 4 --dtype float16",
        ),
        (
            "--c-in 4 --c-out 4 --kernel 3 -p same --padding-mode reflect -i 9 -g dw",
            "4 4 3 -p same --padding-mode reflect -i 9 --depthwise",
        ),
        ("--c-in 2 --c-out 2 --kernel 3 --dim 1 -p valid -i 5", "2 2 3 --dim 1 -p valid -i 5"),
    ],
)
def test_a_row_equals_conv_json(run, options, conv):
    conv_json = json.loads(run(f"conv {conv} -f json --no-verify").stdout)
    (row,) = [json.loads(line) for line in run(f"sweep {options} -f jsonl").stdout.splitlines()]
    for key in FIGURES:
        expected = conv_json["memory"][key] if key.endswith("_bytes") else conv_json[key]
        assert row[key] == expected, key
    assert row["dim"] == len(conv_json["output_shape"]) - 2 and row["reason"] == ""
    (csv_row,) = rows_of(run, f"sweep {options}")
    assert csv_row["macs"] == str(conv_json["macs"])
    assert csv_row["output_shape"] == "x".join(map(str, conv_json["output_shape"]))


def test_invalid_rows_keep_the_reason_conv_gives(run):
    rows = rows_of(run, BASE)
    invalid = [r for r in rows if r["reason"]]
    assert [(r["c_in"], r["groups"]) for r in invalid] == [("32", "3")] * 2 + [("64", "3")] * 2
    conv = run("conv 32 64 1 -g 3 -p same -i 56 --no-verify")
    assert conv.exit_code == 2 and invalid[0]["reason"] in conv.stderr
    assert all(r[key] == "" for r in invalid for key in FIGURES)
    assert invalid[0]["dim"] == ""  # not given, and an invalid layer has none to infer


def test_valid_only_drops_them(run):
    rows = rows_of(run, BASE + " --valid-only")
    assert len(rows) == 8 and not any(r["reason"] for r in rows)
    assert rows_of(run, "sweep --c-in 3 --c-out 4 --kernel 3 -g 2 --valid-only") == []  # the header alone


def test_dw_is_groups_equal_to_each_rows_c_in(run):
    rows = rows_of(run, "sweep --c-in 8:24:8 --c-out 48 --kernel 3 -g dw --transposed no,yes")
    assert [(r["c_in"], r["groups"], r["transposed"]) for r in rows][:2] == [
        ("8", "8", "false"),
        ("8", "8", "true"),
    ]
    assert all(r["groups"] == r["c_in"] and not r["reason"] for r in rows)
    assert rows[0]["weight_params"] == str(48 * 1 * 9)  # each output channel sees one input channel


def test_jsonl_holds_shapes_as_lists_and_nulls_for_invalid_rows(run):
    lines = run(BASE + " -f jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 12 and list(records[0]) == [*SETTINGS, *FIGURES, "reason"]
    assert records[0]["output_shape"] == [1, 64, 56, 56] and records[0]["padding"] == "same"
    assert records[0]["bias"] is True and records[0]["dim"] == 2
    invalid = records[2]
    assert invalid["params"] is None and invalid["dim"] is None and invalid["reason"].startswith("--groups")
    sizes = json.loads(run("sweep --c-in 1 --c-out 1 --kernel 3x5 -f jsonl").stdout)
    assert sizes["kernel"] == [3, 5] and sizes["effective_kernel"] == [3, 5]


def test_markdown_is_a_table_of_the_swept_settings(run):
    text = run(BASE + " -f markdown").stdout
    lines = text.splitlines()
    assert lines[0].startswith("**convcalc sweep** (every row: stride 1, padding same, dilation 1")
    assert lines[2].startswith("| c_in | c_out | kernel | groups | output_shape | weight_params |")
    assert lines[3].startswith("|---:|") and len(lines) == 4 + 12
    assert "| 32 | 64 | 1 | 1 | 1x64x56x56 | 2,048 | 64 | 2,112 |" in text


def test_a_range_sweep_is_every_step(run):
    rows = rows_of(run, "sweep --c-in 8:64:8 --c-out 16 --kernel 1 --valid-only")
    assert [int(r["c_in"]) for r in rows] == list(range(8, 65, 8))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (f"--c-in 1:{10**30} --c-out 8 --kernel 3", "--c-in: the sweep has about 10^30 rows"),
        ("--c-in 5:1 --c-out 8 --kernel 3", "--c-in: '5:1' is empty"),
        ("--c-in 1:10:0 --c-out 8 --kernel 3", "--c-in: the step of '1:10:0' is 0"),
        ("--c-in 8 --c-out 8 --kernel 3,,5", "--kernel: value 2 of '3,,5' is empty"),
        ("--c-in 8 --c-out 8", "Missing option '--kernel'"),
        ("--c-in 8 --c-out 8 --kernel 3 --bias maybe", "--bias: got 'maybe'"),
        ("--c-in 8 --c-out 8 --kernel 3 -f json", "'json' is not one of 'csv', 'jsonl', 'markdown'"),
        ("--c-in 8 --c-out 8 --kernel 3 --jobs 0 --verify", "--jobs: got 0; it must be a positive integer"),
        ("--c-in 8 --c-out 8 --kernel 3 --max-rows 0", "--max-rows: got 0"),
        ("--c-in 8 --c-out 8 --kernel 3 --jobs two", "--jobs: got 'two'"),  # checked without --verify too
        ("--c-in 8 --c-out 8 --kernel 3 --plot-x output_shape", "--plot-x: 'output_shape' is not a figure"),
        (
            "--c-in 8 --c-out 8 --kernel 3 -o /no/such/folder/out.csv",
            "--output: cannot write /no/such/folder",
        ),
        (f"--c-in {'9' * 4301} --c-out 8 --kernel 3", "--c-in: a value has more than 4,300 digits"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, options, message):
    result = run(f"sweep {options}")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcalc: error: ") and message in lines[0], lines


def test_huge_values_are_rows_with_exact_figures(run):
    big = 10**30
    (row,) = rows_of(run, f"sweep --c-in {big} --c-out {big} --kernel 1 -i 1 -g dw")
    assert row["params"] == str(big + big) and row["macs"] == str(big)


def test_output_file(run, tmp_path):
    out = tmp_path / "rows.csv"
    result = run(f"{BASE} -o {out}")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""  # no bar off a terminal
    assert out.read_text() == run(BASE).stdout


def command(*args):
    return [sys.executable, "-m", "convcalc", *args]


def env():
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


LONG = ["sweep", "--c-in", "1:1000", "--c-out", "1:100", "--kernel", "3"]  # 100,000 rows


@pytest.mark.slow
def test_a_reader_that_stops_ends_it_quietly():
    """`convcalc sweep ... | head -1`: 141, nothing on stderr, and no more rows made than a pipe holds."""
    proc = subprocess.Popen(command(*LONG), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    assert proc.stdout.readline().startswith(b"c_in,c_out,kernel,")
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and stderr == b""


@pytest.mark.slow
def test_closed_stdout_is_one_line_and_exit_2():
    """`convcalc sweep ... >&-`."""
    close_stdout = lambda: os.close(1)  # noqa: E731 -- in the child, before Python starts
    done = subprocess.run(command(*LONG), stderr=subprocess.PIPE, env=env(), preexec_fn=close_stdout)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "convcalc: error: cannot write the output: standard output is closed"
    ]


PROBE = """
import sys
from convcalc.cli import main
sys.argv = ["convcalc"] + sys.argv[1:]
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in ("torch", "rich", "matplotlib") if m in sys.modules), file=sys.stderr)
"""


def test_an_analytic_sweep_never_imports_torch():
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *LONG[:3], "--c-out", "8", "--kernel", "1,3", "-f", "jsonl"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(done.stdout.splitlines()) == 2000
    assert done.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_verify_confirms_every_valid_row_in_a_pool(run):
    result = run(
        "sweep --c-in 4,6 --c-out 12 --kernel 1,3 -g 1,4,dw --transposed no,yes -p 1 -i 8 --verify -j 2"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[-1] == "verified" and len(rows) == 2 * 2 * 3 * 2
    assert {r["verified"] for r in rows if not r["reason"]} == {"ok"}
    assert {r["verified"] for r in rows if r["reason"]} == {""}  # nothing to build


def test_verify_in_process_and_skipped_past_torch_sizes(run):
    result = run(f"sweep --c-in 2,{2**70} --c-out 2 --kernel 1 -i 4 --verify -j 1 -f jsonl")
    assert result.exit_code == 0, result.output
    small, huge = (json.loads(line)["verified"] for line in result.stdout.splitlines())
    assert small == "ok" and huge.startswith("skipped: in_channels=") and "64-bit" in huge


def test_a_mismatch_is_exit_1(run, monkeypatch):
    from convcalc.measure import sweep as pool

    monkeypatch.setattr(pool, "verify_layer", lambda settings, expected: "MISMATCH: params 1 (torch 2)")
    result = run("sweep --c-in 2 --c-out 2 --kernel 1,3 --verify -j 1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "convcalc: MISMATCH: torch disagreed on 2 rows; see the verified column"
    ]


def test_plot_of_the_valid_rows(run, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "sweep.svg"
    result = run(f"{BASE} --plot {out} --plot-x params --plot-y flops")
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert "<svg" in svg and "c_in=32 k=1 g=dw" in svg


def test_plot_labels_name_the_swept_settings():
    from convcalc.core.sweep import parse_sweep
    from convcalc.render.sweep import plot_points

    sweep = parse_sweep({"c_in": "32,64", "c_out": "64", "kernel": "1,3", "groups": "1,dw"})
    points = list(plot_points(sweep, (r for r in sweep.rows() if r.valid), "params", "macs"))
    assert [p.label for p in points[:2]] == ["c_in=32 k=1 g=1", "c_in=32 k=1 g=dw"]
    assert points[0].x == 32 * 64 + 64 and points[0].y == 32 * 64 * 224 * 224


def test_help_lists_the_grammar(run):
    text = " ".join(run("sweep --help").stdout.split())
    assert "sweep [OPTIONS]" in text and "--c-in LIST" in text and "[required]" in text
    assert "start:stop[:step]" in text and "-g, --groups LIST" in text and "<" not in text


def test_every_column_is_documented(run):
    from pathlib import Path

    schema = (Path(__file__).parents[2] / "docs" / "json-schema.md").read_text()
    section = schema[schema.index("## `convcalc sweep`") :]
    record = json.loads(run("sweep --c-in 2 --c-out 2 --kernel 1 --verify -j 1 -f jsonl").stdout)
    missing = [key for key in record if f"`{key}`" not in section]
    assert not missing, f"sweep columns missing from docs/json-schema.md: {missing}"


def test_jobs_default_to_the_cpus_and_never_pass_them_or_the_memory(monkeypatch):
    from convcalc.measure import sweep as pool

    cpus = os.cpu_count() or 1
    monkeypatch.setattr(pool, "free_memory", lambda device: 64 * pool.WORKER_BYTES)
    assert pool.pool_size(None) == cpus and pool.pool_size(1) == 1 and pool.pool_size(10 * cpus) == cpus
    monkeypatch.setattr(pool, "free_memory", lambda device: pool.WORKER_BYTES)  # room for one worker
    assert pool.pool_size(None) == 1 and pool.pool_size(16) == 1

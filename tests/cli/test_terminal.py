"""Where the output goes: a narrow or normal terminal, a pipe, an ASCII stream, a closed or full one.

Golden files pin the tables at 60 and 100 columns, through a pipe (no width: whole lines) and on an
ASCII stream; regenerate with `pytest tests/cli/test_terminal.py --update-golden`. The stream cases run the
real command in a subprocess, since they are about file descriptors and encodings.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.render.cells import BYTES, COUNT, TEXT
from convcalc.render.sheet import Column, Sheet, write_table

GOLDEN = Path(__file__).parents[1] / "golden" / "terminal"
WIDE = ["compare", "64", "128", "3", "-p", "1", "-i", "56", "--no-bias", "-g", "2", "-g", "32", "-g", "3"]
CONV = ["conv", "3", "6", "3", "--depthwise", "-p", "1"]
BIG = ["conv", "64", "64", "3", "--dim", "3", "--input", "512"]  # too big for a real pass

# name: (COLUMNS, or None for a pipe; the stream's encoding; the command)
CASES = {
    "compare_60.txt": ("60", "utf-8", WIDE),
    "compare_100.txt": ("100", "utf-8", WIDE),
    "compare_pipe.txt": (None, "utf-8", WIDE),
    "compare_ascii_60.txt": ("60", "ascii", WIDE + ["--no-verify"]),
    "conv_60.txt": ("60", "utf-8", CONV),
    "conv_100.txt": ("100", "utf-8", CONV),
    "conv_pipe.txt": (None, "utf-8", CONV),
    "conv_ascii.txt": ("100", "ascii", CONV),
    "conv_meta_60.txt": ("60", "utf-8", BIG + ["--device", "meta"]),
    "stack_60.txt": ("60", "utf-8", ["stack", "--preset", "mobilenet_v1", "--no-verify"]),
    "model_60.txt": (
        "60",
        "utf-8",
        ["model", "docs/examples/resnet.py:resnet50", "-i", "3x224x224", "--depth", "2"],
    ),
    "model_ascii_pipe.txt": (
        None,
        "ascii",
        ["model", "docs/examples/resnet.py:resnet50", "-i", "3x64x64", "--depth", "1"],
    ),
}


def invoke(columns, encoding, args):
    runner = CliRunner(charset=encoding)
    return runner.invoke(app, args, env={"COLUMNS": columns}, catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_golden(golden, name):
    columns, encoding, args = CASES[name]
    result = invoke(columns, encoding, args)
    assert result.exit_code == 0, result.output
    golden(result.stdout, GOLDEN / name)


def table_lines(text):
    return [line for line in text.splitlines() if line[:1] in "┃│|+┏┡└"]


@pytest.mark.parametrize("columns", ["60", "80", "100"])
def test_figures_never_wrap_and_tables_fit(columns):
    """Every figure of the wide comparison appears whole, in a table no wider than the terminal."""
    text = invoke(columns, "utf-8", WIDE + ["--no-verify"]).stdout
    assert max(len(line) for line in table_lines(text)) <= int(columns)
    for figure in [
        "1x128x56x56",
        "1x64x56x56",
        "0.000122",
        "0.00781",
        "7.23M",
        "14.5M",
        "73,728",
        "2.30 MiB",
    ]:
        assert figure in text, figure
    # No row of the table is a continuation: every body row names its variant.
    body = [line for line in table_lines(text) if line.startswith("│")]
    assert all(line[1:].split("│")[0].strip() for line in body)


def test_pipe_keeps_every_line_whole():
    text = invoke(None, "utf-8", WIDE + ["--no-verify"]).stdout
    rows = [line for line in table_lines(text) if line.startswith("│ dw-separable")]
    assert len(rows) == 1 and "Cin·k² + Cin·Cout" in rows[0] and len(rows[0]) > 100


def test_one_byte_unit_per_column():
    sheet = Sheet(
        "t",
        [Column("figure"), Column("bytes", "r")],
        [[(TEXT, "small"), (BYTES, 240)], [(TEXT, "big"), (BYTES, 3 * 2**20)], [(TEXT, "n"), (COUNT, 5)]],
    )
    text = write_table(sheet, width=None)
    assert "0.00023 MiB" in text and "3.00 MiB" in text and " B " not in text
    small_only = Sheet("t", [Column("bytes", "r")], [[(BYTES, 240)], [(BYTES, 602_112)]])
    assert "602,112 B" in write_table(small_only, width=None)


def test_moved_column_lists_every_row_under_the_table():
    rows = [[(TEXT, f"row{i}"), (COUNT, 10**i), (TEXT, "a rather long explanation " * 3)] for i in range(3)]
    columns = [Column("name"), Column("value", "r"), Column("why", moves=1)]
    text = write_table(Sheet("t", columns, rows), width=40)
    first, second = text.split("┏")[1:]
    assert "why" not in first and "value" in first
    assert "name" in second and "why" in second and second.count("row") == 3


def test_ascii_stream_has_no_unicode_and_json_stays_data():
    table = invoke("100", "ascii", WIDE + ["--no-verify"]).stdout
    assert table.isascii() and "Cin*Cout*k^2" in table and "+--" in table
    result = invoke(None, "ascii", WIDE + ["--no-verify", "-f", "json"])
    assert result.stdout.isascii() and "Cin\\u00b7Cout" in result.stdout


def test_meta_says_what_was_not_measured_and_why_the_peak_differs():
    """A layer sent to meta: memory rows are not measured, and the peak quoted is explained."""
    text = invoke(None, "utf-8", BIG).stdout
    rows = {line.split("│")[1].strip(): line for line in table_lines(text) if line.startswith("│")}
    for label in ["params memory", "input memory", "output memory", "forward/backward pass"]:
        assert "not measured: the meta device allocates nothing" in rows[label]
        assert " ok " not in rows[label]
    assert " ok " in rows["MACs"]
    assert "at its peak (more than the estimated total memory" in text


def command(*args):
    return [sys.executable, "-m", "convcalc", *args]


def env(**extra):
    """The user's environment, buffered as Python's default (PYTHONUNBUFFERED hid a failed flush at exit)."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**inherited, "COLUMNS": "100", **extra}


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_real_stream_encodings_get_ascii_not_a_traceback(encoding):
    out = subprocess.run(
        command("compare", "6", "12", "3", "--no-verify"),
        capture_output=True,
        env=env(PYTHONIOENCODING=encoding, LANG="C", LC_ALL="C"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == b"" and out.stdout.isascii() and b"Cin*Cout*k^2" in out.stdout


# What a user may send to a stream: figures, help, the version.
WRITES = [["conv", "6", "10", "3", "--no-verify"], ["conv", "-h"], ["--version"]]


@pytest.mark.slow
@pytest.mark.parametrize("args", WRITES, ids=" ".join)
def test_closed_stdout_is_one_line_and_exit_2(args):
    script = "import os, sys; os.close(1); os.execv(sys.argv[1], sys.argv[1:])"
    out = subprocess.run(
        [sys.executable, "-c", script, *command(*args)],
        capture_output=False,
        stderr=subprocess.PIPE,
        env=env(),
    )
    assert out.returncode == 2
    assert out.stderr.decode().splitlines() == [
        "convcalc: error: cannot write the output: standard output is closed"
    ]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", WRITES, ids=" ".join)
def test_full_disk_is_one_line_and_exit_2(args):
    with open("/dev/full", "w") as full:
        out = subprocess.run(command(*args), stdout=full, stderr=subprocess.PIPE, env=env())
    assert out.returncode == 2
    lines = out.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcalc: error: cannot write the output:")


@pytest.mark.slow
@pytest.mark.parametrize("args", WRITES, ids=" ".join)
def test_closed_pipe_ends_quietly(args):
    """`convcalc ... | true`: the reader is gone before convcalc writes; no traceback, not exit 1."""
    proc = subprocess.Popen(
        command(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    proc.stdout.close()  # the reader exits at once
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.wait() == 141
    assert stderr == b""


def test_csv_through_a_pipe_is_whole(run):
    rows = list(csv.reader(io.StringIO(run("conv 6 10 3 -f csv --no-verify").stdout)))
    assert len({len(row) for row in rows}) == 1


@pytest.mark.slow
def test_torch_warnings_become_one_note_not_stderr_paths():
    """torch warns of a zero-padded copy for 'same' with an even kernel: a note, and JSON's warnings."""
    args = ("conv", "6", "10", "4", "-p", "same", "-d", "3", "-i", "16")
    piped = {k: v for k, v in env().items() if k != "COLUMNS"}  # whole lines: one note, one line
    out = subprocess.run(command(*args), capture_output=True, text=True, env=piped)
    assert out.returncode == 0 and out.stderr == ""
    notes = [line for line in out.stdout.splitlines() if line.startswith("torch warned: ")]
    assert len(notes) == 1 and "zero-padded copy" in notes[0] and "Triggered internally" not in notes[0]
    data = json.loads(subprocess.run(command(*args, "-f", "json"), capture_output=True, env=env()).stdout)
    assert data["verification"]["warnings"] == [notes[0].removeprefix("torch warned: ")]


HUGE = "9" * 4300  # the longest value accepted: its --explain JSON is about 240 kB, past a pipe's buffer
LONG_OUTPUT = ["conv", HUGE, HUGE, "3", "--no-verify", "-f", "json", "--explain"]


@pytest.mark.slow
def test_reader_that_stops_midway_is_a_closed_pipe():
    """Python's buffered stdout dropped the rest of a partial write and exited 0 with the output cut."""
    proc = subprocess.Popen(command(*LONG_OUTPUT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    proc.stdout.read(10)
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.wait() == 141 and stderr == b""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="file-size limits are POSIX")
def test_file_size_limit_is_one_line_and_exit_2(tmp_path):
    import resource
    import signal

    def limit():  # a 100 kB file-size limit, with SIGXFSZ ignored so the write fails instead
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    with open(tmp_path / "out.json", "wb") as out:
        done = subprocess.run(
            command(*LONG_OUTPUT), stdout=out, stderr=subprocess.PIPE, env=env(), preexec_fn=limit
        )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == ["convcalc: error: cannot write the output: File too large"]


def test_huge_byte_figures_print_true_digits():
    """Decimal's 28 digits printed every digit of a 60-digit size, most of them made up."""
    channels = "1" + "0" * 30
    text = invoke(None, "utf-8", ["conv", channels, channels, "3", "--no-verify"]).stdout
    params_bytes = 9 * 10**60 * 4 + 10**30 * 4  # 3x3 weights and a bias, 4 bytes each
    whole, cents = divmod(round(Fraction(params_bytes * 100, 2**40)), 100)  # exact, rounded half-even
    assert f"{whole:,}.{cents:02d} TiB" in text


def test_ascii_markdown_escapes_what_transliteration_adds():
    text = invoke(None, "ascii", ["compare", "6", "12", "3", "--no-verify", "-f", "markdown"]).stdout
    assert text.isascii() and "Cin\\*Cout\\*k^2" in text


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_bad_input_with_a_full_stderr_still_exits_2():
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            command("conv", "6.0", "10", "3"), stdout=subprocess.PIPE, stderr=full, env=env()
        )
    assert out.returncode == 2 and out.stdout == b""


def test_bare_convcalc_prints_help_and_exits_2():
    result = invoke(None, "utf-8", [])
    assert result.exit_code == 2 and result.stdout.startswith("Usage: ") and "COMMAND [ARGS]" in result.stdout
    assert result.stderr == ""


def test_choice_errors_carry_no_pydantic_prefix(run):
    result = run("compare 6 12 3 --act swish --no-verify")
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: error: Invalid value for '--act': 'swish' is not one of")


@pytest.mark.slow
def test_failed_expect_outranks_a_closed_pipe():
    """A CI check's verdict must survive `| true`: exit 1 and its line, not 141 and nothing."""
    proc = subprocess.Popen(
        command("conv", "6", "10", "3", "--no-verify", "--expect", "params=1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert proc.wait() == 1
    assert "convcalc: expectation not met: params=1, actual 550" in stderr


@pytest.mark.parametrize("columns", ["0", "²", "０", "-5", "abc", ""])
def test_junk_columns_mean_no_width(columns):
    """COLUMNS that is not a positive ASCII number is ignored, as shutil ignores it: a pipe's whole lines."""
    assert (
        invoke(columns, "utf-8", CONV + ["--no-verify"]).stdout
        == invoke(None, "utf-8", CONV + ["--no-verify"]).stdout
    )


def test_dumb_terminal_gets_the_width_asked_for(monkeypatch):
    """rich guesses 80x25 for TERM=dumb unless told the height too; a coloured table then lost columns."""
    monkeypatch.setenv("TERM", "dumb")
    rows = [[(TEXT, "row"), *[(COUNT, 10**12 + i) for i in range(6)]]]
    sheet = Sheet("t", [Column("name"), *[Column(f"c{i}", "r") for i in range(6)]], rows)
    text = re.sub(r"\x1b\[[0-9;]*m", "", write_table(sheet, width=120, color=True))
    assert "…" not in text and "1,000,000,000,005" in text
    assert max(len(line) for line in text.splitlines()) > 80


def test_explain_formulas_wrap_at_spaces_on_a_terminal():
    text = invoke(
        "60",
        "utf-8",
        ["conv", "64", "128", "3", "-p", "1", "-i", "56", "-g", "2", "--no-verify", "--explain"],
    ).stdout
    formulas = text[text.index("output = floor") :].splitlines()
    assert max(map(len, formulas)) <= 60
    assert "    1,605,632 B, params 36,992 x 4 = 147,968 B" in formulas  # hung under its line, number whole

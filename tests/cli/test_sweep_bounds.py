"""A sweep's output and its pool end cleanly whatever happens: a file that cannot take the last chunk,
the plot and the rows on one path, more --jobs than the machine holds, and SIGTERM or SIGHUP while
workers run (none left behind)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convcalc import InvalidSpecError, sweep_rows
from convcalc.core.sweep import parse_sweep


def convcalc(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "convcalc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_file_that_takes_no_last_chunk_is_one_line_and_exit_2(run):
    result = run("sweep --c-in 8 --c-out 8 --kernel 3 -o /dev/full")
    assert result.exit_code == 2
    assert result.stderr.strip() == "convcalc: error: cannot write /dev/full: No space left on device"


def test_the_plot_and_the_rows_on_one_path_are_refused_before_any_work(run, tmp_path):
    path = tmp_path / "x.svg"
    result = run(f"sweep --c-in 8 --c-out 8 --kernel 3 -o {path} --plot {path}")
    assert result.exit_code == 2 and not path.exists()
    assert "--plot:" in result.stderr and "is also --output" in result.stderr


def children(pid: int) -> list[int]:
    """The processes whose parent is pid, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc for the workers")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_stops_the_pool_and_leaves_no_worker(tmp_path, signum, code):
    proc = convcalc(
        "sweep", "--c-in", "1:5000", "--c-out", "8", "--kernel", "3", "-i", "8", "--verify", "-j", "2",
        "-o", str(tmp_path / "rows.csv"),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(children(proc.pid)) < 2 and time.monotonic() < deadline:  # the pool's workers are up
        time.sleep(0.2)
    workers = children(proc.pid)
    assert len(workers) >= 2, "the pool never started"
    time.sleep(1)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stderr.strip().splitlines()[-1] == "convcalc: terminated"
    assert "leaked semaphore" not in stderr
    deadline = time.monotonic() + 10  # the resource tracker goes once the pipe it watches closes
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [(pid, _command(pid)) for pid in workers if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be read


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return ""


def test_python_values_sweep_as_the_command_line_grammar():
    by_text = parse_sweep(
        {"c_in": "16:64:16", "c_out": "64", "kernel": "1,3x5", "groups": "1,dw", "bias": "on,off"}
    )
    rows = sweep_rows(
        c_in=range(16, 65, 16), c_out=64, kernel=[1, (3, 5)], groups=[1, "dw"], bias=[True, False]
    )
    assert rows.count == by_text.count == 4 * 2 * 2 * 2
    assert [r.settings for r in rows] == [r.settings for r in by_text.rows()]
    assert [r.result for r in rows] == [r.result for r in by_text.rows()]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"c_in": range(10, 1)}, "c_in: got range(10, 1); a range must count up and hold a value"),
        ({"c_in": []}, "c_in: got an empty list"),
        ({"kernel": 3.5}, "kernel: got float 3.5; give integers, words or tuples of them"),
        ({"groups": "2,,3"}, "groups: value 2 of '2,,3' is empty"),
    ],
)
def test_bad_python_values_name_the_setting(settings, message):
    with pytest.raises(InvalidSpecError) as caught:
        sweep_rows(**{"c_in": 8, "c_out": 8, "kernel": 3, **settings})
    assert str(caught.value).startswith(message)


def test_rows_say_their_reason_in_the_words_asked_for():
    python = next(r.reason for r in sweep_rows(c_in=6, c_out=12, kernel=3, groups=5) if r.reason)
    shell = next(
        r.reason
        for r in sweep_rows(
            c_in=6, c_out=12, kernel=3, groups=5, words={"groups": "--groups", "in_channels": "C_IN"}
        )
        if r.reason
    )
    assert python.startswith("groups: in_channels=6 is not divisible by groups=5")
    assert shell.startswith("--groups: C_IN=6 is not divisible by groups=5")


def test_verify_counts_the_rows_torch_disagrees_with(monkeypatch):
    from convcalc.measure import sweep as pool

    monkeypatch.setattr(pool, "verify_layer", lambda settings, expected: "MISMATCH: params 1 (torch 2)")
    rows = sweep_rows(c_in=[4, 6], c_out=12, kernel=3, groups="1,5", input=8, verify=True, jobs=1)
    verdicts = [row.verified for row in rows]
    assert verdicts.count("") == 2 and rows.mismatches == 2  # groups 5 divides neither 4 nor 6

"""Commands run in one guarded process of their own, away from pytest's: torch is imported there once.

The process lives under an address-space limit, so a regression fails a test instead of the machine, and
each command reports the peak memory it reached itself: on Linux the process's high-water mark is reset
before every command; elsewhere it is the process's peak so far, an upper bound.
"""

from __future__ import annotations

import json
import resource
import select
import subprocess
import sys
import tempfile

GUARD = 8 * 2**30  # address space the process may reserve before the kernel refuses it

DRIVER = """
import json, resource, shlex, sys
from typer.testing import CliRunner
from convcalc.cli import app

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM, the peak resident set size
    except OSError:
        pass

def peak():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

runner = CliRunner()
for batch in sys.stdin:
    out = []
    for line in json.loads(batch):
        reset_peak()
        r = runner.invoke(app, shlex.split(line), env={"COLUMNS": "100"})
        crashed = r.exception is not None and not isinstance(r.exception, SystemExit)
        out.append({"command": line, "code": r.exit_code, "stdout": r.stdout, "stderr": r.stderr,
                    "crashed": repr(r.exception) if crashed else None, "peak": peak()})
    print(json.dumps(out), flush=True)
"""


def _guard() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GUARD, GUARD))


class Isolated:
    """`isolated(commands)`: each command's exit code, stdout, stderr, crash and peak memory, as dicts.

    A context manager: leaving it ends the process.
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed on __exit__)

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.stderr.close()

    def __call__(self, commands: list[str], timeout: float = 120) -> list[dict]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process and self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(commands) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:  # no answer in time, or the process died: the next call starts a fresh one
            self.stop()
            self.stderr.seek(0)
            died = self.stderr.read()[-2000:]
            raise AssertionError(f"no answer in {timeout} s to {commands}: {died or 'nothing on stderr'}")
        return json.loads(line)

    def start(self) -> None:
        self.stderr.seek(0)
        self.stderr.truncate()
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            preexec_fn=_guard,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.communicate()  # and close the pipes
            self.process = None

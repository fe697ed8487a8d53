"""The `convcalc` program ends without the interpreter's teardown (emit.end_process): what a normal
exit would still have done -- atexit hooks, flushing, waiting for threads -- must still happen."""

import gzip
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # fresh interpreters


def convcalc(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "convcalc", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_atexit_hooks_of_a_model_file_still_run(tmp_path):
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import atexit, sys
            import torch
            atexit.register(lambda: print("hook ran", file=sys.stderr))
            def net():
                return torch.nn.Conv2d(3, 4, 3)
            """
        )
    )
    done = convcalc("model", "m.py:net", "-i", "3x8x8", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"params": 112' in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "hook ran"


def test_a_thread_left_running_is_waited_for(tmp_path):
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import pathlib, threading, time
            import torch
            def later():
                time.sleep(0.5)
                pathlib.Path("written").write_text("done")
            def net():
                threading.Thread(target=later).start()
                return torch.nn.Conv2d(3, 4, 3)
            """
        )
    )
    done = convcalc("model", "m.py:net", "-i", "3x8x8", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "written").read_text() == "done"


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("conv", "6", "10", "3", "-g", "2", "--no-verify"), 0),
        (("conv", "6", "10", "3", "-g", "4", "--no-verify"), 2),
        (("conv", "6", "10", "3", "--expect", "params=1", "--no-verify"), 1),
    ],
)
def test_the_exit_status_is_the_commands(tmp_path, args, status):
    done = convcalc(*args, cwd=tmp_path)
    assert done.returncode == status, done.stderr
    assert done.stdout.endswith("\n") if status != 2 else done.stdout == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_disk_is_still_an_error(tmp_path):
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "convcalc", "conv", "6", "10", "3", "--no-verify"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert "No space left on device" in done.stderr


def test_what_a_model_file_left_open_is_written_and_its_temporary_file_deleted(tmp_path):
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import tempfile
            import torch
            LOG = open("log.txt", "w")  # never closed
            LOG.write("at import\\n")
            SCRATCH = tempfile.NamedTemporaryFile(dir=".", prefix="scratch", delete=True)
            class Net(torch.nn.Conv2d):
                def __init__(self):
                    super().__init__(3, 4, 3)
                    self.trail = open("trail.txt", "w")  # held by the model, never closed
                    self.trail.write("built\\n")
            def net():
                LOG.write("at build\\n")
                return Net()
            """
        )
    )
    done = convcalc("model", "m.py:net", "-i", "3x8x8", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "log.txt").read_text() == "at import\nat build\n"
    assert (tmp_path / "trail.txt").read_text() == "built\n"
    assert not list(tmp_path.glob("scratch*"))


def test_a_daemon_thread_does_not_hold_the_exit(tmp_path):
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import threading, time
            import torch
            def net():
                threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
                return torch.nn.Conv2d(3, 4, 3)
            """
        )
    )
    done = convcalc("model", "m.py:net", "-i", "3x8x8", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"params": 112' in done.stdout


def test_the_users_modules_are_finalised_with_their_globals_and_the_files_beside_them(tmp_path):
    """A __del__ that needs its module's globals, and what a module beside the model file holds (a
    temporary file, a gzip stream), end as at the interpreter's own exit."""
    (tmp_path / "keep.py").write_text("HELD = []\n")
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import gzip, os, tempfile
            import torch
            import keep
            class Scratch:
                def __init__(self):
                    fd, self.path = tempfile.mkstemp(dir=".", prefix="scratch"); os.close(fd)
                def __del__(self):
                    os.remove(self.path)  # `os`: a global, still there when it runs
            S = Scratch()
            def net():
                keep.HELD.append(tempfile.NamedTemporaryFile(dir=".", prefix="held", delete=True))
                stream = gzip.open("log.gz", "wt")
                stream.write("line\\n" * 100)
                keep.HELD.append(stream)
                return torch.nn.Conv2d(3, 4, 3)
            """
        )
    )
    done = convcalc("model", "m.py:net", "-i", "3x8x8", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Exception ignored" not in done.stderr
    assert not list(tmp_path.glob("scratch*")) and not list(tmp_path.glob("held*"))
    assert gzip.decompress((tmp_path / "log.gz").read_bytes()) == b"line\n" * 100


def test_one_file_as_target_and_inputs_is_one_module(tmp_path):
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import dataclasses, sys
            import torch
            print("imported", file=sys.stderr)
            @dataclasses.dataclass
            class Batch:
                x: torch.Tensor
            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.c = torch.nn.Conv2d(3, 4, 3)
                def forward(self, b):
                    assert isinstance(b, Batch), type(b)
                    return self.c(b.x)
            def inputs():
                return (Batch(torch.zeros(1, 3, 8, 8)),)
            """
        )
    )
    done = convcalc("model", "m.py:Net", "--inputs", "m.py:inputs", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("imported") == 1


def test_checks_of_two_folders_each_import_their_own_module_beside_them(tmp_path):
    for folder, width in (("a", 4), ("b", 8)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "common.py").write_text(f"W = {width}\n")
        (tmp_path / folder / "net.py").write_text(
            "import torch\nimport common\ndef build():\n    return torch.nn.Linear(common.W, 2)\n"
        )
    (tmp_path / "convcalc.toml").write_text(
        "[checks]\n"
        'a = "model a/net.py:build -i 4 --expect params=10"\n'
        'b = "model b/net.py:build -i 8 --expect params=18"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "convcalc", "check"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr

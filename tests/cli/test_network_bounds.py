"""What an adversarial run of stack and model found: each ends in one line and exit 2, or in the figures."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Every test starts an interpreter of its own, most of them importing torch: seconds each.
pytestmark = pytest.mark.slow

HOSTILE = textwrap.dedent(
    """
    import os, torch, torch.nn as nn
    print("IMPORT PRINT")

    class Prints(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(3, 4, 3)
        def forward(self, x):
            print("FORWARD PRINT")
            os.write(1, b"raw write\\n")
            return self.c(x)

    class BufferOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("b", torch.ones(3, 1, 1))
        def forward(self, x):
            return x * self.b

    class BigAndDataDependent(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(20000, 20000)  # 1.6 GB of weights: never run unasked
        def forward(self, x):
            if x.sum().item() == 0:  # known on meta: the input convcalc made is zeros
                return self.l(x)[..., self.l.bias > -1]  # a shape from weights: unknown on meta
            return x

    class Unprintable(Exception):
        def __str__(self):
            raise ValueError("boom")

    class RaisesUnprintable(nn.Module):
        def forward(self, x):
            raise Unprintable()

    class RaisesGeneratorExit(nn.Module):
        def forward(self, x):
            raise GeneratorExit()

    class EscapeInName(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("a\\x1b[31mb", nn.ReLU())
        def forward(self, x):
            return getattr(self, "a\\x1b[31mb")(x)
    """
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "hostile.py"
    path.write_text(HOSTILE)
    return str(path)


def convcalc(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "convcalc", *args], capture_output=True, text=True, timeout=120, **kwargs
    )


def one_line(done, *fragments):
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    # what the user's module printed on import comes first, on stderr; then convcalc's one line
    lines = [line for line in done.stderr.strip().splitlines() if line != "IMPORT PRINT"]
    assert len(lines) == 1 and lines[0].startswith("convcalc: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_user_prints_never_reach_the_json(hostile):
    done = convcalc("model", f"{hostile}:Prints", "-i", "3x8x8", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"]["params"] == 4 * 3 * 3 * 3 + 4
    assert "IMPORT PRINT" in done.stderr and "raw write" in done.stderr


def test_a_model_with_buffers_only_stays_on_meta(hostile):
    data = json.loads(convcalc("model", f"{hostile}:BufferOnly", "-i", "3x8x8", "-f", "json").stdout)
    assert data["verification"]["mode"] == "meta" and data["notes"] == []


def test_a_big_model_meta_cannot_run_is_not_run_unasked(hostile):
    done = convcalc("model", f"{hostile}:BigAndDataDependent", "-i", "20000")
    one_line(done, "a real pass on the cpu would need at least 1.49 GiB (its weights, inputs and what it")
    assert done.stderr.rstrip().endswith("run it with --device cpu to insist")


@pytest.mark.parametrize(
    ("name", "shown"),
    [("RaisesUnprintable", "(RaisesUnprintable): Unprintable"), ("RaisesGeneratorExit", "GeneratorExit")],
)
def test_whatever_a_forward_raises_is_one_line(hostile, name, shown):
    one_line(convcalc("model", f"{hostile}:{name}", "-i", "3x8x8"), shown)


def test_control_characters_in_names_are_escaped(hostile):
    done = convcalc("model", f"{hostile}:EscapeInName", "-i", "3x8x8", "-f", "csv")
    assert done.returncode == 0 and "\x1b" not in done.stdout
    assert "a\\x1b[31mb" in done.stdout


@pytest.mark.parametrize("batch", ["100000000000000", str(2**63 - 1), str(10**21)])
def test_a_batch_past_64_bits_is_one_line(batch):
    one_line(convcalc("model", "docs/examples/resnet.py:resnet50", "-i", "3x224x224", "-b", batch), "--input")


def test_huge_integers_in_a_stack_are_figures_not_tracebacks():
    out = "1" + "0" * 4000
    done = convcalc("stack", f"conv out={out} kernel=1; conv out={out} kernel=1", "-i", "3x8x8", "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout) if sys.version_info < (3, 11) else None
    assert done.stdout.count(out) >= 1 and (data is None or data["verification"]["mode"] == "skipped")
    assert "beyond torch's 64-bit" in done.stdout


def test_a_10_to_310_channel_stack_is_not_verified_and_says_why():
    done = convcalc("stack", f"conv out={10**310} kernel=1", "-i", "3x8x8")
    assert done.returncode == 0, done.stderr
    assert "beyond torch's 64-bit sizes" in done.stdout


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("maxpool kernel=200 stride=1", "counted on the meta device, since a real pass"),  # was minutes
        ("avgpool kernel=2", "the real pass failed on cpu"),  # float16 AvgPool3d: no cpu kernel
    ],
)
def test_stacks_torch_cannot_run_quickly_are_counted_on_meta(spec, reason):
    shape = "3x3000x3000" if "200" in spec else "3x8x8x8"
    done = convcalc(
        "stack", spec, "-i", shape, "--dtype", "float16" if "avg" in spec else "float32", "-f", "json"
    )
    assert done.returncode == 0, done.stderr
    verification = json.loads(done.stdout)["verification"]
    assert verification["mode"] == "meta" and reason in verification["reason"]


def test_a_skipped_stack_shows_no_verdict_in_its_total_row():
    done = convcalc("stack", f"conv out={10**30} kernel=3", "-i", "3x8x8", "--columns", "params")
    total = next(line for line in done.stdout.splitlines() if "total" in line)
    assert "ok" not in total


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_spec_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    one_line(convcalc("stack", str(fifo), "-i", "3x8x8"), "not a regular file")


def test_byte_order_marks_are_read_and_other_files_refused(tmp_path):
    spec = tmp_path / "bom.json"
    spec.write_bytes(b"\xef\xbb\xbf" + json.dumps({"input": "3x8x8", "layers": [{"kind": "relu"}]}).encode())
    assert convcalc("stack", str(spec), "--no-verify").returncode == 0
    other = tmp_path / "spec.yaml"
    other.write_text("layers: []")
    one_line(convcalc("stack", str(other), "-i", "3x8x8"), "must end in .toml or .json")


def test_a_model_file_that_rewrites_sys_path_is_one_line(tmp_path):
    path = tmp_path / "paths.py"
    (tmp_path / "helper.py").write_text("X = 1\n")  # found beside it, until the path is gone
    path.write_text("import sys\nsys.path[:] = ['/nowhere']\nimport helper\n")
    one_line(convcalc("model", f"{path}:build", "-i", "3x8x8"), f"TARGET: importing {path} raised")


def test_a_model_raising_keyboard_interrupt_says_so(tmp_path):
    path = tmp_path / "interrupts.py"
    path.write_text(
        "import torch.nn as nn\nclass Stops(nn.Module):\n    def forward(self, x):\n"
        "        raise KeyboardInterrupt\n"
    )
    done = convcalc("model", f"{path}:Stops", "-i", "3x8x8")
    assert done.returncode == 130 and done.stdout == ""
    assert done.stderr == "convcalc: interrupted\n"

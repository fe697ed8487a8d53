"""--backward through every command: the figures as arithmetic, torch's verdict, --expect, the formats, the
plan's bounds. core/backward.py's rules against torch over random layers: tests/measure/test_training.py."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import nets  # tests/nets.py
import torch
from torch.utils.flop_counter import FlopCounterMode

from convcalc.core.results import TRAINING_FIGURES

NETS = Path(__file__).parents[1] / "nets.py"


def checks(data: dict) -> dict[str, dict]:
    return {c["key"]: c for c in data["verification"]["checks"]}


def test_conv_backward_figures_as_arithmetic_and_confirmed(run):
    result = run("conv 6 10 3 -g 2 -i 32 --backward -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    b = data["backward"]
    forward = 10 * (6 // 2) * 3 * 3 * 30 * 30  # MACs of the layer
    assert b["grad_input_macs"] == forward  # conv_transpose(grad_out, w): the forward's work
    assert b["grad_weight_macs"] == forward  # each weight meets each position it touched once
    assert b["backward_flops"] == 2 * (2 * forward)
    assert b["bias_grad_adds"] == 10 * 30 * 30
    params = 4 * (10 * 3 * 3 * 3 + 10)  # float32 bytes of weight and bias
    assert (b["weight_bytes"], b["grad_bytes"], b["sgd_state_bytes"]) == (params, params, params)
    assert b["adam_state_bytes"] == 2 * params + 4 * 2  # exp_avg, exp_avg_sq, a step per tensor
    assert b["saved_bytes"] == 4 * 6 * 32 * 32  # the input
    assert set(b) == {*TRAINING_FIGURES, "convention"}
    found = checks(data)
    assert all(found[key]["ok"] is not False for key in TRAINING_FIGURES)
    assert found["grad_weight_macs"]["ok"] is True and "ungrouped" in found["grad_weight_macs"]["note"]


def test_backward_expect_and_exit_codes(run):
    ok = run("conv 6 10 3 -g 2 -i 32 --backward --no-verify --expect backward_macs=486000")
    assert ok.exit_code == 0, ok.output
    unmet = run("conv 6 10 3 -g 2 -i 32 --backward --no-verify --expect 'adam_total_bytes<1K'")
    assert unmet.exit_code == 1
    assert "expectation not met: adam_total_bytes<1K" in unmet.stderr


def test_conv_backward_rows_in_csv(run):
    result = run("conv 6 10 3 -i 16 --backward --no-verify -f csv")
    keys = [row["key"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert keys[-len(TRAINING_FIGURES) :] == list(TRAINING_FIGURES)


def test_no_verify_backward_never_imports_torch():
    probe = (
        "import sys\nfrom convcalc.cli import main\nsys.argv = ['convcalc', 'conv', '6', '10', '3', "
        "'--backward', '--no-verify', '-f', 'json']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["backward"]["backward_macs"] > 0
    assert done.stderr.strip().splitlines()[-1] == "False"


def test_compare_backward_every_variant(run):
    result = run("compare 8 16 3 -p 1 -i 8 --bn --act relu --backward -f json")
    assert result.exit_code == 0, result.output
    for variant in json.loads(result.stdout):
        if "skipped" in variant:
            continue
        assert variant["backward"]["backward_macs"] == 2 * variant["macs"]  # grad input + grad weight
        assert all(c["ok"] is not False for c in variant["verification"]["checks"])
    table = run("compare 8 16 3 -p 1 -i 8 --backward --no-verify -f csv")
    header = table.stdout.splitlines()[0].split(",")
    assert "backward_macs" in header and "adam_total_bytes" in header


STACK = "conv out=8 kernel=3; bn; relu; dwsep out=16 kernel=3; maxpool kernel=2; flatten; linear out=10"


def test_stack_backward_per_layer_and_total(run):
    result = run(f"stack '{STACK}' -i 3x16x16 -b 2 --backward -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    layers = {row["name"]: row for row in data["layers"]}
    # the batch needs no gradient: the first conv computes grad weight only, its forward's MACs (batch 2)
    assert layers["conv1"]["backward"]["backward_macs"] == 2 * 8 * 3 * 9 * 14 * 14 == 84672
    assert layers["dwsep1.pw"]["backward"]["backward_macs"] == 2 * layers["dwsep1.pw"]["macs"]
    assert layers["linear1"]["backward"]["backward_macs"] == 2 * (2 * 576 * 10)
    assert all(row["ok"] for row in data["layers"])
    total = sum(row["backward"]["backward_macs"] for row in data["layers"])
    assert data["backward"]["backward_macs"] == total
    assert all(c["ok"] is not False for c in data["verification"]["checks"])
    table = run(f"stack '{STACK}' -i 3x16x16 --backward --no-verify")
    assert "bwd MACs" in table.stdout and "training memory:" in table.stdout
    expect = run(f"stack '{STACK}' -i 3x16x16 -b 2 --backward --no-verify --expect conv1.backward_macs=84672")
    assert expect.exit_code == 0, expect.output


def test_a_step_torch_refuses_is_said_not_crashed(run):
    result = run("stack 'linear out=4; bn' -i 8 --backward -f json")  # BatchNorm on one value per channel
    assert result.exit_code == 0, result.output
    found = checks(json.loads(result.stdout))
    assert found["backward_macs"]["measured"] is None
    assert found["backward_macs"]["note"].startswith("training step not measured: torch refuses it: ")
    assert "torch refuses it" in json.loads(result.stdout)["verification"]["training_step"]


def test_a_big_layer_steps_on_meta(run):
    result = run("conv 1024 1024 3 -i 512 -b 8 --backward -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verification"]["mode"] == "meta"
    assert "meta" in checks(data)["saved_bytes"]["note"]


def test_model_backward_is_torchs_count(run):
    result = run(f"model {NETS}:residual -i {'x'.join(map(str, nets.INPUTS['residual']))} --backward -f json")
    assert result.exit_code == 0, result.output
    b = json.loads(result.stdout)["backward"]
    with torch.device("meta"):
        model = nets.residual()
    x = torch.zeros((1, *nets.INPUTS["residual"]), device="meta")
    y = model(x)
    with FlopCounterMode(display=False) as counter:
        y.sum().backward()
    assert b["backward_flops"] == counter.get_total_flops()  # no grouped conv: nothing taken off
    assert b["grad_input_macs"] is None
    trainable = sum(p.numel() * 4 for p in model.parameters())
    assert b["weight_bytes"] == b["grad_bytes"] == trainable


def test_saved_bytes_are_the_tensors_not_a_kernels_larger_storage(run):
    # the CPU's 3-D transposed convolution hands back its output in a storage twice its size
    result = run("stack 'conv out=2 kernel=1 transposed=true; gelu' -i 4x8x8x8 --backward -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the conv's input (for its grad weight) and gelu's input, the conv's output, float32
    assert data["backward"]["saved_bytes"] == 4 * (4 * 8 * 8 * 8) + 4 * (2 * 8 * 8 * 8)
    assert data["ok"]


def test_a_models_failing_backward_is_a_note(run, tmp_path):
    path = tmp_path / "net.py"
    path.write_text(
        "import torch\n"
        "class Fails(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        return x * 2\n"
        "    @staticmethod\n"
        "    def backward(ctx, grad):\n"
        "        raise AssertionError('no backward here')\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = torch.nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        "        return Fails.apply(self.conv(x))\n"
    )
    result = run(f"model {path}:Net -i 3x8x8 --backward -f json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data.get("backward") is None
    assert any("AssertionError: no backward here" in note for note in data["notes"])


def test_backward_columns_and_expect_say_what_they_need(run):
    columns = run("stack 'conv out=2 kernel=3' -i 3x8x8 --columns kind,saved")
    assert columns.exit_code == 2 and "they need --backward" in columns.stderr
    expect = run("conv 6 10 3 --no-verify --expect 'backward_macs<1G'")
    assert expect.exit_code == 2 and "is a --backward figure: add --backward" in expect.stderr

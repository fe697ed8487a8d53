"""`convcalc model` with -i repeated, NAME=SHAPE:DTYPE, --arg and --inputs, as a user types them: the
figures (judged in tests/measure/test_feeds.py), the inputs and outputs lines, JSON, and one line with exit
code 2 for every kind of bad input to the new options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FEEDS = Path(__file__).parents[1] / "feeds.py"


def test_several_inputs_keywords_and_arguments(run):
    result = run(
        f"model {FEEDS}:token_ids -i input_ids=10:int64 -i attention_mask=10:bool --arg use_cache=False"
    )
    assert result.exit_code == 0, result.stderr
    assert "inputs input_ids 1x10 int64; attention_mask 1x10 bool" in result.stdout
    assert "outputs logits 1x10x4 float32; hidden.0 1x10x16 float32; hidden.1 1x16 float32" in result.stdout


def test_one_float_input_keeps_the_plain_input_line(run):
    result = run(f"model {FEEDS}:dataclass_out -i 4x12 -b 2")
    assert "input 2x4x12, float32" in result.stdout and "inputs " not in result.stdout


def test_json_lists_every_input_and_output(run):
    result = run(f"model {FEEDS}:two_inputs -i 3x8x8 -i y=1x8x8 --arg scale=0.5 -f json")
    data = json.loads(result.stdout)
    assert data["inputs"] == [
        {"name": "0", "shape": [1, 3, 8, 8], "dtype": "float32"},
        {"name": "y", "shape": [1, 1, 8, 8], "dtype": "float32"},
    ]
    assert data["outputs"] == [{"path": "", "shape": [1, 8, 8, 8], "dtype": "float32"}]
    assert data["total"]["input_bytes"] == (3 + 1) * 64 * 4


def test_inputs_callable(run):
    result = run(f"model {FEEDS}:two_inputs --inputs {FEEDS}:make_two -f json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["input_shape"] == [2, 3, 8, 8]


def test_expect_an_output_by_its_path(run):
    base = f"model {FEEDS}:token_ids -i input_ids=10:int64"
    assert run(f"{base} --expect outputs.hidden.1=1x16").exit_code == 0
    missed = run(f"{base} --expect outputs.hidden.1=1x17")
    assert missed.exit_code == 1 and "outputs.hidden.1=1x17, actual 1x16" in missed.stderr


def test_a_scalar_output_has_a_shape_expect_can_name(run, tmp_path):
    path = tmp_path / "loss.py"
    path.write_text(
        "import torch\nclass Loss(torch.nn.Module):\n"
        "    def forward(self, x):\n        return {'loss': x.sum()}\n"
    )
    base = f"model {path}:Loss -i 3x8x8"
    table = run(base)
    assert table.exit_code == 0, table.stderr
    assert "Loss │ () │" in " ".join(table.stdout.split())  # the output column: a scalar's shape, not blank
    assert run(f"{base} --expect outputs.loss=()").exit_code == 0
    missed = run(f"{base} --expect outputs.loss=1")
    assert missed.exit_code == 1 and "outputs.loss=1, actual ()" in missed.stderr


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ("-i 3x8x8", "--input: TwoInputs.forward(x, y, scale=1.0): missing a required argument: 'y'"),
        ("-i 3x8x8 -i 1x8x8 --arg nope=1", "unexpected keyword argument 'nope'"),
        ("-i 3x8x8 -i y=1x8x8 -i 1x8x8", "--input: '1x8x8': a positional input after a keyword one"),
        ("-i 3x8x8 -i y=1x8x8 --arg y=1", "'y' is given as an input and an argument"),
        ("-i 3x8x8:float8", "unknown dtype 'float8'"),
        ("-i 3x8x0", "--input"),
        ("-i 2x=3", "'2x' is not a keyword"),
        ("-i 3x8x8 -i 1x8x8 --arg scale", "--arg: 'scale' is not NAME=VALUE"),
        ("-i 3x8x8 -i 1x8x8 --arg scale=os.getcwd()", "--arg: scale: 'os.getcwd()' is not a Python literal"),
        ("-i 3x8x8 -i 1x8x8 --arg scale=1.0 --arg scale=2.0", "--arg: 'scale' is given twice"),
        ("-i 3x8x8 -i 1x8x8 --arg scale=" + "9" * 5000, "more than 4,096 characters"),
        ("-i 1x1x99999999999x99999999999", "--input"),
        ("--inputs nowhere.py:f", "--inputs: no file 'nowhere.py'"),
        ("--inputs FEEDS:make_raises", "--inputs: make_raises() raised ValueError: no data here"),
        ("--inputs FEEDS:make_nothing", "--inputs: make_nothing() returned a int"),
        ("--inputs FEEDS:missing", "--inputs: FEEDS has no attribute 'missing'"),
        ("--inputs FEEDS:make_two -i 3x8x8", "--inputs: your callable makes every input; leave out --input"),
        ("--inputs FEEDS:make_two -b 4", "--inputs: your callable makes the batch; leave out --batch"),
        ("", "--input: required for a model"),
    ],
)
def test_bad_inputs_are_one_line_and_exit_2(run, options, says):
    result = run(f"model {FEEDS}:two_inputs {options.replace('FEEDS', str(FEEDS))}")
    assert result.exit_code == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says.replace("FEEDS", str(FEEDS)) in lines[0], result.stderr


def test_float_ids_are_told_to_be_integers(run):
    result = run(f"model {FEEDS}:token_ids -i input_ids=10")
    assert result.exit_code == 2
    assert "input_ids must be int64" in result.stderr  # the model's own check, named in one line


def test_an_arg_the_forward_does_not_take_is_blamed_on_arg(run, tmp_path):
    path = tmp_path / "two.py"
    path.write_text(
        "import torch.nn as nn\nclass Two(nn.Module):\n"
        "    def forward(self, x, scale=1.0):\n        return x\n"
    )
    result = run("model", f"{path}:Two", "-i", "3x8x8", "--arg", "bogus=1")
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: error: --arg: Two.forward(x, scale=1.0): got an unexpected")


def test_a_meta_tensor_from_inputs_is_refused_for_a_real_pass(run, tmp_path):
    path = tmp_path / "made.py"
    path.write_text(
        "import torch\nimport torch.nn as nn\ndef conv():\n    return nn.Conv2d(3, 4, 3)\n"
        "def on_meta():\n    return torch.zeros(1, 3, 8, 8, device='meta')\n"
    )
    result = run("model", f"{path}:conv", "--inputs", f"{path}:on_meta", "--device", "cpu")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "on_meta() returned a tensor on the meta device" in result.stderr


@pytest.mark.parametrize("given", ["", ":", "nofile.py:build"])
def test_a_bad_target_is_named_before_its_inputs(run, given):
    result = run("model", given)  # no --input either: TARGET's mistake is the one said
    assert result.exit_code == 2 and result.stderr.startswith("convcalc: error: TARGET:")


NAMED_OUTPUTS = {  # a forward returning a named tuple: its outputs are named by its fields
    "collections.namedtuple('Out', 'logits hidden')(x * 2, (x, x))": "logits 1x3x8x8 float32; hidden.0",
    "torch.max(x, dim=1)": "values 1x8x8 float32; indices 1x8x8 int64",
}


@pytest.mark.parametrize(("returned", "listed"), NAMED_OUTPUTS.items())
def test_named_tuples_outputs_are_named_by_their_fields(run, tmp_path, returned, listed):
    path = tmp_path / "named.py"
    path.write_text(
        "import collections, torch\nclass M(torch.nn.Module):\n"
        f"    def forward(self, x):\n        return {returned}\n"
    )
    first = listed.split()[0]
    result = run(f"model {path}:M -i 3x8x8 --expect outputs.{first}={listed.split()[1]}")
    assert result.exit_code == 0, result.stderr
    assert f"outputs {listed}" in result.stdout

"""`convcalc model` on models by name, as a user types them, with stand-ins for the libraries
(tests/stand_ins.py): the input line that says a default was used, JSON, --help, and one line with exit
code 2 for every name that cannot be built (figures judged in tests/measure/test_named.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_the_input_line_says_it_is_the_default(run, stand_ins):
    result = run("model timm:tiny_a --depth 0")
    assert result.exit_code == 0, result.stderr
    line = "input 1x3x32x32, float32 (default: timm's pretrained_cfg input_size; set it with -i)"
    assert line in result.stdout
    assert "model: timm:tiny_a" in result.stdout


def test_hf_ids_by_default_and_given(run, stand_ins, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "text", "vocab_size": 50, "hidden_size": 16}))
    result = run(f"model hf:{config} --depth 0")
    assert result.exit_code == 0, result.stderr
    default = "(default: TextModel's main input, 128 tokens; set it with -i)"
    assert f"inputs input_ids 1x128 int64 {default}" in result.stdout
    given = run(f"model hf:{tmp_path} -i input_ids=7:int64 -i attention_mask=7:bool --depth 0")
    assert "inputs input_ids 1x7 int64; attention_mask 1x7 bool\n" in given.stdout


def test_json_records_the_default(run, stand_ins):
    data = json.loads(run("model torchvision:r3d_tiny -f json -b 2").stdout)
    assert data["default_input"] == "torchvision's video ResNets' clip"
    assert data["inputs"] == [{"name": "0", "shape": [2, 3, 16, 112, 112], "dtype": "float32"}]
    assert "default_input" not in json.loads(run("model torchvision:r3d_tiny -i 3x4x8x8 -f json").stdout)
    schema = (Path(__file__).parents[2] / "docs" / "json-schema.md").read_text()
    assert all(f"`{key}`" in schema for key in data)


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("timm:nope", "TARGET: timm:nope: timm has no model 'nope' (timm.list_models() names them)"),
        ("timm:hf-hub:timm/x", "TARGET: timm:hf-hub:timm/x: give a name from timm.list_models()"),
        ("timm:bare", "--input: required for timm:bare: it names no input; e.g. --input 3x224x224"),
        ("torchvision:nope", "TARGET: torchvision:nope: torchvision has no model 'nope'"),
        ("hf:org/uncached", "TARGET: hf:org/uncached: not in the local Hugging Face cache"),
        ("hf:missing/config.json", "TARGET: hf:missing/config.json: no such file or folder"),
        ("hf:", "TARGET: 'hf:' names no model; use torchvision:NAME, timm:NAME or hf:CONFIG"),
    ],
)
def test_a_name_that_cannot_be_built_is_one_line(run, stand_ins, target, says):
    result = run(f"model {target}")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcalc: error: {says}"), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_missing_library_is_one_line(run, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "transformers", None)  # as if not installed
    result = run("model hf:org/model")
    assert result.exit_code == 2
    assert result.stderr == (
        "convcalc: error: TARGET: hf:org/model: transformers is not installed (pip install transformers)\n"
    )


def test_a_file_target_still_needs_an_input(run):
    result = run("model mypkg.nets:build")
    assert result.exit_code == 2 and "--input: required for a model" in result.stderr


def test_help_names_the_forms(run):
    text = " ".join(run("model --help").stdout.split())
    assert "torchvision:NAME, timm:NAME, hf:CONFIG (a config.json, or a model id in the local" in text
    assert "A model by name has a default: the input its library names" in text


@pytest.mark.parametrize(
    ("target", "says", "hint"),
    [
        ("hf:" + "a" * 5000, "hf:" + "a" * 57 + "...", False),  # cut, never 5,000 letters on a line
        ("hf:" + "a" * 300 + ".json", "no such file or folder", False),  # too long a name for the system
        ("a" * 300 + ".py:m", "TARGET: no file 'aaa", False),
        ("bad\x1b[31m.py:m", "TARGET: no file 'bad\\x1b[31m.py'", False),  # escaped once, not twice
        ("pkg." * 2000 + "m:build", "TARGET: importing pkg.pkg.", False),
        ("hf:a\nb", "hf:a\\nb", False),  # a control character shown escaped: one line
        ("hf:org/model@main", "never downloads", False),  # not an id `hf download` takes
        ("hf:owner/name", "never downloads", True),
    ],
)
def test_odd_targets_are_one_line_and_a_download_hint_only_for_a_hub_id(run, target, says, hint):
    result = run("model", target, "-i", "3x8x8")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and len(line) < 400, line
    assert says in line
    assert ("hf download" in line) == hint

"""`convcalc model` names the ops it could not count, in the notes and in JSON, and `--expect uncounted=0`
holds a model to having none: exit code 1 when one ran, as for any unmet --expect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RECURRENT = Path(__file__).parents[1] / "recurrent.py"


def test_an_uncounted_op_fails_the_expectation(run):
    result = run(f"model {RECURRENT}:pairs -i 12x6 --expect uncounted=0")
    assert result.exit_code == 1
    assert "uncounted ops: aten._trilinear x1 (in pair): they ran without a FLOP formula" in result.stdout
    assert "expect uncounted=0: NOT MET (actual 1)" in result.stdout
    assert result.stderr.strip() == "convcalc: expectation not met: uncounted=0, actual 1"


def test_json_lists_them(run):
    result = run(f"model {RECURRENT}:pairs -i 12x6 --device cpu -f json --expect uncounted<=1")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["ok"]
    assert data["uncounted_ops"] == [{"op": "aten._trilinear", "calls": 1}]
    assert any(note.startswith("uncounted ops: aten._trilinear x1") for note in data["notes"])


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_an_lstm_counted_whole_meets_it(run, device):
    result = run(f"model {RECURRENT}:deep_lstm -i 12x6 --device {device} -f json --expect uncounted=0")
    data = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert data["uncounted_ops"] == [] and data["expectations"][0]["ok"]
    assert not any("uncounted" in note for note in data["notes"])


def test_a_bad_value_is_one_line(run):
    result = run(f"model {RECURRENT}:pairs -i 12x6 --expect uncounted=none")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--expect uncounted: got 'none'" in result.stderr

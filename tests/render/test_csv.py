"""CSV is read by programs: unique, documented header names, every column kept by csv.DictReader."""

import csv
import io
import json
import re
from pathlib import Path

import pytest

SCHEMA = Path(__file__).parents[2] / "docs" / "json-schema.md"


def documented(command: str) -> list[str]:
    """The column names listed, in order, under docs/json-schema.md's `convcalc <command> --format csv`."""
    section = SCHEMA.read_text().split(f"### `convcalc {command} --format csv`")[1].split("\n#")[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


# Every optional column present: verified (measured, ok, note, verification_ok), --bn (buffers).
COMMANDS = {"conv": "conv 6 10 3 -i 8 -f csv", "compare": "compare 6 12 3 -g 2 -g 5 -i 8 --bn -f csv"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_csv_header_is_unique_and_documented(run, command):
    result = run(COMMANDS[command])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert len(set(header)) == len(header), header
    assert header == documented(command)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_dict_reader_keeps_every_column(run, command):
    text = run(COMMANDS[command]).stdout
    rows = list(csv.reader(io.StringIO(text)))
    records = list(csv.DictReader(io.StringIO(text)))
    assert [list(r.values()) for r in records] == rows[1:]
    assert all(None not in r and len(r) == len(rows[0]) for r in records)


def test_compare_csv_ratios_are_both_kept(run):
    record = next(csv.DictReader(io.StringIO(run(COMMANDS["compare"]).stdout)))
    assert (record["variant"], record["ratio_params"], record["ratio_macs"]) == ("standard", "1.0", "1.0")


def test_unverified_csv_leaves_out_the_torch_columns(run):
    header = run("conv 6 10 3 -i 8 --no-verify -f csv").stdout.splitlines()[0]
    assert header == "layer,key,figure,analytic"


def test_explain_is_refused_as_csv(run):
    result = run("conv 6 10 3 -i 8 --no-verify --explain -f csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "convcalc: error: --explain cannot be written as CSV; use -f table, markdown, json or latex\n"
    )


def test_explain_is_in_json(run):
    data = json.loads(run("conv 6 10 3 -i 8 --no-verify --explain -f json").stdout)
    assert data["explanation"][0].startswith("output = floor(")

"""--expect NAME OP VALUE: each operator at its boundary, exact for any size; shapes with = only."""

import json

import pytest

from convcalc.cli import words
from convcalc.core.errors import ExpectError
from convcalc.core.expect import check_expectations, parse_clause
from convcalc.core.results import Expectation

M600 = 600 * 10**6
BIG = 10**5000  # a figure of 5,001 digits
NINES = "9" * 4298  # a value just under the 4,300 characters a clause may carry


def _short(value) -> str:
    """A test id: pytest would print every digit, past what str() of an int allows."""
    text = f"{value.bit_length()}-bit" if type(value) is int else str(value)
    return text if len(text) <= 30 else f"{text[:12]}...{text[-6:]}"


def meets(figure: str, actual, clause: str) -> bool:
    (expectation,) = check_expectations({figure: actual}, [clause])
    return expectation.ok


@pytest.mark.parametrize(
    ("actual", "clause", "ok"),
    [
        # the boundary itself, and one either side
        (M600, "macs<=600M", True),
        (M600 + 1, "macs<=600M", False),
        (M600, "macs<600M", False),
        (M600 - 1, "macs<600M", True),
        (M600, "macs>=600M", True),
        (M600 - 1, "macs>=600M", False),
        (M600, "macs>600M", False),
        (M600 + 1, "macs>600M", True),
        # '=' keeps its rounding to the precision written; the order operators never round
        (M600 + 1, "macs=600M", True),
        (M600 + 1, "macs==600M", True),
        (M600 + 1, "macs<=600000000", False),
        # every scale, exactly
        (2_300_000, "macs<=2.3M", True),
        (2_300_001, "macs<=2.3M", False),
        (1_500, "macs>=1.5K", True),
        (1_499, "macs>=1.5k", False),
        (4 * 10**9, "macs<4G", False),
        (10**12, "macs>=1T", True),
        (10**12 - 1, "macs>=1T", False),
        (3 * 2**9, "param_bytes<=1.5KiB", True),
        (1_537, "param_bytes<=1.5KiB", False),
        (2 * 2**20 + 1, "total_bytes>2MiB", True),
        (2**30, "total_bytes<1GiB", False),
        (0, "params<=0", True),
        (0, "params>0", False),
    ],
)
def test_each_operator_at_its_boundary(actual, clause, ok):
    figure = clause.split("<")[0].split(">")[0].split("=")[0]
    assert meets(figure, actual, clause) is ok


@pytest.mark.parametrize(
    ("actual", "clause", "ok"),
    [
        (0.19444444444444445, "ratio_macs<0.2", True),
        (0.19444444444444445, "ratio_macs>=0.1944", True),
        (0.19444444444444445, "ratio_macs<=0.19444444444444444", False),
        (1 / 5, "ratio_macs<=0.2", True),  # 0.2 as Python prints the float, not its binary expansion
        (1 / 5, "ratio_macs<0.2", False),
        (1 / 5, "ratio_macs>0.19999999999999999999", True),
        (3, "ratio_params>2.5", True),  # a ratio past 1e308 is an int
        (3, "ratio_params<3", False),
    ],
)
def test_ratios_compare_with_plain_decimals(actual, clause, ok):
    figure = clause.split("<")[0].split(">")[0].split("=")[0]
    assert meets(figure, actual, clause) is ok


@pytest.mark.parametrize(
    ("actual", "clause", "ok"),
    [
        (BIG, "macs>=1T", True),
        (BIG, f"macs>{NINES}T", True),
        (BIG, f"macs<={NINES}T", False),
        (int(NINES) * 10**12, f"macs>={NINES}T", True),
        (int(NINES) * 10**12, f"macs>{NINES}T", False),
        (int(NINES) * 10**12 - 1, f"macs<{NINES}T", True),
        # a decimal 4,000 places long, far past Decimal's 28 digits
        (10**12, "macs<1." + "0" * 4000 + "1T", True),
        (10**12, "macs>=1." + "0" * 4000 + "1T", False),
        (10**12 + 1, "macs>1." + "0" * 4000 + "1T", True),
    ],
    ids=_short,
)
def test_huge_figures_compare_exactly(actual, clause, ok):
    assert meets("macs", actual, clause) is ok


@pytest.mark.parametrize(
    ("clause", "parsed"),
    [
        ("macs<=600M", ("macs", "<=", "600M")),
        ("macs <= 600M", ("macs", "<=", "600M")),
        ("  macs<   600M ", ("macs", "<", "600M")),
        ("macs >=1K", ("macs", ">=", "1K")),
        ("macs>1K", ("macs", ">", "1K")),
        ("macs=2.3M", ("macs", "=", "2.3M")),
        ("macs == 2.3M", ("macs", "=", "2.3M")),
        ("MACS<=1", ("macs", "<=", "1")),
        ("output == 1x10x30x30", ("output_shape", "=", "1x10x30x30")),
        ("rf=3", ("receptive_field", "=", "3")),
        ("dwsep.params<126", ("dwsep.params", "<", "126")),
    ],
)
def test_clause_grammar(clause, parsed):
    figures = {"macs": 1, "output_shape": (1,), "receptive_field": (3, 3), "dwsep.params": 126}
    assert parse_clause(clause, figures) == parsed


def refusal(clause: str, figures: dict | None = None) -> str:
    """The one-line message of a refused clause, as the command line says it; from Python it names the
    argument, expect, not the option."""
    figures = figures or {"params": 550, "output_shape": (1, 10, 222, 222), "receptive_field": (3, 3)}
    with pytest.raises(ExpectError) as caught:
        check_expectations(figures, [clause])
    message = words.message(caught.value)
    assert "\n" not in message
    assert str(caught.value) == message.replace("--expect", "expect").replace("--backward", "backward")
    return message


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("output<1x2", "--expect 'output<1x2': shapes are compared with = only, e.g. --expect output=1x2"),
        ("output_shape>=1x10x222x222", "shapes are compared with = only"),
        ("rf <= 3", "--expect 'rf <= 3': shapes are compared with = only, e.g. --expect rf=3"),
        ("effective_kernel>1", "shapes are compared with = only"),
    ],
)
def test_shapes_take_only_equals(clause, message):
    figures = {"output_shape": (1, 10, 222, 222), "receptive_field": (3, 3), "effective_kernel": (3, 3)}
    assert message in refusal(clause, figures)


def test_prefixed_shapes_take_only_equals():
    figures = {"dwsep.output_shape": (1, 12, 222, 222)}
    assert "shapes are compared with = only" in refusal("dwsep.output_shape<1x2", figures)
    assert check_expectations(figures, ["dwsep.output_shape==1x12x222x222"])[0].ok


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("params=<600", "--expect 'params=<600': unknown operator '=<' (did you mean <=?); use one of ="),
        ("params=>600", "unknown operator '=>' (did you mean >=?)"),
        ("params<<600", "--expect 'params<<600': unknown operator '<<'; use one of =, <=, >=, <, > (or ==)"),
        ("params!=600", "unknown operator '!='"),
        ("params<>600", "unknown operator '<>'"),
        ("params===600", "unknown operator '==='"),
        ("params", "--expect 'params': write NAME=VALUE or NAME<=VALUE (operators =, <=, >=, <, >)"),
        ("params<=", "write NAME=VALUE"),
        ("params < = 600", "--expect params: got '= 600'; it must be a number >= 0"),
        ("params<-1", "--expect params: got '-1'; it must be a number >= 0"),
        ("params<1MiB", "KiB, MiB and GiB are for the *_bytes figures"),
        ("parms<=1", "--expect 'parms<=1': unknown figure 'parms'"),
    ],
)
def test_bad_clauses_are_one_line(clause, message):
    assert message in refusal(clause)


def test_expectation_keeps_its_old_constructor():
    old = Expectation("output_shape", "1x2", (1, 2), True)
    assert old.op == "="
    assert old.to_dict() == {
        "key": "output_shape",
        "op": "=",
        "expected": "1x2",
        "actual": [1, 2],
        "ok": True,
    }


PARAMS = 10 * 6 * 3 * 3 + 10  # conv 6 10 3: weights plus bias
MACS = 10 * 6 * 3 * 3 * 222 * 222


def test_cli_met_and_unmet(run):
    ok = run("conv 6 10 3 --no-verify --expect 'params<=600' --expect 'macs>1K'")
    assert ok.exit_code == 0, ok.output
    assert "expect params<=600: ok (actual 550)" in ok.stdout
    bad = run("conv 6 10 3 --no-verify --expect 'params<100' --expect 'macs >= 26.6M'")
    assert bad.exit_code == 1
    assert bad.stderr.splitlines() == [f"convcalc: expectation not met: params<100, actual {PARAMS}"]
    assert "expect params<100: NOT MET (actual 550)" in bad.stdout


def test_cli_equals_reads_as_before(run):
    bad = run("conv 6 10 3 --no-verify --expect 'params == 551'")
    assert bad.stderr.splitlines() == [f"convcalc: expectation not met: params=551, actual {PARAMS}"]


def test_cli_refuses_a_shape_with_an_order(run):
    result = run("conv 6 10 3 --no-verify --expect 'output<1x2'")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "convcalc: error: --expect 'output<1x2': shapes are compared with = only, e.g. --expect output=1x2"
    ]


def test_json_carries_the_operator(run):
    data = json.loads(run("conv 6 10 3 --no-verify -f json --expect 'macs<=600M' --expect params=550").stdout)
    assert data["expectations"][0] == {
        "key": "macs",
        "op": "<=",
        "expected": "600M",
        "actual": MACS,
        "ok": True,
    }
    assert data["expectations"][1]["op"] == "="
    assert data["ok"] is True


def test_compare_json_carries_the_operator(run):
    out = run("compare 6 12 3 --no-bias --no-verify -f json --expect 'dwsep.ratio_macs<0.2'").stdout
    (dwsep,) = [v for v in json.loads(out) if v["variant"] == "dwsep"]
    assert dwsep["expectations"][0]["op"] == "<"
    assert dwsep["expectations"][0]["ok"] is True

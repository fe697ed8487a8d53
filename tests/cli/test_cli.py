"""The command as users type it: formats, --expect, exit codes, one-line errors."""

import csv
import io
import json

import pytest

from convcalc import __version__


def test_version_and_help(run):
    assert run("--version").stdout.strip() == f"convcalc {__version__}"
    help_text = run("conv --help").stdout
    for option in (
        "--stride",
        "--padding",
        "--dilation",
        "--groups",
        "--depthwise",
        "--transposed",
        "--dim",
        "--padding-mode",
        "--input",
        "--batch",
        "--dtype",
        "--device",
        "--no-verify",
        "--full",
        "--format",
        "--expect",
        "--explain",
        "--output-padding",
    ):
        assert option in help_text


def test_table_names_layer_input_device_and_convention(run):
    result = run("conv 6 10 3 -g 2 --no-bias")
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())  # the footnotes wrap at the terminal width
    assert (
        result.stdout.splitlines()[0]
        == "Conv2d(6, 10, kernel_size=(3, 3), stride=(1, 1), groups=2, bias=False)"
    )
    assert "input 1x6x224x224 (default --input" in out
    assert "verified on cpu: real forward pass; torch " in out
    assert "all 13 compared figures agree" in out
    assert "FLOPs = 2 x MACs" in out
    assert "DIFFERS" not in out


def test_json_contract(run):
    data = json.loads(run("conv 6 10 3 -g 2 --no-bias -f json").stdout)
    for key in (
        "layer",
        "input_shape",
        "output_shape",
        "params",
        "weight_params",
        "bias_params",
        "macs",
        "flops",
        "receptive_field",
        "memory",
        "verification",
        "schema_version",
    ):
        assert key in data
    assert data["params"] == 2 * (3 * 3 * 3) * 5
    assert data["flops"] == 2 * data["macs"]
    assert data["output_shape"] == [1, 10, 222, 222]
    ints = [data[k] for k in ("params", "weight_params", "bias_params", "macs", "flops", "bias_adds")]
    assert all(type(v) is int for v in ints + list(data["memory"].values())[1:])
    v = data["verification"]
    assert v["ok"] is True and v["device"] == "cpu" and v["mode"] == "real"
    assert v["torch_version"]
    assert v["measured"]["flops"] == data["flops"]


def test_no_verify_json_has_null_verification(run):
    data = json.loads(run("conv 6 10 3 --no-verify -f json").stdout)
    assert data["verification"] is None
    assert data["params"] == 6 * 10 * 9 + 10


def test_csv_rows_parse_and_carry_raw_integers(run):
    rows = list(csv.DictReader(io.StringIO(run("conv 3 4 3 -p 1 -f csv").stdout)))
    by_key = {r["key"]: r for r in rows}
    assert by_key["params"]["analytic"] == "112" and by_key["params"]["measured"] == "112"
    assert by_key["params"]["ok"] == "yes"
    assert by_key["output_shape"]["analytic"] == "1x4x224x224"
    assert by_key["bias_adds"]["measured"] == ""


def test_markdown_is_a_pipe_table(run):
    out = run("conv 3 4 3 -p 1 -f markdown").stdout
    lines = out.splitlines()
    assert lines[0] == "**Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))**"
    assert "| params (total) | 112 | 112 | ok |" in out
    table = [line for line in lines if line.startswith("|")]
    assert len({line.count(" | ") for line in table[2:]}) == 1


def test_latex_is_booktabs(run):
    out = run("conv 3 4 3 -p 1 -f latex").stdout
    assert r"\toprule" in out and r"\midrule" in out and r"\bottomrule" in out
    assert r"params (total) & 112 & 112 & ok" in out
    assert r"kernel\_size" in out  # underscores escaped


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "latex"])
def test_every_format_reports_the_same_params(run, fmt):
    out = run("conv", "6", "12", "3", "--no-bias", "-f", fmt).stdout
    assert "648" in out


def test_expect_met_and_unmet(run):
    ok = run(
        "conv 6 10 3 -g 2 --no-bias --expect params=270 --expect macs=13.3M"
        " --expect output=1x10x222x222 --expect rf=3"
    )
    assert ok.exit_code == 0, ok.output
    bad = run("conv 6 10 3 -g 2 --no-bias --expect params=271 --expect macs=13.2M")
    assert bad.exit_code == 1
    assert "expectation not met: params=271, actual 270" in bad.stderr
    assert "expectation not met: macs=13.2M, actual 13,306,680" in bad.stderr


def test_expect_appears_in_json(run):
    data = json.loads(run("conv 6 10 3 --expect flops=28M -f json --no-verify").stdout)
    assert data["expectations"] == [
        {"key": "flops", "op": "=", "expected": "28M", "actual": 2 * 222 * 222 * 10 * 54, "ok": False}
    ]
    assert data["ok"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conv", "6", "10", "3", "-g", "4"], "--groups: C_IN=6 is not divisible by groups=4"),
        (["conv", "6", "10", "0"], "KERNEL: got 0"),
        (["conv", "6", "10", "3", "-p", "same", "-s", "2"], "--padding: 'same' needs stride 1"),
        (["conv", "6", "10", "9", "-i", "4"], "KERNEL: effective kernel 9"),
        (["conv", "6", "10", "3x3x3", "-s", "2x2"], "--dim: sizes disagree"),
        (
            ["conv", "6", "10", "3", "-T", "-s", "2", "--output-padding", "2"],
            "--output-padding: 2 must be smaller",
        ),
        (["conv", "6", "10", "3", "--dtype", "int8"], "--dtype"),
        (["conv", "6", "10", "3", "--device", "tpu"], "--device: unknown device 'tpu'"),
        (["conv", "6", "10", "3", "--expect", "parms=3"], "unknown figure 'parms'"),
        (["conv", "6", "10", "3", "--expect", "params"], "write NAME=VALUE"),
        (["conv", "6", "10", "3", "--format", "yaml"], "--format"),
        (["conv", "6", "10", "3x"], "KERNEL: got '3x'; it must be a positive integer such as 3"),
        (["conv", "6", "10", "3", "--depthwise", "-g", "2"], "--depthwise sets groups to C_IN=6"),
        (["conv", "6"], "Missing argument 'C_OUT'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convcalc: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_cuda_without_gpu_names_the_build(run):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    result = run("conv 6 10 3 --device cuda")
    assert result.exit_code == 2
    assert "--device cuda: no CUDA device" in result.stderr
    assert torch.__version__ in result.stderr


def test_meta_device(run):
    data = json.loads(run("conv 6 10 3 --device meta -f json").stdout)
    assert data["verification"]["mode"] == "meta"
    assert data["verification"]["ok"] is True


def test_huge_layer_is_verified_on_meta_and_says_so(run):
    # 64 -> 64, 3x3x3 on a 512^3 volume: ~32 GiB of input alone; must not be run for real
    result = run("conv 64 64 3 --dim 3 --input 512 --device cpu")
    assert result.exit_code == 0, result.output
    assert "counted on the meta device, since a real pass on cpu would need about" in result.stdout
    data = json.loads(run("conv 64 64 3 --dim 3 --input 512 -f json").stdout)
    assert data["verification"]["mode"] == "meta"
    assert data["output_shape"] == [1, 64, 510, 510, 510]


def test_explain_substitutes_the_numbers(run):
    out = run("conv 6 10 3 -g 2 --no-bias --explain --no-verify").stdout
    assert "weight = g x (k x k x Cin/g) x (Cout/g) = 2 x (3 x 3 x 3) x 5 = 270" in out
    assert "FLOPs = 2 x MACs = 2 x 13,306,680 = 26,613,360" in out
    assert "dim 1: floor((224 + 0 + 0 - 1 x (3 - 1) - 1) / 1) + 1 = 222" in out
    data = json.loads(run("conv 4 6 3 -T -s 2 --explain -f json --no-verify").stdout)
    assert any(line.startswith("MACs = N x prod(input)") for line in data["explanation"])


def test_python_dash_m_works_the_same():
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "convcalc",
            "conv",
            "6",
            "10",
            "3",
            "-g",
            "2",
            "--no-bias",
            "--no-verify",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["params"] == 270


def test_render_takes_either_report_and_refuses_the_rest():
    from convcalc import ConvSpec, compare_report, conv_report, render, render_compare
    from convcalc.core.errors import FormatError

    compared = compare_report(ConvSpec(6, 12, 3), verify=False)
    assert render(compared, "csv") == render_compare(compared, "csv")
    layer = conv_report(ConvSpec(6, 10, 3), verify=False)
    with pytest.raises(FormatError, match="format 'yaml' is not one of table, json, csv, markdown, latex"):
        render(layer, "yaml")
    with pytest.raises(
        TypeError, match="render_compare\\(\\) takes a report from compare_report\\(\\); got Report"
    ):
        render_compare(layer)
    with pytest.raises(TypeError, match="got int"):
        render(5)

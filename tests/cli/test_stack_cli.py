"""`convcalc stack` as a user meets it: exit codes, one-line errors, per-layer --expect, verification."""

import json

import pytest

import convcalc.core.network as network
from convcalc import render, stack_report
from convcalc.core.stack_analysis import analyze_stack
from convcalc.core.stack_grammar import parse_stack, preset

SMALL = "'conv out=8 kernel=3 padding=1; bn; relu; dwsep out=16 kernel=3 stride=2; flatten; linear out=4'"


def test_every_layer_and_the_totals_agree_with_torch(run):
    result = run(f"stack {SMALL} -i 3x8x8 -f json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["command"] == "stack" and data["ok"] is True
    names = [layer["name"] for layer in data["layers"]]
    assert names == ["conv1", "bn1", "relu1", "dwsep1.dw", "dwsep1.pw", "flatten1", "linear1"]
    for layer in data["layers"]:
        measured = layer["measured"]
        assert layer["ok"] is True
        assert (measured["output_shape"], measured["params"], measured["macs"]) == (
            layer["output_shape"],
            layer["params"],
            layer["macs"],
        )
    # conv1: 8 * 3 * 3 * 3 weights + 8 biases; its MACs: one per weight and output position
    assert data["layers"][0]["params"] == 8 * 3 * 3 * 3 + 8
    assert data["layers"][0]["macs"] == 8 * 3 * 3 * 3 * 8 * 8
    assert data["total"]["params"] == sum(layer["params"] for layer in data["layers"])
    assert {c["key"]: c["ok"] for c in data["verification"]["checks"]} == dict.fromkeys(
        ["output_shape", "params", "buffers", "macs", "flops"], True
    )


def test_json_keys_are_the_documented_ones(run):
    data = json.loads(run(f"stack {SMALL} -i 3x8x8 --no-verify -f json").stdout)
    assert set(data) >= {"schema_version", "command", "layers", "total", "convention", "expectations", "ok"}
    assert set(data["total"]) == set(network.TOTALS)
    conv = data["layers"][0]
    assert {"name", "kind", "depth", "receptive_field", "jump", "weight_params", "effective_kernel"} <= set(
        conv
    )
    assert conv["measured"] is None and data["verification"] is None


def test_a_layer_torch_disagrees_with_exits_1_and_names_it(run, monkeypatch):
    real = network.analytic_figures

    def off_by_one(*args, **kwargs):
        figures = real(*args, **kwargs)
        return {**figures, "params": figures["params"] + 1}

    monkeypatch.setattr(network, "analytic_figures", off_by_one)
    result = run(f"stack {SMALL} -i 3x8x8")
    assert result.exit_code == 1
    assert "MISMATCH conv1.params: analytic 225 but torch measured 224" in result.stderr
    assert "DIFFERS" in result.stdout


@pytest.mark.parametrize(
    ("clause", "code"),
    [
        # 224 + 16 (bn) + 80 (dw) + 144 (pw) + 16 * 3 * 3 * 4 + 4 (linear) = 1,044
        ("params<=1044", 0),
        ("params<1044", 1),
        ("dwsep1.pw.macs=1152", 0),  # 16 * 8 * 3 * 3: the depthwise half strides 8x8 down to 3x3
        ("conv1.receptive_field=3", 0),
        ("dwsep1.dw.rf=5", 0),
        ("DWSEP1.PW.params=144", 0),  # names in another case still find their layer
        ("linear1.output_shape=1x4", 0),
        ("nolayer.params=1", 2),
    ],
)
def test_expect_reaches_every_layer(run, clause, code):
    result = run("stack", SMALL.strip("'"), "-i", "3x8x8", "--no-verify", "--expect", clause)
    assert result.exit_code == code, result.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("conv out=4 kernel=3; conv out=4 kernel=9", "layer 2 (conv2, conv): kernel:"),
        ("conv out=4 kernel=3 groups=2", "layer 1 (conv1, conv): groups:"),
        ("conv out=4", "kernel"),
        ("conv out=4 kernel=3 wings=2", "wings"),
        ("linear out=3", "add flatten before it"),
        ("", "no layers"),
    ],
)
def test_spec_errors_are_one_line_naming_layer_and_field(run, spec, message):
    result = run("stack", spec, "-i", "3x8x8")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcalc: error: ") and message in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conv out=4 kernel=3"], "--input: the spec names no input"),
        (["conv out=4 kernel=3", "-i", "0x8x8"], "--input: got '0x8x8'"),
        (["conv out=4 kernel=3", "-i", "3x8x8", "--columns", "rf,wat"], "--columns: got 'rf,wat'"),
        ([], "give SPEC"),
        (["--preset", "resnet"], "--preset: unknown preset 'resnet'"),
        (["x.toml"], "x.toml: cannot read the spec file"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(run, args, message):
    result = run("stack", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_stack_too_big_for_torch_is_analytic_only_and_says_why(run):
    result = run("stack", f"conv out={10**30} kernel=3", "-i", "3x8x8", "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["verification"]["mode"] == "skipped"
    assert "beyond torch's 64-bit sizes" in data["verification"]["reason"]
    assert data["total"]["params"] == 10**30 * (3 * 3 * 3 + 1)


def test_a_big_stack_is_counted_on_meta_not_run(run):
    data = json.loads(run("stack --preset vgg16 -f json").stdout)
    assert data["verification"]["mode"] == "meta" and data["ok"] is True
    assert all(layer["measured"]["output_bytes"] is None for layer in data["layers"])


def test_files_and_inline_give_the_same_figures(run, tmp_path):
    path = tmp_path / "net.json"
    layers = [{"kind": "conv", "out": 8, "kernel": 3}, {"kind": "relu"}, {"kind": "maxpool", "kernel": 2}]
    path.write_text(json.dumps({"input": "3x16x16", "layers": layers}))
    from_file = json.loads(run("stack", str(path), "--no-verify", "-f", "json").stdout)
    inline = json.loads(
        run("stack 'conv out=8 kernel=3; relu; maxpool kernel=2' -i 3x16x16 --no-verify -f json").stdout
    )
    assert from_file["total"] == inline["total"]


def test_python_api_renders_like_the_cli(run):
    report = stack_report(parse_stack(preset("mobilenet_v1"), "toml"), verify=False, title="mobilenet_v1")
    cli = run("stack --preset mobilenet_v1 --no-verify -f markdown").stdout
    assert render(report, "markdown") == cli
    assert (
        report.total["params"]
        == analyze_stack(parse_stack(preset("mobilenet_v1"), "toml").layers, (3, 224, 224)).params
    )


@pytest.mark.parametrize(
    ("clause", "code"),
    [("jump=1", 0), ("conv1.jump=1x1", 0), ("jump=2", 1), ("jump<=1", 2), ("rf=3", 0)],
)
def test_jump_is_a_shape_like_the_receptive_field(run, clause, code):
    result = run("stack", "conv out=8 kernel=3", "-i", "3x8x8", "--no-verify", "--expect", clause)
    assert result.exit_code == code, result.stderr


def test_a_missing_spec_path_is_named_not_read_as_layers(run):
    result = run("stack", "nets/student.yaml")
    assert result.exit_code == 2 and "nets/student.yaml: no such spec file" in result.stderr

"""`convcalc model` on the small models of tests/nets.py, judged by torch counted here, independently.

Totals: the parameters, trainable parameters, FLOPs (FlopCounterMode) and output shape of the same model on
the same input. Rows: every layer convcalc models agrees with torch; the others are there with torch's
figures. Receptive field and jump: by gradients on the cpu in float64, the span of inputs one output
depends on and how far it moves between neighbouring outputs. Then the command itself: formats, --depth,
--columns, --expect, --device, and one line on stderr, exit 2, for every kind of bad TARGET.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import modern_nets  # tests/modern_nets.py
import nets  # tests/nets.py
import pytest
import recurrent  # tests/recurrent.py
import torch
from gradients import gradient_span, moved  # tests/gradients.py
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convcalc.api import model_report
from convcalc.core.network import TOTALS

NETS = Path(__file__).parents[1] / "nets.py"
MODELS = sorted(nets.INPUTS)
CONV_MODELS = [
    "grouped_conv",
    "dilated_conv",
    "depthwise_separable",
    "transposed_conv",
    "residual",
    "shared",
    "frozen",
]


def target(name: str) -> str:
    return f"{NETS}:{name}"


def size(name: str) -> str:
    return "x".join(map(str, nets.INPUTS[name]))


def build(name: str, device: str) -> nn.Module:
    with torch.device(device):
        return getattr(nets, name)().eval()


def torch_count(model: nn.Module, shape: tuple[int, ...], device: str, batch: int = 1) -> dict[str, Any]:
    """What torch says of model on a (batch, *shape) input, counted without convcalc."""
    unique = {id(p): p for _, p in model.named_parameters(remove_duplicate=False)}
    x = torch.zeros((batch, *shape), device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    return {
        "params": sum(p.numel() for p in unique.values()),
        "trainable_params": sum(p.numel() for p in unique.values() if p.requires_grad),
        "buffers": sum(b.numel() for b in model.buffers()),
        "macs": counter.get_total_flops() // 2,
        "output_shape": tuple(y.shape),
    }


# ---------------------------------------------------------------------------------------------------
# Totals and rows against torch


@pytest.mark.parametrize("name", MODELS)
def test_totals_are_torch_own_count(name):
    device = "cpu" if name == "meta_hostile" else "meta"  # it cannot be built on meta
    expected = torch_count(build(name, device), nets.INPUTS[name], device)
    report = model_report(target(name), input_size=nets.INPUTS[name])
    got = {key: report.total[key] for key in expected}
    assert got == expected
    assert report.total["non_trainable_params"] == expected["params"] - expected["trainable_params"]
    assert report.total["flops"] == 2 * report.total["macs"]
    assert report.ok


@pytest.mark.parametrize("name", MODELS)
def test_modelled_rows_agree_and_the_others_are_torch_only(name):
    report = model_report(target(name), input_size=nets.INPUTS[name])
    model = build(name, "cpu" if name == "meta_hostile" else "meta")
    names = {n for n, _ in model.named_modules()}
    assert {row.name for row in report.layers} == names  # every module once, the model itself as ""
    for row in report.layers:
        assert row.ok is not False, (row.name, row.mismatches())
        assert row.measured is not None
        module = model.get_submodule(row.name)
        assert row.kind == type(module).__name__
        assert row.measured["params"] == sum(p.numel() for p in module.parameters())
        if row.analytic is not None:
            assert row.leaf and row.ok is True
            assert row.analytic["macs"] == row.measured["macs"]
    assert report.ok


def test_unmodelled_leaves_carry_torch_figures():
    report = model_report(target("custom_leaf"), input_size=nets.INPUTS["custom_leaf"])
    matmul = next(row for row in report.layers if row.kind == "MatMul")
    assert matmul.leaf and matmul.analytic is None and matmul.ok is None
    assert matmul.measured["params"] == 196 * 10
    assert matmul.measured["macs"] == 196 * 10  # (1, 196) @ (196, 10)
    assert matmul.measured["output_shape"] == (1, 10)
    assert matmul.figure("macs") == 196 * 10
    norm = next(r for r in model_report(target("attention"), input_size=(16, 32)).layers if r.name == "norm")
    assert norm.kind == "LayerNorm" and norm.analytic is None
    assert norm.measured["params"] == 2 * 32 and norm.measured["output_shape"] == (1, 16, 32)


def test_shared_module_counts_its_parameters_once_and_its_macs_twice():
    report = model_report(target("shared"), input_size=nets.INPUTS["shared"])
    conv = next(row for row in report.layers if row.name == "conv")
    one_call = 4 * 16 * 16 * (4 * 3 * 3)  # output positions x (C_in x kernel) MACs each
    assert conv.calls == 2
    assert conv.analytic["macs"] == conv.measured["macs"] == 2 * one_call
    assert conv.measured["params"] == 4 * 4 * 3 * 3 + 4
    assert report.total["params"] == 4 * 4 * 3 * 3 + 4
    assert report.total["macs"] == 2 * one_call


@pytest.mark.parametrize(
    ("name", "attention_macs"),
    [
        ("attention", 2 * (16 * 16 * 32)),  # Q K^T and A V: 16 x 16 scores over 32 features, all heads
        ("sdp_attention", 2 * (16 * 16 * 32)),
    ],
)
def test_attention_totals_include_the_attention_matmuls(name, attention_macs):
    report = model_report(target(name), input_size=(16, 32))
    projections = 16 * 32 * 96 + 16 * 32 * 32  # qkv in, then out: tokens x in x out
    mlp = 2 * (16 * 32 * 64) if name == "attention" else 0
    assert report.total["macs"] == projections + attention_macs + mlp
    assert report.total["macs"] == torch_count(build(name, "meta"), (16, 32), "meta")["macs"]
    modelled = sum(row.analytic["macs"] for row in report.layers if row.analytic)
    assert report.total["macs"] - modelled >= attention_macs  # counted outside any layer convcalc models


def test_frozen_layer_is_not_trainable():
    report = model_report(target("frozen"), input_size=nets.INPUTS["frozen"])
    stem = 8 * 3 * 3 * 3 + 8
    assert report.total["params"] == stem + 2 * 8 + 4 * 8 * 3 * 3 + 4
    assert report.total["non_trainable_params"] == stem
    assert report.layers[1].measured["trainable_params"] == 0


def test_a_module_runs_where_it_is_and_batch_scales_the_macs():
    model = nets.residual().eval()  # on the cpu, real weights
    report = model_report(model, input_size=(3, 24, 24), batch=2)
    assert report.verification.device == "cpu" and report.input_shape == (2, 3, 24, 24)
    assert report.total == model_report(target("residual"), input_size="3x24x24", batch=2).total
    assert report.total["macs"] == torch_count(model, (3, 24, 24), "cpu", batch=2)["macs"]
    assert report.total["macs"] == 2 * model_report(model, input_size=(3, 24, 24)).total["macs"]


# ---------------------------------------------------------------------------------------------------
# Receptive field and jump, by gradients


def prepared(name: str) -> nn.Module:
    """The model on the cpu in float64, every parameter a small positive constant, BatchNorm in eval.

    Small rather than 1, so that no ReLU6 or Tanh saturates: every path from input to output then
    carries a non-zero gradient, and the span of non-zero input gradient is the receptive field.
    """
    model = getattr(nets, name)().double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.01)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("name", CONV_MODELS)
def test_receptive_field_and_jump_by_gradient(name):
    model, shape = prepared(name), nets.INPUTS[name]
    report = model_report(model, input_size=shape)
    rows = [r for r in report.layers if r.calls and len(r.measured["output_shape"]) == len(shape) + 1]
    assert rows and all(row.receptive_field is not None for row in rows)
    for row in rows:
        module = model.get_submodule(row.name)
        at = tuple(n // 2 - 1 for n in row.measured["output_shape"][2:])  # interior, and so is at + 1
        first, last = gradient_span(model, module, shape, at)
        spans = [[b - a + 1 for a, b in zip(first, last)]]
        for dim in range(len(at)):
            first_next, last_next = gradient_span(model, module, shape, moved(at, dim))
            spans.append([b - a + 1 for a, b in zip(first_next, last_next)])
            if row.jump is not None:
                assert first_next[dim] - first[dim] == row.jump[dim], (row.name, dim)
        if row.jump is None:  # off a uniform grid (after a strided transposed conv): the widest span
            assert name == "transposed_conv"
            assert tuple(max(s) for s in zip(*spans)) == row.receptive_field, row.name
        else:
            assert all(tuple(s) == row.receptive_field for s in spans), (row.name, spans)
    assert report.total["receptive_field"] == report.layers[0].receptive_field
    assert report.total["jump"] == report.layers[0].jump


def test_residual_field_is_the_wider_path():
    rows = {r.name: r for r in model_report(target("residual"), input_size=(3, 24, 24)).layers}
    stem, inner = rows["stem"].receptive_field, rows["block.bn2"].receptive_field
    assert stem == (3, 3) and inner == (3 + 2 * 2 + 2 * 2,) * 2  # two 3x3 convolutions at jump 2
    assert rows["block"].receptive_field == tuple(max(a, b) for a, b in zip(stem, inner))
    assert rows["block"].jump == (2, 2)


# ---------------------------------------------------------------------------------------------------
# The command


def model_json(run, *args: str) -> dict[str, Any]:
    result = run("model", *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", MODELS)
def test_cli_table(run, name):
    result = run("model", target(name), "-i", size(name))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"model: {target(name)}"
    assert "│ total " in result.stdout
    assert "DIFFERS" not in result.stdout
    model = build(name, "cpu")
    for child, _ in model.named_children():
        assert any(line.startswith(f"│ {child} ") for line in lines), child


def test_depth_hides_rows_never_the_totals(run):
    args = (target("residual"), "-i", "3x24x24")
    deep = run("model", *args).stdout
    assert "block.conv1" in deep
    one = run("model", *args, "--depth", "1").stdout
    assert "│ block " in one and "block.conv1" not in one
    assert "5 layers deeper than --depth 1 not shown; the totals count them" in " ".join(one.split())
    zero = run("model", *args, "--depth", "0").stdout
    assert "│ stem " not in zero and "│ ResidualNet " in zero and "│ total " in zero
    totals = [model_json(run, *args, "--depth", d)["total"] for d in ("0", "1", "3")]
    assert totals[0] == totals[1] == totals[2]


def test_columns_pick_the_table(run):
    result = run("model", target("residual"), "-i", "3x24x24", "--columns", "params,macs")
    assert result.exit_code == 0
    header = next(line for line in result.stdout.splitlines() if "layer" in line)
    assert header.split()[1::2] == ["layer", "params", "MACs", "torch"]
    bad = run("model", target("residual"), "-i", "3x24x24", "--columns", "params,bogus")
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.startswith("convcalc: error: --columns: got 'params,bogus'")
    assert len(bad.stderr.splitlines()) == 1


def test_json_layers_and_total(run):
    data = model_json(run, target("shared"), "-i", "4x16x16")
    assert set(data["total"]) == set(TOTALS)
    report = model_report(target("shared"), input_size=(4, 16, 16))
    assert data["total"] == report.to_dict()["total"]
    assert data["total"]["output_shape"] == [1, 4, 16, 16] and data["total"]["params"] == 148
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert set(by_name) == {"", "conv", "act"}
    conv = by_name["conv"]
    assert conv["calls"] == 2 and conv["kind"] == "Conv2d" and conv["modelled"] is True and conv["ok"]
    assert conv["macs"] == conv["measured"]["macs"] == 2 * 4 * 16 * 16 * 4 * 3 * 3
    assert by_name[""]["depth"] == 0 and by_name["conv"]["depth"] == 1


def test_json_marks_torch_only_layers(run):
    layers = model_json(run, target("custom_leaf"), "-i", "3x16x16")["layers"]
    matmul = next(layer for layer in layers if layer["kind"] == "MatMul")
    assert matmul["modelled"] is False and matmul["ok"] is None
    assert matmul["macs"] == matmul["measured"]["macs"] == 1960


def test_expect_at_the_boundary(run):
    macs = model_report(target("residual"), input_size=(3, 24, 24)).total["macs"]
    args = ("model", target("residual"), "-i", "3x24x24", "-f", "csv")
    assert run(*args, "--expect", f"macs<={macs}").exit_code == 0
    assert run(*args, "--expect", f"macs>={macs}").exit_code == 0
    over = run(*args, "--expect", f"macs<={macs - 1}")
    assert over.exit_code == 1
    assert over.stderr.strip() == f"convcalc: expectation not met: macs<={macs - 1}, actual {macs:,}"
    assert run(*args, "--expect", "block.conv1.macs==82944").exit_code == 0  # 8x12x12 x 8x3x3


def test_forward_failure_names_the_module(run):
    result = run("model", target("broken_forward"), "-i", "3x12x12")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(
        "convcalc: error: forward pass failed in classifier (Linear): RuntimeError:"
    )


@pytest.fixture
def import_error(tmp_path: Path) -> str:
    path = tmp_path / "bad_import.py"
    path.write_text("import torch\nimport no_such_module_for_convcalc_tests\n\ndef build():\n    pass\n")
    return str(path)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("{nets}", "TARGET: got '{nets}'; it must be package.module:callable or path/to/file.py:callable"),
        ("{tmp}/missing.py:build", "TARGET: no file '{tmp}/missing.py'"),
        ("{nets}:no_such_net", "TARGET: {nets} has no attribute 'no_such_net'"),
        ("{imp}:build", "TARGET: importing {imp} raised ModuleNotFoundError: No module named"),
        ("{nets}:NOT_CALLABLE", "TARGET: {nets}:NOT_CALLABLE is not a function or class (it is int)"),
        ("{nets}:not_a_module", "TARGET: {nets}:not_a_module() returned a dict, not a torch.nn.Module"),
        ("no_such_package.nets:build", "TARGET: no module named 'no_such_package'"),
    ],
)
def test_bad_target_is_one_line_exit_2(run, tmp_path, import_error, given, message):
    names = {"nets": NETS, "tmp": tmp_path, "imp": import_error}
    result = run("model", given.format(**names), "-i", "3x8x8")
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"convcalc: error: {message.format(**names)}")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_missing_input_is_one_line_exit_2(run):
    result = run("model", target("residual"))
    assert result.exit_code == 2 and result.stdout == ""
    assert (
        result.stderr
        == "convcalc: error: --input: required for a model, e.g. --input 3x224x224 (channels first)\n"
    )


def test_meta_hostile_constructor_falls_back_to_the_cpu(run):
    result = run("model", target("meta_hostile"), "-i", "3x12x12")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert (
        "built on the cpu: its constructor cannot run on the meta device "
        "(RuntimeError: Tensor.item() cannot be called on meta tensors)" in text
    )
    assert "verified on cpu" in text
    data = model_json(run, target("meta_hostile"), "-i", "3x12x12")
    assert data["verification"]["device"] == "cpu" and any("meta device" in n for n in data["notes"])
    assert data["total"]["params"] == 3 * 4 * 3 * 3 + 4 + 4 * 2 + 2


@pytest.mark.parametrize("name", [*CONV_MODELS, "custom_leaf", "meta_hostile"])
def test_device_cpu_gives_the_meta_totals(run, name):
    on_meta = model_json(run, target(name), "-i", size(name))
    on_cpu = model_json(run, target(name), "-i", size(name), "--device", "cpu")
    assert on_cpu["verification"]["device"] == "cpu"
    assert on_cpu["total"] == on_meta["total"]


# ---------------------------------------------------------------------------------------------------
# Bugs found: convcalc as it should be, failing until fixed.


@pytest.mark.parametrize("name", ["attention", "sdp_attention"])
def test_device_cpu_counts_attention_as_meta_does(name):
    on_meta = model_report(target(name), input_size=(16, 32))
    on_cpu = model_report(target(name), input_size=(16, 32), device="cpu")
    assert on_cpu.total["macs"] == on_meta.total["macs"]


def test_factory_raising_system_exit_is_bad_input(run, tmp_path):
    path = tmp_path / "exits.py"
    path.write_text("def build():\n    raise SystemExit(0)\n")
    result = run("model", f"{path}:build", "-i", "3x8x8")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcalc: error: TARGET: {path}:build() raised SystemExit")


def test_full_reduction_in_forward_is_traced(run):
    result = run("model", target("full_mean"), "-i", "3x8x8", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total"]["macs"] == 4 * 6 * 6 * 3 * 3 * 3


def test_failure_after_a_caught_error_names_the_model(run):
    result = run("model", target("swallowed_error"), "-i", "3x8x8")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "convcalc: error: forward pass failed in the model (Swallows): RuntimeError: shape '[-1, 7]'"
    )


@pytest.mark.parametrize(("name", "params"), [("cpu_buffer", 112), ("stray_parameter", 116)])
def test_stray_cpu_tensors_are_moved_to_meta(run, name, params):
    data = model_json(run, target(name), "-i", "3x8x8")
    assert data["verification"]["device"] == "meta"
    assert data["notes"][0].startswith("moved to the meta device: 1 of its parameters and buffers")
    assert data["total"]["params"] == params
    on_cpu = model_json(run, target(name), "-i", "3x8x8", "--device", "cpu")
    assert on_cpu["verification"]["device"] == "cpu" and on_cpu["total"] == data["total"]
    real = torch_count(build(name, "cpu"), (3, 8, 8), "cpu")
    assert data["total"]["macs"] == real["macs"]


MASK_INPUTS = ("-i", "ids=6:int64", "-i", "mask=6:bool", "-b", "2")


def test_values_read_from_the_inputs_are_known_on_meta(run):
    data = model_json(run, target("reads_mask"), *MASK_INPUTS)
    assert data["verification"]["device"] == "meta"
    assert any(n.startswith("on the meta device its forward read 2 values") for n in data["notes"])
    model = build("reads_mask", "cpu")
    ids, mask = torch.zeros(2, 6, dtype=torch.long), torch.ones(2, 6, dtype=torch.bool)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(ids, mask)
    assert data["total"]["macs"] == counter.get_total_flops() // 2 == 2 * 6 * 8 * 8  # proj alone
    on_cpu = model_json(run, target("reads_mask"), *MASK_INPUTS, "--device", "cpu")
    assert on_cpu["total"] == data["total"]


def test_values_read_from_weights_are_guessed_on_meta_and_said():
    report = model_report(build("reads_weights", "meta"), input_size=(3, 8, 8))
    guessed = "read 1 value, 1 of them from what meta holds no"
    assert any(guessed in n and "taken as 0" in n for n in report.notes)
    assert not any("\x00" in n for n in report.notes)  # every setting named in words
    assert report.total["macs"] == 4 * 6 * 6 * 27  # the guess skipped `extra`: said, not hidden


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("reads_weights", "(on meta it had to guess values its weights give)"),
        ("selects_by_weights", "(forward pass failed"),
    ],
)
def test_a_small_model_meta_cannot_run_exactly_runs_on_the_cpu(run, name, why):
    data = model_json(run, target(name), "-i", "3x8x8")
    assert data["verification"]["device"] == "cpu"
    note = next(n for n in data["notes"] if n.startswith("run on the cpu"))
    assert why in note
    real = torch_count(build(name, "cpu"), (3, 8, 8), "cpu")
    assert data["total"]["macs"] == real["macs"]


def test_device_cpu_runs_a_forward_meta_cannot(run):
    data = model_json(run, target("selects_by_weights"), "-i", "3x8x8", "--device", "cpu")
    assert data["verification"]["device"] == "cpu" and data["verification"]["mode"] == "real"
    assert not any(n.startswith("run on the cpu") for n in data["notes"])  # asked for: no excuse made
    assert data["total"]["macs"] == torch_count(build("selects_by_weights", "cpu"), (3, 8, 8), "cpu")["macs"]


def test_containers_looped_over_get_their_childrens_sums(run):
    model = build("looped", "cpu")
    with torch.no_grad():  # torch's count of each container's children, run as the forward runs them
        y = model.stem(torch.zeros(1, *nets.INPUTS["looped"]))
        with FlopCounterMode(display=False) as blocks:
            for layer in (layer for block in model.blocks for layer in block):
                y = layer(y)
        with FlopCounterMode(display=False) as head:
            for layer in model.head:
                y = layer(y)
    counts = {"blocks": blocks.get_total_flops() // 2, "head": head.get_total_flops() // 2}
    data = model_json(run, target("looped"), "-i", size("looped"), "--depth", "2")
    rows = {row["name"]: row for row in data["layers"]}
    for name in ("blocks", "head"):
        assert rows[name]["calls"] == 0 and rows[name]["summed"] is True
        assert rows[name]["macs"] == counts[name] > 0
    assert rows["blocks.0"]["summed"] and rows["blocks.0"]["macs"] == rows["blocks.0.0"]["macs"]
    assert rows["blocks"]["input_shape"] == rows["blocks.0.0"]["input_shape"]
    assert rows["blocks"]["output_shape"] == rows["blocks.1.0"]["output_shape"]
    assert rows["head"]["receptive_field"] == data["total"]["receptive_field"]
    assert rows["unused"]["calls"] == 0 and rows["unused"]["summed"] is False and rows["unused"]["macs"] == 0
    assert any(n.startswith("children summed: blocks, blocks.0, blocks.1, head:") for n in data["notes"])
    table = run("model", target("looped"), "-i", size("looped"), "--depth", "1").stdout
    assert "blocks (children summed)" in table and "unused (not called)" in table


# Every model of the suite, with the inputs it takes (nets.INPUTS, and the ones that read values or stray).
EVERY_MODEL = {
    **{name: {"input_size": nets.INPUTS[name]} for name in MODELS},
    "cpu_buffer": {"input_size": (3, 8, 8)},
    "stray_parameter": {"input_size": (3, 8, 8)},
    "full_mean": {"input_size": (3, 8, 8)},
    "reads_weights": {"input_size": (3, 8, 8)},
    "selects_by_weights": {"input_size": (3, 8, 8)},
    "reads_mask": {"inputs": ["ids=6:int64", "mask=6:bool"], "batch": 2},
}
# What only a real pass can measure, and the memory torch's allocator reports, differ by design.
DEVICE_BOUND = {"param_bytes", "weight_bytes", "grad_bytes", "sgd_state_bytes", "adam_state_bytes"}


# The modern networks' stand-ins (tests/modern_nets.py) and the recurrent ones (tests/recurrent.py).
OTHER_FILES = {
    **{f"modern_nets.py:{name}": {"input_size": shape} for name, shape in modern_nets.INPUTS.items()},
    **{
        f"recurrent.py:{name}": {"input_size": recurrent.INPUT, "batch": 2}
        for name in ("lstm", "gru", "rnn", "deep_lstm", "packed_full", "packed_ragged", "pairs")
    },
}


@pytest.mark.parametrize("name", sorted(EVERY_MODEL) + sorted(OTHER_FILES))
def test_cpu_and_meta_give_the_same_forward_and_backward_figures(name):
    given = EVERY_MODEL.get(name) or OTHER_FILES[name]
    where = target(name) if name in EVERY_MODEL else str(NETS.parent / name)
    on_meta = model_report(where, device="meta", backward=True, **given)
    on_cpu = model_report(where, device="cpu", backward=True, **given)
    assert on_cpu.verification.device == "cpu"
    assert on_cpu.total == on_meta.total
    assert on_meta.backward is not None and on_cpu.backward is not None, (on_meta.notes, on_cpu.notes)
    for key in ("backward_macs", "backward_flops", "saved_bytes"):
        assert on_cpu.backward[key] == on_meta.backward[key], key


def test_a_loop_run_twice_gives_its_container_the_last_runs_field():
    report = model_report(target("looped_twice"), input_size=(4, 12, 12), depth=1)
    rows = {row.name: row for row in report.layers}
    assert rows["blocks"].summed
    assert rows["blocks"].receptive_field == report.total["receptive_field"] == (9, 9)  # four 3x3 convs

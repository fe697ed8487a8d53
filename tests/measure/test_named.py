"""model_report() on models by name (measure/named.py), built by stand-ins for torchvision, timm and
transformers (tests/stand_ins.py) on the meta device: the default input each library names, the inputs
given instead, the figures computed here by hand; and one BERT built by the real transformers, where it is
installed, judged against torch's own count."""

from __future__ import annotations

import json
import os

import pytest

from convcalc.api import model_report
from convcalc.core.errors import ConvCalcError, TargetError


def test_timm_default_input_is_its_input_size(stand_ins):
    report = model_report("timm:tiny_a")
    assert report.input_shape == (1, 3, 32, 32)
    assert report.default_input == "timm's pretrained_cfg input_size"
    assert report.total["macs"] == 8 * 30 * 30 * (3 * 3 * 3)  # out channels x positions x taps
    assert report.total["params"] == 8 * 3 * 3 * 3 + 8
    assert report.verification.device == "meta"
    assert report.to_dict()["default_input"] == "timm's pretrained_cfg input_size"


def test_an_input_given_replaces_the_default(stand_ins):
    report = model_report("timm:tiny_b.tagged", input_size="3x10x10", batch=2)
    assert report.input_shape == (2, 3, 10, 10)
    assert report.default_input == "" and "default_input" not in report.to_dict()
    assert report.total["macs"] == 2 * 8 * 8 * 8 * 27


def test_timm_model_naming_no_input_needs_one(stand_ins):
    with pytest.raises(ConvCalcError, match="inputs: required for timm:bare: it names no input"):
        model_report("timm:bare")


@pytest.mark.parametrize(
    ("name", "inputs", "macs"),
    [
        ("classifier", [(1, 3, 224, 224)], 4 * 109 * 109 * (3 * 7 * 7)),
        ("detector", [(1, 3, 224, 224)], 2 * 224 * 224 * 3),  # its backbone's weights were refused
        ("r3d_tiny", [(1, 3, 16, 112, 112)], 4 * 14 * 110 * 110 * (3 * 27)),
        ("raft_tiny", [(1, 3, 224, 224), (1, 3, 224, 224)], 2 * 224 * 224 * 6),
    ],
)
def test_torchvision_defaults_by_kind(stand_ins, name, inputs, macs):
    report = model_report(f"torchvision:{name}")
    assert [shape for _, shape, _ in report.inputs] == inputs
    assert report.total["macs"] == macs
    assert report.default_input.startswith(("torchvision's", "two images"))


def test_hf_config_json_gives_ids_of_its_positions(stand_ins, tmp_path):
    config = tmp_path / "text.json"
    config.write_text(json.dumps({"model_type": "text", "vocab_size": 50, "hidden_size": 16}))
    report = model_report(f"hf:{config}")
    assert report.inputs == (("input_ids", (1, 128), "int64"),)
    assert report.default_input == "TextModel's main input, 128 tokens"
    assert report.total["macs"] == 128 * 16 * 16  # the linear layer on every token
    assert report.total["params"] == 50 * 16 + 16 * 16 + 16
    config.write_text(
        json.dumps({"model_type": "text", "vocab_size": 50, "hidden_size": 16, "n_positions": 32})
    )
    assert model_report(f"hf:{config}").inputs == (("input_ids", (1, 32), "int64"),)
    assert "HF_HUB_OFFLINE" not in os.environ  # set only while the library reads and builds


def test_hf_folder_with_an_image_model(stand_ins, tmp_path):
    (tmp_path / "vit").mkdir()
    (tmp_path / "vit" / "config.json").write_text(
        json.dumps({"model_type": "vision", "num_channels": 1, "image_size": [16, 32]})
    )
    report = model_report(f"hf:{tmp_path / 'vit'}", batch=3)
    assert report.inputs == (("pixel_values", (3, 1, 16, 32), "float32"),)
    assert report.total["macs"] == 3 * 8 * 4 * 8 * 16


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"model_type": "points"}, "its main input is 'input_points', whose shape convcalc does not know"),
        ({"hidden_size": 4}, "transformers cannot read its config: ValueError: Unrecognized model"),
    ],
)
def test_hf_without_a_default_or_a_model_type(stand_ins, tmp_path, config, says):
    (tmp_path / "c.json").write_text(json.dumps(config))
    with pytest.raises(ConvCalcError) as caught:
        model_report(f"hf:{tmp_path / 'c.json'}")
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("timm:nope", "TARGET: timm:nope: timm has no model 'nope' (timm.list_models() names them)"),
        ("torchvision:nope", "TARGET: torchvision:nope: torchvision has no model 'nope'"),
        (
            "hf:org/not-cached",
            "TARGET: hf:org/not-cached: not in the local Hugging Face cache, and convcalc never",
        ),
    ],
)
def test_unknown_names(stand_ins, target, says):
    with pytest.raises(TargetError) as caught:
        model_report(target)
    assert str(caught.value).startswith(says)


@pytest.mark.parametrize(
    ("prefix", "package"), [("timm", "timm"), ("torchvision", "torchvision"), ("hf", "transformers")]
)
def test_a_library_not_installed(monkeypatch, prefix, package):
    monkeypatch.setitem(__import__("sys").modules, package, None)  # import fails as if it were absent
    with pytest.raises(TargetError) as caught:
        model_report(f"{prefix}:tiny")
    assert str(caught.value) == f"TARGET: {prefix}:tiny: {package} is not installed (pip install {package})"


def test_a_library_that_fails_on_import(stand_ins):
    (stand_ins / "torchvision" / "__init__.py").write_text(
        "raise RuntimeError('operator torchvision::nms does not exist')\n"
    )
    with pytest.raises(TargetError) as caught:
        model_report("torchvision:classifier")
    assert str(caught.value) == (
        "TARGET: torchvision:classifier: torchvision raised RuntimeError: operator torchvision::nms does not "
        "exist on import"
    )


def test_a_real_bert_from_its_config_json(tmp_path):
    transformers = pytest.importorskip("transformers")
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    config = transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=100
    )
    config.save_pretrained(tmp_path)
    report = model_report(f"hf:{tmp_path / 'config.json'}")
    assert report.inputs == (("input_ids", (1, 128), "int64"),)
    with torch.device("meta"):
        bert = transformers.BertModel(config).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        bert(input_ids=torch.zeros(1, 128, dtype=torch.int64, device="meta"))
    assert report.total["macs"] == counter.get_total_flops() // 2 > 0
    assert report.total["params"] == sum(p.numel() for p in bert.parameters())
    assert report.verification.device == "meta" and report.ok


def test_built_again_on_the_cpu_when_asked(stand_ins):
    report = model_report("timm:tiny_a", device="cpu")
    assert report.verification.device == "cpu" and report.verification.mode == "real"
    assert report.input_shape == (1, 3, 32, 32) and report.default_input
    assert report.total["macs"] == 8 * 30 * 30 * 27

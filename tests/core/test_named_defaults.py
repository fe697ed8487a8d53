"""A model by name (core/named.py): the TARGET forms, what is refused before any library is imported, and
the default input each library's own description of a model gives, from configs written here."""

from __future__ import annotations

from types import SimpleNamespace as Config

import pytest

from convcalc.core.errors import TargetError
from convcalc.core.inputs import InputSpec
from convcalc.core.named import (
    check_named,
    config_path,
    hf_default,
    named_form,
    timm_default,
    torchvision_default,
)


@pytest.mark.parametrize(
    ("target", "form"),
    [
        ("timm:resnet50", ("timm", "resnet50")),
        ("torchvision:r3d_18", ("torchvision", "r3d_18")),
        ("hf:google-bert/bert-base-uncased", ("hf", "google-bert/bert-base-uncased")),
        ("hf:C:/models/config.json", ("hf", "C:/models/config.json")),  # the first colon only
        ("mypkg.nets:build", None),
        ("nets.py:build", None),
        ("timm", None),
    ],
)
def test_named_form(target, form):
    assert named_form(target) == form


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("timm:", "'timm:' names no model; use torchvision:NAME, timm:NAME or hf:CONFIG"),
        ("hf: ", "names no model"),
        ("timm:hf-hub:timm/resnet50.a1_in1k", "give a name from timm.list_models(); a hub address would"),
        ("timm:local-dir:/models/x", "a hub address would download"),
        ("hf:./nothere/config.json", "TARGET: hf:./nothere/config.json: no such file or folder"),
    ],
)
def test_refused_before_any_import(target, says):
    with pytest.raises(TargetError) as caught:
        check_named(target)
    assert says in str(caught.value)


def test_an_hf_folder_needs_its_config_json(tmp_path):
    with pytest.raises(TargetError, match="the folder holds no config.json"):
        check_named(f"hf:{tmp_path}")
    (tmp_path / "config.json").write_text("{}")
    assert check_named(f"hf:{tmp_path}") == ("hf", str(tmp_path))


@pytest.mark.parametrize(
    ("name", "local"),
    [("config.json", True), ("./tiny", True), ("/abs/path", True), ("~/x.json", True), ("org/model", False)],
)
def test_a_path_or_a_model_id(name, local):
    assert (config_path(name) is not None) == local


def ids(length, name="input_ids"):
    return InputSpec(name, (length,), "int64")


def pixels(*shape):
    return InputSpec("pixel_values", shape)


def audio(*shape, name="input_values"):
    return InputSpec(name, shape)


@pytest.mark.parametrize(
    ("main", "config", "specs"),
    [
        ("input_ids", Config(max_position_embeddings=512), (ids(128),)),
        ("input_ids", Config(max_position_embeddings=64), (ids(64),)),
        ("input_ids", Config(), (ids(128),)),  # T5: relative positions
        (
            "input_ids",  # an encoder-decoder's forward needs the decoder's ids too
            Config(is_encoder_decoder=True, max_position_embeddings=1024, max_target_positions=32),
            (ids(128), ids(32, "decoder_input_ids")),
        ),
        ("input_ids", Config(text_config=Config(max_position_embeddings=77)), (ids(77),)),
        ("pixel_values", Config(image_size=64), (pixels(3, 64, 64),)),
        ("pixel_values", Config(image_size=[32, 48], num_channels=1), (pixels(1, 32, 48),)),
        ("pixel_values", Config(), (pixels(3, 224, 224),)),  # a CNN names no size
        ("pixel_values", Config(vision_config=Config(image_size=336)), (pixels(3, 336, 336),)),
        ("pixel_values", Config(image_size=32, num_frames=8), (pixels(8, 3, 32, 32),)),
        ("input_values", Config(), (audio(16_000),)),  # one second at 16 kHz
        ("input_values", Config(sampling_rate=24_000, audio_channels=2), (audio(2, 24_000),)),
        ("input_values", Config(max_length=1024, num_mel_bins=128), (audio(1024, 128),)),
        (
            "input_features",  # Whisper: 30 s of mel frames, two per encoder position
            Config(
                num_mel_bins=80, max_source_positions=1500, is_encoder_decoder=True, max_target_positions=448
            ),
            (audio(80, 2 * 1500, name="input_features"), ids(128, "decoder_input_ids")),
        ),
    ],
)  # fmt: skip
def test_hf_default_from_the_main_input_and_config(main, config, specs):
    found, whose = hf_default(main, config, "Net")
    assert found == specs
    assert whose.startswith("Net's main input")


@pytest.mark.parametrize("main", ["input_points", "input_features", None])
def test_hf_main_inputs_without_a_known_shape(main):
    assert hf_default(main, Config(), "Net") is None


def test_timm_default_is_its_input_size():
    assert timm_default({"input_size": (3, 288, 288)}) == (
        (InputSpec(None, (3, 288, 288)),),
        "timm's pretrained_cfg input_size",
    )
    assert timm_default(Config(input_size=[3, 32, 32]))[0] == (InputSpec(None, (3, 32, 32)),)
    assert timm_default({}) is None


@pytest.mark.parametrize(
    ("module", "shapes"),
    [
        ("torchvision.models.resnet", [(3, 224, 224)]),
        ("torchvision.models.segmentation.deeplabv3", [(3, 224, 224)]),
        ("torchvision.models.video.resnet", [(3, 16, 112, 112)]),
        ("torchvision.models.video.mvit", [(3, 16, 224, 224)]),
        ("torchvision.models.optical_flow.raft", [(3, 224, 224), (3, 224, 224)]),
    ],
)
def test_torchvision_default_by_the_builders_module(module, shapes):
    specs, _ = torchvision_default(module)
    assert [spec.shape for spec in specs] == shapes
    assert all(spec.name is None and spec.dtype is None for spec in specs)

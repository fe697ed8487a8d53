"""Models by name as `convcalc model`'s TARGET: `torchvision:NAME`, `timm:NAME` and `hf:CONFIG`, and the input
each library says its model takes, the default when no input is given. Standard library only: the
libraries themselves are imported in measure/named.py, and only when a TARGET names one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import TargetError, printable, short
from .inputs import InputSpec

# A TARGET's prefix, and the package it needs (what is imported, and what `pip install` names).
LIBRARIES = {"torchvision": "torchvision", "timm": "timm", "hf": "transformers"}
NAMED_FORM = "torchvision:NAME, timm:NAME or hf:CONFIG (a config.json or a model id in the local cache)"

# A default input and what the table says of it: the specs, and whose default they are.
Default = tuple[tuple[InputSpec, ...], str]

TOKENS = 128  # a text model's default ids: a sentence or two, fewer only where its positions are fewer
SAMPLES = 16_000  # an audio model's default waveform: one second at 16 kHz, wav2vec2's and HuBERT's rate
FRAMES = 16  # a video model's default clip, as torchvision's and VideoMAE's are trained
IMAGE = 224  # an image model's side where its library names none


def named_form(target: str) -> tuple[str, str] | None:
    """(prefix, name) where TARGET names a model by its library; None for `module:callable` forms."""
    prefix, colon, name = target.partition(":")
    return (prefix, name) if colon and prefix in LIBRARIES else None


def check_named(target: str) -> tuple[str, str]:
    """A named TARGET's prefix and name, checked without importing anything: a name is given; a timm name
    is not a hub address (that would download); an hf: path is there."""
    prefix, name = named_form(target) or ("", "")
    if not name.strip():
        raise TargetError(f"TARGET: {target!r} names no model; use {NAMED_FORM}")
    if prefix == "timm" and (":" in name or "/" in name):
        raise TargetError(
            f"TARGET: {shown(target)}: give a name from timm.list_models(); a hub address would download"
        )
    if prefix == "hf" and "://" in name:
        raise TargetError(
            f"TARGET: {shown(target)}: an address, and convcalc never downloads; give a model id (org/name) "
            "already in the local Hugging Face cache, or a config.json's path"
        )
    if prefix == "hf" and config_path(name) is not None:
        path = config_path(name)
        if not _there(path):
            raise TargetError(f"TARGET: {shown(target)}: no such file or folder")
        if path.is_dir() and not (path / "config.json").is_file():
            raise TargetError(f"TARGET: {shown(target)}: the folder holds no config.json")
    return prefix, name


# A Hugging Face hub id as `hf download` takes it: a name, or an owner and a name.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?", re.ASCII)


def shown(target: str) -> str:
    """TARGET as a message shows it: escaped, and cut when too long to read (a name of 5,000 letters)."""
    return printable(short(target, 120))


def _there(path: Path) -> bool:
    """Whether a path exists; a name the system refuses outright (too long) is not there."""
    try:
        return path.exists()
    except OSError:
        return False


def config_path(name: str) -> Path | None:
    """hf:CONFIG as a local path (a .json file, or a folder holding config.json), or None for a model id
    (`org/name`) to be found in the local Hugging Face cache."""
    path = Path(name).expanduser()
    local = name.endswith(".json") or name.startswith((".", "/", "~")) or _there(path)
    return path if local else None


def hf_default(main: str | None, config: Any, model: str) -> Default | None:
    """The input a Hugging Face model's main_input_name says it takes, sized from its config; None where
    convcalc knows no shape for it."""
    if main == "input_ids":
        length = _tokens(config, "max_position_embeddings", "n_positions")
        specs = [InputSpec("input_ids", (length,), "int64")]
        if _get(config, "is_encoder_decoder"):  # T5, BART, Whisper: their forward needs the decoder's ids
            specs.append(InputSpec("decoder_input_ids", (_tokens(config, "max_target_positions"),), "int64"))
        return tuple(specs), f"{model}'s main input, {length} tokens"
    if main == "pixel_values":
        side = _get(config, "image_size") or IMAGE
        height, width = (side, side) if isinstance(side, int) else tuple(side)[-2:]
        image = (_get(config, "num_channels") or 3, height, width)
        frames = _get(config, "num_frames")  # VideoMAE, TimeSformer, ViViT: frames before channels
        shape = (frames, *image) if frames else image
        return (InputSpec("pixel_values", shape),), f"{model}'s main input, image_size {height}x{width}"
    if main == "input_values":
        if _get(config, "max_length") and _get(config, "num_mel_bins"):  # AST: a spectrogram
            shape: tuple[int, ...] = (_get(config, "max_length"), _get(config, "num_mel_bins"))
            return (InputSpec("input_values", shape),), f"{model}'s main input, its max_length"
        rate = _get(config, "sampling_rate") or SAMPLES
        channels = _get(config, "audio_channels")
        shape = (channels, rate) if channels else (rate,)
        return (InputSpec("input_values", shape),), f"{model}'s main input, one second of audio"
    if main == "input_features" and _get(config, "num_mel_bins") and _get(config, "max_source_positions"):
        frames = 2 * _get(config, "max_source_positions")  # Whisper: 30 s of mel frames, halved by a conv
        specs = [InputSpec("input_features", (_get(config, "num_mel_bins"), frames))]
        if _get(config, "is_encoder_decoder"):
            specs.append(InputSpec("decoder_input_ids", (_tokens(config, "max_target_positions"),), "int64"))
        return tuple(specs), f"{model}'s main input, 30 seconds of audio"
    return None


def _get(config: Any, key: str) -> Any:
    """A config's setting, else its text or vision part's (a composite config keeps them there)."""
    for part in (config, getattr(config, "text_config", None), getattr(config, "vision_config", None)):
        value = getattr(part, key, None) if part is not None else None
        if value is not None:
            return value
    return None


def _tokens(config: Any, *keys: str) -> int:
    """TOKENS, or fewer where the config's positions are fewer."""
    limits = [_get(config, key) for key in keys]
    return min([TOKENS, *(n for n in limits if isinstance(n, int) and n > 0)])


def timm_default(cfg: Any) -> Default | None:
    """The input timm's pretrained_cfg (default_cfg in older timm) gives a model: its input_size."""
    size = cfg.get("input_size") if isinstance(cfg, Mapping) else getattr(cfg, "input_size", None)
    if not size:
        return None
    return (InputSpec(None, tuple(size)),), "timm's pretrained_cfg input_size"


def torchvision_default(module: str) -> Default:
    """The input torchvision's models are trained on, by the module that builds the model: a 16-frame clip
    of 112x112 for the video ResNets (r3d_18, mc3_18, r2plus1d_18), of 224x224 for the other video models
    (s3d, mvit, swin3d), two images for optical flow (raft), one 3x224x224 image for the rest."""
    if module.startswith("torchvision.models.video.resnet"):
        return (InputSpec(None, (3, FRAMES, 112, 112)),), "torchvision's video ResNets' clip"
    if module.startswith("torchvision.models.video"):
        return (InputSpec(None, (3, FRAMES, IMAGE, IMAGE)),), "torchvision's video models' clip"
    image = InputSpec(None, (3, IMAGE, IMAGE))
    if module.startswith("torchvision.models.optical_flow"):
        return (image, image), "two images, as torchvision's optical flow models take"
    return (image,), "torchvision's image models' input"

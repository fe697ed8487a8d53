"""Small stand-ins for torchvision, timm and transformers, written as packages into a test's folder and put
first on sys.path (the `stand_ins` fixture in conftest.py), so that `convcalc model timm:NAME`,
`torchvision:NAME` and `hf:CONFIG` are tested without the libraries: this machine's torchvision (which
timm imports) fails against the cpu torch, and CI installs neither. Each stand-in has only the calls
convcalc makes, each of them checks that nothing would be downloaded, and each model is plain torch, so
that its figures can be computed in the tests by hand."""

from __future__ import annotations

from pathlib import Path

LIBRARIES = ("timm", "torchvision", "transformers")

TIMM = '''
import torch

MODELS = {"tiny_a": 32, "tiny_b": 48, "bare": None}


class Tiny(torch.nn.Module):
    """A 3->8 3x3 convolution; its pretrained_cfg names its input size, as timm's models' do."""

    def __init__(self, size):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.pretrained_cfg = {"input_size": (3, size, size)} if size else {}

    def forward(self, x):
        return self.conv(x)


def is_model(name):
    return name.split(".")[0] in MODELS


def create_model(name, pretrained=True):
    if pretrained:
        raise RuntimeError("would download weights")
    return Tiny(MODELS[name.split(".")[0]])
'''

TORCHVISION_MODELS = """
from .classify import classifier, detector
from .optical_flow.raft import raft_tiny
from .video.resnet import r3d_tiny

BUILDERS = {f.__name__: f for f in (classifier, detector, raft_tiny, r3d_tiny)}


def get_model_builder(name):
    name = name.lower()
    if name not in BUILDERS:
        raise ValueError(f"Unknown model {name}")
    return BUILDERS[name]


def get_model(name, **config):
    return get_model_builder(name)(**config)
"""

TORCHVISION_CLASSIFY = """
import torch


def classifier(*, weights="DEFAULT"):
    if weights is not None:
        raise RuntimeError("would download weights")
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 7, stride=2), torch.nn.AdaptiveAvgPool2d(1))


def detector(*, weights="DEFAULT", weights_backbone="IMAGENET1K_V1"):
    if weights is not None or weights_backbone is not None:
        raise RuntimeError("would download weights")
    return torch.nn.Conv2d(3, 2, 1)
"""

TORCHVISION_RAFT = """
import torch


class Flow(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(6, 2, 1)

    def forward(self, image1, image2, num_flow_updates=12):
        return self.conv(torch.cat([image1, image2], dim=1))


def raft_tiny(*, weights=None):
    return Flow()
"""

TORCHVISION_VIDEO = """
import torch


def r3d_tiny(*, weights=None):
    return torch.nn.Conv3d(3, 4, 3)
"""

TRANSFORMERS = '''
import json
import os
from pathlib import Path

import torch


class Config:
    def __init__(self, **values):
        self.__dict__.update(values)


class AutoConfig:
    @staticmethod
    def from_pretrained(name, local_files_only=False):
        if not local_files_only or os.environ.get("HF_HUB_OFFLINE") != "1":
            raise RuntimeError("would reach the hub")
        path = Path(name)
        path = path / "config.json" if path.is_dir() else path
        if not path.is_file():
            raise OSError(f"{name} is not a local folder and is not a valid model identifier")
        values = json.loads(path.read_text())
        if "model_type" not in values:
            raise ValueError(f"Unrecognized model in {name}. Should have a `model_type` key")
        return Config(**values)


class TextModel(torch.nn.Module):
    """Ids through an embedding, then a linear layer."""

    main_input_name = "input_ids"

    def __init__(self, config):
        super().__init__()
        self.embeddings = torch.nn.Embedding(config.vocab_size, config.hidden_size)
        self.dense = torch.nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, input_ids, attention_mask=None):
        return self.dense(self.embeddings(input_ids))


class VisionModel(torch.nn.Module):
    main_input_name = "pixel_values"

    def __init__(self, config):
        super().__init__()
        self.patch = torch.nn.Conv2d(config.num_channels, 8, 4, stride=4)

    def forward(self, pixel_values):
        return self.patch(pixel_values)


class PointsModel(torch.nn.Module):
    main_input_name = "input_points"

    def forward(self, input_points):
        return input_points


class AutoModel:
    @staticmethod
    def from_config(config):
        if os.environ.get("HF_HUB_OFFLINE") != "1":
            raise RuntimeError("would reach the hub")
        kinds = {"text": TextModel, "vision": VisionModel, "points": lambda _config: PointsModel()}
        return kinds[config.model_type](config)
'''

FILES = {
    "timm/__init__.py": TIMM,
    "torchvision/__init__.py": "from . import models\n",
    "torchvision/models/__init__.py": TORCHVISION_MODELS,
    "torchvision/models/classify.py": TORCHVISION_CLASSIFY,
    "torchvision/models/optical_flow/__init__.py": "",
    "torchvision/models/optical_flow/raft.py": TORCHVISION_RAFT,
    "torchvision/models/video/__init__.py": "",
    "torchvision/models/video/resnet.py": TORCHVISION_VIDEO,
    "transformers/__init__.py": TRANSFORMERS,
}


def write(folder: Path) -> None:
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

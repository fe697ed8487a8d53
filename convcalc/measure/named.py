"""Models by name, built by their own libraries with no weights and without the network: torchvision's
get_model(weights=None), timm's create_model(pretrained=False), transformers' AutoModel.from_config from a
local config.json or the local Hugging Face cache. Each library is imported here, only when a TARGET names
it, and stays optional: convcalc depends on none of them.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..core import named as rules
from ..core.errors import InvalidSpecError, TargetError, term
from ..core.named import HUB_ID, LIBRARIES, Default, check_named, config_path, shown
from .trace import error_line


@dataclass(frozen=True)
class Named:
    """A model by name: how to build it (under the device in force), what a message calls that, and the
    input its library says the built model takes (None where it says none)."""

    factory: Callable[[], Any]
    call: str  # "timm:resnet50: timm.create_model('resnet50', pretrained=False)"
    default: Callable[[Any], Default | None]


def load_named(target: str) -> Named:
    """The library TARGET names imported, the name looked up in it (nothing built yet)."""
    prefix, name = check_named(target)
    library = _library(prefix, target)
    return {"torchvision": _torchvision, "timm": _timm, "hf": _hf}[prefix](library, name, target)


def _library(prefix: str, target: str) -> Any:
    package = LIBRARIES[prefix]
    try:
        module = importlib.import_module(package)
        return importlib.import_module(f"{package}.models") if prefix == "torchvision" else module
    except Exception as exc:  # a broken install too: torchvision's compiled ops built for another torch
        missing = isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == package
        why = (
            f"is not installed (pip install {package})" if missing else f"raised {error_line(exc)} on import"
        )
        raise TargetError(f"TARGET: {shown(target)}: {package} {why}") from None


def _torchvision(models: Any, name: str, target: str) -> Named:
    try:
        builder = models.get_model_builder(name)
    except ValueError:
        raise TargetError(
            f"TARGET: {shown(target)}: torchvision has no model {name!r} "
            "(torchvision.models.list_models() names them)"
        ) from None
    options: dict[str, Any] = {"weights": None}
    with contextlib.suppress(TypeError, ValueError):
        if "weights_backbone" in inspect.signature(builder).parameters:
            options["weights_backbone"] = None  # detection models load a pretrained backbone unless told
    module = getattr(builder, "__module__", "") or ""
    return Named(
        lambda: models.get_model(name, **options),
        f"{target}: torchvision.models.get_model({name!r}, {', '.join(f'{k}=None' for k in options)})",
        lambda _model: rules.torchvision_default(module),
    )


def _timm(timm: Any, name: str, target: str) -> Named:
    known = getattr(timm, "is_model", None)
    if known is not None and not known(name):
        raise TargetError(
            f"TARGET: {shown(target)}: timm has no model {name!r} (timm.list_models() names them)"
        )

    def build() -> Any:
        with offline():
            return timm.create_model(name, pretrained=False)

    def default(model: Any) -> Default | None:
        cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None)  # older timm
        return rules.timm_default(cfg or {})

    return Named(build, f"{target}: timm.create_model({name!r}, pretrained=False)", default)


def _hf(transformers: Any, name: str, target: str) -> Named:
    path = config_path(name)
    try:
        with offline():
            config = transformers.AutoConfig.from_pretrained(str(path or name), local_files_only=True)
    except OSError as exc:
        if path is not None:
            raise TargetError(
                f"TARGET: {shown(target)}: transformers cannot read its config: {error_line(exc)}"
            ) from None
        fetch = f", or fetch it once: hf download {name} config.json" if HUB_ID.fullmatch(name) else ""
        raise TargetError(
            f"TARGET: {shown(target)}: not in the local Hugging Face cache, and convcalc never downloads; "
            f"give a config.json's path{fetch}"
        ) from None
    except Exception as exc:  # an unknown model_type, code the config asks to run (trust_remote_code)
        raise TargetError(
            f"TARGET: {shown(target)}: transformers cannot read its config: {error_line(exc)}"
        ) from None

    def build() -> Any:
        with offline():
            return transformers.AutoModel.from_config(config)

    def default(model: Any) -> Default | None:
        return rules.hf_default(getattr(model, "main_input_name", None), config, type(model).__name__)

    return Named(build, f"{target}: transformers.AutoModel.from_config({type(config).__name__})", default)


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """The Hugging Face hub offline while a library reads a config or builds a model: a model whose config
    names a pretrained backbone fails to fetch it instead of downloading."""
    saved = {key: os.environ.get(key) for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update(dict.fromkeys(saved, "1"))
    constants = sys.modules.get("huggingface_hub.constants")  # read once, when it was imported
    was = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = was


def missing_default(model: Any, target: str) -> InvalidSpecError:
    """The one line where no input is given and the library names none convcalc can size."""
    main = getattr(model, "main_input_name", None)
    what = f"its main input is {main!r}, whose shape convcalc does not know" if main else "it names no input"
    example = f"{main}=SHAPE" if main else "3x224x224"
    return InvalidSpecError("inputs", f"required for {target}: {what}; e.g. {term('inputs')} {example}")

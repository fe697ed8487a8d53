"""`convcalc model TARGET`: import the user's code and build the model. With named.py (a model by name,
built by its library) the only place convcalc runs code it did not ship: TARGET's module is imported and
its callable called, as `python -c` would.

TARGET is `package.module:callable` or `path/to/file.py:callable`; the callable (a function or a
class) returns an nn.Module. It is built on the meta device when asked (no weights allocated), and on
the cpu, with a note, when its constructor cannot run there.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.errors import TargetError, term
from ..core.named import NAMED_FORM, check_named, named_form, shown
from ..core.vocabulary import counted
from .trace import error_line

FORM = "package.module:callable or path/to/file.py:callable"


def check_target(target: str, label: str = "TARGET") -> tuple[str, str]:
    """TARGET's module (or file) and attribute, checked as far as can be without running any code: its
    form, and that a file it names is there. label: what a message calls it (TARGET, --inputs); TARGET
    also takes a model by name (core/named.py), its library and name returned."""
    if label == "TARGET" and named_form(target):
        return check_named(target)
    where, colon, attribute = target.rpartition(":")
    if not colon or not where or not attribute:
        form = f"{FORM}, or {NAMED_FORM}" if label == "TARGET" else FORM
        raise TargetError(f"{label}: got {target!r}; it must be {form}")
    if where.endswith(".py") and not _is_file(Path(where)):
        raise TargetError(f"{label}: no file '{shown(where)}'")
    return where, attribute


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name the system refuses outright (too long): no such file
        return False


def load_target(target: str, label: str = "TARGET") -> Any:
    """The callable TARGET names, its module imported."""
    where, attribute = check_target(target, label)
    module = _import_file(where, label) if where.endswith(".py") else _import_module(where, label)
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise TargetError(f"{label}: {where} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TargetError(f"{label}: {target} is not a function or class (it is {type(obj).__name__})")
    return obj


# The user's own modules: each file TARGET or --inputs names, and the modules beside it that it imported,
# by name -> the folder of the file that brought them. At exit they are let go and collected, so that
# what they hold is finalised as the interpreter's teardown would (a __del__ that cleans up, a temporary
# file, the last bytes of a file never closed), even where the convcalc program then ends without that
# teardown (cli/emit.end_process).
_USER: dict[str, Path] = {}
_PREFIX = "convcalc_target_"  # a file's module's name: this and a hash of its path


def _import_file(path: str, label: str) -> Any:
    file = Path(path).resolve()
    folder = file.parent
    name = f"{_PREFIX}{abs(hash(str(file)))}"
    if name in sys.modules:  # the same file again (TARGET and --inputs): one module, run once
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise TargetError(f"{label}: cannot import {path!r} as Python")
    module = importlib.util.module_from_spec(spec)
    if not _USER:  # registered before the user's code runs: its own atexit hooks run first
        atexit.register(_let_go)
    for other in [n for n, where in _USER.items() if where != folder and not n.startswith(_PREFIX)]:
        sys.modules.pop(other, None)  # another folder's `common`: this file imports its own
    before = set(sys.modules)
    sys.path.insert(0, str(folder))  # its own imports of files beside it
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # a script's sys.exit() or argparse is the user's, not ours
        sys.modules.pop(name, None)
        raise TargetError(f"{label}: importing {path} raised {_line(exc)}") from None
    finally:
        with contextlib.suppress(ValueError):  # the module may have rewritten sys.path itself
            sys.path.remove(str(folder))
    for new in [n for n in set(sys.modules) - before if _beside(sys.modules[n], folder)]:
        _USER[new] = folder
    _USER[name] = folder
    return module


def _beside(module: Any, folder: Path) -> bool:
    """A module from the user's folder, not a library installed under it (a .venv there)."""
    try:
        parts = Path(module.__file__).resolve().relative_to(folder).parts
    except (AttributeError, TypeError, ValueError, OSError):  # built in, a namespace, elsewhere
        return False
    return "site-packages" not in parts and not any(part.startswith(".") for part in parts)


def set_apart_loaded() -> None:
    """torch imported, then all that is loaded so far left out of every later collection (gc.freeze):
    for a process that ends itself (the convcalc program), before the user's code runs, so that the
    collection of the user's modules at exit (_let_go) and the scan for open files pass torch's 165,000
    objects by (90 ms -> 14 ms after ResNet-50)."""
    import torch  # noqa: F401

    gc.freeze()


def _let_go() -> None:
    """The user's modules out of sys.modules, then collected: their objects' finalisers run with their
    globals still there (PEP 442), as at the interpreter's teardown."""
    for name in _USER:
        sys.modules.pop(name, None)
    _USER.clear()
    gc.collect()


def _import_module(name: str, label: str) -> Any:
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.insert(0, "")  # as `python -m` would: modules under the current directory
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise TargetError(f"{label}: no module named {exc.name!r} (from '{shown(name)}')") from None
        raise TargetError(f"{label}: importing {shown(name)} raised {_line(exc)}") from None
    except BaseException as exc:
        raise TargetError(f"{label}: importing {shown(name)} raised {_line(exc)}") from None


def build_model(factory: Any, call: str, device: str, cpu_cap: int | None = None) -> tuple[Any, str, str]:
    """factory() on device (the meta device builds no weights): the module, the device it is on, a note.
    call: what a message calls it: `file.py:build()`, or for a model by name the target and its library's
    call (`timm:resnet50: timm.create_model('resnet50', pretrained=False)`).

    A constructor that reads values (.item()) is built on meta again with them known where they come
    from factories (values.py); where one had to be guessed it is built on the cpu, but only with at
    most cpu_cap bytes of weights (as the meta build counts them), so that nothing big is built unasked."""
    import torch

    try:
        with torch.device(device):
            model = factory()
        note = ""
    except BaseException as exc:
        if device != "meta":
            raise TargetError(f"TARGET: {call} raised {_line(exc)}") from None
        model, note = _built_reading_values(factory, call, exc, cpu_cap)
        if model is None:
            device = "cpu"
            try:
                model = factory()
            except BaseException as again:
                raise TargetError(f"TARGET: {call} raised {_line(again)}") from None
    if not isinstance(model, torch.nn.Module):
        raise TargetError(f"TARGET: {call} returned a {type(model).__name__}, not a torch.nn.Module")
    return model, device, note


def _built_reading_values(
    factory: Any, call: str, failure: BaseException, cpu_cap: int | None
) -> tuple[Any, str]:
    """The module built on meta with the values its constructor reads answered, and a note; (None, the
    cpu note) where it must be built on the cpu; TargetError where that build would be too big."""
    import torch

    from .values import value_mode

    cpu_note = f"built on the cpu: its constructor cannot run on the meta device ({_line(failure)})"
    mode = value_mode()
    try:
        with torch.device("meta"), mode:
            model = factory()
    except BaseException:
        return None, cpu_note  # its size is not known: as small models do, it is built on the cpu
    if not isinstance(model, torch.nn.Module):
        return model, ""
    if not mode.guessed:
        values = counted(mode.known, "value")
        return model, f"its constructor read {values} on the meta device, each computed from tensors it made"
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    if cpu_cap is not None and weights > cpu_cap:
        raise TargetError(
            f"TARGET: {call} reads values of its weights while it builds ({_line(failure)}), which the meta "
            f"device does not hold; a cpu build would need about {weights / 2**30:.2f} GiB of weights: "
            f"run it with {term('device')} cpu to insist"
        )
    return None, cpu_note


def strays_to_meta(model: Any) -> int:
    """Move to meta the parameters and buffers a constructor made on the cpu although it ran under the meta
    device (torch.Tensor(n) and torch.tensor(data) ignore the default device), so that a forward on meta
    does not mix devices; a parameter shared by two modules stays one. How many were moved."""
    import torch

    moved: dict[int, Any] = {}
    for module in model.modules():
        for table in (module._parameters, module._buffers):
            for name, tensor in table.items():
                if tensor is None or tensor.is_meta:
                    continue
                if id(tensor) not in moved:
                    on_meta = tensor.to("meta")
                    if isinstance(tensor, torch.nn.Parameter):
                        on_meta = torch.nn.Parameter(on_meta, requires_grad=tensor.requires_grad)
                    moved[id(tensor)] = on_meta
                table[name] = moved[id(tensor)]
    return len(moved)


@contextlib.contextmanager
def output_to_stderr() -> Iterator[None]:
    """What user code prints, by print() or straight to file descriptor 1, goes to stderr: the report
    written to stdout afterwards stays whole JSON or CSV."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no stdout or no stderr: leave them as they are
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): it exits instead of returning"
    return error_line(exc)

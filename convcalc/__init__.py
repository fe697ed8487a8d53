"""convcalc: parameters, MACs, FLOPs, output shape, receptive field and memory of convolution layers.

Figures are computed analytically (no torch import) and confirmed by building the real layer in torch;
stack_report() and model_report() do the same for a sequence of layers and for a torch model,
sweep_rows() streams a design space, and check_report() runs a project's budgets file. Each name is
imported when first used, so that the command line, which imports this package first, pays only for the
command it runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import render as _render_package  # noqa: F401
from .version import __version__

# The subpackage render/ and the function render() share a name: the subpackage is imported first and
# its name dropped, so that render() below is found, and no later import of render/ can replace it.
globals().pop("render")

# public name -> the module that defines it
_WHERE = {
    "compare_report": "api",
    "conv_report": "api",
    "model_report": "api",
    "stack_report": "api",
    "sweep_rows": "api",
    "check_report": "cli.runner",  # a check is a command line, read by the CLI's own commands
    "analyze": "core.analysis",
    "analyze_many": "core.analysis",
    "CompareReport": "core.compare",
    "ConvCalcError": "core.errors",
    "DeviceError": "core.errors",
    "ExpectError": "core.errors",
    "FormatError": "core.errors",
    "InvalidSpecError": "core.errors",
    "SpecFileError": "core.errors",
    "spec_from_module": "core.modules",
    "NetworkReport": "core.network",
    "BatchRow": "core.analysis",
    "CheckReport": "core.check",
    "BudgetError": "core.errors",
    "SnapshotError": "core.errors",
    "ConvResult": "core.results",
    "Report": "core.results",
    "Verification": "core.results",
    "ConvSpec": "core.spec",
    "Sides": "core.spec",
    "render_compare": "render.compare",
    "render": "render.dispatch",
}

__all__ = ["__version__", *sorted(_WHERE, key=str.lower)]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'convcalc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})

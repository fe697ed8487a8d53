"""convcalc: parameters, MACs, FLOPs, output shape, receptive field and memory of convolution layers.

Figures are computed analytically (no torch import) and confirmed by building the real layer in torch;
stack_report() and model_report() do the same for a sequence of layers and for a torch model.
"""

from .api import compare_report, conv_report, model_report, stack_report
from .core.analysis import analyze, analyze_many
from .core.compare import CompareReport
from .core.errors import ConvCalcError, DeviceError, ExpectError, InvalidSpecError, SpecFileError
from .core.modules import spec_from_module
from .core.network import NetworkReport
from .core.results import BatchRow, ConvResult, Report, Verification
from .core.spec import ConvSpec
from .render.compare import render_compare
from .render.dispatch import render

__version__ = "0.1.0"

__all__ = [
    "BatchRow",
    "CompareReport",
    "ConvCalcError",
    "ConvResult",
    "ConvSpec",
    "DeviceError",
    "ExpectError",
    "InvalidSpecError",
    "NetworkReport",
    "Report",
    "SpecFileError",
    "Verification",
    "__version__",
    "analyze",
    "analyze_many",
    "compare_report",
    "conv_report",
    "model_report",
    "render",
    "render_compare",
    "spec_from_module",
    "stack_report",
]

"""convcalc: parameters, MACs, FLOPs, output shape, receptive field and memory of convolution layers.

Figures are computed analytically (no torch import) and confirmed by building the real layer in torch.
"""

from .analysis import analyze, analyze_many
from .api import compare_report, conv_report
from .compare import CompareReport
from .errors import ConvCalcError, DeviceError, ExpectError, InvalidSpecError
from .layers import spec_from_module
from .render import render
from .render_compare import render_compare
from .results import BatchRow, ConvResult, Report, Verification
from .spec import ConvSpec

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
    "Report",
    "Verification",
    "__version__",
    "analyze",
    "analyze_many",
    "compare_report",
    "conv_report",
    "render",
    "render_compare",
    "spec_from_module",
]

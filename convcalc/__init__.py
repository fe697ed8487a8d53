"""convcalc: parameters, MACs, FLOPs, output shape, receptive field and memory of convolution layers.

Figures are computed analytically (no torch import) and confirmed by building the real layer in torch.
"""

from .analysis import analyze
from .api import conv_report
from .compare import CompareReport, compare_report
from .errors import ConvCalcError, DeviceError, ExpectError, InvalidSpecError
from .render import render
from .render_compare import render_compare
from .results import ConvResult, Report, Verification
from .spec import ConvSpec

__version__ = "0.1.0"

__all__ = [
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
    "compare_report",
    "conv_report",
    "render",
    "render_compare",
]

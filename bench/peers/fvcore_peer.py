"""fvcore's FlopCountAnalysis(...).total() of the layer.

fvcore counts from a torch.jit trace, and tracing a meta input fails (the meta convolution's shape
checks see traced tensors: "cond must be a bool, but got a Tensor"), so even the big layer runs a
real forward pass on the cpu: about 6.3 GiB and tens of seconds; skipped if RAM would not allow it.
Headline: fvcore's "flops", which are MACs without the bias.
"""

from __future__ import annotations

from _common import setup
from fvcore.nn import FlopCountAnalysis

layer, module, x = setup("fvcore", __doc__, meta_ok=False)
analysis = FlopCountAnalysis(module, x)
analysis.unsupported_ops_warnings(False)
print(f"fvcore {layer}: flops {analysis.total()} (MACs, bias left out)")

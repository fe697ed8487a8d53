"""torchscan's crawl_module() of the layer from the input shape (no batch); big layer on meta.

torchscan generates its own input on the layer's device, so a meta layer gets a meta input.
Headline: its MACs total; it also reports its own FLOPs formula and torch's operator FLOPs.
"""

from __future__ import annotations

from _common import setup
from torchscan import crawl_module

layer, module, x = setup("torchscan", __doc__)
totals = crawl_module(module, tuple(x.shape[1:]))["totals"]
print(
    f"torchscan {layer}: MACs {totals['macs']['value']}, module FLOPs {totals['module_flops']['value']}, "
    f"operator FLOPs {totals['operator_flops']['value']}, params {totals['parameters']['value']}"
)

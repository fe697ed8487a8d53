"""Bare torch.utils.flop_counter.FlopCounterMode around one forward pass; big layer on meta.

Under no_grad, not inference_mode: the counter sees nothing under inference_mode.
Headline: FLOPs = 2 x MACs, bias left out.
"""

from __future__ import annotations

import torch
from _common import setup
from torch.utils.flop_counter import FlopCounterMode

layer, module, x = setup("flopcounter", __doc__)
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    module(x)
print(f"FlopCounterMode {layer}: FLOPs {counter.get_total_flops()} (2 x MACs, bias left out)")

"""torchinfo's summary() of the layer; the big layer on the meta device, which torchinfo accepts.

Headline: total_mult_adds, torchinfo's MACs with the bias adds included.
"""

from __future__ import annotations

from _common import setup
from torchinfo import summary

layer, module, x = setup("torchinfo", __doc__)
stats = summary(module, input_data=[x], verbose=0)
print(f"torchinfo {layer}: mult-adds {stats.total_mult_adds} (MACs + bias adds), params {stats.total_params}")

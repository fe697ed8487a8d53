"""thop's profile() of the layer; the big layer on the meta device (thop counts from shapes in hooks).

Headline: thop's "ops", which are MACs without the bias.
"""

from __future__ import annotations

from _common import setup
from thop import profile

layer, module, x = setup("thop", __doc__)
macs, params = profile(module, inputs=(x,), verbose=False)
# thop sums per child module, so a bare layer (no children) reports 0 parameters.
print(f"thop {layer}: ops {int(macs)} (MACs, bias left out), params {int(params)}")

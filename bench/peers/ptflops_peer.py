"""ptflops' get_model_complexity_info(), pytorch backend, from the input shape (no batch).

ptflops builds its own input with new_empty on the layer's device, so a meta layer gets a meta input.
Headline: ptflops' MACs, bias adds included.
"""

from __future__ import annotations

from _common import setup
from ptflops import get_model_complexity_info

layer, module, x = setup("ptflops", __doc__)
macs, params = get_model_complexity_info(
    module, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False, backend="pytorch"
)
print(f"ptflops {layer}: MACs {macs} (bias adds included), params {params}")

"""The receptive field measured by torch: gradients of single outputs of a one-channel probe.

torch is imported inside the function only. Its size is planned by plan.probe_size: it grows with
the receptive field, never with the input, and is skipped (with the reason) where it would not fit.
"""

from __future__ import annotations

from ..core.plan import PROBE_ELEMENTS, probe_size
from ..core.spec import ConvSpec


def measure_receptive_field(spec: ConvSpec) -> tuple[tuple[int, ...] | None, str]:
    """Per dimension, the widest span of inputs that reach one output, and how it was measured.

    All-ones weights on an all-ones input: the gradient of one output is non-zero exactly at the
    inputs that reach it. A transposed layer is probed at one output per residue of its stride.
    """
    import torch

    spans = []
    for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation):
        probe = probe_size(spec.transposed, k, s, d)
        if probe is None:
            return None, f"not probed: the probe would exceed {PROBE_ELEMENTS:,} values or 32-bit settings"
        cls = torch.nn.ConvTranspose1d if spec.transposed else torch.nn.Conv1d
        layer = cls(1, 1, k, stride=s, dilation=d, bias=False, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.fill_(1.0)
        x = torch.ones(probe.batch, 1, probe.inputs, dtype=torch.float64, requires_grad=True)
        y = layer(x)
        rows = torch.arange(probe.batch)
        y[rows, 0, probe.first + rows].sum().backward()
        hits = (g.nonzero().flatten() for g in x.grad[:, 0])
        spans.append(max(int(hit.max() - hit.min()) + 1 for hit in hits if len(hit)))  # some outputs get none
    return tuple(spans), "gradient of one output, cpu"

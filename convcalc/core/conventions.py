"""The counting conventions, said out loud under every table and in every JSON report: one place each."""

from __future__ import annotations

COUNTING = (
    "MACs = multiply-accumulates, batch included; FLOPs = 2 x MACs as torch.utils.flop_counter; "
    "bias adds counted apart; MiB, GiB, TiB = 2^20, 2^30, 2^40 bytes"
)
CONVENTION = COUNTING + "; forward/backward = 2 x output, as torchsummary."
TRAINING_CONVENTION = (
    "backward MACs = grad input + grad weight multiply-accumulates (FLOPs = 2 x MACs, as "
    "torch.utils.flop_counter, whose formula counts a grouped conv's grad weight groups times; convcalc "
    "counts it once); bias grad adds apart; training memory = trainable weights + their grads + optimizer "
    "state (SGD momentum 1x, Adam 2x + a 4-byte step per parameter tensor) + activations saved for "
    "backward, each tensor once; the peak of the backward's own temporaries is not included."
)
SPEED_CONVENTION = (
    "latency: median of torch.utils.benchmark's timed blocks (warm-up and device sync included), forward "
    "pass, no grad; FLOP/s = FLOPs (2 x MACs) / median; traffic = input + weights + output bytes of each "
    "module, read or written once; intensity = FLOPs / traffic"
)
COMPARE_CONVENTION = (
    COUNTING + ". BatchNorm and activations are not counted in MACs, as torch's flop counter."
)
NETWORK_CONVENTION = (
    COUNTING + "; a network's MACs are every op torch's flop counter counts (convolutions, matmuls, "
    "attention) / 2; BatchNorm, activations and pooling count none"
)

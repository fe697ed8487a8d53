"""Small torch models for `convcalc model`: module-level callables, importable as `tests/nets.py:NAME`.

INPUTS names the ones convcalc handles, with the input (C, *spatial) each is tested on: big enough that
an interior output's receptive field lies inside it. The rest, from broken_forward on, are wrong on purpose
or show a convcalc bug (tests/measure/test_model.py says which).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn


def grouped_conv() -> nn.Module:
    """Grouped convolutions, one strided, with BatchNorm between."""
    return nn.Sequential(
        nn.Conv2d(8, 16, 3, padding=1, groups=4),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 12, 3, stride=2, groups=2, bias=False),
        nn.ReLU(),
    )


def dilated_conv() -> nn.Module:
    """Dilated convolutions (2, then 3 by 1 across the dimensions), an average pool between."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, dilation=2, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(8, 8, 3, dilation=(3, 1)),
        nn.Tanh(),
    )


def depthwise_separable() -> nn.Module:
    """A depthwise 3x3 (stride 2) and a pointwise 1x1, each with BatchNorm and an activation."""
    return nn.Sequential(
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 16, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU6(),
    )


def transposed_conv() -> nn.Module:
    """A strided convolution down, then a transposed one back up (stride 2, output_padding 1)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
    )


class ResidualBlock(nn.Module):
    """x + f(x), f two 3x3 convolutions: the receptive field is the wider path's."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(x + out)


class ResidualNet(nn.Module):
    """A strided stem, then a residual block: the block's paths start from a jump of 2."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.block = ResidualBlock(8)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.stem(x)))


def residual() -> nn.Module:
    return ResidualNet()


class SharedTwice(nn.Module):
    """One convolution called twice: its parameters count once, its MACs twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.act(self.conv(x)))


def shared() -> nn.Module:
    return SharedTwice()


class Attention(nn.Module):
    """A transformer block on (N, L, D) tokens: nn.MultiheadAttention, LayerNorm, an MLP."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x, x, x, need_weights=False)[0]
        return x + self.mlp(self.norm(x))


def attention() -> nn.Module:
    return Attention()


class SDPAttention(nn.Module):
    """Self-attention written out: one qkv projection, F.scaled_dot_product_attention, a projection out."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))


def sdp_attention() -> nn.Module:
    return SDPAttention()


def frozen() -> nn.Module:
    """A frozen stem (requires_grad=False) before a trainable convolution."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3))
    model[0].requires_grad_(False)
    return model


class MatMul(nn.Module):
    """A leaf convcalc does not know: x @ W^T with a weight of its own."""

    def __init__(self, features_in: int, features_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features_out, features_in))
        nn.init.normal_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.t()


def custom_leaf() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), MatMul(4 * 7 * 7, 10), nn.Linear(10, 2)
    )


class Broken(nn.Module):
    """Its classifier expects 10 features but gets 8: forward raises inside `classifier`."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(10, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def broken_forward() -> nn.Module:
    return Broken()


def meta_hostile() -> nn.Module:
    """Reads a tensor's value while it builds (.item()): fine on the cpu, impossible on the meta device."""
    width = int(torch.tensor([2.0, 2.0]).sum().item())  # 4
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Conv2d(width, 2, 1))


class FullMean(nn.Module):
    """Centres its output on the mean of the whole tensor: a reduction to one value (0-d)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y - y.mean()


def full_mean() -> nn.Module:
    return FullMean()


class Swallows(nn.Module):
    """Tries `probe`, which raises, and catches that; then fails in its own code, after `conv`."""

    def __init__(self) -> None:
        super().__init__()
        self.probe = nn.Linear(5, 5)
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with contextlib.suppress(RuntimeError):
            self.probe(x)  # (1, 3, 8, 8) has 8 features, not 5
        return self.conv(x).view(-1, 7)  # 144 values: not a multiple of 7


def swallowed_error() -> nn.Module:
    return Swallows()


class CpuBuffer(nn.Module):
    """A buffer made on the cpu whatever the default device, as torch.from_numpy() makes one:
    its forward runs on the cpu, never on the meta device."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("scale", torch.ones(4, 1, 1, device="cpu"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale


def cpu_buffer() -> nn.Module:
    return CpuBuffer()


class StrayParameter(nn.Module):
    """A parameter made with torch.Tensor(n), which ignores the default device, as wav2vec2's
    positional convolution and HuBERT do: on the cpu even when the model is built on meta."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.gain = nn.Parameter(torch.Tensor(4, 1, 1).fill_(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.gain


def stray_parameter() -> nn.Module:
    return StrayParameter()


class ReadsMask(nn.Module):
    """Reads values of its mask, as Hugging Face's decoder mask code does: `if mask.all()` and a length
    from `.item()`. On meta they are known from the inputs convcalc made (all true), so the cheap path
    runs, as on the cpu; a guess of 0 would take the other branch and keep no token."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.proj = nn.Linear(8, 8)
        self.extra = nn.Linear(8, 8)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        if not mask.all():
            x = self.extra(x * mask.unsqueeze(-1))
        kept = int(mask.sum(dim=1).max().item())
        return self.proj(x[:, :kept])


def reads_mask() -> nn.Module:
    return ReadsMask()


class ReadsWeights(nn.Module):
    """Branches on a value of its weights, which the meta device does not hold."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.extra = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.conv.weight.abs().sum().item() > 0:  # true for any real initialisation
            y = self.extra(y)
        return y


def reads_weights() -> nn.Module:
    return ReadsWeights()


class SelectsByWeights(nn.Module):
    """Keeps the channels its weights select: a shape that depends on weights' values, which nothing
    on the meta device can know or guess."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)[:, self.conv.bias > -10]


def selects_by_weights() -> nn.Module:
    return SelectsByWeights()


class Looped(nn.Module):
    """Loops over its containers instead of calling them, as YOLO, Hugging Face's ViT and
    nn.TransformerEncoder do; `blocks` nests a loop in a loop, and `unused` never runs at all."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.blocks = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU()), nn.Sequential(nn.Conv2d(8, 8, 3, padding=1))]
        )
        self.head = nn.Sequential(nn.Conv2d(8, 4, 1), nn.Conv2d(4, 2, 1))
        self.unused = nn.ModuleList([nn.Conv2d(2, 2, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            for layer in block:
                x = layer(x)
        for layer in self.head:
            x = layer(x)
        return x


def looped() -> nn.Module:
    return Looped()


class LoopedTwice(nn.Module):
    """Runs its blocks twice over, by a loop: the container's output is the second run's."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(2):
            for block in self.blocks:
                x = block(x)
        return x


def looped_twice() -> nn.Module:
    return LoopedTwice()


def not_a_module() -> dict[str, nn.Module]:
    """Returns a dict of layers, not a module."""
    return {"conv": nn.Conv2d(3, 4, 3)}


NOT_CALLABLE = 42

# name -> input (C, *spatial) each model is tested on.
INPUTS: dict[str, tuple[int, ...]] = {
    "grouped_conv": (8, 20, 20),
    "dilated_conv": (3, 40, 40),
    "depthwise_separable": (8, 16, 16),
    "transposed_conv": (3, 16, 16),
    "residual": (3, 24, 24),
    "shared": (4, 16, 16),
    "attention": (16, 32),  # (L, D): 16 tokens of 32 features
    "sdp_attention": (16, 32),
    "frozen": (3, 16, 16),
    "custom_leaf": (3, 16, 16),
    "meta_hostile": (3, 12, 12),
    "looped": (3, 16, 16),
}

"""Small stand-ins for the structures of networks people use today, for receptive-field tests.

timm and torchvision cannot be imported here, so each reproduces its network's parts in a few channels:
a conv subclass with TensorFlow's dynamic 'SAME' padding (timm's Conv2dSame), squeeze-excite gates,
Hardswish and SiLU (efficientnet_b0, mobilenetv3_large_100), ConvNeXt's block (depthwise 7x7, permute,
LayerNorm, Linear, permute back), RegNetY's grouped conv with SE and chunk/cat, a segmentation UNet with
GroupNorm, strided ConvTranspose2d and skip concatenation, and r3d_18's 3-D conv subclass. Each returns
its last feature map (timm's forward_features), whose receptive field the tests check by gradient.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow 'SAME' padding computed from the input's size at each call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for n, k, s, d in zip(
            x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1], self.dilation[::-1]
        ):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int, act: type[nn.Module], gate: type[nn.Module]) -> None:
        super().__init__()
        self.reduce, self.act = nn.Conv2d(channels, reduced, 1), act()
        self.expand, self.gate = nn.Conv2d(reduced, channels, 1), gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(self.act(self.reduce(s))))


class InvertedResidual(nn.Module):
    """MBConv: 1x1 expand, depthwise k x k (stride s), squeeze-excite, 1x1 project, residual."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        stride: int,
        act: type[nn.Module],
        gate: type[nn.Module],
        same: bool,
    ) -> None:
        super().__init__()
        mid, conv = cin * 2, Conv2dSame if same else nn.Conv2d
        self.expand = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act())
        pad = 0 if same else k // 2
        self.dw = nn.Sequential(
            conv(mid, mid, k, stride, pad, groups=mid, bias=False), nn.BatchNorm2d(mid), act()
        )
        self.se = SqueezeExcite(mid, max(mid // 4, 1), act, gate)
        self.project = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.residual else y


def _mbconv_net(act: type[nn.Module], gate: type[nn.Module], same: bool, blocks: list[tuple]) -> nn.Module:
    conv = Conv2dSame if same else nn.Conv2d
    layers: list[nn.Module] = [conv(3, 8, 3, 2, 0 if same else 1, bias=False), nn.BatchNorm2d(8), act()]
    layers += [InvertedResidual(*b, act=act, gate=gate, same=same) for b in blocks]
    layers += [nn.Conv2d(blocks[-1][1], 32, 1, bias=False), nn.BatchNorm2d(32), act()]  # conv_head
    return nn.Sequential(*layers)


def efficientnet_b0() -> nn.Module:
    """SiLU, sigmoid gates, kernels 3 and 5, TF-same padding (as tf_efficientnet_b0)."""
    blocks = [(8, 8, 3, 1), (8, 12, 3, 2), (12, 12, 5, 1), (12, 16, 5, 2), (16, 16, 3, 1)]
    return _mbconv_net(nn.SiLU, nn.Sigmoid, True, blocks)


def mobilenetv3_large_100() -> nn.Module:
    """Hardswish, hard-sigmoid gates, symmetric padding."""
    blocks = [(8, 8, 3, 1), (8, 12, 3, 2), (12, 12, 5, 1), (12, 16, 5, 2), (16, 16, 3, 1)]
    return _mbconv_net(nn.Hardswish, nn.Hardsigmoid, False, blocks)


class LayerNorm2d(nn.LayerNorm):
    """timm's LayerNorm2d: over channels of a (N, C, H, W) map, by permuting there and back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.gamma * self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


def convnext_tiny() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, stride=4), LayerNorm2d(8), ConvNeXtBlock(8),
        LayerNorm2d(8), nn.Conv2d(8, 16, 2, stride=2), ConvNeXtBlock(16),
    )  # fmt: skip


class RegNetYBlock(nn.Module):
    """1x1, grouped 3x3 (stride s), SE with ReLU, 1x1, projected shortcut, add, ReLU; half of the
    channels of the 1x1's output skip the grouped conv through chunk and cat (a CSP-like split)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
        half = cout // 2
        self.b = nn.Sequential(
            nn.Conv2d(half, half, 3, stride, 1, groups=2, bias=False), nn.BatchNorm2d(half), nn.ReLU()
        )
        self.pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.se = SqueezeExcite(cout, cout // 4, nn.ReLU, nn.Sigmoid)
        self.c = nn.Sequential(nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = self.a(x).chunk(2, dim=1)
        y = torch.cat([self.pool(left), self.b(right)], dim=1)
        return F.relu(self.c(self.se(y)) + self.shortcut(x))


def regnety_040() -> nn.Module:
    stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    return nn.Sequential(stem, RegNetYBlock(8, 16, 2), RegNetYBlock(16, 16, 1), RegNetYBlock(16, 32, 2))


def _double(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(2, cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(2, cout), nn.ReLU(),
    )  # fmt: skip


class UNet(nn.Module):
    """Three levels down (max pool 2), up by strided ConvTranspose2d (kernel 2, and one kernel 3 with
    output_padding), each concatenated with its skip, then a 1x1 to class logits."""

    def __init__(self) -> None:
        super().__init__()
        self.down1, self.down2, self.down3 = _double(3, 4), _double(4, 8), _double(8, 8)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.dec2 = _double(16, 8)
        self.up1 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.dec1 = _double(8, 4)
        self.head = nn.Conv2d(4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.down1(x)
        s2 = self.down2(self.pool(s1))
        y = self.down3(self.pool(s2))
        y = self.dec2(torch.cat([s2, self.up2(y)], dim=1))
        y = self.dec1(torch.cat([s1, self.up1(y)], dim=1))
        return self.head(y)


def unet() -> nn.Module:
    return UNet()


class Conv3DSimple(nn.Conv3d):
    """torchvision's Conv3DSimple: a subclass of Conv3d with a 3x3x3 kernel."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(cin, cout, (3, 3, 3), stride, (1, 1, 1), bias=False)


class BasicBlock3d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(Conv3DSimple(cin, cout, stride), nn.BatchNorm3d(cout), nn.ReLU())
        self.conv2 = nn.Sequential(Conv3DSimple(cout, cout), nn.BatchNorm3d(cout))
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv2(self.conv1(x)) + shortcut)


def r3d_18() -> nn.Module:
    stem = nn.Sequential(
        nn.Conv3d(3, 4, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), nn.BatchNorm3d(4), nn.ReLU()
    )
    return nn.Sequential(stem, BasicBlock3d(4, 4, 1), BasicBlock3d(4, 8, 2))


def upsampling() -> nn.Module:
    """A segmentation head's resampling (DeepLab, FPN, smp's UNet): bilinear and nearest upsampling."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, 2, 1),
        nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(4, 4, 3, padding=1),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(4, 2, 3, padding=1),
    )  # fmt: skip


# name -> input per sample; each big enough that the field stays inside it
INPUTS = {
    "efficientnet_b0": (3, 96, 96),
    "mobilenetv3_large_100": (3, 96, 96),
    "convnext_tiny": (3, 96, 96),
    "regnety_040": (3, 64, 64),
    "unet": (3, 64, 64),
    "r3d_18": (3, 24, 40, 40),
    "upsampling": (3, 48, 48),
}

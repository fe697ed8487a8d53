"""maxpool, avgpool, adaptive_avgpool and upsample: windows over the map, with no MACs (torch's flop
counter counts none of their ops)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import formulas
from ..errors import InvalidSpecError
from ..spec import Size
from .base import (
    BOOL,
    SCALE,
    SIZE,
    SIZE0,
    Choice,
    Kind,
    Recipe,
    Row,
    Saved,
    Step,
    layer_dim,
    per_dim,
    shape_text,
    sizes,
    spatial,
)

_POOL = {"kernel": SIZE, "stride": SIZE, "padding": SIZE0, "ceil_mode": BOOL}
INDEX_BYTES = 8  # maxpool keeps int64 indices for its backward


@dataclass(frozen=True)
class Pool(Kind):
    """maxpool (its window: the effective kernel, dilation too) and avgpool (its kernel); step = stride,
    which defaults to the kernel, as torch's. maxpool saves its input and int64 indices of its output's
    shape, avgpool its input."""

    def complete(self, layer: dict[str, Any]) -> dict[str, Any]:
        layer.setdefault("stride", layer["kernel"])  # torch: stride defaults to the kernel
        return layer

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        dims = spatial(shape, self.name)
        kernel, stride, padding, dilation = (
            per_dim(layer, key, len(dims)) for key in ("kernel", "stride", "padding", "dilation")
        )
        for k, p in zip(kernel, padding):
            if p > k // 2:  # torch: "pad should be at most half of ... kernel size"
                raise InvalidSpecError(
                    "padding", f"got {p} with kernel {k}; it must be at most half the kernel ({k // 2})"
                )
        out = tuple(
            formulas.pool_output_size(n, k, s, p, d, layer["ceil_mode"])
            for n, k, s, p, d in zip(dims, kernel, stride, padding, dilation)
        )
        window = tuple(formulas.effective_kernel(k, d) for k, d in zip(kernel, dilation))
        for axis, (size, n, p, w) in enumerate(zip(out, dims, padding, window), 1):
            if size < 1:
                raise InvalidSpecError(
                    "kernel",
                    f"effective kernel {w} is larger than the padded input {n + 2 * p} along dimension "
                    f"{axis}, so the output would be empty; use a smaller kernel or a larger input",
                )
        return Step((*shape[:2], *out), window=window, step=stride)

    def saves(self, row: Row, index: int, x: Hashable, size: int, device: str) -> Saved:
        given = ((x, formulas.tensor_bytes(row.input_shape, size)),)
        if self.name == "maxpool":
            return (*given, ((index, "indices"), formulas.tensor_bytes(row.output_shape, INDEX_BYTES)))
        return given

    def module(self, row: Row) -> Recipe:
        keys = ("kernel", "stride", "padding", "dilation") if self.name == "maxpool" else ("kernel", "stride")
        keys += () if self.name == "maxpool" else ("padding",)
        cls = f"{'Max' if self.name == 'maxpool' else 'Avg'}Pool{layer_dim(row)}d"
        return Recipe(cls, tuple(sizes(row, *keys)), {"ceil_mode": row.settings["ceil_mode"]})

    def from_module(self, module: Any) -> dict[str, Any] | None:
        if self.name == "maxpool" and module.return_indices:
            return None
        layer = {
            "kind": self.name,
            "kernel": module.kernel_size,
            "stride": module.stride or module.kernel_size,  # torch's default stride is the kernel
            "padding": module.padding,
            "ceil_mode": module.ceil_mode,
        }
        return layer | {"dilation": module.dilation} if self.name == "maxpool" else layer


@dataclass(frozen=True)
class AdaptiveAvgPool(Kind):
    """From n to m: torch's windows [floor(i*n/m), ceil((i+1)*n/m)); w = the widest and step = n/m when
    m divides n (the usual 7 -> 7 and 7 -> 1 cases). Saves its input; nothing when every output is 1 (a
    mean)."""

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        dims = spatial(shape, self.name)
        out = per_dim(layer, "out", len(dims))
        window = tuple(formulas.adaptive_window(n, m) for n, m in zip(dims, out))
        uniform = all(n % m == 0 for n, m in zip(dims, out))
        return Step(
            (*shape[:2], *out),
            window=window,
            step=tuple(n // m for n, m in zip(dims, out)) if uniform else None,
        )

    def saves(self, row: Row, index: int, x: Hashable, size: int, device: str) -> Saved:
        mean = set(row.output_shape[2:]) == {1}
        return () if mean else ((x, formulas.tensor_bytes(row.input_shape, size)),)

    def module(self, row: Row) -> Recipe:
        return Recipe(f"AdaptiveAvgPool{layer_dim(row)}d", tuple(sizes(row, "out")))

    def from_module(self, module: Any) -> dict[str, Any] | None:
        out = module.output_size
        sizes = tuple(out) if isinstance(out, tuple | list) else (out,)
        return None if out is None or None in sizes else {"kind": self.name, "out": out}


UPSAMPLE_MODES = ("nearest", "bilinear")


@dataclass(frozen=True)
class Upsample(Kind):
    """nn.Upsample by a scale factor (out = floor(n x scale), as torch) or to a size; nearest copies one
    input to each output, bilinear interpolates two neighbours per dimension. No parameters, no MACs
    (torch's flop counter has no formula for it), nothing saved for backward (its gradient needs only
    the sizes). Receptive field: an output reads a window of 1 input (nearest) or 2 neighbours (bilinear,
    where the size changes and the input has 2 or more), so its own field is exact; where it changes the
    size, its outputs are no longer a uniform grid over its input (each input feeds several outputs), so
    the jump and every later layer's field are not modelled, as after a strided transposed conv. A
    bilinear downsampling reads one or two inputs depending on float rounding: not modelled."""

    def complete(self, layer: dict[str, Any]) -> dict[str, Any]:
        if ("scale" in layer) == ("size" in layer):
            raise InvalidSpecError("scale", "give scale or size, one of them")
        if "align_corners" in layer and layer["mode"] != "bilinear":
            raise InvalidSpecError("align_corners", "only bilinear has it; drop it or use mode=bilinear")
        return layer

    def step(self, layer: Mapping[str, Any], shape: Size, dtype: str) -> Step:
        dims = spatial(shape, self.name)
        if layer["mode"] == "bilinear" and len(dims) != 2:
            raise InvalidSpecError("mode", f"bilinear needs a (N, C, H, W) input; got {shape_text(shape)}")
        if "size" in layer:
            out = per_dim(layer, "size", len(dims))
        else:
            out = tuple(int(n * float(s)) for n, s in zip(dims, per_dim(layer, "scale", len(dims))))
        for axis, (n, m) in enumerate(zip(dims, out), 1):
            if m < 1:
                raise InvalidSpecError(
                    "scale",
                    f"{n} x {layer['scale']} rounds down to 0 along dimension {axis}; use a larger scale",
                )
        scales = per_dim(layer, "scale", len(dims)) if "scale" in layer else out
        same = [m == n and (s == 1 or "size" in layer) for n, m, s in zip(dims, out, scales)]
        if all(same):
            return Step((*shape[:2], *out), window=(1,) * len(dims), step=(1,) * len(dims))
        if layer["mode"] == "bilinear" and any(m < n for n, m in zip(dims, out)):
            return Step((*shape[:2], *out), modelled=False)
        bilinear = layer["mode"] == "bilinear"
        window = tuple(1 if kept or not bilinear else min(2, n) for kept, n in zip(same, dims))
        return Step((*shape[:2], *out), window=window, step=None)

    def module(self, row: Row) -> Recipe:
        s = row.settings
        size = {"size": sizes(row, "size")[0]} if "size" in s else {"scale_factor": sizes(row, "scale")[0]}
        corners = {"align_corners": s["align_corners"]} if "align_corners" in s else {}
        return Recipe("Upsample", kwargs={**size, "mode": s["mode"], **corners})

    def from_module(self, module: Any) -> dict[str, Any] | None:
        if module.mode not in UPSAMPLE_MODES or getattr(module, "recompute_scale_factor", None):
            return None
        layer = {"kind": self.name, "mode": module.mode}
        if module.size is not None:
            layer["size"] = tuple(module.size) if isinstance(module.size, tuple | list) else module.size
        elif module.scale_factor is not None:
            scale = module.scale_factor
            layer["scale"] = tuple(map(float, scale)) if isinstance(scale, tuple | list) else float(scale)
        else:
            return None
        return layer | ({"align_corners": bool(module.align_corners)} if module.mode == "bilinear" else {})


ENTRIES = (
    Pool(
        "maxpool",
        {**_POOL, "dilation": SIZE},
        ("kernel",),
        {"padding": 0, "dilation": 1, "ceil_mode": False},
        ("MaxPool1d", "MaxPool2d", "MaxPool3d"),
    ),
    Pool(
        "avgpool",
        _POOL,
        ("kernel",),
        {"padding": 0, "ceil_mode": False},
        ("AvgPool1d", "AvgPool2d", "AvgPool3d"),
    ),
    AdaptiveAvgPool(
        "adaptive_avgpool",
        {"out": SIZE},
        ("out",),
        torch_classes=("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"),
    ),
    Upsample(
        "upsample",
        {"scale": SCALE, "size": SIZE, "mode": Choice(UPSAMPLE_MODES), "align_corners": BOOL},
        (),
        {"mode": "nearest"},
        ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"),
    ),
)

"""Hypothesis strategies that more than one test file draws from: random valid stacks, convolutions and
compare settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from convcalc import ConvSpec
from convcalc.core.formulas import effective_kernel
from convcalc.core.kinds import ACTIVATIONS as ACTIVATION_KINDS
from convcalc.core.spec import PADDING_MODES
from convcalc.core.stack_analysis import StackResult, analyze_stack
from convcalc.core.stack_grammar import parse_stack
from convcalc.core.variants import ACTIVATIONS

Shape = tuple[int, ...]


def analyzed(text: str, shape: Shape, batch: int = 1, dtype: str = "float32") -> StackResult:
    return analyze_stack(parse_stack(text, "inline").layers, shape, batch, dtype)


# ---------------------------------------------------------------------------------------------------
# Random valid stacks, drawn layer by layer so that each fits the shape the stack has reached.


def sized(values: Sequence[int]) -> str:
    """An inline size: one value when every dimension agrees, else one per dimension (3x1)."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def flag(value: bool) -> str:
    return "true" if value else "false"


def per_dim(draw: Any, dim: int, low: int, high: int) -> Shape:
    return tuple(draw(st.integers(low, high)) for _ in range(dim))


@st.composite
def window(draw: Any, spatial: Shape, modes: bool = False) -> list[str]:
    """kernel, stride, dilation and padding of a convolution that fits: n + 2p >= dilation*(k-1) + 1."""
    dim = len(spatial)
    kernel, stride, dilation = per_dim(draw, dim, 1, 3), per_dim(draw, dim, 1, 2), per_dim(draw, dim, 1, 2)
    effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    least = [max(0, -(-(e - n) // 2)) for e, n in zip(effective, spatial)]
    padding = tuple(draw(st.integers(low, low + 2)) for low in least)
    words = ["valid"] * all(n >= e for n, e in zip(spatial, effective)) + ["same"] * (set(stride) == {1})
    chosen = draw(st.sampled_from([sized(padding), *words]))
    fields = [f"kernel={sized(kernel)}", f"stride={sized(stride)}", f"dilation={sized(dilation)}"]
    fields.append(f"padding={chosen}")
    if modes and chosen not in words and all(p < n for p, n in zip(padding, spatial)):  # reflect: p < n
        fields.append(f"padding_mode={draw(st.sampled_from(PADDING_MODES))}")
    return fields


@st.composite
def transposed_window(draw: Any, spatial: Shape) -> list[str]:
    """A transposed window whose output (n-1)*s - 2p + dilation*(k-1) + output_padding + 1 is >= 1."""
    dim = len(spatial)
    kernel, dilation = per_dim(draw, dim, 1, 3), per_dim(draw, dim, 1, 2)
    stride = per_dim(draw, dim, 1, 2) if max(spatial) <= 8 else (1,) * dim  # keep the maps small
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    most = [
        ((n - 1) * s + d * (k - 1) + op) // 2
        for n, s, k, d, op in zip(spatial, stride, kernel, dilation, output_padding)
    ]
    padding = tuple(draw(st.integers(0, min(2, m))) for m in most)
    return [
        "transposed=true",
        f"kernel={sized(kernel)}",
        f"stride={sized(stride)}",
        f"dilation={sized(dilation)}",
        f"padding={sized(padding)}",
        f"output_padding={sized(output_padding)}",
    ]


@st.composite
def conv(draw: Any, shape: Shape, transposed: bool) -> str:
    channels = shape[0]
    groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    out = groups * draw(st.integers(1, 2))
    strided_up = transposed and draw(st.integers(0, 3)) == 0
    fields = draw(transposed_window(shape[1:]) if strided_up else window(shape[1:], modes=True))
    return " ".join(["conv", f"out={out}", f"groups={groups}", *fields, f"bias={flag(draw(st.booleans()))}"])


@st.composite
def separable(draw: Any, shape: Shape, kind: str) -> str:
    """depthwise (with a channel multiplier), or dwsep: that and a pointwise convolution."""
    out = [f"out={draw(st.integers(1, 6))}"] if kind == "dwsep" else []
    fields = [f"multiplier={draw(st.integers(1, 2))}", *draw(window(shape[1:]))]
    return " ".join([kind, *out, *fields, f"bias={flag(draw(st.booleans()))}"])


@st.composite
def pointwise(draw: Any, shape: Shape) -> str:
    stride = sized(per_dim(draw, len(shape) - 1, 1, 2))
    return f"pointwise out={draw(st.integers(1, 6))} stride={stride} bias={flag(draw(st.booleans()))}"


@st.composite
def pool(draw: Any, shape: Shape) -> str:
    """maxpool or avgpool; torch wants padding <= kernel // 2 and the window inside the padded input."""
    kind, spatial = draw(st.sampled_from(["maxpool", "avgpool"])), shape[1:]
    kernel = tuple(draw(st.integers(1, min(3, n))) for n in spatial)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    fields = [kind, f"kernel={sized(kernel)}", f"padding={sized(padding)}"]
    fields.append(f"ceil_mode={flag(draw(st.booleans()))}")
    if draw(st.booleans()):  # else the stride defaults to the kernel
        fields.append(f"stride={sized(per_dim(draw, len(spatial), 1, 3))}")
    if kind == "maxpool":
        fits = [2 * (k - 1) + 1 <= n + 2 * p for k, n, p in zip(kernel, spatial, padding)]
        fields.append(f"dilation={sized([draw(st.integers(1, 2)) if ok else 1 for ok in fits])}")
    return " ".join(fields)


# Layers that keep the shape, and layers for a flat (N, features) input.
PLAIN = st.sampled_from(
    ["bn", "bn eps=0.001 momentum=0.2", "dropout p=0.25", "leaky negative_slope=0.2", *ACTIVATION_KINDS]
)
FLAT = st.one_of(
    PLAIN,
    st.builds(lambda out, bias: f"linear out={out} bias={flag(bias)}", st.integers(1, 6), st.booleans()),
)
BODY = ("conv", "conv", "depthwise", "pointwise", "dwsep", "pool", "plain")


def body_layer(shape: Shape, kinds: Sequence[str], transposed: bool) -> st.SearchStrategy[str]:
    makers = {
        "conv": lambda: conv(shape, transposed),
        "depthwise": lambda: separable(shape, "depthwise"),
        "dwsep": lambda: separable(shape, "dwsep"),
        "pointwise": lambda: pointwise(shape),
        "pool": lambda: pool(shape),
        "plain": lambda: PLAIN,
    }
    return st.sampled_from(kinds).flatmap(lambda kind: makers[kind]())


@st.composite
def head(draw: Any, dim: int) -> list[str]:
    """Optionally an adaptive pool, then optionally flatten and flat layers (linear, bn, ...)."""
    layers = []
    if draw(st.booleans()):
        layers.append(f"adaptive_avgpool out={sized(per_dim(draw, dim, 1, 3))}")
    if draw(st.booleans()):
        layers += ["flatten", *draw(st.lists(FLAT, min_size=1, max_size=3))]
    return layers


@st.composite
def stacks(
    draw: Any,
    dims: Sequence[int] = (0, 1, 2, 3),
    kinds: Sequence[str] = BODY,
    tail: bool = True,
    max_layers: int = 6,
    transposed: bool = True,
) -> tuple[str, Shape]:
    """(inline text, input (C, *spatial)): 1 to max_layers layers, each valid where it stands."""
    dim = draw(st.sampled_from(dims))
    shape = (draw(st.integers(1, 4)), *per_dim(draw, dim, 3, 9 if dim < 3 else 6))
    if dim == 0:  # features only: (N, C)
        return "; ".join(draw(st.lists(FLAT, min_size=1, max_size=max_layers))), shape
    layers: list[str] = []
    current = shape
    for _ in range(draw(st.integers(1, max_layers))):
        layers.append(draw(body_layer(current, kinds, transposed)))
        current = analyzed("; ".join(layers), shape).output_shape[1:]
    if tail:
        layers += draw(head(dim))
    return "; ".join(layers), shape


# ---------------------------------------------------------------------------------------------------
# Single convolutions, valid in torch.


def tuples(dim, low, high):
    return st.tuples(*[st.integers(low, high)] * dim)


@st.composite
def valid_settings(draw, dim: int, transposed: bool) -> dict:
    groups = draw(st.integers(1, 4))
    kernel = draw(tuples(dim, 1, 5))
    stride = draw(tuples(dim, 1, 4))
    dilation = draw(tuples(dim, 1, 3))
    mode = (
        "zeros"
        if transposed
        else draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    )
    words = [] if transposed or any(s != 1 for s in stride) else ["same", "valid"]
    padding = draw(st.one_of(tuples(dim, 0, 4), *[st.just(w) for w in words]))
    output_padding = tuple(
        draw(st.integers(0, max(s, d) - 1)) if transposed else 0 for s, d in zip(stride, dilation)
    )
    pads = _pads(padding, kernel, dilation, dim)
    low = []
    for k, s, d, (left, right), op in zip(kernel, stride, dilation, pads, output_padding):
        if transposed:  # output (n-1)s - 2p + k_eff + op >= 1
            need = 2 * left - effective_kernel(k, d) - op + 1
            low.append(1 + -(-need // s) if need > 0 else 1)
        else:  # padded input at least the effective kernel; reflect/circular need room for the padding
            room = (
                max(left, right) + (1 if mode == "reflect" else 0) if mode in ("reflect", "circular") else 1
            )
            low.append(max(1, effective_kernel(k, d) - left - right, room))
    input_size = tuple(draw(st.integers(n, n + 12)) for n in low)
    return dict(
        dim=dim,
        transposed=transposed,
        groups=groups,
        in_channels=groups * draw(st.integers(1, 3)),
        out_channels=groups * draw(st.integers(1, 3)),
        kernel_size=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        output_padding=output_padding,
        padding_mode=mode,
        bias=draw(st.booleans()),
        batch=draw(st.integers(1, 3)),
        input_size=input_size,
    )


def _pads(padding, kernel, dilation, dim):
    if padding == "valid":
        return [(0, 0)] * dim
    if padding == "same":
        return [((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2) for k, d in zip(kernel, dilation)]
    return [(p, p) for p in padding]


# ---------------------------------------------------------------------------------------------------
# compare's settings.


@st.composite
def compare_settings(draw):
    dim = draw(st.integers(1, 3))
    cin = draw(st.integers(1, 6))
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    dilation = draw(st.integers(1, 2))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    size = max(dilation * (kernel - 1) + 1, padding + 1) + draw(st.integers(0, 6))
    same = stride == 1 and draw(st.booleans())
    spec = ConvSpec(
        cin,
        cin * draw(st.integers(1, 3)),
        kernel,
        stride=stride,
        padding="same" if same else padding,
        dilation=dilation,
        dim=dim,
        input_size=size,
        batch=draw(st.integers(1, 2)),
        bias=draw(st.booleans()),
        padding_mode=mode,
    )
    return dict(
        base=spec,
        groups=draw(st.none() | st.lists(st.integers(1, 6), max_size=2)),
        multiplier=draw(st.integers(1, 3)),
        bn=draw(st.booleans()),
        act=draw(st.none() | st.sampled_from(sorted(ACTIVATIONS))),
    )

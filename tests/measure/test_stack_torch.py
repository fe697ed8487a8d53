"""torch as the judge of stacks: build_stack's real modules against analyze_stack's rows.

Per row, on the meta device: input and output shapes (forward hooks), parameters, buffers and
FLOPs (FlopCounterMode, per module). Receptive field and jump on the cpu, by gradients: the span of
inputs one output depends on, and how far that span moves between two neighbouring outputs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import FLAT, PLAIN, Shape, analyzed, per_dim, sized, stacks  # tests/strategies.py
from torch.utils.flop_counter import FlopCounterMode

from convcalc.core.errors import SpecFileError
from convcalc.core.spec import DTYPE_BYTES
from convcalc.core.stack_analysis import StackLayer, StackResult, analyze_stack
from convcalc.core.stack_grammar import parse_stack, preset
from convcalc.measure.build import build_stack

# ---------------------------------------------------------------------------------------------------
# 1. Shapes, parameters, buffers and FLOPs of every row, from the real modules.


def run_counted(result: StackResult) -> tuple[Any, dict[str, tuple[Shape, Shape, int]], dict, int]:
    """The built model; each row's (input shape, output shape, output bytes); FLOPs per module, total."""
    model = build_stack(result).eval()  # eval: BatchNorm takes a batch of one
    modules = dict(model.named_modules())
    seen: dict[str, tuple[Shape, Shape, int]] = {}

    def record(name: str) -> Any:
        def hook(_module: Any, args: tuple[Any, ...], out: Any) -> None:
            seen[name] = (tuple(args[0].shape), tuple(out.shape), out.numel() * out.element_size())

        return hook

    for row in result.layers:
        modules[row.name].register_forward_hook(record(row.name))
    x = torch.empty(result.input_shape, device="meta", dtype=getattr(torch, result.dtype))
    # no_grad, not inference_mode: the counter sees nothing under inference_mode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    # keyed by module path from the root's class name: 'Sequential.dwsep1.dw'; modules with none absent
    return model, seen, counter.get_flop_counts(), counter.get_total_flops()


def assert_row(row: StackLayer, module: Any, seen: tuple[Shape, Shape, int], flops: int) -> None:
    assert seen == (row.input_shape, row.output_shape, row.activation_bytes), row.name
    params = list(module.parameters())
    assert sum(p.numel() for p in params) == row.params, row.name
    assert sum(p.numel() for p in params if p.requires_grad) == row.trainable_params, row.name
    assert sum(b.numel() for b in module.buffers()) == row.buffers, row.name
    assert flops == row.flops == 2 * row.macs, row.name


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(stack=stacks(), batch=st.integers(1, 2), dtype=st.sampled_from(list(DTYPE_BYTES)))
def test_every_row_is_what_torch_builds_and_counts(stack: tuple[str, Shape], batch: int, dtype: str):
    text, shape = stack
    result = analyzed(text, shape, batch, dtype)
    model, seen, counts, total = run_counted(result)
    modules = dict(model.named_modules())
    for row in result.layers:
        flops = sum(counts.get(f"Sequential.{row.name}", {}).values())
        assert_row(row, modules[row.name], seen[row.name], flops)
    assert sum(p.numel() for p in model.parameters()) == result.params
    assert sum(p.numel() * p.element_size() for p in model.parameters()) == result.param_bytes
    assert sum(b.numel() for b in model.buffers()) == result.buffers
    assert total == result.flops == 2 * result.macs
    assert all(p.dtype == getattr(torch, dtype) for p in model.parameters())


# ---------------------------------------------------------------------------------------------------
# 2. Receptive field and jump, measured by gradients on the cpu.


def along(fields: dict[str, Any], key: str, dim: int, default: int = 1) -> list[int]:
    """A row's per-dimension setting (a list, or one int for every dimension)."""
    value = fields.get(key, default)
    return list(value) if isinstance(value, list) else [value] * dim


def window_average(row: StackLayer) -> Any:
    """A maxpool's window as an average: a max sends its gradient to one input only, an average to all.

    AvgPool has no dilation, so a depthwise convolution (weights set by positive_paths); ceil mode's
    extra output becomes padding on the right, so the output shape stays the row's.
    """
    channels, dim = row.input_shape[1], len(row.input_shape) - 2
    kernel, stride, padding, dilation = (
        along(row.settings, key, dim) for key in ("kernel", "stride", "padding", "dilation")
    )
    extra = [
        max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
        for o, s, k, d, n, p in zip(
            row.output_shape[2:], stride, kernel, dilation, row.input_shape[2:], padding
        )
    ]
    pads = [v for p, x in reversed(list(zip(padding, extra))) for v in (p, p + x)]  # last dim first
    conv = getattr(torch.nn, f"Conv{dim}d")(
        channels, channels, kernel, stride, 0, dilation, groups=channels, bias=False, dtype=torch.float64
    )
    return torch.nn.Sequential(getattr(torch.nn, f"ConstantPad{dim}d")(tuple(pads), 0.0), conv)


# Convolutions (transposed too) and linear layers: the modules with weights to set.
WEIGHTED = (
    *(getattr(torch.nn, f"{kind}{d}d") for kind in ("Conv", "ConvTranspose") for d in (1, 2, 3)),
    torch.nn.Linear,
)


def positive_paths(result: StackResult) -> Any:
    """The stack on the cpu, where every path from an input to an output carries a non-zero gradient.

    Weights 1/numel and zero biases keep every value in (0, 1] on an input of ones, where no
    activation saturates (relu6 above 6, and tanh and sigmoid far out, have a zero gradient in
    float64) and relu's gradient is 1. BatchNorm in eval mode keeps its default statistics (mean 0,
    variance 1, weight 1, bias 0): a scale of about 1. Dropout in eval mode is the identity.
    """
    model = build_stack(result, "cpu")
    for row in result.layers:
        if row.kind == "maxpool":
            setattr(model, row.name, window_average(row))  # a pool's name has no dot: never nested
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, WEIGHTED):
                module.weight.fill_(1 / module.weight.numel())
                if module.bias is not None:
                    module.bias.zero_()
    return model.eval()


# Per output measured (its offset in the block), per dimension: the first and last input reached;
# None where no input reaches it.
Spans = dict[Shape, list[tuple[int, int]] | None]


def offsets(result: StackResult) -> list[Shape]:
    """The outputs measured, as offsets from a corner: every combination of 0..q-1 per dimension.

    q**dim of them, one per sample of the batch: q = 2 gives neighbours along every dimension (the
    jump); q = a transposed layer's stride meets each of its residues in every dimension at once.
    """
    dim = len(result.input_shape) - 2
    q = round(result.batch ** (1 / dim)) if dim else 1
    assert q**dim == result.batch, "the batch holds one sample per output measured"
    return list(itertools.product(range(q), repeat=dim))


def measure_spans(result: StackResult) -> dict[str, Spans]:
    """Per row with a receptive field: the input span of each output of a q x q (x q) block.

    Sample t back-propagates from the block's output t, summed over channels; the block sits in the
    middle of the map, clipped to it. A flat row (after flatten) from all its features, in sample 0.
    """
    model = positive_paths(result)
    modules, outputs = dict(model.named_modules()), {}
    for row in result.layers:
        hook = lambda _m, _a, out, name=row.name: outputs.__setitem__(name, out)  # noqa: E731
        modules[row.name].register_forward_hook(hook)
    x = torch.ones(result.input_shape, dtype=torch.float64, requires_grad=True)
    model(x)
    spans, block = {}, offsets(result)
    for row in result.layers:
        out = outputs[row.name]
        assert tuple(out.shape) == row.output_shape, row.name  # the pool swap kept the shapes
        if row.receptive_field is None:
            continue
        if out.dim() == 2:
            chosen, picked = {(): 0}, out[0].sum()
        else:
            q, sizes = block[-1][0] + 1, out.shape[2:]
            corner = [max(0, (m - q) // 2) for m in sizes]
            at = {o: [c + x for c, x in zip(corner, o)] for o in block}
            chosen = {o: t for t, o in enumerate(block) if all(i < m for i, m in zip(at[o], sizes))}
            picked = sum(out[(t, slice(None), *at[o])].sum() for o, t in chosen.items())
        (grad,) = torch.autograd.grad(picked, x, retain_graph=True)
        spans[row.name] = {o: extent(grad[t].ne(0).any(0)) for o, t in chosen.items()}
    return spans


def extent(mask: Any) -> list[tuple[int, int]] | None:
    """Per dimension, the first and last index where the mask holds anywhere across the others."""
    if not mask.any():  # a strided transposed layer leaves some outputs without any input
        return None
    out = []
    for axis in range(mask.dim()):
        others = [a for a in range(mask.dim()) if a != axis]
        hits = (mask.any(dim=others) if others else mask).nonzero().flatten()
        out.append((int(hits.min()), int(hits.max())))
    return out


def back(row: StackLayer, lo: int, hi: int, axis: int) -> tuple[int, int]:
    """The inputs of one row that its outputs lo..hi read, padding included: to size the input."""
    if row.conv is not None:
        spec = row.conv.spec
        k, s, left, d = spec.kernel_size[axis], spec.stride[axis], spec.pads[axis][0], spec.dilation[axis]
        if spec.transposed:  # output o = i*s - p + t*d for tap t
            return -(-(lo + left - d * (k - 1)) // s), (hi + left) // s
    elif row.kind in ("maxpool", "avgpool"):
        dim = len(row.input_shape) - 2
        k, s, left, d = (
            along(row.settings, key, dim)[axis] for key in ("kernel", "stride", "padding", "dilation")
        )
    else:
        return lo, hi
    return lo * s - left, hi * s - left + d * (k - 1)


def fits(result: StackResult) -> bool:
    """Whether the outputs measure_spans picks read only real inputs, padding nowhere on their paths.

    Every row on the way back, not only the first: a transposed row's padding crops its output, so
    inputs a later row reads from its padding can map back to real inputs of the network.
    """
    q = offsets(result)[-1][0] + 1 if len(result.input_shape) > 2 else 1
    for index, row in enumerate(result.layers):
        if row.receptive_field is None or len(row.output_shape) == 2:
            continue
        for axis, m in enumerate(row.output_shape[2:]):
            if m < q:
                return False
            lo = (m - q) // 2
            hi = lo + q - 1
            for earlier in reversed(result.layers[: index + 1]):
                lo, hi = back(earlier, lo, hi, axis)
                if lo < 0 or hi >= earlier.input_shape[2 + axis]:  # padding of this row's input
                    return False
    return True


def roomy(layers: Sequence[dict], shape: Shape, q: int) -> StackResult:
    """The stack on an input grown until the measured outputs see no padding (the RF counts it)."""
    channels, spatial = shape[0], list(shape[1:])
    for _ in range(30):
        result = analyze_stack(layers, (channels, *spatial), batch=q ** len(spatial), dtype="float64")
        if fits(result):
            return result
        spatial = [n + n // 4 + 2 for n in spatial]
    raise AssertionError(f"no input up to {spatial} leaves the measured outputs clear of padding")


def strided_transposed(row: StackLayer) -> bool:
    return row.conv is not None and row.conv.spec.transposed and max(row.conv.spec.stride) > 1


def assert_measured(result: StackResult) -> None:
    """Every row's receptive field and jump are the measured ones; None exactly where not modelled."""
    spans, block = measure_spans(result), offsets(result)
    after = False  # a strided transposed layer came before
    for row in result.layers:
        assert (row.receptive_field is None) == after, row.name
        after = after or strided_transposed(row)
        assert (row.jump is None) == after, row.name
        if row.receptive_field is None:
            continue
        measured = spans[row.name]
        fields = [tuple(b - a + 1 for a, b in sample) if sample else None for sample in measured.values()]
        if row.jump is None:  # outputs off a uniform grid: the widest, over one output per residue
            assert tuple(map(max, zip(*filter(None, fields)))) == row.receptive_field, row.name
            continue
        assert fields == [row.receptive_field] * len(fields), row.name
        corner, diagonal = measured.get(block[0]), measured.get((1,) * len(block[0]))
        if corner and diagonal:  # the block's first output and its neighbour along every dimension
            assert tuple(b[0] - a[0] for a, b in zip(corner, diagonal)) == row.jump, row.name


def measured_roomy(layers: Sequence[dict], shape: Shape) -> StackResult:
    """Measure on an input large enough; return the result measured."""
    small = analyze_stack(layers, shape)
    # one output per residue of the largest transposed stride, else two neighbours (the jump)
    q = max([2, *(max(r.conv.spec.stride) for r in small.layers if strided_transposed(r))])
    result = roomy(layers, shape, q)
    # for these kinds the receptive field and jump do not depend on the input size
    assert [(r.receptive_field, r.jump) for r in result.layers] == [
        (r.receptive_field, r.jump) for r in small.layers
    ]
    assert_measured(result)
    return result


FIELD_KINDS = ("conv", "conv", "depthwise", "pointwise", "dwsep", "pool", "pool", "plain")


# A cropping transposed layer (padding > 0), then one whose padding the measured outputs read: the
# real inputs they map back to lie inside the network's input, but no path reaches them.
CROPPED_THEN_PADDED = [
    (
        "conv out=1 groups=1 transposed=true kernel=1 stride=1 dilation=1 padding=1 output_padding=0 "
        "bias=false; maxpool kernel=3 padding=1 ceil_mode=false dilation=1",
        (2, 9),
    ),
    (
        "conv out=1 groups=1 transposed=true kernel=1 stride=1 dilation=1 padding=1x0 output_padding=0 "
        "bias=false; depthwise multiplier=1 kernel=1 stride=2x1 dilation=1 padding=1x0 bias=false",
        (2, 3, 3),
    ),
    (
        "conv out=2 groups=1 transposed=true kernel=1 stride=1 dilation=1 padding=0x1 output_padding=0 "
        "bias=false; conv out=1 groups=1 kernel=1x2 stride=1x2 dilation=1 padding=0x1 bias=false",
        (2, 3, 3),
    ),
]


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(
    stack=st.one_of(
        stacks((1, 2), FIELD_KINDS, tail=False, max_layers=4),
        stacks((3,), FIELD_KINDS, tail=False, max_layers=2),
    )
)
@example(stack=CROPPED_THEN_PADDED[0])
@example(stack=CROPPED_THEN_PADDED[1])
@example(stack=CROPPED_THEN_PADDED[2])
def test_receptive_field_and_jump_are_the_measured_ones(stack: tuple[str, Shape]):
    text, shape = stack
    measured_roomy(parse_stack(text, "inline").layers, shape)


@st.composite
def unpadded(draw: Any) -> tuple[str, Shape]:
    """Windows that never read padding (none, no ceil mode), then a whole-map head: adaptive pooling
    to a divisor of the map (a uniform grid), flatten, flat layers. Measured at the input itself."""
    dim = draw(st.sampled_from((1, 2)))
    shape = (draw(st.integers(1, 3)), *per_dim(draw, dim, 4, 16))
    layers, current = [], shape
    for _ in range(draw(st.integers(1, 3))):
        spatial = current[1:]
        kinds = ["conv out=2", "depthwise multiplier=2", "dwsep out=3", "maxpool", "avgpool", "plain"]
        kind = draw(st.sampled_from(kinds))
        if kind == "plain":
            layers.append(draw(PLAIN))
        else:
            kernel = [draw(st.integers(1, min(3, n))) for n in spatial]
            words = [kind, f"kernel={sized(kernel)}", f"stride={sized(per_dim(draw, dim, 1, 2))}"]
            if kind != "avgpool":
                dilation = [
                    draw(st.integers(1, 2)) if 2 * (k - 1) < n else 1 for k, n in zip(kernel, spatial)
                ]
                words.append(f"dilation={sized(dilation)}")
            layers.append(" ".join(words))
        current = analyzed("; ".join(layers), shape).output_shape[1:]
    if draw(st.booleans()):
        out = [draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0])) for n in current[1:]]
        layers.append(f"adaptive_avgpool out={sized(out)}")
    return "; ".join([*layers, "flatten", *draw(st.lists(FLAT, max_size=2))]), shape


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(stack=unpadded())
def test_whole_map_receptive_fields_are_the_measured_ones(stack: tuple[str, Shape]):
    """flatten, and what follows it, see the whole map; an adaptive pool its window, with no padding."""
    text, shape = stack
    assert_measured(analyzed(text, shape, batch=2 ** (len(shape) - 1), dtype="float64"))


# (stack, input, {row: (receptive field, jump)}), the expected figures written as arithmetic.
FIELD_CASES = [
    ("conv out=2 kernel=3; conv out=2 kernel=3; conv out=2 kernel=3", (1, 9),
     {"conv3": ((1 + 3 * 2,), (1,))}),
    ("conv out=2 kernel=3 stride=2; conv out=2 kernel=3", (1, 9), {"conv2": ((3 + 2 * 2,), (2,))}),
    ("conv out=1 kernel=3 dilation=2; conv out=1 kernel=3 dilation=4", (1, 20),
     {"conv2": ((1 + 2 * 2 + 2 * 4,), (1,))}),
    # a max pool's window counts its dilation: 1 * (2 - 1) * 3 + 1 = 4
    ("maxpool kernel=2 dilation=3; conv out=1 kernel=3", (2, 9),
     {"maxpool1": ((4,), (2,)), "conv1": ((4 + 2 * 2,), (2,))}),
    ("dwsep out=4 multiplier=2 kernel=5 stride=2 padding=2", (3, 9, 9), {"dwsep1.pw": ((5, 5), (2, 2))}),
    ("conv out=2 kernel=3x1 stride=1x2; conv out=2 kernel=1x5", (1, 9, 9),
     {"conv2": ((3, 1 + 4 * 2), (1, 2))}),
    ("avgpool kernel=3 stride=2 padding=1 ceil_mode=true; maxpool kernel=2 ceil_mode=true", (1, 6, 6),
     {"maxpool1": ((3 + 1 * 2,) * 2, (4, 4))}),
    ("conv out=2 kernel=3 stride=2; conv out=2 kernel=3 transposed=true", (1, 9),
     {"conv2": ((3 + 2 * 2,), (2,))}),
    # kernel 4, stride 2: an output meets 2 taps, one input (a jump of 2) apart
    ("conv out=2 kernel=3 stride=2; conv out=1 kernel=4 stride=2 transposed=true", (1, 9),
     {"conv2": ((3 + 1 * 2,), None)}),
    # stride 2, dilation 2: every other output meets all 3 taps, on 3 neighbouring inputs
    ("conv out=2 kernel=3 stride=2 dilation=2 transposed=true", (1, 9), {"conv1": ((1 + 2 * 1,), None)}),
    # stride 3, dilation 2: taps 2 apart never land on the same output: one input each
    ("conv out=2 kernel=3 stride=3 dilation=2 transposed=true", (1, 9), {"conv1": ((1,), None)}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "shape", "expected"), FIELD_CASES)
def test_known_receptive_fields_are_measured(text: str, shape: Shape, expected: dict):
    result = measured_roomy(parse_stack(text, "inline").layers, shape)
    rows = {row.name: (row.receptive_field, row.jump) for row in result.layers}
    assert {name: rows[name] for name in expected} == expected


# Whole-map windows depend on the map's size: measured at the input given, with no padding anywhere.
MAP_CASES = [
    # 8 conv outputs into 2 windows of 4: 3 + (4 - 1) * 1, step 4; flatten: one window over both
    ("conv out=2 kernel=3; adaptive_avgpool out=2; flatten; linear out=3", (1, 10),
     {"adaptive_avgpool1": ((3 + 3,), (4,)), "flatten1": ((6 + 1 * 4,), (8,)), "linear1": ((10,), (8,))}),
    ("conv out=2 kernel=3; adaptive_avgpool out=2", (1, 10, 6),
     {"adaptive_avgpool1": ((3 + 3, 3 + 1), (4, 2))}),
    ("dwsep out=3 kernel=3 stride=2; flatten", (2, 9, 7), {"flatten1": ((3 + 3 * 2, 3 + 2 * 2), (8, 6))}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "shape", "expected"), MAP_CASES)
def test_whole_map_receptive_fields_are_measured(text: str, shape: Shape, expected: dict):
    result = analyzed(text, shape, batch=2 ** (len(shape) - 1), dtype="float64")  # a 2 x 2 block
    rows = {row.name: (row.receptive_field, row.jump) for row in result.layers}
    assert {name: rows[name] for name in expected} == expected
    assert_measured(result)


@pytest.mark.slow
def test_vgg16_conv5_3_sees_196_pixels():
    layers = parse_stack(preset("vgg16"), "toml").layers
    end = next(i for i, layer in enumerate(layers) if layer["name"] == "maxpool5")
    # one channel per conv: widths change the cost, never the receptive field
    narrow = [{**layer, "out": 1} if layer["kind"] == "conv" else layer for layer in layers[: end + 1]]
    result = measured_roomy(narrow, (1, 32, 32))
    rows = {row.name: (row.receptive_field, row.jump) for row in result.layers}
    # 3x3 convs add 2 * jump, 2x2 pools 1 * jump; jumps 1, 2, 4, 8, 16 by stage
    conv5_3 = 1 + 2 * (2 * 1 + 2 * 2 + 3 * 4 + 3 * 8 + 3 * 16) + 1 * (1 + 2 + 4 + 8)
    assert rows["conv13"] == ((conv5_3,) * 2, (16, 16)) and conv5_3 == 196
    assert rows["maxpool5"] == ((conv5_3 + 16,) * 2, (32, 32))


# ---------------------------------------------------------------------------------------------------
# 3. Names.


def test_every_row_is_the_module_of_its_name():
    text = (
        "conv out=4 kernel=3 name=stem; bn; repeat times=2 [ dwsep out=8 kernel=3 padding=1; relu6 ]; "
        "dwsep out=8 kernel=3 name=last; leaky negative_slope=0.3; avgpool kernel=2; flatten; bn; "
        "linear out=3"
    )
    result = analyzed(text, (3, 12, 12))
    model = build_stack(result)
    modules = dict(model.named_modules())
    assert set(modules) >= {row.name for row in result.layers}
    assert list(modules["last"]._modules) == ["dw", "pw"] and list(modules["dwsep2"]._modules) == ["dw", "pw"]
    assert [name for name in model._modules] == [
        "stem", "bn1", "dwsep1", "relu6_1", "dwsep2", "relu6_2", "last", "leaky1", "avgpool1", "flatten1",
        "bn2", "linear1",
    ]  # fmt: skip
    assert type(modules["bn1"]).__name__ == "BatchNorm2d" and type(modules["bn2"]).__name__ == "BatchNorm1d"
    assert modules["leaky1"].negative_slope == 0.3 and modules["linear1"].in_features == 8 * 4 * 4
    assert modules["dwsep1.dw"].groups == 4 and modules["last.pw"].kernel_size == (1, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("relu name=forward", "layer 1 (forward, relu): name: 'forward' is taken by torch.nn.Sequential"),
        ("dwsep out=4 kernel=1 name=training", "layer 1 (training.dw, depthwise): name: 'training' is taken"),
        (
            "dwsep out=4 kernel=1 name=block; relu name=block",
            "layer 3 (block, relu): name: 'block' is already the name",
        ),
    ],
)
def test_names_torch_cannot_register_are_refused(text: str, message: str):
    """The spec allows these names; a torch module cannot hold them (or would nest into another)."""
    result = analyzed(text, (4, 6, 6))
    with pytest.raises(SpecFileError) as caught:
        build_stack(result)
    assert str(caught.value).startswith(message)

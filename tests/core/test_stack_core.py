"""Stacks without torch: spec parsing (one grammar, three syntaxes), the shape walk, presets, RF."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.core.analysis import analyze
from convcalc.core.errors import ConvCalcError, SpecFileError
from convcalc.core.spec import ConvSpec
from convcalc.core.stack_analysis import StackLayer, analyze_stack
from convcalc.core.stack_grammar import MAX_LAYERS, PRESETS, load_stack, parse_stack, preset
from convcalc.core.stack_reader import MAX_BYTES


def run_preset(name: str):
    spec = parse_stack(preset(name), "toml")
    return analyze_stack(spec.layers, spec.input_shape)


# MobileNet V1 1.0-224, Howard et al. 2017 Table 1: (C_in, C_out, output side) of the 13 separable blocks.
BLOCKS = [(32, 64, 112), (64, 128, 56), (128, 128, 56), (128, 256, 28), (256, 256, 28), (256, 512, 14)]
BLOCKS += [(512, 512, 14)] * 5 + [(512, 1024, 7), (1024, 1024, 7)]
MOBILENET_WEIGHTS = (
    3 * 3 * 3 * 32  # first conv, no bias
    + sum(3 * 3 * cin for cin, _, _ in BLOCKS)  # depthwise 3x3, no bias
    + sum(cin * cout for cin, cout, _ in BLOCKS)  # pointwise 1x1, no bias
    + 1024 * 1000  # fc weight
)
MOBILENET_FC_BIAS = 1000
MOBILENET_BN = 2 * (32 + sum(cin + cout for cin, cout, _ in BLOCKS))  # weight and bias per channel
MOBILENET_MACS = (
    112 * 112 * 32 * 3 * 3 * 3  # first conv, stride 2
    + sum(side * side * cin * 3 * 3 for cin, _, side in BLOCKS)  # depthwise
    + sum(side * side * cin * cout for cin, cout, side in BLOCKS)  # pointwise
)
MOBILENET_FC_MACS = 1024 * 1000

# VGG-16 (configuration D): (C_in, C_out, output side) of the 13 convolutions, then the classifier.
VGG = [(3, 64, 224), (64, 64, 224), (64, 128, 112), (128, 128, 112), (128, 256, 56)]
VGG += [(256, 256, 56)] * 2 + [(256, 512, 28)] + [(512, 512, 28)] * 2 + [(512, 512, 14)] * 3
FC = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
VGG_PARAMS = sum(cin * cout * 9 + cout for cin, cout, _ in VGG) + sum(i * o + o for i, o in FC)
VGG_MACS = sum(side * side * cin * cout * 9 for cin, cout, side in VGG) + sum(i * o for i, o in FC)


def test_mobilenet_v1_totals_match_howard_et_al():
    result = run_preset("mobilenet_v1")
    assert MOBILENET_WEIGHTS == 4_209_088  # Howard et al.'s "4.2 million": the weights alone
    assert result.params == MOBILENET_WEIGHTS + MOBILENET_FC_BIAS + MOBILENET_BN == 4_231_976
    assert round(result.params / 1e6, 1) == 4.2
    assert result.buffers == MOBILENET_BN + 27  # running mean and var per channel, a counter per BN
    # Their 569 M mult-adds include the fc layer: without it the count rounds to 568 M.
    assert result.macs == MOBILENET_MACS + MOBILENET_FC_MACS == 568_740_352
    assert round(result.macs / 1e6) == 569 and round(MOBILENET_MACS / 1e6) == 568
    assert result.flops == 2 * result.macs
    assert result.output_shape == (1, 1000)


def test_vgg16_totals_match_the_published_figures():
    result = run_preset("vgg16")
    assert result.params == VGG_PARAMS == 138_357_544
    assert result.macs == VGG_MACS == 15_470_264_320
    assert round(result.macs / 1e9, 2) == 15.47
    assert result.bias_adds == sum(side * side * cout for _, cout, side in VGG) + sum(o for _, o in FC)


def layer(result, name: str) -> StackLayer:
    return next(row for row in result.layers if row.name == name)


def test_preset_receptive_fields_follow_the_recurrence():
    vgg = run_preset("vgg16")
    # r = 1 + sum (k - 1) * jump: 3x3 convs add 2 * jump, 2x2 pools 1 * jump; jumps 1, 2, 4, 8, 16 by stage.
    conv5_3 = 1 + 2 * (2 * 1 + 2 * 2 + 3 * 4 + 3 * 8 + 3 * 16) + 1 * (1 + 2 + 4 + 8)
    assert layer(vgg, "conv13").receptive_field == (conv5_3, conv5_3) == (196, 196)
    assert layer(vgg, "conv13").jump == (16, 16)
    assert layer(vgg, "maxpool5").receptive_field == (conv5_3 + 16,) * 2 == (212, 212)
    assert layer(vgg, "maxpool5").jump == (32, 32)
    # flatten: one window over the 7x7 map (step 7 at jump 32)
    assert layer(vgg, "flatten1").receptive_field == (212 + 6 * 32,) * 2
    assert layer(vgg, "flatten1").jump == (32 * 7,) * 2
    assert vgg.receptive_field == layer(vgg, "flatten1").receptive_field

    mobilenet = run_preset("mobilenet_v1")
    jumps_before_dw = [2, 2, 4, 4, 8, 8, 16, 16, 16, 16, 16, 16, 32]  # stride-2 blocks double the next
    last_conv = 1 + 2 * 1 + sum(2 * j for j in jumps_before_dw)  # first conv, then each depthwise 3x3
    assert layer(mobilenet, "pointwise13").receptive_field == (last_conv, last_conv) == (315, 315)
    assert layer(mobilenet, "pointwise13").jump == (32, 32)
    assert layer(mobilenet, "adaptive_avgpool1").receptive_field == (last_conv + 6 * 32,) * 2
    assert layer(mobilenet, "adaptive_avgpool1").jump == (32 * 7,) * 2


SAME_STACK = {
    "inline": "conv out=8 kernel=3x3 stride=2 padding=1 bias=false name=stem; bn; relu6; "
    "repeat times=2 [ dwsep out=16 kernel=3 padding=same; leaky ]; maxpool kernel=2 ceil_mode=true; "
    "adaptive_avgpool out=1; flatten; dropout p=0.25; linear out=10",
    "json": json.dumps(
        {
            "input": "3x32x32",
            "layers": [
                {
                    "kind": "conv",
                    "out": 8,
                    "kernel": [3, 3],
                    "stride": 2,
                    "padding": 1,
                    "bias": False,
                    "name": "stem",
                },
                {"kind": "bn"},
                {"kind": "relu6"},
                {
                    "kind": "repeat",
                    "times": 2,
                    "layers": [
                        {"kind": "dwsep", "out": 16, "kernel": 3, "padding": "same"},
                        {"kind": "leaky"},
                    ],
                },
                {"kind": "maxpool", "kernel": 2, "ceil_mode": True},
                {"kind": "adaptive_avgpool", "out": 1},
                {"kind": "flatten"},
                {"kind": "dropout", "p": 0.25},
                {"kind": "linear", "out": 10},
            ],
        }
    ),
    "toml": """
input = "3x32x32"
[[layer]]
kind = "conv"
out = 8
kernel = "3x3"
stride = 2
padding = 1
bias = false
name = "stem"
[[layer]]
kind = "bn"
[[layer]]
kind = "relu6"
[[layer]]
kind = "repeat"
times = 2
[[layer.layers]]
kind = "dwsep"
out = 16
kernel = 3
padding = "same"
[[layer.layers]]
kind = "leaky"
[[layer]]
kind = "maxpool"
kernel = 2
ceil_mode = true
[[layer]]
kind = "adaptive_avgpool"
out = 1
[[layer]]
kind = "flatten"
[[layer]]
kind = "dropout"
p = 0.25
[[layer]]
kind = "linear"
out = 10
""",
}


def test_one_grammar_in_three_syntaxes():
    parsed = {syntax: parse_stack(text, syntax) for syntax, text in SAME_STACK.items()}
    assert parsed["toml"] == parsed["json"]
    assert parsed["inline"].layers == parsed["json"].layers
    assert parsed["json"].input_shape == (3, 32, 32) and parsed["inline"].input_shape is None
    names = [row["name"] for row in parsed["toml"].layers]
    assert names == [
        "stem", "bn1", "relu6_1",
        "dwsep1.dw", "dwsep1.pw", "leaky1", "dwsep2.dw", "dwsep2.pw", "leaky2",
        "maxpool1", "adaptive_avgpool1", "flatten1", "dropout1", "linear1",
    ]  # fmt: skip
    assert parsed["toml"].layers[0]["kernel"] == (3, 3) and parsed["toml"].layers[0]["bias"] is False
    assert parsed["toml"].layers[9]["stride"] == 2  # a pool's stride defaults to its kernel


def test_the_parsed_stack_analyses():
    spec = parse_stack(SAME_STACK["json"], "json")
    result = analyze_stack(spec.layers, spec.input_shape, batch=2)
    shapes = {row.name: row.output_shape for row in result.layers}
    assert shapes["stem"] == (2, 8, 16, 16) and shapes["dwsep2.pw"] == (2, 16, 16, 16)
    assert shapes["maxpool1"] == (2, 16, 8, 8) and shapes["linear1"] == (2, 10)
    assert [row.depth for row in result.layers[3:5]] == [1, 1]
    dw = layer(result, "dwsep1.dw")
    assert dw.params == 8 * 3 * 3 + 8 and dw.conv is not None and dw.conv.spec.groups == 8
    assert layer(result, "bn1").params == 2 * 8 and layer(result, "bn1").buffers == 2 * 8 + 1
    assert layer(result, "linear1").macs == 2 * 16 * 10 and layer(result, "linear1").params == 16 * 10 + 10
    assert layer(result, "maxpool1").macs == 0 and layer(result, "relu6_1").macs == 0
    assert result.activation_bytes == sum(4 * _prod(row.output_shape) for row in result.layers)
    assert result.param_bytes == 4 * result.params


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for v in shape:
        out *= v
    return out


def test_repeat_names_given_names_per_repetition():
    spec = parse_stack(
        "repeat times=2 [ conv out=4 kernel=1 name=b; repeat times=2 [ relu name=r ] ]", "inline"
    )
    assert [row["name"] for row in spec.layers] == ["b_1", "r_1_1", "r_1_2", "b_2", "r_2_1", "r_2_2"]


PARSE_ERRORS = [
    ("conv out=4 kernel=3 stride=-1", "layer 1 (conv): stride: got -1; it must be a positive integer"),
    ("relu; convv out=3", "layer 2: unknown kind 'convv'; use one of conv, depthwise, pointwise, dwsep, "),
    ("flatten; linear outs=3", "layer 2 (linear): unknown field 'outs'; use out, bias, name"),
    ("conv kernel=3", "layer 1 (conv): out: missing; a conv layer needs out, kernel"),
    ("conv out=4 kernel=3x", "layer 1 (conv): kernel: got '3x'; it must be a positive integer such as 3"),
    ("conv out=4 kernel=3 padding=full", "layer 1 (conv): padding: got 'full'; it must be same, valid, an"),
    ("conv out=4 kernel=3 bias=yes", "layer 1 (conv): bias: got 'yes'; it must be true or false"),
    ("conv out=4 kernel=3 padding_mode=wrap", "layer 1 (conv): padding_mode: got 'wrap'; it must be one of"),
    ("dropout p=1.5", "layer 1 (dropout): p: got 1.5; it must be a number in [0, 1]"),
    ("relu name=a.b", "layer 1 (a.b, relu): name: got 'a.b'; it must be 1 to 64 letters, digits, _ or -"),
    ("relu name=a; relu name=a", "layer 2 (a, relu): name: already used by layer 1; names must be unique"),
    ("relu kernel 3", "layer 1 (relu): 'kernel' is not key=value; write e.g. kernel=3"),
    ("conv out=4 out=5 kernel=3", "layer 1 (conv): out: given twice; keep one"),
    (
        "repeat times=2 [ relu; conv out=0 kernel=1 ]",
        "layer 1.2 (conv): out: got 0; it must be a positive integer",
    ),
    ("repeat times=2 [ relu", "layer 1: a '[' is never closed; end the repeat's body with ']'"),
    ("relu ]", "spec: a ']' closes no '['; a repeat's body is 'repeat times=N [ ... ]'"),
    ("conv out=4 kernel=3 [ relu ]", "layer 1 (conv): unknown field 'layers'; use out, kernel, stride,"),
    ("repeat times=2 [ ]", "layer 1 (repeat): layers: empty; a repeat needs at least one layer"),
    (" ; ", "spec: no layers; give at least one, e.g. 'conv out=16 kernel=3'"),
    (
        '{"layers": [{"kind": "conv", "out": 4, "kernel": 3, "bias": "true"}]}',
        "layer 1 (conv): bias: got 'true'; it",
    ),
    (
        '{"layers": [{"kind": "conv", "out": 4.0, "kernel": 3}]}',
        "layer 1 (conv): out: got 4.0; it must be a positi",
    ),
    (
        '{"layers": [{"kind": "conv", "out": true, "kernel": 3}]}',
        "layer 1 (conv): out: got true; it must be a posi",
    ),
    (
        '{"layers": [{"kind": "conv", "out": 4, "kernel": [3, "3"]}]}',
        "layer 1 (conv): kernel: got a list; it must",
    ),
    (
        '{"layers": [{"kind": "relu"}], "lyers": 1}',
        "spec: unknown top-level field 'lyers'; use input, layers",
    ),
    (
        '{"layers": [{"kind": "relu", "kind": "tanh"}]}',
        "spec: field 'kind' is given twice in one object; keep",
    ),
    ('{"layers": [{"kind": "dropout", "p": NaN}]}', "spec: not valid JSON: NaN is not a number JSON allows"),
    ('{"layers": [3]}', "layer 1: got int; each layer is a table with a kind"),
    ('{"input": "3x0", "layers": [{"kind": "relu"}]}', "input: got 0; it must be a positive integer"),
    ('{"layers": [', "spec: not valid JSON: Expecting value: line 1 column 13 (char 12)"),
    (
        "[[layer]]\nkind = 'relu'\n[[layer]]\nkind = 'relu'\nname = 7",
        "layer 2 (relu): name: got 7; it must be 1 to",
    ),
    ("layer = 3", "spec: layers: got int; it must be a list of layers"),
    (
        "input = [3, 224]\n[[layer]]\nkind = 'relu'\ntimes = 3",
        "layer 1 (relu): unknown field 'times'; use name",
    ),
    ("[[layer]]\nkind = ", "spec: not valid TOML: Invalid value (at end of document)"),
]


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS)
def test_each_parse_error_is_one_line_naming_the_layer_and_field(text: str, message: str):
    syntax = (
        "json" if text.startswith("{") else "toml" if "\n" in text or text.startswith("layer =") else "inline"
    )
    with pytest.raises(SpecFileError) as caught:
        parse_stack(text, syntax)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ConvCalcError) and isinstance(caught.value, ValueError)


ANALYSIS_ERRORS = [
    (
        "conv out=8 kernel=3; linear out=10",
        "3x8x8",
        "layer 2 (linear1, linear): input: linear needs a flat (N, ",
    ),
    (
        "conv out=6 kernel=3 groups=4",
        "3x8x8",
        "layer 1 (conv1, conv): groups: input channels=3 is not divisible by group",
    ),
    (
        "conv out=6 kernel=9",
        "3x8x8",
        "layer 1 (conv1, conv): kernel: effective kernel 9 (kernel 9, dilation 1) is",
    ),
    (
        "flatten; conv out=4 kernel=1",
        "3x8x8",
        "layer 2 (conv1, conv): input: a conv layer needs a (N, C, *spatial)",
    ),
    (
        "maxpool kernel=3 padding=2",
        "3x8x8",
        "layer 1 (maxpool1, maxpool): padding: got 2 with kernel 3; it must be",
    ),
    (
        "avgpool kernel=9",
        "3x8x8",
        "layer 1 (avgpool1, avgpool): kernel: effective kernel 9 is larger than the pad",
    ),
    (
        "maxpool kernel=2x2x2",
        "3x8x8",
        "layer 1 (maxpool1, maxpool): kernel: 2x2x2 has 3 values but the input is 2-D",
    ),
    ("conv out=4 kernel=3x3", "3x8", "layer 1 (conv1, conv): kernel: 3x3 has 2 values but the layer is 1-D;"),
    (
        "conv out=4 kernel=3 stride=2 padding=same",
        "3x8x8",
        "layer 1 (conv1, conv): padding: 'same' needs stride 1",
    ),
]


@pytest.mark.parametrize(("text", "shape", "message"), ANALYSIS_ERRORS)
def test_each_analysis_error_is_one_line_naming_the_layer(text: str, shape: str, message: str):
    input_shape = tuple(int(v) for v in shape.split("x"))
    with pytest.raises(SpecFileError) as caught:
        analyze_stack(parse_stack(text, "inline").layers, input_shape)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(message)


def test_linear_after_a_4d_tensor_says_add_flatten():
    with pytest.raises(SpecFileError, match="add flatten before it"):
        analyze_stack(parse_stack("linear out=3", "inline").layers, (3, 4, 4))


@pytest.mark.parametrize(
    "text",
    [
        "repeat times=1000000000 [ relu ]",
        "repeat times=100 [ repeat times=100 [ relu; relu ] ]",
        f"repeat times={MAX_LAYERS // 2 + 1} [ dwsep out=4 kernel=3 ]",  # each dwsep is two layers
        "relu; " * (MAX_LAYERS + 1),
    ],
)
def test_the_expanded_layer_count_is_capped_without_expanding(text: str):
    start = time.perf_counter()
    with pytest.raises(SpecFileError, match=f"more than {MAX_LAYERS:,}"):
        parse_stack(text, "inline")
    assert time.perf_counter() - start < 5


def test_a_stack_at_the_cap_is_allowed():
    assert len(parse_stack(f"repeat times={MAX_LAYERS} [ relu ]", "inline").layers) == MAX_LAYERS


def test_sizes_and_nesting_are_capped(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_BYTES + 1))
    with pytest.raises(SpecFileError, match=f"larger than {MAX_BYTES:,} bytes"):
        load_stack(str(big))
    with pytest.raises(SpecFileError, match=f"longer than {MAX_BYTES:,} bytes"):
        parse_stack("relu;" * (MAX_BYTES // 5 + 1), "inline")
    with pytest.raises(SpecFileError, match="nested more than 32 deep"):
        parse_stack("repeat times=1 [ " * 40 + "relu" + " ]" * 40, "inline")
    with pytest.raises(SpecFileError, match="nested too deeply|not valid JSON"):
        parse_stack("[" * 100_000, "json")
    with pytest.raises(SpecFileError, match="cannot read the spec file"):
        load_stack(str(tmp_path / "missing.toml"))


def test_load_stack_reads_files_by_suffix_and_the_rest_inline(tmp_path):
    for syntax in ("toml", "json"):
        path = tmp_path / f"net.{syntax}"
        path.write_text(SAME_STACK[syntax])
        assert load_stack(str(path)) == parse_stack(SAME_STACK[syntax], syntax)
    assert load_stack(SAME_STACK["inline"]).layers == parse_stack(SAME_STACK["json"], "json").layers


def test_presets_are_listed_and_unknown_ones_refused():
    assert PRESETS == ("mobilenet_v1", "vgg16")
    with pytest.raises(SpecFileError, match="unknown preset 'resnet'; use one of mobilenet_v1, vgg16"):
        preset("resnet")


def test_a_strided_transposed_layer_ends_the_receptive_field_model():
    spec = parse_stack(
        "conv out=4 kernel=3 stride=2; conv out=4 kernel=3 transposed=true; "
        "conv out=4 kernel=4 stride=2 transposed=true; relu; conv out=4 kernel=3",
        "inline",
    )
    rows = analyze_stack(spec.layers, (1, 32)).layers
    assert rows[0].receptive_field == (3,) and rows[0].jump == (2,)
    assert rows[1].receptive_field == (3 + 2 * 2,) and rows[1].jump == (2,)  # stride 1: a conv's recurrence
    # kernel 4, stride 2: an output meets 2 taps (formulas.transposed_receptive_field), one jump of 2 apart
    assert rows[2].receptive_field == (7 + 1 * 2,) and rows[2].jump is None
    assert rows[3].receptive_field is None and rows[4].receptive_field is None and rows[4].jump is None
    assert rows[2].macs == (15 + 3 - 1) * 4 * 4 * 4  # over its input (17 long), as torch's flop counter


def test_adaptive_pool_windows():
    rows = analyze_stack(parse_stack("adaptive_avgpool out=3; flatten", "inline").layers, (2, 5, 6)).layers
    assert rows[0].output_shape == (1, 2, 3, 3)
    # from 5 to 3 the windows are [0, 2), [1, 4), [3, 5): the widest holds 3; 3 does not divide 5
    assert rows[0].receptive_field == (3, 2) and rows[0].jump is None
    rows = analyze_stack(parse_stack("adaptive_avgpool out=2x3", "inline").layers, (2, 4, 6)).layers
    assert rows[0].receptive_field == (2, 2) and rows[0].jump == (2, 2)


def test_pooling_shapes_follow_torch_including_ceil_mode():
    rows = analyze_stack(
        parse_stack(
            "avgpool kernel=3 stride=2 padding=1 ceil_mode=true; maxpool kernel=2 ceil_mode=true", "inline"
        ).layers,
        (1, 6, 6),
    ).layers
    # (6 + 2 - 3 + 1) / 2 rounded up + 1 = 4; the last window starts at 6 = inside the left-padded input
    assert rows[0].output_shape == (1, 1, 4, 4)
    assert rows[1].output_shape == (1, 1, 2, 2)  # ceil((4 - 2) / 2) + 1 = 2


def test_features_only_input_takes_linear_layers():
    result = analyze_stack(
        parse_stack("linear out=5; bn; relu; linear out=2 bias=false", "inline").layers, (7,)
    )
    assert result.output_shape == (1, 2) and result.receptive_field == () and result.jump == ()
    assert result.params == 7 * 5 + 5 + 2 * 5 + 5 * 2 and result.macs == 7 * 5 + 5 * 2


def test_stack_layers_are_frozen():
    row = analyze_stack(parse_stack("relu", "inline").layers, (1, 4)).layers[0]
    with pytest.raises(AttributeError):
        row.macs = 1  # type: ignore[misc]
    assert not hasattr(row, "__dict__")


# A random sequential stack of conv / pool / bn / activation layers, 2-D.
conv_layers = st.builds(
    lambda out, k, s, p, d: f"conv out={out} kernel={k} stride={s} padding={p} dilation={d}",
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
)  # fmt: skip
pool_layers = st.builds(
    lambda kind, k, s, p: f"{kind} kernel={k} stride={s} padding={min(p, k // 2)}",
    st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1),
)  # fmt: skip
plain_layers = st.sampled_from(["bn", "relu", "gelu", "tanh", "dropout p=0.1"])


@settings(max_examples=60, deadline=None)
@given(
    layers=st.lists(st.one_of(conv_layers, pool_layers, plain_layers), min_size=1, max_size=8),
    channels=st.integers(1, 4),
    side=st.integers(8, 40),
)
def test_shapes_agree_with_a_chain_of_single_layer_analyses(layers: list[str], channels: int, side: int):
    try:
        result = analyze_stack(parse_stack("; ".join(layers), "inline").layers, (channels, side, side))
    except SpecFileError as exc:
        assert "output would be empty" in str(exc) or "larger than the padded input" in str(exc)
        return
    shape = (1, channels, side, side)
    for row in result.layers:
        assert row.input_shape == shape
        s = row.settings
        if row.kind == "conv":
            single = analyze(ConvSpec(shape[1], s["out"], s["kernel"], s["stride"], s["padding"],
                                      s["dilation"], input_size=shape[2:]))  # fmt: skip
            assert row.conv == single and (row.params, row.macs) == (single.params, single.macs)
            shape = single.output_shape
        elif row.kind in ("maxpool", "avgpool"):  # the conv formula with the pool's window, floor mode
            window = ConvSpec(shape[1], shape[1], s["kernel"], s["stride"], s["padding"],
                              s.get("dilation", 1), input_size=shape[2:])  # fmt: skip
            shape = (*shape[:2], *window.output_spatial)
        assert row.output_shape == shape
    assert result.macs == sum(row.conv.macs for row in result.layers if row.conv)


def test_default_names_step_around_the_names_given():
    """A default name never takes one the spec gives to a later layer: no clash the user did not write."""
    names = [
        layer["name"]
        for layer in parse_stack(
            "relu; relu name=relu1; dwsep out=4 kernel=1; relu name=dwsep1", "inline"
        ).layers
    ]
    assert names == ["relu2", "relu1", "dwsep2.dw", "dwsep2.pw", "dwsep1"]


def test_spec_errors_name_fields_not_command_line_options():
    with pytest.raises(SpecFileError) as caught:
        analyze_stack(
            parse_stack("conv out=4 kernel=11 padding_mode=reflect padding=1", "inline").layers, (3, 8, 8)
        )
    assert "--" not in str(caught.value) and "C_IN" not in str(caught.value)

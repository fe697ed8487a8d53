"""conv_report() takes a torch convolution module as readily as a ConvSpec, and says what it takes."""

import pytest

from convcalc import ConvSpec, conv_report, spec_from_module

torch = pytest.importorskip("torch")
nn = torch.nn

# Each module beside the ConvSpec that describes it, and the input it is applied to.
CASES = [
    (nn.Conv2d(3, 4, 3), {}, ConvSpec(3, 4, 3)),
    (
        nn.Conv1d(4, 8, 5, stride=2, padding="valid", bias=False),
        {"input_size": 50},
        ConvSpec(4, 8, 5, stride=2, padding="valid", bias=False, dim=1, input_size=50),
    ),
    (
        nn.Conv2d(6, 12, (3, 4), padding="same", dilation=2, groups=3, padding_mode="reflect"),
        {"input_size": (32, 30), "batch": 2},
        ConvSpec(
            6,
            12,
            (3, 4),
            padding="same",
            dilation=2,
            groups=3,
            padding_mode="reflect",
            input_size=(32, 30),
            batch=2,
        ),
    ),
    (
        nn.Conv3d(2, 4, 3, stride=(1, 2, 2), padding=1, padding_mode="circular"),
        {"input_size": (8, 9, 10)},
        ConvSpec(2, 4, 3, stride=(1, 2, 2), padding=1, padding_mode="circular", input_size=(8, 9, 10)),
    ),
    (
        nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1),
        {"input_size": 7},
        ConvSpec(4, 2, 3, stride=2, output_padding=1, transposed=True, dim=1, input_size=7),
    ),
    (
        nn.ConvTranspose2d(4, 8, 4, stride=2, padding=1, groups=2, bias=False),
        {"input_size": 16, "dtype": "float16"},
        ConvSpec(
            4,
            8,
            4,
            stride=2,
            padding=1,
            groups=2,
            bias=False,
            transposed=True,
            input_size=16,
            dtype="float16",
        ),
    ),
    (
        nn.ConvTranspose3d(2, 2, 3, dilation=2),
        {"input_size": 5},
        ConvSpec(2, 2, 3, dilation=2, transposed=True, input_size=5, dim=3),
    ),
    (nn.Conv2d(3, 4, 3).to(torch.bfloat16), {}, ConvSpec(3, 4, 3, dtype="bfloat16")),
]


@pytest.mark.parametrize(("module", "inputs", "spec"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_a_module_reports_as_its_spec(module, inputs, spec):
    from_module = conv_report(module, device="meta", **inputs)
    from_spec = conv_report(spec, device="meta")
    assert from_module.result.spec == spec
    assert from_module.result.spec.default_input == spec.default_input
    for figure in ("params", "macs", "flops", "output_shape", "receptive_field"):
        assert from_module.result.figures()[figure] == from_spec.result.figures()[figure], figure
    assert from_module.ok, [c for c in from_module.checks if not c.ok]


def test_params_agree_with_the_module_itself():
    module = nn.Conv2d(6, 12, 3, groups=3)
    assert conv_report(module, verify=False).result.params == sum(p.numel() for p in module.parameters())


def test_input_settings_also_apply_to_a_spec():
    report = conv_report(ConvSpec(3, 4, 3), input_size=32, batch=2, verify=False)
    assert report.result.spec == ConvSpec(3, 4, 3, input_size=32, batch=2)
    assert not report.result.spec.default_input
    assert report.result.figures()["output_shape"] == (2, 4, 30, 30)


@pytest.mark.parametrize("layer", [nn.Linear(3, 4), "Conv2d(3, 4, 3)", (3, 4, 3), None, nn.Sequential()])
def test_anything_else_is_a_type_error_naming_what_is_accepted(layer):
    with pytest.raises(
        TypeError, match=r"expected a ConvSpec or a torch convolution module \(nn.Conv1d/2d/3d"
    ):
        conv_report(layer, verify=False)


def test_spec_from_module_is_public():
    assert spec_from_module(nn.Conv2d(3, 4, 3), input_size=32) == ConvSpec(3, 4, 3, input_size=32)
    with pytest.raises(TypeError, match="got Linear"):
        spec_from_module(nn.Linear(3, 4))


def test_a_lazy_module_must_run_first():
    with pytest.raises(TypeError, match="LazyConv2d has no in_channels until its first forward pass"):
        conv_report(nn.LazyConv2d(4, 3), verify=False)

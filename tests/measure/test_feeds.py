"""model_report() on forwards that take more than one float tensor (tests/feeds.py): several positional
inputs, keyword inputs, integer ids and bool masks, non-tensor arguments, tensors given as they are, a
callable that makes them, and every output tensor by its path. Each total is judged against torch counted
here on the same inputs (FlopCounterMode / 2, parameters summed), on meta and on the cpu."""

from __future__ import annotations

import feeds  # tests/feeds.py
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from convcalc.api import model_report
from convcalc.core.errors import ConvCalcError, InvalidSpecError
from convcalc.core.inputs import InputSpec, make_request, parse_arg, parse_input_spec


def torch_count(model, args, kwargs):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(*args, **kwargs)
    return counter.get_total_flops() // 2, out


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_two_positional_inputs_and_a_float_argument(device):
    model = feeds.two_inputs().to(device)
    report = model_report(model, inputs=["3x8x8", "1x8x8"], kwargs={"scale": 2.0}, batch=2)
    x, y = torch.zeros(2, 3, 8, 8, device=device), torch.zeros(2, 1, 8, 8, device=device)
    macs, out = torch_count(model, (x, y), {"scale": 2.0})
    assert report.total["macs"] == macs > 0
    assert report.total["params"] == sum(p.numel() for p in model.parameters())
    assert report.total["output_shape"] == tuple(out.shape)
    assert report.inputs == (("0", (2, 3, 8, 8), "float32"), ("1", (2, 1, 8, 8), "float32"))
    assert report.total["input_bytes"] == (x.numel() + y.numel()) * 4
    assert report.ok


def test_a_keyword_input_is_the_same_call():
    model = feeds.two_inputs().to("meta")
    by_place = model_report(model, inputs=["3x8x8", "1x8x8"])
    by_name = model_report(model, inputs=["3x8x8", "y=1x8x8"])
    assert by_name.total == by_place.total
    assert [name for name, _, _ in by_name.inputs] == ["0", "y"]


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_integer_ids_a_bool_mask_and_a_dict_of_outputs(device):
    model = feeds.token_ids().to(device)
    report = model_report(
        model,
        inputs={"input_ids": "10:int64", "attention_mask": "10:bool"},
        kwargs={"use_cache": False},
        batch=3,
    )
    ids = torch.zeros(3, 10, dtype=torch.int64, device=device)
    mask = torch.ones(3, 10, dtype=torch.bool, device=device)
    macs, out = torch_count(model, (), {"input_ids": ids, "attention_mask": mask, "use_cache": False})
    assert report.total["macs"] == macs == 3 * 10 * 16 * 4
    assert report.total["input_bytes"] == ids.numel() * 8 + mask.numel()
    assert [(p, s) for p, s, _ in report.outputs] == [
        ("logits", tuple(out["logits"].shape)),
        ("hidden.0", tuple(out["hidden"][0].shape)),
        ("hidden.1", tuple(out["hidden"][1].shape)),
    ]
    assert report.total["output_shape"] == tuple(out["logits"].shape)  # the first, as the model row
    figures = report.figures()
    assert figures["outputs.hidden.1"] == (3, 16)
    assert "cache" not in {p for p, _, _ in report.outputs}  # not a tensor


def test_expect_names_any_output():
    model = feeds.token_ids().to("meta")
    good = model_report(model, inputs=["input_ids=10:int64"], expect=["outputs.hidden.1=1x16"])
    bad = model_report(model, inputs=["input_ids=10:int64"], expect=["outputs.logits=1x10x5"])
    assert good.ok and not bad.ok


def test_tensors_are_used_as_they_are_and_a_dataclass_output_is_walked():
    model = feeds.dataclass_out().to("meta")
    x = torch.zeros(5, 4, 12, device="meta")
    report = model_report(model, inputs=x, batch=1)  # the tensor's own batch, 5
    macs, out = torch_count(model, (x,), {})
    assert report.total["macs"] == macs and report.input_shape == (5, 4, 12)
    assert [(p, s) for p, s, _ in report.outputs] == [("features", (5, 6, 10)), ("pooled", (5, 6))]


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_callable_makes_the_inputs_under_the_device(device):
    model = feeds.two_inputs().to(device)
    report = model_report(model, inputs=feeds.make_two)
    x, y = torch.zeros(2, 3, 8, 8, device=device), torch.zeros(2, 1, 8, 8, device=device)
    assert report.total["macs"] == torch_count(model, (x,), {"y": y})[0]
    assert report.inputs == (("0", (2, 3, 8, 8), "float32"), ("y", (2, 1, 8, 8), "float32"))


def test_a_tensor_the_callable_put_on_the_cpu_goes_where_the_model_is():
    report = model_report(feeds.dataclass_out().to("meta"), inputs=feeds.make_on_cpu)
    assert report.verification.mode == "meta" and report.total["output_shape"] == (1, 6, 10)


@pytest.mark.parametrize(
    ("inputs", "kwargs", "says"),
    [
        (["3x8x8"], {}, "missing a required argument: 'y'"),
        (["3x8x8", "1x8x8"], {"bogus": 1}, "unexpected keyword argument 'bogus'"),
        (["3x8x8", "y=1x8x8", "1x8x8"], {}, "positional input after a keyword one"),
        (["3x8x8", "y=1x8x8"], {"y": 1}, "given as an input and an argument"),
        (["3x8x8", "y=1x8x8", "y=1x8x8"], {}, "'y' is given twice"),
        (feeds.make_raises, {}, "make_raises() raised ValueError: no data here"),
        (feeds.make_nothing, {}, "make_nothing() returned a int"),
        (feeds.make_ids, {}, "make make_ids() return what it takes"),
    ],
)
def test_a_wrong_call_is_one_line_before_anything_runs(inputs, kwargs, says):
    with pytest.raises(ConvCalcError) as caught:
        model_report(feeds.two_inputs().to("meta"), inputs=inputs, kwargs=kwargs)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_the_signature_is_named_plainly():
    with pytest.raises(ConvCalcError, match=r"TwoInputs\.forward\(x, y, scale=1\.0\): missing"):
        model_report(feeds.two_inputs().to("meta"), inputs=["3x8x8"])


def test_float_ids_get_the_hint_that_fixes_them():
    with pytest.raises(ConvCalcError, match=r"ids are integers: give them as inputs input=10:int64"):
        model_report(torch.nn.Embedding(20, 4).to("meta"), inputs=["input=10"])


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("3x224x224", InputSpec(None, (3, 224, 224))),
        ("input_ids=128:int64", InputSpec("input_ids", (128,), "int64")),
        ("mask = 4x4 : BOOL", InputSpec("mask", (4, 4), "bool")),
    ],
)
def test_input_specs_read(text, spec):
    assert parse_input_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x=3:float8", "unknown dtype 'float8'"),
        ("1x=3", "'1x' is not a keyword"),
        ("3x0", "must"),
        ("", "inputs"),
    ],
)
def test_bad_input_specs_name_the_rule(text, says):
    with pytest.raises(InvalidSpecError, match=says):
        parse_input_spec(text)


def test_arguments_are_literals_never_code():
    assert parse_arg("use_cache=False") == ("use_cache", False)
    assert parse_arg("sizes=(1, 2)") == ("sizes", (1, 2))
    assert parse_arg("mode='fast'") == ("mode", "fast")
    for text in ("x=__import__('os').system('true')", "x=open('f')", "x=fast", "x", "1=2"):
        with pytest.raises(InvalidSpecError):
            parse_arg(text)


def test_request_rules():
    assert make_request(input_size="3x8x8").items == ((None, InputSpec(None, (3, 8, 8))),)
    assert make_request(inputs={"ids": "4:int32"}).items == (("ids", InputSpec("ids", (4,), "int32")),)
    for bad in (
        {"input_size": "3", "inputs": ["3"]},
        {"inputs": ["1x2x3x4x5x6x7x8x9"]},
        {"inputs": {"a": "b=3"}},
        {"inputs": [[3, True]]},
        {"kwargs": {"not a name": 1}},
        {"inputs": ["3"], "batch": 0},
    ):
        with pytest.raises(InvalidSpecError):
            make_request(**bad)

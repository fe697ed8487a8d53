"""The trace engine: the meta shortcut changes nothing but time, and a failing forward names its module."""

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from convcalc.measure.trace import ForwardError, trace


def _resnet50() -> nn.Module:
    path = Path(__file__).parents[2] / "docs" / "examples" / "resnet.py"
    spec = importlib.util.spec_from_file_location("example_resnet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.resnet50()


class Mixed(nn.Module):
    """Every op the shortcut answers, and the cases it must leave to torch (broadcast, scalar, keepdim)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.scale = nn.Parameter(torch.ones(1, 8, 1, 1))
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))
        y = y * self.scale + 1.0  # broadcast: torch's; a scalar add
        y = nn.functional.silu(y - y.mean((2, 3), keepdim=True))
        y.sigmoid_()
        z = y.mean((-1, -2))
        return torch.tanh(self.fc(z)) + torch.nn.functional.gelu(z).sum(1, keepdim=True)


@pytest.mark.parametrize("build", [_resnet50, Mixed], ids=["resnet50", "mixed"])
def test_the_meta_shortcut_changes_no_figure(build):
    with torch.device("meta"):
        model = build().eval()
    x = torch.zeros(2, 3, 64, 64, device="meta")
    fast, slow = trace(model, (x,), "float32"), trace(model, (x,), "float32", shortcut=False)
    assert (fast.flops, fast.output_shape) == (slow.flops, slow.output_shape)

    def seen(t):
        return [(r.name, r.calls, r.input_shape, r.output_shape, r.flops, r.out_field) for r in t.records]

    assert seen(fast) == seen(slow)


def test_the_shortcut_leaves_what_torch_would_refuse_to_torch():
    class Bad(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.zeros(3, device=x.device)  # 4 and 3 do not broadcast

    with pytest.raises(ForwardError, match=r"forward pass failed in the model \(Bad\): RuntimeError"):
        trace(Bad(), (torch.zeros(1, 2, 4, 4, device="meta"),), "float32")


def test_a_failing_forward_names_the_innermost_module():
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("no way")

    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.Sequential(nn.ReLU(), Broken()))
    with pytest.raises(ForwardError, match=r"failed in 1\.1 \(Broken\): ValueError: no way"):
        trace(model, (torch.zeros(1, 1, 4, 4),), "float32")


def _meta(*shape):
    return torch.zeros(*shape, device="meta")


aten = torch.ops.aten
ANSWERED = [  # (op, args): each answered by the shortcut, with torch's own meta result beside it
    (aten.relu.default, (_meta(2, 3),)),
    (aten.add.Tensor, (_meta(2, 3), _meta(2, 3))),
    (aten.mul.Tensor, (_meta(2, 3, 4), _meta(3, 1))),
    (aten.add_.Tensor, (_meta(2, 3), _meta(3))),
    (
        aten.native_batch_norm.default,
        (_meta(2, 3, 4), _meta(3), _meta(3), _meta(3), _meta(3), False, 0.1, 1e-5),
    ),
    (aten.mean.dim, (_meta(2, 3, 4, 5), [2, 3])),
    (aten.mean.dim, (_meta(2, 3, 4, 5), [-1], True)),
    (aten.addmm.default, (_meta(5), _meta(2, 4), _meta(4, 5))),
]
LEFT_TO_TORCH = [
    (aten.add.Tensor, (_meta(2, 3), torch.zeros(2, 3, device="meta", dtype=torch.float16))),  # promotes
    (aten.add.Tensor, (_meta(3), _meta(2, 3))),  # the output is not the first input's shape
    (aten.add_.Tensor, (_meta(3), _meta(2, 3))),  # torch refuses
    (aten.relu.default, (torch.zeros(2, dtype=torch.int64, device="meta"),)),
    (aten.addmm.default, (_meta(5), _meta(2, 4), _meta(3, 5))),  # torch refuses
    (aten.native_batch_norm.default, (_meta(2, 3, 4), _meta(4), None, None, None, False, 0.1, 1e-5)),
    (
        aten.convolution.default,
        (_meta(1, 1, 3, 3), _meta(1, 1, 1, 1), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
    ),
]


@pytest.mark.parametrize(("op", "args"), ANSWERED, ids=lambda v: str(v)[:40])
def test_shortcut_answers_as_torch_would(op, args):
    from convcalc.measure.shortcut import _answer

    ours, torchs = _answer(op, args, {}), op(*args)
    ours, torchs = (ours, torchs) if isinstance(ours, tuple) else ((ours,), (torchs,))
    assert [(t.shape, t.dtype, t.device) for t in ours] == [(t.shape, t.dtype, t.device) for t in torchs]


@pytest.mark.parametrize(("op", "args"), LEFT_TO_TORCH, ids=lambda v: str(v)[:40])
def test_shortcut_leaves_the_rest_to_torch(op, args):
    from convcalc.measure.shortcut import _answer

    assert _answer(op, args, {}) is None


def test_a_tuple_output_gives_its_first_tensor_as_the_output():
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            y = self.conv(x)
            return y, y.sum()

    traced = trace(Two(), (torch.zeros(1, 3, 8, 8, device="meta"),), "float32")
    assert traced.output_shape == traced.records[0].output_shape == (1, 4, 6, 6)


def _hooks_left(model: nn.Module) -> list[str]:
    """Hooks still registered after a trace: the model's own dicts and torch's global ones."""
    from torch.nn.modules import module as torch_module

    own = [
        f"{name}.{attr}"
        for name, m in model.named_modules()
        for attr in ("_forward_pre_hooks", "_forward_hooks")
        if getattr(m, attr)
    ]
    named = ("_global_forward_pre_hooks", "_global_forward_hooks", "_global_forward_hooks_with_kwargs")
    return own + [d for d in named if getattr(torch_module, d)]


def test_a_trace_leaves_no_hook_behind_whether_or_not_the_forward_raises():
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("no way")

    good = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU())
    trace(good, (torch.zeros(1, 1, 4, 4),), "float32")
    assert _hooks_left(good) == []
    bad = nn.Sequential(nn.Conv2d(1, 2, 1), Broken())
    with pytest.raises(ForwardError):
        trace(bad, (torch.zeros(1, 1, 4, 4),), "float32")
    assert _hooks_left(bad) == []


def test_an_error_in_a_modules_own_hook_is_that_modules_and_the_parents_code_is_the_parents():
    class After(nn.Module):  # raises in its own code, once its child has returned
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(1, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.c(x)
            raise ValueError("parent's own")

    hooked = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU())
    hooked[1].register_forward_hook(lambda m, i, o: (_ for _ in ()).throw(ValueError("hook boom")))
    with pytest.raises(ForwardError, match=r"failed in 1 \(ReLU\): ValueError: hook boom"):
        trace(hooked, (torch.zeros(1, 1, 4, 4),), "float32")
    with pytest.raises(ForwardError, match=r"failed in 0 \(After\): ValueError: parent's own"):
        trace(nn.Sequential(After()), (torch.zeros(1, 1, 4, 4),), "float32")


def test_modules_the_forward_makes_are_not_rows_and_keyword_calls_keep_their_input():
    class Inner(nn.Module):
        def forward(self, *, x: torch.Tensor) -> torch.Tensor:
            return nn.ReLU()(x) * 2  # a module of no model: the hooks pass it by

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Inner()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x=x)

    result = trace(Outer(), (torch.zeros(1, 3, 5, 5),), "float32")
    assert [(r.name, r.input_shape, r.output_shape) for r in result.records] == [
        ("", (1, 3, 5, 5), (1, 3, 5, 5)),
        ("inner", (1, 3, 5, 5), (1, 3, 5, 5)),
    ]


def test_a_modules_own_pre_hook_that_pads_its_input_is_counted_as_torch_ran_it():
    from convcalc.api import model_report

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    model[0].register_forward_pre_hook(lambda m, args: (nn.functional.pad(args[0], (1, 1, 1, 1)),))
    report = model_report(model, input_size="3x8x8")
    conv = next(row for row in report.layers if row.name == "0")
    assert conv.input_shape == (1, 3, 10, 10)  # what its forward took, after the pre-hook
    assert conv.analytic["macs"] == conv.measured["macs"] == 4 * 3 * 9 * 8 * 8
    assert report.ok


def test_a_layer_fed_a_cast_tensor_is_figured_in_its_dtype_on_every_device():
    from convcalc.api import model_report

    class Casts(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.fc(x).to(torch.bfloat16))

    for device in ("cpu", "meta"):
        report = model_report(Casts().to(device), input_size="4")
        act = next(row for row in report.layers if row.name == "act")
        assert act.analytic["output_bytes"] == 4 * 2  # bfloat16, though the model is float32
        assert report.ok, device

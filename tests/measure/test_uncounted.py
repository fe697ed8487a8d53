"""What a count leaves out: the ops that ran without a FLOP formula and do a matmul's kind of work are named
with their calls (uncounted.py's rule), on the cpu and on meta, under either witness; the rest of the
model is still counted."""

from __future__ import annotations

import pytest
import recurrent  # tests/recurrent.py
import torch
from torch import nn
from torch.utils.flop_counter import flop_registry

from convcalc.api import model_report
from convcalc.measure import witness
from convcalc.measure.uncounted import does_matmul_work

BATCH = 3
STEPS, FEATURES = recurrent.INPUT

RULE = [
    # fused kernels torch has no formula for
    ("mkldnn_rnn_layer", True),
    ("_cudnn_rnn", True),
    ("miopen_rnn", True),
    ("_lstm_mps", True),
    ("_native_multi_head_attention", True),
    ("_transformer_encoder_layer_fwd", True),
    ("_scaled_dot_product_flash_attention_for_cpu", True),
    ("mkldnn_convolution", True),
    ("mkldnn_linear", True),
    ("_trilinear", True),
    # products, distances, transforms, linear algebra
    ("mv", True),
    ("dot", True),
    ("addbmm", True),
    ("_int_mm", True),
    ("_weight_int8pack_mm", True),
    ("_cdist_forward", True),
    ("_fft_r2c", True),
    ("linalg_inv_ex", True),
    ("_linalg_svd", True),
    ("linalg_lu_factor_ex", True),
    # what torch's convention leaves out in every model: not listed
    ("add", False),
    ("mul", False),
    ("_softmax", False),
    ("native_layer_norm", False),
    ("linalg_vector_norm", False),
    ("sum", False),
    ("upsample_bilinear2d", False),
    ("_upsample_bilinear2d_aa", False),
    ("upsample_linear1d", False),
    ("upsample_trilinear3d", False),
    ("embedding", False),
    # an RNN's fused gates (its matmuls ran apart), layouts, bookkeeping
    ("_thnn_fused_lstm_cell", False),
    ("_thnn_fused_gru_cell", False),
    ("_cudnn_rnn_flatten_weight", False),
    ("mkldnn_reorder_conv2d_weight", False),
    ("lu_unpack", False),
    ("fft_fftfreq", False),
    ("slice_inverse", False),
    ("detach", False),
    ("_cslt_sparse_mm_search", False),
]


@pytest.mark.parametrize(("name", "listed"), RULE)
def test_the_rule(name, listed):
    assert does_matmul_work(name) is listed


def test_every_op_torch_counts_is_matmul_work():
    """The rule agrees with torch on what it does count: every op its flop counter has a formula for."""
    names = [str(op).rpartition(".")[2] for op in flop_registry]
    assert names and [name for name in names if not does_matmul_work(name)] == []


def test_no_element_wise_op_or_reduction_is_listed():
    """By torch's own tags, over every aten op this torch has."""
    every = torch._C._dispatch_get_all_op_names()
    names = {n.split("::")[1].split(".")[0] for n in every if n.startswith("aten::")}
    tagged = [name for name in sorted(names) if _tags(name) & {torch.Tag.pointwise, torch.Tag.reduction}]
    assert len(tagged) > 100 and [name for name in tagged if does_matmul_work(name)] == []


def _tags(name: str) -> set:
    packet = getattr(torch.ops.aten, name)
    return {tag for overload in packet.overloads() for tag in getattr(packet, overload).tags}


@torch.library.custom_op("convcalc_tests::tiled_mm", mutates_args=())
def tiled_mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A matrix product as a kernel of a library's own, with no FLOP formula."""
    return a @ b


@tiled_mm.register_fake
def _(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a.new_empty(a.shape[0], b.shape[1])


class Tiled(nn.Module):
    """A linear layer, then three products by tiled_mm."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(FEATURES, 4)
        self.weight = nn.Parameter(torch.zeros(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x).reshape(-1, 4)
        for _ in range(3):
            y = tiled_mm(y, self.weight)
        return y


def report_of(model: nn.Module, device: str):
    return model_report(model.to(device), input_size=f"{STEPS}x{FEATURES}", batch=BATCH)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_an_op_without_a_formula_is_named_where_it_ran(device):
    """nn.Bilinear runs aten._trilinear: its work is named, the linear layer before it still counted."""
    assert torch.ops.aten._trilinear not in flop_registry  # else this torch counts it: pick another op
    report = report_of(recurrent.pairs(), device)
    assert report.uncounted == (("aten._trilinear", 1),) and report.figures()["uncounted"] == 1
    assert report.total["macs"] == BATCH * STEPS * FEATURES * 5  # proj alone
    [note] = [n for n in report.notes if n.startswith("uncounted ops:")]
    assert note.startswith("uncounted ops: aten._trilinear x1 (in pair): they ran without a FLOP formula")
    assert report.to_dict()["uncounted_ops"] == [{"op": "aten._trilinear", "calls": 1}]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_library_kernel_is_named_with_its_calls(device):
    report = report_of(Tiled(), device)
    assert report.uncounted == (("convcalc_tests.tiled_mm", 3),)
    assert report.total["macs"] == BATCH * STEPS * FEATURES * 4
    assert any(n.startswith("uncounted ops: convcalc_tests.tiled_mm x3: ") for n in report.notes)


def test_flop_counter_mode_names_them_too(broken_light_witness):
    """Where the light witness cannot be built, the ops FlopCounterMode ran whole are named alike."""
    report = report_of(Tiled(), "meta")
    assert report.verification.flop_witness == witness.FULL
    assert report.uncounted == (("convcalc_tests.tiled_mm", 3),)
    assert report.total["macs"] == BATCH * STEPS * FEATURES * 4


def test_a_model_counted_whole_names_none():
    report = report_of(recurrent.deep_lstm(), "cpu")
    assert report.uncounted == () and report.to_dict()["uncounted_ops"] == []
    assert not any(n.startswith("uncounted ops") for n in report.notes)

"""convcalc on real networks built from Hugging Face configs (no weights, no network): the forms of
issue 17 that only real libraries bring (a decoder's mask code reading values, a constructor's stray cpu
parameter, a container looped over), each counted on meta exactly as torch counts it on the cpu."""

from pathlib import Path

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from convcalc.api import model_report  # noqa: E402

NETS = Path(__file__).parents[1] / "real_networks.py"
IDS = ["input_ids=32:int64", "attention_mask=32:bool"]


def target(name: str) -> str:
    return f"{NETS}:{name}"


def torch_macs(name: str, *args, **kwargs) -> int:
    """torch's own count of the model on the cpu, with real weights, outside convcalc; attention on its
    math path, whose matmuls the counter has formulas for (the cpu's flash kernel has none)."""
    import real_networks  # tests/ is on the path (conftest)

    torch.manual_seed(0)
    model = getattr(real_networks, name)().eval()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(*args, **kwargs)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_a_decoder_with_a_mask_traces_on_meta_as_torch_counts_it_on_the_cpu(name):
    report = model_report(target(name), inputs=IDS, batch=2)
    assert report.verification.device == "meta"
    assert any("its forward read" in n and "computed from the inputs" in n for n in report.notes)
    ids, mask = torch.zeros(2, 32, dtype=torch.long), torch.ones(2, 32, dtype=torch.bool)
    assert report.total["macs"] == torch_macs(name, input_ids=ids, attention_mask=mask) > 0
    on_cpu = model_report(target(name), inputs=IDS, batch=2, device="cpu")
    assert on_cpu.total == report.total


def test_a_constructors_stray_cpu_parameters_are_moved_to_meta():
    report = model_report(target("wav2vec2"), inputs=["input_values=4000"])
    assert report.verification.device == "meta"
    assert any(n.startswith("moved to the meta device:") for n in report.notes)
    assert report.total["macs"] == torch_macs("wav2vec2", torch.zeros(1, 4000)) > 0


def test_a_looped_encoder_gets_its_layers_sums():
    report = model_report(target("vit"), input_size=(3, 32, 32), depth=2)
    rows = {row.name: row for row in report.layers}
    encoder = rows["layers"]  # transformers 5's ViT loops over its layers itself
    assert encoder.summed and encoder.calls == 0
    layers = [rows[f"layers.{i}"] for i in range(2)]
    assert encoder.figure("macs") == sum(row.figure("macs") for row in layers) > 0
    assert report.total["macs"] == torch_macs("vit", torch.zeros(1, 3, 32, 32))


@pytest.mark.slow
def test_a_7b_decoder_traces_on_meta_in_little_memory(isolated):
    import json

    command = (
        f"model {target('llama_7b')} -i input_ids=128:int64 -i attention_mask=128:bool --depth 0 -f json"
    )
    (run,) = isolated([command])
    assert run["code"] == 0, run["stderr"]
    data = json.loads(run["stdout"])
    assert data["verification"]["device"] == "meta"
    # 32 layers of 4 x 4096^2 attention and 3 x 4096 x 11008 MLP weights, norms, embedding and head
    layer = 4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096
    assert data["total"]["params"] == 32 * layer + 2 * 32000 * 4096 + 4096
    assert run["peak"] < 1.5 * 2**30, f"peak RSS {run['peak'] / 2**30:.2f} GiB"

"""Models for bench/model_scale.py: many small modules, and a 7B decoder's config (needs transformers)."""

import torch
from torch import nn

MODULES = 100_000


def relus() -> nn.Module:
    """100,000 ReLUs in a Sequential: the per-module cost alone (issue 16's ReLU case)."""
    return nn.Sequential(*[nn.ReLU() for _ in range(MODULES)])


def convs() -> nn.Module:
    """100,000 small convolutions: every module modelled and compared."""
    return nn.Sequential(*[nn.Conv2d(4, 4, 1) for _ in range(MODULES)])


def llama_7b() -> nn.Module:
    import transformers

    config = transformers.LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32000,
    )
    return transformers.LlamaForCausalLM(config)


if __name__ == "__main__":  # the floor: torch alone builds the model and runs it once, on the cpu
    import sys

    with torch.device(sys.argv[2] if len(sys.argv) > 2 else "cpu"):
        model = globals()[sys.argv[1]]().eval()
    with torch.no_grad():
        if sys.argv[1] == "llama_7b":
            out = model(torch.zeros(1, 128, dtype=torch.long, device="meta"))
        else:
            out = model(torch.zeros(1, 4, 8, 8, device=next(model.parameters(), torch.zeros(0)).device))
    print(f"{sys.argv[1]}: ran, {sum(1 for _ in model.modules()):,} modules")

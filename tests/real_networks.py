"""Real networks built from their libraries' configs (no weights), small enough for tests; loaded by
tests/measure/test_real_networks.py as TARGETs (`tests/real_networks.py:gpt2`)."""

import transformers as hf


def gpt2():
    return hf.GPT2Model(hf.GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=128, vocab_size=500))


def llama():
    config = hf.LlamaConfig(
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=500,
    )
    return hf.LlamaForCausalLM(config)


def llama_7b():
    """Llama-2 7B's sizes: 6.7 billion parameters, which only the meta device holds here."""
    config = hf.LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32000,
    )
    return hf.LlamaForCausalLM(config)


def wav2vec2():
    config = hf.Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_stride=(5, 2),
        conv_kernel=(10, 3),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    )
    return hf.Wav2Vec2Model(config)


def vit():
    config = hf.ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
    )
    return hf.ViTModel(config)

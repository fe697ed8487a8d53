"""Hugging Face models built from their configs (no weights, nothing downloaded), for docs/networks.md:
`convcalc model docs/examples/hf.py:bert -i input_ids=128:int64`. Needs transformers (bert) and diffusers
(unet): `pip install transformers diffusers`."""


def bert():
    """BERT-base's shape at two layers: its forward takes input_ids and returns last_hidden_state and
    pooler_output."""
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(num_hidden_layers=2))


def unet():
    """A small Stable-Diffusion-style UNet: a latent, a timestep and the text encoder's states."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=32,
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        layers_per_block=1,
        attention_head_dim=8,
        norm_num_groups=8,
    )

"""A tiny, randomly initialised Stable Diffusion 1.5 and depth ControlNet, saved as the real ones are.

The base model folder (a StableDiffusionPipeline: UNet, VAE, CLIP text encoder and tokenizer,
scheduler) and the ControlNet folder are written with `save_pretrained`, so the backend's
ordinary `from_pretrained` code loads them. Latents are half the portrait's side (a two-level
VAE) and the ControlNet's condition embedding halves once to match.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")
CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789,.-'"
TEXT_LENGTH = 77
# Stable Diffusion 1.5's own scheduler settings (the library defaults differ and draw deprecation warnings)
SD15_SCHEDULER = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "clip_sample": False,
                  "set_alpha_to_one": False, "steps_offset": 1}


def write_tiny_models(folder: Path) -> tuple[Path, Path]:
    """Write the base model and ControlNet folders under `folder`; returns (base_model, controlnet)."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32))
    _wake(controlnet)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16), norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=64)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(_vocab()), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=TEXT_LENGTH, bos_token_id=0, eos_token_id=1, pad_token_id=1, projection_dim=32))
    base = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=_tokenizer(folder / "tokenizer-source"), unet=unet,
        scheduler=DDIMScheduler(**SD15_SCHEDULER), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    base.save_pretrained(folder / "sd15")
    controlnet.save_pretrained(folder / "controlnet-depth")
    return folder / "sd15", folder / "controlnet-depth"


def _wake(controlnet: ControlNetModel) -> None:
    """A fresh ControlNet's output convolutions are zero, so it would not condition at all: randomise them."""
    with torch.no_grad():
        for parameter in controlnet.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)


def _vocab() -> dict[str, int]:
    """Special tokens, then each character alone and as a word's end (CLIP's BPE marks it "</w>")."""
    tokens = [*SPECIAL_TOKENS, *CHARACTERS, *(c + "</w>" for c in CHARACTERS)]
    return {token: i for i, token in enumerate(tokens)}


def _tokenizer(folder: Path) -> CLIPTokenizer:
    """A character-level CLIP tokenizer from a vocab.json and a merges.txt with no merges."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=TEXT_LENGTH)

"""Checkpoints of the released Pain-in-3D code (github TaatiTeam/Pain-in-3D) as PainModels.

Their ViTPain (`lib/models/vitpain.py`, a PyTorch Lightning module; its checkpoints keep the
weights under `state_dict`) is the architecture of the `vitpain_v4` preset
(assets/train/vitpain_v4.toml): timm DINOv3 encoders with peft LoRA adapters on `qkv` and `proj`
for the pain and the neutral image, post-norm cross-attention, the AU-query head, and the encoder
run without rotary embeddings or register tokens (`encoder_forward = "pain_in_3d"`). Their keys
map onto ours by prefix:

| Pain-in-3D | Pain3D |
| --- | --- |
| `vit_model.base_model.model.*` | `encoder.*` |
| `neutral_encoder.base_model.model.*` | `neutral_encoder.*` |
| `neutral_cross_attn.*`, `neutral_norm.*` | `cross.attn.*`, `cross.norm.*` |
| `pspi_head.*` | `head.pspi.*` |
| `pspi_binary_heads.{1,2,3}.*` | `head.pain.{0,1,2}.*` (`PAIN_THRESHOLDS` order) |
| `au_queries`, `au_shared_features.*`, `au_head.*` | `head.queries`, `head.au_features.*`, `head.au_out.*` |

`is_pain_in_3d(state)`: whether a state dict has their layout; `to_pain3d(state)`: the same
tensors under our names; `load_pain_in_3d(path, architecture)`: a baseline PainModel built from
the `[model]` table of a training config (default: the vitpain_v4 preset; no backbone weights are
read or fetched, the checkpoint has them all) holding the checkpoint's weights. The file is read
without unpickling (training/models.py `read_state_dict`); an architecture that does not fit is a
one-line error naming the keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch

from pain3d.errors import Pain3DError
from pain3d.facs import PAIN_THRESHOLDS
from pain3d.paths import asset

from .config import load_config
from .models import PainModel, build_from_config, load_weights, read_state_dict

PRESET = asset("train", "vitpain_v4.toml")
ENCODER_KEY = "vit_model.base_model.model."
PREFIXES = {
    ENCODER_KEY: "encoder.",
    "neutral_encoder.base_model.model.": "neutral_encoder.",
    "neutral_cross_attn.": "cross.attn.",
    "neutral_norm.": "cross.norm.",
    "pspi_head.": "head.pspi.",
    "au_shared_features.": "head.au_features.",
    "au_head.": "head.au_out.",
    "au_queries": "head.queries",
    **{f"pspi_binary_heads.{t}.": f"head.pain.{i}." for i, t in enumerate(PAIN_THRESHOLDS)},
}


def is_pain_in_3d(state: Mapping[str, torch.Tensor]) -> bool:
    """Whether a state dict has the released Pain-in-3D layout (its encoder under `vit_model.`)."""
    return any(key.startswith(ENCODER_KEY) for key in state)


def to_pain3d(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of a Pain-in-3D state dict under PainModel names; keys of no known part stay as they are."""
    return {_rename(key): value for key, value in state.items()}


def _rename(key: str) -> str:
    for theirs, ours in PREFIXES.items():
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    return key


def load_pain_in_3d(path: str | Path, architecture: str | Path | None = None) -> PainModel:
    """A baseline PainModel of `architecture`'s [model] table (default: the v4 preset) with the checkpoint's weights."""
    state = read_state_dict(path)
    if not is_pain_in_3d(state):
        raise Pain3DError(f"{path}: neither a model of pain3d train nor a Pain-in-3D checkpoint "
                          f"(no {ENCODER_KEY}* keys; first key {next(iter(state))!r})")
    config = load_config(Path(architecture) if architecture else PRESET)["model"]
    model = build_from_config("baseline", {**config, "pretrained": "", "allow_download": False})
    load_weights(model, to_pain3d(state), what=f"the architecture of {Path(architecture or PRESET).name}", where=path)
    return model


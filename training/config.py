"""Training configs: the TOML schema of `pain3d train --config train.toml` (the one source of truth).

`load_config(path, overrides)` returns the resolved config (every default filled in) that is
saved beside the run as `config.json`; command-line settings override the file's. Typos and
out-of-range values are one-line errors naming the key, the value and what is allowed.
`docs/training.md` lists every key (generated: `pain3d train-reference`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pain3d.errors import Pain3DError
from pain3d.jobs import Field, read_toml, resolve_tables

from .parts import CROSS_NORMS, ENCODER_FORWARDS, HEADS, NEUTRAL_ENCODERS, SUMMARY_TOKENS, Parts

CONFIG_FORMAT_VERSION = 1
REGRESSIONS = ("huber_l1", "mse")  # loss.regression (training/losses.py)
LORA_TARGETS_ALLOWED = "a list of one or more module names of the backbone (e.g. [\"qkv\", \"proj\"])"


def _check_lora_targets(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Pain3DError(f"{name} = {value!r}: invalid; allowed: {LORA_TARGETS_ALLOWED}")
    return list(value)


SCHEMA: dict[str, dict[str, Field]] = {
    "model": {
        "backbone": Field("str", "vit_small_patch16_224", "timm model name (vit_tiny/small/base, DINOv2 names, ...)."),
        "image_size": Field("int", 224, "Input side in pixels (a multiple of the patch size).", 32, 1024),
        "pretrained": Field("str", "", "Local weights for the backbone: a .safetensors file or a timm/torch "
                            "checkpoint (relative to the config file); empty: random initialisation."),
        "allow_download": Field("bool", False, "Let timm fetch the backbone's pretrained weights from the Hub "
                                "when `pretrained` is empty."),
        "teacher_input": Field("choice", "heatmap", "What the teacher sees.", choices=("heatmap", "heatmap+rgb")),
        "neutral_reference": Field("bool", False, "Also encode the identity's neutral image and let the pain "
                                   "image's tokens attend to it (cross-attention)."),
        "drop_path": Field("float", 0.1, "Stochastic depth rate of the backbone.", 0, 0.9),
        "depth": Field("int", 0, "Transformer blocks of the backbone (0: the backbone's own); fewer make the "
                       "small models of tests and demos.", 0, 64),
        "neutral_encoder": Field("choice", Parts.neutral_encoder, "With `neutral_reference`: encode the neutral image "
                                 "with the pain image's encoder, or with a copy of it that has its own weights.",
                                 choices=NEUTRAL_ENCODERS),
        "cross_heads": Field("int", Parts.cross_heads, "With `neutral_reference`: heads of the cross-attention from "
                             "the pain tokens to the neutral tokens (0: as many as the backbone's blocks have); "
                             "must divide the backbone's width.", 0, 64),
        "cross_norm": Field("choice", Parts.cross_norm, "With `neutral_reference`: layer norm on the cross-attention's "
                            "inputs (pre) or on its residual sum (post, the published layer).", choices=CROSS_NORMS),
        "head": Field("choice", Parts.head, "pooled: linear heads on the CLS and mean token; au_query: one learned "
                      "query per PSPI AU attends to the patch tokens (AU intensities), an MLP on the CLS token gives "
                      "PSPI and linear heads the PSPI >= 1, 2, 3 logits.", choices=HEADS),
        "head_dropout": Field("float", Parts.head_dropout, "Dropout in the au_query head (the published 0.5).", 0, 0.9),
        "summary_token": Field("choice", Parts.summary_token, "The token the heads read as the image's summary (the "
                               "pooled head: beside the mean token; au_query: its PSPI and pain heads): the CLS token "
                               "(published), or the mean of the patch tokens, which a backbone trained from scratch "
                               "fills sooner (docs/results.md).", choices=SUMMARY_TOKENS),
        "encoder_forward": Field("choice", Parts.encoder_forward, "timm: the backbone's own forward; pain_in_3d: as "
                                 "the released Pain-in-3D code runs it (no rotary embeddings or register tokens), to "
                                 "match its checkpoints.", choices=ENCODER_FORWARDS),
        "lora_rank": Field("int", Parts.lora_rank, "0: fine-tune every backbone weight; more: freeze the backbone and "
                           "train LoRA adapters of this rank (peft).", 0, 1024),
        "lora_alpha": Field("float", Parts.lora_alpha, "LoRA scale: adapters' outputs are multiplied by alpha / rank.",
                            1e-3, 1e4),
        "lora_targets": Field("custom", list(Parts.lora_targets), "Backbone modules that get LoRA adapters: a module "
                              "whose name is one of these or ends with .NAME (\"proj\" also matches "
                              "patch_embed.proj).", check=_check_lora_targets, allowed="list of module names"),
        "lora_dropout": Field("float", Parts.lora_dropout, "Dropout on the LoRA adapters' input.", 0, 0.9),
    },
    "data": {
        "workers": Field("int", 2, "DataLoader worker processes.", 0, 64),
        "pin_memory": Field("bool", True, "Pin host memory for faster GPU copies (ignored on the CPU)."),
        "cache": Field("bool", False, "Keep decoded images in memory after the first epoch."),
        "augment": Field("bool", True, "Label-preserving augmentation: colour, blur, small crops."),
        "crop_min": Field("float", 0.85, "Augmentation: the smallest random crop's side as a share of the image "
                          "(1: no random crops; they slow small ViTs trained from scratch, docs/results.md).",
                          0.3, 1.0),
        "flip": Field("bool", False, "Horizontal flips, swapping left/right AU labels with the image."),
        "weighted_sampling": Field("choice", "none", "Draw training images with replacement, rare pain more often: "
                                   "\"pain\" weighs PSPI >= 1 twice, \"balanced\" gives PSPI 0, 1, 2 and >= 3 "
                                   "equal shares (training/sampler.py).", choices=("none", "pain", "balanced")),
        "folds": Field("int", 5, "UNBC (unbc:PATH): subject-wise cross-validation folds.", 2, 100),
        "fold": Field("int", 0, "UNBC: the fold whose subjects are the test split (0-based; --fold).", 0, 99),
        "fold_seed": Field("int", 0, "UNBC: seed of the subjects' assignment to folds and to validation.",
                           0, 2**31 - 1),
        "val_fraction": Field("float", 0.2, "UNBC: share of the training folds' subjects that validate (pick "
                              "the best checkpoint); at least one.", 0.01, 0.9),
    },
    "optim": {
        "epochs": Field("int", 10, "Passes over the training split.", 1, 100000),
        "max_steps": Field("int", 0, "Stop after this many optimiser steps (0: no limit).", 0, 10**9),
        "batch_size": Field("int", 32, "Images per optimiser step on each process (before accumulation).", 1, 4096),
        "accumulate": Field("int", 1, "Batches whose gradients are summed per optimiser step.", 1, 1024),
        "lr": Field("float", 1e-4, "Peak learning rate (AdamW).", 0, 10),
        "backbone_lr_scale": Field("float", 1.0, "The backbone's learning rate (its LoRA adapters, or all its weights) "
                                   "is `lr` times this; the heads and cross-attention train at `lr`.", 0, 10),
        "weight_decay": Field("float", 0.05, "AdamW weight decay.", 0, 10),
        "warmup_steps": Field("int", 100, "Linear warm-up steps before the cosine decay.", 0, 10**9),
        "min_lr": Field("float", 1e-6, "Learning rate at the end of the cosine decay.", 0, 10),
        "clip_grad": Field("float", 1.0, "Gradient-norm clipping (0: off).", 0, 1000),
        "amp": Field("bool", True, "Mixed precision on the GPU (bfloat16 where supported; ignored on the CPU)."),
    },
    "loss": {
        "pspi": Field("float", 1.0, "Weight of the PSPI regression loss.", 0, 100),
        "aus": Field("float", 1.0, "Weight of the six AU intensity losses.", 0, 100),
        "pain": Field("float", 0.5, "Weight of the binary pain losses at PSPI >= 1, 2, 3.", 0, 100),
        "regression": Field("choice", REGRESSIONS[0], "The PSPI and AU losses: Huber on PSPI and L1 on the AUs, or "
                            "the squared errors of PSPI / 16 and of the AUs (mse, the published recipe's).",
                            choices=REGRESSIONS),
        "distill_output": Field("float", 1.0, "Student: weight of output distillation (PSPI/AU predictions).", 0, 100),
        "distill_feature": Field("float", 1.0, "Student: weight of token feature distillation.", 0, 100),
        "distill_attention": Field("float", 1.0, "Student: weight of attention distillation.", 0, 100),
    },
    "run": {
        "seed": Field("int", 0, "Seed of initialisation, data order and augmentation.", 0, 2**31 - 1),
        "teacher": Field("str", "", "Student: the teacher's run folder or model file (relative to the config file)."),
        "init": Field("str", "", "Fine-tune: start from the weights of this run folder (its best checkpoint) or "
                      "model file, e.g. a run pretrained on Pain3D data (relative to the config file; --init)."),
        "log_every": Field("int", 10, "Optimiser steps between logged metric rows.", 1, 10**6),
        "checkpoint_every": Field("int", 0, "Optimiser steps between checkpoints (0: at the end of each epoch).",
                                  0, 10**9),
        "tensorboard": Field("bool", True, "Also log to TensorBoard (RUN/tensorboard)."),
    },
}

# Command-line flags of `pain3d train` and the keys they set.
OVERRIDES = {"backbone": ("model", "backbone"), "image_size": ("model", "image_size"),
             "batch_size": ("optim", "batch_size"), "epochs": ("optim", "epochs"),
             "max_steps": ("optim", "max_steps"), "seed": ("run", "seed"), "teacher": ("run", "teacher"),
             "pretrained": ("model", "pretrained"), "fold": ("data", "fold"), "folds": ("data", "folds"),
             "init": ("run", "init")}
_PATH_FLAGS = ("teacher", "pretrained", "init")


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> dict:
    """The resolved config of a TOML file (or the defaults), with command-line overrides applied."""
    data = read_toml(Path(path), "training config") if path else {}
    for flag, value in (overrides or {}).items():
        if value is not None:
            section, key = OVERRIDES[flag]
            value = str(Path(value).resolve()) if flag in _PATH_FLAGS else value  # relative to where it was typed
            data.setdefault(section, {})[key] = value
    label = Path(path).name if path else "training config"
    try:
        config = {"format_version": CONFIG_FORMAT_VERSION, **resolve_tables(data, SCHEMA)}
    except Pain3DError as err:
        raise Pain3DError(f"{label}: {err}") from None
    base = Path(path).resolve().parent if path else Path.cwd()
    for section, key in (("model", "pretrained"), ("run", "teacher"), ("run", "init")):
        if config[section][key]:
            config[section][key] = str(base / Path(config[section][key]).expanduser())
    return config

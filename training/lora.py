"""LoRA adapters (through `peft`) on a timm encoder whose own weights stay frozen.

`add_lora(encoder, rank, alpha, targets, dropout)` freezes every weight of the encoder and puts a
low-rank adapter beside each module whose name is one of `targets` or ends with `.TARGET` (peft's
rule: "qkv" matches `blocks.3.attn.qkv`, "proj" matches both `blocks.3.attn.proj` and
`patch_embed.proj`). The adapters are injected in place, so the encoder stays a timm model
(`forward_features`, `blocks`, ...) and its state dict keeps timm's names, each adapted layer's
weights moving to `NAME.base_layer.*` beside `NAME.lora_A.default.*` and `NAME.lora_B.default.*`.
Only the adapters need gradients: `lora_B` starts at zero, so a fresh adapter changes nothing.

`merge_lora(module)` folds every adapter into its base weights (the same outputs, less work at
inference); a merged model is for predicting only, not for training or saving.
"""

from __future__ import annotations

from typing import Sequence

from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

from pain3d.errors import Pain3DError


def add_lora(encoder: nn.Module, rank: int, alpha: float, targets: Sequence[str], dropout: float) -> nn.Module:
    """The encoder, frozen, with trainable LoRA adapters on its `targets` modules (module docs)."""
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=dropout)
    try:
        inject_adapter_in_model(config, encoder)
    except ValueError:  # no target found, or a module type peft cannot adapt (a norm, ...)
        raise Pain3DError(f"model.lora_targets = {list(targets)}: not linear or convolution modules of the "
                          f"backbone; allowed: their names, here {_examples(encoder)}") from None
    for name, param in encoder.named_parameters():  # the backbone frozen, its adapters trained
        param.requires_grad = ".lora_" in name
    return encoder


def merge_lora(module: nn.Module) -> nn.Module:
    """Fold every LoRA adapter of `module` into its base weights (module docs)."""
    for layer in module.modules():
        if isinstance(layer, BaseTunerLayer):
            layer.merge()
    return module


def _examples(encoder: nn.Module) -> str:
    """The distinct last parts of the encoder's linear and convolution module names."""
    names = sorted({n.rsplit(".", 1)[-1] for n, m in encoder.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))})
    return ", ".join(f'"{n}"' for n in names)


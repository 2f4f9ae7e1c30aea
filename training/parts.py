"""The switchable parts of a ViTPain model: their names, allowed values and defaults (no torch here).

`Parts` is what `build_model` (training/models.py) takes besides the role and the backbone, and
what the `[model]` table of a training config (training/config.py) sets under the same names:

| part | values | what |
| --- | --- | --- |
| `head` | "pooled", "au_query" | the pooled head (CLS and mean token), or one learned query per PSPI AU over the tokens |
| `head_dropout` | 0..0.9 | dropout of the AU-query head's layers |
| `summary_token` | "cls", "mean" | what the heads read as the image's summary: the CLS token (the published heads), or the mean of the patch tokens |
| `neutral_encoder` | "shared", "separate" | the neutral image's encoder: the pain encoder itself, or a copy of it with its own weights |
| `cross_heads` | 0..64 | heads of the pain-to-neutral cross-attention (0: as many as the backbone's attention heads) |
| `cross_norm` | "pre", "post" | layer norm before the cross-attention (on both inputs), or after its residual sum |
| `encoder_forward` | "timm", "pain_in_3d" | the backbone's own forward, or the released Pain-in-3D code's (no rotary embeddings, no register tokens) |
| `lora_rank` | 0..1024 | 0: every backbone weight is trained; more: the backbone is frozen and LoRA adapters of that rank train |
| `lora_alpha` | > 0 | LoRA scale numerator (the adapter's output is scaled by alpha / rank) |
| `lora_targets` | module names | the backbone modules that get adapters (peft's matching: a name or a name's last parts) |
| `lora_dropout` | 0..0.9 | dropout on the adapters' input |
"""

from __future__ import annotations

from dataclasses import dataclass

from pain3d.errors import Pain3DError

HEADS = ("pooled", "au_query")
SUMMARY_TOKENS = ("cls", "mean")
NEUTRAL_ENCODERS = ("shared", "separate")
CROSS_NORMS = ("pre", "post")
ENCODER_FORWARDS = ("timm", "pain_in_3d")


@dataclass(frozen=True)
class Parts:
    """The model parts of the module docs; the class attributes are the defaults."""

    head: str = "pooled"
    head_dropout: float = 0.0
    summary_token: str = "cls"
    neutral_encoder: str = "shared"
    cross_heads: int = 0
    cross_norm: str = "pre"
    encoder_forward: str = "timm"
    lora_rank: int = 0
    lora_alpha: float = 16.0
    lora_targets: tuple[str, ...] = ("qkv", "proj")
    lora_dropout: float = 0.1

    def check(self, neutral_reference: bool) -> None:
        """One-line Pain3DError for a value out of its choices or parts that contradict each other."""
        for name, allowed in (("head", HEADS), ("summary_token", SUMMARY_TOKENS), ("neutral_encoder", NEUTRAL_ENCODERS),
                              ("cross_norm", CROSS_NORMS), ("encoder_forward", ENCODER_FORWARDS)):
            if getattr(self, name) not in allowed:
                raise Pain3DError(f"model.{name} = {getattr(self, name)!r}: invalid; allowed: {', '.join(allowed)}")
        if self.neutral_encoder == "separate" and not neutral_reference:
            raise Pain3DError('model.neutral_encoder = "separate": there is no neutral image to encode; allowed: '
                              '"shared", or neutral_reference = true')
        if self.lora_rank < 0 or self.lora_alpha <= 0 or not self.lora_targets:
            raise Pain3DError(f"model.lora_rank = {self.lora_rank}, lora_alpha = {self.lora_alpha}, lora_targets = "
                              f"{list(self.lora_targets)}: invalid; allowed: rank >= 0, alpha > 0, one target or more")

"""ViTPain models: a timm ViT encoder with pain heads, for teachers, students and baselines.

`build_model(role, backbone, image_size, teacher_input, neutral_reference, pretrained,
allow_download, **parts_and_timm_kwargs) -> PainModel`:

- `role`: "teacher" sees the heatmap (`teacher_input` "heatmap": 1 channel, or "heatmap+rgb":
  4 channels); "student" and "baseline" see the RGB image (a student is a baseline trained with
  distillation; the model is the same).
- `backbone`: any timm ViT name (vit_tiny_patch16_224, vit_small/base, DINOv2 `*_dinov2`, DINOv3
  `*_dinov3`, with a weight tag such as `.sat493m` if wanted); keywords that are not parts go to
  `timm.create_model` (drop_path_rate, embed_dim, depth, ...). A timm CNN (resnet18, convnext_*,
  ...) works too (`ConvEncoder`): the positions of its last feature map are its tokens (no CLS
  token), and its activation map stands in for attention; it has no `depth` to cut, no attention
  heads for `cross_heads` = 0 to copy, and no "pain_in_3d" forward.
- `neutral_reference`: the identity's neutral image (batch["neutral_image"]) is encoded too and the
  pain image's tokens attend to its tokens (one residual multi-head cross-attention layer).
- the parts (training/parts.py): the head ("pooled" or "au_query"), the neutral encoder (shared
  or separate), the cross-attention's heads and norm, the encoder's forward ("timm" or
  "pain_in_3d"), LoRA adapters (`lora_rank` > 0 freezes the backbone; training/lora.py).
- `pretrained`: local backbone weights, a .safetensors file or a timm/torch checkpoint read with
  `torch.load(weights_only=True)` (timm's converters take original DINOv2/DINOv3 layouts);
  position embeddings are resampled to `image_size` and the input convolution adapted to 1 or 4
  channels. Nothing is fetched unless `allow_download` (and no `pretrained`) asks timm for the
  name's own weights.

`PainModel.forward(batch)` takes a batch of items (training/datasets.py): a teacher reads `heatmap` (and
`image` with "heatmap+rgb"), the others `image`; with a neutral reference also `neutral_image`,
(B, 3, S, S), or (B, K, 3, S, S) for K references of each person, whose K predictions are averaged
(multi-shot). It returns:

| key | shape | meaning |
| --- | --- | --- |
| `pspi` | (B,) | PSPI in 0..16 (sigmoid x 16) |
| `aus` | (B, 6) | AU intensities in `AU_KEYS` order: the pooled head's AU43 in 0..1 and the others 0..5; the AU-query head's >= 0 |
| `pain_logits` | (B, 3) | logits of PSPI >= 1, 2, 3 (`PAIN_THRESHOLDS`) |
| `tokens` | (B, N, D) | the encoder's patch tokens of the pain image (before any cross-attention) |
| `attention` | (B, heads, N) | CLS-to-patch softmax attention of the encoder's last block; a CNN's (B, 1, N) activation map |

Checkpoints: `read_state_dict(path)` reads tensors only (safetensors or weights_only); a missing,
truncated or foreign file is a one-line Pain3DError. `load_weights(module, path)` loads a whole
model strictly (wrong architecture: one line naming the mismatched keys). `freeze(model)` makes a
frozen teacher. `model.build_args` rebuilds the architecture (`build_model(**model.build_args)`);
`model.embed_dim` is the token width (`make_projector` in training/losses.py).
"""

from __future__ import annotations

import copy
import re
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Mapping

import safetensors.torch
import timm
import torch
from timm.models import adapt_input_conv
from torch import nn

from pain3d import facs
from pain3d.errors import Pain3DError

from .datasets import AU_KEYS
from .lora import add_lora
from .parts import Parts

ROLES = ("teacher", "student", "baseline")
TEACHER_INPUTS = ("heatmap", "heatmap+rgb")
# Keys a checkpoint may keep its weights under, in the order timm prefers them (EMA first).
_CONTAINERS = ("state_dict_ema", "model_ema", "state_dict", "model")


def input_channels(role: str, teacher_input: str) -> int:
    if role != "teacher":
        return 3
    return 1 if teacher_input == "heatmap" else 4


def build_model(role: str, backbone: str, image_size: int, teacher_input: str = "heatmap",
                neutral_reference: bool = False, pretrained: str | Path | None = None,
                allow_download: bool = False, **kwargs: Any) -> PainModel:
    """A PainModel (module docs); `kwargs` are parts (training/parts.py) and timm keywords.

    Pain3DError for bad settings, names or weights."""
    _choice("role", role, ROLES)
    _choice("teacher_input", teacher_input, TEACHER_INPUTS)
    if role == "teacher" and teacher_input == "heatmap" and neutral_reference:
        raise Pain3DError("neutral_reference: a heatmap-only teacher has nothing to compare (neutral faces "
                          "have no heatmap); use teacher_input = \"heatmap+rgb\" or no neutral reference")
    chosen = {f.name: kwargs.pop(f.name) for f in fields(Parts) if f.name in kwargs}
    if "lora_targets" in chosen:
        chosen["lora_targets"] = tuple(chosen["lora_targets"])  # build args come back from JSON as lists
    parts = Parts(**chosen)
    parts.check(neutral_reference)
    encoder = create_encoder(backbone, image_size, input_channels(role, teacher_input),
                             download=allow_download and not pretrained, **kwargs)
    if isinstance(encoder, ConvEncoder):
        _check_conv_parts(backbone, parts, neutral_reference, encoder.embed_dim)
    if pretrained:
        load_backbone_weights(encoder.net if isinstance(encoder, ConvEncoder) else encoder, pretrained)
    neutral = copy.deepcopy(encoder) if parts.neutral_encoder == "separate" else None
    for module in filter(None, (encoder, neutral)):
        if parts.lora_rank:
            add_lora(module, parts.lora_rank, parts.lora_alpha, parts.lora_targets, parts.lora_dropout)
        if parts.encoder_forward == "pain_in_3d" and getattr(module, "reg_token", None) is not None:
            module.reg_token.requires_grad_(False)  # that forward never reads it: no gradient to wait for
    args = dict(role=role, backbone=backbone, image_size=image_size, teacher_input=teacher_input,
                neutral_reference=neutral_reference, **asdict(parts), **kwargs)
    return PainModel(encoder, neutral, role, teacher_input, neutral_reference, parts, args)


def build_from_config(role: str, model: Mapping[str, Any]) -> PainModel:
    """The PainModel of a resolved config's [model] table (training/config.py)."""
    timm_kwargs = {"drop_path_rate": model["drop_path"]} | ({"depth": model["depth"]} if model["depth"] else {})
    parts = {f.name: model[f.name] for f in fields(Parts)}  # the parts' config keys are their names
    return build_model(role, model["backbone"], model["image_size"], model["teacher_input"],
                       model["neutral_reference"], model["pretrained"] or None, model["allow_download"], **parts,
                       **timm_kwargs)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise Pain3DError(f"{name} = {value!r}: allowed: {', '.join(allowed)}")


def create_encoder(backbone: str, image_size: int, in_chans: int, download: bool = False,
                   **timm_kwargs: Any) -> nn.Module:
    """A headless timm ViT (num_classes=0) at `image_size`, or a timm CNN as a `ConvEncoder`; Pain3DError
    if it is neither."""
    kwargs = dict(pretrained=download, num_classes=0, in_chans=in_chans, **timm_kwargs)
    try:
        encoder = timm.create_model(backbone, img_size=image_size, **kwargs)
    except TypeError as err:
        if "'img_size'" not in str(err):
            raise Pain3DError(f"backbone {backbone!r}: {_first_line(err)}") from None
        return _conv_encoder(backbone, image_size, kwargs)  # CNNs take any input size: no img_size
    except Exception as err:  # unknown name, bad keyword, failed download: all one line for the user
        raise Pain3DError(f"backbone {backbone!r}: {_first_line(err)}") from None
    blocks = getattr(encoder, "blocks", None)
    attn = getattr(blocks[-1], "attn", None) if blocks else None
    if not hasattr(attn, "attn_drop") or not hasattr(attn, "fused_attn") or not hasattr(encoder, "patch_embed"):
        raise Pain3DError(f"backbone {backbone!r}: not a timm vision transformer (needs patch_embed and "
                          f"blocks with attention) or convolutional network")
    patch = encoder.patch_embed.patch_size[0]
    if image_size % patch:
        raise Pain3DError(f"image_size = {image_size}: must be a multiple of {backbone}'s patch size {patch}")
    return encoder


class ConvEncoder(nn.Module):
    """A timm CNN seen as a token encoder: `forward_features` gives its last feature map's positions as
    (B, H*W, C) tokens, without a CLS token; `embed_dim` is C. Its weights keep timm's names under `net.`."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.embed_dim = int(net.num_features)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x).flatten(2).transpose(1, 2)

    def no_weight_decay(self) -> set[str]:
        return set()  # a CNN has no position embeddings or tokens; norms and biases are exempt anyway


def _conv_encoder(backbone: str, image_size: int, kwargs: dict[str, Any]) -> ConvEncoder:
    """A headless timm CNN (module docs); Pain3DError for a ViT-only setting or a model without a feature map."""
    if "depth" in kwargs:
        raise Pain3DError(f"model.depth = {kwargs['depth']}: {backbone} is a convolutional network, whose depth "
                          f"is its own; allowed: 0")
    try:
        net = timm.create_model(backbone, **kwargs)
    except Exception as err:
        raise Pain3DError(f"backbone {backbone!r}: {_first_line(err)}") from None
    with torch.no_grad():  # in eval mode: batch norm keeps its statistics
        features = net.eval().forward_features(torch.zeros(1, kwargs["in_chans"], image_size, image_size))
    if features.dim() != 4 or hasattr(net, "patch_embed"):
        raise Pain3DError(f"backbone {backbone!r}: not a timm vision transformer or convolutional network")
    return ConvEncoder(net.train())


def _check_conv_parts(backbone: str, parts: Parts, neutral_reference: bool, width: int) -> None:
    """One-line Pain3DError for parts a CNN cannot have."""
    if parts.encoder_forward != "timm":
        raise Pain3DError(f'model.encoder_forward = "{parts.encoder_forward}": {backbone} is a convolutional '
                          f'network; allowed: "timm"')
    if neutral_reference and not parts.cross_heads:
        raise Pain3DError(f"model.cross_heads = 0: {backbone} has no attention heads to copy; allowed: a "
                          f"divisor of its width {width}")


def activation_map(tokens: torch.Tensor) -> torch.Tensor:
    """(B, 1, N) spatial attention of a CNN: each position's mean squared activation, normalised over the
    positions (Zagoruyko and Komodakis' activation-based attention), what a ViT's CLS attention is for."""
    energy = tokens.float().pow(2).mean(-1)
    return (energy / energy.sum(-1, keepdim=True).clamp_min(1e-12))[:, None]


class AttentionProbe:
    """Keeps the softmax attention of one timm attention module from its latest forward.

    The fused kernel never materialises the weights, so that one module runs the plain path; its
    softmax output is the input of its `attn_drop`, where a hook picks it up (with its graph).
    """

    def __init__(self, attn: nn.Module) -> None:
        attn.fused_attn = False
        attn.attn_drop.register_forward_hook(self._keep)
        self.weights: torch.Tensor | None = None

    def _keep(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        self.weights = inputs[0]

    def take(self) -> torch.Tensor:
        weights, self.weights = self.weights, None
        return weights


class NeutralCrossAttention(nn.Module):
    """The pain image's tokens (queries) attend to the neutral image's tokens (keys and values).

    `norm` "pre": `tokens + attn(norm_query(tokens), norm_neutral(neutral))`; "post" (the released
    Pain-in-3D layer): `norm(tokens + attn(tokens, neutral))`.
    """

    def __init__(self, dim: int, heads: int, norm: str = "pre") -> None:
        super().__init__()
        if dim % heads:
            raise Pain3DError(f"model.cross_heads = {heads}: invalid; allowed: a divisor of the backbone's width {dim}")
        self.pre = norm == "pre"
        if self.pre:
            self.norm_query = nn.LayerNorm(dim)
            self.norm_neutral = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        if not self.pre:
            self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor, neutral: torch.Tensor) -> torch.Tensor:
        if not self.pre:
            return self.norm(tokens + self.attn(tokens, neutral, neutral, need_weights=False)[0])
        kv = self.norm_neutral(neutral)
        return tokens + self.attn(self.norm_query(tokens), kv, kv, need_weights=False)[0]


def _au_max() -> torch.Tensor:
    catalog = facs.catalog()
    return torch.tensor([float(catalog[k].max_intensity) for k in AU_KEYS])


class PainHead(nn.Module):
    """PSPI, six AU intensities and three pain logits from pooled features (CLS and mean token)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(2 * dim)
        self.pspi = nn.Linear(2 * dim, 1)
        self.aus = nn.Linear(2 * dim, len(AU_KEYS))
        self.pain = nn.Linear(2 * dim, len(facs.PAIN_THRESHOLDS))
        self.register_buffer("au_max", _au_max(), persistent=False)

    def forward(self, cls: torch.Tensor, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.norm(torch.cat([cls, patches.mean(1)], dim=-1))
        return {
            "pspi": torch.sigmoid(self.pspi(x).squeeze(-1)) * facs.PSPI_MAX,
            "aus": torch.sigmoid(self.aus(x)) * self.au_max,
            "pain_logits": self.pain(x),
        }


class AUQueryHead(nn.Module):
    """One learned query per PSPI AU reads the patch tokens; PSPI and pain logits read the CLS token.

    The layout of the released Pain-in-3D head (training/pain_in_3d.py maps its weights here): each
    query's softmax attention (scaled dot product, no projections) pools the patch tokens into one
    vector per AU, which a shared LayerNorm-Linear(512)-GELU and a Linear(512, 1) turn into the AU's
    intensity (ReLU: >= 0). PSPI is an MLP (512, 256, 128) on the CLS token, sigmoid x 16; each
    threshold of `PAIN_THRESHOLDS` has a LayerNorm-Linear logit. Dropout `dropout` before the PSPI
    and pain layers, 0.6 x that in the AU path and the PSPI MLP's last two layers.
    """

    HIDDEN = (512, 256, 128)

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        low = dropout * 0.6
        self.queries = nn.Parameter(torch.randn(len(AU_KEYS), dim))
        self.au_features = nn.Sequential(nn.LayerNorm(dim), nn.Dropout(low), nn.Linear(dim, self.HIDDEN[0]), nn.GELU(),
                                         nn.Dropout(low))
        self.au_out = nn.Linear(self.HIDDEN[0], 1)
        layers: list[nn.Module] = [nn.LayerNorm(dim)]
        for i, (a, b) in enumerate(zip((dim, *self.HIDDEN), self.HIDDEN)):
            layers += [nn.Dropout(dropout if i < 2 else low), nn.Linear(a, b), nn.GELU()]
        self.pspi = nn.Sequential(*layers, nn.Dropout(low), nn.Linear(self.HIDDEN[-1], 1))
        self.pain = nn.ModuleList(nn.Sequential(nn.LayerNorm(dim), nn.Dropout(dropout), nn.Linear(dim, 1))
                                  for _ in facs.PAIN_THRESHOLDS)

    def forward(self, cls: torch.Tensor, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        scores = self.queries @ patches.transpose(1, 2) / patches.shape[-1] ** 0.5  # (B, AUs, N)
        pooled = scores.softmax(-1) @ patches
        return {
            "pspi": torch.sigmoid(self.pspi(cls).squeeze(-1)) * facs.PSPI_MAX,
            "aus": torch.relu(self.au_out(self.au_features(pooled)).squeeze(-1)),
            "pain_logits": torch.cat([head(cls) for head in self.pain], dim=-1),
        }


class PainModel(nn.Module):
    """Encoder + optional neutral encoder and cross-attention + a head; `forward(batch)` (module docs)."""

    def __init__(self, encoder: nn.Module, neutral_encoder: nn.Module | None, role: str, teacher_input: str,
                 neutral_reference: bool, parts: Parts, build_args: dict) -> None:
        super().__init__()
        self.encoder = encoder
        self.neutral_encoder = neutral_encoder  # None: the neutral image goes through `encoder`
        self.role, self.teacher_input, self.parts = role, teacher_input, parts
        self.build_args = build_args  # build_model(**build_args) rebuilds this architecture
        self.embed_dim = int(encoder.embed_dim)
        self.has_cls = getattr(encoder, "cls_token", None) is not None
        timm_prefix = int(getattr(encoder, "num_prefix_tokens", 0))
        self.num_prefix = timm_prefix if parts.encoder_forward == "timm" else int(self.has_cls)
        last = None if isinstance(encoder, ConvEncoder) else encoder.blocks[-1].attn
        heads = parts.cross_heads or getattr(last, "num_heads", 0)
        self.cross = NeutralCrossAttention(self.embed_dim, heads, parts.cross_norm) if neutral_reference else None
        au_query = parts.head == "au_query"
        self.head = AUQueryHead(self.embed_dim, parts.head_dropout) if au_query else PainHead(self.embed_dim)
        self._probe = AttentionProbe(last) if last is not None else None  # None: a CNN, read by activation_map

    @property
    def neutral_reference(self) -> bool:
        return self.cross is not None

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        seq, attention = self._encode(self.encoder, self._pain_input(batch))
        tokens = seq[:, self.num_prefix:]
        if self.cross is None:
            return {**self._heads(seq), "tokens": tokens, "attention": attention}
        neutral = batch["neutral_image"]
        shots = neutral.shape[1] if neutral.dim() == 5 else 1
        encoder = self.encoder if self.neutral_encoder is None else self.neutral_encoder
        neutral_seq, _ = self._encode(encoder, self._neutral_input(neutral.flatten(0, -4)))
        out = self._heads(self.cross(seq.repeat_interleave(shots, 0), neutral_seq))
        out = {k: v.unflatten(0, (-1, shots)).mean(1) for k, v in out.items()}  # multi-shot: the mean of the shots
        return {**out, "tokens": tokens, "attention": attention}

    def _heads(self, seq: torch.Tensor) -> dict[str, torch.Tensor]:
        patches = seq[:, self.num_prefix:]
        cls = self.has_cls and self.parts.summary_token == "cls"
        return self.head(seq[:, 0] if cls else patches.mean(1), patches)

    def _pain_input(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """What the encoder sees of the pain image: a teacher's heatmap at the scale of normalised RGB."""
        if self.role != "teacher":
            return batch["image"]
        heat = (batch["heatmap"] - 0.5) / 0.5
        return heat if self.teacher_input == "heatmap" else torch.cat([batch["image"], heat], dim=1)

    def _neutral_input(self, images: torch.Tensor) -> torch.Tensor:
        """A neutral image stands with a zero heatmap (neutral faces have none), normalised as in `_pain_input`."""
        return images if self.role != "teacher" else torch.cat([images, torch.full_like(images[:, :1], -1.0)], dim=1)

    def _encode(self, encoder: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """All tokens after the encoder's final norm, and the last block's CLS-to-patch attention (a CNN: its
        feature map's positions and their activation map)."""
        if self._probe is None:
            seq = encoder.forward_features(x)
            return seq, activation_map(seq)
        seq = encoder.forward_features(x) if self.parts.encoder_forward == "timm" else pain_in_3d_features(encoder, x)
        weights = self._probe.take()  # (B, heads, T, T); None from a separate neutral encoder
        if weights is None:
            return seq, None
        p = self.num_prefix
        attention = weights[:, :, 0, p:] if self.has_cls else weights[:, :, p:, p:].mean(2)
        return seq, attention


def pain_in_3d_features(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The tokens of a timm ViT run as the released Pain-in-3D code runs it.

    Patch embedding, the CLS token, the absolute position embedding if the backbone has one, every
    block called without its rotary embedding, the final norm: register tokens and the encoder's
    `forward_features` are skipped, so a DINOv3 (rotary positions only) sees no patch positions.
    """
    x = encoder.patch_embed(x)
    if x.dim() == 4:  # (B, H, W, D) of backbones with dynamic image sizes (DINOv3)
        x = x.flatten(1, 2)
    pos = getattr(encoder, "pos_embed", None)
    if pos is not None and pos.shape[1] == x.shape[1]:  # position embedding of the patches alone
        x, pos = x + pos, None
    if getattr(encoder, "cls_token", None) is not None:
        x = torch.cat([encoder.cls_token.expand(len(x), -1, -1), x], dim=1)
    if pos is not None:
        x = x + pos
    x = encoder.pos_drop(x)
    for block in encoder.blocks:
        x = block(x)
    return encoder.norm(x)


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode, no gradients: a teacher during distillation."""
    model.eval()
    model.requires_grad_(False)
    return model


# --- checkpoints ---------------------------------------------------------------------------


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file or a torch checkpoint, never unpickling objects.

    A checkpoint's weights may sit under state_dict_ema, model_ema, state_dict or model (timm's
    order); a DistributedDataParallel `module.` prefix is dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise Pain3DError(f"{path}: no such checkpoint file")
    kind = _checkpoint_kind(path)
    if kind is None:
        raise Pain3DError(f"{path}: not a .safetensors file or a torch checkpoint")
    try:
        if kind == "safetensors":
            state = safetensors.torch.load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, foreign, or objects weights_only refuses: one line, never a traceback
        raise Pain3DError(f"{path}: not a readable checkpoint ({_load_failure(err)})") from None
    if isinstance(state, dict):
        state = next((state[k] for k in _CONTAINERS if isinstance(state.get(k), dict)), state)
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise Pain3DError(f"{path}: holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _checkpoint_kind(path: Path) -> str | None:
    """"safetensors" (an 8-byte header length, then JSON), "torch" (a zip or a legacy pickle) or None."""
    with open(path, "rb") as f:
        head = f.read(9)
    if path.suffix == ".safetensors" or head[8:] == b"{":
        return "safetensors"
    return "torch" if head[:2] == b"PK" or head[:1] == b"\x80" else None


def load_backbone_weights(encoder: nn.Module, path: str | Path) -> None:
    """Local pretrained weights into a timm encoder, adapted the way timm adapts its own."""
    path = Path(path)
    state = read_state_dict(path)
    filter_fn = getattr(sys.modules[type(encoder).__module__], "checkpoint_filter_fn", None)
    if filter_fn is not None:  # timm's converter: original DINOv2/CLIP keys, position-embedding resampling
        try:
            state = filter_fn(state, encoder)
        except Exception as err:
            raise Pain3DError(f"{path}: does not fit backbone {_name(encoder)} ({_first_line(err)})") from None
    conv = encoder.pretrained_cfg.get("first_conv", "patch_embed.proj") + ".weight"
    own = encoder.state_dict()
    if conv in state and conv in own and state[conv].ndim == 4 and state[conv].shape[1] != own[conv].shape[1]:
        state[conv] = adapt_input_conv(own[conv].shape[1], state[conv], base_chans=state[conv].shape[1])
    classifier = encoder.pretrained_cfg.get("classifier", "head")
    state = {k: v for k, v in state.items() if not k.startswith(f"{classifier}.")}  # the encoder is headless
    load_weights(encoder, state, what=f"backbone {_name(encoder)}", where=path)


def load_weights(module: nn.Module, source: str | Path | Mapping[str, torch.Tensor], what: str = "the model",
                 where: str | Path | None = None) -> None:
    """Strictly load a state dict (or a checkpoint file); one-line Pain3DError on any mismatch."""
    if not isinstance(source, Mapping):
        where, source = source, read_state_dict(source)
    own = module.state_dict()
    missing = [k for k in own if k not in source]
    unexpected = [k for k in source if k not in own]
    shapes = [f"{k} {tuple(source[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in source and source[k].shape != own[k].shape]
    problems = [f"{len(keys)} {label} ({', '.join(keys[:2])}{', ...' if len(keys) > 2 else ''})"
                for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                    ("shape mismatches", shapes)) if keys]
    if problems:
        raise Pain3DError(f"{where or 'weights'}: does not fit {what}: {'; '.join(problems)}")
    module.load_state_dict(source)


def _load_failure(err: BaseException) -> str:
    found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
    if found:
        return f"it holds a pickled {found[1]} besides tensors, which is never unpickled"
    return _first_line(err)


def _name(encoder: nn.Module) -> str:
    return encoder.pretrained_cfg.get("architecture", type(encoder).__name__)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    line = f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
    return line if len(line) <= 160 else line[:157] + "..."

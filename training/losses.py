"""ViTPain losses: the task losses and the teacher-to-student distillation terms.

`task_loss(outputs, batch, weights) -> (total, parts)`; weights keys `pspi`, `aus`, `pain` (and
`regression`, "huber_l1" when absent, or "mse"):

- `pspi`: Huber (smooth L1, beta 1) between predicted and true PSPI, in PSPI points; with "mse"
  the squared error of PSPI / 16 (the published recipe's);
- `aus`: L1 over the six AU intensities (`AU_KEYS` order), in intensity units; "mse": squared error;
- `pain`: binary cross-entropy of the three logits against PSPI >= 1, 2, 3, averaged.

`distillation_loss(student_out, teacher_out, weights, projector) -> (total, parts)`; weights keys
`distill_output`, `distill_feature`, `distill_attention`:

- `distill_output`: the task losses' PSPI Huber and AU L1 with the teacher's predictions as targets;
- `distill_feature`: 1 - cosine similarity between the student's patch tokens, through `projector`
  (`make_projector`: linear when the widths differ), and the teacher's, the student's token grid
  resampled to the teacher's when the counts differ;
- `distill_attention`: KL(teacher || student) between CLS-to-patch attention maps, each averaged
  over heads and normalised over the patches, the student's resampled to the teacher's grid.

Both take the model output dicts of training/models.py. `total` is the weighted sum; `parts` holds
each term unweighted and detached, keyed like its weight. A term whose weight is 0 is not computed
and reported as 0 (with every weight 0, `total` is a zero tensor without a graph). The teacher's
outputs are detached: it is never trained through these terms.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from pain3d.facs import PAIN_THRESHOLDS, PSPI_MAX

from .config import REGRESSIONS

TASK_TERMS = ("pspi", "aus", "pain")
DISTILL_TERMS = ("distill_output", "distill_feature", "distill_attention")
_EPS = 1e-8

Outputs = Mapping[str, torch.Tensor]


def pain_targets(pspi: torch.Tensor) -> torch.Tensor:
    """(B, 3) float targets: PSPI >= 1, 2, 3."""
    thresholds = torch.tensor(PAIN_THRESHOLDS, dtype=pspi.dtype, device=pspi.device)
    return (pspi[:, None] >= thresholds).to(pspi.dtype)


def task_loss(outputs: Outputs, batch: Mapping[str, torch.Tensor],
              weights: Mapping[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted PSPI, AU and pain-threshold losses (module docs)."""
    mse = weights.get("regression", REGRESSIONS[0]) == "mse"
    terms: dict[str, Callable[[], torch.Tensor]] = {
        "pspi": lambda: (F.mse_loss(outputs["pspi"] / PSPI_MAX, batch["pspi"].float() / PSPI_MAX) if mse
                         else F.smooth_l1_loss(outputs["pspi"], batch["pspi"].float())),
        "aus": lambda: (F.mse_loss if mse else F.l1_loss)(outputs["aus"], batch["aus"].float()),
        "pain": lambda: F.binary_cross_entropy_with_logits(outputs["pain_logits"], pain_targets(batch["pspi"].float())),
    }
    return _weighted(terms, weights, outputs["pspi"])


def make_projector(student_dim: int, teacher_dim: int) -> nn.Module:
    """Student token width -> teacher token width: linear when they differ (train it with the student)."""
    return nn.Identity() if student_dim == teacher_dim else nn.Linear(student_dim, teacher_dim)


def distillation_loss(student_out: Outputs, teacher_out: Outputs, weights: Mapping[str, float],
                      projector: nn.Module | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted output, feature and attention distillation terms (module docs)."""
    teacher = {k: v.detach() for k, v in teacher_out.items()}
    terms: dict[str, Callable[[], torch.Tensor]] = {
        "distill_output": lambda: (F.smooth_l1_loss(student_out["pspi"], teacher["pspi"])
                                   + F.l1_loss(student_out["aus"], teacher["aus"])),
        "distill_feature": lambda: feature_distance(student_out["tokens"], teacher["tokens"], projector),
        "distill_attention": lambda: attention_divergence(student_out["attention"], teacher["attention"]),
    }
    return _weighted(terms, weights, student_out["pspi"])


def _weighted(terms: Mapping[str, Callable[[], torch.Tensor]], weights: Mapping[str, float],
              like: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Sum of weight x term over the terms with a non-zero weight; the others are never computed."""
    zero = torch.zeros((), device=like.device)
    total, parts = zero, {}
    for name, term in terms.items():
        weight = float(weights[name])
        if weight == 0:
            parts[name] = zero
            continue
        value = term()
        total = total + weight * value
        parts[name] = value.detach()
    return total, parts


def feature_distance(student: torch.Tensor, teacher: torch.Tensor, projector: nn.Module | None) -> torch.Tensor:
    """Mean 1 - cosine similarity of (B, N, D) token sets, student projected and resampled to the teacher."""
    if projector is None:
        if student.shape[-1] != teacher.shape[-1]:
            raise ValueError(f"token widths differ ({student.shape[-1]} vs {teacher.shape[-1]}): pass a projector "
                             f"(make_projector)")
        projector = nn.Identity()
    projected = _resample_tokens(projector(student).float(), teacher.shape[1])  # float: stable under autocast
    return (1 - F.cosine_similarity(projected, teacher.float(), dim=-1)).mean()


def attention_divergence(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of CLS attention maps, (B, heads, N) or (B, N), per image."""
    target = _attention_map(teacher.float())
    pred = _attention_map(student.float())
    pred = _normalise(_resample_tokens(pred[..., None], target.shape[1])[..., 0].clamp_min(0))
    return F.kl_div(pred.clamp_min(_EPS).log(), target, reduction="batchmean")


def _attention_map(attention: torch.Tensor) -> torch.Tensor:
    return _normalise(attention.mean(1) if attention.dim() == 3 else attention)


def _normalise(p: torch.Tensor) -> torch.Tensor:
    return p / p.sum(-1, keepdim=True).clamp_min(_EPS)


def _resample_tokens(tokens: torch.Tensor, count: int) -> torch.Tensor:
    """(B, N, C) tokens of a square grid -> (B, count, C) by bilinear resampling of the grid."""
    n = tokens.shape[1]
    if n == count:
        return tokens
    side, target = math.isqrt(n), math.isqrt(count)
    if side * side != n or target * target != count:
        raise ValueError(f"cannot resample {n} tokens to {count}: not square grids")
    grid = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, side, side)
    grid = F.interpolate(grid, size=(target, target), mode="bilinear", align_corners=False)
    return grid.flatten(2).transpose(1, 2)

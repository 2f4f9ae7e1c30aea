"""Evaluation metrics for pain assessment (numpy only): regression, classification, calibration,
identity-level bootstrap confidence intervals and the attention-vs-heatmap explainability score.

Every metric returns a Python float and returns nan, without warnings, where it is undefined
(too few samples, a constant input, a single class); the report shows nan as "n/a".

Public API
----------
- ``mae(y_true, y_pred)``, ``rmse(y_true, y_pred)``, ``pearson_r(x, y)``
- ``icc_3_1(ratings)``: Shrout & Fleiss ICC(3,1) of an (n targets, k raters) table
- ``auroc(scores, labels)``: rank-based (Mann-Whitney) area under the ROC curve, ties count 1/2
- ``f1_at(scores, labels, threshold)``: F1 when ``score >= threshold`` predicts positive
- ``best_f1_threshold(scores, labels) -> (threshold, f1)``: the F1-maximising threshold
- ``calibration_bins(prob, labels, n_bins=10) -> dict``: reliability curve and ECE
- ``bootstrap_indices(groups, n, seed)``: resampled image index sets, whole identities at a time
- ``bootstrap_cis(metric_fns, groups, n, seed, level)`` / ``bootstrap_ci(metric_fn, ...)``:
  percentile confidence intervals over identities
- ``top_region(heatmap, top_fraction, mask)``, ``attention_heatmap_auc(attention, heatmap, ...)``
  and ``pointing_game(attention, heatmap, ...)``: the explainability score
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Mapping

import numpy as np

# Fewer valid bootstrap replicates than this fraction (e.g. AUROC on resamples holding one
# class) would bias the interval towards the resamples where the metric happens to exist.
MIN_VALID_REPLICATES = 0.5


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"inputs differ in length: {a.size} and {b.size}")
    return a, b


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error; nan when empty."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t))) if t.size else math.nan


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error; nan when empty."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((p - t) ** 2))) if t.size else math.nan


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; nan with fewer than 2 samples or a constant input."""
    x, y = _pair(x, y)
    if x.size < 2:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denom if denom > 0 else math.nan


def icc_3_1(ratings: np.ndarray) -> float:
    """ICC(3,1) of Shrout & Fleiss (1979): two-way mixed, consistency, single rater.

    ``ratings`` is (n targets, k raters); ICC = (BMS - EMS) / (BMS + (k - 1) EMS) with BMS the
    between-targets mean square and EMS the residual mean square of the two-way ANOVA. For a
    model, the columns are (truth, prediction): k = 2. nan with n < 2, k < 2 or no variance.
    """
    x = np.asarray(ratings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"ratings must be (targets, raters), got shape {x.shape}")
    n, k = x.shape
    if n < 2 or k < 2:
        return math.nan
    grand = x.mean()
    ss_rows = k * float(np.sum((x.mean(axis=1) - grand) ** 2))
    ss_cols = n * float(np.sum((x.mean(axis=0) - grand) ** 2))
    ss_err = float(np.sum((x - grand) ** 2)) - ss_rows - ss_cols
    bms = ss_rows / (n - 1)
    ems = max(ss_err, 0.0) / ((n - 1) * (k - 1))  # clamp float round-off below zero
    denom = bms + (k - 1) * ems
    return (bms - ems) / denom if denom > 0 else math.nan


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return (upper - (counts - 1) / 2.0)[inverse]


def _binary(labels: np.ndarray) -> np.ndarray:
    return np.asarray(labels).ravel().astype(bool)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting 1/2.

    Computed from ranks (the Mann-Whitney U statistic); nan when only one class is present.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = _binary(labels)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    rank_sum = float(_average_ranks(s)[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.divide(2.0 * tp, denom, out=np.full(np.shape(denom), np.nan), where=denom > 0)


def f1_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """F1 of the rule ``score >= threshold`` -> positive; nan with no positives predicted or true."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = _binary(labels)
    pred = s >= threshold
    tp = np.sum(pred & y)
    return float(_f1(tp, np.sum(pred & ~y), np.sum(~pred & y)))


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold (one of the scores) whose rule ``score >= threshold`` maximises F1, and that F1.

    Choose it on the validation split and apply it to the test split with ``f1_at``. Equal F1s
    go to the highest threshold (fewest positive calls). (nan, nan) when there is no positive.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = _binary(labels)
    if not y.any():
        return math.nan, math.nan
    order = np.argsort(-s, kind="stable")
    s_desc, y_desc = s[order], y[order]
    tp = np.cumsum(y_desc)
    fp = np.cumsum(~y_desc)
    # A threshold admits every score tied with it: keep the last position of each run of ties.
    last = np.r_[s_desc[1:] != s_desc[:-1], True]
    f1 = _f1(tp[last], fp[last], y.sum() - tp[last])
    best = int(np.argmax(f1))  # first maximum = highest threshold
    return float(s_desc[last][best]), float(f1[best])


def calibration_bins(prob: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> dict:
    """Reliability curve of predicted probabilities in ``n_bins`` equal-width bins on [0, 1].

    Returns ``edges`` (n_bins + 1), and per bin ``count``, ``mean_prob`` and ``frac_pos`` (nan in
    empty bins), plus ``ece``: the expected calibration error, sum over bins of
    count / N * |frac_pos - mean_prob| (nan when empty). Bins are [lo, hi), the last one [lo, 1].
    """
    p = np.clip(np.asarray(prob, dtype=np.float64).ravel(), 0.0, 1.0)
    y = _binary(labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(which, weights=p, minlength=n_bins) / count
        frac_pos = np.bincount(which, weights=y, minlength=n_bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] * np.abs(frac_pos[filled] - mean_prob[filled])) / p.size) if p.size else math.nan
    return {"edges": edges, "count": count, "mean_prob": mean_prob, "frac_pos": frac_pos, "ece": ece}


def bootstrap_indices(groups: np.ndarray, n: int, seed: int) -> Iterator[np.ndarray]:
    """``n`` bootstrap resamples of image indices, drawing whole identities with replacement.

    ``groups`` holds each image's identity. Each resample draws as many identities as there are
    (with replacement) and takes all images of each drawn identity, so images of one person,
    which are correlated, never count as independent evidence. Seeded: same seed, same resamples.
    """
    _, inverse = np.unique(np.asarray(groups).ravel(), return_inverse=True)
    sizes = np.bincount(inverse)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(sizes)[:-1])
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield np.concatenate([members[k] for k in rng.integers(0, sizes.size, sizes.size)])


def _percentile_ci(values: list[float], n: int, level: float) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if n == 0 or v.size < MIN_VALID_REPLICATES * n:
        return math.nan, math.nan
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_cis(metric_fns: Mapping[str, Callable[[np.ndarray], float]], groups: np.ndarray,
                  n: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of several metrics over the same identity resamples.

    Each ``metric_fns[name](idx)`` computes its metric on the images ``idx`` (a resample, with
    repeats). Replicates where a metric is undefined (nan) are dropped; with fewer than
    MIN_VALID_REPLICATES of them valid, or fewer than 2 identities, the interval is (nan, nan).
    """
    if np.unique(np.asarray(groups)).size < 2:
        return {name: (math.nan, math.nan) for name in metric_fns}
    reps: dict[str, list[float]] = {name: [] for name in metric_fns}
    for idx in bootstrap_indices(groups, n, seed):
        for name, fn in metric_fns.items():
            reps[name].append(fn(idx))
    return {name: _percentile_ci(values, n, level) for name, values in reps.items()}


def bootstrap_ci(metric_fn: Callable[[np.ndarray], float], groups: np.ndarray, n: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval (lo, hi) of one metric, resampling identities (see bootstrap_cis)."""
    return bootstrap_cis({"metric": metric_fn}, groups, n, seed, level)["metric"]


def _upsample(attention: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour upsampling of a coarse (e.g. patch-grid) map by whole factors."""
    a = np.asarray(attention, dtype=np.float64)
    if a.shape == shape:
        return a
    if a.ndim != 2 or len(shape) != 2 or any(s % t for s, t in zip(shape, a.shape)):
        raise ValueError(f"attention {a.shape} does not divide the heatmap {shape}; resample it first")
    return np.repeat(np.repeat(a, shape[0] // a.shape[0], axis=0), shape[1] // a.shape[1], axis=1)


def top_region(heatmap: np.ndarray, top_fraction: float = 0.1, mask: np.ndarray | None = None) -> np.ndarray:
    """The heatmap's top region: a boolean (H, W) map, empty when there is no heat.

    With m = the number of pixels of nonzero heat (inside ``mask``), the level is the
    ceil(top_fraction * m)-th largest nonzero heat value and the region is every pixel with heat
    >= that level (ties included, so it may hold a few more pixels than the fraction).
    """
    h = np.asarray(heatmap, dtype=np.float64)
    inside = np.ones(h.shape, bool) if mask is None else np.asarray(mask, bool)
    heat = h[inside & (h > 0)]
    if heat.size == 0:
        return np.zeros(h.shape, bool)
    k = max(1, math.ceil(top_fraction * heat.size))
    level = np.partition(heat, heat.size - k)[heat.size - k]
    return inside & (h >= level)


def attention_heatmap_auc(attention: np.ndarray, heatmap: np.ndarray, top_fraction: float = 0.1,
                          mask: np.ndarray | None = None) -> float:
    """How well an attention map picks out the pain heatmap's top region: an AUROC in [0, 1].

    Positives are the pixels of ``top_region(heatmap, top_fraction, mask)``; negatives are every
    other pixel inside ``mask`` (the face: pass the dataset's face mask, skin and features, so that
    background does not count; None: the whole image). The score is the AUROC of the attention
    value at separating the two (1: all top-region pixels get more attention than the rest; 0.5:
    chance). A coarse attention map (a patch grid) is upsampled by nearest neighbour when the
    heatmap's size is a whole multiple of it. nan when the heatmap has no heat (neutral faces).
    """
    h = np.asarray(heatmap, dtype=np.float64)
    a = _upsample(attention, h.shape)
    inside = np.ones(h.shape, bool) if mask is None else np.asarray(mask, bool)
    region = top_region(h, top_fraction, inside)
    return auroc(a[inside], region[inside])


def pointing_game(attention: np.ndarray, heatmap: np.ndarray, top_fraction: float = 0.1,
                  mask: np.ndarray | None = None) -> float:
    """Pointing-game hit: 1.0 when the attention's maximum (inside ``mask``) lies in the top region.

    With several pixels sharing the maximum, the fraction of them in the region (so a flat map
    scores the region's share, not a lucky first pixel). nan when the heatmap has no heat.
    """
    h = np.asarray(heatmap, dtype=np.float64)
    a = _upsample(attention, h.shape)
    inside = np.ones(h.shape, bool) if mask is None else np.asarray(mask, bool)
    region = top_region(h, top_fraction, inside)
    if not region.any():
        return math.nan
    peak = inside & (a == a[inside].max())
    return float(region[peak].mean())

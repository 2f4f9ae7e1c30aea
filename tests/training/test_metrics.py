"""Metric functions against values worked out by hand (training/metrics.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pain3d.training.metrics import (attention_heatmap_auc, auroc, best_f1_threshold, bootstrap_ci, bootstrap_cis,
                              bootstrap_indices, calibration_bins, f1_at, icc_3_1, mae, pearson_r, pointing_game,
                              rmse, top_region)

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges. BMS 11.24, EMS 1.02: ICC(3,1) = .71.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def test_mae_rmse_pearson_by_hand():
    t, p = np.array([0.0, 2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0, 8.0])
    assert mae(t, p) == pytest.approx(1.0)  # |1| + 0 + |1| + |2| = 4, / 4
    assert rmse(t, p) == pytest.approx(math.sqrt(1.5))  # 1 + 0 + 1 + 4 = 6, / 4
    # deviations from the means: t (-3, -1, 1, 3), p (-2.5, -1.5, -0.5, 4.5) -> 22 / sqrt(20 * 29)
    assert pearson_r(t, p) == pytest.approx(22 / math.sqrt(20 * 29))
    assert math.isnan(pearson_r([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # constant input
    assert math.isnan(mae([], []))


def test_icc_shrout_fleiss_table():
    assert icc_3_1(SHROUT_FLEISS) == pytest.approx(0.7148, abs=5e-4)
    # exact: SS targets 56.2083 (5 df), SS judges 97.4583, SS total 168.9583 -> SS error 15.2917 (15 df)
    bms, ems = 56.208333 / 5, 15.291667 / 15
    assert icc_3_1(SHROUT_FLEISS) == pytest.approx((bms - ems) / (bms + 3 * ems), rel=1e-6)


def test_icc_prediction_vs_truth_two_raters():
    # rows (1,2), (2,1), (3,3): SS_rows 3, SS_cols 0, SS_total 4 -> BMS 1.5, EMS 0.5 -> 1 / 2
    assert icc_3_1(np.array([[1, 2], [2, 1], [3, 3]])) == pytest.approx(0.5)
    truth = np.array([0.0, 3.0, 5.0, 9.0])
    assert icc_3_1(np.column_stack([truth, truth + 2])) == pytest.approx(1.0)  # consistency ignores a bias
    assert math.isnan(icc_3_1(np.array([[1.0, 2.0]])))  # one target


def test_auroc_hand_examples_with_ties():
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # positives {0.5, 0.9} vs negatives {0.5, 0.2}: pairs 0.5 (tie) + 1 + 1 + 1 = 3.5 of 4
    assert auroc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]) == pytest.approx(0.875)
    assert auroc([0.3, 0.3, 0.3], [1, 0, 1]) == pytest.approx(0.5)
    assert auroc([0.9, 0.1], [0, 1]) == 0.0
    assert math.isnan(auroc([0.1, 0.2], [1, 1]))


def test_f1_threshold_choice():
    scores = np.array([0.1, 0.3, 0.4, 0.6, 0.8, 0.9])
    labels = np.array([0, 1, 0, 1, 0, 1])
    # >= 0.9: 2/4; >= 0.8: 2/5; >= 0.6: 4/6; >= 0.4: 4/7; >= 0.3: 6/8 (best); >= 0.1: 6/9
    assert best_f1_threshold(scores, labels) == (pytest.approx(0.3), pytest.approx(0.75))
    assert f1_at(scores, labels, 0.6) == pytest.approx(4 / 6)
    assert f1_at(scores, labels, 0.35) == pytest.approx(4 / 7)
    # equal F1 (2/3 at >= 0.9 and at >= 0.1): the higher threshold wins
    assert best_f1_threshold([0.9, 0.8, 0.7, 0.1], [1, 0, 0, 1]) == (0.9, pytest.approx(2 / 3))
    # tied scores enter together: >= 0.5 takes both
    assert best_f1_threshold([0.5, 0.5, 0.1], [1, 0, 0]) == (0.5, pytest.approx(2 / 3))
    assert all(math.isnan(v) for v in best_f1_threshold([0.2, 0.4], [0, 0]))
    assert math.isnan(f1_at([0.2, 0.4], [0, 0], 0.5))


def test_calibration_ece():
    cal = calibration_bins([0.2, 0.2, 0.8, 0.8], [0, 1, 1, 1], n_bins=2)
    assert cal["count"].tolist() == [2, 2]
    assert cal["mean_prob"].tolist() == pytest.approx([0.2, 0.8])
    assert cal["frac_pos"].tolist() == pytest.approx([0.5, 1.0])
    assert cal["ece"] == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)
    cal = calibration_bins([0.0, 1.0, 0.55], [0, 1, 1], n_bins=10)  # 1.0 falls in the last bin
    assert cal["count"][[0, 5, 9]].tolist() == [1, 1, 1] and np.isnan(cal["mean_prob"][3])
    assert cal["ece"] == pytest.approx(0.45 / 3)


def _clustered(n_ids: int = 10, per_id: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Errors that are constant within an identity: 10 people, not 500 independent images."""
    ids = np.repeat(np.arange(n_ids), per_id)
    errors = np.linspace(0.0, 2.0, n_ids)[ids]
    return ids, errors


def test_bootstrap_is_seeded_and_contains_the_estimate():
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(20), 5)
    t = rng.uniform(0, 10, ids.size)
    p = t + rng.normal(0, 1, ids.size)
    fn = lambda i: mae(t[i], p[i])  # noqa: E731
    a = bootstrap_ci(fn, ids, n=300, seed=7)
    assert a == bootstrap_ci(fn, ids, n=300, seed=7)
    assert a != bootstrap_ci(fn, ids, n=300, seed=8)
    assert a[0] < mae(t, p) < a[1]


def test_bootstrap_resamples_whole_identities():
    ids, errors = _clustered()
    for idx in bootstrap_indices(ids, 20, seed=0):
        assert idx.size == ids.size and np.all(np.bincount(ids[idx]) % 50 == 0)
    fn = lambda i: float(errors[i].mean())  # noqa: E731
    by_identity = bootstrap_ci(fn, ids, n=500, seed=0)
    by_image = bootstrap_ci(fn, np.arange(ids.size), n=500, seed=0)
    # 10 independent people: sd of the mean ~ 0.2; 500 "independent" images would claim ~ 0.03
    assert by_identity[1] - by_identity[0] > 3 * (by_image[1] - by_image[0])
    assert by_identity[0] < 1.0 < by_identity[1]


def test_bootstrap_undefined_cases():
    assert all(math.isnan(v) for v in bootstrap_ci(lambda i: 1.0, np.zeros(5), n=10))  # one identity
    ids = np.repeat(np.arange(10), 2)
    # identity 0 drawn at all: ~65% of resamples; drawn twice or more: ~26%, too few to trust
    once = lambda i: 1.0 if np.any(ids[i] == 0) else math.nan  # noqa: E731
    twice = lambda i: 1.0 if np.sum(ids[i] == 0) >= 4 else math.nan  # noqa: E731
    cis = bootstrap_cis({"once": once, "twice": twice}, ids, n=200, seed=0)
    assert cis["once"] == (1.0, 1.0)
    assert all(math.isnan(v) for v in cis["twice"])


def _blob(size: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.clip(1.0 - np.hypot(yy - 5, xx - 9) / 5.0, 0.0, None)


def test_top_region_definition():
    heat = np.zeros((4, 4))
    heat[0, :] = [1.0, 2.0, 3.0, 4.0]
    heat[1, :] = [5.0, 6.0, 7.0, 8.0]
    heat[2, :2] = [9.0, 10.0]
    # 10 heated pixels: the top 20% are the 2 hottest; 30% -> ceil(3) = 3
    assert np.argwhere(top_region(heat, 0.2)).tolist() == [[2, 0], [2, 1]]
    assert top_region(heat, 0.3).sum() == 3
    assert not top_region(np.zeros((4, 4))).any()


def test_attention_heatmap_auc():
    heat = _blob()
    assert attention_heatmap_auc(heat, heat, 0.1) == 1.0
    assert attention_heatmap_auc(-heat, heat, 0.1) == 0.0
    assert attention_heatmap_auc(np.ones_like(heat), heat, 0.1) == 0.5
    assert math.isnan(attention_heatmap_auc(heat, np.zeros_like(heat)))
    # inside the mask (9 pixels) the top 10% is the peak pixel alone; attention ranks it first
    mask = np.zeros((16, 16), bool)
    mask[4:7, 8:11] = True
    attention = np.zeros((16, 16))
    attention[5, 9] = 1.0
    attention[0, 0] = 5.0  # outside the face: does not count
    assert attention_heatmap_auc(attention, heat, 0.1, mask) == 1.0
    # a patch grid (4 x 4) upsampled onto the 16 x 16 heatmap
    coarse = np.zeros((4, 4))
    coarse[1, 2] = 1.0
    fine = np.kron(coarse, np.ones((4, 4)))
    assert attention_heatmap_auc(coarse, heat, 0.05) == attention_heatmap_auc(fine, heat, 0.05) > 0.95
    with pytest.raises(ValueError):
        attention_heatmap_auc(np.zeros((5, 5)), heat)


def test_pointing_game():
    heat = _blob()
    attention = np.zeros((16, 16))
    attention[5, 9] = 1.0
    assert pointing_game(attention, heat, 0.1) == 1.0
    attention[5, 9], attention[15, 0] = 0.0, 1.0
    assert pointing_game(attention, heat, 0.1) == 0.0
    flat = pointing_game(np.ones((16, 16)), heat, 0.1)  # a flat map scores the region's share
    assert flat == pytest.approx(top_region(heat, 0.1).mean())
    assert math.isnan(pointing_game(attention, np.zeros((16, 16))))

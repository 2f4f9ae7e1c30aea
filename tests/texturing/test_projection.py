"""Projection of painted views into UV space, hole filling, view blending and the unseen fill."""

from __future__ import annotations

import numpy as np
import pytest

from pain3d.texturing.projection import (FULL_WEIGHT, blend_views, colour_gain, fill_holes, fill_unseen, portrait_alpha,
                                  project_view, texel_index)

S = 16


def texel_centres(rows: np.ndarray, cols: np.ndarray, size: int) -> np.ndarray:
    """(u, v) of texel centres, per docs/identity-bundle.md, as float32 like the bundle stores them."""
    return np.stack([(cols + 0.5) / size, 1.0 - (rows + 0.5) / size], axis=-1).astype(np.float32)


def one_texel_per_pixel(shape: tuple[int, int], seed: int = 0):
    """A synthetic correspondence: every pixel sees its own texel (a random one), some pixels see nothing."""
    rng = np.random.default_rng(seed)
    flat = rng.permutation(S * S)[:shape[0] * shape[1]].reshape(shape)
    uv = texel_centres(flat // S, flat % S, S)
    visible = rng.random(shape) < 0.8
    return flat, uv, visible, rng.random(shape + (3,))


def test_texel_convention_row_zero_is_the_top():
    uv = np.array([[0.01, 0.99], [0.99, 0.01], [0.5, 0.5], [1.0, 0.0]])
    assert texel_index(uv, S).tolist() == [0 * S + 0, (S - 1) * S + (S - 1), 8 * S + 8, (S - 1) * S + (S - 1)]


def test_pixels_land_exactly_on_their_texels():
    flat, uv, visible, image = one_texel_per_pixel((8, 12))
    colour_sum, weight = project_view(image, uv, visible, np.ones((8, 12), np.float32), S)
    assert colour_sum.shape == (S, S, 3) and weight.shape == (S, S)
    rows, cols = flat[visible] // S, flat[visible] % S
    assert np.array_equal(colour_sum[rows, cols], image[visible])  # weight 1: the pixel's colour, bit for bit
    assert np.array_equal(weight[rows, cols], np.ones(visible.sum()))
    hit = np.zeros((S, S), bool)
    hit[rows, cols] = True
    assert not weight[~hit].any() and not colour_sum[~hit].any()


def test_weights_follow_facing():
    flat, uv, visible, image = one_texel_per_pixel((8, 12), seed=1)
    facing = np.random.default_rng(2).random((8, 12)).astype(np.float32)
    colour_sum, weight = project_view(image, uv, visible, facing, S)
    rows, cols = flat[visible] // S, flat[visible] % S
    expected = facing[visible].astype(np.float64) ** 2
    np.testing.assert_allclose(weight[rows, cols], expected, rtol=1e-12)
    np.testing.assert_allclose(colour_sum[rows, cols] / weight[rows, cols, None], image[visible], rtol=1e-12)


def test_pixels_sharing_a_texel_average_by_weight():
    uv = texel_centres(np.array([[3, 3]]), np.array([[5, 5]]), S)
    image = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    facing = np.array([[1.0, np.sqrt(0.5)]], np.float32)  # weights 1 and 0.5
    colour_sum, weight = project_view(image, uv, np.ones((1, 2), bool), facing, S)
    assert weight[3, 5] == pytest.approx(1.5)
    np.testing.assert_allclose(colour_sum[3, 5] / weight[3, 5], [2 / 3, 0.0, 1 / 3])


def test_fill_holes_closes_small_gaps_inside_the_skin_only():
    size = 32
    colour_sum, weight = np.zeros((size, size, 3)), np.zeros((size, size))
    landed = np.zeros((size, size), bool)
    landed[:16:2, :16:2] = True  # every other texel of the top-left quarter: a portrait sparser than the texture
    weight[landed] = 0.5
    colour_sum[landed] = 0.5 * np.array([0.2, 0.4, 0.6])
    coverage = np.ones((size, size), bool)
    coverage[:, 11] = False  # a strip off the skin islands, between landed columns
    filled_sum, filled_weight = fill_holes(colour_sum, weight, coverage, levels=2)
    assert np.array_equal(filled_sum[landed], colour_sum[landed])
    assert np.array_equal(filled_weight[landed], weight[landed])
    gaps = coverage.copy()
    gaps[16:, :] = gaps[:, 16:] = False
    np.testing.assert_allclose(filled_weight[gaps], 0.5)  # filled gaps weigh like their neighbours
    np.testing.assert_allclose(filled_sum[gaps] / filled_weight[gaps, None], np.tile([0.2, 0.4, 0.6], (gaps.sum(), 1)))
    assert not filled_weight[~coverage].any()
    assert not filled_weight[24:, 24:].any()  # far beyond 2**levels texels: stays unseen


def test_blend_views_is_the_weighted_mean():
    red, blue = np.zeros((S, S, 3)), np.zeros((S, S, 3))
    red[..., 0], blue[..., 2] = 1.0, 3.0  # colour sums: red at weight 1, blue at weight 3
    weight_red, weight_blue = np.ones((S, S)), np.full((S, S), 3.0)
    weight_blue[0, 0] = 0.0
    blue[0, 0] = 0.0
    colour, weight = blend_views([(red, weight_red), (blue, weight_blue)])
    np.testing.assert_allclose(colour[1, 1], [0.25, 0.0, 0.75])
    np.testing.assert_allclose(colour[0, 0], [1.0, 0.0, 0.0])
    assert weight[1, 1] == 4.0 and weight[0, 0] == 1.0


def half_seen(size: int = 64):
    """Base skin with structure; a portrait 1.5/1.2/0.8 times as bright over the left half, unseen right."""
    rng = np.random.default_rng(3)
    base = np.array([0.30, 0.20, 0.15]) * (0.8 + 0.4 * rng.random((size, size, 1)))
    gain = np.array([1.5, 1.2, 0.8])
    weight = np.zeros((size, size))
    weight[:, :size // 2] = 1.0
    colour = np.where(weight[..., None] > 0, base * gain, 0.0)
    return colour, weight, base, gain, np.ones((size, size), bool)


def test_fill_unseen_keeps_seen_texels_and_colour_matches_the_base():
    colour, weight, base, gain, coverage = half_seen()
    albedo = fill_unseen(colour, weight, base, coverage)
    assert albedo.dtype == np.float32 and albedo.shape == colour.shape
    np.testing.assert_allclose(albedo[:, :20], colour[:, :20], rtol=1e-6)  # well inside the seen half
    np.testing.assert_allclose(albedo[:, 32:], base[:, 32:] * gain, rtol=1e-6)  # unseen: base, portrait's colour


def test_fill_unseen_feathers_the_edge_of_the_seen_area():
    size = 64
    _, weight, _, _, coverage = half_seen(size)
    rows = np.linspace(0.6, 1.4, size)[:, None, None]
    base = np.array([0.30, 0.20, 0.15]) * rows * np.ones((1, size, 1))  # brighter down the rows, flat across
    colour = np.where(weight[..., None] > 0, [0.45, 0.24, 0.12], 0.0)  # flat: it meets the matched base with a step
    albedo = fill_unseen(colour, weight, base, coverage)
    hard = np.where(weight[..., None] > 0, colour, base * colour_gain(colour, base, weight > 0))  # no feathering
    steps = np.abs(np.diff(albedo, axis=1)).max()
    assert steps < 0.25 * np.abs(np.diff(hard, axis=1)).max()


def test_portrait_alpha_is_zero_where_unseen_and_ramps_gently():
    size, radius = 48, 3
    weight = np.zeros((size, size))
    yy, xx = np.mgrid[:size, :size]
    weight[(yy - 24) ** 2 + (xx - 24) ** 2 < 18 ** 2] = 1.0
    weight[20, 20] = FULL_WEIGHT / 2  # a grazing texel weighs in partly
    coverage = np.ones((size, size), bool)
    coverage[:, :4] = False
    alpha = portrait_alpha(weight, coverage, radius)
    assert not alpha[weight == 0].any() and not alpha[~coverage].any()
    assert alpha[24, 24] == pytest.approx(1.0)
    inside = coverage & np.roll(coverage, 1, axis=1)
    assert np.abs(np.diff(alpha, axis=1))[inside[:, 1:]].max() <= 1 / (2 * radius + 1) + 1e-12
    assert np.abs(np.diff(alpha, axis=0)).max() <= 1 / (2 * radius + 1) + 1e-12

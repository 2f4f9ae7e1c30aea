"""Carry painted views into the skin's UV layout and fill what they leave open (pure numpy).

A view's pixels land on texels through the bundle's exact pixel-to-texel correspondence
(docs/identity-bundle.md), each weighted by how squarely the skin faces the camera there.
Gaps between landed texels (a texture has more texels than a portrait has pixels) are filled
from coarser averages; texels no view sees take the procedural base, colour-matched to the
portrait and feathered in so that no seam shows. All colours are linear-light RGB.
"""

from __future__ import annotations

import numpy as np

FACING_POWER = 2  # grazing pixels are stretched over many texels and blurred: let them weigh little
FULL_WEIGHT = 0.25  # a texel seen at facing 0.5 (60 degrees off the normal) or better is pure portrait
FEATHER_FRACTION = 1 / 128  # feather radius as a fraction of the texture side
GAIN_LIMITS = (1 / 8, 8)  # colour-match gains beyond these mean a failed portrait, not a skin tone
LOG_FLOOR = 1e-4


def texel_index(uv: np.ndarray, size: int) -> np.ndarray:
    """Flat index (row * size + column) of the texel each (u, v) falls in."""
    u = np.asarray(uv[..., 0], np.float64)
    v = np.asarray(uv[..., 1], np.float64)
    column = np.clip(np.floor(u * size), 0, size - 1).astype(np.int64)
    row = np.clip(np.floor((1.0 - v) * size), 0, size - 1).astype(np.int64)
    return row * size + column


def project_view(image: np.ndarray, uv: np.ndarray, visible: np.ndarray, facing: np.ndarray,
                 size: int) -> tuple[np.ndarray, np.ndarray]:
    """Splat a view's pixels onto the texels they see.

    image (H, W, 3) linear RGB; uv, visible, facing as in the bundle's view_*_uv.npz.
    Returns the weighted colour sum (S, S, 3) and the weight sum (S, S), both float64.
    """
    if image.shape[:2] != visible.shape or uv.shape[:2] != visible.shape or facing.shape != visible.shape:
        raise ValueError(f"view arrays disagree: image {image.shape}, uv {uv.shape}, "
                         f"visible {visible.shape}, facing {facing.shape}")
    pixel_weight = np.where(visible, np.clip(facing, 0.0, 1.0), 0.0).astype(np.float64) ** FACING_POWER
    landed = pixel_weight > 0
    texels = texel_index(uv, size)[landed]
    weights = pixel_weight[landed]
    colours = np.asarray(image, np.float64)[landed]
    cells = size * size
    weight = np.bincount(texels, weights=weights, minlength=cells)
    colour_sum = np.stack([np.bincount(texels, weights=weights * colours[:, c], minlength=cells)
                           for c in range(3)], axis=-1)
    return colour_sum.reshape(size, size, 3), weight.reshape(size, size)


def fill_holes(colour_sum: np.ndarray, weight: np.ndarray, coverage: np.ndarray,
               levels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Fill unlanded skin texels from the nearest coarser level that has data (push-pull).

    Gaps up to about 2**levels texels wide are filled; larger ones stay unseen. A filled
    texel gets the mean colour and the mean weight of the landed texels of its block, so
    sparse sampling does not make it weigh less than its neighbours. Landed texels and
    texels off the skin islands keep their values.
    """
    landed = weight > 0
    pyramid = [(colour_sum, weight, landed.astype(np.float64))]
    for _ in range(levels):
        pyramid.append(tuple(_sum_2x2(a) for a in pyramid[-1]))
    colour, mean_weight = _block_means(*pyramid[-1])
    for sums, weights, counts in reversed(pyramid[:-1]):
        own_colour, own_weight = _block_means(sums, weights, counts)
        has_data = counts > 0
        colour = np.where(has_data[..., None], own_colour, _upsample(colour, counts.shape))
        mean_weight = np.where(has_data, own_weight, _upsample(mean_weight, counts.shape))
    fill = ~landed & coverage & (mean_weight > 0)
    filled_sum = np.where(fill[..., None], colour * mean_weight[..., None], colour_sum)
    return filled_sum, np.where(fill, mean_weight, weight)


def _sum_2x2(a: np.ndarray) -> np.ndarray:
    rows, cols = a.shape[0] + a.shape[0] % 2, a.shape[1] + a.shape[1] % 2
    padded = np.zeros((rows, cols) + a.shape[2:])
    padded[:a.shape[0], :a.shape[1]] = a
    return padded.reshape(rows // 2, 2, cols // 2, 2, *a.shape[2:]).sum(axis=(1, 3))


def _upsample(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return a.repeat(2, axis=0).repeat(2, axis=1)[:shape[0], :shape[1]]


def _block_means(sums: np.ndarray, weights: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean colour and mean weight per landed texel of each block (0 where none)."""
    colour = sums / np.where(weights > 0, weights, 1.0)[..., None]
    return colour, weights / np.where(counts > 0, counts, 1.0)


def blend_views(views: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean colour (S, S, 3) of several views' (colour_sum, weight), and the total weight."""
    colour_sum = sum(c for c, _ in views)
    weight = sum(w for _, w in views)
    return colour_sum / np.where(weight > 0, weight, 1.0)[..., None], weight


def fill_unseen(colour: np.ndarray, weight: np.ndarray, base_albedo: np.ndarray,
                coverage: np.ndarray) -> np.ndarray:
    """The painted colour where views see the skin well, the colour-matched base elsewhere.

    The blend factor ramps smoothly from the portrait down to 0 before the edge of the seen
    area (and where the skin turns away from every camera), so there is no hard seam.
    Returns float32 (S, S, 3) in [0, 1].
    """
    radius = max(2, round(weight.shape[0] * FEATHER_FRACTION))
    alpha = portrait_alpha(weight, coverage, radius)[..., None]
    base = np.asarray(base_albedo, np.float64) * colour_gain(colour, base_albedo, alpha[..., 0] > 0.5)
    return np.clip(alpha * colour + (1.0 - alpha) * base, 0.0, 1.0).astype(np.float32)


def portrait_alpha(weight: np.ndarray, coverage: np.ndarray, radius: int) -> np.ndarray:
    """How much of the painted colour each skin texel takes, 0..1; 0 off the skin islands.

    Only texels whose whole (2r+1)^2 neighbourhood on the islands is seen contribute, and
    their box blur over the islands is the blend factor: it is non-zero only on seen texels
    and changes by about 1/(2r+1) per texel.
    """
    on_island = coverage.astype(np.float64)
    unseen = on_island * (weight <= 0)
    core = (_box_sum(unseen, radius) == 0) & (weight > 0)
    strength = np.where(core, np.clip(weight / FULL_WEIGHT, 0.0, 1.0), 0.0)
    alpha = _box_sum(strength, radius) / np.maximum(_box_sum(on_island, radius), 1.0)
    return np.where(coverage, np.minimum(alpha, 1.0), 0.0)


def colour_gain(colour: np.ndarray, base_albedo: np.ndarray, overlap: np.ndarray) -> np.ndarray:
    """Per-channel gain that makes the base's colour match the portrait's over `overlap`.

    The median log ratio is robust to what the base and the portrait draw differently
    (brows, lips, baked-in shading). 1 where there is no overlap.
    """
    if not overlap.any():
        return np.ones(3)
    log_ratio = np.log(np.maximum(colour[overlap], LOG_FLOOR)) - np.log(np.maximum(base_albedo[overlap], LOG_FLOOR))
    return np.clip(np.exp(np.median(log_ratio, axis=0)), *GAIN_LIMITS)


def _box_sum(values: np.ndarray, radius: int) -> np.ndarray:
    """Sum over the (2r+1) x (2r+1) window around each element of the first two axes (zeros outside)."""
    out = np.asarray(values, np.float64)
    for axis in (0, 1):
        moved = np.moveaxis(out, axis, 0)
        pad = np.zeros((radius,) + moved.shape[1:])
        running = np.cumsum(np.concatenate([pad, np.zeros((1,) + moved.shape[1:]), moved, pad]), axis=0)
        out = np.moveaxis(running[2 * radius + 1:] - running[:-2 * radius - 1], 0, axis)
    return out

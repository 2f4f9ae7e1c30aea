"""Heat in [0, 1] from colourised heatmaps: the colour ramps both dataset layouts use, and their inverse.

"hot": matplotlib's hot (black -> red -> yellow -> white), what the 3DPain release's heatmaps look
like (the release does not name its map). "jet": Pain3D's heatmaps_color
(pain3d.heatmap.HEAT_COLOR_STOPS), linear stops that the Standard view transform stores sRGB-encoded.
"""

from __future__ import annotations

import numpy as np

from pain3d.colour import linear_to_srgb
from pain3d.heatmap import HEAT_COLOR_STOPS


def _ramp_table(stops: list[tuple[float, tuple[float, float, float]]], encode: bool) -> np.ndarray:
    """(256, 3) colours of heat 0..1 in 256 steps, interpolated between stops; `encode`: linear -> sRGB."""
    heat = np.linspace(0, 1, 256)
    pos = [p for p, _ in stops]
    table = np.stack([np.interp(heat, pos, [c[i] for _, c in stops]) for i in range(3)], axis=1)
    return linear_to_srgb(table) if encode else table


COLOR_RAMPS = {  # name -> (256, 3) sRGB colours of heat 0..1
    "hot": _ramp_table([(0.0, (0, 0, 0)), (0.365, (1, 0, 0)), (0.746, (1, 1, 0)), (1.0, (1, 1, 1))], False),
    "jet": _ramp_table(HEAT_COLOR_STOPS, True),
}
HEATMAP_COLORMAPS = tuple(COLOR_RAMPS)


def heat_from_rgb(rgb: np.ndarray, colormap: str) -> np.ndarray:
    """Heat in [0, 1] of a colourised heatmap (H, W, 3 uint8): each colour's nearest ramp entry."""
    table = COLOR_RAMPS[colormap]
    packed = rgb.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    colours, inverse = np.unique(packed, return_inverse=True)  # few distinct colours: match only those
    unique_rgb = np.stack([(colours >> s) & 255 for s in (16, 8, 0)], axis=1) / 255.0
    nearest = np.argmin(((unique_rgb[:, None, :] - table[None]) ** 2).sum(-1), axis=1)
    return (nearest / 255.0)[inverse].reshape(rgb.shape[:2]).astype(np.float32)

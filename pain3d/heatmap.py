"""Pain-region heatmaps: how far each vertex moved from the neutral face (docs/heatmaps.md).

Per vertex, heat = clip(|pain position - neutral position| / (HEAT_FULL_SCALE x IOD), 0, 1),
where IOD is the identity's inter-ocular distance (eye centre to eye centre). A fixed,
identity-relative scale keeps heat comparable across images: a stronger expression is hotter,
and neutral is exactly 0. The renderer interpolates the vertex heat over the visible surface
(an AOV of the same render), so the heatmap lines up with the RGB pixel for pixel.
"""

from __future__ import annotations

import numpy as np

HEAT_FULL_SCALE = 0.08  # displacement of 8% of the IOD (about 5 mm) is full heat


def vertex_heat(neutral: np.ndarray, posed: np.ndarray, iod: float) -> np.ndarray:
    """(V,) heat in [0, 1] from neutral and expression vertex positions (V, 3)."""
    moved = np.linalg.norm(np.asarray(posed, float) - np.asarray(neutral, float), axis=1)
    return np.clip(moved / (HEAT_FULL_SCALE * iod), 0.0, 1.0)



# Colours of the colourised heatmaps (heatmaps_color): black at no heat, then blue -> cyan ->
# yellow -> red, like the 3DPain heatmaps. (heat, linear RGB) stops; the renderer interpolates
# them linearly and the Standard view transform stores them sRGB-encoded.
HEAT_COLOR_STOPS: tuple[tuple[float, tuple[float, float, float]], ...] = (
    (0.0, (0, 0, 0)), (0.002, (0, 0, 0.5)), (0.25, (0, 0.3, 1)), (0.5, (0, 1, 1)), (0.75, (1, 1, 0)), (1.0, (1, 0, 0)))

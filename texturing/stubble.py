"""Stubble: patchy growth over the beard zone, drawn from noise rather than as strokes (the stubs
are too short and too many to draw one by one)."""

from __future__ import annotations

import numpy as np

from .noise import Noise, octave_fade
from .surface import MM, Surface


def stubble(s: Surface, look: dict, noise: Noise, shadow: np.ndarray, stubs: np.ndarray) -> None:
    """Stubble in the beard zone: a shadow of hair under the skin and the stubs (follicle dots).
    Growth is patchy at the zone's edges (two noise octaves), so the beard has no drawn outline."""
    zone = s.fields["beard"]
    where = np.flatnonzero(zone > 0.01)
    foot = s.foot.ravel()[where]
    points = s.flat_points[:, where]
    patchy = 0.65 * noise.octave(points, 8 * MM, 8) + 0.35 * noise.octave(points, 3 * MM, 9)
    growth = np.clip(1.25 * zone.flat[where] - 0.9 * (1.0 - patchy), 0.0, 1.0)
    growth = growth * growth * (3.0 - 2.0 * growth)
    follicles = noise.octave(points, 0.7 * MM, 7)
    dots = np.clip((follicles - 0.62 + 0.12 * look["stubble_density"]) / 0.1, 0.0, 1.0)
    fade = octave_fade(0.7 * MM, foot)
    dots = fade * dots + (1.0 - fade) * 0.3 * look["stubble_density"]  # unresolved dots: their mean cover
    shadow.flat[where] = 0.25 * growth
    stubs.flat[where] = growth * 0.6 * look["stubble_length"] * dots

"""Skin tone colours on the Monk Skin Tone scale (pure numpy).

The swatches live in assets/demographics.toml; a continuous tone (1.0-10.0) interpolates
between neighbouring swatches in linear light, so tones blend as light does.
"""

from __future__ import annotations

import numpy as np

from .jobs import demographics


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, float), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def monk_swatches_linear() -> np.ndarray:
    """(10, 3) linear-light RGB of MST 1..10."""
    rgb = [[int(h[i:i + 2], 16) / 255.0 for i in (0, 2, 4)] for h in demographics()["monk_swatches"]]
    return srgb_to_linear(np.array(rgb))


def skin_tone_rgb(tone: float) -> np.ndarray:
    """Linear-light RGB of a continuous Monk tone (clamped to 1..10)."""
    swatches = monk_swatches_linear()
    x = float(np.clip(tone, 1.0, 10.0)) - 1.0
    lo = int(np.floor(x))
    hi = min(lo + 1, len(swatches) - 1)
    t = x - lo
    return (1 - t) * swatches[lo] + t * swatches[hi]

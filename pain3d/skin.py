"""Skin tone colours on the Monk Skin Tone scale (pure numpy).

The swatches live in assets/demographics.toml; a continuous tone (1.0-10.0) interpolates
between neighbouring swatches in linear light, so tones blend as light does.
"""

from __future__ import annotations

import numpy as np

from .colour import srgb_to_linear
from .jobs import demographics


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

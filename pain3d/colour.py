"""sRGB transfer functions (IEC 61966-2-1) and luminance weights, the one definition every layer uses."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luminance of linear RGB


def srgb_to_linear(c) -> np.ndarray:
    """Linear light of sRGB-encoded values in [0, 1]."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c) -> np.ndarray:
    """sRGB encoding of linear values, clipped to [0, 1]."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def hex_to_rgb(code: str) -> np.ndarray:
    """sRGB 0..1 of a hex colour such as "1c1c1f" (the asset tables' colours)."""
    return np.array([int(code[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])

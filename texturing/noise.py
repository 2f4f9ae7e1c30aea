"""Seam-free 3-D value noise, and the skin's noise fields (blotches, mottling, pores).

Noise is sampled at each texel's position on the neutral head rather than in UV, so it runs on
across the UV islands' seams and keeps its size in millimetres wherever the layout stretches.
Octaves finer than about three texels fade out (no aliasing on the compressed back of the head,
nor at small sizes).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .surface import MM, Surface, fill_gaps

LATTICE = 64  # value-noise lattice period (cells), randomly rotated per octave


class Noise:
    """Seeded 3-D value noise: a random lattice, randomly rotated and shifted for each octave."""

    def __init__(self, rng: np.random.Generator, frames: int = 16) -> None:
        self.table = rng.random(LATTICE ** 3, dtype=np.float32)
        self.rotations = np.array([np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(frames)], np.float32)
        self.offsets = rng.uniform(0, LATTICE, (frames, 3)).astype(np.float32)

    def octave(self, points: np.ndarray, wavelength: float, frame: int) -> np.ndarray:
        """Noise in [0, 1] with features `wavelength` apart, at (3, N) points (metres)."""
        q = (self.rotations[frame] / np.float32(wavelength)) @ points + self.offsets[frame][:, None]
        cells = np.floor(q)
        f = q - cells
        f *= f * (3.0 - 2.0 * f)
        lo = cells.astype(np.int32) & (LATTICE - 1)
        hi = (lo + 1) & (LATTICE - 1)
        xl, xh = lo[0] * LATTICE * LATTICE, hi[0] * LATTICE * LATTICE
        yl, yh = lo[1] * LATTICE, hi[1] * LATTICE
        t = self.table
        corners = []
        for z in (lo[2], hi[2]):
            for y in (yl, yh):
                a = t[xl + y + z]
                a += (t[xh + y + z] - a) * f[0]
                corners.append(a)
        c0 = corners[0] + (corners[1] - corners[0]) * f[1]
        c1 = corners[2] + (corners[3] - corners[2]) * f[1]
        return c0 + (c1 - c0) * f[2]


def octave_fade(wavelength: float, foot: np.ndarray) -> np.ndarray:
    """1 where features `wavelength` apart span 4+ texels, 0 below 2 (they would alias)."""
    return np.clip(wavelength / foot * 0.5 - 1.0, 0.0, 1.0)


def skin_noise(s: Surface, noise: Noise) -> dict[str, np.ndarray]:
    """Texture noise over the whole layout: coarse blotches, mid mottling and pores (pits)."""
    blotch = 2.0 * (0.6 * _coarse_octave(s, noise, 35 * MM, 0) + 0.4 * _coarse_octave(s, noise, 14 * MM, 1)) - 1.0
    (mid5, fade5), (mid2, fade2) = _octave(s, noise, 5 * MM, 2), _octave(s, noise, 2.2 * MM, 3)
    (pore9, fade9), (pore5, fade5b) = _octave(s, noise, 0.9 * MM, 4), _octave(s, noise, 0.55 * MM, 5)
    pores = np.clip((pore9 - 0.6) / 0.2, 0.0, 1.0) * fade9 + 0.6 * np.clip((pore5 - 0.62) / 0.2, 0.0, 1.0) * fade5b
    return {"blotch": blotch, "mid": (2.0 * mid5 - 1.0) * fade5 + (mid2 - 0.5) * fade2,
            "pores": pores * s.fields["pores"], "breakup": _coarse_octave(s, noise, 12 * MM, 6)}


def _octave(s: Surface, noise: Noise, wavelength: float, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """An octave's values (0.5 where unresolved) and fade, evaluated only where the texels resolve it."""
    fade = octave_fade(wavelength, s.foot)
    where = np.flatnonzero(fade)
    out = np.full(fade.size, 0.5, np.float32)
    out[where] = noise.octave(s.flat_points[:, where], wavelength, frame)
    return out.reshape(fade.shape), fade


def _coarse_octave(s: Surface, noise: Noise, wavelength: float, frame: int, step: int = 4) -> np.ndarray:
    """A smooth octave sampled on every `step`-th texel and resized up (bilinear) to full size."""
    sub = (slice(step // 2, None, step),) * 2
    low = noise.octave(s.points(sub), wavelength, frame).reshape(s.x[sub].shape)
    low = 0.5 + (low - 0.5) * octave_fade(wavelength, step * s.foot[sub])
    low = fill_gaps(low[None], s.covered[sub])[0]  # so resizing does not blend in the gaps' garbage
    return np.asarray(Image.fromarray(low, "F").resize((s.size, s.size), Image.BILINEAR))

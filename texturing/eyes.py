"""The eyeball texture: iris (fibres, collarette, crypts, limbal ring), pupil and veined sclera.

Drawn in the eyeball UV layout, which is polar: the texel at radius r from the centre lies at
polar angle 2 pi r from the front pole. Both eyes share the map.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pain3d.head.topology import IRIS_ANGLE, PUPIL_ANGLE
from pain3d.identity import SCLERA_CORNER_RGB, SCLERA_RGB

from .look import SUB_EYES, stream
from .noise import Noise

EYE_SIZE = 512


def eye_texture(look: dict, seed: int, size: int = EYE_SIZE) -> np.ndarray:
    """(E, E, 3) eyeball albedo in the eyeball UV layout (polar: radius 0.5 <-> pi from the front pole),
    not yet rolled into the albedo range."""
    rng = stream(seed, SUB_EYES)
    c = (np.arange(size) + 0.5) / size
    du, dv = c[None, :] - 0.5, (1.0 - c)[:, None] - 0.5
    angle = (2.0 * np.pi * np.hypot(du, dv)).astype(np.float32)  # polar angle of the texel
    lon = np.arctan2(dv, du).astype(np.float32)
    iris = _iris(angle, lon, look, rng)
    sclera = _sclera(angle, lon, look, rng, size)
    edge = np.clip((angle - IRIS_ANGLE) / 0.02 + 0.5, 0.0, 1.0)[..., None]
    return iris * (1.0 - edge) + sclera * edge


def _iris(angle: np.ndarray, lon: np.ndarray, look: dict, rng: np.random.Generator) -> np.ndarray:
    """Iris colour with radial fibres, a collarette, crypts, a dark limbal ring and the pupil."""
    noise = Noise(rng, frames=4)
    rho = np.clip((angle - PUPIL_ANGLE) / (IRIS_ANGLE - PUPIL_ANGLE), 0.0, 1.0)
    # lattice units: ~190 cells around the iris, ~3 across it, so features are long radial fibres
    ring = np.stack([np.cos(lon) * 0.06, np.sin(lon) * 0.06, rho * 0.006]).reshape(3, -1)
    fibres = (noise.octave(ring, 0.002, 0) + 0.5 * noise.octave(ring, 0.001, 1)).reshape(angle.shape) / 1.5
    crypts = noise.octave(np.stack([np.cos(lon) * rho, np.sin(lon) * rho, rho]).reshape(3, -1) * 0.06, 0.008,
                          2).reshape(angle.shape)
    collarette = np.exp(-(((rho - rng.uniform(0.3, 0.42)) / 0.06) ** 2))
    inner = np.asarray(look["iris_rgb"]) * np.array(rng.uniform([1.0, 0.8, 0.5], [1.6, 1.1, 0.9]))
    mix = np.clip(1.0 - rho / 0.4, 0.0, 1.0)[..., None]  # the pupillary zone often has its own, warmer tint
    colour = (1 - mix) * np.asarray(look["iris_rgb"]) + mix * inner
    shade = np.exp(1.2 * (fibres - 0.5) + 0.3 * collarette - 0.6 * np.clip(crypts - 0.55, 0, 1) / 0.45
                   - 1.4 * np.clip((rho - 0.8) / 0.2, 0, 1) ** 2)
    out = colour * shade[..., None]
    pupil = np.clip((PUPIL_ANGLE - angle) / 0.015 + 0.5, 0.0, 1.0)[..., None]
    return out * (1.0 - pupil) + 0.004 * pupil


def _sclera(angle: np.ndarray, lon: np.ndarray, look: dict, rng: np.random.Generator, size: int) -> np.ndarray:
    """The built-in sclera's colours (yellower with age), pinker and darker toward the corners, with
    faint branching veins."""
    yellowing = np.exp([0.0, -0.02, -0.08] * np.asarray(look["ageing"]))
    corners = (0.8 * np.abs(np.cos(lon)) ** 4 * np.clip((angle - 0.7) / 0.6, 0.0, 1.0))[..., None]
    out = ((1.0 - corners) * np.asarray(SCLERA_RGB) + corners * np.asarray(SCLERA_CORNER_RGB)) * yellowing
    veins = Image.new("L", (size, size))
    draw = ImageDraw.Draw(veins)
    for _ in range(int(rng.integers(10, 20))):
        _vein(draw, rng, size)
    alpha = np.asarray(veins.filter(ImageFilter.GaussianBlur(0.6)), np.float32)[..., None] / 255.0
    return out + (np.array([0.45, 0.06, 0.05]) - out) * alpha * 0.3


def _vein(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int) -> None:
    """A wandering vessel from deep in the corner of the eye toward the limbus, with a branch."""
    lon = rng.choice([0.0, np.pi]) + rng.normal(0, 0.5)
    angle = rng.uniform(1.0, 1.4)
    points = []
    while angle > IRIS_ANGLE + 0.06:
        r = angle / (2 * np.pi) * size
        points.append((size / 2 + r * np.cos(lon), size / 2 - r * np.sin(lon)))
        angle -= rng.uniform(0.04, 0.08)
        lon += rng.normal(0, 0.03)
    if len(points) > 1:
        draw.line(points, fill=int(rng.integers(90, 200)), width=1)
        k = int(rng.integers(0, len(points) - 1))
        tip = np.array(points[k]) + rng.normal(0, size * 0.02, 2)
        draw.line([points[k], tuple(tip)], fill=int(rng.integers(60, 140)), width=1)

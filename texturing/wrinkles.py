"""Skin relief: pores, mottling and age lines as a height field, and the normal map it gives.

Each wrinkle family is carved over the bounding box of its region field only; grooves are
pre-filtered to at least about a texel wide so they do not alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pain3d.head.surface import smoothstep

from .look import SUB_WRINKLES, stream
from .surface import MM, Surface, support

Box = tuple[slice, slice]  # rows and columns of a region field's bounding box


def height(s: Surface, look: dict, noise: dict, seed: int) -> np.ndarray:
    """(S, S) skin relief in metres (negative = into the skin): pores, mottling, age lines."""
    h = -0.03 * MM * look["pores"] * noise["pores"] + 0.012 * MM * noise["mid"]
    lines = _Wrinkles(s, h, look["wrinkle_depth"] * MM, look["ageing"], noise["breakup"])
    rng = stream(seed, SUB_WRINKLES)
    for family in (_forehead_lines, _glabella_lines, _crows_feet, _under_eye_lines, _nasolabial_fold,
                   _perioral_lines, _neck_lines, _lip_lines):
        family(lines, rng)
    return h - look["lid_fold_depth_mm"] * MM * lid_fold(s, look)


@dataclass
class _Wrinkles:
    """Carves line families into a height field, each over the bounding box of its region field."""

    s: Surface
    h: np.ndarray
    depth: float  # metres, the deepest forehead line's scale; grows with age
    ageing: float  # look["ageing"]: older faces have more lines, wider as well as deeper
    breakup: np.ndarray  # coarse noise in [0, 1]: bends lines and breaks them into segments

    def carve(self, name: str, profile: Callable[[Box], np.ndarray]) -> None:
        """h -= region field x profile(box), profile being the groove depth in metres over the box."""
        mask = self.s.fields[name]
        box = support(mask > 0.02)
        if box is not None:
            self.h[box] -= mask[box] * profile(box)

    def groove(self, distance: np.ndarray, sigma: float, box: Box) -> np.ndarray:
        """Gaussian groove profile (1 at the centre) at `distance` (m) from a line, widened to at
        least ~a texel with its depth scaled so the cross-section keeps its area (pre-filtered)."""
        return _groove(distance, sigma, self.ageing, self.s.foot[box])

    def segments(self, box: Box, threshold: float) -> np.ndarray:
        """0/1 (soft) pieces of line: where the breakup noise is above a threshold."""
        return np.clip((self.breakup[box] - threshold) / 0.2, 0.0, 1.0)


def _groove(distance: np.ndarray, sigma: float, ageing: float, foot: np.ndarray) -> np.ndarray:
    """Gaussian groove (1 at the centre), wider with age and at least ~a texel (`foot`, metres)
    wide, its depth scaled so the cross-section keeps its area."""
    sigma = sigma * (1.0 + 0.8 * ageing)
    wide = np.sqrt(sigma ** 2 + (0.7 * foot) ** 2)
    return np.exp(-0.5 * (distance / wide) ** 2) * (sigma / wide)


def _periodic(phase: np.ndarray, spacing: float) -> np.ndarray:
    """Distance (same units as phase) to the nearest of lines `spacing` apart."""
    return np.abs(np.mod(phase / spacing + 0.5, 1.0) - 0.5) * spacing


def _either_side(x: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per texel, the left-side (x >= 0) or right-side landmark position."""
    return np.where(x[..., None] >= 0, left, right)


def _line_set(rng: np.random.Generator, count: int, first: float, spacing: float) -> list[tuple[float, float, float]]:
    """`count` lines (offset, depth weight, half length in metres) at irregular spacings: creases of
    skin are a few distinct lines of unequal depth and length, not a ruled pattern."""
    out, offset = [], first
    for k in range(count):
        out.append((offset, rng.uniform(0.5, 1.0) * (1.0 - 0.12 * k), rng.uniform(0.030, 0.052)))
        offset += spacing * rng.uniform(0.8, 1.25)
    return out


def _draw_lines(w: _Wrinkles, box: Box, phase: np.ndarray, lines: list[tuple[float, float, float]],
                sigma: float) -> np.ndarray:
    """Sum of grooves (1 at the centre, times each line's weight) along `phase` = each line's offset,
    each fading out over its last 10 mm either side of the midline."""
    x = np.abs(w.s.x[box])
    return sum(weight * w.groove(np.abs(phase - offset), sigma, box) * (1.0 - smoothstep(half - 0.010, half, x))
               for offset, weight, half in lines)


def _forehead_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Horizontal, gently curved and wavy lines across the forehead, in broken segments: 2-4, one
    more from about 34 and two from about 62, the lowest 12-20 mm above the brows, the upper ones
    shallower."""
    spacing, wave, curve = rng.uniform(8.5, 12.0) * MM, rng.uniform(0.8, 2.0) * MM, rng.uniform(-3.0, 5.0)
    count = int(rng.integers(2, 5)) + int(round(2.0 * min(w.ageing, 1.0)))
    lines = _line_set(rng, count, rng.uniform(12.0, 20.0) * MM, spacing)
    s = w.s

    def profile(box):
        phase = s.z[box] - s.head.params.z_brow + curve * s.x[box] ** 2 + wave * 2 * (w.breakup[box] - 0.5)
        return 0.5 * w.depth * _draw_lines(w, box, phase, lines, 0.4 * MM) * w.segments(box, 0.25)
    w.carve("forehead", profile)


def _glabella_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """The vertical "11" lines either side of the midline between the brows."""
    offsets = rng.uniform(3.0, 5.0, 2) * MM

    def profile(box):
        x = w.s.x[box]
        return 0.4 * w.depth * w.groove(np.where(x > 0, x - offsets[1], -x - offsets[0]), 0.4 * MM, box)
    w.carve("glabella", profile)


def _crows_feet(w: _Wrinkles, rng: np.random.Generator) -> None:
    """A fan of a few lines from the outer eye corner, within ~40 degrees of the horizontal."""
    spacing, tilt = np.radians(rng.uniform(12.0, 17.0)), np.radians(rng.uniform(-8.0, 8.0))
    s, lm = w.s, w.s.head.landmarks

    def profile(box):
        x, z = s.x[box], s.z[box]
        corner = _either_side(x, lm["exocanthion_L"], lm["exocanthion_R"])
        dx, dz = np.abs(x) - np.abs(corner[..., 0]), z - corner[..., 2]
        r = np.hypot(dx, dz)
        angle = np.arctan2(dz, dx) - tilt + 0.25 * (w.breakup[box] - 0.5)
        fan = np.clip((0.75 - np.abs(angle)) / 0.2, 0.0, 1.0) * np.clip((r - 3 * MM) / (3 * MM), 0.0, 1.0)
        lines = w.groove(_periodic(angle + spacing / 2, spacing) * r, 0.35 * MM, box)
        return 0.4 * w.depth * lines * fan * w.segments(box, 0.2)
    w.carve("crows", profile)


def lid_fold(s: Surface, look: dict) -> np.ndarray:
    """(S, S) in [0, 1]: the upper lid's fold, where the skin above tucks in over the pretarsal
    strip: a crease `lid_fold_mm` above the lash line's skin edge (none on a single eyelid), nearer
    the margin toward the nose on a tapered (East Asian) lid; pre-filtered like the grooves."""
    out = np.zeros(s.covered.shape, np.float32)
    box = support(s.fields["upper_lid"] > 0.02)
    if look["lid_fold_depth_mm"] <= 0.0 or box is None:
        return out
    above = s.fields["above_margin"][box] - 0.001
    lateral = np.clip(np.abs(s.x[box]) / 0.034, 0.0, 1.0)  # ~0.6 at the inner canthus, 1 at the outer
    fold = look["lid_fold_mm"] * MM * (1.0 - look["lid_fold_taper"] * (1.0 - lateral) / 0.4)
    crease = _groove(above - fold, 0.45 * MM, look["ageing"], s.foot[box]) * (above > 0.0)
    out[box] = crease * s.fields["upper_lid"][box]
    return out


def _under_eye_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Arcs under the lower lid, concentric with the eye."""
    spacing = rng.uniform(2.5, 3.5) * MM
    s, lm = w.s, w.s.head.landmarks

    def profile(box):
        x, z = s.x[box], s.z[box]
        centre = _either_side(x, lm["eye_centre_L"], lm["eye_centre_R"])
        r = np.hypot((x - centre[..., 0]) / 1.6, z - centre[..., 2]) + 0.6 * MM * w.breakup[box]
        return 0.25 * w.depth * w.groove(_periodic(r, spacing), 0.3 * MM, box) * w.segments(box, 0.3)
    w.carve("under_eye", profile)


def _nasolabial_fold(w: _Wrinkles, rng: np.random.Generator) -> None:
    """A crease along the fold line, from beside the nose wing to past the mouth corner (the
    segment pain3d.head.regions draws the region about)."""
    strength, p = rng.uniform(0.4, 0.8), w.s.head.params
    a = np.array([p.nose_half_width + 0.0015, p.z_sn + 0.005])
    d = np.array([p.mouth_w + 0.008, p.z_sto - 0.009]) - a

    def profile(box):
        rel = np.stack([np.abs(w.s.x[box]) - a[0], w.s.z[box] - a[1]], -1)
        t = np.clip(rel @ d / (d @ d), 0.0, 1.0)
        return strength * w.depth * w.groove(np.linalg.norm(rel - t[..., None] * d, axis=-1), 0.8 * MM, box)
    w.carve("nasolabial", profile)


def _perioral_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Short vertical lines on the upper lip, only on the deeper-lined (older) faces."""
    spacing = rng.uniform(2.0, 3.0) * MM
    old = float(np.clip(w.depth / MM - 0.6, 0.0, 1.0))

    def profile(box):
        phase = w.s.x[box] + 1.5 * MM * (w.breakup[box] - 0.5)
        return 0.15 * old * w.depth * w.groove(_periodic(phase, spacing), 0.25 * MM, box) * w.segments(box, 0.3)
    w.carve("perioral", profile)


def _neck_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Wide horizontal creases across the front of the neck: one or two, up to four when old."""
    count = int(rng.integers(1, 3)) + int(round(2.0 * min(w.ageing, 1.0) * rng.uniform(0.5, 1.0)))
    lines = _line_set(rng, count, rng.uniform(22.0, 32.0) * MM, rng.uniform(13.0, 18.0) * MM)
    z_me = w.s.head.params.z_me

    def profile(box):
        phase = z_me - w.s.z[box] + 3 * MM * (w.breakup[box] - 0.5)
        return 0.5 * w.depth * _draw_lines(w, box, phase, lines, 0.7 * MM)
    w.carve("neck", profile)


def _lip_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Fine vertical striations of the vermilion (at every age)."""
    spacing = rng.uniform(1.0, 1.5) * MM

    def profile(box):
        phase = w.s.x[box] + 0.8 * MM * (w.breakup[box] - 0.5)
        return 0.03 * MM * w.groove(_periodic(phase, spacing), 0.15 * MM, box)
    w.carve("lips", profile)


def normal_map(height: np.ndarray, s: Surface) -> np.ndarray:
    """Tangent-space normals (OpenGL: +y = +v = image up) from the height field's slope on the surface."""
    h = height.astype(np.float32)
    du = np.zeros_like(h)
    dv = np.zeros_like(h)
    du[:, 1:-1] = (h[:, 2:] - h[:, :-2]) / (2.0 * s.fu[:, 1:-1])
    dv[1:-1] = (h[:-2] - h[2:]) / (2.0 * s.fv[1:-1])  # row 0 is v = 1: up is toward smaller rows
    inner = _eroded(s.covered)
    n = np.stack([-du * inner, -dv * inner, np.ones_like(h)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _eroded(mask: np.ndarray) -> np.ndarray:
    """Texels whose four neighbours are covered too (no slope across an island border)."""
    out = mask.copy()
    out[1:] &= mask[:-1]
    out[:-1] &= mask[1:]
    out[:, 1:] &= mask[:, :-1]
    out[:, :-1] &= mask[:, 1:]
    return out

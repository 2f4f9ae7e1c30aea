"""Eyebrows and lashes as hair strokes: Pillow lines rooted on the skin, painted into coverage maps.

Strokes are laid out in millimetres on the surface and converted to texels at their roots, so
hairs keep their real length and width however the UV layout stretches.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from pain3d.head.topology import RingPatch

from .surface import MM, Surface, sample_texels

# A stroke: (points (K, 2) in texel pixels, width in texels, opacity 0..1).
Stroke = tuple[np.ndarray, float, float]
SUPERSAMPLE = 4


def paint(target: np.ndarray, strokes: list[Stroke]) -> None:
    """Draw strokes (union coverage, anti-aliased by supersampling) into `target` over their bounding box."""
    if not strokes:
        return
    pts = np.vstack([p for p, _, _ in strokes])
    size = target.shape[0]
    c0, r0 = np.clip(np.floor(pts.min(0)) - 2, 0, size).astype(int)
    c1, r1 = np.clip(np.ceil(pts.max(0)) + 2, 0, size).astype(int)
    if c1 <= c0 or r1 <= r0:
        return
    canvas = Image.new("L", ((c1 - c0) * SUPERSAMPLE, (r1 - r0) * SUPERSAMPLE))
    draw = ImageDraw.Draw(canvas)
    for points, width, opacity in strokes:
        xy = ((points - [c0, r0]) * SUPERSAMPLE).ravel().tolist()
        draw.line(xy, fill=int(255 * opacity), width=max(1, int(round(width * SUPERSAMPLE))), joint="curve")
    cover = np.asarray(canvas.reduce(SUPERSAMPLE), np.float32) / 255.0
    window = target[r0:r1, c0:c1]
    np.maximum(window, cover, out=window)


def _root_scale(s: Surface, roots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per texel along u and v at root pixels."""
    col = np.clip(roots[:, 0].astype(int), 0, s.size - 1)
    row = np.clip(roots[:, 1].astype(int), 0, s.size - 1)
    return s.fu[row, col], s.fv[row, col]


def _metric_angle(s: Surface, roots: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Direction (radians, u right / v up, on the surface) of pixel offsets at the roots."""
    fu, fv = _root_scale(s, roots)
    return np.arctan2(-offsets[:, 1] * fv, offsets[:, 0] * fu)


def _curved_strokes(s: Surface, roots: np.ndarray, angle: np.ndarray, length: np.ndarray,
                    bend: np.ndarray, width_mm: np.ndarray, opacity: np.ndarray) -> list[Stroke]:
    """Hairs from roots (pixels) along surface directions `angle`, `length` metres long, curling
    sideways by `bend` (fraction of the length, + = counter-clockwise) toward the tip."""
    steps = np.linspace(0.0, 1.0, 5)[None, :, None]
    d = np.stack([np.cos(angle), np.sin(angle)], 1)[:, None]
    n = np.stack([-np.sin(angle), np.cos(angle)], 1)[:, None]
    metric = (steps * d + bend[:, None, None] * steps ** 2 * n) * length[:, None, None]
    fu, fv = _root_scale(s, roots)
    points = roots[:, None] + np.stack([metric[..., 0] / fu[:, None], -metric[..., 1] / fv[:, None]], -1)
    return list(zip(points, width_mm * MM / np.maximum(fu, fv), opacity))


def _jitter(texels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Flat texel indices -> random pixel positions inside those texels."""
    rows, cols = np.divmod(texels, size)
    return np.stack([cols + rng.random(len(texels)), rows + rng.random(len(texels))], 1)


def brow_strokes(s: Surface, line: np.ndarray, look: dict, rng: np.random.Generator) -> list[Stroke]:
    """Eyebrow hairs rooted in the brow band: rising at the head, lying laterally along the body,
    dipping at the tail; hairs above the brow's line slope down onto those below it."""
    band = s.fields["brows"]
    side = np.sign(line[-1, 0] - line[0, 0])  # +1: the brow runs medial -> lateral toward +u
    weight = band * ((np.arange(s.size) + 0.5 - s.size / 2) * side > 0)[None, :]
    area = float((weight * s.fu * s.fv).sum()) / MM ** 2
    count = int(min(2000, rng.poisson(look["brow_density"] * area)))
    roots = _jitter(sample_texels(s, weight * (band > 0.35), count, rng), s.size, rng)
    t, tangent, below = _along(line, roots)
    rise = np.interp(t, [0.0, 0.2, 0.7, 1.0], [70.0, 22.0, 8.0, -12.0]) + rng.normal(0, 9, count)
    rise -= 20.0 * np.clip(-below * _root_scale(s, roots)[1] / (2.5 * MM), -1.0, 1.0)
    angle = _metric_angle(s, roots, tangent) + side * np.radians(rise)
    length = look["brow_length_mm"] * MM * rng.uniform(0.6, 1.1, count) * (1.0 - 0.35 * t)
    strokes = _curved_strokes(s, roots, angle, length, -side * rng.uniform(0.05, 0.3, count),
                              rng.uniform(0.10, 0.18, count), rng.uniform(0.7, 1.0, count))
    keep = rng.random(count) < 1.0 - 0.65 * np.clip((t - 0.55) / 0.45, 0.0, 1.0)  # a sparser tail
    return [stroke for stroke, k in zip(strokes, keep) if k]


def _along(line: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arc-length parameter (0..1), unit tangent (pixels) and signed pixel distance (+ = below, in
    the image) of each point's nearest spot on a polyline."""
    a, d = line[:-1], line[1:] - line[:-1]
    seg = np.linalg.norm(d, axis=1)
    u = np.clip(((points[:, None] - a[None]) * d).sum(2) / seg ** 2, 0.0, 1.0)
    near = a[None] + u[..., None] * d[None]
    k = np.linalg.norm(points[:, None] - near, axis=2).argmin(1)
    pick = np.arange(len(k))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    tangent = d[k] / seg[k, None]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1) * np.sign(tangent[:, :1] + 1e-9)
    below = ((points - near[pick, k]) * normal).sum(1)
    return (cum[k] + u[pick, k] * seg[k]) / cum[-1], tangent, below


def lash_strokes(s: Surface, patch: RingPatch, look: dict, rng: np.random.Generator) -> list[Stroke]:
    """The lash line along the lid margin's front edge (ring 2), and lashes rooted on it pointing
    away from the eye and sweeping toward the lateral corner: upper long and dense, lower short."""
    ring, psi = s.pixels[patch.rings[2]], np.asarray(patch.psi)
    centre = ring.mean(0)
    lateral = np.sign(centre[0] - s.size / 2)  # +1: the lateral corner is toward +u
    foot = s.foot[int(centre[1]), int(centre[0])]
    strokes = [(_ring_point(ring, psi, np.linspace(0.0, 2 * np.pi, 65)), 0.22 * MM / foot, 0.55),
               (_ring_point(ring, psi, np.linspace(0.15, np.pi - 0.15, 25)), 0.45 * MM / foot, 0.75)]
    for sign, count, length in ((1, look["lash_count"], look["lash_length_mm"]),
                                (-1, look["lash_count"] // 2, 0.45 * look["lash_length_mm"])):
        at = rng.uniform(-0.85, 0.9, count)  # -1 medial corner .. +1 lateral corner
        where = sign * (np.pi / 2 - lateral * at * np.pi / 2)
        roots = _ring_point(ring, psi, where)
        tangent = _ring_point(ring, psi, where + 0.05) - _ring_point(ring, psi, where - 0.05)
        out = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
        out *= np.sign(((roots - centre) * out).sum(1, keepdims=True))  # away from the eye
        sweep = -lateral * sign * 25.0 * np.clip(at, 0.0, 1.0) + rng.normal(0, 6, count)
        angle = _metric_angle(s, roots, out) + np.radians(sweep)
        lens = length * MM * (1.0 - 0.45 * at ** 2) * rng.uniform(0.75, 1.15, count)
        strokes += _curved_strokes(s, roots, angle, lens, -lateral * sign * rng.uniform(0.1, 0.35, count),
                                   rng.uniform(0.08, 0.14, count), rng.uniform(0.6, 1.0, count))
    return strokes


def _ring_point(ring: np.ndarray, psi: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Points on a closed ring (pixels) at polar angles `at`, interpolating between its vertices."""
    order = np.argsort(psi)
    p = np.concatenate([psi[order] - 2 * np.pi, psi[order], psi[order] + 2 * np.pi])
    xy = np.vstack([ring[order]] * 3)
    at = np.mod(at, 2 * np.pi)
    return np.stack([np.interp(at, p, xy[:, 0]), np.interp(at, p, xy[:, 1])], 1)

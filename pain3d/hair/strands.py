"""Strand shaping shared by every kind of hair (pure numpy): growth along a flow with gravity
and collision, level cuts, curls, waves, clumps and frizz.

A strand set is (N, K, 3) points: N strands of K points each, point 0 the root on the skin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .surface import HeadVolume, Roots, _unit

DOWN = np.array([0.0, 0.0, -1.0])
SKIN_MARGIN = 0.0005  # every point but the root stays this far outside the skin


@dataclass
class StrandSet:
    """One kind of hair of one head, ready for Blender's hair curves."""

    kind: str  # scalp | brows | lashes | beard
    points: np.ndarray  # (N, K, 3) float32, metres, head frame
    radius: np.ndarray  # (N, K) float32, metres
    roots: Roots
    grey: np.ndarray  # (N,) 1.0 for a grey (unpigmented) strand

    def __len__(self) -> int:
        return len(self.points)

    @staticmethod
    def empty(kind: str) -> "StrandSet":
        z = np.zeros((0, 3))
        return StrandSet(kind, np.zeros((0, 2, 3), np.float32), np.zeros((0, 2), np.float32),
                         Roots(np.zeros(0, int), z, z, z, np.zeros((0, 2))), np.zeros(0, np.float32))


def tangent(vectors: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Unit projections of vectors onto the planes with these normals."""
    t = vectors - (vectors * normals).sum(1, keepdims=True) * normals
    return _unit(t)


def grow(volume: HeadVolume, roots: Roots, flow: np.ndarray, lift: np.ndarray, length: np.ndarray,
         points: int, gravity: float, layer: np.ndarray, steer=None, keep_out=None) -> np.ndarray:
    """Grow strands from their roots: leave the skin at `lift` (0 flat .. 1 along the normal)
    toward `flow`, bend under `gravity` (per cm of length), stay `layer` + SKIN_MARGIN outside the
    skin (the layer builds up over the first 1.5 cm, giving long hair its volume). `steer(k, p, d)`
    may replace directions step by step (gathers, rows); `keep_out(p)` moves points out of a
    region hair must not enter (the front of the face)."""
    n = len(roots)
    out = np.zeros((n, points, 3))
    out[:, 0] = roots.position
    lift = np.broadcast_to(np.asarray(lift, float), (n,))[:, None]
    d = _unit(lift * roots.normal + (1.0 - lift) * flow)
    seg = (np.asarray(length, float) / (points - 1))[:, None]
    walked = np.zeros(n)
    for k in range(1, points):
        d = _unit(d + gravity * (seg * 100.0) * DOWN)
        if steer is not None:
            d = steer(k, out[:, k - 1], d)
        p = out[:, k - 1] + d * seg
        walked += seg[:, 0]
        margin = SKIN_MARGIN + layer * np.clip(walked / 0.015, 0.0, 1.0)
        p = volume.push_out(p, margin, exact=False)  # the step length is kept next: `finish` is exact
        if keep_out is not None:
            p = keep_out(p)
        d = _unit(p - out[:, k - 1])
        out[:, k] = out[:, k - 1] + d * seg  # keep the step length after the push
    return out


def cut_below(strands: np.ndarray, z_cut: float | np.ndarray) -> np.ndarray:
    """Strands that reach below z_cut end there (a level cut), resampled to the same K points."""
    n, k, _ = strands.shape
    z_cut = np.broadcast_to(np.asarray(z_cut, float), (n,))
    below = strands[:, :, 2] < z_cut[:, None]
    below[:, 0] = False
    cut = below.any(1)
    if not cut.any():
        return strands
    seglen = np.linalg.norm(np.diff(strands, axis=1), axis=2)
    s = np.concatenate([np.zeros((n, 1)), np.cumsum(seglen, 1)], axis=1)
    first = np.argmax(below, axis=1)
    za, zb = strands[np.arange(n), first - 1, 2], strands[np.arange(n), first, 2]
    t = np.clip((za - z_cut) / np.maximum(za - zb, 1e-9), 0.0, 1.0)
    end = s[np.arange(n), first - 1] + t * seglen[np.arange(n), first - 1]
    out = strands.copy()
    out[cut] = resample(strands[cut], s[cut], end[cut], k)
    return out


def resample(strands: np.ndarray, s: np.ndarray, length: np.ndarray, k: int) -> np.ndarray:
    """Each strand's first `length` metres as k evenly spaced points."""
    targets = np.linspace(0.0, 1.0, k)[None, :] * length[:, None]
    # the segment each target falls on: the last point at or before it (s rises along a strand)
    seg = np.clip((s[:, None, :] <= targets[:, :, None]).sum(2) - 1, 0, s.shape[1] - 2)  # (N, k)
    s0, s1 = np.take_along_axis(s, seg, 1), np.take_along_axis(s, seg + 1, 1)
    t = np.clip((targets - s0) / np.maximum(s1 - s0, 1e-12), 0.0, 1.0)[..., None]
    a, b = np.take_along_axis(strands, seg[..., None], 1), np.take_along_axis(strands, seg[..., None] + 1, 1)
    return a + t * (b - a)


def arc_length(strands: np.ndarray) -> np.ndarray:
    seglen = np.linalg.norm(np.diff(strands, axis=1), axis=2)
    return np.concatenate([np.zeros((len(strands), 1)), np.cumsum(seglen, 1)], axis=1)


def frames(strands: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: tangent, and two unit vectors across it (the first near the root normal's side)."""
    t = np.gradient(strands, axis=1)
    t = _unit(t)
    u = np.cross(t, normals[:, None, :])
    bad = np.linalg.norm(u, axis=2) < 1e-6
    u[bad] = np.cross(t[bad], np.array([1.0, 0.0, 0.0]))
    u = _unit(u)
    return t, u, np.cross(t, u)


def coil(strands: np.ndarray, normals: np.ndarray, radius: float | np.ndarray, period: float,
         phase: np.ndarray, helix: bool = True) -> np.ndarray:
    """A helix (curls) or a planar sine (waves) of `radius` about each strand, fading in from the root."""
    if not np.any(radius) or period <= 0:
        return strands
    s = arc_length(strands)
    _, u, v = frames(strands, normals)
    angle = 2.0 * np.pi * s / period + phase[:, None]
    fade = np.clip(s / (0.5 * period), 0.0, 1.0)[:, :, None]
    r = np.broadcast_to(np.asarray(radius, float), (len(strands),))[:, None, None]
    offset = np.cos(angle)[:, :, None] * u + (np.sin(angle)[:, :, None] * v if helix else 0.0)
    return strands + r * fade * offset


def clump(strands: np.ndarray, strength: float, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pull the strands' lengths toward the nearest of N/size guide strands (more toward the tips).
    Returns the strands and each one's clump index (for curls that turn together)."""
    n = len(strands)
    if n == 0 or size <= 1:
        return strands, np.arange(n)
    guides = rng.choice(n, size=max(1, n // size), replace=False)
    owner = _nearest(strands[:, 0], strands[guides, 0])
    if strength <= 0:
        return strands, owner
    s = arc_length(strands)
    w = strength * (s / np.maximum(s[:, -1:], 1e-9)) ** 0.7
    pull = strands[guides[owner]] - strands
    apart = np.linalg.norm(pull, axis=2)  # a guide that fell the other way is no clump
    w = w * np.clip(1.0 - (apart - 0.015) / 0.015, 0.0, 1.0)
    return strands + w[:, :, None] * pull, owner


def frizz(strands: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Random strays growing toward the tips (a smoothed random walk)."""
    if amount <= 0:
        return strands
    n, k, _ = strands.shape
    walk = np.cumsum(rng.normal(size=(n, k, 3)), axis=1) / np.sqrt(k)
    ramp = (np.arange(k) / max(k - 1, 1)) ** 1.5
    return strands + amount * walk * ramp[None, :, None]


def finish(volume: HeadVolume, strands: np.ndarray, margin: float | np.ndarray = SKIN_MARGIN,
           keep_out=None) -> np.ndarray:
    """Every point but the root pushed outside the skin (after curls and clumps moved them), and
    out of the `keep_out` region (which takes and returns (N, K, 3) strands)."""
    n, k, _ = strands.shape
    out = strands if keep_out is None else keep_out(strands)
    body = out[:, 1:].reshape(-1, 3)
    m = np.repeat(np.broadcast_to(np.asarray(margin, float), (n,)), k - 1)
    out = out.copy()
    out[:, 1:] = volume.push_out(body, m).reshape(n, k - 1, 3)
    return out


def taper(n: int, k: int, root_width: float, tip_share: float = 0.3) -> np.ndarray:
    """Radii (N, K): root width/2 narrowing to a share of it at the tip."""
    r = 0.5 * root_width * (1.0 - (1.0 - tip_share) * np.linspace(0.0, 1.0, k) ** 1.5)
    return np.broadcast_to(r, (n, k)).astype(np.float32).copy()


def _nearest(points: np.ndarray, centres: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Index of each point's nearest centre: |p - c|^2 less |p|^2 (the same for every centre), as a
    matrix product."""
    out = np.empty(len(points), int)
    c2 = (centres ** 2).sum(1)
    for i in range(0, len(points), chunk):
        out[i:i + chunk] = np.argmin(c2 - 2.0 * points[i:i + chunk] @ centres.T, axis=1)
    return out

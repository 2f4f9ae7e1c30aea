"""The head as hair sees it (pure numpy): skin triangles to root strands on, and a distance
field to keep strands out of the head.

Roots lie on the skin mesh's own triangles (each quad split along its first diagonal), so a
root is a triangle and barycentric weights: its position, its normal and its point in the skin
UV map (where Blender's Deform Curves on Surface finds it again under any expression).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..head.mesh import HeadMesh
from ..head.surface import figure_field
from ..head.topology import PART_ID

EDGE_MARGIN = 0.02  # least barycentric weight of a root (keeps it inside its triangle)
GRID_STEP = 0.003  # metres between the samples of the distance field
GRID_BOX = ((-0.30, 0.30), (-0.18, 0.20), (-0.46, 0.19))  # where strands can be: the head and bust
COARSE = 3  # the field is first sampled every third grid point, ...
BAND = 0.018  # ... then exactly at every grid point this close to the skin (two coarse steps)


@dataclass
class Roots:
    """Strand roots on the skin: triangle, barycentric weights, position, normal and skin UV."""

    triangle: np.ndarray  # (N,)
    bary: np.ndarray  # (N, 3)
    position: np.ndarray  # (N, 3)
    normal: np.ndarray  # (N, 3)
    uv: np.ndarray  # (N, 2)

    def __len__(self) -> int:
        return len(self.triangle)

    def take(self, keep: np.ndarray) -> "Roots":
        return Roots(self.triangle[keep], self.bary[keep], self.position[keep], self.normal[keep], self.uv[keep])


class SkinSurface:
    """The skin triangles of one head, with their areas, normals and UVs."""

    def __init__(self, head: HeadMesh) -> None:
        self.head = head
        starts, verts = head.poly_starts, head.poly_verts
        skin = np.flatnonzero(head.face_part == PART_ID["skin"])
        first = starts[skin]
        sizes = starts[skin + 1] - first
        quads = skin[sizes == 4]
        q0 = starts[quads]
        # two triangles per quad: corners (0, 1, 2) and (0, 2, 3); corners index corner_uv too
        corners = np.concatenate([np.stack([q0, q0 + 1, q0 + 2], 1), np.stack([q0, q0 + 2, q0 + 3], 1)])
        self.corners = corners
        self.vertex_ids = verts[corners]
        self.faces = np.concatenate([quads, quads])
        a, b, c = (head.vertices[self.vertex_ids[:, i]] for i in range(3))
        cross = np.cross(b - a, c - a)
        self.area = 0.5 * np.linalg.norm(cross, axis=1)
        self.normal = cross / np.maximum(2.0 * self.area[:, None], 1e-12)
        self.centroid = (a + b + c) / 3.0

    def positions(self, triangle: np.ndarray, bary: np.ndarray) -> np.ndarray:
        v = self.head.vertices[self.vertex_ids[triangle]]  # (N, 3, 3)
        return np.einsum("nk,nkd->nd", bary, v)

    def roots(self, triangle: np.ndarray, bary: np.ndarray) -> Roots:
        # off the triangle's edges: Blender finds a root by its UV, and a UV on an edge shared by
        # two triangles is ambiguous (the deform node then leaves that strand behind)
        bary = np.clip(bary, EDGE_MARGIN, None)
        bary = bary / bary.sum(1, keepdims=True)
        uv = np.einsum("nk,nkd->nd", bary, self.head.corner_uv[self.corners[triangle]])
        return Roots(triangle, bary, self.positions(triangle, bary), self.normal[triangle], uv)

    def sample(self, weight: np.ndarray, count: int, rng: np.random.Generator) -> Roots:
        """`count` roots spread by area x `weight` (per triangle, >= 0) over the skin."""
        p = self.area * np.clip(weight, 0.0, None)
        if count <= 0 or p.sum() <= 0:
            return self.roots(np.zeros(0, int), np.zeros((0, 3)))
        cdf = np.cumsum(p / p.sum())
        triangle = np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1)
        r1, r2 = np.sqrt(rng.random(count)), rng.random(count)
        bary = np.stack([1.0 - r1, r1 * (1.0 - r2), r1 * r2], axis=1)
        return self.roots(triangle, bary)

    def attach(self, points: np.ndarray, candidates: np.ndarray | None = None) -> Roots:
        """Roots at the skin points nearest to `points` (e.g. along a lid margin)."""
        tris = np.arange(len(self.area)) if candidates is None else np.asarray(candidates)
        near = np.argmin(((points[:, None, :] - self.centroid[tris][None]) ** 2).sum(-1), axis=1)
        triangle = tris[near]
        bary = _barycentric(points, *(self.head.vertices[self.vertex_ids[triangle][:, i]] for i in range(3)))
        return self.roots(triangle, bary)


def _barycentric(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Barycentric weights of p's projection onto each triangle, clamped inside it."""
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = np.maximum(d00 * d11 - d01 * d01, 1e-18)
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    bary = np.clip(np.stack([1.0 - v - w, v, w], axis=1), 0.0, 1.0)
    return bary / bary.sum(1, keepdims=True)


class HeadVolume:
    """The head's and bust's signed distance (negative inside) on a grid, for pushing strands out.

    Only near the skin do strands need the exact field, so it is sampled on a coarse grid first,
    interpolated onto the fine one, and evaluated exactly only within BAND of the skin: an eighth of
    the evaluations of a dense grid. Where the field changes about as fast as distance, a point
    within BAND / 2 of the skin is never interpolated from coarse samples that miss it; where it
    steps (the shoulders' top ends at the neck-shoulder point) the band is three times as wide."""

    def __init__(self, head: HeadMesh) -> None:
        self.params = head.params
        counts = [COARSE * int(np.ceil((hi - lo) / (GRID_STEP * COARSE))) + 1 for lo, hi in GRID_BOX]
        self.origin = np.array([lo for lo, _ in GRID_BOX])
        self.shape = tuple(counts)
        coarse_axes = [lo + np.arange(0, n, COARSE) * GRID_STEP for (lo, _), n in zip(GRID_BOX, counts)]
        coarse = np.stack(np.meshgrid(*coarse_axes, indexing="ij"), axis=-1).reshape(-1, 3)
        values = _upsample(figure_field(coarse, self.params).reshape([len(a) for a in coarse_axes]), COARSE)
        z = self.origin[2] + np.arange(counts[2]) * GRID_STEP
        seam = np.abs(z - self.params.bust.z_nsp) < COARSE * GRID_STEP
        near = np.nonzero((np.abs(values) < BAND) | (seam & (np.abs(values) < 3 * BAND)))
        values[near] = figure_field(self.origin + np.stack(near, axis=1) * GRID_STEP, self.params)
        self.values = values

    def corners(self, points: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The 8 grid samples around each point (inside the box): (grid index (N, 3), trilinear weight)."""
        f = (points - self.origin) / GRID_STEP
        i = np.clip(np.floor(f).astype(int), 0, np.array(self.shape) - 2)
        t = np.clip(f - i, 0.0, 1.0)
        out = []
        for corner in range(8):
            o = np.array([(corner >> k) & 1 for k in range(3)])
            out.append((i + o, np.prod(np.where(o, t, 1.0 - t), axis=1)))
        return out

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Trilinear distance inside the box, the exact field outside it."""
        out = np.zeros(len(points))
        for index, weight in self.corners(points):
            out += weight * self.values[index[:, 0], index[:, 1], index[:, 2]]
        f = (points - self.origin) / GRID_STEP
        outside = np.any((f < 0) | (f > np.array(self.shape) - 1), axis=1)
        if outside.any():  # strands that fall past the box, onto the shoulders: the exact field
            out[outside] = figure_field(points[outside], self.params)
        return out

    def gradient(self, points: np.ndarray, h: float = 0.0015) -> np.ndarray:
        g = np.stack([self.distance(points + e) - self.distance(points - e) for e in np.eye(3) * h], axis=1)
        return g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)

    def push_out(self, points: np.ndarray, margin: float | np.ndarray) -> np.ndarray:
        """Points moved out along the field's gradient until `margin` outside the skin; the grid
        gets them close, the exact field finishes the few still near the surface."""
        out = points.copy()
        margin = np.broadcast_to(np.asarray(margin, float), (len(points),))
        for _ in range(8):
            d = self.distance(out)
            deep = d < margin
            if not deep.any():
                break
            out[deep] += self.gradient(out[deep]) * (margin[deep] - d[deep])[:, None]
        near = self.distance(out) < margin + GRID_STEP
        if near.any():
            out[near] = self._exact_push(out[near], margin[near])
        return out

    def _exact_push(self, points: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """Newton steps on the exact field (thin parts, the ears, are finer than the grid)."""
        for _ in range(10):
            d = figure_field(points, self.params)
            deep = d < margin
            if not deep.any():
                break
            q = points[deep]
            h = 2e-4
            g = np.stack([figure_field(q + e, self.params) - figure_field(q - e, self.params) for e in np.eye(3) * h], 1)
            g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
            points[deep] = q + g * (margin[deep] - d[deep] + 2e-5)[:, None]
        return points


def _upsample(values: np.ndarray, factor: int) -> np.ndarray:
    """A grid linearly interpolated onto one `factor` times finer along each axis (ends kept)."""
    for axis in range(values.ndim):
        v = np.moveaxis(values, axis, 0)
        steps = [v[:-1] + (v[1:] - v[:-1]) * (r / factor) for r in range(factor)]
        fine = np.stack(steps, axis=1).reshape(-1, *v.shape[1:])
        values = np.moveaxis(np.concatenate([fine, v[-1:]]), 0, axis)
    return np.ascontiguousarray(values)

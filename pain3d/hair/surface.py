"""The head as hair sees it (pure numpy): skin triangles to root strands on, and a distance
field to keep strands out of the head.

Roots lie on the skin mesh's own triangles (each quad split as Blender splits it), so a root is
a triangle and barycentric weights: its position, its normal and its point in the skin UV map
(where Blender's Deform Curves on Surface finds it again under any expression).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..head.mesh import HeadMesh
from ..head.params import HeadParams
from ..head.surface import figure_field
from ..head.topology import PART_ID

EDGE_MARGIN = 0.02  # least barycentric weight of a root (keeps it inside its triangle)
GRID_STEP = 0.003  # metres between the samples of the distance field
GRID_BOX = ((-0.30, 0.30), (-0.18, 0.20), (-0.46, 0.19))  # where strands can be: the head and bust


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

    @staticmethod
    def join(parts: list["Roots"]) -> "Roots":
        return Roots(*(np.concatenate([getattr(r, f) for r in parts]) for f in ("triangle", "bary", "position",
                                                                                "normal", "uv")))


class SkinSurface:
    """The skin triangles of one head, with their areas, normals and UVs."""

    def __init__(self, head: HeadMesh) -> None:
        self.head = head
        starts, verts = head.poly_starts, head.poly_verts
        skin = np.flatnonzero(head.face_part == PART_ID["skin"])
        first = starts[skin]
        sizes = starts[skin + 1] - first
        quads = skin[sizes == 4]
        quad = starts[quads][:, None] + np.arange(4)  # (Q, 4) corners; they index corner_uv too
        # two triangles per quad, as Blender's loop triangles (which Deform Curves on Surface finds
        # a root's UV on): corners (0, 1, 2) and (0, 2, 3), or (0, 1, 3) and (1, 2, 3) where the
        # quad folds over its 0-2 diagonal; otherwise a root would lie off Blender's surface
        flip = quad_flips_first_diagonal(head.vertices[verts[quad]])[:, None]
        self.corners = np.concatenate([np.where(flip, quad[:, [0, 1, 3]], quad[:, [0, 1, 2]]),
                                       np.where(flip, quad[:, [1, 2, 3]], quad[:, [0, 2, 3]])])
        self.vertex_ids = verts[self.corners]
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


def quad_flips_first_diagonal(quads: np.ndarray) -> np.ndarray:
    """Whether Blender splits each quad (Q, 4, 3) along its 1-3 diagonal, not 0-2: where the two
    0-2 triangles face away from each other (`is_quad_flip_v3_first_third_fast`, called by the
    mesh tessellation in blenkernel's mesh_tessellate.cc). In float32, as Blender stores the
    positions and tests them."""
    p = np.asarray(quads, np.float32)
    d2 = p[:, 2] - p[:, 0]
    return np.einsum("qd,qd->q", np.cross(p[:, 1] - p[:, 0], d2), np.cross(p[:, 3] - p[:, 0], d2)) > 0


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

    The grid holds the exact field (`figure_field`), each sample computed the first time a strand
    comes near it: long hair visits a few percent of the box, a bald head only the brows and lashes.
    Between samples the field is trilinear, its gradient that of the same 8 samples."""

    def __init__(self, head: HeadMesh) -> None:
        self.params = head.params
        self.origin = np.array([lo for lo, _ in GRID_BOX])
        self.shape = tuple(int(np.ceil((hi - lo) / GRID_STEP)) + 1 for lo, hi in GRID_BOX)
        self._strides = np.array([self.shape[1] * self.shape[2], self.shape[2], 1])
        self._values = np.full(np.prod(self.shape), np.nan, np.float32)  # flat; NaN: not computed yet (23 MB)

    def distance(self, points: np.ndarray) -> np.ndarray:
        return self.field(points)[0]

    def gradient(self, points: np.ndarray) -> np.ndarray:
        """Unit gradient (the skin's outward normal near it)."""
        return self.field(points)[1]

    def field(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance and unit gradient: trilinear inside the box, the exact field outside it."""
        f = (points - self.origin) / GRID_STEP
        i = np.clip(np.floor(f).astype(np.intp), 0, np.array(self.shape) - 2)
        tx, ty, tz = np.clip(f - i, 0.0, 1.0).T
        v = self._sample((i @ self._strides)[:, None] + _CORNERS @ self._strides).T  # (8, N): x, y, z offsets
        along_x = v[4:] - v[:4]  # (4, N): over y, z
        vx = v[:4] + tx * along_x
        along_y = vx[2:] - vx[:2]  # (2, N): over z
        vy = vx[:2] + ty * along_y
        along_z = vy[1] - vy[0]
        d = vy[0] + tz * along_z
        gx = along_x[:2] + ty * (along_x[2:] - along_x[:2])
        g = np.stack([gx[0] + tz * (gx[1] - gx[0]), along_y[0] + tz * (along_y[1] - along_y[0]), along_z], axis=1)
        outside = np.any((f < 0) | (f > np.array(self.shape) - 1), axis=1)
        if outside.any():  # strands that fall past the box, onto the shoulders
            d[outside], g[outside] = _exact(points[outside], self.params, GRID_STEP / 2)
        return d, _unit(g)

    def push_out(self, points: np.ndarray, margin: float | np.ndarray, exact: bool = True) -> np.ndarray:
        """Points moved out along the field's gradient until `margin` outside the skin; the grid
        gets them close, the exact field (unless not `exact`) finishes those still near the surface."""
        out = points.copy()
        margin = np.broadcast_to(np.asarray(margin, float), (len(points),))
        d = np.empty(len(out))
        moved = np.arange(len(out))  # what the last step moved: the others stay where they are
        for _ in range(8):
            d[moved], g = self.field(out[moved])
            deep = d[moved] < margin[moved]
            moved, g = moved[deep], g[deep]
            if not len(moved):
                break
            out[moved] += g * (margin[moved] - d[moved])[:, None]
        if exact:
            if len(moved):
                d[moved] = self.distance(out[moved])
            near = d < margin + GRID_STEP
            if near.any():
                out[near] = self._exact_push(out[near], margin[near])
        return out

    def _exact_push(self, points: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """Newton steps on the exact field (thin parts, the ears, are finer than the grid); each
        step asks the field for the points the last step moved."""
        moved = np.arange(len(points))
        for _ in range(10):
            d = figure_field(points[moved], self.params)
            deep = d < margin[moved]
            if not deep.any():
                break
            moved, d = moved[deep], d[deep]
            q = points[moved]
            points[moved] = q + _exact(q, self.params, 2e-4)[1] * (margin[moved] - d + 2e-5)[:, None]
        return points

    def _sample(self, flat: np.ndarray) -> np.ndarray:
        """Grid samples at flat indices, computing those not computed yet (in one call of the field:
        each call costs about a millisecond however few the points)."""
        values = self._values[flat]
        missing = np.isnan(values)
        if missing.any():
            new = np.unique(flat[missing])
            at = self.origin + np.stack(np.unravel_index(new, self.shape), axis=1) * GRID_STEP
            self._values[new] = figure_field(at, self.params)
            values[missing] = self._values[flat[missing]]
        return values


_CORNERS = np.array(list(itertools.product((0, 1), repeat=3)))  # a cell's corners: x, y, z offsets (z fastest)


def _exact(points: np.ndarray, params: HeadParams, h: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact field and its unit gradient (central differences over h), in one call of the field."""
    steps = np.concatenate([np.zeros((1, 3)), np.eye(3), -np.eye(3)]) * h
    f = figure_field((points[None] + steps[:, None]).reshape(-1, 3), params).reshape(7, -1)
    return f[0], _unit((f[1:4] - f[4:]).T)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)

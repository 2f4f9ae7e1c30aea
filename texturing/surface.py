"""The head in texel space: the skin's UV layout, per-texel surface facts, and texel helpers.

Per-vertex values of the neutral head reach the texels through the cached UV raster, and every
texel knows how many metres of surface it spans along u and v, so features drawn in
millimetres keep their size wherever the layout stretches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pain3d import raster
from pain3d.head.mesh import HeadMesh
from pain3d.head.topology import PART_ID
from pain3d.identity import color_attributes
from pain3d.skin_regions import region_fields

MM = 1e-3


@dataclass
class _Layout:
    """The skin's UV layout at one size, as texels see it (topology only, so cached per process)."""

    covered: np.ndarray  # (S, S) bool
    ids: np.ndarray  # (3, S, S) int32 vertex ids of the texel's triangle
    bary: np.ndarray  # (3, S, S) float32 barycentrics (0 off the islands)
    corner_verts: np.ndarray  # (C,) vertex of each skin polygon corner
    corner_pixels: np.ndarray  # (C, 2) where that corner lies in the texture (pixels)


_LAYOUTS: dict[tuple[int, int], tuple[object, _Layout]] = {}


def _layout(head: HeadMesh, size: int) -> _Layout:
    key = (id(head.topology), size)
    if key not in _LAYOUTS:  # the topology is kept beside its layout, so its id stays unique
        grid, tris = raster.skin_uv_raster(head, size)
        ids = np.moveaxis(head.poly_verts[tris][np.maximum(grid.triangle, 0)], 2, 0).astype(np.int32)
        bary = np.moveaxis(grid.bary, 2, 0).astype(np.float32) * grid.covered
        corners = np.repeat(head.face_part == PART_ID["skin"], np.diff(head.poly_starts))
        pixels = raster.uv_pixels(head.corner_uv[corners], size)
        _LAYOUTS[key] = (head.topology, _Layout(grid.covered, np.ascontiguousarray(ids), np.ascontiguousarray(bary),
                                                head.poly_verts[corners], pixels))
    return _LAYOUTS[key][1]


class Surface:
    """Per-texel facts of one head: position, texel footprint and the region fields (zero off the islands)."""

    def __init__(self, head: HeadMesh, size: int) -> None:
        self.size, self.head = size, head
        self.layout = _layout(head, size)
        self.covered = self.layout.covered
        self.fields = {name: self.interpolate(values) for name, values in region_fields(head, color_attributes(head)).items()}
        self.x, self.y, self.z = (self.interpolate(head.vertices[:, k]) for k in range(3))
        # metres per texel along u and v; off the islands a safe non-zero value
        metric = _uv_metric(head)
        self.fu = np.where(self.covered, self.interpolate(metric[:, 0]) / size, 1.0).astype(np.float32)
        self.fv = np.where(self.covered, self.interpolate(metric[:, 1]) / size, 1.0).astype(np.float32)
        self.foot = np.maximum(self.fu, self.fv)
        self.pixels = raster.uv_pixels(_vertex_uv(head), size)
        self.flat_points = np.stack([self.x.ravel(), self.y.ravel(), self.z.ravel()])

    def interpolate(self, values: np.ndarray) -> np.ndarray:
        """Per-vertex values at the texels, computed only over the bounding box of their support."""
        values = values.astype(np.float32)
        out = np.zeros(self.covered.shape, np.float32)
        hot = values[self.layout.corner_verts] != 0
        if hot.any():
            box = _box(self.layout.corner_pixels[hot], self.size, margin=2)
            ids, bary = self.layout.ids[(slice(None), *box)], self.layout.bary[(slice(None), *box)]
            out[box] = values[ids[0]] * bary[0] + values[ids[1]] * bary[1] + values[ids[2]] * bary[2]
        return out

    def points(self, where: tuple = (...,)) -> np.ndarray:
        """(3, N) float32 positions of the texels selected by an index tuple (slices)."""
        return np.stack([self.x[where].ravel(), self.y[where].ravel(), self.z[where].ravel()])


def _box(pixels: np.ndarray, size: int, margin: int) -> tuple[slice, slice]:
    """Rows and columns of the texture covering points given in pixels, with a margin."""
    c0, r0 = np.clip(np.floor(pixels.min(0)).astype(int) - margin, 0, size)
    c1, r1 = np.clip(np.ceil(pixels.max(0)).astype(int) + margin, 0, size)
    return slice(r0, r1), slice(c0, c1)


def support(alpha: np.ndarray) -> tuple[slice, slice] | None:
    """Bounding box of a map's non-zero texels (None when there are none)."""
    rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
    return (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)) if len(rows) else None


def _uv_metric(head: HeadMesh) -> np.ndarray:
    """(V, 2) metres per UV unit along u and v at each skin vertex (area-weighted over its triangles)."""
    tris = raster.corner_triangles(head, ("skin",))
    p = head.vertices[head.poly_verts[tris]]
    t = head.corner_uv[tris]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    d1, d2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    ok = np.abs(det) > 1e-12
    det = np.where(ok, det, 1.0)[:, None]
    du = np.linalg.norm((e1 * d2[:, 1:] - e2 * d1[:, 1:]) / det, axis=1)
    dv = np.linalg.norm((e2 * d1[:, :1] - e1 * d2[:, :1]) / det, axis=1)
    area = 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1) * ok
    verts = head.poly_verts[tris].ravel()
    weight = np.bincount(verts, np.repeat(area, 3), head.n_verts)
    out = np.stack([np.bincount(verts, np.repeat(area * m, 3), head.n_verts) for m in (du, dv)], axis=1)
    return out / np.maximum(weight, 1e-20)[:, None]


def _vertex_uv(head: HeadMesh) -> np.ndarray:
    """One skin UV per vertex (the face has no seams, so any corner's will do)."""
    skin = np.repeat(head.face_part == PART_ID["skin"], np.diff(head.poly_starts))
    uv = np.zeros((head.n_verts, 2))
    uv[head.poly_verts[skin]] = head.corner_uv[skin]
    return uv


def sample_texels(s: Surface, weight: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count,) flat texel indices drawn with probability ~ weight x surface area (even per mm^2)."""
    density = (weight * s.fu * s.fv * s.covered).ravel().astype(np.float64)
    cdf = np.cumsum(density)
    return np.searchsorted(cdf, rng.random(count) * cdf[-1]).clip(0, density.size - 1)


def fill_gaps(image: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Uncovered texels take the colour of nearby covered ones (push-pull over a 2x pyramid), so
    texture filtering across an island's border or into the eye holes stays skin-coloured."""
    levels = []
    value, weight = image * covered, covered.astype(np.float32)
    while min(weight.shape) > 1:
        levels.append((value, weight))
        value, weight = _halve(value), _halve(weight)
    colour = value / np.maximum(weight, 1e-12)
    for value, weight in reversed(levels):
        coarse = np.repeat(np.repeat(colour, 2, axis=-2), 2, axis=-1)[..., : weight.shape[0], : weight.shape[1]]
        colour = np.where(weight > 0, value / np.maximum(weight, 1e-12), coarse)
    return np.where(covered, image, colour).astype(np.float32)


def _halve(a: np.ndarray) -> np.ndarray:
    """Sum over 2x2 blocks of the last two axes (odd sizes padded with zeros)."""
    h, w = a.shape[-2:]
    if h % 2 or w % 2:
        a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, h % 2), (0, w % 2)])
    return a.reshape(*a.shape[:-2], (h + 1) // 2, 2, (w + 1) // 2, 2).sum(axis=(-3, -1))

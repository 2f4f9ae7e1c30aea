"""Triangle rasterisation in numpy: UV-space maps of a head and exact pixel-to-texel correspondence.

`rasterize` point-samples triangles at pixel centres (pixel (col, row) has its centre at
(col + 0.5, row + 0.5)), with an optional z-buffer. Every pixel shows exactly one triangle, so a
pixel at a silhouette or a UV seam never mixes two surfaces. The same routine draws the skin's
UV layout (no depth: the islands do not overlap) and a camera's view of the head (with depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import camera as cam
from .head.mesh import HeadMesh
from .head.topology import PART_ID

CHUNK = 20000  # triangles rasterised at once (bounds memory)


@dataclass
class Raster:
    """Which triangle each pixel centre sees (-1: none) and its barycentric weights there."""

    triangle: np.ndarray  # (H, W) int64
    bary: np.ndarray  # (H, W, 3) float64

    @property
    def covered(self) -> np.ndarray:
        return self.triangle >= 0

    def interpolate(self, corner_values: np.ndarray) -> np.ndarray:
        """Per-pixel value from per-corner values (T, 3, C) or (T, 3); zero where uncovered."""
        values = np.asarray(corner_values, float)
        tri = np.maximum(self.triangle, 0)
        out = np.einsum("hwk,hwk...->hw...", self.bary, values[tri])
        out[~self.covered] = 0.0
        return out


def rasterize(points: np.ndarray, triangles: np.ndarray, width: int, height: int,
              depth: np.ndarray | None = None) -> Raster:
    """Rasterise triangles given by corner indices into `points` (pixel coordinates, y down).

    With `depth` (one value per point) the nearest triangle wins each pixel; without it, any
    one does (for layouts whose triangles do not overlap).
    """
    points, triangles = np.asarray(points, float), np.asarray(triangles, np.int64)
    best = np.full(width * height, np.inf)
    triangle = np.full(width * height, -1, np.int64)
    bary = np.zeros((width * height, 3))
    for start in range(0, len(triangles), CHUNK):
        ids = np.arange(start, min(start + CHUNK, len(triangles)))
        pixel, tri, weights = _cover(points, triangles[ids], width, height)
        tri = ids[tri]
        z = (weights * depth[triangles[tri]]).sum(1) if depth is not None else np.zeros(len(pixel))
        order = np.lexsort((z, pixel))
        first = order[np.unique(pixel[order], return_index=True)[1]]  # the nearest per pixel
        first = first[z[first] < best[pixel[first]]] if depth is not None else first
        pixel = pixel[first]
        best[pixel], triangle[pixel], bary[pixel] = z[first], tri[first], weights[first]
    return Raster(triangle.reshape(height, width), bary.reshape(height, width, 3))


def _cover(points: np.ndarray, triangles: np.ndarray, width: int, height: int):
    """(pixel index, triangle row, barycentrics) of every pixel centre inside each triangle."""
    corners = points[triangles]  # (T, 3, 2)
    lo = np.clip(np.ceil(corners.min(1) - 0.5), 0, [width, height]).astype(np.int64)
    hi = np.clip(np.floor(corners.max(1) - 0.5), -1, [width - 1, height - 1]).astype(np.int64)
    span = np.maximum(hi - lo + 1, 0)
    count = span[:, 0] * span[:, 1]
    tri = np.repeat(np.arange(len(triangles)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    col = lo[tri, 0] + k % np.maximum(span[tri, 0], 1)
    row = lo[tri, 1] + k // np.maximum(span[tri, 0], 1)
    p = np.stack([col + 0.5, row + 0.5], axis=1)
    a, b, c = corners[tri, 0], corners[tri, 1], corners[tri, 2]
    area = _cross(b - a, c - a)
    with np.errstate(divide="ignore", invalid="ignore"):
        w0, w1 = _cross(b - p, c - p) / area, _cross(c - p, a - p) / area
    weights = np.stack([w0, w1, 1.0 - w0 - w1], axis=1)
    inside = (np.abs(area) > 1e-12) & (weights >= -1e-9).all(1)
    return row[inside] * width + col[inside], tri[inside], weights[inside]


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


# --- the head's triangles ---------------------------------------------------------------------


def corner_triangles(head: HeadMesh, parts: tuple[str, ...] | None = None) -> np.ndarray:
    """Fan triangulation of the head's polygons as flat corner indices (T, 3), optionally of some parts."""
    starts = head.poly_starts
    lens = np.diff(starts)
    faces = np.arange(len(lens)) if parts is None else np.nonzero(np.isin(head.face_part, [PART_ID[p] for p in parts]))[0]
    fans = np.repeat(faces, lens[faces] - 2)
    k = np.arange(len(fans)) - np.repeat(np.cumsum(lens[faces] - 2) - (lens[faces] - 2), lens[faces] - 2)
    first = starts[fans]
    return np.stack([first, first + k + 1, first + k + 2], axis=1)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals of a triangle mesh given by vertex indices."""
    a, b, c = (vertices[triangles[:, i]] for i in range(3))
    face = np.cross(b - a, c - a)
    normals = np.zeros_like(vertices, dtype=float)
    for i in range(3):
        np.add.at(normals, triangles[:, i], face)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


# --- UV space -----------------------------------------------------------------------------------


def uv_pixels(uv: np.ndarray, size: int) -> np.ndarray:
    """UV coordinates as pixel coordinates of an S x S texture (row 0 is v = 1)."""
    uv = np.asarray(uv, float)
    return np.stack([uv[..., 0] * size, (1.0 - uv[..., 1]) * size], axis=-1)


_UV_RASTERS: dict[tuple[int, int], tuple[object, Raster, np.ndarray]] = {}


def skin_uv_raster(head: HeadMesh, size: int) -> tuple[Raster, np.ndarray]:
    """The skin's UV layout rasterised at S x S and the corner triangles it was drawn from.

    The layout depends on the topology alone, so it is drawn once per topology and size.
    """
    key = (id(head.topology), size)
    if key not in _UV_RASTERS:  # the topology is kept alive beside its raster, so its id stays unique
        tris = corner_triangles(head, ("skin",))
        _UV_RASTERS[key] = (head.topology, rasterize(uv_pixels(head.corner_uv, size), tris, size, size), tris)
    return _UV_RASTERS[key][1:]


def uv_vertex_maps(head: HeadMesh, size: int, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-vertex values (V,) or (V, C) interpolated over the skin's UV layout (zero off the islands)."""
    raster, tris = skin_uv_raster(head, size)
    verts = head.poly_verts[tris]
    return {name: raster.interpolate(np.asarray(v, float)[verts]).astype(np.float32) for name, v in values.items()}


def uv_maps(head: HeadMesh, size: int) -> dict[str, np.ndarray]:
    """coverage, position and normal of the skin in UV space (docs/identity-bundle.md)."""
    normals = vertex_normals(head.vertices, head.poly_verts[corner_triangles(head)])
    maps = uv_vertex_maps(head, size, {"position": head.vertices, "normal": normals})
    maps["normal"] /= np.maximum(np.linalg.norm(maps["normal"], axis=2, keepdims=True), 1e-12)
    return {"coverage": skin_uv_raster(head, size)[0].covered, **maps}


# --- camera views ------------------------------------------------------------------------------


def view_correspondence(head: HeadMesh, camera: cam.Camera) -> dict[str, np.ndarray]:
    """What each pixel centre of a camera sees: skin UV, visibility, facing and depth (metres).

    Every part of the head takes part in the z-buffer (an eye or tooth in front of the skin
    hides it); only pixels whose nearest surface is skin count as visible.
    """
    tris = corner_triangles(head)
    verts = head.poly_verts[tris]
    flat = verts.reshape(-1)
    pixels = cam.project(camera, head.vertices)[flat]
    z = cam.depth(camera, head.vertices)[flat]
    corners = np.arange(len(flat)).reshape(-1, 3)
    raster = rasterize(pixels, corners, camera.width, camera.height, depth=z)
    tri_part = head.face_part[np.searchsorted(head.poly_starts, tris[:, 0], side="right") - 1]
    visible = raster.covered & (tri_part[np.maximum(raster.triangle, 0)] == PART_ID["skin"])
    uv = raster.interpolate(head.corner_uv[tris])
    normals = vertex_normals(head.vertices, verts)
    normal = raster.interpolate(normals[verts])
    position = raster.interpolate(head.vertices[verts])
    to_camera = camera.world[:3, 3] - position
    facing = (normal * to_camera).sum(2) / np.maximum(
        np.linalg.norm(normal, axis=2) * np.linalg.norm(to_camera, axis=2), 1e-12)
    uv[~visible] = 0.0
    return {"uv": uv.astype(np.float32), "visible": visible,
            "facing": np.where(visible, np.clip(facing, 0.0, 1.0), 0.0).astype(np.float32),
            "depth": raster.interpolate(z.reshape(-1, 3)).astype(np.float32)}

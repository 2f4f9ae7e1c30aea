"""Mesh-analysis helpers shared by the head tests (pure numpy)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from pain3d.head import HeadMesh
from pain3d.head.surface import head_field


def polys_of(mesh: HeadMesh, parts: tuple[str, ...]) -> list[np.ndarray]:
    pid = [mesh.part_names.index(p) for p in parts]
    keep = np.isin(mesh.face_part, pid)
    polys = np.split(mesh.poly_verts, mesh.poly_starts[1:-1])
    return [p for p, k in zip(polys, keep) if k]


def directed_edges(polys: list[np.ndarray]) -> list[tuple[int, int]]:
    out = []
    for p in polys:
        q = p.tolist()
        out += list(zip(q, q[1:] + q[:1]))
    return out


def boundary_loops(polys: list[np.ndarray]) -> list[list[int]]:
    """Closed loops formed by edges used by exactly one polygon."""
    und = Counter(tuple(sorted(e)) for e in directed_edges(polys))
    bnd = [e for e in directed_edges(polys) if und[tuple(sorted(e))] == 1]
    nxt = {}
    for a, b in bnd:
        assert a not in nxt, "boundary vertex with two outgoing boundary edges"
        nxt[a] = b
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        loops.append(loop)
    return loops


def polygon_areas(V: np.ndarray, polys: list[np.ndarray]) -> np.ndarray:
    areas = []
    for p in polys:
        pts = V[p]
        c = np.zeros(3)
        for i in range(1, len(p) - 1):
            c += np.cross(pts[i] - pts[0], pts[i + 1] - pts[0])
        areas.append(0.5 * np.linalg.norm(c))
    return np.array(areas)


def uv_signed_areas(uv_polys: list[np.ndarray]) -> np.ndarray:
    out = []
    for q in uv_polys:
        x, y = q[:, 0], q[:, 1]
        out.append(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    return np.array(out)


def rasterise_overlap(tris: np.ndarray, res: int = 1024) -> int:
    """Number of pixel centres covered by more than one UV triangle."""
    count = np.zeros((res, res), dtype=np.int32)
    p = tris * res - 0.5
    for a, b, c in p:
        lo = np.floor(np.minimum(np.minimum(a, b), c)).astype(int)
        hi = np.ceil(np.maximum(np.maximum(a, b), c)).astype(int)
        lo = np.clip(lo, 0, res - 1)
        hi = np.clip(hi, 0, res - 1)
        xs, ys = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
        px, py = xs.ravel().astype(float), ys.ravel().astype(float)

        def edge(u, v):
            return (v[0] - u[0]) * (py - u[1]) - (v[1] - u[1]) * (px - u[0])

        e0, e1, e2 = edge(a, b), edge(b, c), edge(c, a)
        eps = 1e-9
        inside = ((e0 > eps) & (e1 > eps) & (e2 > eps)) | ((e0 < -eps) & (e1 < -eps) & (e2 < -eps))
        count[xs.ravel()[inside], ys.ravel()[inside]] += 1
    return int(np.sum(count > 1))


def midline_skin_depth(p, z: np.ndarray) -> np.ndarray:
    """Forward depth (-y, metres) of the skin on the midline at heights z, every 0.2 mm (-inf
    where no skin lies 40-140 mm in front of the ear canals)."""
    ys = np.arange(-0.14, -0.04, 0.0002)
    pts = np.stack(np.broadcast_arrays(0.0, ys[None, :], z[:, None]), -1).reshape(-1, 3)
    inside = head_field(pts, p).reshape(len(z), len(ys)) < 0
    return np.where(inside.any(1), -ys[np.argmax(inside, axis=1)], -np.inf)

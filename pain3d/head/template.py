"""The cached template topology of a level, completed with data derived from the neutral template
head: outward winding, patch UVs, landmark vertex ids and region masks.

Building it needs the geometry, landmarks and regions, which all rest on the bare topology; it
lives here, above them, so that none of them imports back.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .geometry import compute_positions, template_params, vermilion_border
from .landmarks import compute_landmark_ids
from .regions import compute_regions
from .topology import PART_ID, HeadTopology, angles_from_points, build_topology, remap_u, remap_v, u_of_theta


@lru_cache(maxsize=4)
def template(level: int = 1) -> HeadTopology:
    """Cached topology of a level, completed with template-derived data.

    Landmark vertex ids, region masks, patch UVs and outward winding are
    computed once on the neutral template identity (age 30, sex 0.5, all
    controls 0); they are a function of the topology only.
    """
    topo = build_topology(level)
    finalize_topology(topo)
    _freeze(topo)
    return topo


def _freeze(topo: HeadTopology) -> None:
    """Make the cached arrays read-only: every HeadMesh shares them."""
    for name in ("poly_starts", "poly_verts", "face_part", "corner_uv", "vertex_part", "landmarks68",
                 "ray_fixed_ids", "ray_fixed_dirs", "grid_ids", "body_rows", "body_fractions"):
        getattr(topo, name).flags.writeable = False
    for w in topo.regions.values():
        w.flags.writeable = False


def finalize_topology(topo: HeadTopology) -> None:
    """Fill winding, patch UVs, landmark ids and region masks from the template."""
    p = template_params()
    V = compute_positions(topo, p)
    _fix_outward(topo, V)
    _patch_uvs(topo, V)
    topo.landmarks68, topo.landmark_ids, topo.contour_slices = compute_landmark_ids(topo, V, p)
    topo.regions = compute_regions(topo, V, p)


def _face_normals(topo: HeadTopology, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts, verts = topo.poly_starts, topo.poly_verts
    n = topo.n_faces
    lengths = np.diff(starts)
    face_of_corner = np.repeat(np.arange(n), lengths)
    nxt = np.arange(verts.size) + 1
    nxt[starts[1:] - 1] = starts[:-1]
    a, b = V[verts], V[verts[nxt]]
    cross = np.cross(a, b)
    normal = np.zeros((n, 3))
    np.add.at(normal, face_of_corner, cross)
    centre = np.zeros((n, 3))
    np.add.at(centre, face_of_corner, a)
    centre /= lengths[:, None]
    return 0.5 * normal, centre


def _fix_outward(topo: HeadTopology, V: np.ndarray) -> None:
    """Flip whole parts whose signed volume is negative (inward winding)."""
    normal, centre = _face_normals(topo, V)
    groups = {
        "skin": np.isin(topo.face_part, [PART_ID["skin"], PART_ID["mouth_cavity"]]),
        "eye_R": np.isin(topo.face_part, [PART_ID[f"eye_R_{k}"] for k in ("sclera", "iris", "pupil")]),
        "eye_L": np.isin(topo.face_part, [PART_ID[f"eye_L_{k}"] for k in ("sclera", "iris", "pupil")]),
        "teeth_upper": topo.face_part == PART_ID["teeth_upper"],
        "teeth_lower": topo.face_part == PART_ID["teeth_lower"],
    }
    starts = topo.poly_starts
    for mask in groups.values():
        vol = np.sum(np.einsum("ij,ij->i", normal[mask], centre[mask]))
        if vol < 0:
            for fi in np.nonzero(mask)[0]:
                s, e = starts[fi], starts[fi + 1]
                topo.poly_verts[s:e] = topo.poly_verts[s:e][::-1].copy()
                topo.corner_uv[s:e] = topo.corner_uv[s:e][::-1].copy()


def _patch_uvs(topo: HeadTopology, V: np.ndarray) -> None:
    """UVs of ring-patch vertices from their template (theta, phi) position.

    The tucked lid loops (which fold back in 3-D) are given UVs scaled toward
    the patch centre so the UV layout stays non-overlapping.
    """
    nv, nu = topo.grid_shape
    phi_rows = topo.grid_phi
    vuv = np.full((topo.n_verts, 2), np.nan)

    def to_uv(pts: np.ndarray) -> np.ndarray:
        th, ph = angles_from_points(pts)
        col = (0.5 + 0.5 * u_of_theta(th))
        row = np.interp(ph, phi_rows, np.arange(nv)) / (nv - 1.0)
        return np.column_stack([remap_u(col), remap_v(row)])

    grid_uv = _grid_vertex_uvs(topo)
    for key, ptc in list(topo.eye_patches.items()) + [("M", topo.mouth_patch)]:
        rings = ptc.rings
        for r in range(rings.shape[0]):
            vuv[rings[r]] = to_uv(V[rings[r]])
        vuv[rings[-1]] = grid_uv[rings[-1]]  # the border is grid vertices: the same UVs on both sides, no overlap
        if key == "M":
            # mouth loops are lerps of the contact / vermilion / border contours:
            # lerp their UVs the same way (contours seen at a constant depth)
            tp = template_params()
            c = V[rings[0]].copy()
            c[:, 1] = c[:, 1].min()
            vb = vermilion_border(tp, ptc.psi)
            vb[:, 1] = c[0, 1]
            uv_c, uv_v, uv_b = to_uv(c), to_uv(vb), vuv[rings[-1]]
            vuv[rings[0]] = uv_c
            for r, t in ptc.lerp_t.items():
                vuv[rings[r]] = (1 - t) * uv_c + t * uv_v if t <= 1 else (2 - t) * uv_v + (t - 1) * uv_b
        else:
            front = vuv[rings[2]]
            centre = front.mean(axis=0)
            vuv[rings[1]] = centre + 0.93 * (front - centre)
            vuv[rings[0]] = centre + 0.86 * (front - centre)
    skin = topo.face_part == PART_ID["skin"]
    starts, verts = topo.poly_starts, topo.poly_verts
    for fi in np.nonzero(skin)[0]:
        s, e = starts[fi], starts[fi + 1]
        vs = verts[s:e]
        if np.isnan(vuv[vs, 0]).any():
            continue
        topo.corner_uv[s:e] = vuv[vs]


def _grid_vertex_uvs(topo: HeadTopology) -> np.ndarray:
    """Each vertex's UV in the skin faces outside the ring patches (NaN for the rest)."""
    patch = np.zeros(topo.n_verts, bool)
    for ptc in list(topo.eye_patches.values()) + [topo.mouth_patch]:
        patch[ptc.rings.ravel()] = True
    out = np.full((topo.n_verts, 2), np.nan)
    starts, verts = topo.poly_starts, topo.poly_verts
    for fi in np.nonzero(topo.face_part == PART_ID["skin"])[0]:
        vs = verts[starts[fi]:starts[fi + 1]]
        if not patch[vs].all():
            out[vs] = topo.corner_uv[starts[fi]:starts[fi + 1]]
    return out

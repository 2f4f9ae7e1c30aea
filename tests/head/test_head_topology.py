"""Topology, UV, landmark-id and region tests of the parametric head."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_head import (boundary_loops, directed_edges, polys_of, rasterise_overlap,  # noqa: E402
                          uv_signed_areas)

from pain3d.head import OBJECT_PARTS, PART_NAMES, build_head, template  # noqa: E402


@pytest.fixture(scope="module")
def head():
    return build_head(level=1)


def test_vertex_counts_per_level():
    n0, n1 = template(0).n_verts, template(1).n_verts
    assert 3000 < n0 < 10000
    assert 10000 <= n1 <= 40000
    assert n1 > 3 * n0


def test_template_is_cached():
    assert template(1) is template(1)


@pytest.mark.parametrize("obj", list(OBJECT_PARTS))
def test_manifold_and_consistent_winding(head, obj):
    polys = polys_of(head, OBJECT_PARTS[obj])
    directed = Counter(directed_edges(polys))
    assert max(directed.values()) == 1, "a directed edge is used twice (flipped face)"
    und = Counter(tuple(sorted(e)) for e in directed)
    assert max(und.values()) <= 2, "non-manifold edge"


def test_boundary_loops_are_the_intended_openings(head):
    skin_loops = boundary_loops(polys_of(head, OBJECT_PARTS["skin"]))
    assert len(skin_loops) == 3  # neck bottom + the two tucked lid folds
    V = head.vertices
    centres = sorted(V[loop].mean(axis=0)[2] for loop in skin_loops)
    assert centres[0] < -0.15                      # neck bottom
    eye_loops = [loop for loop in skin_loops if V[loop].mean(axis=0)[2] > -0.05]
    r = head.params.eye_r
    for loop in eye_loops:
        pts = V[loop]
        c = head.landmarks["eye_centre_L" if pts[:, 0].mean() > 0 else "eye_centre_R"]
        d = np.linalg.norm(pts - c, axis=1)
        assert np.all(d < r + 0.001), "eye opening must fold back onto the eyeball"
    for obj in ("eye_R", "eye_L", "teeth"):
        assert boundary_loops(polys_of(head, OBJECT_PARTS[obj])) == []


def test_quad_dominant(head):
    sizes = np.diff(head.poly_starts)
    assert np.mean(sizes == 4) > 0.97
    assert set(np.unique(sizes)) <= {3, 4}


def test_skin_uv_inside_unit_square_and_unflipped(head):
    skin = head.part_names.index("skin")
    fids = np.nonzero(head.face_part == skin)[0]
    uvs = [head.corner_uv[head.poly_starts[f]:head.poly_starts[f + 1]] for f in fids]
    allc = np.concatenate(uvs)
    assert allc.min() >= 0.0 and allc.max() <= 1.0
    area = uv_signed_areas(uvs)
    assert np.all(np.abs(area) > 0), "zero-area UV face"
    assert np.all(area > 0) or np.all(area < 0), "flipped UV faces (fold)"


def test_skin_uv_islands_do_not_overlap():
    h = build_head(level=0)
    skin = h.part_names.index("skin")
    cav = h.part_names.index("mouth_cavity")
    tris = []
    for f in np.nonzero(np.isin(h.face_part, [skin, cav]))[0]:
        q = h.corner_uv[h.poly_starts[f]:h.poly_starts[f + 1]]
        for i in range(1, len(q) - 1):
            tris.append([q[0], q[i], q[i + 1]])
    assert rasterise_overlap(np.array(tris), res=768) == 0


def test_patch_borders_have_no_uv_seam(head):
    """The eye and mouth patches join the grid without a seam: a border vertex has the same UV in
    the patch's faces and the grid's (a border a fraction of a texel off overlaps its neighbours,
    and hair roots there find no unique triangle)."""
    topo = head.topology
    border = np.concatenate([p.rings[-1] for p in list(topo.eye_patches.values()) + [topo.mouth_patch]])
    skin = np.nonzero(head.face_part == head.part_names.index("skin"))[0]
    corners = np.concatenate([np.arange(head.poly_starts[f], head.poly_starts[f + 1]) for f in skin])
    corners = corners[np.isin(head.poly_verts[corners], border)]
    verts, uv = head.poly_verts[corners], head.corner_uv[corners]
    order = np.argsort(verts, kind="stable")
    verts, uv = verts[order], uv[order]
    same = verts[1:] == verts[:-1]
    assert same.sum() > len(border) and np.abs(uv[1:][same] - uv[:-1][same]).max() < 1e-9


def test_face_gets_most_texture_area(head):
    """The frontal face (eyes-mouth-chin region) gets the largest UV share."""
    skin = head.part_names.index("skin")
    V = head.vertices
    area_face = area_all = 0.0
    for f in np.nonzero(head.face_part == skin)[0]:
        s, e = head.poly_starts[f], head.poly_starts[f + 1]
        q = head.corner_uv[s:e]
        a = abs(0.5 * np.sum(q[:, 0] * np.roll(q[:, 1], -1) - np.roll(q[:, 0], -1) * q[:, 1]))
        c = V[head.poly_verts[s:e]].mean(axis=0)
        area_all += a
        if c[1] < -0.04 and -0.13 < c[2] < 0.09 and abs(c[0]) < 0.07:
            area_face += a
    assert area_face / area_all > 0.35


def test_landmark_ids_valid(head):
    ids = head.landmark68_ids
    assert ids.shape == (68,)
    assert len(set(ids.tolist())) == 68
    skin = PART_NAMES.index("skin")
    assert np.all(head.vertex_part[ids] == skin)
    for name in ("nose_tip", "subnasale", "nasion", "glabella", "menton", "pogonion",
                 "tragus_L", "tragus_R", "vertex", "pupil_L", "pupil_R", "stomion"):
        assert name in head.landmarks


def test_landmark_layout(head):
    L = head.landmarks68
    # subject's right (image left) is -X
    assert L[36, 0] < L[39, 0] < 0 < L[42, 0] < L[45, 0]
    assert L[48, 0] < 0 < L[54, 0]
    assert L[17:22, 0].max() < 0 < L[22:27, 0].min()
    assert L[0, 0] < L[8, 0] < L[16, 0]
    assert L[8, 2] < L[57, 2] < L[51, 2] < L[33, 2] < L[30, 2] < L[27, 2] < L[19, 2]
    assert L[30, 1] == L[:, 1].min()                   # nose tip is the most forward
    assert np.all(L[37:39, 2] > L[[36, 39], 2].mean())   # upper lid above the corners
    assert np.all(L[40:42, 2] < L[[36, 39], 2].mean())


def test_regions(head):
    need = ["forehead", "brow_L", "brow_R", "glabella", "upper_eyelid_L", "upper_eyelid_R",
            "lower_eyelid_L", "lower_eyelid_R", "infraorbital_L", "infraorbital_R", "cheek_L",
            "cheek_R", "nose", "nose_bridge", "nose_alae", "upper_lip", "lower_lip",
            "lip_corner_L", "lip_corner_R", "chin", "jaw", "nasolabial_L", "nasolabial_R"]
    V = head.vertices
    for name in need:
        w = head.regions[name]
        assert w.shape == (head.n_verts,)
        assert w.min() >= 0.0 and w.max() <= 1.0 and w.max() > 0.5, name
    for s, sx in (("L", 1), ("R", -1)):
        for base in ("brow", "upper_eyelid", "lower_eyelid", "nasolabial", "lip_corner"):
            w = head.regions[f"{base}_{s}"]
            assert np.sign(np.average(V[:, 0], weights=w)) == sx, f"{base}_{s}"
    up, lo = head.regions["upper_lip"], head.regions["lower_lip"]
    assert np.average(V[:, 2], weights=up) > np.average(V[:, 2], weights=lo)
    assert head.regions["jaw"][head.part_mesh("teeth_lower")[2]].min() == 1.0


def test_part_mesh_reindexing(head):
    for name, (v, polys, vids, fids) in head.object_meshes().items():
        flat = np.concatenate([np.asarray(p) for p in polys])
        assert flat.min() == 0 and flat.max() == len(v) - 1, name
        assert np.allclose(v, head.vertices[vids])
        assert head.corner_uv_of(fids).shape == (flat.size, 2)

"""The skin triangles that hair roots on are Blender's own: each quad split along the diagonal
Blender's loop triangles use (Deform Curves on Surface finds a root's UV on those), so a root
lies on the surface Blender deforms."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pain3d.hair.surface import SkinSurface, quad_flips_first_diagonal
from pain3d.head.topology import PART_ID
from pain3d.identity import neutral_head
from tests.blender.harness import bpy_missing, run_bpy

HEADS = [(30.0, "female", "White", 1), (68.0, "male", "Black", 2), (24.0, "female", "East Asian", 1)]


def one_quad(corners: list[tuple[float, float, float]]) -> SkinSurface:
    """The skin surface of a mesh of one skin quad, its UVs the corners' x and y."""
    vertices = np.array(corners, float)
    return SkinSurface(SimpleNamespace(vertices=vertices, poly_starts=np.array([0, 4]), poly_verts=np.arange(4),
                                       face_part=np.array([PART_ID["skin"]]), corner_uv=vertices[:, :2].copy()))


def triangles(surface: SkinSurface) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in t) for t in surface.vertex_ids}


def test_a_dart_is_split_along_its_inner_diagonal():
    """A dart (corner 3 inside the 0-2 diagonal): split 0-2 its triangles would overlap and face
    away from each other; Blender splits it 1-3, into (0, 1, 3) and (1, 2, 3), which tile it."""
    surface = one_quad([(0, 0, 0), (2, 0, 0), (2, 2, 0), (1.5, 0.5, 0)])
    assert triangles(surface) == {(0, 1, 3), (1, 2, 3)}
    assert np.allclose(surface.normal, [0, 0, 1])
    assert surface.area.sum() == pytest.approx(1.0)  # the dart's own area
    # roots' UVs come from the same corners as their positions (here UV = x, y)
    roots = surface.sample(np.ones(2), 200, np.random.default_rng(0))
    assert np.allclose(roots.uv, roots.position[:, :2])


def test_a_gently_folded_quad_keeps_its_first_diagonal():
    surface = one_quad([(0, 0, 0), (1, 0, 0.3), (1, 1, 0), (0, 1, 0.3)])
    assert triangles(surface) == {(0, 1, 2), (0, 2, 3)}


def test_a_real_head_has_quads_blender_splits_the_other_way():
    """On a real head a few skin quads (at the eye and mouth corners) fold over their 0-2
    diagonal; those, and only those, are split 1-3."""
    head = neutral_head(*HEADS[0])
    surface = SkinSurface(head)
    n = len(surface.faces) // 2
    quads = head.poly_verts[head.poly_starts[surface.faces[:n]][:, None] + np.arange(4)]
    flip = quad_flips_first_diagonal(head.vertices[quads])
    assert 0 < flip.sum() < 100
    expected = np.where(flip[:, None, None], quads[:, [[0, 1, 3], [1, 2, 3]]], quads[:, [[0, 1, 2], [0, 2, 3]]])
    assert np.array_equal(surface.vertex_ids.reshape(2, n, 3), expected.transpose(1, 0, 2))


LOOP_TRIANGLES = """
import bpy, numpy as np
from pain3d.addon.head import mesh_object
from pain3d.identity import build_identity
from pain3d.hair.surface import SkinSurface
out = []
for who in HEADS:
    core = build_identity(*who)
    mesh = mesh_object(core.mesh, "head").data
    mesh.calc_loop_triangles()
    loops = np.empty(len(mesh.loop_triangles) * 3, np.int32); mesh.loop_triangles.foreach_get("loops", loops)
    face = np.empty(len(mesh.loop_triangles), np.int32); mesh.loop_triangles.foreach_get("polygon_index", face)
    blender = {}
    for f, tri in zip(face.tolist(), loops.reshape(-1, 3).tolist()):
        blender.setdefault(f, set()).add(tuple(tri))
    surface = SkinSurface(core.head)
    ours = {}
    for f, tri in zip(surface.faces.tolist(), surface.corners.tolist()):
        ours.setdefault(f, set()).add(tuple(tri))
    starts = core.head.poly_starts
    split_13 = sum(1 for f in ours if (starts[f], starts[f] + 1, starts[f] + 3) in blender[f])
    out.append({"quads": len(ours), "split_13": split_13, "differ": [f for f in ours if ours[f] != blender[f]][:10]})
report(out)
"""


@bpy_missing
def test_the_triangles_are_blenders_loop_triangles(tmp_path):
    """Blender's own loop triangles of three real heads (built as the renderer builds them): every
    skin quad's two triangles, corners in order, are ours; some are split 1-3."""
    result = run_bpy(f"HEADS = {HEADS!r}\n" + LOOP_TRIANGLES, tmp_path, timeout=300)
    for who, r in zip(HEADS, result):
        assert r["differ"] == [], (who, r)
        assert r["quads"] > 20000 and r["split_13"] > 0, (who, r)

"""Blender round trip of the head parts (skipped when bpy is not installed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="bpy not installed")


def test_parts_load_into_blender_meshes():
    import bpy

    from pain3d.head import build_head

    head = build_head(level=0, residual_seed=3)
    for name, (verts, polys, vids, fids) in head.object_meshes().items():
        me = bpy.data.meshes.new(f"test_{name}")
        me.from_pydata([tuple(v) for v in verts], [], polys)
        assert not me.validate(verbose=False), f"{name}: Blender had to fix the mesh"
        assert len(me.vertices) == len(verts) and len(me.polygons) == len(polys)
        uv = me.uv_layers.new(name="UVMap")
        flat = head.corner_uv_of(fids).astype(np.float32).ravel()
        uv.data.foreach_set("uv", flat)
        me.update()
        bpy.data.meshes.remove(me)

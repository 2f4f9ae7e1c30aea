"""The clinical scene in Blender: the bed of `pain3d.bed` (pillow, mattress, blanket, side rails)
as mesh objects parented to the head, in cotton linen and grey laminate that draw the mask's
bedding class."""

from __future__ import annotations

import json

import bpy
import numpy as np

from ..bed import make_bedding
from ..colour import hex_to_rgb, srgb_to_linear
from ..dataset import MASK_CLASSES
from .compat import use_nodes
from .parts import parts_of, remove_parts
from .shading import add_label_outputs

BED_PROP = "pain3d_bed"  # on each bedding object: the bed record (JSON)
WEAVE_MM = {"pillow": 0.5, "mattress": 0.5, "blanket": 2.5}  # percale, and a cellular (waffle) blanket
RAIL_COLOUR = "c8c6c0"
LINEN_COLOUR = {"pillow": "pillow_colour", "mattress": "sheet_colour", "blanket": "blanket_colour"}


def add_bed(head: bpy.types.Object, core_head, record: dict, link) -> list[bpy.types.Object]:
    """Lay the identity's bed (a `pain3d.bed.draw_bed` record) around `head`, built from the core
    head's points; `link(obj)` puts each part in the scene."""
    bust = core_head.params.bust
    parts = make_bedding(core_head.vertices, record, bust.z_notch, bust.z_acromion)
    out = []
    for name, field in parts.items():
        mesh = bpy.data.meshes.new(f"{head.name}_{name}")
        mesh.from_pydata(field.vertices.tolist(), [], field.quads.tolist())
        mesh.polygons.foreach_set("use_smooth", np.full(len(field.quads), field.smooth))
        uv = mesh.uv_layers.new(name="UVMap")
        uv.data.foreach_set("uv", field.uv[field.quads.ravel()].astype(np.float32).ravel())
        mesh.update()
        obj = bpy.data.objects.new(mesh.name, mesh)
        obj.data.materials.append(rail_material() if name == "rails" else
                                  linen_material(name, hex_to_rgb(record[LINEN_COLOUR[name]])))
        obj[BED_PROP] = json.dumps(record)
        obj.parent = head
        link(obj)
        out.append(obj)
    return out


def bed_record(head: bpy.types.Object) -> dict | None:
    """The bed record the head lies in (None: no bed)."""
    bedding = parts_of(head, BED_PROP)
    return json.loads(bedding[0][BED_PROP]) if bedding else None


def remove_bed(head: bpy.types.Object) -> None:
    """Delete the head's bedding with its meshes and materials."""
    remove_parts(head, BED_PROP, bpy.data.meshes)


def rail_material() -> bpy.types.Material:
    """The side rails' satin high-pressure laminate, a light warm grey."""
    mat = bpy.data.materials.new("Pain3D_bed_rail")
    use_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*[float(c) for c in srgb_to_linear(hex_to_rgb(RAIL_COLOUR))], 1.0)
    bsdf.inputs["Roughness"].default_value = 0.35
    mat.pass_index = MASK_CLASSES["bedding"]
    add_label_outputs(mat)
    return mat


def linen_material(part: str, srgb: np.ndarray) -> bpy.types.Material:
    """Matte cotton: the linen's colour, sheen, and its weave as a fine bump (UVs are metres)."""
    mat = bpy.data.materials.new(f"Pain3D_linen_{part}")
    use_nodes(mat)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*[float(c) for c in srgb_to_linear(srgb)], 1.0)
    bsdf.inputs["Roughness"].default_value = 0.85
    bsdf.inputs["Sheen Weight"].default_value = 0.4
    bsdf.inputs["Sheen Roughness"].default_value = 0.6
    uv = nodes.new("ShaderNodeTexCoord").outputs["UV"]
    weave = nodes.new("ShaderNodeTexChecker")  # over and under: a plain weave at the thread pitch
    weave.inputs["Scale"].default_value = 1000.0 / WEAVE_MM[part]
    links.new(uv, weave.inputs["Vector"])
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.15 if part != "blanket" else 0.4
    bump.inputs["Distance"].default_value = 0.0003 if part != "blanket" else 0.001
    links.new(weave.outputs["Fac"], bump.inputs["Height"])
    links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    mat.pass_index = MASK_CLASSES["bedding"]
    add_label_outputs(mat)
    return mat

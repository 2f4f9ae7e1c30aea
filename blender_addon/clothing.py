"""Clothes in Blender: a core garment shell (`pain3d.clothing`) as a mesh object parented to the
head, with a cloth material (sheen, a weave in the normal, the record's colours and pattern) that
draws the mask's clothing class; earrings as small metal or pearl objects on the lobes, in the
same class."""

from __future__ import annotations

import json

import bpy
import numpy as np

from ..dataset import MASK_CLASSES
from .compat import use_nodes
from .nodes import math_node, mix, rgb
from .parts import parts_of, remove_parts
from .shading import add_label_outputs

CLOTHING_PROP = "pain3d_clothing"  # on the garment object: its clothing record (JSON)
EARRING_PROP = "pain3d_earring"  # on an earring object: its earrings record (JSON)
JEWEL_ROUGHNESS = {"metal": 0.18, "pearl": 0.25}


def add_clothing(head: bpy.types.Object, shell, garment, record: dict, link) -> bpy.types.Object:
    """The garment `shell` (`pain3d.clothing.build_garment`) on `head`; `link(obj)` puts it in the scene."""
    mesh = _mesh(f"{head.name}_{garment.name}", shell.vertices, shell.polygons)
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", np.concatenate(shell.corner_uv).astype(np.float32).ravel())
    return _worn(head, mesh, cloth_material(garment, record), CLOTHING_PROP, record, link)


def add_earrings(head: bpy.types.Object, earrings, record: dict, link) -> list[bpy.types.Object]:
    """Both ears' earrings (`pain3d.clothing.earring_meshes`) of an earrings `record` on `head`."""
    material = jewellery_material(record)
    return [_worn(head, _mesh(f"{head.name}_earring_{e.side}", e.vertices, e.polygons), material, EARRING_PROP,
                  record, link) for e in earrings]


def _mesh(name: str, vertices: np.ndarray, polygons: list) -> bpy.types.Mesh:
    """A smooth-shaded mesh from vertices and polygons (vertex index lists)."""
    mesh = bpy.data.meshes.new(name)
    loop_verts = np.concatenate(polygons).astype(np.int32)
    starts = np.concatenate([[0], np.cumsum([len(p) for p in polygons])[:-1]]).astype(np.int32)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", np.asarray(vertices, np.float32).ravel())
    mesh.loops.add(len(loop_verts))
    mesh.loops.foreach_set("vertex_index", loop_verts)
    mesh.polygons.add(len(polygons))
    mesh.polygons.foreach_set("loop_start", starts)
    mesh.polygons.foreach_set("use_smooth", np.ones(len(polygons), dtype=bool))
    return mesh


def _worn(head: bpy.types.Object, mesh: bpy.types.Mesh, material, prop: str, record: dict, link) -> bpy.types.Object:
    mesh.update(calc_edges=True)
    mesh.validate(clean_customdata=False)
    obj = bpy.data.objects.new(mesh.name, mesh)
    obj.data.materials.append(material)
    obj[prop] = json.dumps(record)
    obj.parent = head
    link(obj)
    return obj


def clothing_objects(head: bpy.types.Object) -> list[bpy.types.Object]:
    """The head's garments (not its earrings)."""
    return parts_of(head, CLOTHING_PROP)


def earring_objects(head: bpy.types.Object) -> list[bpy.types.Object]:
    return parts_of(head, EARRING_PROP)


def clothing_record(head: bpy.types.Object) -> dict | None:
    """The clothing record the head is dressed in (None: bare)."""
    worn = clothing_objects(head)
    return json.loads(worn[0][CLOTHING_PROP]) if worn else None


def remove_clothing(head: bpy.types.Object) -> None:
    """Delete the head's garments and earrings with their meshes and materials."""
    remove_parts(head, CLOTHING_PROP, bpy.data.meshes)
    remove_parts(head, EARRING_PROP, bpy.data.meshes)


def jewellery_material(record: dict) -> bpy.types.Material:
    """Polished metal (the record's colour as its reflectance) or a pearl: a pale dielectric under a
    clear coat (its lustre). Draws the mask's clothing class."""
    pearl = record["finish"] == "pearl"
    mat = bpy.data.materials.new(f"Pain3D_earring_{record['finish']}")
    use_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*_linear(record["colour"]), 1.0)
    bsdf.inputs["Metallic"].default_value = 0.0 if pearl else 1.0
    bsdf.inputs["Roughness"].default_value = JEWEL_ROUGHNESS["pearl" if pearl else "metal"]
    if pearl:
        bsdf.inputs["Coat Weight"].default_value = 1.0
        bsdf.inputs["Coat Roughness"].default_value = 0.05
    mat.pass_index = MASK_CLASSES["clothing"]
    add_label_outputs(mat)
    return mat


def cloth_material(garment, record: dict) -> bpy.types.Material:
    """Principled cloth: the record's colour and pattern in metric UVs, sheen, and a weave bump."""
    mat = bpy.data.materials.new(f"Pain3D_cloth_{garment.name}")
    use_nodes(mat)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    uv = nodes.new("ShaderNodeTexCoord").outputs["UV"]
    base = rgb(nodes, _linear(record["colour"])).outputs[0]
    second = rgb(nodes, _linear(record["pattern_colour"])).outputs[0]
    scale = 1000.0 / max(float(record["pattern_scale_mm"]), 1.0)  # UVs are metres
    colour = _pattern(nodes, links, record["pattern"], uv, scale, float(record.get("pattern_angle", 0.0)), base, second)
    links.new(colour, bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = garment.roughness
    bsdf.inputs["Sheen Weight"].default_value = garment.sheen
    bsdf.inputs["Sheen Roughness"].default_value = 0.5
    weave = nodes.new("ShaderNodeTexWave")  # threads: bands across the weave, at its pitch
    weave.wave_type, weave.bands_direction = "BANDS", "DIAGONAL"
    weave.inputs["Scale"].default_value = 1000.0 / max(garment.weave_mm, 0.1)
    links.new(uv, weave.inputs["Vector"])
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.25
    bump.inputs["Distance"].default_value = 0.0004
    links.new(weave.outputs["Fac"], bump.inputs["Height"])
    links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    mat.pass_index = MASK_CLASSES["clothing"]
    add_label_outputs(mat)
    return mat


def _pattern(nodes, links, kind: str, uv, scale: float, angle: float, base, second):
    """The base colour socket of a pattern: solid, stripes, check, heather or a small print."""
    if kind == "solid":
        return base
    coords = uv
    if angle:
        turn = nodes.new("ShaderNodeMapping")
        turn.inputs["Rotation"].default_value[2] = np.radians(angle)
        links.new(uv, turn.inputs["Vector"])
        coords = turn.outputs["Vector"]
    if kind == "stripes":
        wave = nodes.new("ShaderNodeTexWave")
        wave.wave_type, wave.bands_direction, wave.wave_profile = "BANDS", "Y", "SAW"
        wave.inputs["Scale"].default_value = scale / 6.0
        links.new(coords, wave.inputs["Vector"])
        factor = math_node(nodes.id_data, "GREATER_THAN", wave.outputs["Fac"], 0.6)
    elif kind == "check":
        check = nodes.new("ShaderNodeTexChecker")
        check.inputs["Scale"].default_value = scale / 6.0
        links.new(coords, check.inputs["Vector"])
        factor = check.outputs["Fac"]
    elif kind == "heather":
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = scale * 2.0
        noise.inputs["Detail"].default_value = 4.0
        links.new(coords, noise.inputs["Vector"])
        factor = math_node(nodes.id_data, "MULTIPLY", noise.outputs["Fac"], 0.35)
    else:  # print: small dots
        dots = nodes.new("ShaderNodeTexVoronoi")
        dots.inputs["Scale"].default_value = scale
        dots.inputs["Randomness"].default_value = 0.3  # a printed lattice, not scattered specks
        links.new(coords, dots.inputs["Vector"])
        factor = math_node(nodes.id_data, "LESS_THAN", dots.outputs["Distance"], 0.22)
    return mix(nodes, links, base, second, factor).outputs["Result"]


def _linear(srgb) -> tuple[float, float, float]:
    from ..colour import srgb_to_linear

    return tuple(float(c) for c in srgb_to_linear(np.asarray(srgb, float)))

"""Hair in Blender: a core groom (`pain3d.hair`) as hair-curves objects on the head, deformed
with the head's shape keys, shaded with Cycles' Principled Hair BSDF.

Each strand set (scalp, brows, lashes, beard) becomes one Curves object whose `surface` is the
head: every curve stores its root's point in the head's hair UV map, and a Deform Curves on
Surface modifier moves and turns each strand with its root triangle as the AU shape keys move
the skin, so brows follow AU1/2/4 and beards the jaw. Which mask class a strand set draws is the
dataset contract's (`pain3d.dataset.MASK_CLASSES`): eyebrow strands are brows, the rest hair.
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from ..dataset import MASK_CLASSES
from ..makeup import MASCARA_MELANIN, mascara_lashes, wears_mascara
from .compat import set_modifier_input, use_nodes
from .nodes import attribute, math_node
from .parts import parts_of, remove_parts
from .shading import SCALP_ATTRIBUTE, add_label_outputs

COLLISION_MARGIN = 0.0003  # metres: posed strands stay this far off the skin
COLLIDING = ("brows", "lashes", "beard")  # the kinds the face's expressions move
HAIR_UV = "Pain3D_HairUV"  # the skin UVs; other parts moved off [0, 1] so a root's UV is unique
DEFORM_GROUP = "Pain3D Hair Deform"
GREY_ATTRIBUTE = "pain3d_grey"
HAIR_PROP = "pain3d_hair"  # on each hair object: the strand set's kind
SURFACE_PROP = "pain3d_hair_surface"  # on the unsubdivided, unseen twin of the head the strands hang on
RECORD_PROP = "pain3d_hair_record"  # on the head: its hair record (JSON), what the panel edits
VIEWPORT_DETAIL = 0.5  # the panel's strands: half the farm's full count, quick to regrow
MASK_CLASS = {"scalp": "hair", "brows": "brows", "lashes": "hair", "beard": "hair"}
# Principled Hair settings per kind: roughness, radial roughness, coat, share of the melanin
# that a grey strand keeps, and how much darker than the scalp the kind tends to be.
LOOK = {"scalp": (0.38, 0.4, 0.0, 0.08, 0.0), "brows": (0.4, 0.4, 0.0, 0.12, 0.15),
        "lashes": (0.35, 0.35, 0.0, 0.2, 0.5), "beard": (0.42, 0.4, 0.0, 0.1, 0.1)}


def add_hair(context, head: bpy.types.Object, groom, link, makeup: dict | None = None) -> list[bpy.types.Object]:
    """One hair-curves object per strand set of `groom`, on `head`; `link(obj)` puts each in the
    scene (the head's collection). A `makeup` record with mascara lengthens, thickens and blackens
    the lashes."""
    surface = hair_surface(head, link)
    objects = []
    for kind, strands in groom.sets.items():
        record = groom.record
        if kind == "lashes" and wears_mascara(makeup):
            strands = mascara_lashes(strands, makeup["mascara"])
            record = {**record, "melanin": MASCARA_MELANIN, "redness": 0.0}
        obj = curves_object(f"{head.name}_{kind}", strands, surface)
        obj.data.materials.append(hair_material(kind, record))
        obj[HAIR_PROP] = kind
        obj.parent = head
        modifier = obj.modifiers.new("Pain3D deform on skin", "NODES")
        modifier.node_group = deform_group(collide=kind in COLLIDING)
        set_modifier_input(modifier, modifier.node_group.interface.items_tree["Skin"].identifier, head)
        link(obj)
        objects.append(obj)
    return objects


def paint_hair_shadow(head: bpy.types.Object, core_head, groom) -> None:
    """The hair's shadow on the head's skin, in the scalp hair's colour: under the scalp's strands
    (`pain3d.hair.scalp.scalp_shadow`), along the lash line (`pain3d.hair.face_hair.lash_line`)
    and a man's beard roots (`beard_root_shadow`), which the built-in skin shader lays under the
    strands; none without a groom."""
    from ..hair.colour import scalp_rgb
    from ..hair.face_hair import beard_root_shadow, lash_line
    from ..hair.scalp import scalp_shadow
    from ..skin_regions import beard_weights

    mesh = head.data
    values = np.zeros((len(mesh.vertices), 4), np.float32)
    if groom is not None:
        values[:, :3] = scalp_rgb(groom.record)
        if "scalp" in groom.sets:
            values[:, 3] = scalp_shadow(core_head, groom.record)
        if "lashes" in groom.sets:
            values[:, 3] = np.maximum(values[:, 3], lash_line(core_head, groom.record))
        growth = groom.record.get("beard_growth", 0.0)  # records made before it: none
        if growth:
            lips = _point_colours(mesh, "regions")[:, 0]
            values[:, 3] = np.maximum(values[:, 3], beard_root_shadow(growth, beard_weights(core_head, lips)))
    layer = mesh.color_attributes.get(SCALP_ATTRIBUTE) or mesh.color_attributes.new(SCALP_ATTRIBUTE, "FLOAT_COLOR",
                                                                                     "POINT")
    layer.data.foreach_set("color", values.ravel())


def _point_colours(mesh: bpy.types.Mesh, name: str) -> np.ndarray:
    """(V, 4) values of a per-vertex colour attribute."""
    values = np.zeros(len(mesh.vertices) * 4, np.float32)
    mesh.color_attributes[name].data.foreach_get("color", values)
    return values.reshape(-1, 4)


def hair_surface(head: bpy.types.Object, link) -> bpy.types.Object:
    """The surface the strands are attached to: an object of the head's own mesh (so its shape keys)
    without the head's subdivision, invisible to every ray, its rest positions kept for the deform
    node. Deform Curves on Surface measures a strand's turn against the mesh as built; on the
    subdivided skin it read the smoothing as motion and turned strands rigidly about their roots,
    long ones by up to 14 cm at the tips (the stray strands beside curly hair)."""
    surface = next((child for child in head.children if SURFACE_PROP in child), None)
    if surface is None:
        prepare_uvs(head.data)
        surface = bpy.data.objects.new(f"{head.name}_hair_surface", head.data)
        surface[SURFACE_PROP] = True
        surface.parent = head
        surface.add_rest_position_attribute = True
        for ray in ("camera", "diffuse", "glossy", "transmission", "volume_scatter", "shadow"):
            setattr(surface, f"visible_{ray}", False)
        link(surface)
        surface.hide_set(True)  # nor does scene.ray_cast see it
    return surface


def prepare_uvs(mesh: bpy.types.Mesh) -> None:
    """A UV map where only the skin lies in [0, 1], so that each root's UV names one skin point."""
    if HAIR_UV not in mesh.uv_layers:
        base = mesh.uv_layers[0]
        uv = np.empty(len(base.data) * 2, np.float32)
        base.data.foreach_get("uv", uv)
        parts = np.empty(len(mesh.polygons), np.int32)
        sizes = np.empty(len(mesh.polygons), np.int32)
        mesh.polygons.foreach_get("material_index", parts)
        mesh.polygons.foreach_get("loop_total", sizes)
        uv = uv.reshape(-1, 2)
        uv[np.repeat(parts, sizes) != 0] += 2.0  # material slot 0 is the skin (the core's part order)
        layer = mesh.uv_layers.new(name=HAIR_UV)
        layer.data.foreach_set("uv", uv.ravel())
        mesh.uv_layers.active = mesh.uv_layers[0]


def curves_object(name: str, strands, surface: bpy.types.Object) -> bpy.types.Object:
    """A hair-curves object of a strand set, attached to `surface` through its roots' UVs."""
    n, k, _ = strands.points.shape
    curves = bpy.data.hair_curves.new(name)
    curves.add_curves([k] * n)
    curves.points.foreach_set("position", np.ascontiguousarray(strands.points, np.float32).ravel())
    radius = curves.attributes.get("radius") or curves.attributes.new("radius", "FLOAT", "POINT")
    radius.data.foreach_set("value", np.ascontiguousarray(strands.radius, np.float32).ravel())
    uv = curves.attributes.new("surface_uv_coordinate", "FLOAT2", "CURVE")
    uv.data.foreach_set("vector", np.asarray(strands.roots.uv, np.float32).ravel())
    grey = curves.attributes.new(GREY_ATTRIBUTE, "FLOAT", "CURVE")
    grey.data.foreach_set("value", np.asarray(strands.grey, np.float32))
    curves.surface = surface
    curves.surface_uv_map = HAIR_UV
    return bpy.data.objects.new(name, curves)


def deform_group(collide: bool) -> bpy.types.NodeTree:
    """The geometry-node group that moves strands with their root triangles, and with `collide`
    then out of the posed skin (shared by the hair objects; each modifier names its head "Skin").

    Deform Curves on Surface turns each strand rigidly with its root's triangle; where the skin
    folds under an expression (the jaw dropping onto a beard, lids closing, brows pulled down) the
    rest of a strand would pass into the skin, so every point but the root that ends up inside,
    or closer than COLLISION_MARGIN, is moved to that distance off the nearest skin point along
    its normal. The scalp barely moves with the face and its strands are grown clear of the skin,
    so it skips this step, which costs a search of the subdivided head per evaluation."""
    name = DEFORM_GROUP + (" and collide" if collide else "")
    group = bpy.data.node_groups.get(name)
    if group is not None:
        return group
    group = bpy.data.node_groups.new(name, "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Skin", in_out="INPUT", socket_type="NodeSocketObject")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    source, sink = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    deform = nodes.new("GeometryNodeDeformCurvesOnSurface")
    links.new(source.outputs["Geometry"], deform.inputs[0])
    if not collide:
        links.new(deform.outputs[0], sink.inputs[0])
        return group
    skin = nodes.new("GeometryNodeObjectInfo")
    skin.transform_space = "RELATIVE"
    links.new(source.outputs["Skin"], skin.inputs["Object"])
    position = nodes.new("GeometryNodeInputPosition").outputs["Position"]
    nearest = nodes.new("GeometryNodeProximity")
    nearest.target_element = "FACES"
    links.new(skin.outputs["Geometry"], nearest.inputs["Geometry"])
    links.new(position, nearest.inputs["Sample Position"])
    normal = nodes.new("GeometryNodeSampleNearestSurface")
    normal.data_type = "FLOAT_VECTOR"
    links.new(skin.outputs["Geometry"], normal.inputs["Mesh"])
    links.new(nodes.new("GeometryNodeInputNormal").outputs["Normal"], normal.inputs["Value"])
    links.new(position, normal.inputs["Sample Position"])
    height = _vector_math(group, "DOT_PRODUCT", _vector_math(group, "SUBTRACT", position,
                                                             nearest.outputs["Position"]), normal.outputs["Value"])
    too_low = math_node(group, "LESS_THAN", height, COLLISION_MARGIN)
    along = nodes.new("GeometryNodeSplineParameter").outputs["Factor"]
    not_root = math_node(group, "GREATER_THAN", along, 1e-6)
    lifted = _vector_math(group, "ADD", nearest.outputs["Position"],
                          _vector_math(group, "SCALE", normal.outputs["Value"], COLLISION_MARGIN))
    move = nodes.new("GeometryNodeSetPosition")
    links.new(deform.outputs[0], move.inputs["Geometry"])
    links.new(math_node(group, "MULTIPLY", too_low, not_root), move.inputs["Selection"])
    links.new(lifted, move.inputs["Position"])
    links.new(move.outputs["Geometry"], sink.inputs[0])
    return group


def _vector_math(tree, operation: str, a, b):
    node = tree.nodes.new("ShaderNodeVectorMath")
    node.operation = operation
    tree.links.new(a, node.inputs[0])
    if operation == "SCALE":
        node.inputs["Scale"].default_value = float(b)
    else:
        tree.links.new(b, node.inputs[1])
    return node.outputs["Value" if operation == "DOT_PRODUCT" else "Vector"]


def hair_material(kind: str, record: dict) -> bpy.types.Material:
    """Principled Hair (melanin model) in the record's colour; grey strands keep little melanin."""
    roughness, radial, coat, grey_keeps, darker = LOOK[kind]
    melanin = min(1.0, record["melanin"] + darker * (1.0 - record["melanin"]))
    mat = bpy.data.materials.new(f"Pain3D_hair_{kind}")
    use_nodes(mat)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    for node in list(nodes):
        if node.type != "OUTPUT_MATERIAL":
            nodes.remove(node)
    output = next(n for n in nodes if n.type == "OUTPUT_MATERIAL")
    pigmented = _hair_bsdf(nodes, melanin, record["redness"], roughness, radial, coat)
    grey = _hair_bsdf(nodes, melanin * grey_keeps, 0.1, roughness, radial, coat)
    mix = nodes.new("ShaderNodeMixShader")
    links.new(attribute(nodes, GREY_ATTRIBUTE).outputs["Fac"], mix.inputs["Fac"])
    links.new(pigmented.outputs[0], mix.inputs[1])
    links.new(grey.outputs[0], mix.inputs[2])
    links.new(mix.outputs[0], output.inputs["Surface"])
    mat.pass_index = MASK_CLASSES[MASK_CLASS[kind]]
    add_label_outputs(mat)
    return mat


def _hair_bsdf(nodes, melanin: float, redness: float, roughness: float, radial: float, coat: float):
    bsdf = nodes.new("ShaderNodeBsdfHairPrincipled")
    bsdf.parametrization = "MELANIN"
    values = {"Melanin": melanin, "Melanin Redness": redness, "Roughness": roughness,
              "Radial Roughness": radial, "Coat": coat, "Random Color": 0.12, "Random Roughness": 0.15}
    for name, value in values.items():
        if name in bsdf.inputs:
            bsdf.inputs[name].default_value = value
    return bsdf


def regrow(context, head: bpy.types.Object, core_head, record: dict | None, link,
           detail: float = VIEWPORT_DETAIL) -> None:
    """Replace the head's hair with the strands of `record` (None: no hair) and keep the record on
    the head, where the panel reads it and the job export takes its style and beard. No scalp hair
    grows under the headscarf the head wears."""
    from .. import hair as core_hair
    from ..clothing import hair_kinds
    from .clothing import clothing_record

    remove_hair(head)
    if record is None:
        head.pop(RECORD_PROP, None)
        paint_hair_shadow(head, core_head, None)
        return
    groom = core_hair.grow_groom(core_head, record, detail=detail, kinds=hair_kinds(clothing_record(head)))
    add_hair(context, head, groom, link)
    paint_hair_shadow(head, core_head, groom)
    head[RECORD_PROP] = json.dumps(record)


def head_record(head: bpy.types.Object) -> dict | None:
    text = head.get(RECORD_PROP)
    return json.loads(text) if text else None


def hair_objects(head: bpy.types.Object) -> list[bpy.types.Object]:
    return parts_of(head, HAIR_PROP)


def remove_hair(head: bpy.types.Object) -> None:
    """Delete the head's hair objects with their curves and materials, and their surface."""
    remove_parts(head, HAIR_PROP, bpy.data.hair_curves)
    for surface in parts_of(head, SURFACE_PROP):
        bpy.data.objects.remove(surface)  # its mesh is the head's

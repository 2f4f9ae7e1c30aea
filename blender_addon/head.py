"""The head object: a core identity as a Blender mesh with AU shape keys driven by the head's AU
intensity properties. Geometry and FACS decisions are the core's (`pain3d.identity`, `pain3d.rig`);
this module only turns their arrays into Blender data and reads the deformed mesh back."""

from __future__ import annotations

import json

import bpy
import numpy as np

from .. import facs, rig
from .bed import add_bed, remove_bed
from .compat import add_driver
from .clothing import add_clothing, add_earrings, clothing_record, remove_clothing
from .hair import RECORD_PROP, VIEWPORT_DETAIL, add_hair, head_record, paint_hair_shadow, regrow, remove_hair
from .shading import HEAT_ATTRIBUTE, assign_materials

HEAD_COLLECTION = "Pain3D"
LANDMARKS_PROP = "pain3d_landmarks"  # 68 iBUG vertex indices on the head object
FACE_FRAME_PROP = "pain3d_face_frame"  # [cx, cy, cz, extent] of the face in object space
CONTOUR_PROP = "pain3d_contour"  # the jaw contour's slices: vertex ids, run lengths, outline centre


IDENTITY_PROP = "pain3d_identity"  # age, sex, ethnicity, level: what rebuilds the core head


def new_head(context, age: float, sex: str, ethnicity: str, seed: int, level: int = 1,
             skin_tone: float | None = None, hair: bool = True, clothes: bool = True) -> bpy.types.Object:
    """Build a complete head (mesh, materials, AU shape keys and drivers, and hair, and clothes and
    make-up, drawn from the priors for its age, sex and group unless `hair` or `clothes` is false) and
    make it active."""
    from ..hair import grow_groom  # the pure head model, its AU rig and its hair
    from ..identity import build_identity

    from ..clothing import hair_kinds
    from ..makeup import draw_makeup
    from ..seeds import derive_seed

    identity = build_identity(age=age, sex=sex, ethnicity=ethnicity, seed=seed, level=level)
    who = {"age": age, "sex": sex, "ethnicity": ethnicity}
    clothing = prior_clothing(who, seed) if clothes else None
    makeup = draw_makeup(who, {}, derive_seed(seed, MAKEUP_STREAM)) if clothes else None
    groom = None
    if hair:
        record = prior_hair(who, seed)
        groom = grow_groom(identity.head, record, kinds=hair_kinds(clothing), detail=VIEWPORT_DETAIL)
    obj = head_object(context, identity, seed, skin_tone, groom=groom, clothing=clothing, makeup=makeup)
    obj[IDENTITY_PROP] = json.dumps({"age": age, "sex": sex, "ethnicity": ethnicity, "level": level})
    if groom is not None:
        obj[RECORD_PROP] = json.dumps(groom.record)
    return obj


HAIR_STREAM = 77  # the panel's hair draws: a stream of the head seed of their own
CLOTHING_STREAM = 78  # ... and its clothes
MAKEUP_STREAM = 79  # ... and its make-up
BED_STREAM = 80  # ... and its bed's linen and creases


def prior_hair(who: dict, head_seed: int, *draw: int) -> dict:
    """A hair record from the priors for a head's age, sex and group: the new head's (no `draw`),
    or the panel's n-th Random Hair draw."""
    from ..hair import draw_hair
    from ..seeds import derive_seed

    return draw_hair(who, {}, derive_seed(head_seed, HAIR_STREAM, *draw))


def prior_clothing(who: dict, head_seed: int, *draw: int, garment: str = "") -> dict:
    """A clothing record for a head: from the priors for its age, sex and group (or `garment`, with
    drawn colours and pattern); the new head's (no `draw`) or the panel's n-th draw."""
    from ..clothing import draw_clothing
    from ..seeds import derive_seed

    return draw_clothing(who, {"garment": garment} if garment else {}, derive_seed(head_seed, CLOTHING_STREAM, *draw))


def wear(context, head: bpy.types.Object, record: dict | None) -> None:
    """Dress the head in a clothing record (None: bare); its hair regrows when a headscarf goes on
    or comes off (no scalp hair under it)."""
    from ..clothing import hair_kinds

    before = clothing_record(head)
    remove_clothing(head)
    core, link = core_head_of(head), collection(context).objects.link
    if record:
        dress(head, core, record, link)
    hair = head_record(head)
    if hair and hair_kinds(before) != hair_kinds(record):
        regrow(context, head, core, hair, link)


def lay_in_bed(context, head: bpy.types.Object, turn: float, recline: float, draw: int = 0) -> dict:
    """Lay the head in a hospital bed turned `turn` degrees on the pillow under a backrest raised
    `recline` degrees (linen and creases drawn from the head's seed); returns the bed record."""
    from ..bed import draw_bed
    from ..seeds import derive_seed

    record = draw_bed({"turn": [turn, turn], "recline": [recline, recline]},
                      derive_seed(int(head.pain3d.identity_seed), BED_STREAM, draw))
    remove_bed(head)
    add_bed(head, core_head_of(head), record, collection(context).objects.link)
    return record


def core_head_of(obj: bpy.types.Object):
    """The core head mesh a Blender head was built from (what its hair grows on)."""
    from ..identity import neutral_head

    who = json.loads(obj[IDENTITY_PROP])
    return neutral_head(who["age"], who["sex"], who["ethnicity"], int(obj.pain3d.identity_seed), who["level"])


def head_object(context, identity, seed: int, skin_tone: float | None = None,
                textures: dict[str, str] | None = None, groom=None, clothing: dict | None = None,
                makeup: dict | None = None, bed: dict | None = None) -> bpy.types.Object:
    """The Blender head of a core identity (`pain3d.identity.build_identity`), made active.

    `textures` maps albedo, roughness, normal and eyes to the image files of a texture set
    (docs/texture-set.md); without it the skin and eyes use the built-in procedural shaders.
    `groom` (`pain3d.hair.grow_groom`) adds its strands as hair curves on the head; `clothing`
    (a record of `pain3d.clothing.draw_clothing`) dresses its bust; `makeup` (a record of
    `pain3d.makeup.draw_makeup`) paints the skin and, with mascara, the lashes; `bed` (a record of
    `pain3d.bed.draw_bed`) lays the clinical scene's bedding around it.
    """
    tone = identity.skin_tone if skin_tone is None else skin_tone
    obj = mesh_object(identity.mesh, name=f"Pain3D_Head_{seed}")
    smooth = obj.modifiers.new("Pain3D_Smooth", "SUBSURF")  # renders smooth; the cage keeps the landmarks
    smooth.levels, smooth.render_levels = 0, 1
    assign_materials(obj, identity.mesh, tone, identity.iris_rgb, textures, strands=groom is not None, makeup=makeup,
                     maleness=identity.head.params.maleness, ageing=identity.head.params.age_factor,
                     ethnicity=identity.ethnicity)
    obj.data.attributes.new(HEAT_ATTRIBUTE, "FLOAT", "POINT")
    add_shape_keys(obj, identity.au_deltas)
    add_au_drivers(obj)
    obj.pain3d.is_head = True
    obj.pain3d.identity_seed = str(seed)
    obj[LANDMARKS_PROP] = [int(i) for i in identity.mesh.landmark_vertices]
    obj[FACE_FRAME_PROP] = [float(x) for x in identity.mesh.face_frame]
    slices = identity.mesh.contour_slices
    obj[CONTOUR_PROP] = {"ids": [int(i) for s in slices for i in s], "lengths": [len(s) for s in slices],
                         "centre": [float(x) for x in identity.mesh.outline_centre]}
    collection(context).objects.link(obj)
    if groom is not None:
        add_hair(context, obj, groom, collection(context).objects.link, makeup)
    if not textures:  # a texture set has the scalp's hair shadow painted in; a missing attribute reads opaque
        paint_hair_shadow(obj, identity.head, groom)
    if clothing:
        dress(obj, identity.head, clothing, collection(context).objects.link)
    if bed:
        add_bed(obj, identity.head, bed, collection(context).objects.link)
    for other in context.view_layer.objects:
        other.select_set(False)
    context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


def dress(obj: bpy.types.Object, core_head, record: dict, link) -> list[bpy.types.Object]:
    """Put on the garments and earrings of a clothing record (`pain3d.clothing`), built on the core
    head's bust and ears."""
    from ..clothing import earring_meshes, garments, outfit

    table = garments(record.get("garments_file") or None)
    worn = [add_clothing(obj, shell, garment, colours, link) for garment, shell, colours in outfit(core_head, record, table)]
    if record.get("earrings"):
        worn += add_earrings(obj, earring_meshes(core_head, record["earrings"]), record["earrings"], link)
    return worn


def mesh_object(mesh_data, name: str) -> bpy.types.Object:
    """A Blender mesh object from a core mesh (vertices, polygons, face parts, skin UVs)."""
    mesh = bpy.data.meshes.new(name)
    verts = np.asarray(mesh_data.vertices, dtype=np.float32)
    loop_starts, loop_verts = mesh_data.polygon_starts, mesh_data.polygon_vertices
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.ravel())
    mesh.loops.add(len(loop_verts))
    mesh.loops.foreach_set("vertex_index", np.asarray(loop_verts, dtype=np.int32))
    mesh.polygons.add(len(loop_starts))
    mesh.polygons.foreach_set("loop_start", np.asarray(loop_starts, dtype=np.int32))
    mesh.polygons.foreach_set("material_index", np.asarray(mesh_data.polygon_parts, dtype=np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(loop_starts), dtype=bool))
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", np.asarray(mesh_data.loop_uvs, dtype=np.float32).ravel())
    mesh.update(calc_edges=True)
    mesh.validate(clean_customdata=False)
    for name_, weights in mesh_data.color_attributes.items():
        attr = mesh.color_attributes.new(name_, "FLOAT_COLOR", "POINT")
        rgba = np.c_[np.asarray(weights, np.float32), np.ones(len(weights), np.float32)]
        attr.data.foreach_set("color", rgba.ravel())
    return bpy.data.objects.new(name, mesh)


def collection(context) -> bpy.types.Collection:
    coll = bpy.data.collections.get(HEAD_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(HEAD_COLLECTION)
        context.scene.collection.children.link(coll)
    return coll


def add_shape_keys(obj: bpy.types.Object, deltas: dict[str, np.ndarray]) -> None:
    """A basis key plus one key per rig target (`AU4_L`, `AU9`, ...), values 0."""
    base = np.empty(len(obj.data.vertices) * 3, dtype=np.float32)
    obj.data.vertices.foreach_get("co", base)
    obj.shape_key_add(name="Basis", from_mix=False)
    for name, delta in deltas.items():
        key = obj.shape_key_add(name=name, from_mix=False)
        key.slider_min, key.slider_max = 0.0, 1.0
        key.data.foreach_set("co", base + np.asarray(delta, dtype=np.float32).ravel())


def add_au_drivers(obj: bpy.types.Object) -> None:
    """Drive each rig target's shape key from the object's AU intensity properties.

    The driver is a simple expression (no Python at evaluation time): the largest of the
    target's source intensities, times zero while a suppressing AU is on (`rig.RigTarget`).
    Its F-curve's linear keyframes are the FACS intensity -> weight knots, so the mapping
    is exactly `facs.intensity_to_weight`.
    """
    blocks = obj.data.shape_keys.key_blocks
    for target in rig.targets():
        curve = add_driver(blocks[target.name], "value")
        driver = curve.driver
        driver.type = "SCRIPTED"
        for prop in target.sources + target.suppressed_by:
            var = driver.variables.new()
            var.name = prop
            var.type = "SINGLE_PROP"
            var.targets[0].id_type = "OBJECT"
            var.targets[0].id = obj
            var.targets[0].data_path = f"pain3d.{prop}"
        driver.expression = driver_expression(target)
        _set_mapping(curve, facs.catalog()[target.au].scale)


def driver_expression(target: "rig.RigTarget") -> str:
    value = f"max({', '.join(target.sources)}, 0)"
    if target.suppressed_by:
        value += f" * (max({', '.join(target.suppressed_by)}, 0) == 0)"
    return value


def _set_mapping(curve: bpy.types.FCurve, scale: str) -> None:
    xs, ys = ((0.0, 1.0), (0.0, 1.0)) if scale == "binary" else facs.intensity_scale().knots
    for x, y in zip(xs, ys):
        point = curve.keyframe_points.insert(float(x), float(y))
        point.interpolation = "LINEAR"
    curve.extrapolation = "CONSTANT"


def set_aus(obj: bpy.types.Object, aus: dict[str, float]) -> None:
    """Set the head's AU intensities (all others to 0) and re-evaluate its drivers."""
    clean = facs.check_aus(aus)
    for key in facs.all_keys():
        value = clean.get(key, 0.0)
        setattr(obj.pain3d, key, int(value) if facs.parse_key(key)[0].scale == "binary" else value)
    refresh(bpy.context)


def refresh(context) -> None:
    """Evaluate drivers now (headless Blender does not redraw)."""
    context.scene.frame_set(context.scene.frame_current)
    context.view_layer.update()


def shape_key_weights(obj: bpy.types.Object) -> dict[str, float]:
    return {block.name: block.value for block in obj.data.shape_keys.key_blocks[1:]}


def head_aus(obj: bpy.types.Object) -> dict[str, float]:
    """The head's current AU intensities by key (absent ones included as 0)."""
    return {key: float(getattr(obj.pain3d, key)) for key in facs.all_keys()}


def set_vertex_heat(head: bpy.types.Object, heat: np.ndarray) -> None:
    """Per-vertex heat (`pain3d.heatmap.vertex_heat`) that the heat AOV renders."""
    head.data.attributes[HEAT_ATTRIBUTE].data.foreach_set("value", np.asarray(heat, dtype=np.float32))
    head.data.update()


def posed_vertices(obj: bpy.types.Object, depsgraph=None) -> np.ndarray:
    """World positions (V, 3) of the evaluated (expression-deformed) mesh's vertices."""
    depsgraph = depsgraph or bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    world = np.array(obj.matrix_world)
    return co.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3]


def landmark_positions(obj: bpy.types.Object, depsgraph=None) -> np.ndarray:
    """World positions (68, 3) of the landmarks on the evaluated (expression-deformed) mesh."""
    return posed_vertices(obj, depsgraph)[np.asarray(obj[LANDMARKS_PROP], dtype=int)]


def contour_slices(obj: bpy.types.Object) -> tuple[list[np.ndarray], np.ndarray]:
    """The head's jaw-contour slices (vertex ids per landmark) and the outline centre (world)."""
    record = obj[CONTOUR_PROP]
    ids, lengths = np.asarray(record["ids"], dtype=int), np.asarray(record["lengths"], dtype=int)
    world = np.array(obj.matrix_world)
    return np.split(ids, np.cumsum(lengths)[:-1]), world[:3, :3] @ np.asarray(record["centre"]) + world[:3, 3]


def remove_head(head: bpy.types.Object) -> None:
    """Delete a head object with its mesh, shape keys and materials (the farm's next identity)."""
    remove_hair(head)
    remove_clothing(head)
    remove_bed(head)
    mesh, names = head.data, {m.name for m in head.data.materials if m is not None}
    bpy.data.objects.remove(head)
    bpy.data.meshes.remove(mesh)
    for name in names:
        if bpy.data.materials[name].users == 0:
            bpy.data.materials.remove(bpy.data.materials[name])
    bpy.context.view_layer.update()  # 5.x lists a removed object as None until the view layer updates

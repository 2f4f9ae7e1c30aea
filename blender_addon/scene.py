"""The Blender side of a head: objects, materials, shape keys, drivers, cameras, previews.

Everything here turns core data (numpy arrays from `core.head` and `core.rig`) into Blender
data; no geometry or FACS decision is made here. The farm uses the same functions.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from .core import camera as cam
from .core import facs, rig, scenery
from .core.dataset import MASK_CLASSES
from .core.fileio import atomic_write_text
from .core.jobs import SCHEMA, job_toml, load_job, read_toml, resolve_job_file, with_expression
from .core.skin import skin_tone_rgb

HEAD_COLLECTION = "Pain3D"
LANDMARKS_PROP = "pain3d_landmarks"  # 68 iBUG vertex indices on the head object
FACE_FRAME_PROP = "pain3d_face_frame"  # [cx, cy, cz, extent] of the face in object space


# --- the head object ---------------------------------------------------------------------


def new_head(context, age: float, sex: str, ethnicity: str, seed: int, level: int = 1,
             skin_tone: float | None = None) -> bpy.types.Object:
    """Build a complete head (mesh, materials, AU shape keys and drivers) and make it active."""
    from .core.identity import build_identity  # the pure head model and its AU rig

    identity = build_identity(age=age, sex=sex, ethnicity=ethnicity, seed=seed, level=level)
    return head_object(context, identity, seed, skin_tone)


def head_object(context, identity, seed: int, skin_tone: float | None = None,
                textures: dict[str, str] | None = None) -> bpy.types.Object:
    """The Blender head of a core identity (`core.identity.build_identity`), made active.

    `textures` maps albedo, roughness, normal and eyes to the image files of a texture set
    (docs/texture-set.md); without it the skin and eyes use the built-in procedural shaders.
    """
    tone = identity.skin_tone if skin_tone is None else skin_tone
    obj = mesh_object(identity.mesh, name=f"Pain3D_Head_{seed}")
    smooth = obj.modifiers.new("Pain3D_Smooth", "SUBSURF")  # renders smooth; the cage keeps the landmarks
    smooth.levels, smooth.render_levels = 0, 1
    assign_materials(obj, identity.mesh, tone, identity.iris_rgb, textures)
    obj.data.attributes.new(HEAT_ATTRIBUTE, "FLOAT", "POINT")
    add_shape_keys(obj, identity.au_deltas)
    add_au_drivers(obj)
    obj.pain3d.is_head = True
    obj.pain3d.identity_seed = str(seed)
    obj[LANDMARKS_PROP] = [int(i) for i in identity.mesh.landmark_vertices]
    obj[FACE_FRAME_PROP] = [float(x) for x in identity.mesh.face_frame]
    _collection(context).objects.link(obj)
    for other in context.view_layer.objects:
        other.select_set(False)
    context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


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


def _collection(context) -> bpy.types.Collection:
    coll = bpy.data.collections.get(HEAD_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(HEAD_COLLECTION)
        context.scene.collection.children.link(coll)
    return coll


# --- shape keys and drivers --------------------------------------------------------------


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
        curve = blocks[target.name].driver_add("value")
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
    for modifier in list(curve.modifiers):
        curve.modifiers.remove(modifier)
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


# --- materials ---------------------------------------------------------------------------


def assign_materials(obj: bpy.types.Object, mesh_data, skin_tone: float, iris_rgb,
                     textures: dict[str, str] | None = None) -> None:
    """One material slot per part, in the core's part order (a textured eye covers all three eye parts)."""
    textures = textures or {}
    eye = {"eye": textured_material("eye", textures["eyes"], 0.25)} if "eyes" in textures else {}
    shared = {"skin": skin_material(skin_tone, textures),
              "sclera": flat_material("sclera", (0.80, 0.78, 0.74), 0.25),
              "iris": flat_material("iris", tuple(iris_rgb), 0.3),
              "pupil": flat_material("pupil", (0.01, 0.01, 0.01), 0.2),
              "teeth": flat_material("teeth", (0.78, 0.74, 0.64), 0.35),
              "mouth_cavity": flat_material("mouth_cavity", (0.20, 0.04, 0.04), 0.6)}
    for part in mesh_data.part_names:  # eye_L_iris -> iris, teeth_upper -> teeth
        kind = next(k for k in shared if part == k or part.endswith("_" + k) or part.startswith(k))
        obj.data.materials.append(eye.get("eye", shared[kind]) if MATERIAL_CLASS[kind] == "eyes" else shared[kind])
    for kind, mat in {**shared, **eye}.items():
        mat.pass_index = MASK_CLASSES[MATERIAL_CLASS[kind]]  # the material-index pass is the coarse mask
        add_label_outputs(mat)
    for mat in shared.values():
        if mat.users == 0:  # eye parts that a textured eye replaced
            bpy.data.materials.remove(mat)


MATERIAL_CLASS = {"skin": "skin", "eye": "eyes", "sclera": "eyes", "iris": "eyes", "pupil": "eyes", "teeth": "teeth",
                  "mouth_cavity": "inner_mouth"}
HEAT_ATTRIBUTE = "pain_heat"  # per-vertex heat of the current expression (core.heatmap)
LABEL_AOVS = ("heat", "lips", "brows")


def add_label_outputs(mat: bpy.types.Material) -> None:
    """AOV outputs for the label passes: vertex heat, and where lips and brows are on the skin."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    heat = _attribute(nodes, HEAT_ATTRIBUTE)
    regions = _split(nodes, links, _attribute(nodes, "regions").outputs["Color"])
    for name, socket in (("heat", heat.outputs["Fac"]), ("lips", regions["Red"]), ("brows", regions["Green"])):
        out = nodes.new("ShaderNodeOutputAOV")
        out.aov_name = name
        links.new(socket, out.inputs["Value"])
    geometry = nodes.new("ShaderNodeNewGeometry")  # camera-space shading normal (the normals pass)
    to_camera = nodes.new("ShaderNodeVectorTransform")
    to_camera.vector_type, to_camera.convert_from, to_camera.convert_to = "NORMAL", "WORLD", "CAMERA"
    links.new(geometry.outputs["Normal"], to_camera.inputs["Vector"])
    out = nodes.new("ShaderNodeOutputAOV")
    out.aov_name = "normal_cam"
    links.new(to_camera.outputs["Vector"], out.inputs["Color"])


def textured_material(name: str, image_path: str, roughness: float) -> bpy.types.Material:
    """A principled material whose base colour is an sRGB image in the object's UV layout."""
    mat = flat_material(name, (1.0, 1.0, 1.0), roughness)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    links.new(_image_node(nodes, image_path, "sRGB").outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    return mat


def _image_node(nodes, path: str, colorspace: str) -> bpy.types.ShaderNode:
    node = nodes.new("ShaderNodeTexImage")
    node.image = bpy.data.images.load(path, check_existing=True)
    node.image.colorspace_settings.name = colorspace
    return node


def flat_material(name: str, rgb, roughness: float) -> bpy.types.Material:
    mat = bpy.data.materials.new(f"Pain3D_{name}")
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    return mat


def skin_material(skin_tone: float, textures: dict[str, str] | None = None) -> bpy.types.Material:
    """Principled skin: a texture set's maps, or the built-in shader (Monk-tone albedo, redder lips,
    darker brows, pores); either way AU-driven wrinkles shade and bump it.

    Without textures the colour attribute `regions` (R lips, G brows, B cheeks) from the core
    marks where the procedural tints go; a texture set has them painted in.
    """
    mat = bpy.data.materials.new("Pain3D_skin")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    base = np.asarray(skin_tone_rgb(skin_tone)) * 0.8  # swatches are lit skin; albedo is darker
    if textures:
        albedo = _image_node(nodes, textures["albedo"], "sRGB").outputs["Color"]
        links.new(_image_node(nodes, textures["roughness"], "Non-Color").outputs["Color"], bsdf.inputs["Roughness"])
        normal_map = nodes.new("ShaderNodeNormalMap")  # tangent space of the skin UVs
        links.new(_image_node(nodes, textures["normal"], "Non-Color").outputs["Color"], normal_map.inputs["Color"])
        surface = normal_map.outputs["Normal"]
    else:
        albedo = _tinted_albedo(nodes, links, base)
        bsdf.inputs["Roughness"].default_value = 0.5
        surface = _pores(nodes, links)
    creases = wrinkle_depth(nodes, links)
    shaded = _mix(nodes, links, albedo, _mix(nodes, links, albedo, _rgb_node(nodes, (0.0, 0.0, 0.0)).outputs[0],
                                             0.55).outputs["Result"], creases)  # a crease floor catches less light
    links.new(shaded.outputs["Result"], bsdf.inputs["Base Color"])
    bsdf.inputs["Subsurface Weight"].default_value = 0.15
    bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
    bsdf.inputs["Subsurface Scale"].default_value = 0.004
    crease_bump = nodes.new("ShaderNodeBump")
    crease_bump.invert = True  # creases are grooves
    crease_bump.inputs["Strength"].default_value = 0.35
    crease_bump.inputs["Distance"].default_value = 0.0015
    links.new(creases, crease_bump.inputs["Height"])
    links.new(surface, crease_bump.inputs["Normal"])
    links.new(crease_bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def _tinted_albedo(nodes, links, base: np.ndarray) -> bpy.types.NodeSocket:
    """The built-in skin colour: Monk-tone base with lips, brows and cheeks tinted where `regions` says."""
    split = _split(nodes, links, _attribute(nodes, "regions").outputs["Color"])
    lips = _mix(nodes, links, _rgb_node(nodes, base).outputs[0],
                _rgb_node(nodes, base * np.array([0.85, 0.55, 0.55])).outputs[0], split["Red"])
    brows = _mix(nodes, links, lips.outputs["Result"], _rgb_node(nodes, (0.05, 0.035, 0.025)).outputs[0],
                 split["Green"], factor_scale=0.85)
    cheeks = _mix(nodes, links, brows.outputs["Result"], _rgb_node(nodes, base * np.array([1.0, 0.85, 0.85])).outputs[0],
                  split["Blue"], factor_scale=0.5)
    return cheeks.outputs["Result"]


def _pores(nodes, links) -> bpy.types.NodeSocket:
    pores = nodes.new("ShaderNodeTexNoise")
    pores.inputs["Scale"].default_value = 900.0
    pore_bump = nodes.new("ShaderNodeBump")
    pore_bump.inputs["Strength"].default_value = 0.03
    links.new(pores.outputs["Fac"], pore_bump.inputs["Height"])
    return pore_bump.outputs["Normal"]


WRINKLE_STRENGTH_NODE = "Pain3D wrinkle strength"
# Wrinkle families: (channel of `wrinkles`/`wrinkle_phase`, shape keys whose weight deepens
# them, line spacing in phase units (mm or degrees), phase of the first line).
WRINKLES = (("Red", ("AU4_L", "AU4_R"), 8.0, 0.5),  # glabellar "11" lines either side of the midline
            ("Green", ("AU9",), 3.0, 0.0),  # horizontal lines across the nose bridge
            ("Blue", ("AU6_L", "AU6_R"), 20.0, 0.25))  # crow's feet fanning from the eye corner


def wrinkle_depth(nodes, links) -> bpy.types.NodeSocket:
    """Crease depth (0..1) from the AU shape-key weights: mask x weight x narrow line profile.

    Object attributes read the head's current shape-key values at render time, so wrinkles
    deepen with the same weights that move the geometry. Two-sided families take each side's
    weight from its own half of the face (object x > 0 is the subject's left).
    """
    tree = nodes.id_data
    mask = _split(nodes, links, _attribute(nodes, "wrinkles").outputs["Color"])
    phase = _split(nodes, links, _attribute(nodes, "wrinkle_phase").outputs["Color"])
    coords = nodes.new("ShaderNodeTexCoord")
    side = _split(nodes, links, coords.outputs["Object"], xyz=True)
    is_left = _math(tree, "GREATER_THAN", side["X"], 0.0)
    total = None
    for channel, keys, spacing, offset in WRINKLES:
        weights = [_attribute(nodes, f'data.shape_keys.key_blocks["{k}"].value', "OBJECT").outputs["Fac"]
                   for k in keys]
        if len(weights) == 1:
            weight = weights[0]
        else:
            weight = _mix(nodes, links, weights[1], weights[0], is_left, data_type="FLOAT").outputs["Result"]
        cycles = _math(tree, "ADD", _math(tree, "DIVIDE", phase[channel], spacing), offset)
        wave = _math(tree, "ABSOLUTE", _math(tree, "SINE", _math(tree, "MULTIPLY", cycles, np.pi)))
        line = _math(tree, "POWER", _math(tree, "SUBTRACT", 1.0, wave), 2.0)  # narrow grooves
        depth = _math(tree, "MULTIPLY", _math(tree, "MULTIPLY", line, mask[channel]), weight)
        total = depth if total is None else _math(tree, "ADD", total, depth)
    strength = nodes.new("ShaderNodeValue")  # artists tune (and tests switch off) wrinkles here
    strength.name = strength.label = WRINKLE_STRENGTH_NODE
    strength.outputs[0].default_value = 1.0
    return _math(tree, "MINIMUM", _math(tree, "MULTIPLY", total, strength.outputs[0]), 1.0)


def _attribute(nodes, name: str, kind: str = "GEOMETRY") -> bpy.types.ShaderNode:
    node = nodes.new("ShaderNodeAttribute")
    node.attribute_type, node.attribute_name = kind, name
    return node


def _split(nodes, links, socket, xyz: bool = False) -> dict:
    node = nodes.new("ShaderNodeSeparateXYZ" if xyz else "ShaderNodeSeparateColor")
    links.new(socket, node.inputs[0])
    return {out.name: out for out in node.outputs}


def _math(tree, operation: str, a, b=None) -> bpy.types.NodeSocket:
    """A Math node (shader or compositor, by the tree) on sockets or constants; returns its output."""
    kind = "CompositorNodeMath" if tree.bl_idname == "CompositorNodeTree" else "ShaderNodeMath"
    node = tree.nodes.new(kind)
    node.operation = operation
    for socket, value in zip(node.inputs, (a, b)):
        if isinstance(value, bpy.types.NodeSocket):
            tree.links.new(value, socket)
        elif value is not None:
            socket.default_value = float(value)
    return node.outputs[0]


def _rgb_node(nodes, rgb) -> bpy.types.ShaderNode:
    node = nodes.new("ShaderNodeRGB")
    node.outputs[0].default_value = (*[float(c) for c in rgb], 1.0)
    return node


def _mix(nodes, links, a, b, factor, factor_scale: float = 1.0, data_type: str = "RGBA") -> bpy.types.ShaderNode:
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = data_type
    if isinstance(factor, float):
        mix.inputs["Factor"].default_value = factor * factor_scale
    else:
        if factor_scale != 1.0:
            factor = _math(nodes.id_data, "MULTIPLY", factor, factor_scale)
        links.new(factor, mix.inputs["Factor"])
    links.new(a, mix.inputs["A"])
    links.new(b, mix.inputs["B"])
    return mix


# --- views, cameras, lights, preview -----------------------------------------------------


def job_views(job_path: str | None) -> list[dict]:
    """The views of a job file, or the job schema's default views."""
    if job_path:
        return load_job(job_path)["render"]["views"]
    return SCHEMA["render"]["views"].default


def head_aus(obj: bpy.types.Object) -> dict[str, float]:
    """The head's current AU intensities by key (absent ones included as 0)."""
    return {key: float(getattr(obj.pain3d, key)) for key in facs.all_keys()}


def export_job(head: bpy.types.Object, name: str, base_path: str | None, out_path: str) -> tuple[Path, int]:
    """Write a job file that renders the head's current expression (as `name`) for every identity.

    It starts from the job file at `base_path` (or the defaults) and keeps its other expressions,
    so exporting into the base file collects expressions one by one. Returns the path written and
    the number of explicit expressions in it."""
    data = read_toml(Path(base_path), "job file") if base_path else {}
    out = Path(out_path)
    job = resolve_job_file(with_expression(data, name, head_aus(head)), Path(base_path) if base_path else out)
    atomic_write_text(out, job_toml(job))
    return out, len(job["expressions"]["explicit"])


def face_camera(head: bpy.types.Object, yaw: float, pitch: float, resolution: int) -> cam.Camera:
    """The camera that frames this head's face from a view (the farm uses the same)."""
    cx, cy, cz, extent = head[FACE_FRAME_PROP]
    target = np.array(head.matrix_world @ _vec((cx, cy, cz)))
    return cam.orbit_camera(target, extent * head.matrix_world.to_scale()[0], yaw, pitch, resolution)


def place_camera(obj: bpy.types.Object, camera: cam.Camera) -> None:
    from mathutils import Matrix

    obj.matrix_world = Matrix(camera.world.tolist())
    obj.data.lens = camera.focal_mm
    obj.data.sensor_width = camera.sensor_mm
    obj.data.sensor_fit = "AUTO"


def add_view_cameras(context, head: bpy.types.Object, views: list[dict], resolution: int) -> list[bpy.types.Object]:
    """One camera per view; the frontal-most becomes the scene camera."""
    cameras = []
    for view in views:
        name = f"Pain3D_Cam_yaw{view['yaw']:+.0f}_pitch{view['pitch']:+.0f}"
        obj = bpy.data.objects.get(name) or bpy.data.objects.new(name, bpy.data.cameras.new(name))
        if obj.name not in _collection(context).objects:
            _collection(context).objects.link(obj)
        place_camera(obj, face_camera(head, view["yaw"], view["pitch"], resolution))
        cameras.append(obj)
    frontal = min(zip(views, cameras), key=lambda vc: abs(vc[0]["yaw"]) + abs(vc[0]["pitch"]))[1]
    context.scene.camera = frontal
    add_default_lights(context, head)
    return cameras


def add_default_lights(context, head: bpy.types.Object) -> None:
    """The fixed key/fill/rim portrait rig around the face (`core.scenery.DEFAULT_RIG`)."""
    apply_lighting(context, head, scenery.default_lighting())


LIGHT_NAMES = {"key": "Pain3D_Key", "fill": "Pain3D_Fill", "rim": "Pain3D_Rim"}
WORLD_NAME = "Pain3D_World"


def apply_lighting(context, head: bpy.types.Object, lighting: dict) -> None:
    """Place the area lights and set the world of a lighting record (`core.scenery.draw_lighting`).

    Lights are aimed at the face centre from (azimuth, elevation, distance) around it, so the
    rig stays put while the camera moves between views. Objects are reused between calls.
    """
    from mathutils import Matrix

    cx, cy, cz, _extent = head[FACE_FRAME_PROP]
    target = np.array(head.matrix_world @ _vec((cx, cy, cz)))
    for spec in lighting["lights"]:
        name = LIGHT_NAMES[spec["name"]]
        obj = bpy.data.objects.get(name)
        if obj is None:
            obj = bpy.data.objects.new(name, bpy.data.lights.new(name, "AREA"))
            _collection(context).objects.link(obj)
        light = obj.data
        light.energy, light.size, light.color = spec["power"], spec["size"], tuple(spec["color"])
        eye = cam.orbit_position(target, spec["distance"], spec["azimuth"], spec["elevation"])
        obj.matrix_world = Matrix(cam.look_at(eye, target).tolist())
    set_world(context.scene, lighting["world"])


def set_world(scene, world_record: dict) -> None:
    """A grey ambient world, or an environment image rotated about the vertical axis."""
    world = bpy.data.worlds.get(WORLD_NAME) or bpy.data.worlds.new(WORLD_NAME)
    scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    background = nodes.get("Background") or nodes.new("ShaderNodeBackground")
    output = nodes.get("World Output") or nodes.new("ShaderNodeOutputWorld")
    links.new(background.outputs["Background"], output.inputs["Surface"])
    for node in [n for n in nodes if n.name.startswith("Pain3D env")]:
        nodes.remove(node)
    background.inputs["Strength"].default_value = world_record["strength"]
    if world_record["kind"] == "ambient":
        background.inputs["Color"].default_value = (*world_record["color"], 1.0)
        return
    coords = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    texture = nodes.new("ShaderNodeTexEnvironment")
    for node, label in ((coords, "coords"), (mapping, "mapping"), (texture, "texture")):
        node.name = f"Pain3D env {label}"
    texture.image = bpy.data.images.load(world_record["path"], check_existing=True)
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, np.radians(world_record["rotation"]))
    links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], texture.inputs["Vector"])
    links.new(texture.outputs["Color"], background.inputs["Color"])


BACKGROUND_IMAGE = "Pain3D_Background"


def set_background(scene, record: dict) -> None:
    """Put a background record (`core.scenery.draw_background`) behind the next renders.

    Needs `setup_label_passes(scene, background=True)`: the render is film-transparent and the
    compositor lays it over this image, so the label passes never see the background.
    """
    tree = scene.node_tree
    source, scale = tree.nodes["Pain3D background"], tree.nodes["Pain3D background scale"]
    key = repr((sorted(record.items()), scene.render.resolution_x))
    if source.image is not None and source.get("pain3d_record") == key:
        return  # per-identity backgrounds: made once, reused for every image
    source["pain3d_record"] = key
    if record["kind"] == "images":
        image = bpy.data.images.load(str(Path(record["folder"]) / record["file"]), check_existing=True)
        scale.frame_method = "CROP"  # cover the frame, keeping the picture's aspect
    else:
        pixels = scenery.background_pixels(record, scene.render.resolution_x)
        n = pixels.shape[0]
        image = bpy.data.images.get(BACKGROUND_IMAGE)
        if image is not None and tuple(image.size) != (n, n):
            bpy.data.images.remove(image)
            image = None
        if image is None:
            image = bpy.data.images.new(BACKGROUND_IMAGE, n, n, alpha=True, float_buffer=True)
        linear = scenery.srgb_to_linear(pixels[::-1])  # Blender's rows run bottom to top
        rgba = np.concatenate([linear, np.ones((n, n, 1))], axis=2).astype(np.float32)
        image.pixels.foreach_set(rgba.ravel())
        image.update()
        scale.frame_method = "STRETCH"
    source.image = image


def configure_cycles(scene, resolution: int, samples: int, device: str = "CPU", denoise: bool = False) -> None:
    scene.render.engine = "CYCLES"
    scene.cycles.device = device
    scene.cycles.samples = samples
    scene.cycles.use_denoising = denoise
    scene.cycles.use_adaptive_sampling = True
    scene.render.resolution_x = scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    scene.render.use_persistent_data = True  # keeps the BVH between views: 15% faster, same pixels
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.view_settings.view_transform = "Standard"  # albedo colours come out as authored


def render_views(context, head: bpy.types.Object, views: list[dict], resolution: int,
                 path_for) -> list[dict]:
    """Render the head from each view; returns per view its path, camera and pixel landmarks.

    `path_for(index, view)` names each PNG. Landmarks are the expression-deformed landmark
    vertices projected through the same core camera that placed Blender's camera.
    """
    scene = context.scene
    camera_obj = bpy.data.objects.get("Pain3D_Render_Camera")
    if camera_obj is None:
        camera_obj = bpy.data.objects.new("Pain3D_Render_Camera", bpy.data.cameras.new("Pain3D_Render_Camera"))
        _collection(context).objects.link(camera_obj)
    scene.camera = camera_obj
    points = landmark_positions(head)
    out = []
    for index, view in enumerate(views):
        camera = face_camera(head, view["yaw"], view["pitch"], resolution)
        place_camera(camera_obj, camera)
        scene.render.filepath = str(path_for(index, view))
        bpy.ops.render.render(write_still=True)
        out.append({"path": scene.render.filepath, "view": view, "camera": camera,
                    "landmarks": cam.project(camera, points)})
    return out


def set_vertex_heat(head: bpy.types.Object, heat: np.ndarray) -> None:
    """Per-vertex heat (core.heatmap.vertex_heat) that the heat AOV renders."""
    head.data.attributes[HEAT_ATTRIBUTE].data.foreach_set("value", np.asarray(heat, dtype=np.float32))
    head.data.update()


# Label files the compositor writes beside each render: slot -> (colour mode, bit depth).
LABEL_FILES = {"heatmap": ("BW", "16"), "heatmap_color": ("RGB", "8"), "mask": ("BW", "8")}
OPTIONAL_LABEL_FILES = {"depth": ("BW", "16"), "normals": ("RGB", "8")}
DEPTH_UNIT_M = 1e-4  # depth PNG value 1 = 0.1 mm along the camera axis; 0 = no surface
NORMAL_AOV = "normal_cam"


def setup_label_passes(scene, background: bool = False, depth: bool = False,
                       normals: bool = False) -> bpy.types.CompositorNode:
    """Heatmap (16-bit and colourised) and segmentation mask from the same render, via the compositor.

    The mask is the material-index pass (skin, eyes, inner mouth, teeth; never anti-aliased)
    with lips and brows cut out of the skin by their AOVs. Data passes are saved without the
    view transform, so the PNG values are the pass values. Returns the File Output node, whose
    `base_path` the caller points at a folder per image.

    Options: `background` renders film-transparent and lays the image over the background that
    `set_background` puts in; `depth` adds the Z pass as a 16-bit PNG (DEPTH_UNIT_M per step,
    0 off the head, not anti-aliased); `normals` adds camera-space normals (x right, y up, z
    towards the camera) as an 8-bit RGB PNG, (n + 1) / 2, black off the head; edge normals are
    the mean over the part of the pixel the head covers (with `background`, the AOV is divided
    by the film-transparent render's alpha).
    """
    layer = scene.view_layers[0]
    layer.use_pass_material_index = True
    layer.use_pass_z = depth
    aovs = {name: "VALUE" for name in LABEL_AOVS}
    if normals:
        aovs[NORMAL_AOV] = "COLOR"
    for name, kind in aovs.items():
        if name not in layer.aovs:
            aov = layer.aovs.add()
            aov.name, aov.type = name, kind
    scene.render.film_transparent = background  # then alpha = the head's coverage of each pixel
    scene.render.dither_intensity = 0.0  # 8-bit label files hold exact values (black off the head)
    for name in dir(scene.render):  # no date or render time in the files: the same plan, the same bytes
        if name.startswith("use_stamp") and name != "use_stamp_note":
            setattr(scene.render, name, False)
    scene.use_nodes = True
    tree = scene.node_tree
    tree.nodes.clear()
    passes = tree.nodes.new("CompositorNodeRLayers")
    composite = tree.nodes.new("CompositorNodeComposite")
    if background:
        source = tree.nodes.new("CompositorNodeImage")
        source.name = "Pain3D background"
        scale = tree.nodes.new("CompositorNodeScale")
        scale.name = "Pain3D background scale"
        scale.space = "RENDER_SIZE"
        over = tree.nodes.new("CompositorNodeAlphaOver")
        tree.links.new(source.outputs["Image"], scale.inputs["Image"])
        tree.links.new(scale.outputs["Image"], over.inputs[1])
        tree.links.new(passes.outputs["Image"], over.inputs[2])
        tree.links.new(over.outputs["Image"], composite.inputs["Image"])
    else:
        tree.links.new(passes.outputs["Image"], composite.inputs["Image"])
    files = tree.nodes.new("CompositorNodeOutputFile")
    files.name = "Pain3D labels"
    files.file_slots.clear()
    wanted = dict(LABEL_FILES)
    wanted.update({k: v for k, v in OPTIONAL_LABEL_FILES.items() if {"depth": depth, "normals": normals}[k]})
    for slot_name, (mode, bits) in wanted.items():
        files.file_slots.new(slot_name)
        slot = files.file_slots[slot_name]
        slot.use_node_format = False
        slot.save_as_render = False
        slot.format.file_format, slot.format.color_mode, slot.format.color_depth = "PNG", mode, bits
        if slot_name in OPTIONAL_LABEL_FILES:  # raw values: no sRGB encoding of 8-bit RGB data
            slot.format.color_management = "OVERRIDE"
            slot.format.linear_colorspace_settings.name = "Non-Color"
    on_head = _math(tree, "GREATER_THAN", passes.outputs["IndexMA"], 0.5)
    heat = _math(tree, "MULTIPLY", passes.outputs["heat"], on_head)  # AOVs are filtered at the head's edge
    tree.links.new(heat, files.inputs["heatmap"])
    ramp = tree.nodes.new("CompositorNodeValToRGB")
    _jet_ramp(ramp.color_ramp)
    tree.links.new(heat, ramp.inputs["Fac"])
    tree.links.new(ramp.outputs["Image"], files.inputs["heatmap_color"])
    tree.links.new(_mask_socket(tree, passes), files.inputs["mask"])
    coverage = _math(tree, "MAXIMUM", passes.outputs["Alpha"], 1e-4) if background else 1.0
    if depth:
        tree.links.new(_depth_socket(tree, passes, on_head), files.inputs["depth"])
    if normals:
        tree.links.new(_normals_socket(tree, passes, on_head, coverage), files.inputs["normals"])
    return files


def _depth_socket(tree, passes, on_head) -> bpy.types.NodeSocket:
    """Camera-axis depth in DEPTH_UNIT_M steps, / 65535, where the mask is on the head.

    Cycles writes the Z pass from each pixel's first sample, like the material-index pass, so
    depth is not anti-aliased and is non-zero exactly where the mask is.
    """
    metres = _math(tree, "MULTIPLY", passes.outputs["Depth"], on_head)
    return _math(tree, "MINIMUM", _math(tree, "DIVIDE", metres, DEPTH_UNIT_M * 65535.0), 1.0)


def _normals_socket(tree, passes, on_head, coverage) -> bpy.types.NodeSocket:
    """(n + 1) / 2 of the camera-space normal AOV (divided by coverage), black off the head."""
    split = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(passes.outputs[NORMAL_AOV], split.inputs["Image"])
    join = tree.nodes.new("CompositorNodeCombineColor")
    for channel in ("Red", "Green", "Blue"):
        n = _math(tree, "DIVIDE", split.outputs[channel], coverage)
        if channel == "Blue":  # Cycles' camera space looks along +z; ours has z towards the camera
            n = _math(tree, "MULTIPLY", n, -1.0)
        mapped = _math(tree, "MULTIPLY", _math(tree, "ADD", n, 1.0), 0.5)
        tree.links.new(_math(tree, "MULTIPLY", mapped, on_head), join.inputs[channel])
    return join.outputs["Image"]


def _mask_socket(tree, passes) -> bpy.types.NodeSocket:
    """class = material class, or lips/brows where the skin carries them; scaled for an 8-bit PNG."""
    index = passes.outputs["IndexMA"]
    on_skin = _math(tree, "LESS_THAN", _math(tree, "ABSOLUTE", _math(tree, "SUBTRACT", index, MASK_CLASSES["skin"])), 0.5)
    lips = _math(tree, "GREATER_THAN", passes.outputs["lips"], 0.5)
    brows = _math(tree, "GREATER_THAN", passes.outputs["brows"], 0.5)
    extra = _math(tree, "ADD", _math(tree, "MULTIPLY", lips, MASK_CLASSES["lips"] - MASK_CLASSES["skin"]),
               _math(tree, "MULTIPLY", _math(tree, "MULTIPLY", brows, _math(tree, "SUBTRACT", 1.0, lips)),
                  MASK_CLASSES["brows"] - MASK_CLASSES["skin"]))
    return _math(tree, "DIVIDE", _math(tree, "ADD", index, _math(tree, "MULTIPLY", on_skin, extra)), 255.0)


def _jet_ramp(ramp) -> None:
    """Black at zero heat, then blue -> cyan -> yellow -> red, like the 3DPain heatmaps."""
    stops = [(0.0, (0, 0, 0)), (0.002, (0, 0, 0.5)), (0.25, (0, 0.3, 1)), (0.5, (0, 1, 1)), (0.75, (1, 1, 0)),
             (1.0, (1, 0, 0))]
    elements = ramp.elements
    while len(elements) < len(stops):
        elements.new(0.5)
    for element, (position, rgb) in zip(elements, stops):
        element.position, element.color = position, (*rgb, 1.0)


def remove_head(head: bpy.types.Object) -> None:
    """Delete a head object with its mesh, shape keys and materials (the farm's next identity)."""
    mesh, names = head.data, {m.name for m in head.data.materials if m is not None}
    bpy.data.objects.remove(head)
    bpy.data.meshes.remove(mesh)
    for name in names:
        if bpy.data.materials[name].users == 0:
            bpy.data.materials.remove(bpy.data.materials[name])


def render_preview(context, path: str, resolution: int, samples: int) -> str:
    """Render the scene camera to a PNG and load it as the image 'Pain3D Preview'."""
    scene = context.scene
    configure_cycles(scene, resolution, samples, denoise=True)
    scene.render.filepath = path
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.get("Pain3D Preview")
    if image is not None:
        bpy.data.images.remove(image)
    bpy.data.images.load(path).name = "Pain3D Preview"
    return path


def _vec(xyz):
    from mathutils import Vector

    return Vector(xyz)


def landmark_positions(obj: bpy.types.Object, depsgraph=None) -> np.ndarray:
    """World positions (68, 3) of the landmarks on the evaluated (expression-deformed) mesh."""
    depsgraph = depsgraph or bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    local = co.reshape(-1, 3)[np.asarray(obj[LANDMARKS_PROP], dtype=int)]
    world = np.array(obj.matrix_world)
    return local @ world[:3, :3].T + world[:3, 3]

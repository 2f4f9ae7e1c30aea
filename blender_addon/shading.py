"""Materials of the head: principled skin (a texture set's maps or the built-in procedural shader),
eyes, teeth and mouth, AU-driven wrinkles, and the AOV outputs the farm's label passes read."""

from __future__ import annotations

import bpy
import numpy as np

from ..dataset import MASK_CLASSES
from ..head.topology import IRIS_ANGLE, PUPIL_ANGLE
from ..identity import SCLERA_CORNER_RGB, SCLERA_RGB, WRINKLE_FAMILIES
from ..colour import srgb_to_linear
from ..skin import FLUSH_LOG, ORBIT_LOG, lip_log, melanin, tone_albedo
from .compat import use_nodes
from .nodes import attribute, math_node, mix, rgb, separate

MATERIAL_CLASS = {"skin": "skin", "eye": "eyes", "sclera": "eyes", "iris": "eyes", "pupil": "eyes", "teeth": "teeth",
                  "mouth_cavity": "inner_mouth"}
HEAT_ATTRIBUTE = "pain_heat"  # per-vertex heat of the current expression (`pain3d.heatmap`)
SCALP_ATTRIBUTE = "scalp_hair"  # per vertex: RGB the scalp hair's colour, A how far the skin takes it
LABEL_AOVS = ("heat", "lips", "brows")
NORMAL_AOV = "normal_cam"


def assign_materials(obj: bpy.types.Object, mesh_data, skin_tone: float, iris_rgb,
                     textures: dict[str, str] | None = None, strands: bool = False,
                     makeup: dict | None = None, maleness: float = 0.5, ageing: float = 0.0,
                     ethnicity: str | None = None) -> None:
    """One material slot per part, in the core's part order (a textured eye covers all three eye parts).
    `strands`: the head grows hair as strands, so the built-in skin paints only the brows' shadow;
    `makeup`: a make-up record (`pain3d.makeup.draw_makeup`) painted over the skin; `maleness` and
    `ageing` (the head's, 0..1) coarsen the built-in skin's pores and bring age spots; `ethnicity`
    gives the built-in skin its group's undertone."""
    textures = textures or {}
    eye = {"eye": textured_material("eye", textures["eyes"], 0.25)} if "eyes" in textures else {}
    shared = {"skin": skin_material(skin_tone, textures, strands, makeup, maleness, ageing, ethnicity),
              "sclera": sclera_material(),
              "iris": iris_material(tuple(iris_rgb)),
              "pupil": flat_material("pupil", (0.01, 0.01, 0.01), 0.2),
              "teeth": flat_material("teeth", (0.78, 0.74, 0.64), 0.35),
              "mouth_cavity": mouth_material()}
    for part in mesh_data.part_names:  # eye_L_iris -> iris, teeth_upper -> teeth
        kind = next(k for k in shared if part == k or part.endswith("_" + k) or part.startswith(k))
        obj.data.materials.append(eye.get("eye", shared[kind]) if MATERIAL_CLASS[kind] == "eyes" else shared[kind])
    for kind, mat in {**shared, **eye}.items():
        mat.pass_index = MASK_CLASSES[MATERIAL_CLASS[kind]]  # the material-index pass is the coarse mask
        add_label_outputs(mat)
    for mat in shared.values():
        if mat.users == 0:  # eye parts that a textured eye replaced
            bpy.data.materials.remove(mat)


def add_label_outputs(mat: bpy.types.Material) -> None:
    """AOV outputs for the label passes: vertex heat, and where lips and brows are on the skin."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    heat = attribute(nodes, HEAT_ATTRIBUTE)
    regions = separate(nodes, links, attribute(nodes, "regions").outputs["Color"])
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


MUCOSA_RGB = (0.36, 0.11, 0.10)  # linear; the lining and tongue, a wet pink-red
THROAT_RGB = (0.09, 0.02, 0.02)  # the pocket's back wall, where the throat would open
IRIS_FIBRES = 14.0  # radial streaks round the iris (noise cells along its circumference)
IRIS_STREAKS = (0.38, 0.62, 0.6, 1.3)  # the noise's middle (mean 0.5) onto dark crypts .. light fibres


def iris_material(iris_rgb) -> bpy.types.Material:
    """The iris in its colour with radial fibres and a dark limbal ring at its rim: a flat disc of
    one colour is what makes a doll's eye."""
    mat = flat_material("iris", iris_rgb, 0.3)
    tree = mat.node_tree
    nodes, links = tree.nodes, tree.links
    radius, direction = _eye_polar(nodes, links)
    t = _ramp(nodes, links, radius, PUPIL_ANGLE, IRIS_ANGLE, 0.0, 1.0, "LINEAR")  # pupil edge .. limbus
    streak_at = nodes.new("ShaderNodeCombineXYZ")  # slow along the radius, fast round the rim
    links.new(math_node(tree, "MULTIPLY", t, 1.5), streak_at.inputs["Z"])
    at = nodes.new("ShaderNodeVectorMath")
    at.operation = "MULTIPLY_ADD"
    links.new(direction, at.inputs[0])
    at.inputs[1].default_value = (IRIS_FIBRES, IRIS_FIBRES, 0.0)
    links.new(streak_at.outputs[0], at.inputs[2])
    fibres = nodes.new("ShaderNodeTexNoise")
    fibres.inputs["Scale"].default_value = 1.0
    fibres.inputs["Detail"].default_value = 4.0
    links.new(at.outputs[0], fibres.inputs["Vector"])
    limbus = _ramp(nodes, links, t, 0.75, 1.0, 1.0, 0.3, "SMOOTHSTEP")
    streaks = _ramp(nodes, links, fibres.outputs["Fac"], *IRIS_STREAKS, "LINEAR")
    light = math_node(tree, "MULTIPLY", limbus, streaks)
    shade = mix(nodes, links, rgb(nodes, iris_rgb).outputs[0], light, 1.0)
    shade.blend_type = "MULTIPLY"
    links.new(shade.outputs["Result"], nodes["Principled BSDF"].inputs["Base Color"])
    return mat


def sclera_material() -> bpy.types.Material:
    """The sclera: white by the iris, pinker and darker toward the corners of the eye."""
    mat = flat_material("sclera", SCLERA_RGB, 0.25)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    radius, _ = _eye_polar(nodes, links)
    corner = _ramp(nodes, links, radius, IRIS_ANGLE + 0.1, 1.05, 0.0, 0.8, "SMOOTHSTEP")
    tint = mix(nodes, links, rgb(nodes, SCLERA_RGB).outputs[0], rgb(nodes, SCLERA_CORNER_RGB).outputs[0], corner)
    links.new(tint.outputs["Result"], nodes["Principled BSDF"].inputs["Base Color"])
    return mat


def mouth_material() -> bpy.types.Material:
    """The mouth's lining and tongue: wet pink-red mucosa, darkening toward the throat (the pocket's
    back wall lies about 45 mm behind the lips, y = -0.045 in the head's frame)."""
    mat = flat_material("mouth_cavity", MUCOSA_RGB, 0.35)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    along = separate(nodes, links, nodes.new("ShaderNodeTexCoord").outputs["Object"], xyz=True)["Y"]
    depth = _ramp(nodes, links, along, -0.075, -0.048, 0.0, 1.0, "SMOOTHSTEP")
    tint = mix(nodes, links, rgb(nodes, MUCOSA_RGB).outputs[0], rgb(nodes, THROAT_RGB).outputs[0], depth)
    links.new(tint.outputs["Result"], nodes["Principled BSDF"].inputs["Base Color"])
    return mat


def _eye_polar(nodes, links) -> tuple[bpy.types.NodeSocket, bpy.types.NodeSocket]:
    """The eyeball's polar UVs (`pain3d.head.topology`): angle from the eye's axis (radians) and
    the unit direction round it."""
    uv = nodes.new("ShaderNodeTexCoord").outputs["UV"]
    centred = nodes.new("ShaderNodeVectorMath")
    centred.operation = "SUBTRACT"
    links.new(uv, centred.inputs[0])
    centred.inputs[1].default_value = (0.5, 0.5, 0.0)
    length = nodes.new("ShaderNodeVectorMath")
    length.operation = "LENGTH"
    links.new(centred.outputs[0], length.inputs[0])
    unit = nodes.new("ShaderNodeVectorMath")
    unit.operation = "NORMALIZE"
    links.new(centred.outputs[0], unit.inputs[0])
    return math_node(nodes.id_data, "MULTIPLY", length.outputs["Value"], 2.0 * np.pi), unit.outputs[0]


def _ramp(nodes, links, value, lo: float, hi: float, to_lo: float, to_hi: float, kind: str):
    """A clamped Map Range node from [lo, hi] to [to_lo, to_hi] (`kind`: LINEAR or SMOOTHSTEP)."""
    node = nodes.new("ShaderNodeMapRange")
    node.interpolation_type = kind
    for name, v in (("From Min", lo), ("From Max", hi), ("To Min", to_lo), ("To Max", to_hi)):
        node.inputs[name].default_value = v
    links.new(value, node.inputs["Value"])
    return node.outputs["Result"]


def flat_material(name: str, rgb, roughness: float) -> bpy.types.Material:
    mat = bpy.data.materials.new(f"Pain3D_{name}")
    use_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    return mat


def skin_material(skin_tone: float, textures: dict[str, str] | None = None,
                  strands: bool = False, makeup: dict | None = None, maleness: float = 0.5,
                  ageing: float = 0.0, ethnicity: str | None = None) -> bpy.types.Material:
    """Principled skin: a texture set's maps, or the built-in shader (Monk-tone albedo, redder lips,
    darker brows, the regional tints and mottle, T-zone gloss, pores); either way AU-driven
    wrinkles shade and bump it.

    Without textures the core's colour attributes `regions` (R lips, G brows, B cheeks) and
    `tints` (R flush, G orbit, B oil) mark where the procedural tints go; a texture set has them
    painted in.
    """
    mat = bpy.data.materials.new("Pain3D_skin")
    use_nodes(mat)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    base = np.asarray(tone_albedo(skin_tone, ethnicity))
    if textures:
        albedo = _image_node(nodes, textures["albedo"], "sRGB").outputs["Color"]
        links.new(_image_node(nodes, textures["roughness"], "Non-Color").outputs["Color"], bsdf.inputs["Roughness"])
        normal_map = nodes.new("ShaderNodeNormalMap")  # tangent space of the skin UVs
        links.new(_image_node(nodes, textures["normal"], "Non-Color").outputs["Color"], normal_map.inputs["Color"])
        surface = normal_map.outputs["Normal"]
    else:
        tinted = _tinted_albedo(nodes, links, base, np.exp(lip_log(maleness, ageing)), brow_tint=0.3 if strands else 0.85)
        tints = separate(nodes, links, attribute(nodes, "tints").outputs["Color"])
        albedo = _age_spots(nodes, links, _regional_tints(nodes, links, tinted, tints, skin_tone, ageing), ageing)
        scalp = attribute(nodes, SCALP_ATTRIBUTE)  # a texture set has the scalp's hair shadow painted in
        darker = mix(nodes, links, albedo, scalp.outputs["Color"], 1.0)
        darker.blend_type = "DARKEN"  # roots never lighten the skin
        albedo = mix(nodes, links, albedo, darker.outputs["Result"], scalp.outputs["Alpha"]).outputs["Result"]
        # older skin is drier, less glossy; a scalp under hair shows no sheen between the strands
        matte = math_node(mat.node_tree, "MULTIPLY", scalp.outputs["Alpha"], 0.6)
        pores = _skin_noise(nodes, links, PORE_SPACING, detail=2.0)
        links.new(math_node(mat.node_tree, "ADD", matte, _skin_roughness(nodes, links, tints["Blue"], pores, ageing)),
                  bsdf.inputs["Roughness"])
        surface = _skin_relief(nodes, links, pores, coarseness=1.0 + 0.8 * maleness + 0.8 * ageing)
    if makeup and makeup.get("worn"):
        albedo = made_up(nodes, links, albedo, makeup)
    creases = wrinkle_depth(nodes, links)
    shaded = mix(nodes, links, albedo, mix(nodes, links, albedo, rgb(nodes, (0.0, 0.0, 0.0)).outputs[0],
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


def _tinted_albedo(nodes, links, base: np.ndarray, lip_tint: np.ndarray, brow_tint: float) -> bpy.types.NodeSocket:
    """The built-in skin colour: Monk-tone base with lips (`lip_tint` times the base) and brows
    tinted where `regions` says (painted brows at `brow_tint`: full without strands, a root shadow
    under them); the cheeks' flush is one of the regional tints."""
    split = separate(nodes, links, attribute(nodes, "regions").outputs["Color"])
    lips = mix(nodes, links, rgb(nodes, base).outputs[0], rgb(nodes, base * lip_tint).outputs[0], split["Red"])
    brows = mix(nodes, links, lips.outputs["Result"], rgb(nodes, (0.05, 0.035, 0.025)).outputs[0],
                 split["Green"], factor_scale=brow_tint)
    return brows.outputs["Result"]


BROW_PENCIL = (0.045, 0.03, 0.022)  # linear RGB of a dark-brown brow pencil
BLUSH_TINT = (1.0, 0.72, 0.74)  # multiplied into the cheeks' colour
EYESHADOW_TINT = (0.78, 0.62, 0.62)  # multiplied into the upper lids' colour


def made_up(nodes, links, albedo: bpy.types.NodeSocket, makeup: dict) -> bpy.types.NodeSocket:
    """The skin colour under make-up (docs/makeup.md): lipstick over the vermilion, pencil over the
    brows, blush on the cheeks and shadow on the upper lids, each by the record's strength."""
    regions = separate(nodes, links, attribute(nodes, "regions").outputs["Color"])
    lids = separate(nodes, links, attribute(nodes, "lids").outputs["Color"])
    lipstick = rgb(nodes, srgb_to_linear(np.asarray(makeup["lip_colour"]))).outputs[0]
    out = mix(nodes, links, albedo, lipstick, regions["Red"], factor_scale=makeup["lips"]).outputs["Result"]
    out = mix(nodes, links, out, rgb(nodes, BROW_PENCIL).outputs[0], regions["Green"],
              factor_scale=makeup["brow_fill"]).outputs["Result"]
    for tint, weight, strength in ((BLUSH_TINT, regions["Blue"], makeup["blush"]),
                                   (EYESHADOW_TINT, lids["Red"], makeup["eyeshadow"])):
        node = mix(nodes, links, out, rgb(nodes, tint).outputs[0], weight, factor_scale=strength)
        node.blend_type = "MULTIPLY"
        out = node.outputs["Result"]
    return out


AGE_SPOT_TINT = (0.78, 0.66, 0.55)  # solar lentigines: a browner patch, multiplied in


def _age_spots(nodes, links, albedo: bpy.types.NodeSocket, ageing: float) -> bpy.types.NodeSocket:
    """Scattered brown spots a few millimetres across, more and darker with age (none before 25)."""
    if ageing <= 0.0:
        return albedo
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = 45.0
    noise.inputs["Detail"].default_value = 0.0
    peaks = _ramp(nodes, links, noise.outputs["Fac"], 0.74 - 0.03 * min(ageing, 1.0), 0.80, 0.0, 1.0,
                  "LINEAR")  # only the noise's highest peaks become spots
    spots = mix(nodes, links, albedo, rgb(nodes, AGE_SPOT_TINT).outputs[0], peaks, factor_scale=0.7 * min(ageing, 1.0))
    spots.blend_type = "MULTIPLY"
    return spots.outputs["Result"]


PORE_SPACING = 0.0008  # metres between pores' noise features on the face (pores are 0.2-0.5 mm wide)
# metres across the skin's visible grain: pore openings cluster and the micro-relief's furrows cross
# in a texture of 1-2 mm that breaks a highlight up at 512 px, where single pores are below a pixel
GRAIN_SIZE = 0.0015
PORE_BUMP, GRAIN_BUMP = 0.025, 0.045  # bump strengths on a young woman's skin
MOTTLE_SIZE = 0.012  # metres across the blotches of uneven redness and pigment
FLUSH, ORBIT = 0.9, 0.8  # mean strengths of the texture sets' drawn `flush` and `orbit_darkness`


def _skin_noise(nodes, links, size: float, detail: float) -> bpy.types.NodeSocket:
    """Noise (about 0.5 +- 0.15) with features `size` metres across, fixed to the skin: it reads the
    neutral position (`rest`), so an expression carries its blotches and pores with it."""
    noise = nodes.new("ShaderNodeTexNoise")
    links.new(attribute(nodes, "rest").outputs["Vector"], noise.inputs["Vector"])
    noise.inputs["Scale"].default_value = 1.0 / size
    noise.inputs["Detail"].default_value = detail
    return noise.outputs["Fac"]


def _regional_tints(nodes, links, albedo: bpy.types.NodeSocket, tints: dict, tone: float,
                    ageing: float) -> bpy.types.NodeSocket:
    """Skin is not one colour: blood shows in the cheeks, nose, ears and chin, the orbit is darker
    (more so on darker skin), and redness and pigment come in blotches a centimetre across, more
    unevenly with age (`tints`: the separated `tints` attribute; the same shifts as a texture set's)."""
    m = melanin(tone)
    blotch = _ramp(nodes, links, _skin_noise(nodes, links, MOTTLE_SIZE, 2.0), 0.45, 0.75, 0.0, 1.0, "SMOOTHSTEP")
    redness = math_node(nodes.id_data, "ADD", math_node(nodes.id_data, "MULTIPLY", tints["Red"], FLUSH * (1 - 0.6 * m)),
                        math_node(nodes.id_data, "MULTIPLY", blotch, 0.35 * (1.0 + 0.5 * ageing)))
    out = albedo
    for shift, weight in ((FLUSH_LOG, redness), (ORBIT_LOG * ORBIT * (0.7 + 0.8 * m), tints["Green"])):
        node = mix(nodes, links, out, rgb(nodes, np.exp(shift)).outputs[0], weight)
        node.blend_type = "MULTIPLY"
        out = node.outputs["Result"]
    pigment = _ramp(nodes, links, _skin_noise(nodes, links, 2.0 * MOTTLE_SIZE, 1.0), 0.3, 0.7, 1.05, 0.93, "LINEAR")
    node = mix(nodes, links, out, pigment, 1.0)
    node.blend_type = "MULTIPLY"
    return node.outputs["Result"]


def _skin_roughness(nodes, links, oil: bpy.types.NodeSocket, pores: bpy.types.NodeSocket,
                    ageing: float) -> bpy.types.NodeSocket:
    """Roughness: the T-zone's `oil` makes it glossier, the pores break the highlight up, and older
    skin is drier."""
    tree = nodes.id_data
    rough = math_node(tree, "ADD", math_node(tree, "MULTIPLY", oil, -0.1), 0.45 + 0.06 * ageing)
    return math_node(tree, "ADD", rough, math_node(tree, "MULTIPLY", pores, 0.1))


def _skin_relief(nodes, links, pores: bpy.types.NodeSocket, coarseness: float) -> bpy.types.NodeSocket:
    """The skin's bump: its grain (GRAIN_SIZE) under the pores; men's and older skin is coarser
    (`coarseness`, 1 for a young woman's)."""
    normal = None
    for height, strength in ((_skin_noise(nodes, links, GRAIN_SIZE, detail=3.0), GRAIN_BUMP),
                             (pores, PORE_BUMP)):
        bump = nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = strength * coarseness
        links.new(height, bump.inputs["Height"])
        if normal is not None:
            links.new(normal, bump.inputs["Normal"])
        normal = bump.outputs["Normal"]
    return normal


WRINKLE_STRENGTH_NODE = "Pain3D wrinkle strength"


def wrinkle_depth(nodes, links) -> bpy.types.NodeSocket:
    """Crease depth (0..1) from the AU shape-key weights: mask x weight x narrow line profile.

    Object attributes read the head's current shape-key values at render time, so wrinkles
    deepen with the same weights that move the geometry. Two-sided families take each side's
    weight from its own half of the face (object x > 0 is the subject's left).
    """
    tree = nodes.id_data
    mask = separate(nodes, links, attribute(nodes, "wrinkles").outputs["Color"])
    phase = separate(nodes, links, attribute(nodes, "wrinkle_phase").outputs["Color"])
    coords = nodes.new("ShaderNodeTexCoord")
    side = separate(nodes, links, coords.outputs["Object"], xyz=True)
    is_left = math_node(tree, "GREATER_THAN", side["X"], 0.0)
    total = None
    for index, keys, spacing, offset in WRINKLE_FAMILIES:
        channel = ("Red", "Green", "Blue")[index]
        weights = [attribute(nodes, f'data.shape_keys.key_blocks["{k}"].value', "OBJECT").outputs["Fac"]
                   for k in keys]
        if len(weights) == 1:
            weight = weights[0]
        else:
            weight = mix(nodes, links, weights[1], weights[0], is_left, data_type="FLOAT").outputs["Result"]
        cycles = math_node(tree, "ADD", math_node(tree, "DIVIDE", phase[channel], spacing), offset)
        wave = math_node(tree, "ABSOLUTE", math_node(tree, "SINE", math_node(tree, "MULTIPLY", cycles, np.pi)))
        line = math_node(tree, "POWER", math_node(tree, "SUBTRACT", 1.0, wave), 2.0)  # narrow grooves
        depth = math_node(tree, "MULTIPLY", math_node(tree, "MULTIPLY", line, mask[channel]), weight)
        total = depth if total is None else math_node(tree, "ADD", total, depth)
    strength = nodes.new("ShaderNodeValue")  # artists tune (and tests switch off) wrinkles here
    strength.name = strength.label = WRINKLE_STRENGTH_NODE
    strength.outputs[0].default_value = 1.0
    return math_node(tree, "MINIMUM", math_node(tree, "MULTIPLY", total, strength.outputs[0]), 1.0)

"""The stage around a head: cameras framing its face from each view, the lights and world of a
lighting record (`pain3d.scenery`), Cycles settings, and renders with projected landmarks."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from .. import camera as cam, environments, scenery
from ..colour import srgb_to_linear
from ..contour import N_CONTOUR, march_contour
from . import compat
from .bed import BED_PROP
from .compat import use_nodes
from .head import FACE_FRAME_PROP, LANDMARKS_PROP, collection, contour_slices, posed_vertices

CONTOUR_TOLERANCE = 0.010  # metres: skin this close in front of a landmark does not hide it
LIGHT_NAMES = {"key": "Pain3D_Key", "fill": "Pain3D_Fill", "rim": "Pain3D_Rim"}
WORLD_NAME = "Pain3D_World"
LIGHTING_PROP = "pain3d_lighting"  # on the scene: the lighting record last applied, and where it aimed


def face_centre(head: bpy.types.Object) -> np.ndarray:
    """World position of the face centre (the core's face frame): cameras and lights aim at it."""
    from mathutils import Vector

    cx, cy, cz, _extent = head[FACE_FRAME_PROP]
    return np.array(head.matrix_world @ Vector((cx, cy, cz)))


def face_camera(head: bpy.types.Object, yaw: float, pitch: float, resolution: int) -> cam.Camera:
    """The camera that frames this head's face from a view (the farm uses the same)."""
    extent = head[FACE_FRAME_PROP][3]
    return cam.orbit_camera(face_centre(head), extent * head.matrix_world.to_scale()[0], yaw, pitch, resolution)


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
        if obj.name not in collection(context).objects:
            collection(context).objects.link(obj)
        place_camera(obj, face_camera(head, view["yaw"], view["pitch"], resolution))
        cameras.append(obj)
    frontal = min(zip(views, cameras), key=lambda vc: abs(vc[0]["yaw"]) + abs(vc[0]["pitch"]))[1]
    context.scene.camera = frontal
    add_default_lights(context, head)
    return cameras


def add_default_lights(context, head: bpy.types.Object) -> None:
    """The fixed key/fill/rim portrait rig around the face (`pain3d.scenery.DEFAULT_RIG`)."""
    apply_lighting(context, head, scenery.default_lighting())


def apply_lighting(context, head: bpy.types.Object, lighting: dict) -> None:
    """Place the area lights and set the world of a lighting record (`pain3d.scenery.draw_lighting`).

    Lights are aimed at the face centre from (azimuth, elevation, distance) around it, so the
    rig stays put while the camera moves between views. Objects are reused between calls, and
    the same record on the same head changes nothing: Cycles then keeps its light tree and the
    world's importance map (rebuilding them for every image made renders ~40% slower).
    """
    from mathutils import Matrix

    target = face_centre(head)
    key = repr((target.round(6).tolist(), lighting))
    in_place = context.scene.world is not None and all(bpy.data.objects.get(LIGHT_NAMES[spec["name"]])
                                                       for spec in lighting["lights"])
    if context.scene.get(LIGHTING_PROP) == key and in_place:
        return
    context.scene[LIGHTING_PROP] = key
    for spec in lighting["lights"]:
        name = LIGHT_NAMES[spec["name"]]
        obj = bpy.data.objects.get(name)
        if obj is None:
            obj = bpy.data.objects.new(name, bpy.data.lights.new(name, "AREA"))
            collection(context).objects.link(obj)
        light = obj.data
        light.energy, light.size, light.color = spec["power"], spec["size"], tuple(spec["color"])
        eye = cam.orbit_position(target, spec["distance"], spec["azimuth"], spec["elevation"])
        obj.matrix_world = Matrix(cam.look_at(eye, target).tolist())
    set_world(context.scene, lighting["world"])


def set_world(scene, world_record: dict) -> None:
    """A grey ambient world, or an environment image rotated about the vertical axis."""
    world = bpy.data.worlds.get(WORLD_NAME) or bpy.data.worlds.new(WORLD_NAME)
    scene.world = world
    use_nodes(world)
    nodes, links = world.node_tree.nodes, world.node_tree.links
    background = nodes.get("Background") or nodes.new("ShaderNodeBackground")
    output = nodes.get("World Output") or nodes.new("ShaderNodeOutputWorld")
    links.new(background.outputs["Background"], output.inputs["Surface"])
    for node in [n for n in nodes if n.name.startswith("Pain3D env")]:
        nodes.remove(node)
    if world_record["kind"] == "ambient":
        background.inputs["Strength"].default_value = world_record["strength"]
        background.inputs["Color"].default_value = (*world_record["color"], 1.0)
        return
    image = environment_image(world_record["path"])
    background.inputs["Strength"].default_value = environment_scale(world_record, image)
    coords = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    texture = nodes.new("ShaderNodeTexEnvironment")
    for node, label in ((coords, "coords"), (mapping, "mapping"), (texture, "texture")):
        node.name = f"Pain3D env {label}"
    texture.image = image
    tilt_x, tilt_y = world_record.get("tilt", (0.0, 0.0))  # the clinical scene's room (pain3d.bed.world_tilt)
    mapping.inputs["Rotation"].default_value = (np.radians(tilt_x), np.radians(tilt_y), np.radians(world_record["rotation"]))
    links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], texture.inputs["Vector"])
    links.new(texture.outputs["Color"], background.inputs["Color"])


def environment_image(path: str) -> bpy.types.Image:
    """The image of an environment record's path (`builtin:NAME.exr`: a map inside Blender)."""
    if environments.is_builtin(path):
        path = str(environments.builtin_file(path, bpy.utils.system_resource("DATAFILES")))
    return bpy.data.images.load(path, check_existing=True)


_PIXELS: dict[str, tuple[str, np.ndarray]] = {}  # image name -> (its file, its linear pixels)


def linear_pixels(image: bpy.types.Image) -> np.ndarray:
    """An image's linear RGB as (H, W, 3) floats, row 0 on top (read once per file): float images
    (EXR, HDR) as stored, 8-bit ones decoded from sRGB."""
    cached = _PIXELS.get(image.name)
    if cached is None or cached[0] != image.filepath:
        width, height = image.size
        rgba = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(rgba)
        rgb = rgba.reshape(height, width, 4)[::-1, :, :3]
        cached = _PIXELS[image.name] = (image.filepath, rgb.copy() if image.is_float else
                                        srgb_to_linear(rgb).astype(np.float32))
    return cached[1]


def environment_scale(world_record: dict, image: bpy.types.Image) -> float:
    """The world strength that gives an environment map the record's mean luminance."""
    return world_record["strength"] / max(environments.mean_luminance(linear_pixels(image)), 1e-6)


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
    compat.set_view_transform(scene)  # albedo colours as authored; lightest skin unclipped
    scene.cycles_curves.shape = "RIBBONS"  # hair strands as camera-facing ribbons: the cheap shape
    scene.cycles_curves.subdivisions = 2
    # Light reflected between strands (glossy) is most of what grey and blond hair show: with none,
    # white hair rendered dark grey and white beards brown. One glossy bounce (grey hair reads grey in
    # docs/images/heads_42.jpg); light crossing strands (transmission) stays off
    scene.cycles.transmission_bounces, scene.cycles.glossy_bounces = 0, 1


def render_views(context, head: bpy.types.Object, views: list[dict], resolution: int,
                 path_for) -> list[dict]:
    """Render the head from each view; returns per view its path, camera and pixel landmarks.

    `path_for(index, view)` names each PNG. `landmarks_3d` are the expression-deformed landmark
    vertices projected through the same core camera that placed Blender's camera; `landmarks` are
    the same with the jaw contour on the face's silhouette (`pain3d.contour`).
    """
    scene = context.scene
    camera_obj = bpy.data.objects.get("Pain3D_Render_Camera")
    if camera_obj is None:
        camera_obj = bpy.data.objects.new("Pain3D_Render_Camera", bpy.data.cameras.new("Pain3D_Render_Camera"))
        collection(context).objects.link(camera_obj)
    scene.camera = camera_obj
    vertices = posed_vertices(head)
    points = vertices[np.asarray(head[LANDMARKS_PROP], dtype=int)]
    slices, centre = contour_slices(head)
    out = []
    for index, view in enumerate(views):
        camera = face_camera(head, view["yaw"], view["pitch"], resolution)
        place_camera(camera_obj, camera)
        scene.render.filepath = str(path_for(index, view))
        bpy.ops.render.render(write_still=True)
        fixed = cam.project(camera, points)
        marched = np.concatenate([march_contour(camera, vertices, slices, points[:N_CONTOUR], centre),
                                  fixed[N_CONTOUR:]])
        out.append({"path": scene.render.filepath, "view": view, "camera": camera,
                    "landmarks": marched, "landmarks_3d": fixed, "points": points})
    return out


def blocked_landmarks(context, head: bpy.types.Object, camera: cam.Camera, points: np.ndarray) -> list[str]:
    """What stands between the camera and each landmark (world points of the posed head):
    "face" (another part of the head), "bedding" (the clinical scene's pillow or rails), or "".
    Only surface more than CONTOUR_TOLERANCE in front of a landmark
    hides it: landmark vertices in recesses (inner eye corners, mouth corners) and on the contour
    (the jaw line seen from the front) lie a few millimetres behind the skin their pixel shows,
    and an annotator marks them there; the far eye behind the nose, or the far jaw at a side
    view, lie centimetres behind it."""
    from mathutils import Vector

    depsgraph = context.evaluated_depsgraph_get()
    origin = np.asarray(camera.world)[:3, 3]
    out = []
    for point in points:
        ray = point - origin
        distance = float(np.linalg.norm(ray))
        hit, _where, _normal, _index, obj, _matrix = context.scene.ray_cast(
            depsgraph, Vector(origin), Vector(ray / distance), distance=distance - CONTOUR_TOLERANCE)
        found = obj.original if hit and obj is not None else None
        out.append("face" if found == head else "bedding" if found is not None and BED_PROP in found else "")
    return out


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

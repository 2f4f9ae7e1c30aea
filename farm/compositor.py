"""The farm's compositor: label passes (heatmaps, mask, depth, normals) written from the same render
as each RGB image, and the background laid behind the film-transparent head. Its only user is
the farm; file kinds, bit depths and the depth unit are the dataset contract's (`pain3d.dataset`)."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from pain3d import environments, scenery
from pain3d.addon import compat, stage
from pain3d.addon.nodes import math_node
from pain3d.addon.shading import LABEL_AOVS, NORMAL_AOV
from pain3d.colour import scene_light_for_display, srgb_to_linear
from pain3d.dataset import COVERING, DEPTH_UNIT_M, MASK_CLASSES, OPTIONAL_LABEL_FILES, label_files
from pain3d.heatmap import HEAT_COLOR_STOPS

BACKGROUND_IMAGE = "Pain3D_Background"
WHITE_BALANCE = "Pain3D white balance "


def setup_label_passes(scene, background: bool = False, depth: bool = False,
                       normals: bool = False) -> bpy.types.CompositorNode:
    """Heatmap (16-bit and colourised) and segmentation mask from the same render, via the compositor.

    The mask is the material-index pass (skin, eyes, inner mouth, teeth; never anti-aliased)
    with lips and brows cut out of the skin by their AOVs. Data passes are saved without the
    view transform, so the PNG values are the pass values. Returns the File Output node, which
    the caller points at a folder per image (`compat.set_output_folder`).

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
    tree = compat.new_compositor(scene)
    passes = tree.nodes.new("CompositorNodeRLayers")
    if background:
        source = tree.nodes.new("CompositorNodeImage")
        source.name = "Pain3D background"
        scale = tree.nodes.new("CompositorNodeScale")
        scale.name = "Pain3D background scale"
        compat.scale_to_render(scale, "STRETCH")
        over = tree.nodes.new("CompositorNodeAlphaOver")
        under, above = compat.alpha_over_inputs(over)
        tree.links.new(source.outputs["Image"], scale.inputs["Image"])
        tree.links.new(scale.outputs["Image"], under)
        tree.links.new(passes.outputs["Image"], above)
        compat.compositor_output(tree, _white_balanced(tree, over.outputs["Image"]))
    else:
        compat.compositor_output(tree, _white_balanced(tree, passes.outputs["Image"]))
    wanted = {name: (mode, bits, name in OPTIONAL_LABEL_FILES)  # raw values: depth and normals
              for name, (mode, bits) in label_files(depth, normals).items()}
    files = compat.file_output(tree, wanted)
    files.name = "Pain3D labels"
    index = compat.render_pass(passes, "IndexMA")
    on_head = math_node(tree, "GREATER_THAN", index, 0.5)
    not_bed = math_node(tree, "LESS_THAN", index, MASK_CLASSES["bedding"] - 0.5)
    # AOVs are filtered at the head's edge: no heat off it, nor where the pillow or rails are in front
    heat = math_node(tree, "MULTIPLY", math_node(tree, "MULTIPLY", passes.outputs["heat"], on_head), not_bed)
    tree.links.new(heat, files.inputs["heatmap"])
    ramp, factor, colour = compat.color_ramp(tree)
    _jet_ramp(ramp.color_ramp)
    tree.links.new(heat, factor)
    tree.links.new(colour, files.inputs["heatmap_color"])
    tree.links.new(_mask_socket(tree, passes), files.inputs["mask"])
    coverage = math_node(tree, "MAXIMUM", passes.outputs["Alpha"], 1e-4) if background else 1.0
    if depth:
        tree.links.new(_depth_socket(tree, passes, on_head), files.inputs["depth"])
    if normals:
        tree.links.new(_normals_socket(tree, passes, on_head, coverage), files.inputs["normals"])
    return files


def _white_balanced(tree, image) -> bpy.types.NodeSocket:
    """The image times per-channel gains (`set_white_balance`; 1 until set), as a camera's white
    balance acts on the whole frame."""
    split = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image, split.inputs["Image"])
    join = tree.nodes.new("CompositorNodeCombineColor")
    for channel in ("Red", "Green", "Blue"):
        gain = math_node(tree, "MULTIPLY", split.outputs[channel], 1.0)
        gain.node.name = WHITE_BALANCE + channel
        tree.links.new(gain, join.inputs[channel])
    return join.outputs["Image"]


def set_white_balance(scene, gains: list[float]) -> None:
    """The camera's white balance (linear RGB gains, `pain3d.scenery.white_balance`) for the next renders."""
    tree = compat.compositor(scene)
    for channel, gain in zip(("Red", "Green", "Blue"), gains):
        tree.nodes[WHITE_BALANCE + channel].inputs[1].default_value = float(gain)


def _depth_socket(tree, passes, on_head) -> bpy.types.NodeSocket:
    """Camera-axis depth in DEPTH_UNIT_M steps, / 65535, where the mask is on the head.

    Cycles writes the Z pass from each pixel's first sample, like the material-index pass, so
    depth is not anti-aliased and is non-zero exactly where the mask is.
    """
    metres = math_node(tree, "MULTIPLY", passes.outputs["Depth"], on_head)
    return math_node(tree, "MINIMUM", math_node(tree, "DIVIDE", metres, DEPTH_UNIT_M * 65535.0), 1.0)


def _normals_socket(tree, passes, on_head, coverage) -> bpy.types.NodeSocket:
    """(n + 1) / 2 of the camera-space normal AOV (divided by coverage), black off the head."""
    split = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(passes.outputs[NORMAL_AOV], split.inputs["Image"])
    join = tree.nodes.new("CompositorNodeCombineColor")
    for channel in ("Red", "Green", "Blue"):
        n = math_node(tree, "DIVIDE", split.outputs[channel], coverage)
        if channel == "Blue":  # Cycles' camera space looks along +z; ours has z towards the camera
            n = math_node(tree, "MULTIPLY", n, -1.0)
        mapped = math_node(tree, "MULTIPLY", math_node(tree, "ADD", n, 1.0), 0.5)
        tree.links.new(math_node(tree, "MULTIPLY", mapped, on_head), join.inputs[channel])
    return join.outputs["Image"]


def _mask_socket(tree, passes) -> bpy.types.NodeSocket:
    """class = material class, or lips/brows where the skin carries them; scaled for an 8-bit PNG."""
    index = compat.render_pass(passes, "IndexMA")
    skin = MASK_CLASSES["skin"]
    on_skin = math_node(tree, "LESS_THAN", math_node(tree, "ABSOLUTE", math_node(tree, "SUBTRACT", index, skin)), 0.5)
    lips = math_node(tree, "GREATER_THAN", passes.outputs["lips"], 0.5)
    brows = math_node(tree, "GREATER_THAN", passes.outputs["brows"], 0.5)
    brows_not_lips = math_node(tree, "MULTIPLY", brows, math_node(tree, "SUBTRACT", 1.0, lips))
    extra = math_node(tree, "ADD", math_node(tree, "MULTIPLY", lips, MASK_CLASSES["lips"] - skin),
                      math_node(tree, "MULTIPLY", brows_not_lips, MASK_CLASSES["brows"] - skin))
    return math_node(tree, "DIVIDE", math_node(tree, "ADD", index, math_node(tree, "MULTIPLY", on_skin, extra)), 255.0)


def _jet_ramp(ramp) -> None:
    """The heatmap colours (`pain3d.heatmap.HEAT_COLOR_STOPS`) on a colour ramp."""
    elements = ramp.elements
    while len(elements) < len(HEAT_COLOR_STOPS):
        elements.new(0.5)
    for element, (position, rgb) in zip(elements, HEAT_COLOR_STOPS):
        element.position, element.color = position, (*rgb, 1.0)


def covering_at(mask_path: Path, pixels: np.ndarray) -> list[str]:
    """Which COVERING class (hair, clothing) covers each pixel position in a mask file, or "": the
    class of most of the 3x3 pixels around it (one sample decides a mask pixel, so a lone stray
    strand does not count)."""
    image = bpy.data.images.load(str(mask_path))
    try:
        width, height = image.size
        rgba = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(rgba)
    finally:
        bpy.data.images.remove(image)
    classes = np.pad(np.rint(rgba.reshape(height, width, 4)[::-1, :, 0] * 255.0).astype(int), 1)  # top row first
    out = []
    for x, y in np.asarray(pixels, float):
        col, row = int(np.floor(x)) + 1, int(np.floor(y)) + 1
        found = ""
        if 1 <= col <= width and 1 <= row <= height:
            around = classes[row - 1:row + 2, col - 1:col + 2]
            found = next((name for name in COVERING if (around == MASK_CLASSES[name]).sum() >= 5), "")
        out.append(found)
    return out


def set_background(scene, record: dict) -> None:
    """Put a background record (`pain3d.scenery.draw_background`) behind the next renders.

    Needs `setup_label_passes(scene, background=True)`: the render is film-transparent and the
    compositor lays it over this image, so the label passes never see the background. An
    `environment` record depends on the camera: `set_environment_background` lays it per view.
    """
    source = compat.compositor(scene).nodes["Pain3D background"]
    key = repr((sorted(record.items()), scene.render.resolution_x))
    if source.image is not None and source.get("pain3d_record") == key:
        return  # per-identity backgrounds: made once, reused for every image
    source["pain3d_record"] = key
    if record["kind"] == "images":
        image = bpy.data.images.load(str(Path(record["folder"]) / record["file"]), check_existing=True)
        n = scene.render.resolution_x
        photo = scenery.cover_square(stage.linear_pixels(image), n)  # cover the frame, keeping the aspect
        if not image.is_float:  # a photograph made for a display shows as it is; EXR/HDR hold scene light
            photo = scene_light_for_display(photo, scene.view_settings.view_transform)
        _show_pixels(scene, environments.lens_blur(photo, record.get("blur", 0.0) * n))
    else:
        pixels = scenery.background_pixels(record, scene.render.resolution_x)
        _show_pixels(scene, scene_light_for_display(srgb_to_linear(pixels), scene.view_settings.view_transform))


def set_environment_background(scene, world: dict, camera, blur: float) -> None:
    """Lay what `camera` sees of the world's environment map (`pain3d.environments`), at the
    world's exposure and blurred by `blur` (a share of the image width), behind the next render."""
    image = stage.environment_image(world["path"])
    seen = environments.environment_view(stage.linear_pixels(image), camera, world["rotation"],
                                         scene.render.resolution_x, stage.environment_scale(world, image), blur,
                                         world.get("tilt", (0.0, 0.0)))
    compat.compositor(scene).nodes["Pain3D background"]["pain3d_record"] = ""  # per view: never reused
    _show_pixels(scene, seen)


def _show_pixels(scene, linear: np.ndarray) -> None:
    """Linear RGB pixels (n, n, 3), row 0 on top, as the background image, stretched to the render."""
    n = linear.shape[0]
    image = bpy.data.images.get(BACKGROUND_IMAGE)
    if image is not None and tuple(image.size) != (n, n):
        bpy.data.images.remove(image)
        image = None
    if image is None:
        image = bpy.data.images.new(BACKGROUND_IMAGE, n, n, alpha=True, float_buffer=True)
    rgba = np.concatenate([linear[::-1], np.ones((n, n, 1))], axis=2).astype(np.float32)  # Blender: bottom row first
    image.pixels.foreach_set(rgba.ravel())
    image.update()
    tree = compat.compositor(scene)
    compat.scale_to_render(tree.nodes["Pain3D background scale"], "STRETCH")
    tree.nodes["Pain3D background"].image = image

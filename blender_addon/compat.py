"""The one place that knows how Blender versions differ (4.2 LTS, 4.5 LTS, 5.0 and later 5.x).

Everything else in the add-on and the farm builds node trees, drivers and file outputs through
these functions, so a version's quirks are handled here once. What changed, and where:

- 5.0 moved the compositor into a node group (`scene.compositing_node_group`, output through a
  Group Output instead of a Composite node) and dropped the compositor's own Math and Color Ramp
  nodes for the shader ones (4.2's compositor takes only its own; from 4.5 both exist: 4.x keeps
  its own so its pixels stay what they were).
- 5.0 renamed render-pass outputs (`IndexMA` -> `Material Index`), turned the Scale node's
  `space`/`frame_method` into menu input sockets, named Alpha Over's inputs (Background,
  Foreground) in a new order, and redesigned the File Output node (`file_output_items`,
  `directory`; single images no longer get a frame number).
- 5.0's `driver_add` puts keyframes (0, 0) and (1, 1) on the new F-curve (4.x a Generator
  modifier): left there they would override the FACS intensity -> weight mapping.
- 5.0 gives every material and world a node tree and deprecates `use_nodes`.
- 4.2's `bpy` module crashes at process exit once Python RNA callbacks exist (`exit_process`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import bpy

from ..colour import VIEW_TRANSFORM

VERSION: tuple[int, int, int] = tuple(bpy.app.version)
MODERN = VERSION >= (5, 0, 0)  # the 5.x node and file-output APIs
PASS_NAMES = {"IndexMA": "Material Index"}  # 4.x render-pass output -> 5.x name


def use_nodes(block: bpy.types.ID) -> None:
    """Give a material or world its node tree (5.x: it always has one)."""
    if not MODERN:
        block.use_nodes = True


def new_compositor(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """The scene's compositor node tree, switched on and emptied."""
    if MODERN:
        if scene.compositing_node_group is None:
            scene.compositing_node_group = bpy.data.node_groups.new("Pain3D Compositor", "CompositorNodeTree")
    else:
        scene.use_nodes = True
    tree = compositor(scene)
    tree.nodes.clear()
    return tree


def compositor(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """The scene's compositor node tree as it is."""
    return scene.compositing_node_group if MODERN else scene.node_tree


def compositor_output(tree: bpy.types.NodeTree, image: bpy.types.NodeSocket) -> None:
    """Make `image` the compositor's result (what the render's image file gets)."""
    if MODERN:
        if not any(item.in_out == "OUTPUT" for item in tree.interface.items_tree):
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        tree.links.new(image, tree.nodes.new("NodeGroupOutput").inputs[0])
    else:
        tree.links.new(image, tree.nodes.new("CompositorNodeComposite").inputs["Image"])


def set_view_transform(scene: bpy.types.Scene) -> str:
    """Show the renders through `pain3d.colour.VIEW_TRANSFORM` (Blender 4.2+), or Standard where a
    build lacks it (hard clipping); returns the one set."""
    try:
        scene.view_settings.view_transform = VIEW_TRANSFORM
    except TypeError:
        scene.view_settings.view_transform = "Standard"
    return scene.view_settings.view_transform


def set_modifier_input(modifier: bpy.types.Modifier, identifier: str, value) -> None:
    """Set a geometry-nodes modifier's group input (5.2+: through `properties.inputs`; before: an
    ID property named by the socket's identifier)."""
    inputs = getattr(getattr(modifier, "properties", None), "inputs", None)
    if inputs is not None:
        getattr(inputs, identifier).value = value
    else:
        modifier[identifier] = value


def math_node_type(tree: bpy.types.NodeTree) -> str:
    """The Math node a tree takes."""
    return "CompositorNodeMath" if tree.bl_idname == "CompositorNodeTree" and not MODERN else "ShaderNodeMath"


def color_ramp(tree: bpy.types.NodeTree) -> tuple[bpy.types.Node, bpy.types.NodeSocket, bpy.types.NodeSocket]:
    """A compositor Color Ramp: (node, its factor input, its colour output)."""
    node = tree.nodes.new("ShaderNodeValToRGB" if MODERN else "CompositorNodeValToRGB")
    return node, node.inputs[0], node.outputs[0]


def render_pass(passes: bpy.types.Node, name: str) -> bpy.types.NodeSocket:
    """A Render Layers output by its 4.x name (AOVs keep their own names)."""
    return passes.outputs[PASS_NAMES.get(name, name) if MODERN else name]


def scale_to_render(node: bpy.types.Node, fit: str) -> None:
    """A Scale node that resizes its image to the render size; `fit` is "CROP" or "STRETCH"."""
    if MODERN:
        node.inputs["Type"].default_value = "Render Size"
        node.inputs["Frame Type"].default_value = fit.title()
    else:
        node.space = "RENDER_SIZE"
        node.frame_method = fit


def alpha_over_inputs(node: bpy.types.Node) -> tuple[bpy.types.NodeSocket, bpy.types.NodeSocket]:
    """(background, foreground) inputs of an Alpha Over node."""
    if MODERN:
        return node.inputs["Background"], node.inputs["Foreground"]
    return node.inputs[1], node.inputs[2]


def file_output(tree: bpy.types.NodeTree, files: dict[str, tuple[str, int, bool]]) -> bpy.types.Node:
    """A File Output node with one PNG input per name: (colour mode, bits, raw values?).

    Raw files keep the pass values (no view transform, no sRGB encoding of 8-bit RGB data).
    """
    node = tree.nodes.new("CompositorNodeOutputFile")
    if MODERN:
        node.file_output_items.clear()
        node.format.media_type = "IMAGE"  # one file per input, not the default multilayer EXR
        node.format.file_format = "PNG"
        node.file_name = ""
    else:
        node.file_slots.clear()
    for name, (mode, bits, raw) in files.items():
        if MODERN:
            slot = node.file_output_items.new("RGBA" if mode == "RGB" else "FLOAT", name)
            slot.override_node_format = True
        else:
            node.file_slots.new(name)
            slot = node.file_slots[name]
            slot.use_node_format = False
        slot.save_as_render = False
        slot.format.file_format, slot.format.color_mode, slot.format.color_depth = "PNG", mode, str(bits)
        if raw:
            slot.format.color_management = "OVERRIDE"
            slot.format.linear_colorspace_settings.name = "Non-Color"
    return node


def set_output_folder(node: bpy.types.Node, folder: Path) -> None:
    """Where a File Output node writes its next files."""
    if MODERN:
        node.directory = str(folder)
    else:
        node.base_path = str(folder)


def output_file(folder: Path, name: str, frame: int) -> Path:
    """The file a File Output input `name` writes for one still (4.x appends the frame number)."""
    return folder / (f"{name}.png" if MODERN else f"{name}{frame:04d}.png")


def add_driver(block: bpy.types.bpy_struct, path: str) -> bpy.types.FCurve:
    """A driver F-curve on `block.path` with neither keyframes nor modifiers: the caller maps it."""
    curve = block.driver_add(path)
    for modifier in list(curve.modifiers):
        curve.modifiers.remove(modifier)
    curve.keyframe_points.clear()
    return curve


def exit_process(code: int) -> NoReturn:
    """End a headless Blender process with `code`.

    Blender 4.2's `bpy` module crashes after Python has shut down whenever Python-defined RNA
    callbacks exist (its space types free their Python classes without an interpreter: exit 139),
    so there the process leaves at once, streams flushed, without that teardown.
    """
    if VERSION < (4, 3, 0):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)

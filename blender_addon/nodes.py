"""Small builders for Blender node trees (shader and compositor): the add-on's shading and the farm's
label compositor share them."""

from __future__ import annotations

import bpy

from .compat import math_node_type


def attribute(nodes, name: str, kind: str = "GEOMETRY") -> bpy.types.ShaderNode:
    node = nodes.new("ShaderNodeAttribute")
    node.attribute_type, node.attribute_name = kind, name
    return node


def separate(nodes, links, socket, xyz: bool = False) -> dict:
    node = nodes.new("ShaderNodeSeparateXYZ" if xyz else "ShaderNodeSeparateColor")
    links.new(socket, node.inputs[0])
    return {out.name: out for out in node.outputs}


def math_node(tree, operation: str, a, b=None) -> bpy.types.NodeSocket:
    """A Math node (shader or compositor, by the tree) on sockets or constants; returns its output."""
    node = tree.nodes.new(math_node_type(tree))
    node.operation = operation
    for socket, value in zip(node.inputs, (a, b)):
        if isinstance(value, bpy.types.NodeSocket):
            tree.links.new(value, socket)
        elif value is not None:
            socket.default_value = float(value)
    return node.outputs[0]


def rgb(nodes, rgb) -> bpy.types.ShaderNode:
    node = nodes.new("ShaderNodeRGB")
    node.outputs[0].default_value = (*[float(c) for c in rgb], 1.0)
    return node


def mix(nodes, links, a, b, factor, factor_scale: float = 1.0, data_type: str = "RGBA") -> bpy.types.ShaderNode:
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = data_type
    if isinstance(factor, float):
        mix.inputs["Factor"].default_value = factor * factor_scale
    else:
        if factor_scale != 1.0:
            factor = math_node(nodes.id_data, "MULTIPLY", factor, factor_scale)
        links.new(factor, mix.inputs["Factor"])
    links.new(a, mix.inputs["A"])
    links.new(b, mix.inputs["B"])
    return mix

"""Objects parented to a head (hair, garments, bedding): each kind is marked by a custom property,
found by it and deleted with its data and the materials no one else uses."""

from __future__ import annotations

import bpy


def parts_of(head: bpy.types.Object, prop: str) -> list[bpy.types.Object]:
    """The head's children that carry `prop`."""
    return [child for child in head.children if prop in child]


def remove_parts(head: bpy.types.Object, prop: str, store) -> None:
    """Delete the head's children that carry `prop`, their data from `store` (`bpy.data.meshes`,
    `bpy.data.hair_curves`) and their materials once unused."""
    for obj in parts_of(head, prop):
        data, materials = obj.data, [m for m in obj.data.materials if m is not None]
        bpy.data.objects.remove(obj)
        store.remove(data)
        for mat in materials:
            if mat.users == 0:
                bpy.data.materials.remove(mat)

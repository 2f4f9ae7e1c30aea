"""Pain3D Blender extension: parametric heads, FACS AU shape keys and the artist's panel.

The thin Blender layer over the pure core in `pain3d` (issue: Blender add-on).
"""

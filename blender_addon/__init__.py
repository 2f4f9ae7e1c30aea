"""Pain3D Blender extension: parametric heads, FACS AU shape keys and the artist's panel.

The thin Blender layer over the pure core (bundled as `.core`): `scene` turns core meshes into
objects, materials, shape keys and drivers; `props`, `operators` and `ui` are the panel.
Relative imports only, as Blender extensions require.
"""

from __future__ import annotations

_MODULES = ("props", "operators", "ui")


def _modules():
    import importlib

    return [importlib.import_module(f".{name}", __package__) for name in _MODULES]


def register() -> None:
    for module in _modules():
        module.register()


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()

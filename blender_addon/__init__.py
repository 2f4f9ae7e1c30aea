"""Pain3D Blender extension: parametric heads, FACS AU shape keys and the artist's panel.

The thin Blender layer over the pure core (`pain3d`, its parent package both when installed and
inside the extension zip): `head` turns core identities into mesh objects with AU shape keys and
drivers, `shading` makes their materials, `stage` their cameras, lights, world and renders
(`nodes` builds node trees for both); `props`, `operators` and `ui` are the panel. Relative
imports only, as Blender extensions require.
"""

from __future__ import annotations

import atexit

_MODULES = ("props", "operators", "ui")
_registered = False


def _modules():
    import importlib

    return [importlib.import_module(f".{name}", __package__) for name in _MODULES]


def register() -> None:
    global _registered
    for module in _modules():
        module.register()
    if not _registered:
        atexit.register(_unregister_at_exit)
    _registered = True


def unregister() -> None:
    """Unregister once: at exit both our handler and Blender's add-on teardown may call this."""
    global _registered
    if not _registered:
        return
    for module in reversed(_modules()):
        module.unregister()
    _registered = False
    atexit.unregister(_unregister_at_exit)


def _unregister_at_exit() -> None:
    """Under the PyPI `bpy` module nothing unregisters add-ons at exit, and Blender's teardown
    then hangs on our Python property-update callbacks; Blender itself disables add-ons first."""
    if _registered:
        unregister()

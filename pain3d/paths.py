"""Where the data files the code reads live."""

from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    """The `assets/` folder: $PAIN3D_ASSETS, else the one beside this package.

    Beside the package holds both in the repository (editable install) and inside the
    Blender extension, which bundles `assets/` next to the core.
    """
    override = os.environ.get("PAIN3D_ASSETS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "assets"


def asset(*parts: str) -> Path:
    """Path of a file under `assets/`."""
    return assets_dir().joinpath(*parts)

"""Where the data files the code reads live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def assets_dir() -> Path:
    """The `assets/` folder: $PAIN3D_ASSETS, else the one inside the Blender extension (whose root
    package is this one), else the repository's, beside this package (an editable install)."""
    override = os.environ.get("PAIN3D_ASSETS")
    if override:
        return Path(override)
    inside = PACKAGE / "assets"
    return inside if inside.is_dir() else PACKAGE.parent / "assets"


def asset(*parts: str) -> Path:
    """Path of a file under `assets/`."""
    return assets_dir().joinpath(*parts)

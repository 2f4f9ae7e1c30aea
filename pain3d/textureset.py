"""Texture sets on disk (docs/texture-set.md): where they live and when one is complete.

Pure Python: the farm reads this inside Blender, whose Python has no Pillow.
"""

from __future__ import annotations

import json
from pathlib import Path

FORMAT, FORMAT_VERSION = "pain3d-textures", 1
FOLDER, HEADER = "textures", "texture.json"
FILES = {"albedo": "albedo.png", "roughness": "roughness.png", "normal": "normal.png", "eyes": "eyes.png"}


def texture_dir(data: Path, identity: int) -> Path:
    return Path(data) / FOLDER / f"{identity:06d}"


def complete_set(data: Path, identity: int) -> dict | None:
    """The header of an identity's finished texture set, or None when there is none."""
    try:
        header = json.loads((texture_dir(data, identity) / HEADER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return header if header.get("format") == FORMAT and header.get("format_version") == FORMAT_VERSION else None


def texture_files(data: Path, identity: int) -> dict[str, str] | None:
    """Map name -> image path of an identity's finished texture set (what the farm renders with), or None."""
    header = complete_set(data, identity)
    folder = texture_dir(data, identity)
    return {name: str(folder / file) for name, file in header["files"].items()} if header else None

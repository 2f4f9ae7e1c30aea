"""Background image folders of a job (`background.images`): which files in them are images.

The job-file checks (`pain3d.jobs`) and the background draws (`pain3d.scenery`) read folders
through this one listing."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .errors import Pain3DError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".hdr")


@lru_cache(maxsize=8)
def _listing(folder: str, mtime_ns: int) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in Path(folder).iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")))


def list_images(folder: str | os.PathLike) -> tuple[str, ...]:
    """The image files of a background folder, sorted by name; an error if there are none."""
    path = Path(folder)
    allowed = "a folder holding images (" + ", ".join(e[1:] for e in IMAGE_EXTENSIONS) + ")"
    if not str(folder):
        raise Pain3DError(f"background.images is not set but background.kinds.images > 0; allowed: {allowed}")
    if not path.is_dir():
        raise Pain3DError(f'background.images = "{folder}": no such folder; allowed: {allowed}')
    files = _listing(str(path), path.stat().st_mtime_ns)
    if not files:
        raise Pain3DError(f'background.images = "{folder}": the folder holds no images; allowed: {allowed}')
    return files

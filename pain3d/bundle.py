"""Identity bundles: what texturing needs to know about one neutral head (docs/identity-bundle.md).

The farm renders the untextured views (farm/bundle.py); everything else here is pure numpy:
the skin's UV-space position and normal maps, and per view the exact pixel-to-texel
correspondence and depth from a z-buffered rasterisation through the very camera Blender used.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from . import __version__, raster
from .camera import Camera
from .errors import Pain3DError
from .fileio import atomic_write_bytes, atomic_write_text, dumps_json, png_gray16
from .head.mesh import HeadMesh

FORMAT, FORMAT_VERSION = "pain3d-bundle", 1
HEADER = "bundle.json"
FOLDER = "bundles"
VIEWS = {"front": 0.0, "left45": 45.0, "right45": -45.0}  # positive yaw shows the subject's left cheek
DEPTH_UNIT_M = 1e-4  # 16-bit depth PNG: 0.1 mm per unit, 0 = nothing seen
IDENTITY_FIELDS = ("seed", "head_seed", "age", "sex", "ethnicity", "skin_tone")


def bundle_dir(data: Path, identity: int) -> Path:
    return Path(data) / FOLDER / f"{identity:06d}"


def is_complete(data: Path, identity: int) -> bool:
    return (bundle_dir(data, identity) / HEADER).is_file()


def view_names(side_views: bool) -> list[str]:
    return list(VIEWS) if side_views else ["front"]


def write_bundle(data: Path, identity: dict, head: HeadMesh, uv_size: int,
                 views: list[tuple[str, Camera, Path]]) -> Path:
    """Write identity's bundle: `views` are (name, the camera Blender rendered with, its RGBA render).

    The folder is filled under a temporary name and renamed into place, header last.
    """
    final = bundle_dir(data, identity["index"])
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.savez_compressed(tmp / "uv_maps.npz", **raster.uv_maps(head, uv_size))
    records = [_write_view(tmp, name, camera, render, head) for name, camera, render in views]
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "identity": identity["index"],
              **{k: identity[k] for k in IDENTITY_FIELDS}, "uv_size": uv_size, "views": records,
              "pain3d_version": __version__}
    atomic_write_text(tmp / HEADER, json.dumps(header, indent=1) + "\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def _write_view(folder: Path, name: str, camera: Camera, render: Path, head: HeadMesh) -> dict:
    seen = raster.view_correspondence(head, camera)
    files = {"render": f"view_{name}_render.png", "depth": f"view_{name}_depth.png", "uv": f"view_{name}_uv.npz"}
    shutil.copyfile(render, folder / files["render"])
    depth = np.where(seen["depth"] > 0, np.round(seen["depth"] / DEPTH_UNIT_M), 0)
    atomic_write_bytes(folder / files["depth"], png_gray16(np.clip(depth, 0, 65535).astype(np.uint16)))
    np.savez_compressed(folder / files["uv"], uv=seen["uv"], visible=seen["visible"], facing=seen["facing"])
    return {"name": name, "yaw": VIEWS[name], "pitch": 0.0, "camera": json.loads(dumps_json(camera.to_dict())),
            **files}


def read_header(folder: Path) -> dict:
    """A bundle's header, checked; one-line error naming the identity otherwise."""
    path = Path(folder) / HEADER
    who = f"identity {folder.name.lstrip('0') or '0'}"
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Pain3DError(f"{who}: bundle {folder} is incomplete (no {HEADER}); re-run the bundle step") from None
    except (OSError, ValueError) as err:
        raise Pain3DError(f"{who}: bundle header {path} is corrupt ({err})") from None
    if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
        raise Pain3DError(f"{who}: {path} is not a {FORMAT} version {FORMAT_VERSION} header")
    return header

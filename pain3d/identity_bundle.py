"""Identity bundles: what texturing needs to know about one neutral head (docs/identity-bundle.md).

The farm renders the untextured views (farm/bundle.py); everything else here is pure numpy:
the skin's UV-space position and normal maps, and per view the exact pixel-to-texel
correspondence and depth from a z-buffered rasterisation through the very camera Blender used.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, raster
from .camera import Camera
from .dataset import DEPTH_UNIT_M  # depth PNGs in the dataset's unit
from .errors import Pain3DError, first_line
from .fileio import atomic_write_bytes, atomic_write_text, dumps_json, png_gray16
from .head.mesh import HeadMesh

FORMAT, FORMAT_VERSION = "pain3d-bundle", 1
HEADER = "bundle.json"
FOLDER = "bundles"
VIEWS = {"front": 0.0, "left45": 45.0, "right45": -45.0}  # positive yaw shows the subject's left cheek
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


# --- reading a bundle -------------------------------------------------------------------------


@dataclass
class BundleView:
    """One view of a bundle: per pixel, metric depth (0 = nothing seen) and the texel it sees."""

    name: str
    depth_m: np.ndarray  # (H, W) float64 metres
    uv: np.ndarray  # (H, W, 2) float32
    visible: np.ndarray  # (H, W) bool
    facing: np.ndarray  # (H, W) float32

@dataclass
class IdentityBundle:
    """An identity bundle as read from its folder (docs/identity-bundle.md)."""

    folder: Path
    header: dict
    uv_maps: dict[str, np.ndarray]
    views: list[BundleView]

    @property
    def identity(self) -> int:
        return int(self.header["identity"])


class _Corrupt(Exception):
    """What is wrong with one bundle file; read_bundle adds the identity and the folder."""


def read_bundle(folder: str | Path) -> IdentityBundle:
    """Read a complete bundle; a one-line Pain3DError naming the identity and the cause otherwise."""
    folder = Path(folder)
    header = read_header(folder)
    try:
        size = int(header["uv_size"])
        uv_maps = _read_npz(folder / "uv_maps.npz", {"coverage": (size, size)})
        views = [_read_view(folder, record) for record in header["views"]]
        if not views or views[0].name != "front":
            raise _Corrupt("the header lists no front view first")
    except (KeyError, TypeError, ValueError) as err:
        raise Pain3DError(f"{_who(folder)}: corrupt bundle {folder}: malformed header ({first_line(err)}); "
                          "delete the folder to have it written again") from None
    except _Corrupt as err:
        raise Pain3DError(f"{_who(folder)}: corrupt bundle {folder}: {err}; "
                          "delete the folder to have it written again") from None
    uv_maps["coverage"] = uv_maps["coverage"].astype(bool)
    return IdentityBundle(folder, header, uv_maps, views)


def _who(folder: Path) -> str:
    return f"identity {folder.name.lstrip('0') or '0'}"


def _read_view(folder: Path, record: dict) -> BundleView:
    depth_m = _read_depth(folder / record["depth"])
    h, w = depth_m.shape
    arrays = _read_npz(folder / record["uv"], {"uv": (h, w, 2), "visible": (h, w), "facing": (h, w)})
    return BundleView(record["name"], depth_m, arrays["uv"], arrays["visible"].astype(bool), arrays["facing"])


def _read_npz(path: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise _Corrupt(f"{path.name} is missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise _Corrupt(f"{path.name} cannot be read ({first_line(err)})") from None
    for name, shape in shapes.items():
        if name not in arrays:
            raise _Corrupt(f"{path.name} has no array {name!r}")
        if arrays[name].shape != shape:
            raise _Corrupt(f"{path.name}: {name} has shape {arrays[name].shape}, expected {shape}")
    return arrays


def _read_depth(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.mode not in ("I;16", "I;16B", "I"):
                raise _Corrupt(f"{path.name} is a {image.mode} image, not 16-bit grey")
            units = np.asarray(image, dtype=np.float64)
    except FileNotFoundError:
        raise _Corrupt(f"{path.name} is missing") from None
    except (OSError, ValueError) as err:
        raise _Corrupt(f"{path.name} cannot be read ({first_line(err)})") from None
    return units * DEPTH_UNIT_M

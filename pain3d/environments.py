"""Environment maps: which ones a job may draw, and what a camera sees of one, in pure numpy.

An environment is an equirectangular HDR/EXR image that lights the head (the world in Blender)
and, as the `environment` background kind, is what the camera sees behind it: the same map at
the same rotation, blurred like the out-of-focus background of a portrait lens.

Sources (`[lighting] environment`): "builtin" draws among the eight CC0 maps that ship inside
Blender's `bpy` (`BUILTIN`, in `datafiles/studiolights/world/`), a folder draws among its
HDR/EXR files, a file is used as is. Records name a built-in map as `builtin:NAME.exr`; the
Blender layer resolves that (`pain3d.addon.stage.environment_file`), so plans stay portable.

Directions follow Cycles' equirectangular mapping (Z up): the map's centre column looks along
+X, its left edge along -X through +Y, its top row straight up. A world rotated by R degrees
(the Mapping node before the texture) samples the map at Rz(R) d for a ray direction d.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .camera import Camera
from .colour import LUMA
from .errors import Pain3DError

BUILTIN = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")
BUILTIN_PREFIX = "builtin:"
ENVIRONMENT_EXTENSIONS = (".exr", ".hdr")


def choices(source: str) -> list[str]:
    """The environment files a `[lighting] environment` value draws among (sorted, stable)."""
    if source == "builtin":
        return [f"{BUILTIN_PREFIX}{name}.exr" for name in BUILTIN]
    path = Path(source)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in ENVIRONMENT_EXTENSIONS)
        if not files:
            raise Pain3DError(f'lighting.environment = "{source}": the folder holds no HDR/EXR files; allowed: '
                              'a folder of .exr/.hdr files, an image file, "builtin" or ""')
        return files
    return [str(path)]


def is_builtin(path: str) -> bool:
    return str(path).startswith(BUILTIN_PREFIX)


def builtin_file(path: str, datafiles: str | os.PathLike) -> Path:
    """The file of a `builtin:NAME.exr` record inside Blender's datafiles folder."""
    return Path(datafiles) / "studiolights" / "world" / str(path)[len(BUILTIN_PREFIX):]


def ray_directions(camera: Camera, size: int) -> np.ndarray:
    """World directions (size, size, 3) of the rays through the pixel centres of a `size`-pixel
    image from `camera` (row 0 on top), unit length."""
    f = camera.focal_mm / camera.sensor_mm * size
    centres = np.arange(size) + 0.5 - size / 2.0
    x, y = np.meshgrid(centres, -centres)  # camera space: x right, y up, looking down -z
    local = np.stack([x, y, np.full_like(x, -f)], axis=-1)
    world = local @ camera.world[:3, :3].T
    return world / np.linalg.norm(world, axis=-1, keepdims=True)


def equirect_uv(directions: np.ndarray, rotation_deg: float,
                tilt_deg: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates (u right, v up, 0..1) where a world rotated by `rotation_deg` about Z
    is sampled for each direction; `tilt_deg` rotates about X, then Y, before that (the clinical
    scene's room, `pain3d.bed.world_tilt`), as Blender's Mapping node does with an XYZ Euler."""
    d = np.asarray(directions, np.float64)
    if any(tilt_deg):
        tx, ty = math.radians(tilt_deg[0]), math.radians(tilt_deg[1])
        cx, sx, cy, sy = math.cos(tx), math.sin(tx), math.cos(ty), math.sin(ty)
        d = np.stack([d[..., 0], cx * d[..., 1] - sx * d[..., 2], sx * d[..., 1] + cx * d[..., 2]], axis=-1)
        d = np.stack([cy * d[..., 0] + sy * d[..., 2], d[..., 1], -sy * d[..., 0] + cy * d[..., 2]], axis=-1)
    r = math.radians(rotation_deg)
    c, s = math.cos(r), math.sin(r)
    x, y, z = c * d[..., 0] - s * d[..., 1], s * d[..., 0] + c * d[..., 1], d[..., 2]
    u = 0.5 - np.arctan2(y, x) / (2.0 * math.pi)
    v = 0.5 + np.arcsin(np.clip(z, -1.0, 1.0)) / math.pi
    return u, v


def sample_equirect(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup in an equirectangular image (H, W, C), row 0 on top; u wraps around."""
    h, w = image.shape[:2]
    x = (u % 1.0) * w - 0.5
    y = np.clip((1.0 - v) * h - 0.5, 0.0, h - 1.0)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x1, y1 = (x0 + 1) % w, np.minimum(y0 + 1, h - 1)
    x0 %= w
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def lens_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """A Gaussian blur (separable, edges clamped): the out-of-focus background of a portrait."""
    if sigma_px <= 0.0:
        return image
    radius = int(math.ceil(3.0 * sigma_px))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_px) ** 2)
    taps /= taps.sum()
    out = image
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in range(out.ndim)], mode="edge")
        out = sum(t * np.take(padded, np.arange(i, i + out.shape[axis]), axis=axis) for i, t in enumerate(taps))
    return out


def environment_view(image: np.ndarray, camera: Camera, rotation_deg: float, size: int,
                     strength: float, blur: float, tilt_deg: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """What `camera` sees of an environment map behind the head: linear RGB (size, size, 3), row 0
    on top, the map's radiance times `strength`, blurred by `blur` (sigma as a share of the
    image width)."""
    u, v = equirect_uv(ray_directions(camera, size), rotation_deg, tilt_deg)
    seen = sample_equirect(np.asarray(image, np.float64)[..., :3], u, v) * strength
    return lens_blur(seen, blur * size).astype(np.float32)


def mean_luminance(image: np.ndarray) -> float:
    """Mean luminance of an equirectangular map, each row weighted by the solid angle it covers."""
    h = image.shape[0]
    weights = np.cos((np.arange(h) + 0.5) / h * math.pi - math.pi / 2.0)
    luma = np.asarray(image, np.float64)[..., :3] @ LUMA
    return float((luma.mean(axis=1) * weights).sum() / weights.sum())

"""Image files as tensors: photographs as uint8 RGB, heatmaps (grayscale or colourised) as heat in [0, 1],
each optionally of a face crop (`face_box`: the square every reader crops faces to)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from pain3d.errors import Pain3DError

from .heat import heat_from_rgb

CROP_MARGIN = 0.2  # face crop side = (1 + 2 x margin) x the landmarks' larger extent (UNBC and Pain3D alike)
Box = tuple[int, int, int, int]  # left, top, right, bottom pixels; may leave the frame (black there)


def face_box(points: np.ndarray, margin: float = CROP_MARGIN) -> Box:
    """The square around the landmarks' bounding box, its side (1 + 2 margin) x their larger extent."""
    points = np.asarray(points, dtype=float)
    lo, hi = points.min(0), points.max(0)
    centre, half = (lo + hi) / 2, (1 + 2 * margin) * float((hi - lo).max()) / 2
    half = max(half, 1.0)  # a degenerate (single-point) shape still crops one pixel's worth
    left, top = np.round(centre - half).astype(int)
    side = int(round(2 * half))
    return int(left), int(top), int(left) + side, int(top) + side


def _open(path: Path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
        return img
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise Pain3DError(f"{path}: cannot read image ({err})") from None


def load_rgb(path: Path, size: int, box: Box | None = None) -> torch.Tensor:
    """(3, size, size) uint8 RGB image, of its crop `box` (left, top, right, bottom; black outside) if given."""
    img = _open(path).convert("RGB")
    img = (img.crop(box) if box is not None else img).resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def load_heatmap(path: Path, size: int, colormap: str, box: Box | None = None) -> torch.Tensor:
    """(1, size, size) float heat in [0, 1]: 8/16-bit grayscale as is, colour through `colormap`; of its
    crop `box` if given (no heat outside the frame)."""
    img = _open(path)
    img = img.crop(box) if box is not None else img
    if img.mode in ("I;16", "I;16B", "I"):
        heat = np.asarray(img, dtype=np.float32) / 65535.0
    elif img.mode in ("L", "LA"):
        heat = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    else:
        heat = heat_from_rgb(np.asarray(img.convert("RGB")), colormap)
    resized = Image.fromarray(heat).resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.clip(np.asarray(resized), 0, 1)).unsqueeze(0)

"""Label-preserving augmentation of dataset items: what moves the pixels also moves the labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
import torchvision.transforms.v2.functional as TF

from pain3d import facs


def flip_aus(aus: Mapping[str, float]) -> dict[str, float]:
    """AU labels of the mirrored face: left and right keys swap (AU12L <-> AU12R)."""
    swap = {"L": "R", "R": "L"}
    out = {}
    for key, value in aus.items():
        au, side = facs.parse_key(key)
        out[au.key + swap[side] if side else key] = value
    return out


@dataclass(frozen=True)
class Augment:
    """Label-preserving augmentation: a small square crop, colour jitter, blur, optional flip.

    Geometry (crop, flip) moves the image, the heatmap and the neutral image together; colour and
    blur change the two RGB images alike. A flip also swaps left/right AU keys and negates yaw;
    the six PSPI AUs are bilateral, so their values and PSPI are unchanged.
    """

    crop_min: float = 0.85  # smallest crop side, as a fraction of the image side
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02
    blur_p: float = 0.2
    blur_sigma: float = 1.0
    flip: bool = False

    def __call__(self, views: dict[str, torch.Tensor], aus: Mapping[str, float], yaw: float,
                 generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, float], float]:
        """Augment float [0, 1] views (keys image, heatmap, neutral_image); returns views, aus, yaw."""
        u = torch.rand(10, generator=generator).tolist()
        views = {k: self._crop(v, u[0], u[1], u[2]) for k, v in views.items()}
        rgb = [k for k in views if k != "heatmap"]
        for k in rgb:
            views[k] = self._colour(views[k], u[3:7], u[7] < self.blur_p, u[8])
        aus = dict(aus)
        if self.flip and u[9] < 0.5:
            views = {k: TF.horizontal_flip(v) for k, v in views.items()}
            aus, yaw = flip_aus(aus), -yaw
        return views, aus, yaw

    def _crop(self, x: torch.Tensor, scale: float, top: float, left: float) -> torch.Tensor:
        size = x.shape[-1]
        side = max(1, round(size * (self.crop_min + (1 - self.crop_min) * scale)))
        t, l = round((size - side) * top), round((size - side) * left)
        return TF.resized_crop(x, t, l, side, side, [size, size], antialias=True)

    def _colour(self, x: torch.Tensor, u: list[float], blur: bool, sigma: float) -> torch.Tensor:
        def jitter(amount: float, v: float) -> float:
            return 1 + amount * (2 * v - 1)

        x = TF.adjust_brightness(x, jitter(self.brightness, u[0]))
        x = TF.adjust_contrast(x, jitter(self.contrast, u[1]))
        x = TF.adjust_saturation(x, jitter(self.saturation, u[2]))
        x = TF.adjust_hue(x, self.hue * (2 * u[3] - 1))
        if blur:
            s = 0.1 + (self.blur_sigma - 0.1) * sigma
            x = TF.gaussian_blur(x, [5, 5], [s, s])
        return x.clamp(0, 1)

"""Skin colour before hair: the Monk base tone, regional tints, lips, and melanin marks.

Tints are shifts of log colour, so they scale every skin tone alike; age spots and freckles
are drawn as blobs of real size on the surface.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pain3d.skin import FLUSH_LOG, ORBIT_LOG, lip_log, tone_albedo

from .look import SUB_SPOTS, stream
from .surface import MM, Surface, sample_texels
from .wrinkles import lid_fold

# Log-space colour shifts (R, G, B) of melanin marks and the lid fold (the regional tints are the core's).
SPOT_LOG = np.array([-0.30, -0.45, -0.60])
FOLD_LOG = np.log([0.78, 0.74, 0.74])


def skin_albedo(s: Surface, look: dict, noise: dict) -> np.ndarray:
    """(3, S, S) skin colour before hair: Monk base x regional tints x noise x melanin marks."""
    f, m = s.fields, look["melanin"]
    flush = look["flush"] * (1.0 - 0.6 * m) * f["flush"] + 0.35 * np.clip(noise["blotch"], 0, 1) * look["blotchiness"]
    log = FLUSH_LOG[:, None, None] * flush
    log += ORBIT_LOG[:, None, None] * (look["orbit_darkness"] * (0.7 + 0.8 * m) * f["orbit"])
    log += (0.05 * look["blotchiness"] * noise["blotch"] + 0.035 * noise["mid"] - 0.06 * look["pores"]
            * noise["pores"])[None]
    log += _lip_log(look)[:, None, None] * f["lips"]
    log += np.log([0.80, 0.62, 0.62])[:, None, None] * f["margin"]  # the moist, pinker lid margin
    log += FOLD_LOG[:, None, None] * lid_fold(s, look)  # the fold's shade, which a normal map cannot cast
    log += SPOT_LOG[:, None, None] * (_melanin_spots(s, look) * np.clip(0.7 + 0.6 * noise["mid"], 0.2, 1.4))
    return np.asarray(look["base_albedo"], np.float32)[:, None, None] * np.exp(log)


def _lip_log(look: dict) -> np.ndarray:
    """Vermilion colour relative to the skin: blood shows through (`pain3d.skin.lip_log`: less in
    men and with age), and the lips carry less melanin than the skin around them, so part of the
    skin's melanin tint (its log-colour below MST 1, bluest first) is taken back; very dark lips
    keep more of it."""
    melanin = np.log(tone_albedo(1.0)) - np.log(look["base_albedo"])
    kept = 0.35 * (1.0 - 0.6 * look["melanin"])
    blood = lip_log(float(look["sex"] == "male"), look["ageing"])
    return blood + kept * np.maximum(melanin, 0.0) + np.asarray(look["lip_tint"])


def _melanin_spots(s: Surface, look: dict) -> np.ndarray:
    """Strength map of age spots (solar lentigines; small dark papules on dark skin) and freckles.

    A fixed number of candidates is drawn whatever the age, and the first `n` are kept, so an
    older face keeps a younger one's spots and adds more.
    """
    rng = stream(look["seed"], SUB_SPOTS)
    mask = Image.new("L", (s.size, s.size))
    draw = ImageDraw.Draw(mask)
    m = look["melanin"]
    spots = sample_texels(s, s.fields["exposure"], 100, rng)
    radius = np.exp(rng.normal(np.log(1.2 - 0.6 * m), 0.45, 100)) * MM
    strength = rng.uniform(0.25, 0.8, 100) * (1.0 + 0.6 * m)
    _draw_blobs(draw, s, spots[: int(round(100 * look["age_spots"]))], radius, strength)
    freckles = sample_texels(s, s.fields["flush"] * (s.y < 0.0), 500, rng)
    radius = rng.uniform(0.35, 1.1, 500) * MM
    strength = rng.uniform(0.2, 0.6, 500)
    _draw_blobs(draw, s, freckles[: int(round(500 * look["freckles"]))], radius, strength)
    blurred = mask.filter(ImageFilter.GaussianBlur(max(0.7, 0.3 * MM / float(np.median(s.foot[s.covered])))))
    return np.asarray(blurred, np.float32) / 170.0  # 255 -> 1.5 (fill values carry up to 1.5)


def _draw_blobs(draw: ImageDraw.ImageDraw, s: Surface, texels: np.ndarray, radius: np.ndarray,
                strength: np.ndarray) -> None:
    """Ellipses `radius` metres across on the surface (so stretched by the layout) at the texels."""
    rows, cols = np.divmod(texels, s.size)
    rx = radius[: len(texels)] / s.fu[rows, cols]
    ry = radius[: len(texels)] / s.fv[rows, cols]
    for c, r, a, b, k in zip(cols + 0.5, rows + 0.5, rx, ry, strength):
        draw.ellipse((c - a, r - b, c + a, r + b), fill=int(min(255, 170 * k)))

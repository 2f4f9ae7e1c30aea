"""Procedural skin and eye textures (`pain3d texture --backend procedural`): numpy + Pillow only.

`procedural_textures` assembles one identity's texture set from its parts, all drawn in the
skin's UV layout (docs/head-model.md, UVs): the look parameters (texturing.look), the head in
texel space (texturing.surface, pain3d.skin_regions), seam-free noise (texturing.noise), skin
colour (texturing.skin_colour), hair (texturing.hair: brow and lash strokes, stubble), relief
(texturing.wrinkles) and the eyeball (texturing.eyes); then it keeps every map in its documented
range and fills the texels off the skin islands. Skin colour: the Monk Skin Tone scale
(pain3d.skin); see docs/texturing.md for what is drawn, the albedo range and the recorded
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pain3d.head.mesh import HeadMesh
from pain3d.sampling import derive_seed

from .eyes import eye_texture
from .hair import Hair, composite_hair, hair_layer
from .look import SUB_NOISE, draw_look, stream
from .noise import Noise, skin_noise
from .skin_colour import skin_albedo
from .surface import MM, Surface, fill_gaps
from .wrinkles import height, normal_map

TEXTURE_STREAM = 7  # derive_seed(identity seed, TEXTURE_STREAM): the seed of every draw here
ALBEDO_RANGE = (0.003, 0.80)  # linear-light bounds of every albedo and eye texel (docs/texturing.md)
ROUGHNESS_RANGE = (0.25, 0.85)


@dataclass
class TextureMaps:
    """One identity's maps: skin maps in the skin UV layout, eyes in the eyeball UV layout."""

    albedo: np.ndarray  # (S, S, 3) float32 linear-light RGB in ALBEDO_RANGE
    roughness: np.ndarray  # (S, S) float32
    normal: np.ndarray  # (S, S, 3) float32 tangent-space unit vectors, OpenGL (+y = +v = image up)
    eyes: np.ndarray  # (E, E, 3) float32 linear-light eyeball albedo
    params: dict  # every drawn parameter and the seed, JSON-serialisable


def procedural_textures(head: HeadMesh, identity: dict, size: int = 1024, stubble_rate: float = 0.4) -> TextureMaps:
    """The procedural texture set of one plan identity (`seed`, `age`, `sex`, `ethnicity`, `skin_tone`).

    `head` is the identity's neutral head (the plan's `head_seed` builds it); its iris colour is
    the one the farm gives that head.
    """
    seed = derive_seed(int(identity["seed"]), TEXTURE_STREAM)
    look = draw_look(identity, seed, stubble_rate)
    surface = Surface(head, size)
    noise = Noise(stream(seed, SUB_NOISE))
    fine = skin_noise(surface, noise)
    albedo = skin_albedo(surface, look, fine)
    hair = hair_layer(surface, head, look, seed, noise, identity)
    albedo = composite_hair(albedo, surface, look, hair)
    relief = height(surface, look, fine, seed) + 0.01 * MM * hair.stubble
    roughness = _roughness(surface, look, fine, hair)
    maps = fill_gaps(np.concatenate([_into_range(albedo), roughness[None]]), surface.covered)
    return TextureMaps(albedo=np.ascontiguousarray(np.moveaxis(maps[:3], 0, -1)), roughness=maps[3],
                       normal=normal_map(relief, surface), eyes=_into_range(eye_texture(look, seed)), params=look)


def _roughness(s: Surface, look: dict, noise: dict, hair: Hair) -> np.ndarray:
    """Skin roughness: oilier T-zone and moist lips are glossier; pores, creases and hair rougher (a
    scalp under hair shows no sheen: the skin between strands must not glint through them)."""
    f = s.fields
    r = look["roughness"] - 0.10 * f["oil"] - 0.16 * f["lips"] - 0.10 * f["margin"] + 0.04 * noise["mid"] \
        + 0.05 * noise["pores"] + 0.2 * hair.any + 0.12 * hair.stubble + 0.6 * hair.scalp_shadow
    return np.clip(r, *ROUGHNESS_RANGE).astype(np.float32)


def _into_range(rgb: np.ndarray, lo: float = ALBEDO_RANGE[0], hi: float = ALBEDO_RANGE[1]) -> np.ndarray:
    """Colours into ALBEDO_RANGE by a monotone soft shoulder (the identity inside [2 lo, hi - 0.1],
    exponential roll-off beyond), so the range is never hit as a hard clamp and order is kept."""
    top, bottom = hi - 0.1, 2.0 * lo
    rgb = np.where(rgb > top, top + (hi - top) * -np.expm1(-(rgb - top) / (hi - top)), rgb)
    rgb = np.where(rgb < bottom, bottom - (bottom - lo) * -np.expm1(-(bottom - rgb) / (bottom - lo)), rgb)
    return rgb.astype(np.float32)

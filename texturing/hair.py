"""The hair layer: coverage maps of brows, lashes, stubble and the scalp's hair shadow, and laying
them over the skin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pain3d.clothing import hair_kinds
from pain3d.hair.colour import GREY_HAIR, root_rgb, scalp_rgb
from pain3d.hair.face_hair import beard_root_shadow
from pain3d.hair.scalp import scalp_shadow
from pain3d.head.mesh import HeadMesh

from .hair_strokes import brow_strokes, lash_strokes, paint
from .look import SUB_BROWS, SUB_LASHES, stream
from .noise import Noise
from .stubble import stubble
from .surface import Surface, support


@dataclass
class Hair:
    """(S, S) coverage maps of each kind of hair (zero where there is none)."""

    brows: np.ndarray  # pigmented brow hairs
    grey_brows: np.ndarray
    lashes: np.ndarray  # lashes and the lash line
    stubble_shadow: np.ndarray  # pigmented hair seen through the skin
    stubble: np.ndarray  # the stubs themselves
    beard_roots: np.ndarray  # a shaved beard's roots under the skin (no stubble drawn)
    scalp_shadow: np.ndarray  # how far the skin takes the scalp hair's colour at skin level
    scalp_rgb: np.ndarray  # that colour (`pain3d.hair.colour.scalp_rgb`)

    @property
    def any(self) -> np.ndarray:
        return np.maximum(np.maximum(self.brows, self.grey_brows), self.lashes)


def hair_layer(s: Surface, head: HeadMesh, look: dict, seed: int, noise: Noise, identity: dict | None = None) -> Hair:
    """Brow hairs (a share of them grey, as brows grey later than the scalp), lashes, stubble (or,
    on a shaved man, the beard's roots) and, when the identity grows scalp hair (its `hair` record,
    no headscarf), the scalp's hair shadow."""
    layers = [np.zeros(s.covered.shape, np.float32) for _ in range(7)]
    rng = stream(seed, SUB_BROWS)
    lm = head.landmark68_ids
    for ids in (lm[21:16:-1], lm[22:27]):  # each brow from its medial end outward
        strokes = brow_strokes(s, s.pixels[ids], look, rng)
        grey = rng.random(len(strokes)) < 0.5 * look["grey"]
        paint(layers[0], [k for k, g in zip(strokes, grey) if not g])
        paint(layers[1], [k for k, g in zip(strokes, grey) if g])
    rng = stream(seed, SUB_LASHES)
    for patch in head.topology.eye_patches.values():
        paint(layers[2], lash_strokes(s, patch, look, rng))
    if look["stubble"]:
        stubble(s, look, noise, layers[3], layers[4])
        if look.get("strands"):
            layers[4][:] = 0.0  # the beard's strands are the stubs; the skin keeps their shadow
    else:
        layers[5][:] = beard_root_shadow(look["beard_growth"], s.fields["beard"])
    record = (identity or {}).get("hair")
    if record and "scalp" in hair_kinds((identity or {}).get("clothing")):
        layers[6][:] = s.interpolate(scalp_shadow(head, record))
    return Hair(*layers, scalp_rgb=scalp_rgb(record) if record else np.zeros(3))


def composite_hair(albedo: np.ndarray, s: Surface, look: dict, hair: Hair) -> np.ndarray:
    """Lay hair over the skin (alpha blends in linear light): a shaved beard's roots, the scalp's
    hair shadow, stubble, the shadow of brow roots, brow hairs, lashes. Grey hairs cast no shadow
    under the skin, and their short translucent stubs show dimmer than grey brow hairs.

    When the head grows hair as strands (`look["strands"]`), the strands are the hair: the skin
    keeps only what lies under them, the scalp's and the beard's hair shadow at skin level, a faint
    shadow of brow roots and the lash line, so nothing is drawn twice."""
    pigment, grey = np.asarray(look["hair_rgb"]), look["grey"]
    _darken(albedo, root_rgb(pigment, grey), hair.beard_roots)
    if look.get("strands"):
        _darken(albedo, hair.scalp_rgb, hair.scalp_shadow)
        _blend(albedo, pigment, hair.stubble_shadow * (1.0 - grey))
        _blend(albedo, pigment, 0.25 * s.fields["brows"] + 0.25 * hair.brows)
        _blend(albedo, 0.5 * pigment, 0.4 * hair.lashes)
        return albedo
    _blend(albedo, pigment, (hair.stubble_shadow + hair.stubble) * (1.0 - grey))
    _blend(albedo, 0.6 * GREY_HAIR, hair.stubble * grey)
    _blend(albedo, pigment, 0.2 * s.fields["brows"])
    _blend(albedo, pigment, 0.92 * hair.brows)
    _blend(albedo, GREY_HAIR, 0.85 * hair.grey_brows)
    _blend(albedo, 0.5 * pigment, 0.95 * hair.lashes)
    return albedo


def _darken(image: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """_blend towards the darker of `rgb` and the image, per channel (roots never lighten skin)."""
    box = support(alpha)
    if box is not None:
        window = image[(slice(None), *box)]
        window += (np.minimum(np.asarray(rgb, np.float32)[:, None, None], window) - window) * alpha[box][None]


def _blend(image: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """image += (rgb - image) x alpha, in place, over alpha's support only."""
    box = support(alpha)
    if box is not None:
        window = image[(slice(None), *box)]
        window += (np.asarray(rgb, np.float32)[:, None, None] - window) * alpha[box][None]

"""The hair layer: coverage maps of brows, lashes and stubble, and laying them over the skin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pain3d.head.mesh import HeadMesh

from .hair_strokes import brow_strokes, lash_strokes, paint
from .look import SUB_BROWS, SUB_LASHES, stream
from .noise import Noise
from .stubble import stubble
from .surface import Surface, support

GREY_HAIR = np.array([0.42, 0.41, 0.39])


@dataclass
class Hair:
    """(S, S) coverage maps of each kind of hair (zero where there is none)."""

    brows: np.ndarray  # pigmented brow hairs
    grey_brows: np.ndarray
    lashes: np.ndarray  # lashes and the lash line
    stubble_shadow: np.ndarray  # pigmented hair seen through the skin
    stubble: np.ndarray  # the stubs themselves

    @property
    def any(self) -> np.ndarray:
        return np.maximum(np.maximum(self.brows, self.grey_brows), self.lashes)


def hair_layer(s: Surface, head: HeadMesh, look: dict, seed: int, noise: Noise) -> Hair:
    """Brow hairs (a share of them grey, as brows grey later than the scalp), lashes and stubble."""
    layers = [np.zeros(s.covered.shape, np.float32) for _ in range(5)]
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
    return Hair(*layers)


def composite_hair(albedo: np.ndarray, s: Surface, look: dict, hair: Hair) -> np.ndarray:
    """Lay hair over the skin (alpha blends in linear light): stubble, the shadow of brow roots,
    brow hairs, lashes. Grey hairs cast no shadow under the skin, and their short translucent
    stubs show dimmer than grey brow hairs.

    When the head grows hair as strands (`look["strands"]`), the strands are the hair: the skin
    keeps only what lies under them, a faint shadow of brow roots and the lash line, and the
    shadow of beard hair under the skin, so nothing is drawn twice."""
    pigment, grey = np.asarray(look["hair_rgb"]), look["grey"]
    if look.get("strands"):
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


def _blend(image: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """image += (rgb - image) x alpha, in place, over alpha's support only."""
    box = support(alpha)
    if box is not None:
        window = image[(slice(None), *box)]
        window += (np.asarray(rgb, np.float32)[:, None, None] - window) * alpha[box][None]

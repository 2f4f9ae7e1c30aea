"""The colour a hair record's melanin and redness give, as a linear-RGB albedo for painting (the
texture's skin-level shadow of hair, previews). It follows the melanin parametrisation of
Blender's Principled Hair BSDF (after Chiang et al. 2016): eumelanin and pheomelanin absorb with
their own spectra; the colour is the light left after about a fibre's width of absorption."""

from __future__ import annotations

import numpy as np

from ..colour import LUMA

EUMELANIN = np.array([0.506, 0.841, 1.653])  # absorption per unit concentration, R G B
PHEOMELANIN = np.array([0.343, 0.733, 1.924])
PATH = 1.6  # fibre widths of absorption that give a strand's apparent colour
GREY_HAIR = np.array([0.42, 0.41, 0.39])  # linear RGB of an unpigmented (grey) hair over skin


def hair_rgb(melanin: float, redness: float) -> np.ndarray:
    """Linear RGB albedo of hair with this melanin (0 white .. 1 black) and redness (0..1)."""
    amount = -np.log(max(1.0 - float(melanin), 1e-4))
    sigma = amount * ((1.0 - redness) * EUMELANIN + redness * PHEOMELANIN)
    return 0.85 * np.exp(-PATH * sigma)


def scalp_rgb(record: dict) -> np.ndarray:
    """Linear RGB of a hair record's scalp hair seen at skin level (follicles and stubs under and
    just above the skin, `pain3d.hair.scalp.scalp_shadow`): its pigment with the record's share of
    grey hairs mixed in, half desaturated towards a cool grey, as skin scattering over dark roots
    shows them (the blue-grey of a shaved scalp or beard). Painted with a darken blend: roots never
    lighten the skin."""
    return root_rgb(hair_rgb(record["melanin"], record["redness"]), float(record["grey"]))


def root_rgb(pigment: np.ndarray, grey: float) -> np.ndarray:
    """Linear RGB of hair roots under and at the skin (a shaved scalp or beard) from the hair's
    pigment colour and share of grey hairs: see `scalp_rgb`."""
    rgb = (1.0 - grey) * np.asarray(pigment, float) + grey * GREY_HAIR
    return 0.5 * rgb + 0.5 * float(LUMA @ rgb) * COOL_GREY


COOL_GREY = np.array([0.92, 1.0, 1.12])  # relative RGB of the grey that skin over dark roots shows

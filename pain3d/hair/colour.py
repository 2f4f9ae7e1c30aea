"""The colour a hair record's melanin and redness give, as a linear-RGB albedo for painting (the
texture's skin-level shadow of hair, previews). It follows the melanin parametrisation of
Blender's Principled Hair BSDF (after Chiang et al. 2016): eumelanin and pheomelanin absorb with
their own spectra; the colour is the light left after about a fibre's width of absorption."""

from __future__ import annotations

import numpy as np

EUMELANIN = np.array([0.506, 0.841, 1.653])  # absorption per unit concentration, R G B
PHEOMELANIN = np.array([0.343, 0.733, 1.924])
PATH = 1.6  # fibre widths of absorption that give a strand's apparent colour


def hair_rgb(melanin: float, redness: float) -> np.ndarray:
    """Linear RGB albedo of hair with this melanin (0 white .. 1 black) and redness (0..1)."""
    amount = -np.log(max(1.0 - float(melanin), 1e-4))
    sigma = amount * ((1.0 - redness) * EUMELANIN + redness * PHEOMELANIN)
    return 0.85 * np.exp(-PATH * sigma)

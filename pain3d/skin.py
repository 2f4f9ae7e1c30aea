"""Skin colour of a Monk Skin Tone (pure numpy): the albedo the renders paint.

The measured colour of each MST level lives in assets/demographics.toml (`skin_lab`, CIELAB),
with each group's undertone (`skin_undertone`, a shift of a* and b*); a continuous tone (1.0-10.0)
interpolates between neighbouring levels in linear light, so tones blend as light does.
"""

from __future__ import annotations

import numpy as np

from .colour import lab_to_linear
from .jobs import demographics, ethnicity_row


def tone_albedos(ethnicity: str | None = None) -> np.ndarray:
    """(10, 3) linear-light albedo of MST 1..10, with `ethnicity`'s undertone (none without one)."""
    lab = np.array(demographics()["skin_lab"], dtype=np.float64)
    group = ethnicity_row(ethnicity)
    if group:
        lab[:, 1:] += group["skin_undertone"]
    return lab_to_linear(lab)


def tone_albedo(tone: float, ethnicity: str | None = None) -> np.ndarray:
    """Linear-light albedo of a continuous Monk tone (clamped to 1..10) in `ethnicity`'s undertone."""
    albedos = tone_albedos(ethnicity)
    x = float(np.clip(tone, 1.0, 10.0)) - 1.0
    lo = int(np.floor(x))
    hi = min(lo + 1, len(albedos) - 1)
    t = x - lo
    return (1 - t) * albedos[lo] + t * albedos[hi]


# Log-colour shifts (R, G, B) of the regional tints, one set for texture sets and the built-in skin:
# where the blood shows (flush: less green and blue) and the darker skin around the eyes.
FLUSH_LOG = np.array([0.0, -0.24, -0.20])
ORBIT_LOG = np.array([-0.22, -0.26, -0.22])
# The vermilion against the skin around it, a young woman's: blood shows through (less green and blue).
LIP_LOG = np.log([0.82, 0.45, 0.48])
# Share of that contrast lost by a man's lips and by lips at ageing 1 (75 years): men's lips are less
# red against their skin than women's, and lips pale with age (docs/texturing.md, "Lips").
LIP_MALE_LOSS, LIP_AGE_LOSS = 0.35, 0.3


def lip_log(maleness: float, ageing: float) -> np.ndarray:
    """The lips' log-colour shift from the skin for this maleness (0..1) and ageing (0 young .. 1 at 75)."""
    keep = (1.0 - LIP_MALE_LOSS * float(maleness)) * (1.0 - LIP_AGE_LOSS * float(np.clip(ageing, 0.0, 1.0)))
    return LIP_LOG * keep


def melanin(tone: float) -> float:
    """How much of a skin's colour is melanin's (0 up to MST 4, 1 at MST 10): on darker skin blood
    shows less (a weaker flush) and the orbit darkens more."""
    return float(np.clip((tone - 4.0) / 6.0, 0.0, 1.0))

"""Demographic priors: (age, sex, ethnicity, rng) -> sampled identity controls.

Group means are stored as z-score *shifts* relative to the reference sample
of the sex means in :mod:`pain3d.head.params` (young North-American whites,
Farkas 1994).  Shifts are coarse, rounded readings of the between-group
differences reported in

* [F05] Farkas LG, Katic MJ, Forrest CR et al. (2005) "International
  anthropometric study of facial morphology in various ethnic groups/races",
  J Craniofac Surg 16(4):615-646 (NAW vs. African-American, Zulu, Angolan,
  Chinese, Japanese, Thai, Vietnamese, Indian, Turkish, Iranian, Egyptian...
  e.g. wider al-al in African-origin groups, wider en-en in Asian groups);
* [F94] Farkas LG (1994) "Anthropometry of the Head and Face", 2nd ed.
  (North-American Caucasian, African-American and Chinese norms);
* [P07] Porter JP, Olson KL (2001/2003) "Anthropometric facial analysis of
  the African American woman" / Arch Facial Plast Surg (lip and nasal width);
* [LH] no Farkas 2005 group exists for Latino/Hispanic; we use a mild
  admixture-style blend of the White, Indigenous-American-like (East-Asian
  leaning) and African shifts, documented as a heuristic.

They are approximate (rounded to ~0.1-0.5 SD) and meant to produce plausible
between-group variation in a synthetic data set, not to be used as norms.
Within-group spread is N(0, WITHIN_SD=1) per control (the Farkas SDs are
within-group SDs), clamped to +-2.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .controls import HeadControls

#: FairFace's seven ethnicity groups.
ETHNICITIES: tuple[str, ...] = ("White", "Black", "Latino/Hispanic", "East Asian",
                                "Southeast Asian", "Indian", "Middle Eastern")

#: Within-group standard deviation of every control (z-score units).
WITHIN_SD = 1.0
_CLAMP = 2.5

#: z-score mean shifts per group (controls not listed are 0). Source tags: see module doc.
GROUP_SHIFTS: dict[str, dict[str, float]] = {
    "White": {},  # reference sample of the sex means [F94]
    "Black": {
        "nose_width": 2.6,          # al-al ~ +7-9 mm vs NAW [F05, F94, P07]
        "nose_projection": -0.9,    # lower tip protrusion [F05]
        "nose_bridge": -1.2,        # lower nasal root [F05]
        "upper_lip": 1.6,           # higher/fuller vermilion [F94, P07]
        "lower_lip": 1.5,           # [F94, P07]
        "mouth_width": 0.8,         # ch-ch wider [F05]
        "eye_spacing": 0.6,         # en-en wider [F05]
        "head_length": 0.3,         # more dolichocephalic [F94]
        "head_width": -0.3,         # [F94]
        "brow_ridge": -0.2,
        "chin_projection": -0.4,    # bimaxillary protrusion, relatively retruded chin [F94]
    },
    "East Asian": {
        "eye_spacing": 0.9,         # en-en ~ +3-5 mm (Chinese, Japanese) [F05]
        "eye_size": -0.4,           # shorter fissure ex-en [F05]
        "eye_tilt": 0.9,            # more upslanting fissure [F05]
        "nose_width": 1.0,          # al-al wider [F05]
        "nose_projection": -1.1,    # [F05]
        "nose_bridge": -1.4,        # low nasal root [F05]
        "head_width": 0.9,          # brachycephalic [F94]
        "head_length": -0.7,        # [F94]
        "cheekbone_width": 1.1,     # zy-zy wider [F05]
        "cheekbone_prominence": 0.5,
        "brow_ridge": -0.8,
        "face_height": 0.2,
        "upper_lip": 0.3, "lower_lip": 0.3,
    },
    "Southeast Asian": {
        "eye_spacing": 0.7,         # Thai / Vietnamese en-en [F05]
        "eye_size": -0.2,
        "eye_tilt": 0.6,
        "nose_width": 1.4,          # al-al wider [F05]
        "nose_projection": -1.0,    # [F05]
        "nose_bridge": -1.2,
        "head_width": 0.5, "head_length": -0.4,
        "cheekbone_width": 0.7,
        "brow_ridge": -0.6,
        "upper_lip": 0.6, "lower_lip": 0.6,
        "face_height": -0.3,
    },
    "Indian": {
        "nose_width": 0.6,          # [F05] Indian sample
        "nose_length": 0.2,
        "eye_spacing": 0.2,
        "upper_lip": 0.3, "lower_lip": 0.3,
        "head_width": -0.4, "head_length": 0.1,
        "jaw_width": -0.3,
        "brow_ridge": 0.0,
    },
    "Middle Eastern": {
        "nose_length": 0.6,         # Turkish / Iranian / Egyptian samples [F05]
        "nose_projection": 0.6,
        "nose_bridge": 0.7,
        "nose_width": 0.2,
        "brow_ridge": 0.3,
        "head_length": 0.1,
        "eye_spacing": 0.1,
    },
    "Latino/Hispanic": {            # heuristic blend [LH]
        "nose_width": 0.7,
        "nose_bridge": -0.3,
        "nose_projection": -0.2,
        "eye_spacing": 0.3,
        "cheekbone_width": 0.4,
        "head_width": 0.2,
        "upper_lip": 0.3, "lower_lip": 0.3,
        "face_height": -0.1,
    },
}


def group_mean(ethnicity: str) -> HeadControls:
    """Mean controls of an ethnicity group (z-score shifts)."""
    if ethnicity not in GROUP_SHIFTS:
        raise ValueError(f"unknown ethnicity {ethnicity!r}; expected one of {ETHNICITIES}")
    return HeadControls(**GROUP_SHIFTS[ethnicity])


#: controls of the neck and shoulders, drawn after the head's (so heads drawn before the bust
#: existed keep their shape and residual seed)
BUST_CONTROLS: tuple[str, ...] = ("neck_width", "shoulder_width")


def _draw(gen: np.random.Generator, ethnicity: str, names: tuple[str, ...]) -> dict[str, float]:
    mean = group_mean(ethnicity)
    z = np.array([getattr(mean, n) for n in names]) + WITHIN_SD * gen.standard_normal(len(names))
    return dict(zip(names, np.clip(z, -_CLAMP, _CLAMP).tolist()))


def _head_names() -> tuple[str, ...]:
    return tuple(n for n in HeadControls.names() if n not in BUST_CONTROLS)


def sample_controls(age: float, sex: str | float, ethnicity: str,
                    rng: np.random.Generator | int | None = None) -> HeadControls:
    """Sample identity controls for one person of a demographic group.

    ``age`` and ``sex`` are accepted for a uniform signature; their effects
    are applied by :func:`pain3d.head.build_head` through the sex/age means
    (so the controls stay z-scores relative to those means).  ``rng`` is a
    numpy Generator or an int seed; the same seed gives the same controls.
    """
    del age, sex  # effects are handled in params.derive_params
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return HeadControls(**_draw(gen, ethnicity, _head_names()), **_draw(gen, ethnicity, BUST_CONTROLS))


@dataclass(frozen=True)
class IdentitySpec:
    """Everything needed to rebuild one synthetic person's head."""

    controls: HeadControls
    age: float
    sex: str
    ethnicity: str
    residual_seed: int


def sample_spec(age: float, sex: str, ethnicity: str,
                    rng: np.random.Generator | int | None = None) -> IdentitySpec:
    """Controls plus a residual-shape seed drawn from the same generator (the bust's controls last)."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if ethnicity not in GROUP_SHIFTS:
        raise ValueError(f"unknown ethnicity {ethnicity!r}; expected one of {ETHNICITIES}")
    head = _draw(gen, ethnicity, _head_names())
    residual_seed = int(gen.integers(0, 2**31 - 1))
    controls = HeadControls(**head, **_draw(gen, ethnicity, BUST_CONTROLS))
    return IdentitySpec(controls=controls, age=float(age), sex=str(sex), ethnicity=ethnicity,
                        residual_seed=residual_seed)

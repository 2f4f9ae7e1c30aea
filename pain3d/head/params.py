"""From identity controls + age + sex to concrete geometric parameters (metres).

Coordinate frame (shared by the whole head package, Blender convention):
``+Z`` up, the face looks toward ``-Y``, ``+X`` is the subject's LEFT (image
right in a frontal camera).  The origin is on the mid-sagittal plane, at the
height of the pupils, in the coronal plane through the ear canals (tragi).

Sex/age means are rounded from Farkas (1994) "Anthropometry of the Head and
Face" norms for young North-American white adults (eu-eu, g-op, n-gn, go-go,
zy-zy, n-sn, al-al, ch-ch, pupil distance, ear length); the SD of each
measurement turns a control z-score into metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bust import BustParams, derive_bust
from .controls import HeadControls


def maleness(sex: str | float) -> float:
    """Map ``"male"/"female"`` (or M/F, or a float in [0,1]) to maleness in [0,1]."""
    if isinstance(sex, (int, float, np.floating)):
        return float(np.clip(sex, 0.0, 1.0))
    s = str(sex).strip().lower()
    if s in ("m", "male", "man"):
        return 1.0
    if s in ("f", "female", "woman"):
        return 0.0
    raise ValueError(f"unknown sex {sex!r}; use 'male'/'female' or a float in [0,1]")


def age_factor(age: float) -> float:
    """Ageing strength: 0 up to 25 y, 1 at 75 y (linear), clipped to [0, 1.2]."""
    return float(np.clip((float(age) - 25.0) / 50.0, 0.0, 1.2))


# Upper central incisor shown below the relaxed upper lip (mm): women show more, and everyone less
# with age. Anchored at 25 y on Vig & Brundo 1978's sex means and at 60 y on da Motta et al. 2010's
# oldest group (51 y and over); linear between, held beyond. (age, female, male)
_INCISOR_DISPLAY_MM = ((25.0, 3.40, 1.91), (60.0, 1.32, 0.57))


def incisor_display(age: float, m: float) -> float:
    """Metres of upper incisor below the stomion for this age and maleness."""
    (a0, f0, m0), (a1, f1, m1) = _INCISOR_DISPLAY_MM
    t = float(np.clip((float(age) - a0) / (a1 - a0), 0.0, 1.0))
    female, male = f0 + (f1 - f0) * t, m0 + (m1 - m0) * t
    return (female + (male - female) * m) / 1000.0


# (female mean, male mean, SD) of each measurement in metres, after Farkas 1994
# (young North American whites); halves of bilateral widths are stored.
_MEAS: dict[str, tuple[float, float, float]] = {
    "head_half_width": (0.0720, 0.0755, 0.0027),   # eu-eu 144 / 151 +- 5.4 mm
    "head_length": (0.1853, 0.1968, 0.0065),       # g-op 185 / 197 +- 6.5 mm
    "head_height": (0.1130, 0.1190, 0.0045),       # vertex above pupils
    "face_height": (0.1118, 0.1213, 0.0060),       # n-gn 112 / 121 +- 6 mm
    "jaw_half_width": (0.0470, 0.0515, 0.0028),    # go-go (soft tissue) / 2
    "zygion_half": (0.0650, 0.0685, 0.0022),       # zy-zy 130 / 137 +- 4.4 mm
    "nose_length": (0.0506, 0.0548, 0.0032),       # n-sn
    "nose_half_width": (0.0157, 0.0175, 0.0010),   # al-al 31.4 / 34.9 +- 2 mm
    "nose_tip": (0.0245, 0.0262, 0.0022),          # ridge height at the tip: sn-prn 19.5 / 21 mm
    "eye_half_dist": (0.0309, 0.0320, 0.0016),     # pupil distance 61.7 / 64 mm
    "mouth_half_width": (0.0251, 0.0267, 0.0016),  # ch-ch 50.2 / 53.3 +- 3.2 mm
    "upper_vermilion": (0.0080, 0.0074, 0.0013),   # ls-sto
    "lower_vermilion": (0.0096, 0.0092, 0.0014),   # sto-li
    "ear_scale": (0.955, 1.0, 0.06),               # ear length 59 / 62 mm relative
}


def _meas(name: str, m: float, z: float) -> float:
    f, mm, sd = _MEAS[name]
    return f + (mm - f) * m + sd * z


@dataclass(frozen=True)
class HeadParams:
    """Concrete geometric parameters of one identity (metres / radians)."""

    # cranium superellipsoid (centre y/z, semi-axes)
    cr_cy: float
    cr_cz: float
    cr_ax: float
    cr_ay_front: float
    cr_ay_back: float
    cr_az_top: float
    cr_az_bot: float
    # jaw / lower-face superellipsoid
    jw_cy: float
    jw_cz: float
    jw_ax: float
    jw_ay_front: float
    jw_az_top: float
    jw_az_bot: float
    # vertical landmarks of the face (z) and face width
    z_brow: float
    z_nasion: float
    z_tip: float
    z_sn: float
    z_sto: float
    z_pog: float
    z_me: float
    zygion: float
    # feature amplitudes (metres of forward protrusion)
    brow_amp: float
    brow_arch: float          # how far the brow's peak (above the lateral limbus) rises over its head
    cheek_amp: float
    chin_amp: float
    nose_tip: float
    nose_bridge: float
    nose_half_width: float
    # eyes
    eye_x: float
    eye_y: float
    eye_z: float
    eye_r: float
    eye_scale: float
    eye_tilt: float
    # mouth and lips
    mouth_w: float
    upper_verm: float
    lower_verm: float
    upper_pout: float
    lower_pout: float
    # ears
    ear_scale: float
    # sex and age in the soft tissue (docs/head-model.md, "Sex and age")
    nasolabial: float
    jowl: float
    eye_bag: float
    maleness: float
    forehead_recline: float   # forward depth the upper forehead gives up (men's sloping forehead)
    glabella: float           # forward bulge of the glabella between the brows
    jaw_power: float          # super-ellipse exponent of the jaw mass (higher: squarer gonial angles)
    chin_width: float         # half width of the chin's soft-tissue pad
    cheek_fat: float          # buccal / malar fat fullness
    temple_hollow: float      # depth of the temporal hollow
    tear_trough: float        # depth of the groove under the lower lid
    lid_hood: float           # skin and fat over the lateral upper lid
    brow_tail_drop: float     # how far the brow's tail has come down (lateral brow ptosis)
    marionette: float         # depth of the fold from the mouth corner toward the jaw
    iris_cover: float         # how much of the iris's top the upper lid covers at rest
    incisor_display: float    # how far the upper incisal edge sits below the stomion (lips at rest)
    age_factor: float
    # neck, shoulders and upper chest
    bust: BustParams


def derive_params(controls: HeadControls, age: float = 30.0, sex: str | float = 0.5) -> HeadParams:
    """Turn (clamped) controls plus age/sex into :class:`HeadParams`.

    Ageing (``age_factor``) applies soft-tissue descent of the lower face,
    jowls, thinner lips, deeper nasolabial and marionette folds, hollow
    temples and tear troughs, a hooded lid and a lower brow tail, a lower
    resting lid, a slightly larger nose and ears and lower-lid bags.  Sex
    applies the Farkas means and the dimorphic soft features (brow ridge and
    glabella, forehead slope, jaw angles, chin breadth, cheek fat).  Sources
    and sizes: docs/head-model.md, "Sex and age".
    """
    c = controls.clamped()
    m = maleness(sex)
    a = age_factor(age)

    fh = _meas("face_height", m, c.face_height)
    fh_s = fh / 0.1165                     # lower-face vertical scale vs template
    z_nasion = 0.008
    nose_len = _meas("nose_length", m, c.nose_length) * (1.0 + 0.04 * a)
    z_sn = z_nasion - nose_len
    descent = 0.0025 * a                   # soft-tissue ptosis of the lower face
    z_sto = z_sn - 0.0215 * fh_s - descent
    chin_h = 0.047 * fh_s + 0.003 * c.chin_height
    z_me = z_sto - chin_h
    z_pog = z_me + 0.016 * fh_s

    head_len = _meas("head_length", m, c.head_length)
    cr_ay_front = 0.086
    cr_ay_back = head_len - 0.099 - 0.004  # glabella sits near y = -0.099
    head_h = _meas("head_height", m, c.head_height)
    cr_cz = 0.022
    eye_scale = float(np.exp(0.06 * c.eye_size))
    jaw_half = _meas("jaw_half_width", m, c.jaw_width)  # the jaw mass (soft-tissue go-go), which the neck must stay inside
    return HeadParams(
        cr_cy=0.004,
        cr_cz=cr_cz,
        cr_ax=_meas("head_half_width", m, c.head_width),
        cr_ay_front=cr_ay_front,
        cr_ay_back=cr_ay_back,
        cr_az_top=head_h - cr_cz,
        cr_az_bot=0.095,
        jw_cy=-0.022,
        jw_cz=z_sto + 0.004,
        jw_ax=jaw_half,
        jw_ay_front=0.066,
        jw_az_top=0.055,
        jw_az_bot=(z_sto + 0.004) - (z_me - 0.004),
        z_brow=0.021 - 0.003 * m - 0.001 * a,  # men's brows on the orbital rim, women's above
        z_nasion=z_nasion,
        z_tip=z_sn + 0.0085,
        z_sn=z_sn,
        z_sto=z_sto,
        z_pog=z_pog,
        z_me=z_me,
        zygion=_meas("zygion_half", m, c.cheekbone_width),
        brow_amp=max(0.0, 0.0018 + 0.0030 * m + 0.0012 * c.brow_ridge),
        brow_arch=0.0030 + 0.0025 * (1.0 - m),  # women's brows arched, men's flat along the rim
        cheek_amp=max(0.0, 0.0045 + 0.0015 * c.cheekbone_prominence - 0.001 * a),
        chin_amp=max(-0.002, 0.0035 + 0.001 * m + 0.0022 * c.chin_projection),
        nose_tip=max(0.014, _meas("nose_tip", m, c.nose_projection) * (1.0 + 0.05 * a)),
        nose_bridge=max(0.003, 0.0095 + 0.0022 * c.nose_bridge + 0.001 * m),
        nose_half_width=_meas("nose_half_width", m, c.nose_width) * (1.0 + 0.05 * a),
        eye_x=_meas("eye_half_dist", m, c.eye_spacing),
        eye_y=-0.0718,
        eye_z=0.0,
        eye_r=0.0120,
        eye_scale=eye_scale,
        eye_tilt=float(np.radians(4.0 + 2.5 * c.eye_tilt)),
        mouth_w=_meas("mouth_half_width", m, c.mouth_width),
        upper_verm=max(0.003, _meas("upper_vermilion", m, c.upper_lip) * (1.0 - 0.30 * a)),
        lower_verm=max(0.004, _meas("lower_vermilion", m, c.lower_lip) * (1.0 - 0.25 * a)),
        upper_pout=max(0.0015, 0.0058 + 0.0008 * (1.0 - m) + 0.0008 * c.upper_lip - 0.0012 * a),
        lower_pout=max(0.0015, 0.0064 + 0.0008 * (1.0 - m) + 0.0008 * c.lower_lip - 0.0010 * a),
        ear_scale=_meas("ear_scale", m, c.ear_size) * (1.0 + 0.07 * a),
        nasolabial=0.0005 + 0.0045 * a,
        jowl=0.0098 * a,
        eye_bag=0.0027 * a,
        maleness=m,
        forehead_recline=0.0065 * m,
        glabella=max(0.0, 0.0045 * m + 0.0006 * c.brow_ridge),
        jaw_power=2.4 + 0.6 * m,
        chin_width=0.0135 + 0.0050 * m,
        cheek_fat=0.0034 + 0.0011 * (1.0 - m) - 0.0012 * a,
        temple_hollow=0.0025 + 0.0050 * a,
        tear_trough=0.0005 + 0.0035 * a,
        lid_hood=0.0030 * a,
        brow_tail_drop=0.0040 * a,
        marionette=0.0064 * a,
        iris_cover=0.0015 + 0.0008 * a,
        incisor_display=incisor_display(age, m),
        age_factor=a,
        bust=derive_bust(z_me, jaw_half, m, a, c.neck_width, c.shoulder_width),
    )

"""Implicit skin surface of one identity and ray casting onto it (pure numpy).

The skin is the zero level set of ``head_field(p)``: a smooth union of simple
solids (a super-ellipsoid cranium, a super-ellipsoid jaw mass, a neck
cylinder, two eyelid ellipsoids around the eyeballs, two ears) and a *face
slab*: the solid behind the frontal depth map ``face_depth(x, z)`` where all
the facial relief (nose, lips, chin, brow, cheeks, eye sockets, folds) lives.

Every component is star-shaped as seen from :data:`RAY_CENTRE`, so a skin
vertex is simply "the surface point along a fixed direction from the ray
centre": the topology stores directions, the identity decides the radius.
The union only ever grows, so the lid ellipsoid (which contains the eyeball)
guarantees that no ray-cast skin vertex ends up inside an eyeball.
"""

from __future__ import annotations

import numpy as np

from .bust import bust_field, neck_field
from .params import HeadParams

#: Origin of all skin rays (inside the head, just behind the face).
RAY_CENTRE = np.array([0.0, 0.008, -0.012])

#: Slab back plane (y) and eyelid ellipsoid margins (metres).
_SLAB_BACK = -0.022
_SLAB_BLEND = 0.021
LID_THICK = 0.0008
EAR_BLEND = 0.004  # the ears' smooth union with the head: the skin runs this far beyond an ear's own solid
NECK_BLEND = ((-0.04, 0.0), (0.010, 0.022))  # (y, blend radius) of the neck's union with the head


# ----------------------------------------------------------------------------
# small numeric helpers


def pchip(x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Monotone (Fritsch-Carlson) cubic interpolation, constant outside.

    Used for all hand-tuned profile tables: monotone pieces never overshoot,
    which keeps the sculpted profiles free of ripples.
    """
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    h = np.diff(xs)
    delta = np.diff(ys) / h
    d = np.zeros_like(ys)
    same = delta[:-1] * delta[1:] > 0
    w1 = 2 * h[1:] + h[:-1]
    w2 = h[1:] + 2 * h[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hm = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    d[1:-1] = np.where(same, hm, 0.0)
    xc = np.clip(x, xs[0], xs[-1])
    k = np.clip(np.searchsorted(xs, xc) - 1, 0, len(xs) - 2)
    t = (xc - xs[k]) / h[k]
    t2, t3 = t * t, t * t * t
    return ((2 * t3 - 3 * t2 + 1) * ys[k] + (t3 - 2 * t2 + t) * h[k] * d[k]
            + (-2 * t3 + 3 * t2) * ys[k + 1] + (t3 - t2) * h[k] * d[k + 1])


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (smooth CSG union) with blend radius ``k``."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth maximum (smooth CSG intersection)."""
    return -smin(-a, -b, k)


def _srelu(a: np.ndarray, eps: float = 0.002) -> np.ndarray:
    return 0.5 * (a + np.sqrt(a * a + eps * eps))


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at `e0` to 1 at `e1` (either order), clamped."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _blob(x, z, cx, cz, rx, rz, power=2.0):
    r2 = ((x - cx) / rx) ** 2 + ((z - cz) / rz) ** 2
    return np.exp(-(r2 ** (power / 2.0)))


# ----------------------------------------------------------------------------
# frontal depth map of the face


def _midline_profile(z: np.ndarray, p: HeadParams) -> np.ndarray:
    """Forward depth of the underlying face mask at the midline (no nose/lips)."""
    zs = [0.128, 0.112, 0.100, 0.086, 0.070, 0.052, 0.032, p.z_nasion, 0.0, p.z_sn + 0.02, p.z_sn,
          p.z_sto, p.z_sto - 0.017, p.z_pog, p.z_me + 0.006, p.z_me, p.z_me - 0.006,
          p.z_me - 0.013]
    ds = [-0.02, 0.034, 0.055, 0.072, 0.085, 0.093, 0.095, 0.086, 0.083, 0.084, 0.090,
          0.094, 0.0875, 0.089, 0.0865, 0.0755, 0.044, -0.01]
    # below the stomion the profile recedes (labiomental fold 6.5 mm, soft pogonion 5 mm behind the
    # stomion's mask) so the lips, not the chin, come forward to Ricketts' E-line
    # a man's forehead slopes back from the brow ridge, a woman's rises more upright
    recline = p.forehead_recline * smoothstep(p.z_brow + 0.012, 0.105, z)
    return pchip(z, np.array(zs), np.array(ds)) - recline


def _above_the_nose_base(z: np.ndarray, p: HeadParams) -> np.ndarray:
    """1 above the nose's base, 0 from 12 mm below it: the lower face's outline is shaped apart from
    the eyes' and cheeks' (whose shape the expressions' calibration rests on)."""
    return smoothstep(p.z_sn - 0.012, p.z_sn + 0.004, z)


def _bound_margin(z: np.ndarray, p: HeadParams) -> np.ndarray:
    """How far the face slab's lateral bound lies beyond the face outline: 12 mm down to the nose's
    base (the cheekbones' silhouette is then Farkas' zy-zy), 10 mm below it and 4 mm at the mouth's
    level, where the jaw mass, not the face slab, must make the face's width (else the lower face
    is a box as wide as the cheekbones)."""
    return 0.010 + 0.002 * _above_the_nose_base(z, p) - 0.006 * np.exp(-((z - p.z_sto) / 0.012) ** 2)


def face_half_width(z: np.ndarray, p: HeadParams) -> np.ndarray:
    """Half width of the face outline (where the face starts to turn back)."""
    zw = [0.115, 0.085, 0.05, 0.02, 0.0, -0.02, p.z_sn, p.z_sto - 0.006, p.z_pog, p.z_me]
    jw = p.jw_ax - 0.005
    # (the slab's lateral bound lies `_bound_margin` beyond these values, blends add a few mm); a
    # woman's chin is the narrower
    ww = [0.030, 0.050, 0.056, 0.056, 0.057, p.zygion - 0.010, p.zygion - 0.011,
          jw - 0.001, 0.027 + 0.003 * p.maleness, 0.018]
    return pchip(z, np.array(zw), np.array(ww))


def _lateral(x: np.ndarray, z: np.ndarray, p: HeadParams) -> np.ndarray:
    """How much the face recedes sideways (horizontal curvature + face outline).

    Below the nose's base the face wraps round like a head, not a mask: no flat front plate with a
    corner at its edge, and it tapers to the chin (more in women) rather than ending in a box.
    """
    zr = [0.10, 0.05, 0.02, 0.0, p.z_sn, p.z_sto, p.z_pog, p.z_me]
    taper = 0.88 + 0.12 * p.maleness
    rr = [0.070, 0.092, 0.100, 0.108, 0.078, 0.054, 0.034 * taper, 0.027 * taper]
    radius = pchip(z, np.array(zr), np.array(rr))
    half_w = face_half_width(z, p)
    out = _srelu(np.abs(x) - half_w)
    return (x * x / (2.0 * radius) + (40.0 + 50.0 * _above_the_nose_base(z, p)) * out * out
            + _muzzle(x, z, p))


MUZZLE_DEPTH = 0.009  # most the face recedes over the dental arch (docs/head-model.md)


def _muzzle(x: np.ndarray, z: np.ndarray, p: HeadParams) -> np.ndarray:
    """How far the lips and chin turn back over the dental arch toward the mouth's corners: none at
    the midline, most at the corners, none again 54 mm out, where the cheeks stand as they stood;
    from the nose's base to the chin. Without it the mouth lay on a flat plate."""
    ax_ = np.abs(x)
    across = (1.0 - np.exp(-(ax_ / 0.022) ** 2)) * (1.0 - smoothstep(0.034, 0.054, ax_))
    down = (1.0 - _above_the_nose_base(z, p)) * smoothstep(p.z_me, p.z_pog, z)
    return MUZZLE_DEPTH * across * down


def _nose(x: np.ndarray, z: np.ndarray, p: HeadParams) -> np.ndarray:
    """Nasal pyramid: dorsum ridge + tip lobule + alae, as forward protrusion."""
    zn, zt, zsn = p.z_nasion, p.z_tip, p.z_sn
    nb, tip = p.nose_bridge, p.nose_tip
    zs = [zn + 0.009, zn + 0.003, zn, zn - 0.012, zn - 0.028, zt, zt - 0.0035,
          zsn + 0.0015, zsn - 0.001, zsn - 0.004]
    hs = [0.0, 0.55 * nb, nb, nb + 0.36 * (tip - nb), nb + 0.72 * (tip - nb), tip,
          0.93 * tip, 0.22 * tip, 0.04 * tip, 0.0]
    height = pchip(z, np.array(zs), np.array(hs))
    nw = p.nose_half_width
    zw = [zn + 0.01, zn, zn - 0.02, zt + 0.006, zt, zsn]
    ws = [0.0060, 0.0072, 0.0078, 0.0086, 0.0096, 0.0092]  # the lower dorsum narrows to the tip lobule
    width = pchip(z, np.array(zw), np.array(ws)) * (nw / 0.0166) ** 0.5
    ridge = height * np.exp(-np.abs(x / width) ** 2.2)
    ala_x = nw - 0.0048
    ala_z = zsn + 0.0045
    alae = 0.0135 * (_blob(x, z, ala_x, ala_z, 0.0062, 0.0060, 5.0)
                     + _blob(x, z, -ala_x, ala_z, 0.0062, 0.0060, 5.0))
    nose = np.maximum(ridge, alae) + 0.25 * np.minimum(ridge, alae)
    # the alar-facial groove: the crease where each ala's lobe meets the cheek and lip
    r = np.sqrt(((np.abs(x) - ala_x) / 0.0062) ** 2 + ((z - ala_z) / 0.0060) ** 2)
    nose = nose - 0.0024 * np.exp(-((r - 1.1) / 0.15) ** 2) * smoothstep(ala_x - 0.002, ala_x + 0.002, np.abs(x))
    # nostrils: dents in the underside between tip and alae
    nx = 0.0052 * (nw / 0.0166)
    nost = _blob(x, z, nx, zsn + 0.0030, 0.0034, 0.0023, 2.5) + _blob(x, z, -nx, zsn + 0.0030, 0.0034, 0.0023, 2.5)
    return nose - 0.0050 * nost * np.clip(nose / 0.006, 0.0, 1.0)


def _lip_profile(u: np.ndarray, peak: float, tail: float) -> np.ndarray:
    """Vermilion bulge along u = 0 (stomion) .. 1 (vermilion border) .. skin."""
    rise = np.sin(0.5 * np.pi * np.clip(u / peak, 0.0, 1.0)) ** 0.8
    fall = 1.0 - 0.28 * smoothstep(peak, 1.0, u)
    skin = 0.72 * np.exp(-((np.maximum(u - 1.0, 0.0) / tail) ** 2))
    return np.where(u <= peak, rise, np.where(u <= 1.0, fall, skin))


def upper_vermilion_height(x: np.ndarray, p: HeadParams) -> np.ndarray:
    """Height of the upper red lip above the stomion, with a Cupid's bow."""
    q = np.clip(1.0 - (x / p.mouth_w) ** 2, 0.0, 1.0)
    bow = 1.0 + 0.16 * np.exp(-((np.abs(x) - 0.0058) / 0.0032) ** 2) - 0.04 * np.exp(-(x / 0.0026) ** 2)
    return p.upper_verm * (0.12 + 0.88 * q ** 0.45) * bow


def lower_vermilion_height(x: np.ndarray, p: HeadParams) -> np.ndarray:
    """Height of the lower red lip below the stomion."""
    q = np.clip(1.0 - (x / p.mouth_w) ** 2, 0.0, 1.0)
    return p.lower_verm * (0.10 + 0.90 * q ** 0.55)


def _lips(x: np.ndarray, z: np.ndarray, p: HeadParams) -> np.ndarray:
    env = np.clip(1.0 - (x / (p.mouth_w * 1.02)) ** 2, 0.0, 1.0) ** 0.5
    hu = upper_vermilion_height(x, p)
    hl = lower_vermilion_height(x, p)
    dz = z - p.z_sto
    up = p.upper_pout * env * _lip_profile(dz / hu, 0.55, 1.2)
    lo = p.lower_pout * env * _lip_profile(-dz / hl, 0.5, 0.7)
    lips = np.where(dz >= 0, up, lo)
    sulcus = 0.0022 * _blob(x, z, 0.0, p.z_sto - p.lower_verm - 0.008, 0.018, 0.005)
    corner = 0.0010 * (_blob(x, z, p.mouth_w, p.z_sto, 0.005, 0.005)
                       + _blob(x, z, -p.mouth_w, p.z_sto, 0.005, 0.005))
    philtrum_band = smoothstep(p.z_sto + 0.6 * p.upper_verm, p.z_sto + p.upper_verm + 0.002, z) * \
        (1.0 - smoothstep(p.z_sn - 0.004, p.z_sn, z))
    philtrum = 0.00035 * philtrum_band * (np.exp(-((np.abs(x) - 0.0048) / 0.0018) ** 2)
                                         - 0.6 * np.exp(-(x / 0.0022) ** 2))
    return lips - sulcus - corner + philtrum


def _seg_dist(x, z, ax, az, bx, bz):
    vx, vz = bx - ax, bz - az
    t = np.clip(((x - ax) * vx + (z - az) * vz) / (vx * vx + vz * vz), 0.0, 1.0)
    return np.hypot(x - ax - t * vx, z - az - t * vz), t


NASOLABIAL_STEEP = 0.0035  # metres: deeper nasolabial folds widen in proportion


def _soft_tissue(x: np.ndarray, z: np.ndarray, p: HeadParams) -> np.ndarray:
    """Brow ridge, cheeks, chin, eye sockets, folds, jowls (signed depth)."""
    ax_ = np.abs(x)
    d = np.zeros_like(x)
    # brow ridge / glabella band (the bone under the brows), arching slightly upward laterally
    zb = p.z_brow + 0.05 * (ax_ - 0.025) ** 2 / 0.025
    d += p.brow_amp * np.exp(-((z - zb) / 0.0085) ** 2) * np.exp(-((ax_ - 0.024) / 0.030) ** 4)
    d += p.glabella * _blob(x, z, 0.0, p.z_brow + 0.002, 0.013, 0.0075)
    # malar (cheekbone) eminence and the cheek's fat over it and below
    d += p.cheek_amp * _blob(ax_, z, 0.043, -0.027, 0.018, 0.016)
    d += p.cheek_fat * _blob(ax_, z, 0.040, p.z_sto + 0.004, 0.014, 0.016)
    # chin and jowls
    d += p.chin_amp * _blob(x, z, 0.0, p.z_pog, p.chin_width, 0.011)
    d += p.jowl * _blob(ax_, z, 0.040, p.z_me + 0.018, 0.014, 0.013)
    # temple hollow
    d -= p.temple_hollow * _blob(ax_, z, 0.058, 0.028, 0.011, 0.016)
    # eye sockets: steeper medially (against the nose), flatter laterally
    ex = p.eye_x
    lateral = ax_ > ex
    sx = np.where(lateral, 0.0195, 0.0160) * p.eye_scale ** 0.5
    sz = 0.0128 * p.eye_scale ** 0.5
    r = np.sqrt(((ax_ - ex) / sx) ** 2 + ((z - p.eye_z - 0.001) / sz) ** 2)
    d -= 0.0195 * np.exp(-(r ** 2.5))
    d += p.eye_bag * _blob(ax_, z, ex + 0.002, p.eye_z - 0.0165, 0.012, 0.005)
    # tear trough: a groove from the medial canthus down and out, under the bag
    dist, _ = _seg_dist(ax_, z, ex - 0.010, p.eye_z - 0.0105, ex + 0.003, p.eye_z - 0.0175)
    d -= p.tear_trough * np.exp(-(dist / 0.0028) ** 2)
    # hooding: skin and the brow's fat sag over the lateral upper lid
    d += p.lid_hood * _blob(ax_, z, ex + 0.006, p.eye_z + 0.0125, 0.011, 0.0045)
    # nasolabial fold: groove from the ala toward beyond the mouth corner
    dist, _ = _seg_dist(ax_, z, p.nose_half_width + 0.0015, p.z_sn + 0.005,
                        p.mouth_w + 0.008, p.z_sto - 0.009)
    wide = 1.0 + max(0.0, p.nasolabial - NASOLABIAL_STEEP) / 0.007  # a deeper fold is wider: the skin cannot fold over
    d -= p.nasolabial * np.exp(-(dist / (0.0045 * wide)) ** 2) * smoothstep(p.nose_half_width - 0.002, p.nose_half_width + 0.002, ax_)
    d += 0.6 * p.nasolabial * np.exp(-((dist - 0.0065 * wide) / (0.0045 * wide)) ** 2) * (ax_ > 0.02)
    # marionette fold: from the mouth corner down toward the jaw, the jowl bulging beside it
    dist, _ = _seg_dist(ax_, z, p.mouth_w + 0.001, p.z_sto - 0.003, p.mouth_w + 0.005, p.z_me + 0.010)
    d -= p.marionette * np.exp(-(dist / 0.0035) ** 2)
    return d



def face_depth(x: np.ndarray, z: np.ndarray, p: HeadParams) -> np.ndarray:
    """Forward protrusion (``-y``, metres) of the face surface at frontal (x, z)."""
    return (_midline_profile(z, p) - _lateral(x, z, p) + _nose(x, z, p)
            + _lips(x, z, p) + _soft_tissue(x, z, p))


# ----------------------------------------------------------------------------
# solids and the full field


#: horizontal angle of the canthi on the lid-margin ellipsoid (medial, lateral)
CANTHUS_ANGLES = (np.radians(62.0), np.radians(82.0))


def eyelid_axes(p: HeadParams) -> np.ndarray:
    """Semi-axes (x_lateral, y, z, x_medial) of the lid-margin ellipsoid of an eye.

    The ellipsoid is wider than the eyeball and its medial half is longer, so
    the canthi (at :data:`CANTHUS_ANGLES`) sit beside the globe; the medial
    canthus is further forward than the lateral one, as in real faces.
    """
    es = p.eye_scale
    floor = p.eye_r + 0.0012   # the lid solid must always contain the eyeball
    ax_lat = max(0.0142 * es / np.sin(CANTHUS_ANGLES[1]), floor)
    ax_med = max(0.0146 * es / np.sin(CANTHUS_ANGLES[0]), floor)
    return np.array([ax_lat, p.eye_r + 0.0009, p.eye_r + 0.0009 + 0.0004 * (es - 1.0) / 0.06, ax_med])


#: share of the skull's breadth its front gives up toward the forehead, and the y over which it does
CRANIUM_FRONT_TAPER = 0.20
_TAPER_Y = (0.012, -0.050)


def cranium_half_width(y: np.ndarray | float, p: HeadParams) -> np.ndarray:
    """Half breadth of the cranium's solid at depth y. Seen from above a skull is an egg, widest over
    the parietals at and behind the ears (euryon) and narrowing to the temples and the forehead
    (Farkas 1994: minimum frontal breadth ft-ft about 0.75 of eu-eu, zy-zy 0.90-0.91). A box-fronted
    cranium kept the full head breadth in front of the ears, so the face's frontal silhouette was
    as wide as the skull (about 150 mm against zy-zy's 130-137)."""
    return p.cr_ax * (1.0 - CRANIUM_FRONT_TAPER * smoothstep(_TAPER_Y[0], _TAPER_Y[1], y))


def ear_frame(p: HeadParams, side: float) -> tuple[np.ndarray, np.ndarray]:
    """Ear centre and local axes (rows: outward, along-length, along-width)."""
    z0, y0 = -0.014, 0.010
    dy, dz = (y0 - p.cr_cy) / (0.5 * (p.cr_ay_back + p.cr_ay_front)), (z0 - p.cr_cz) / p.cr_az_bot
    n = 2.6
    xs = float(cranium_half_width(y0, p)) * max(1e-3, 1.0 - abs(dy) ** n - abs(dz) ** n) ** (1.0 / n)
    centre = np.array([side * (xs + 0.0015), y0, z0])
    yaw, tilt = np.radians(28.0), np.radians(16.0)
    out = np.array([side * np.cos(yaw), -np.sin(yaw), 0.0])
    length = np.array([0.0, np.sin(tilt), np.cos(tilt)])
    width = np.cross(out, length)
    width /= np.linalg.norm(width)
    return centre, np.stack([out, length, width])


def ear_field(px, py, pz, p: HeadParams, side: float) -> np.ndarray:
    """Approximate signed distance to the ear on `side` (+1 left, -1 right) alone."""
    c, axes = ear_frame(p, side)
    d = np.stack([px - c[0], py - c[1], pz - c[2]], axis=-1)
    lo = d @ axes.T
    s = p.ear_scale
    q = np.sqrt((lo[..., 0] / 0.0115) ** 2 + (lo[..., 1] / (0.0315 * s)) ** 2
                + ((lo[..., 2] + 0.002) / (0.0175 * s)) ** 2)
    lump = (q - 1.0) * 0.0115
    # concha: carved bowl in the lower-front part of the outer face
    cc = np.array([0.0115, -0.003 * s, -0.004 * s])
    dc = np.sqrt((lo[..., 0] - cc[0] - 0.003) ** 2 + ((lo[..., 1] - cc[1]) / 1.3) ** 2
                 + (lo[..., 2] - cc[2]) ** 2) - 0.0072 * s
    # scapha / fossa: shallow groove just inside the helix rim
    dr = np.sqrt((lo[..., 0] - 0.0150) ** 2 + ((lo[..., 1] - 0.006 * s) / 1.7) ** 2
                 + ((lo[..., 2] - 0.0015 * s) / 1.1) ** 2) - 0.0080 * s
    return smax(smax(lump, -dc, 0.003), -dr, 0.003)


def head_field(pts: np.ndarray, p: HeadParams) -> np.ndarray:
    """Approximate signed distance of ``pts`` (N,3) to the skin (negative inside)."""
    x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
    # cranium, with separate front/back and top/bottom semi-axes
    # (semi-axes blend smoothly between halves: a hard switch shows as a crease)
    ay = p.cr_ay_front + (p.cr_ay_back - p.cr_ay_front) * smoothstep(-0.03, 0.03, y - p.cr_cy)
    az = p.cr_az_bot + (p.cr_az_top - p.cr_az_bot) * smoothstep(-0.03, 0.03, z - p.cr_cz)
    # boxier in front (the forehead meets the face's sides without a valley), if narrower there
    n = 2.6 + 0.8 * (1.0 - smoothstep(-0.07, 0.0, y - p.cr_cy))
    q = (np.abs(x / cranium_half_width(y, p)) ** n + np.abs((y - p.cr_cy) / ay) ** n
         + np.abs((z - p.cr_cz) / az) ** n) ** (1 / n)
    f = (q - 1.0) * 0.072
    # jaw / lower face mass (squarer)
    ay = p.jw_ay_front + (0.05 - p.jw_ay_front) * smoothstep(-0.02, 0.02, y - p.jw_cy)
    az = p.jw_az_bot + (p.jw_az_top - p.jw_az_bot) * smoothstep(-0.02, 0.02, z - p.jw_cz)
    n = p.jaw_power
    q = (np.abs(x / p.jw_ax) ** n + np.abs((y - p.jw_cy) / ay) ** n
         + np.abs((z - p.jw_cz) / az) ** n) ** (1 / n)
    f = smin(f, (q - 1.0) * 0.05, 0.014)
    # neck: the bust's neck column, capped inside the head, open downward; a small blend in front
    # keeps the jaw's underside a plane of its own (the submandibular shadow), a wide one behind
    # rounds the neck into the skull and the ear lobes
    blend = np.interp(y, NECK_BLEND[0], NECK_BLEND[1])
    f = smin(f, smax(neck_field(pts, p.bust), z + 0.05, 0.015), blend)
    # face slab: solid behind the frontal depth map.  Behind the slab's back
    # plane (+ blend radius) the slab cannot change f's value or sign, so the
    # expensive depth map is only evaluated in front of it (speed).
    slab = y - _SLAB_BACK
    near = y < _SLAB_BACK + _SLAB_BLEND
    if np.any(near):
        xn, yn, zn = x[near], y[near], z[near]
        yf = -face_depth(xn, zn, p)
        # lateral bound (vertical elliptic cylinder, narrower toward the back)
        # keeps the slab's back plane inside the cranium/jaw: no exposed edge
        wb = face_half_width(zn, p) + _bound_margin(zn, p)
        bound = (np.sqrt((xn / wb) ** 2 + ((yn + 0.06) / 0.075) ** 2) - 1.0) * 0.06
        slab[near] = smax(np.maximum(yf - yn, slab[near]), bound, 0.012)
    f = smin(f, slab, _SLAB_BLEND)
    # eyelids: ellipsoids around the eyeballs (contain them -> lids drape)
    lid = eyelid_axes(p) + LID_THICK
    for side in (-1.0, 1.0):
        e = np.array([side * p.eye_x, p.eye_y, p.eye_z])
        lx = np.where((x - e[0]) * side < 0, lid[3], lid[0])
        k0 = np.sqrt(((x - e[0]) / lx) ** 2 + ((y - e[1]) / lid[1]) ** 2 + ((z - e[2]) / lid[2]) ** 2)
        f = smin(f, (k0 - 1.0) * lid[1], 0.0025)
    for side in (-1.0, 1.0):
        lateral = x * side > 0.035        # the ears cannot matter closer to the midline
        if np.any(lateral):
            f[lateral] = smin(f[lateral], ear_field(x[lateral], y[lateral], z[lateral], p, side), EAR_BLEND)
    return f


GARMENT_ROOM = 0.010  # metres kept free over the shoulders and chest for clothes (under hair)


def figure_field(pts: np.ndarray, p: HeadParams, room: float = GARMENT_ROOM) -> np.ndarray:
    """Signed distance (negative inside) to the head and the bust, the bust grown by the `room` its
    clothes take below the neck: what hair must stay outside of (garments ask with no room)."""
    b = p.bust
    f = head_field(pts, p)
    low = pts[..., 2] < b.z_nsp + 0.02  # above it the bust is the neck column, already in the head's field
    if np.any(low):
        q = pts[low]
        grown = room * smoothstep(b.z_nsp + 0.01, b.z_nsp - 0.02, q[..., 2])
        f[low] = np.minimum(f[low], bust_field(q, b) - grown)
    return f


def cast_rays(dirs: np.ndarray, p: HeadParams, r_lo: float | np.ndarray = 0.02,
              r_hi: float | np.ndarray = 0.42, origins: np.ndarray | None = None) -> np.ndarray:
    """Distance along each unit direction from its origin (default :data:`RAY_CENTRE`) to the
    skin; ``head_field`` is negative at ``r_lo`` and positive at ``r_hi`` for every ray the
    topology uses."""
    org = RAY_CENTRE if origins is None else origins
    return ray_roots(lambda pts: head_field(pts, p), org, dirs, r_lo, r_hi)


def ray_roots(field, origins: np.ndarray, dirs: np.ndarray, r_lo: float | np.ndarray,
              r_hi: float | np.ndarray, halvings: int = 12) -> np.ndarray:
    """Where each ray crosses the field's zero between ``r_lo`` (inside) and ``r_hi`` (outside).

    Vectorised bisection down to a bracket 4096 times narrower (0.1 mm for a 40 cm range), then
    the straight line between the field's values at the bracket's ends: the fields are smooth on
    that scale, so the root is as exact as nine more halvings would make it (12 field calls,
    where halving alone needs 21).
    """
    n = dirs.shape[0]
    lo = np.broadcast_to(np.asarray(r_lo, dtype=np.float64), (n,)).copy()
    hi = np.broadcast_to(np.asarray(r_hi, dtype=np.float64), (n,)).copy()
    f_lo, f_hi = np.full(n, np.nan), np.full(n, np.nan)  # unknown until a halving lands on that end
    for _ in range(halvings):
        mid = 0.5 * (lo + hi)
        f = field(origins + dirs * mid[:, None])
        inside = f < 0
        lo, f_lo = np.where(inside, mid, lo), np.where(inside, f, f_lo)
        hi, f_hi = np.where(inside, hi, mid), np.where(inside, f_hi, f)
    with np.errstate(invalid="ignore"):
        share = f_lo / (f_lo - f_hi)
    return np.where(np.isfinite(share), lo + share * (hi - lo), 0.5 * (lo + hi))

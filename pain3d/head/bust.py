"""Neck, shoulders and upper chest of one identity (pure numpy).

The bust is an explicit surface: every horizontal slice at height ``z`` is a star-shaped curve
around a vertical axis, given as a radius ``bust_radius(theta, z)`` (``theta`` = 0 toward the
face, -Y; +pi/2 toward the subject's left, +X). The slice is the smooth union of the neck (an
ellipse, narrower under the jaw) and the shoulder girdle (a wide lens that grows out of the
neck at the neck-shoulder point, follows the trapezius slope to the acromion and rounds over the
deltoids), with the anatomy that shows on skin added as radial relief: the sternocleidomastoid
ridges, the laryngeal prominence, the jugular notch, the clavicles over the supraclavicular
hollows and, with age, platysma bands.

The numbers (docs/head-model.md, "Neck and shoulders") are sex means and SDs rounded from the
ANSUR II survey of US Army personnel (Gordon et al. 2014): neck circumference, biacromial and
bideltoid breadth, acromial and suprasternal heights against stature; the shoulder slope from
clothing-anthropometry surveys (about 20 degrees in men, 23 in women). The head grid's lowest
rows and the bust rows below them are placed on this surface by :func:`place_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Sex means (female, male) and SD of the bust measurements in metres.
BUST_MEASUREMENTS: dict[str, tuple[float, float, float]] = {
    "neck_circumference": (0.329, 0.390, 0.019),    # ANSUR II, below the laryngeal prominence
    "biacromial_breadth": (0.365, 0.407, 0.019),    # ANSUR II
    "bideltoid_breadth": (0.426, 0.490, 0.028),     # ANSUR II shoulder breadth
    "chin_to_sternum": (0.082, 0.088, 0.010),       # gnathion to suprasternale, head upright
    "shoulder_slope_deg": (23.0, 20.0, 3.0),        # neck-shoulder point to acromion
}
UPPER_NECK = 0.88       # neck width under the jaw, as a share of the mid-neck width
JAW_MARGIN = 0.92       # ... and at most this share of the jaw's width
NECK_AXIS_Y = 0.020     # neck and trunk axis (metres behind the tragus plane)
BUST_DEPTH = 0.21       # the bust is cut this far below the acromion (out of every view)
SLICE_EXPONENT = 2.3    # superellipse exponent of the shoulder girdle's slice


def _meas(name: str, m: float, z: float) -> float:
    f, mm, sd = BUST_MEASUREMENTS[name]
    return f + (mm - f) * m + sd * z


@dataclass(frozen=True)
class BustParams:
    """Concrete bust geometry of one identity (metres, radians)."""

    neck_half_width: float   # mid neck
    upper_neck: float        # neck width under the jaw as a share of the mid-neck width
    neck_front: float        # axis to the throat
    neck_back: float         # axis to the nape
    z_larynx: float          # laryngeal prominence
    z_notch: float           # suprasternal (jugular) notch
    z_nsp: float             # neck-shoulder point (top of the trapezius at the neck)
    z_acromion: float
    z_cut: float             # bottom of the bust
    acromion_half: float     # biacromial / 2
    deltoid_half: float      # bideltoid / 2
    larynx: float            # laryngeal prominence height (male > female)
    scm: float               # sternocleidomastoid ridge height
    clavicle: float          # clavicle ridge height
    platysma: float          # platysma band height (age)
    chest: float             # forward fullness of the upper chest (breasts in women)
    maleness: float


def derive_bust(z_menton: float, jaw_half_width: float, maleness: float, age_factor: float,
                neck_width: float = 0.0, shoulder_width: float = 0.0) -> BustParams:
    """Bust of an identity from its menton height, jaw width, sex, ageing and its two bust controls
    (z-scores). Under the jaw the neck is at most JAW_MARGIN of the jaw's width, however thick the
    neck is lower down: the jaw's lower border always stands out."""
    m, a = maleness, age_factor
    circ = _meas("neck_circumference", m, neck_width) * (1.0 + 0.04 * a)  # necks thicken with age
    # a near-round neck, a little wider than deep: circumference ~ pi (w + d); the throat is nearer
    # the axis than the nape
    half_sum = circ / np.pi
    half_width, half_depth = 0.52 * half_sum, 0.48 * half_sum
    z_notch = z_menton - _meas("chin_to_sternum", m, 0.0) + 0.006 * a  # the chin sags toward the sternum
    acromion = 0.5 * _meas("biacromial_breadth", m, shoulder_width)
    slope = np.radians(_meas("shoulder_slope_deg", m, 0.0) + 3.0 * a)
    z_acromion = z_notch - 0.004
    z_nsp = z_acromion + (acromion - half_width - 0.02) * np.tan(slope)
    return BustParams(
        neck_half_width=half_width, upper_neck=min(UPPER_NECK, JAW_MARGIN * jaw_half_width / half_width),
        neck_front=0.92 * half_depth, neck_back=1.08 * half_depth,
        z_larynx=z_menton - 0.040, z_notch=z_notch, z_nsp=z_nsp, z_acromion=z_acromion,
        z_cut=z_acromion - BUST_DEPTH,
        acromion_half=acromion, deltoid_half=0.5 * _meas("bideltoid_breadth", m, shoulder_width),
        larynx=0.0010 + 0.0035 * m, scm=0.0022 + 0.0012 * m - 0.0006 * a,
        clavicle=0.0030 + 0.0008 * a, platysma=0.0016 * min(a, 1.0), chest=0.018 * (1.0 - m) + 0.006,
        maleness=m,
    )


def _smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (a - b) / k, 0.0, 1.0)
    return b + (a - b) * h + k * h * (1.0 - h)


def _gauss(x: np.ndarray, s: float) -> np.ndarray:
    return np.exp(-0.5 * (x / s) ** 2)


def _slice_radius(theta: np.ndarray, half_width, front, back, n: float) -> np.ndarray:
    """Radius of a superellipse slice with separate front and back half-depths."""
    s, c = np.abs(np.sin(theta)), np.cos(theta)
    depth = np.where(c > 0, front, back)
    return ((s / half_width) ** n + (np.abs(c) / depth) ** n) ** (-1.0 / n)


def _neck_scale(z: np.ndarray, b: BustParams) -> np.ndarray:
    """Neck width along its height: full at the larynx and below, narrower from 25 mm above it, under
    the jaw (however thick the neck, its top stays inside the jaw's width)."""
    return np.interp(z, [b.z_larynx - 0.005, b.z_larynx + 0.025], [1.0, b.upper_neck])


def neck_radius(theta: np.ndarray, z: np.ndarray, b: BustParams) -> np.ndarray:
    """The neck column alone (what the head's ray-cast surface ends in)."""
    w = b.neck_half_width * _neck_scale(z, b)
    back = b.neck_back + 0.02 * np.clip((b.z_larynx - z) / 0.06, 0.0, 1.0)  # the nape deepens into the back
    return _slice_radius(theta, w, b.neck_front, back, 2.0)


def _girdle(theta: np.ndarray, z: np.ndarray, b: BustParams) -> np.ndarray:
    """Shoulder girdle slice radius (zero above the neck-shoulder point)."""
    zs = [b.z_cut, b.z_acromion - 0.075, b.z_acromion - 0.02, b.z_acromion + 0.008, b.z_nsp]
    half = np.interp(z, zs, [b.deltoid_half - 0.012, b.deltoid_half, b.acromion_half + 0.004,
                             b.acromion_half - 0.022, b.neck_half_width])
    front = np.interp(z, [b.z_cut, b.z_notch - 0.08, b.z_notch, b.z_nsp],
                      [0.105 + b.chest, 0.085 + 0.6 * b.chest, 0.055, 0.030])
    back = np.interp(z, [b.z_cut, b.z_notch - 0.06, b.z_nsp], [0.125, 0.115, 0.070])
    r = _slice_radius(theta, half, front, back, SLICE_EXPONENT)
    return np.where(z < b.z_nsp, r, 0.0)


def _relief(theta: np.ndarray, z: np.ndarray, b: BustParams, r: np.ndarray) -> np.ndarray:
    """Radial relief of the anatomy that shows through the skin."""
    front = np.clip(np.cos(theta), 0.0, 1.0)
    x = r * np.sin(theta)
    ax = np.abs(x)
    # sternocleidomastoid: from behind the ear down and forward to the sternum
    t = np.clip((z - b.z_notch) / (b.z_larynx + 0.05 - b.z_notch), 0.0, 1.0)
    th_scm = 0.28 + 1.35 * t
    scm = b.scm * _gauss(np.abs(theta) - th_scm, 0.26) * np.clip(t * 6.0, 0.0, 1.0) * np.clip((1.0 - t) * 5.0, 0.0, 1.0)
    larynx = b.larynx * _gauss(theta, 0.20) * _gauss(z - b.z_larynx, 0.010)
    notch = -0.004 * _gauss(theta, 0.18) * _gauss(z - b.z_notch - 0.010, 0.010)
    # clavicles: a ridge rising gently from the notch to the acromion, a hollow above it
    z_cl = b.z_notch + 0.004 + 0.12 * np.clip(ax - 0.02, 0.0, None)
    along = np.clip((ax - 0.015) / 0.02, 0.0, 1.0) * np.clip((b.acromion_half - ax) / 0.03, 0.0, 1.0)
    clav = b.clavicle * _gauss(z - z_cl, 0.0075) * along
    hollow = -0.004 * _gauss(z - z_cl - 0.024, 0.011) * along * np.clip((ax - 0.04) / 0.02, 0.0, 1.0)
    bands = b.platysma * _gauss(np.abs(theta) - 0.32, 0.09) * np.clip((b.z_larynx + 0.03 - z) / 0.02, 0.0, 1.0) \
        * np.clip((z - b.z_notch - 0.01) / 0.02, 0.0, 1.0)
    return scm + front * (larynx + notch + clav + hollow + bands)


def bust_radius(theta: np.ndarray, z: np.ndarray, b: BustParams) -> np.ndarray:
    """Radius of the bust surface at azimuth ``theta`` and height ``z`` around the neck axis."""
    theta, z = np.broadcast_arrays(np.asarray(theta, float), np.asarray(z, float))
    r = _smax(neck_radius(theta, z, b), _girdle(theta, z, b), 0.018)
    return r + _relief(theta, z, b, r)


def bust_point(theta: np.ndarray, z: np.ndarray, b: BustParams) -> np.ndarray:
    """Points (..., 3) of the bust surface."""
    theta, z = np.broadcast_arrays(np.asarray(theta, float), np.asarray(z, float))
    r = bust_radius(theta, z, b)
    return np.stack([r * np.sin(theta), NECK_AXIS_Y - r * np.cos(theta), z], axis=-1)


def polar(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(theta, radius) of points around the neck axis."""
    dx, dy = points[..., 0], points[..., 1] - NECK_AXIS_Y
    return np.arctan2(dx, -dy), np.hypot(dx, dy)


def bust_field(points: np.ndarray, b: BustParams) -> np.ndarray:
    """Approximate signed distance to the bust (negative inside), open above the neck-shoulder point
    only in the sense that the neck column continues upward; the cut below is closed."""
    theta, rho = polar(points)
    z = points[..., 2]
    r = bust_radius(theta, z, b)
    dz = 0.002
    slope = (bust_radius(theta, z + dz, b) - bust_radius(theta, z - dz, b)) / (2 * dz)
    d = (rho - r) / np.sqrt(1.0 + slope * slope)
    return np.maximum(d, b.z_cut - z)


def neck_field(points: np.ndarray, b: BustParams) -> np.ndarray:
    """Approximate signed distance to the neck column (the head's implicit surface uses it)."""
    theta, rho = polar(points)
    return rho - neck_radius(theta, points[..., 2], b)


def place_columns(start: np.ndarray, fractions: np.ndarray, b: BustParams, samples: int = 240) -> np.ndarray:
    """Rows of points (K, N, 3) going down the bust from each start point (N, 3) to the cut.

    Each column keeps the azimuth of its start point and is sampled at equal arc-length
    ``fractions`` (K, in (0, 1]); the offset between a start point and the bust surface below it
    (the head's ray-cast surface meets the neck within a few millimetres) fades out over the first
    tenth of the column, so the head and the bust join without a step.
    """
    theta, _ = polar(start)
    z0 = start[:, 2]
    t = np.linspace(0.0, 1.0, samples)[:, None]
    zs = z0[None, :] + (b.z_cut - z0[None, :]) * t
    pts = bust_point(np.broadcast_to(theta, zs.shape), zs, b)              # (S, N, 3)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=-1)
    arc = np.concatenate([np.zeros((1, len(z0))), np.cumsum(seg, axis=0)]) / np.sum(seg, axis=0)
    offset = start - pts[0]
    f = np.asarray(fractions, float)[:, None]
    cols = np.arange(len(z0))
    i = np.clip((arc[None, :, :] < f[:, None, :]).sum(axis=1) - 1, 0, samples - 2)    # (K, N)
    a0, a1 = arc[i, cols], arc[i + 1, cols]
    w = ((f - a0) / np.maximum(a1 - a0, 1e-12))[..., None]
    out = (1.0 - w) * pts[i, cols] + w * pts[i + 1, cols]
    return out + offset[None] * (np.clip(1.0 - f / 0.1, 0.0, 1.0) ** 2)[..., None]

"""Where scalp hair grows on one head (pure numpy): the hairline and pattern loss.

Positions are read in angles about a point inside the head (CENTRE): azimuth theta (0 at the
face, +/-pi at the back; +x is the subject's left) and elevation psi (0 level with the centre,
pi/2 at the top). Hair grows above a hairline psi_h(theta) whose knots follow the identity's
face: the front hairline `hairline_mm` above the brows, the temples, the sideburns in front of
the tragus, over the ears, down close behind them to the lobes' level and on to the nape.
Pattern loss (docs/hair.md) raises the front line (Norwood II-V), thins the crown (IV-V), bares
the top above a horseshoe (VI-VII), or thins the top diffusely behind a kept front line (Ludwig
I-III).
"""

from __future__ import annotations

import numpy as np

from ..head.mesh import HeadMesh
from ..head.topology import PART_ID

CENTRE = np.array([0.0, 0.005, 0.010])
CROWN = np.radians([180.0, 62.0])  # (theta, psi) of the crown whorl
EDGE = np.radians(2.5)  # softness of the hairline (fine hairs thinning out)
# Norwood stage -> (midline, temple) recession of the front line in degrees of elevation, crown
# thinning radius (m), and the top of the kept horseshoe ((side, back) elevation, degrees).
NORWOOD = {1: (0, 0, 0.0, None), 2: (3, 9, 0.0, None), 3: (7, 18, 0.0, None), 4: (13, 24, 0.025, None),
           5: (21, 30, 0.040, None), 6: (60, 60, 0.0, (30, 36)), 7: (60, 60, 0.0, (22, 26))}
LUDWIG = {0: 0.0, 1: 0.3, 2: 0.5, 3: 0.7}  # share of top hairs lost
# How much of the scalp's skin colour gives way to its hair's at a hair length (cm): follicles and
# shafts seen through and just above the skin, and strands too fine to resolve. A shaved scalp
# shows a grey-blue shadow, a buzz cut reads as an even dark cap; longer hair lies over the scalp
# and lets a little more skin show at partings.
SCALP_SHADOW = ((0.05, 0.3, 1.0, 6.0), (0.35, 0.7, 0.8, 0.5))


def angles(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(theta, psi) of points about CENTRE."""
    d = points - CENTRE
    theta = np.arctan2(d[:, 0], -d[:, 1])
    psi = np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))
    return theta, psi


class Scalp:
    """Hair growth density (0..1) of one identity's head and hair record."""

    def __init__(self, head: HeadMesh, record: dict, seed: int) -> None:
        p = head.params
        male = head.params.maleness > 0.5
        tragus = 0.5 * (head.landmarks["tragus_L"] + head.landmarks["tragus_R"] * [-1, 1, 1])  # mirrored to +x
        theta_ear = float(np.arctan2(tragus[0], -(tragus[1] - CENTRE[1])))
        elev = lambda z, r: float(np.degrees(np.arctan2(z - CENTRE[2], r)))  # noqa: E731
        z_tr = p.z_brow + record["hairline_mm"] / 1000.0
        ear_top = tragus[2] + 0.036 * p.ear_scale
        sideburn = tragus[2] + (0.004 if male else 0.016)
        e = theta_ear
        knots = [(0.0, elev(z_tr, 0.092)), (0.35, elev(z_tr - 0.002, 0.09)), (0.6, elev(z_tr - 0.009, 0.088)),
                 (1.0, elev(0.046, 0.086)), (e - 0.45, elev(0.026, 0.084)), (e - 0.33, elev(sideburn, 0.082)),
                 (e - 0.1, elev(sideburn, 0.085)), (e + 0.02, elev(ear_top + 0.004, 0.088)),
                 (e + 0.30, elev(ear_top + 0.004, 0.09)), (e + 0.50, elev(tragus[2] - 0.015, 0.09)),
                 (2.85, elev(tragus[2] - 0.045, 0.085)), (np.pi, elev(tragus[2] - 0.052, 0.085))]
        self.knot_theta = np.array([k[0] for k in knots])
        self.knot_psi = np.radians([k[1] for k in knots])
        rng = np.random.default_rng(seed)
        self.wobble = rng.normal(0.0, np.radians(0.8), 4), rng.uniform(0, 2 * np.pi, 4)
        self.pattern, self.stage = record["loss_pattern"], int(record["loss_stage"])
        self.density_scale = float(record["density"])

    def hairline(self, theta: np.ndarray) -> np.ndarray:
        """Elevation of the natural hairline at each azimuth, with a seeded irregularity."""
        psi = np.interp(np.abs(theta), self.knot_theta, self.knot_psi)
        amp, phase = self.wobble
        for k, (a, ph) in enumerate(zip(amp, phase)):
            psi = psi + a * np.sin((k + 2) * theta + ph)
        return psi

    def growth(self, points: np.ndarray) -> np.ndarray:
        """Where hair grows at all (the natural hairline, before loss), 0..1."""
        theta, psi = angles(points)
        return _smooth((psi - self.hairline(theta)) / EDGE)

    def density(self, points: np.ndarray) -> np.ndarray:
        """Growth x what pattern loss leaves, 0..1 (the record's density scales the strand count)."""
        theta, psi = angles(points)
        line = self.hairline(theta)
        keep = np.ones(len(points))
        if self.pattern == "male":
            mid, temple, crown_r, horseshoe = NORWOOD[self.stage]
            front = np.clip(1.0 - (np.abs(theta) - 1.0) / 0.35, 0.0, 1.0)
            at_temple = np.exp(-((np.abs(theta) - 0.55) / 0.28) ** 2)
            line = line + np.radians(mid + (temple - mid) * at_temple) * front
            if crown_r:
                keep *= 1.0 - 0.92 * _smooth((crown_r - _arc_to_crown(points)) / 0.008)
            if horseshoe:
                side, back = np.radians(horseshoe)
                top = side + (back - side) * np.clip((np.abs(theta) - 1.6) / 1.5, 0.0, 1.0)
                keep *= 1.0 - _smooth((psi - top) / EDGE)
        elif self.pattern == "female" and self.stage:
            top = _smooth((psi - np.radians(40.0)) / np.radians(6.0))
            behind_front = _smooth((psi - line - np.radians(9.0)) / np.radians(3.0))
            keep *= 1.0 - LUDWIG[self.stage] * top * behind_front
        return _smooth((psi - line) / EDGE) * keep

    def front_band(self, points: np.ndarray, width_deg: float = 14.0) -> np.ndarray:
        """1 within `width_deg` behind the front hairline (where a fringe grows), 0 elsewhere."""
        theta, psi = angles(points)
        inside = (psi - self.hairline(theta)) < np.radians(width_deg)
        return (inside & (np.abs(theta) < 0.85)).astype(float)


def scalp_shadow(head: HeadMesh, record: dict) -> np.ndarray:
    """Per vertex, how far the skin takes the scalp hair's colour (0..1): where the strands grow
    (their own hairline and pattern loss) times SCALP_SHADOW at the record's length. Without it
    the light skin between strands too fine for the render sparkles through a dark cap."""
    density = Scalp(head, record, int(record["seed"])).density(head.vertices)
    density *= (head.vertex_part == PART_ID["skin"]) * min(1.0, float(record["density"]))
    return density * float(np.interp(record["length_cm"], *SCALP_SHADOW))


def crown_point(radius: float = 0.1) -> np.ndarray:
    theta, psi = CROWN
    return CENTRE + radius * np.array([np.cos(psi) * np.sin(theta), -np.cos(psi) * np.cos(theta), np.sin(psi)])


def _arc_to_crown(points: np.ndarray) -> np.ndarray:
    """Distance along a 10 cm sphere from the crown whorl (metres)."""
    d = points - CENTRE
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    c = (crown_point() - CENTRE) / 0.1
    return 0.1 * np.arccos(np.clip(d @ c, -1.0, 1.0))


def _smooth(x: np.ndarray) -> np.ndarray:
    """0 below -0.5, 1 above +0.5, smooth between."""
    t = np.clip(x + 0.5, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)

"""Per-vertex facial region weights (0..1) for the FACS rig, from the template.

Weights are smooth (Gaussian / smoothstep falloffs in the frontal x-z plane
of the template head) so shape keys built from them blend without seams.
Lid and lip regions use the ring-patch structure, which separates upper from
lower lid / lip exactly even where they touch.  ``_L`` = subject's left (+X).
"""

from __future__ import annotations

import numpy as np

from .params import HeadParams
from .surface import smoothstep
from .topology import PART_ID, HeadTopology


def _blob(x, z, cx, cz, rx, rz):
    return np.exp(-(((x - cx) / rx) ** 2 + ((z - cz) / rz) ** 2))


def _ring_weight(topo: HeadTopology, ptc, full_rings: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertex ids, weight by ring, sin psi) of a ring patch (border excluded)."""
    rings = ptc.rings[:-1]
    k = rings.shape[0]
    w = np.clip(1.0 - (np.arange(k) - full_rings) / max(1, k - full_rings), 0.0, 1.0)
    ids = rings.reshape(-1)
    return ids, np.repeat(w, rings.shape[1]), np.tile(np.sin(ptc.psi), k)


def compute_regions(topo: HeadTopology, V: np.ndarray, p: HeadParams) -> dict[str, np.ndarray]:
    """Region name -> (V,) float32 weights."""
    n = topo.n_verts
    x, y, z = V[:, 0], V[:, 1], V[:, 2]
    skin = (topo.vertex_part == PART_ID["skin"]).astype(np.float64)
    front = skin * smoothstep(-0.01, -0.04, y)
    out: dict[str, np.ndarray] = {}
    ax_ = np.abs(x)
    sides = {"R": -1.0, "L": 1.0}

    out["forehead"] = front * smoothstep(p.z_brow + 0.004, p.z_brow + 0.016, z) * (1 - smoothstep(0.085, 0.105, z)) \
        * (1 - smoothstep(0.045, 0.062, ax_))
    out["glabella"] = front * _blob(x, z, 0.0, p.z_brow - 0.002, 0.010, 0.010)
    for s, sx in sides.items():
        out[f"brow_{s}"] = front * _blob(x, z, sx * 0.033, p.z_brow + 0.003, 0.021, 0.008)
        out[f"infraorbital_{s}"] = front * _blob(x, z, sx * 0.034, p.eye_z - 0.024, 0.017, 0.011)
        out[f"cheek_{s}"] = front * _blob(x, z, sx * 0.045, -0.032, 0.020, 0.020)
        out[f"lip_corner_{s}"] = front * _blob(x, z, sx * p.mouth_w, p.z_sto, 0.010, 0.009)
        # nasolabial: distance to the fold segment (ala -> beyond the mouth corner)
        ax0, az0 = p.nose_half_width + 0.0015, p.z_sn + 0.005
        bx0, bz0 = p.mouth_w + 0.008, p.z_sto - 0.009
        vx, vz = bx0 - ax0, bz0 - az0
        t = np.clip(((sx * x - ax0) * vx + (z - az0) * vz) / (vx * vx + vz * vz), 0, 1)
        d = np.hypot(sx * x - ax0 - t * vx, z - az0 - t * vz)
        out[f"nasolabial_{s}"] = front * np.exp(-(d / 0.006) ** 2) * (sx * x > 0)
        out[f"nose_ala_{s}"] = front * _blob(x, z, sx * (p.nose_half_width - 0.005), p.z_sn + 0.004, 0.007, 0.006)
    out["nose_alae"] = out["nose_ala_L"] + out["nose_ala_R"]
    out["nose_bridge"] = front * (1 - smoothstep(0.007, 0.012, ax_)) * smoothstep(p.z_tip + 0.002, p.z_tip + 0.008, z) \
        * (1 - smoothstep(p.z_nasion + 0.002, p.z_nasion + 0.008, z))
    nose_w = 1 - smoothstep(p.nose_half_width + 0.001, p.nose_half_width + 0.006, ax_)
    out["nose"] = front * nose_w * smoothstep(p.z_sn - 0.003, p.z_sn + 0.001, z) * (1 - smoothstep(p.z_nasion, p.z_nasion + 0.006, z))
    out["chin"] = front * _blob(x, z, 0.0, p.z_pog, 0.021, 0.013)

    # eyelids from the eye ring patches
    for s, ptc in topo.eye_patches.items():
        ids, w, sp = _ring_weight(topo, ptc, 5)
        up = np.zeros(n)
        lo = np.zeros(n)
        up[ids] = w * smoothstep(-0.1, 0.3, sp)
        lo[ids] = w * smoothstep(-0.1, 0.3, -sp)
        out[f"upper_eyelid_{s}"] = up
        out[f"lower_eyelid_{s}"] = lo

    # lips: upper/lower split by the mouth loops, skin lip by position
    mp = topo.mouth_patch
    ids, w, sp = _ring_weight(topo, mp, topo.mouth_lip_rings + 2)
    lip_w = 1 - smoothstep(p.mouth_w + 0.002, p.mouth_w + 0.010, ax_)
    upper = front * lip_w * smoothstep(p.z_sto - 0.001, p.z_sto + 0.002, z) * (1 - smoothstep(p.z_sn - 0.004, p.z_sn + 0.0, z))
    lower = front * lip_w * (1 - smoothstep(p.z_sto - 0.002, p.z_sto + 0.001, z)) \
        * smoothstep(p.z_sto - p.lower_verm - 0.012, p.z_sto - p.lower_verm - 0.004, z)
    upper[ids] = np.maximum(0, np.where(sp > 0, w, 0.0))
    lower[ids] = np.maximum(0, np.where(sp < 0, w, 0.0))
    out["upper_lip"] = upper
    out["lower_lip"] = lower

    # jaw: everything below the lip line that follows the mandible
    jaw = skin * (1 - smoothstep(p.z_sto - 0.004, p.z_sto + 0.001, z)) * smoothstep(0.03, -0.01, y) \
        * smoothstep(p.z_me - 0.045, p.z_me - 0.012, z)
    jaw[ids] = np.where(sp < 0, 1.0, 0.0) * np.maximum(w, jaw[ids])
    cav = topo.cavity_rings
    s_cav = np.sin(mp.psi)
    for r in range(cav.shape[0]):
        jaw[cav[r]] = np.clip(0.5 - 0.5 * s_cav / 0.3, 0, 1)
    jaw[topo.teeth_ids["teeth_lower"]] = 1.0
    out["jaw"] = jaw
    return {k: np.clip(v, 0.0, 1.0).astype(np.float32) for k, v in out.items()}

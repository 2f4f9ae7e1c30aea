"""Fixed landmark vertex ids (iBUG 68 + named extras), chosen on the template.

Eye, lip and mouth-corner landmarks sit on dedicated loops of the ring
patches (lid margin, vermilion border, lip contact line), so they follow
every identity exactly.  The others (brows, nose, jaw line, extras) are the
template vertices nearest to anatomical targets; being vertex ids they are
equally fixed for every identity of a level.
"""

from __future__ import annotations

import numpy as np

from .params import HeadParams
from .surface import ear_frame, face_depth, smoothstep
from .topology import PART_ID, HeadTopology, RingPatch

#: iBUG-68 groups (for documentation and tests)
IBUG_GROUPS: dict[str, range] = {
    "jaw": range(0, 17), "brow_R": range(17, 22), "brow_L": range(22, 27),
    "nose_bridge": range(27, 31), "nostrils": range(31, 36), "eye_R": range(36, 42),
    "eye_L": range(42, 48), "lip_outer": range(48, 60), "lip_inner": range(60, 68),
}


def _loop_pick(V: np.ndarray, ids: np.ndarray, psi: np.ndarray, upper: bool | None, x: float) -> int:
    """Vertex of a loop on the upper/lower half whose x is closest to ``x``."""
    if upper is None:
        cand = np.arange(ids.size)
    else:
        s = np.sin(psi)
        cand = np.nonzero(s > 1e-9 if upper else s < -1e-9)[0]
    k = cand[np.argmin(np.abs(V[ids[cand], 0] - x))]
    return int(ids[k])


def _corner(ids: np.ndarray, psi: np.ndarray, plus_x: bool) -> int:
    target = 0.0 if plus_x else np.pi
    return int(ids[np.argmin(np.abs(np.angle(np.exp(1j * (psi - target)))))])


def _eye_ids(V: np.ndarray, ptc: RingPatch, side: str) -> list[int]:
    ids, psi = ptc.rings[2], ptc.psi
    lat_plus = side == "L"                      # lateral corner is on +X for the left eye
    lat = _corner(ids, psi, lat_plus)
    med = _corner(ids, psi, not lat_plus)
    xl, xm = V[lat, 0], V[med, 0]
    up1 = _loop_pick(V, ids, psi, True, xl + (xm - xl) / 3)
    up2 = _loop_pick(V, ids, psi, True, xl + 2 * (xm - xl) / 3)
    lo2 = _loop_pick(V, ids, psi, False, xl + 2 * (xm - xl) / 3)
    lo1 = _loop_pick(V, ids, psi, False, xl + (xm - xl) / 3)
    if side == "R":   # 36 lateral, 37-38 upper, 39 medial, 40-41 lower
        return [lat, up1, up2, med, lo2, lo1]
    return [med, up2, up1, lat, lo1, lo2]  # 42 medial, 43-44 upper, 45 lateral, 46-47 lower


def _mouth_ids(V: np.ndarray, mp: RingPatch, n_lip: int, p: HeadParams) -> list[int]:
    outer, inner, psi = mp.rings[n_lip], mp.rings[0], mp.psi
    w = p.mouth_w
    pk = 0.0058
    out = [_corner(outer, psi, False)]
    out += [_loop_pick(V, outer, psi, True, x) for x in (-0.55 * w, -pk, 0.0, pk, 0.55 * w)]
    out += [_corner(outer, psi, True)]
    out += [_loop_pick(V, outer, psi, False, x) for x in (0.55 * w, 0.28 * w, 0.0, -0.28 * w, -0.55 * w)]
    inn = [_corner(inner, psi, False)]
    inn += [_loop_pick(V, inner, psi, True, x) for x in (-0.45 * w, 0.0, 0.45 * w)]
    inn += [_corner(inner, psi, True)]
    inn += [_loop_pick(V, inner, psi, False, x) for x in (0.45 * w, 0.0, -0.45 * w)]
    return out + inn


def _nearest(V: np.ndarray, cand: np.ndarray, target: np.ndarray) -> int:
    return int(cand[np.argmin(np.linalg.norm(V[cand] - target, axis=1))])


def _nearest_in_front_view(V: np.ndarray, cand: np.ndarray, x: float, z: float) -> int:
    return int(cand[np.argmin(np.hypot(V[cand, 0] - x, V[cand, 2] - z))])


def _surface_target(x: float, z: float, p: HeadParams) -> np.ndarray:
    d = float(face_depth(np.array([x]), np.array([z]), p)[0])
    return np.array([x, -d, z])


def outline_centre_z(p: HeadParams) -> float:
    """Height of the frontal outline's centre, 10 mm below the eyes: the jaw contour's directions
    are taken about it."""
    return p.eye_z - 0.010


def _outline_angles(V: np.ndarray, ids: np.ndarray, p: HeadParams) -> tuple[np.ndarray, np.ndarray]:
    """Direction (0 = subject right, -X; pi/2 = down; pi = +X) and distance of vertices from the
    frontal outline's centre."""
    dx, dz = V[ids, 0], V[ids, 2] - outline_centre_z(p)
    return np.arctan2(-dz, -dx), np.hypot(dx, dz)


def _jaw_ids(V: np.ndarray, skin: np.ndarray, p: HeadParams) -> list[int]:
    """Outermost front-half skin vertex in 17 directions of the frontal outline."""
    zc = outline_centre_z(p)
    sel = (V[skin, 1] < -0.022) & (V[skin, 2] < zc + 0.004) & (V[skin, 2] > p.z_me - 0.008)
    cand = skin[sel]
    ang, rad = _outline_angles(V, cand, p)
    out = []
    for k in range(8):
        g = np.pi * k / 16
        sel = np.abs(np.angle(np.exp(1j * (ang - g)))) < np.radians(2.5)
        if not sel.any():
            sel = np.abs(np.angle(np.exp(1j * (ang - g)))) < np.radians(6)
        idx = np.nonzero(sel)[0]
        out.append(int(cand[idx[np.argmax(rad[idx])]]))
    # menton on the midline; the left half mirrors the right (symmetric topology)
    mid = cand[np.abs(V[cand, 0]) < 1e-6]
    out.append(_nearest(V, mid, _surface_target(0.0, p.z_me, p)))
    out += [_mirror(V, skin, v) for v in out[7::-1]]
    return out


def contour_slices(V: np.ndarray, skin: np.ndarray, jaw: np.ndarray, p: HeadParams) -> list[np.ndarray]:
    """For each jaw-contour landmark (iBUG 0-16), the head's skin vertices it may slide over when
    the face turns (`pain3d.contour`): those in its direction of the frontal outline (within 4
    degrees) from half its distance outwards round the side of the face, in front of the ear (below
    the lobe, to 8 mm behind the tragus plane), and the landmark itself."""
    zc = outline_centre_z(p)
    ear_centre, _axes = ear_frame(p, 1.0)
    back = np.where(V[skin, 2] > ear_centre[2] - 0.03, ear_centre[1] - 0.012, 0.008)
    sel = (V[skin, 1] < back) & (V[skin, 2] < zc + 0.004) & (V[skin, 2] > p.z_me - 0.002)  # not the neck
    cand = skin[sel]
    ang, rad = _outline_angles(V, cand, p)
    slices = []
    for k, v in enumerate(jaw):
        g = np.pi * k / 16
        _, reach = _outline_angles(V, np.array([v]), p)
        near = (np.abs(np.angle(np.exp(1j * (ang - g)))) < np.radians(4.0)) & (rad > 0.5 * reach[0])
        slices.append(np.union1d(cand[near], [v]).astype(np.int64))
    return slices


def _mirror(V: np.ndarray, cand: np.ndarray, v: int) -> int:
    target = V[v] * np.array([-1.0, 1.0, 1.0])
    return _nearest(V, cand, target)


BROW_PEAK = 0.6  # where along the brow (0 head .. 1 tail) the arch peaks: above the lateral limbus
BROW_TAIL = 0.35  # the tail's height over the head, as a share of the peak's


def brow_arch_profile(t: float) -> float:
    """Height of the brow's upper edge over its head, as a share of its arch (0 head .. 1 tail):
    it rises to the peak above the lateral limbus and falls to a tail BROW_TAIL of the peak's
    height above the head (Westmore 1974, Ellenbogen 1983: a woman's head and tail near one
    level). A tail left at the peak's height reads as a straight, rising line."""
    if t <= BROW_PEAK:
        return float(np.sin(0.5 * np.pi * t / BROW_PEAK))
    return float(1.0 - (1.0 - BROW_TAIL) * ((t - BROW_PEAK) / (1.0 - BROW_PEAK)) ** 2)


def compute_landmark_ids(topo: HeadTopology, V: np.ndarray, p: HeadParams
                         ) -> tuple[np.ndarray, dict[str, int], list[np.ndarray]]:
    """(68,) iBUG vertex ids, a dict of named extra landmark ids, and the jaw contour's slices
    (`contour_slices`)."""
    on_head = topo.vertex_part == PART_ID["skin"]
    on_head[topo.body_rows.ravel()] = False  # every landmark is on the head, none on the neck or bust
    skin = np.nonzero(on_head)[0]
    front = skin[V[skin, 1] < -0.03]
    lm: list[int] = _jaw_ids(V, skin, p)
    brow_r = []
    for x in np.linspace(-0.055, -0.013, 5):
        t = (abs(x) - 0.013) / 0.042
        z = p.z_brow + 0.0005 + p.brow_arch * brow_arch_profile(t)
        z -= p.brow_tail_drop * smoothstep(0.022, 0.050, abs(x))  # the tail falls with age, as the skin does
        brow_r.append(_nearest_in_front_view(V, front, x, z))  # in 3-D the brow ridge's crest is nearest
    lm += brow_r + [_mirror(V, front, v) for v in brow_r[::-1]]
    zs = np.linspace(p.z_nasion, p.z_tip, 4)
    mid = front[np.abs(V[front, 0]) < 0.0025]
    for z in zs[:3]:
        lm.append(_nearest(V, mid, _surface_target(0.0, z, p)))
    nose_zone = mid[(V[mid, 2] < p.z_nasion - 0.02) & (V[mid, 2] > p.z_sn)]
    lm.append(int(nose_zone[np.argmin(V[nose_zone, 1])]))
    nw = p.nose_half_width
    for x, dz in ((-nw + 0.003, 0.0025), (-0.5 * nw, 0.0008), (0.0, 0.0), (0.5 * nw, 0.0008), (nw - 0.003, 0.0025)):
        lm.append(_nearest(V, front, _surface_target(x, p.z_sn + dz, p)))
    lm += _eye_ids(V, topo.eye_patches["R"], "R")
    lm += _eye_ids(V, topo.eye_patches["L"], "L")
    lm += _mouth_ids(V, topo.mouth_patch, topo.mouth_lip_rings, p)
    ids68 = np.array(lm, dtype=np.int64)

    extras: dict[str, int] = {
        "nasion": int(ids68[27]), "nose_tip": int(ids68[30]), "subnasale": int(ids68[33]),
        "exocanthion_R": int(ids68[36]), "endocanthion_R": int(ids68[39]),
        "endocanthion_L": int(ids68[42]), "exocanthion_L": int(ids68[45]),
        "cheilion_R": int(ids68[48]), "cheilion_L": int(ids68[54]),
        "labrale_superius": int(ids68[51]), "labrale_inferius": int(ids68[57]),
        "menton": int(ids68[8]),
    }
    mp = topo.mouth_patch
    extras["stomion"] = _loop_pick(V, mp.rings[0], mp.psi, True, 0.0)
    extras["glabella"] = _nearest(V, mid, _surface_target(0.0, p.z_brow, p))
    chin = mid[(V[mid, 2] < p.z_sto - 0.015)]
    extras["pogonion"] = int(chin[np.argmin(V[chin, 1])])
    extras["gnathion"] = _nearest(V, mid, V[extras["pogonion"]] + np.array([0.0, 0.006, -0.010]))
    extras["vertex"] = int(skin[np.argmax(V[skin, 2])])
    for side in ("R", "L"):
        ids = topo.eyeball_ids[side]
        extras[f"pupil_{side}"] = int(ids[0])
        sx = -1.0 if side == "R" else 1.0
        ear = skin[(np.sign(V[skin, 0]) == sx) & (np.abs(V[skin, 0]) > 0.055)]
        c, axes = ear_frame(p, sx)
        tragus = c + axes[0] * 0.004 - axes[2] * 0.0175 * p.ear_scale * 0.8
        extras[f"tragus_{side}"] = _nearest(V, ear, tragus)
        extras[f"ear_top_{side}"] = int(ear[np.argmax(V[ear, 2] - 5.0 * np.abs(V[ear, 1] - c[1]))])
    return ids68, extras, contour_slices(V, skin, ids68[:17], p)

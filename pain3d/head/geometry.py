"""Vertex positions of one identity on the fixed topology (pure numpy).

Skin vertices are ray-cast onto the implicit surface of
:mod:`pain3d.head.surface`; the inner eye loops (lid margin and the fold
under the lids), the lip contact line, the mouth cavity, the eyeballs and the
teeth are placed explicitly from the same :class:`HeadParams`, so openings
and inner parts stay consistent for every identity.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .bust import place_columns
from .params import HeadParams
from .surface import (CANTHUS_ANGLES, RAY_CENTRE, cast_rays, eyelid_axes, face_depth,
                      lower_vermilion_height, pchip, smoothstep, upper_vermilion_height)
from .topology import IRIS_ANGLE, HeadTopology, RingPatch, angles_from_points, dirs_from_angles


# ----------------------------------------------------------------------------
# eye opening


def eye_centre(p: HeadParams, side: str) -> np.ndarray:
    """Eyeball centre; ``side`` is the subject's side ("R" = -X, "L" = +X)."""
    sx = -1.0 if side == "R" else 1.0
    return np.array([sx * p.eye_x, p.eye_y, p.eye_z])


def _lid_angles(psi: np.ndarray, p: HeadParams, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) on the lid-margin ellipsoid for loop angle ``psi``.

    alpha is the horizontal angle toward +X, beta the elevation.  The upper
    lid peaks slightly medially, the lower lid dips slightly laterally and
    the canthal tilt raises the lateral canthus.
    """
    med = 1.0 if side == "R" else -1.0        # +X is medial for the right eye
    s = np.cos(psi)
    up = np.sin(psi) > 0
    sm = s * med
    corner = -1.1 * p.eye_tilt * sm
    es = p.eye_scale
    q = np.clip(1.0 - s * s, 0.0, 1.0)
    b_up = upper_lid_peak(p) * q ** 0.55 * (1.0 + 0.15 * sm) + corner
    b_lo = -0.45 * es * q ** 0.60 * (1.0 - 0.12 * sm) + corner
    alpha = np.where(sm > 0, CANTHUS_ANGLES[0], CANTHUS_ANGLES[1]) * s
    return alpha, np.where(up, b_up, b_lo)


def upper_lid_peak(p: HeadParams) -> float:
    """Elevation on the lid-margin ellipsoid of the upper lid's highest point at rest: it covers the
    top `iris_cover` of the iris (less in larger eyes), as a relaxed upper lid does."""
    iris_top = p.eye_r * np.sin(IRIS_ANGLE)
    cover = p.iris_cover - 0.0025 * (p.eye_scale - 1.0)
    return float(np.arcsin((iris_top - cover) / eyelid_axes(p)[2]))


def _ellip_dir(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    cb = np.cos(beta)
    return np.stack([np.sin(alpha) * cb, -np.cos(alpha) * cb, np.sin(beta)], axis=-1)


def eye_loops(p: HeadParams, side: str, psi: np.ndarray) -> np.ndarray:
    """3-D positions (3, M, 3) of the tucked loop, margin back and margin front."""
    e = eye_centre(p, side)
    al, be = _lid_angles(psi, p, side)
    r_in = p.eye_r + 0.0004
    tuck = e + r_in * _ellip_dir(0.90 * al, be + 0.26 * np.sin(psi))
    back = e + r_in * _ellip_dir(0.97 * al, 0.97 * be)
    ax = eyelid_axes(p)
    medial = al * (1.0 if side == "R" else -1.0) > 0
    semi = np.column_stack([np.where(medial, ax[3], ax[0]), np.full_like(al, ax[1]), np.full_like(al, ax[2])])
    front = e + semi * _ellip_dir(al, be)
    return np.stack([tuck, back, front])


# ----------------------------------------------------------------------------
# mouth opening


def mouth_contact(p: HeadParams, psi: np.ndarray) -> np.ndarray:
    """Lip contact line (stomion loop): a very flat loop where the lips meet."""
    x = 0.985 * p.mouth_w * np.cos(psi)
    z = p.z_sto + 0.00025 * np.sin(psi) + 0.0006 * (np.cos(psi) ** 2)
    y = -face_depth(x, np.full_like(x, p.z_sto), p) + 0.0004
    return np.column_stack([x, y, z])


def vermilion_border(p: HeadParams, psi: np.ndarray) -> np.ndarray:
    """Outer lip contour (vermilion border) on the face surface."""
    c, s = np.cos(psi), np.sin(psi)
    x = (p.mouth_w + 0.0010) * c
    hu = upper_vermilion_height(x, p)
    hl = lower_vermilion_height(x, p)
    z = p.z_sto + 0.0006 * c * c + np.abs(s) ** 0.6 * np.where(s > 0, hu, -hl)
    y = -face_depth(x, z, p)
    return np.column_stack([x, y, z])


# (dy behind the contact line, half width / mouth_w, half height) of each pocket loop: the first two
# behind each point of the line, the deep two behind its middle. The first hugs the contact line
# (0.5 mm up and down): the subdivided contact line would open toward a looser one
_CAVITY = np.array([[0.0035, 0.93, 0.0005], [0.0060, 1.16, 0.0130],
                    [0.0220, 1.36, 0.0200], [0.0460, 1.32, 0.0170]])


def mouth_cavity_loops(p: HeadParams, psi: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Four loops (4, M, 3) of the mouth pocket behind the lips.

    The lips curve back to their corners over the dental arch, so the first two loops follow the
    contact line round at their depth behind it: a plane would double back in front of the mouth
    corners, and a loop pressed close behind the lips turns over when the jaw opens.
    """
    y0 = contact[np.argmax(np.sin(psi)), 1]
    c, s = np.cos(psi), np.sin(psi)
    cs = np.sign(c) * np.abs(c) ** (2 / 3)
    ss = np.sign(s) * np.abs(s) ** (2 / 3)
    out = []
    for k, (dy, wx, hz) in enumerate(_CAVITY):
        x = wx * p.mouth_w * cs
        y = contact[:, 1] + dy if k < 2 else np.full_like(x, y0 + dy)
        z = p.z_sto + hz * ss
        if k >= 2:
            z = np.where(s < 0.0, _on_tongue(p, x, z, k - 2), z)
        out.append(np.column_stack([x, y, z]))
    return np.stack(out)


# The tongue's dorsum in the two deep pocket loops (behind the lower incisors, then past the molars):
# (height below the lower incisal edges, half width / mouth_w of its crown); it rises toward the back
# and widens past the dental arch. Its top stays TONGUE_LOW under the stomion at least, where the
# jaw carries the lining whole (rig.jaw_weights).
_TONGUE = ((0.0015, 0.36), (-0.001, 0.70))
TONGUE_LOW = 0.004


def _on_tongue(p: HeadParams, x: np.ndarray, z: np.ndarray, k: int) -> np.ndarray:
    """The floor of the pocket raised into the tongue: a crown 4 mm higher at the midline than at its
    edges, fading into the floor over 6 mm beside it (clear of the lower teeth)."""
    below, half = _TONGUE[k]
    top = min(p.z_sto - p.incisor_display - TEETH_GAP - below, p.z_sto - TONGUE_LOW)
    hw = half * p.mouth_w
    crown = top - 0.004 * np.clip(np.abs(x) / hw, 0.0, 1.0) ** 2
    share = smoothstep(hw + 0.002, hw - 0.004, np.abs(x))
    return z + share * np.maximum(crown - z, 0.0)


def _coons_grid(loop: np.ndarray, loop_ij: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Coons interpolation of a block-shaped loop into a full (a+1, b+1, 3) grid."""
    a, b = shape[0] - 1, shape[1] - 1
    g = np.zeros(shape + (3,))
    g[loop_ij[:, 0], loop_ij[:, 1]] = loop
    s = np.linspace(0, 1, a + 1)[:, None, None]
    t = np.linspace(0, 1, b + 1)[None, :, None]
    bot, top = g[:, 0][:, None], g[:, b][:, None]
    left, right = g[0, :][None], g[a, :][None]
    c = ((1 - s) * (1 - t) * g[0, 0] + s * (1 - t) * g[a, 0] + (1 - s) * t * g[0, b] + s * t * g[a, b])
    return (1 - t) * bot + t * top + (1 - s) * left + s * right - c


# ----------------------------------------------------------------------------
# eyeballs and teeth


def eyeball_positions(p: HeadParams, unit: np.ndarray, side: str) -> np.ndarray:
    """Eyeball sphere (gaze straight ahead) with a slight corneal bulge."""
    front = -unit[:, 1]
    bulge = 1.0 + 0.06 * np.clip((front - 0.86) / 0.14, 0.0, 1.0) ** 1.5
    return eye_centre(p, side) + p.eye_r * unit * bulge[:, None]


TEETH_GAP = 0.0012  # metres between the upper and lower incisal edges at rest


def teeth_positions(p: HeadParams, recipe: np.ndarray, upper: bool, y_front: float) -> np.ndarray:
    """Tooth arch strip: (n*4, 3), cross-section (outer-edge, outer-root, inner-root, inner-edge)."""
    s, boundary = recipe[:, 0], recipe[:, 1] > 0.5
    ang = 1.30 * s
    width = p.mouth_w * (0.92 if upper else 0.86)
    depth = 0.030 if upper else 0.028
    x = width * np.sin(ang) / np.sin(1.30)
    y = y_front + (0.0 if upper else 0.0016) + depth * (1 - np.cos(ang)) / (1 - np.cos(1.30))
    tx, ty = np.gradient(x), np.gradient(y)
    nrm = np.column_stack([ty, -tx])
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    nrm *= -np.sign(nrm[len(nrm) // 2, 1])          # outward = toward -Y at the front
    a = np.abs(s)
    thick = 0.0055 + 0.0035 * a
    height = (0.0100 if upper else 0.0085) - 0.0035 * a  # lower crowns are shorter (and fit the pocket)
    edge_gap = 0.5 * TEETH_GAP + 0.0022 * a ** 2  # from the plane between the arches; the back teeth part more
    notch = np.where(boundary, 0.0009, 0.0)
    sign = 1.0 if upper else -1.0
    # the upper incisal edges show `incisor_display` below the stomion (behind the lower lip while
    # the lips meet); the lower ones sit TEETH_GAP under them, the jaw's rest opening
    z_occlusal = p.z_sto - p.incisor_display - 0.5 * TEETH_GAP
    z_edge = z_occlusal + sign * (edge_gap + notch)
    z_root = z_occlusal + sign * (edge_gap + height)
    base = np.column_stack([x, y])
    outer, inner = base, base - nrm * thick[:, None]
    pts = np.stack([np.column_stack([outer, z_edge]), np.column_stack([outer, z_root]),
                    np.column_stack([inner, z_root]), np.column_stack([inner, z_edge])], axis=1)
    return pts.reshape(-1, 3)


# ----------------------------------------------------------------------------
# residual


def residual_field(pts: np.ndarray, seed: int, amplitude: float = 0.0012) -> np.ndarray:
    """Smooth low-frequency scalar field (sum of random 3-D cosines), seeded."""
    rng = np.random.default_rng(seed)
    n = 10
    k = rng.normal(size=(n, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    k *= rng.uniform(12.0, 45.0, size=(n, 1))          # wavelengths 14-50 cm
    ph = rng.uniform(0, 2 * np.pi, size=n)
    w = rng.normal(size=n) / np.sqrt(n)
    return amplitude * np.cos(pts @ k.T + ph) @ w


# ----------------------------------------------------------------------------
# assembly


def _patch_dirs(ptc: RingPatch, inner_angles: np.ndarray, ring_ts: dict[int, float],
                outer_angles: np.ndarray | None = None, warp=None) -> tuple[np.ndarray, np.ndarray]:
    """Ray directions of lerped patch rings: t in [0,1] inner->(outer|border)."""
    ids, dirs = [], []
    border = ptc.border_angles
    if warp is not None:
        border = np.column_stack([border[:, 0], warp(border[:, 1])])
    for r, t in ring_ts.items():
        if outer_angles is not None and t <= 1.0:
            a = (1 - t) * inner_angles + t * outer_angles
        elif outer_angles is not None:
            a = (2 - t) * outer_angles + (t - 1) * border
        else:
            a = (1 - t) * inner_angles + t * border
        ids.append(ptc.rings[r])
        dirs.append(dirs_from_angles(a[:, 0], a[:, 1]))
    return np.concatenate(ids), np.vstack(dirs)


def _mouth_ring_origins(mp: RingPatch, contact: np.ndarray, verm: np.ndarray,
                        V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frontal ray origins of the lerped mouth loops (x, z lerps of the contours).

    Loops run contact line (t=0) -> vermilion border (t=1) -> block border
    (t=2, grid vertices already placed); origins sit inside the jaw solid.
    """
    border = V[mp.rings[-1]]
    ids, org = [], []
    for r, t in mp.lerp_t.items():
        if t <= 1.0:
            q = (1 - t) * contact + t * verm
        else:
            q = (2 - t) * verm + (t - 1) * border
        ids.append(mp.rings[r])
        org.append(np.column_stack([q[:, 0], np.full(len(q), -0.035), q[:, 2]]))
    return np.concatenate(ids), np.vstack(org)


def _angles(pts: np.ndarray) -> np.ndarray:
    th, ph = angles_from_points(pts)
    return np.column_stack([th, ph])


@lru_cache(maxsize=1)
def template_params() -> HeadParams:
    from .controls import HeadControls
    from .params import derive_params
    return derive_params(HeadControls(), age=30.0, sex=0.5)


def _key_phis(p: HeadParams) -> np.ndarray:
    """Polar ray angles of mid-face landmarks (brow .. menton) of an identity."""
    # the mouth block (stomion -18.5 / +15.5 mm) moves rigidly with the mouth,
    # the nose base row follows the subnasale; nose and chin rows stretch
    zs = np.array([0.02, -0.018, p.z_sn, p.z_sto + 0.015, p.z_sto - 0.017, p.z_me])
    d = face_depth(np.zeros_like(zs), zs, p)
    return angles_from_points(np.column_stack([np.zeros_like(zs), -d, zs]))[1]


def vertical_warp(p: HeadParams):
    """Monotone map of ray polar angles: template feature rows -> identity rows.

    Vertical controls (nose length, face height, chin, age descent) move the
    mouth and chin by centimetres; warping the fixed ray directions makes the
    grid rows, the mouth block and thus the UVs follow the features, so the
    mouth always stays inside its ring patch and textures stay registered.
    """
    src = np.concatenate([[0.0], _key_phis(template_params()), [np.pi]])
    dst = np.concatenate([[0.0], _key_phis(p), [np.pi]])
    return lambda phi: pchip(phi, src, dst)


def _warp_dirs(dirs: np.ndarray, warp) -> np.ndarray:
    th, ph = angles_from_points(RAY_CENTRE + dirs)
    return dirs_from_angles(th, warp(ph))


def compute_positions(topo: HeadTopology, p: HeadParams, residual_seed: int | None = None,
                      residual_amplitude: float = 0.0012) -> np.ndarray:
    """All vertex positions (V, 3) of identity ``p`` on ``topo``."""
    V = np.zeros((topo.n_verts, 3))
    warp = vertical_warp(p)
    ray_ids = [topo.ray_fixed_ids]
    ray_dirs = [_warp_dirs(topo.ray_fixed_dirs, warp)]
    # eyes
    for side, ptc in topo.eye_patches.items():
        loops = eye_loops(p, side, ptc.psi)
        for r in range(3):
            V[ptc.rings[r]] = loops[r]
        i, d = _patch_dirs(ptc, _angles(loops[2]), ptc.lerp_t, warp=warp)
        ray_ids.append(i)
        ray_dirs.append(d)
    # pass 1: everything seen from the ray centre
    ids = np.concatenate(ray_ids)
    dirs = np.vstack(ray_dirs)
    V[ids] = RAY_CENTRE + dirs * cast_rays(dirs, p)[:, None]
    dirs = _lower_brow_tails(V, ids, dirs, p)
    # pass 2: mouth loops, cast frontally (toward -Y).  Seen from the ray
    # centre (above the mouth) a pouting lower lip would hide the underside
    # of the upper lip; the lips are a height field in the frontal direction.
    mp = topo.mouth_patch
    contact = mouth_contact(p, mp.psi)
    V[mp.rings[0]] = contact
    m_ids, m_org = _mouth_ring_origins(mp, contact, vermilion_border(p, mp.psi), V)
    m_dirs = np.tile([0.0, -1.0, 0.0], (len(m_ids), 1))
    V[m_ids] = m_org + m_dirs * cast_rays(m_dirs, p, origins=m_org, r_lo=0.0, r_hi=0.095)[:, None]
    ids = np.concatenate([ids, m_ids])
    dirs = np.vstack([dirs, m_dirs])
    if residual_seed is not None and residual_amplitude > 0:
        pts = V[ids]
        protect = _protect_weight(pts, p)
        V[ids] = pts + dirs * (residual_field(pts, residual_seed, residual_amplitude) * protect)[:, None]
    # neck and bust: columns down from the last ray-cast row
    V[topo.body_rows] = place_columns(V[topo.grid_ids[topo.attach_row - 1]], topo.body_fractions, p.bust)
    # cavity + back wall
    cav = mouth_cavity_loops(p, mp.psi, contact)
    for k in range(cav.shape[0]):
        V[topo.cavity_rings[k]] = cav[k]
    a1, b1 = topo.cavity_cap.shape
    loop_local = mp.loop_ij - np.array([mp.block[0], mp.block[2]])
    grid = _coons_grid(cav[-1], loop_local, (a1, b1))
    s = np.linspace(-1, 1, a1)[:, None]
    t = np.linspace(-1, 1, b1)[None, :]
    grid[..., 1] += 0.006 * (1 - s * s) * (1 - t * t)
    V[topo.cavity_cap] = grid
    # eyeballs and teeth
    for side in ("R", "L"):
        V[topo.eyeball_ids[side]] = eyeball_positions(p, topo.eyeball_unit, side)
    y_teeth = contact[np.argmax(np.sin(mp.psi)), 1] + 0.0068
    V[topo.teeth_ids["teeth_upper"]] = teeth_positions(p, topo.teeth_recipe["teeth_upper"], True, y_teeth)
    V[topo.teeth_ids["teeth_lower"]] = teeth_positions(p, topo.teeth_recipe["teeth_lower"], False, y_teeth)
    return V


def brow_tail_weight(pts: np.ndarray, p: HeadParams) -> np.ndarray:
    """How much of the brow's ptosis each skin point takes: all of it over the lateral brow, none at
    the brow's head, the lid margins (their loops are placed, not cast), the forehead or the temple."""
    x, y, z = np.abs(pts[:, 0]), pts[:, 1], pts[:, 2]
    across = smoothstep(0.022, 0.050, x) * (1.0 - smoothstep(0.062, 0.076, x))
    down = smoothstep(p.eye_z + 0.006, p.eye_z + 0.016, z) * (1.0 - smoothstep(p.z_brow + 0.012, p.z_brow + 0.030, z))
    return across * down * smoothstep(-0.03, -0.05, y)


def _lower_brow_tails(V: np.ndarray, ids: np.ndarray, dirs: np.ndarray, p: HeadParams) -> np.ndarray:
    """Slide the lateral brow's skin down over the bone by `brow_tail_drop` (the brow's tail falls
    with age, its head stays): each point is re-cast through the point below it, so it stays on the
    skin; the fades are long enough that rows never cross. Returns the new ray directions."""
    if p.brow_tail_drop <= 0.0:
        return dirs
    pts = V[ids]
    w = brow_tail_weight(pts, p)
    moved = w > 1e-4
    if not moved.any():
        return dirs
    target = pts[moved] - np.array([0.0, 0.0, p.brow_tail_drop]) * w[moved, None]
    new = target - RAY_CENTRE
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    dirs = dirs.copy()
    dirs[moved] = new
    V[ids[moved]] = RAY_CENTRE + new * cast_rays(new, p)[:, None]
    return dirs


def _protect_weight(pts: np.ndarray, p: HeadParams) -> np.ndarray:
    """0 near the eye and mouth openings, 1 elsewhere (residual attenuation)."""
    w = np.ones(len(pts))
    for side in ("R", "L"):
        d = np.linalg.norm(pts - eye_centre(p, side), axis=1)
        w *= np.clip((d - 0.020) / 0.012, 0.0, 1.0)
    dm = np.hypot((pts[:, 0]) / 1.3, pts[:, 2] - p.z_sto)
    w *= np.clip((dm - p.mouth_w - 0.004) / 0.012, 0.0, 1.0)
    return w

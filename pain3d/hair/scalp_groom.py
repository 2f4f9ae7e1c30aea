"""Scalp hair of one head (pure numpy): roots where the scalp grows hair, grown in the style's
flow, cut, curled, clumped and frizzed (docs/hair.md)."""

from __future__ import annotations

import numpy as np

from ..head.mesh import HeadMesh
from .library import ScalpStyle, styles
from .scalp import CENTRE, Scalp, angles, crown_point
from .strands import (DOWN, SKIN_MARGIN, StrandSet, clump, coil, cut_below, finish, frizz, grow, tangent,
                      taper, _unit)
from .surface import HeadVolume, Roots, SkinSurface

X, Y, Z = np.eye(3)
SCALP_MARGIN = 0.0025  # off the field: the mesh's flat faces sit up to ~2 mm outside it in places
MAX_SEGMENT = 0.025  # metres: longer steps could jump through the head
SHOULDER_Z = -0.25  # where shoulder-length hair ends, below the pupils (shoulders come with the body)
FLOOR_Z = -0.30  # every strand ends here: below, the body hides it and no camera frames it
GATHER = {"ponytail": (180.0, 12.0), "bun": (180.0, 48.0)}  # (theta, psi) degrees of the gather point
VOLUME_MM = {"part": 5.0, "back": 3.0, "crown": 4.0, "forward": 3.0, "gather": 2.5, "rows": 0.5, "out": 0.0}


def grow_scalp(head: HeadMesh, record: dict, surface: SkinSurface, volume: HeadVolume,
               rng: np.random.Generator, detail: float = 1.0) -> StrandSet:
    """The scalp's strands; `detail` < 1 grows that share of them, each wider by 1/detail
    and long ones with fewer points, covering the scalp the same at lower cost (small renders)."""
    style = styles().scalp[record["style"]]
    scalp = Scalp(head, record, int(record["seed"]))
    detail = 1.0 if style.rope_mm else detail  # ropes are few already
    roots = _roots(scalp, surface, style, rng, detail)
    points = max(4, int(round(style.points * min(1.0, 0.5 + 0.5 * detail))))
    points = min(64, max(points, int(np.ceil(record["length_cm"] / 100.0 / MAX_SEGMENT)) + 1))
    n = len(roots)
    if n == 0:
        return StrandSet.empty("scalp")
    length = record["length_cm"] / 100.0 * rng.uniform(0.88, 1.08, n) * _taper(style, roots)
    flow = _flow(style, roots, record, head)
    lift = np.full(n, style.lift)
    fringe = (rng.random(n) < style.fringe) & (scalp.front_band(roots.position) > 0)
    if fringe.any():  # combed forward over the forehead, cut at the brows
        flow[fringe] = tangent(np.tile(-Y - 0.8 * Z, (int(fringe.sum()), 1)), roots.normal[fringe])
        lift[fringe] = 0.25
        length[fringe] = np.maximum(length[fringe], 0.09)
    rope = style.rope_mm / 1000.0
    layer = rng.random(n) * VOLUME_MM[style.flow] / 1000.0 + rope
    steer = _steer(style, roots, head, volume, rng) if style.flow in ("gather", "rows") else None
    off_face = _face_window(head, ~fringe)
    pts = grow(volume, roots, flow, lift, length, points, style.gravity, layer, steer, off_face)
    pts = _cut(pts, style, head, fringe)
    phase = rng.uniform(0, 2 * np.pi, n)
    pts, owner = clump(pts, 0.0, style.clump_size, rng)  # clump membership first: curls turn together
    phase = phase[owner]
    if style.curl_mm[0]:
        pts = coil(pts, roots.normal, style.curl_mm[0] / 1000.0 * rng.uniform(0.8, 1.2, n),
                   style.curl_mm[1] / 1000.0, phase)
    if style.wave_mm[0]:
        pts = coil(pts, roots.normal, style.wave_mm[0] / 1000.0, style.wave_mm[1] / 1000.0, phase, helix=False)
    pts, _ = clump(pts, style.clump, style.clump_size, np.random.default_rng(int(rng.integers(2**32))))
    pts = frizz(pts, style.frizz_mm / 1000.0, rng)
    clearance = np.clip(0.3 * length, SKIN_MARGIN, SCALP_MARGIN)  # short hair stays short
    pts = finish(volume, pts, clearance + rope,
                 lambda s: off_face(s.reshape(-1, 3), repeat=s.shape[1]).reshape(s.shape))
    radius = taper(n, points, style.width_um * 1e-6 / detail, 0.7 if rope else 0.3)
    grey = (rng.random(n) < record["grey"]).astype(np.float32)
    return StrandSet("scalp", pts.astype(np.float32), radius, roots, grey)


def _face_window(head: HeadMesh, applies: np.ndarray):
    """Hair falls beside the face, not over it: points in front of the face, from the forehead
    to below the chin, are moved out sideways (fringe strands are exempt)."""
    p = head.params
    knots_z = [p.z_me - 0.02, p.z_sto, 0.0, p.z_brow + 0.012, p.z_brow + 0.045]
    knots_w = [0.035, p.mouth_w + 0.026, p.zygion - 0.002, p.zygion - 0.012, p.zygion - 0.02]

    def keep_out(points: np.ndarray, repeat: int = 1) -> np.ndarray:
        z = points[:, 2]
        half = np.interp(z, knots_z, knots_w)
        inside = np.repeat(applies, repeat) & (np.abs(points[:, 0]) < half) & (points[:, 1] < -0.02) & (z < knots_z[-1]) \
            & (z > knots_z[0] - 0.03)
        if inside.any():
            points = points.copy()
            points[inside, 0] = np.where(points[inside, 0] >= 0, 1.0, -1.0) * half[inside]
        return points
    return keep_out


def _roots(scalp: Scalp, surface: SkinSurface, style: ScalpStyle, rng: np.random.Generator,
           detail: float) -> Roots:
    """Roots spread by area over where the scalp grows hair (soft hairline, pattern loss)."""
    head = surface.head
    vertex_density = scalp.density(head.vertices)
    tri_max = vertex_density[surface.vertex_ids].max(1)
    natural = scalp.growth(surface.centroid)
    full = (surface.area * natural).sum()
    if full <= 0 or tri_max.max() <= 0:
        return surface.sample(np.zeros_like(tri_max), 0, rng)
    kept = (surface.area * scalp.density(surface.centroid)).sum()
    target = int(round(style.strands * detail * scalp.density_scale * kept / full))
    accept = kept / max((surface.area * tri_max).sum(), 1e-12)
    draws = surface.sample(tri_max, int(target / max(accept, 0.05) * 1.15) + 16, rng)
    keep = rng.random(len(draws)) * tri_max[draws.triangle] < scalp.density(draws.position)
    return draws.take(np.flatnonzero(keep)[:target])


def _taper(style: ScalpStyle, roots: Roots) -> np.ndarray:
    """Length factor: the sides and back `taper` shorter than the top."""
    if not style.taper:
        return np.ones(len(roots))
    _, psi = angles(roots.position)
    top = np.clip((np.degrees(psi) - 20.0) / 30.0, 0.0, 1.0)
    return 1.0 - style.taper * (1.0 - top)


def _flow(style: ScalpStyle, roots: Roots, record: dict, head: HeadMesh) -> np.ndarray:
    """The direction each strand is combed in, in the skin's tangent plane."""
    p, nrm = roots.position, roots.normal
    n = len(p)
    theta, psi = angles(p)
    back_side = (np.abs(theta) > 1.9)[:, None]
    if style.flow == "out":
        return nrm.copy()
    if style.flow == "back":
        want = np.tile(Y - 0.3 * Z, (n, 1))
    elif style.flow == "forward":
        want = np.where(np.degrees(psi)[:, None] > 30.0, -Y + 0.3 * Z, np.tile(DOWN + 0.3 * Y, (n, 1)))
    elif style.flow == "crown":
        want = p - crown_point()
        want = want + 0.25 * np.cross(Z, want)  # a whorl turns
    elif style.flow == "part":
        part_x = record["part_side"] * style.part_mm / 1000.0
        side = np.where(p[:, 0] >= part_x, 1.0, -1.0)[:, None]
        top = (np.degrees(psi) > 38.0)[:, None]
        want = np.where(top, side * X + 0.35 * Y, DOWN + 0.6 * Y)  # off the part on top, down and back below
        want = np.where(back_side, np.tile(DOWN, (n, 1)), want)
    elif style.flow in ("gather", "rows"):
        want = np.tile(Y, (n, 1)) if style.flow == "rows" else _gather_point(style, head) - p
    else:
        raise ValueError(style.flow)
    return tangent(want, nrm)


def _gather_point(style: ScalpStyle, head: HeadMesh) -> np.ndarray:
    theta, psi = np.radians(GATHER[style.gather])
    direction = np.array([np.cos(psi) * np.sin(theta), -np.cos(psi) * np.cos(theta), np.sin(psi)])
    r = _surface_radius(head, direction)
    return CENTRE + direction * (r + 0.006)


def _surface_radius(head: HeadMesh, direction: np.ndarray) -> float:
    """Distance from CENTRE to the skin along a direction (the skin vertex best aligned with it)."""
    d = head.vertices - CENTRE
    r = np.linalg.norm(d, axis=1)
    skin = head.vertex_part == 0
    cos = (d @ direction) / np.maximum(r, 1e-9)
    best = np.argmax(np.where(skin, cos, -2.0))
    return float(r[best])


def _steer(style: ScalpStyle, roots: Roots, head: HeadMesh, volume: HeadVolume, rng: np.random.Generator):
    """Step-by-step directions of gathered styles: to the gather point, then a tail (ponytail),
    a coil around it (bun); or cornrows: back along rows, then hanging."""
    n = len(roots)
    volume_normal = volume.gradient
    if style.flow == "rows":
        spacing = style.row_mm / 1000.0
        row_x = np.round(roots.position[:, 0] / spacing) * spacing

        def rows(k, p, d):  # braided tight along the scalp, front to back; hanging below the nape
            pull = np.zeros_like(p)
            pull[:, 0] = np.clip((row_x - p[:, 0]) / 0.004, -1.0, 1.0)
            along = tangent(np.tile(Y, (len(p), 1)) + 0.5 * pull, volume_normal(p))
            hanging = (p[:, 1] > 0.02) & (p[:, 2] < head.landmarks["tragus_L"][2] - 0.02)
            return np.where(hanging[:, None], _unit(DOWN + 0.2 * Y), along)
        return rows

    target = _gather_point(style, head)
    normal = _unit(target - CENTRE)
    e1 = _unit(np.cross(normal, Z)) if abs(normal[2]) < 0.95 else X
    e2 = np.cross(normal, e1)
    spread = rng.normal(size=(n, 3)) * 0.12
    bun_r = rng.uniform(0.012, 0.028, n)
    bun_h = rng.uniform(0.0, 0.02, n)
    state = {"gathered": np.zeros(n, bool), "angle": rng.uniform(0, 2 * np.pi, n)}

    def gather(k, p, d):
        to = target - p
        dist = np.linalg.norm(to, axis=1)
        state["gathered"] |= dist < 0.012
        g = state["gathered"]
        out = _unit(0.3 * d + _unit(to))  # follow the scalp toward the gather point
        if style.gather == "ponytail":
            out[g] = _unit(DOWN + 0.25 * normal + spread[g])
        else:  # bun: wind around the gather point's axis
            state["angle"][g] += 0.9
            a = state["angle"][g][:, None]
            ring = target + normal * bun_h[g][:, None] + bun_r[g][:, None] * (np.cos(a) * e1 + np.sin(a) * e2)
            out[g] = _unit(ring - p[g])
        return out
    return gather


def _cut(pts: np.ndarray, style: ScalpStyle, head: HeadMesh, fringe: np.ndarray) -> np.ndarray:
    p = head.params
    level = {"": FLOOR_Z, "brow": p.z_brow - 0.002, "jaw": p.z_me + 0.012, "chin": p.z_me,
             "shoulder": SHOULDER_Z}[style.cut_z]
    z_cut = np.full(len(pts), level)
    z_cut[fringe] = p.z_brow - 0.006  # bangs to the brows: over them, above the lashes
    return cut_below(pts, z_cut)

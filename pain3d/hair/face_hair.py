"""Eyebrows, eyelashes and beards of one head (pure numpy), rooted on the skin where they grow
on a real face and lying the way they grow (docs/hair.md)."""

from __future__ import annotations

import numpy as np

from ..head.landmarks import brow_arch_profile
from ..head.mesh import HeadMesh
from ..head.geometry import template_params
from .library import NO_BEARD, styles
from .priors import between
from .strands import DOWN, SKIN_MARGIN, StrandSet, coil, finish, grow, tangent, taper, _unit
from .surface import HeadVolume, Roots, SkinSurface

X, Y, Z = np.eye(3)
BROW_POINTS = 5
LASH_POINTS = 5
LASH_CLUMP = 4  # neighbouring upper or lower lashes that meet at their tips
LASH_CLUMP_PULL = 0.45  # how far a lash's tip moves toward its clump's mean tip
LASH_LINE_RINGS = {2: 0.8, 3: 0.7, 4: 0.25}  # the lid margin's front edge, the lash roots' loop, beyond
LASH_LINE_LOWER = 0.35  # the lower lid's line is fainter: fewer, finer lashes
LASH_RING = 3  # the eye patch loop just outside the front edge of the lid margin (docs/head-model.md)


def grow_brows(head: HeadMesh, record: dict, surface: SkinSurface, volume: HeadVolume,
               rng: np.random.Generator) -> StrandSet:
    """Both brows: strands in a band along each brow's landmarks, rising at the head, running
    out along the body and down at the tail; a few long, often grey, hairs with age."""
    lib = styles().brows
    male = head.params.maleness > 0.5
    parts = []
    arch_lift = _own_arch_lift(head.params)
    for brow in (head.landmarks68[21:16:-1], head.landmarks68[22:27]):  # medial end first
        brow = brow + arch_lift[:, None] * Z
        weight, along = _brow_band(surface.centroid, brow, record["brow_height_mm"] / 1000.0,
                                   between(lib["tail_height_mm"][int(male)], 0.5) / 1000.0)
        count = int(lib["strands"][int(male)] * record["brow_density"])
        roots = surface.sample(weight, count, rng)
        t = along(roots.position)
        lateral = np.sign(brow[-1, 0] - brow[0, 0]) * X
        angle = np.radians(np.interp(t, [0.0, 0.25, 0.7, 1.0], [75.0, 35.0, 10.0, -20.0]) + rng.normal(0, 9, len(roots)))
        flow = tangent(np.cos(angle)[:, None] * lateral + np.sin(angle)[:, None] * Z, roots.normal)
        length = record["brow_length_mm"] / 1000.0 * rng.uniform(0.65, 1.1, len(roots)) * (1.0 - 0.35 * t)
        long = rng.random(len(roots)) < record["brow_long_share"]
        length[long] = rng.uniform(*lib["long_hair_mm"], int(long.sum())) / 1000.0
        lift = np.where(long, 0.3, 0.12)
        grey = rng.random(len(roots)) < np.where(long, 0.5 + 0.5 * record["grey"], 0.6 * record["grey"])
        parts.append((roots, flow, lift, length, grey))
    roots, flow, lift, length, grey = _joined(parts)  # both brows in one growth: each step asks the field once
    pts = grow(volume, roots, flow, lift, length, BROW_POINTS, 0.0, np.full(len(roots), 0.0002))
    return _merge("brows", [(roots, pts, grey)], lib["width_um"] * 1e-6, volume)


def _own_arch_lift(p) -> np.ndarray:
    """How far (metres, up) each of a brow's five landmarks, medial end first, lies below the
    identity's own arch: the landmarks are fixed vertices placed on the template's arch, so a
    woman's peak rises about a millimetre above them and a man's lies lower and flatter."""
    t = np.linspace(0.0, 1.0, 5)
    return (p.brow_arch - template_params().brow_arch) * np.array([brow_arch_profile(u) for u in t])


def _brow_band(points: np.ndarray, brow: np.ndarray, head_h: float, tail_h: float):
    """Weight (0..1) of a band along the brow polyline, taller at the medial end, and a function
    giving each point's position along the brow (0 medial .. 1 tail)."""
    seg_len = np.linalg.norm(np.diff(brow, axis=0), axis=1)
    total = seg_len.sum()

    def along_and_gap(p):
        best = np.full(len(p), np.inf)
        t_best = np.zeros(len(p))
        gap = np.zeros(len(p))
        start = 0.0
        for a, b, ln in zip(brow[:-1], brow[1:], seg_len):
            d = b - a
            u = np.clip(((p - a) @ d) / (d @ d), 0.0, 1.0)
            q = a + u[:, None] * d
            dist = np.linalg.norm(p - q, axis=1)
            closer = dist < best
            best[closer] = dist[closer]
            t_best[closer] = (start + u[closer] * ln) / total
            gap[closer] = (p - q)[closer, 2]
            start += ln
        return t_best, gap, best

    reach = 0.5 * max(head_h, tail_h) + 0.004
    lo, hi = brow.min(0) - reach, brow.max(0) + reach

    def weight(p):
        out = np.zeros(len(p))
        close = np.flatnonzero(np.all((p > lo) & (p < hi), axis=1))  # the band lies within reach
        t, gap, dist = along_and_gap(p[close])
        h = head_h + (tail_h - head_h) * t
        centre = -0.25 * h  # the landmarks run along the brow's upper half
        inside = np.clip(1.0 - (np.abs(gap - centre) - 0.5 * h) / 0.0012, 0.0, 1.0)
        near = dist < 0.5 * h + 0.004
        out[close] = inside * near * (1.0 - 0.7 * np.clip((t - 0.85) / 0.15, 0.0, 1.0))
        return out

    return weight(points), lambda p: along_and_gap(p)[0]


def grow_lashes(head: HeadMesh, record: dict, surface: SkinSurface, volume: HeadVolume,
                rng: np.random.Generator) -> StrandSet:
    """Upper and lower lashes along each lid margin: the upper longer and denser, curving up and
    out; the lower shorter, sparser, curving down."""
    lib = styles().lashes
    parts, clumps, next_clump = [], [], 0
    for side, patch in head.topology.eye_patches.items():
        ring = patch.rings[LASH_RING]
        loop = head.vertices[ring]
        near_ring = np.flatnonzero(np.isin(surface.vertex_ids, patch.rings[LASH_RING:LASH_RING + 2]).any(1))
        for upper in (True, False):
            lo, hi = (np.radians(12), np.radians(168)) if upper else (np.radians(196), np.radians(344))
            count = int(rng.integers(*(lib["upper"] if upper else lib["lower"])) * record["lash_density"])
            psi = np.sort(rng.uniform(lo, hi, count))
            points = _along_loop(loop, patch.psi, psi)
            roots = surface.attach(points, near_ring)
            middle = np.sin(np.clip((psi - lo) / (hi - lo), 0, 1) * np.pi)
            length = (record["lash_length_mm"] if upper else between(lib["lower_length_mm"], rng.random()))
            length = length / 1000.0 * (0.55 + 0.45 * middle) * rng.uniform(0.85, 1.1, count)
            vertical = Z if upper else -Z
            out = _unit(np.cos(psi)[:, None] * X * 0.3 + np.tile(-Y + (0.15 if upper else 0.25) * vertical, (count, 1)))
            curl = np.tile((0.6 if upper else 0.1) * vertical, (count, 1))
            clumps.append(next_clump + np.arange(count) // LASH_CLUMP)
            next_clump += -(-count // LASH_CLUMP)
            parts.append((roots, out, length, curl, rng.random(count) < 0.2 * record["grey"]))
    roots, out, length, curl, grey = _joined(parts)  # all four lids in one growth
    pts = grow(volume, roots, out, np.full(len(roots), 0.1), length, LASH_POINTS, 0.0, np.zeros(len(roots)),
               lambda k, p, d: _unit(d + curl * (2.0 * k / LASH_POINTS ** 2)))  # straight base, curled tip
    pts = _clumped(pts, np.concatenate(clumps), LASH_CLUMP_PULL)
    return _merge("lashes", [(roots, pts, grey)], lib["width_um"] * 1e-6, volume, margin=0.0002)


def _clumped(pts: np.ndarray, clump: np.ndarray, pull: float) -> np.ndarray:
    """Strands drawn toward their clump's mean shape, more toward the tip (lashes meet in small
    spikes rather than standing apart like a comb's teeth); the roots stay where they grew."""
    mean = np.zeros((clump.max() + 1,) + pts.shape[1:])
    np.add.at(mean, clump, pts - pts[:, :1])
    mean /= np.bincount(clump)[:, None, None]
    along = (np.linspace(0.0, 1.0, pts.shape[1]) ** 1.5)[None, :, None]
    return pts + pull * along * (mean[clump] - (pts - pts[:, :1]))


def lash_line(head: HeadMesh, record: dict) -> np.ndarray:
    """Per vertex, how far the skin takes the hair's colour along each lid margin (0..1). The roots
    of two or three rows of lashes and the shade they cast darken a band about a millimetre wide,
    the line that frames an eye in a photograph; strands a tenth of a millimetre thick are too
    fine for a 256-512 px render to show it on their own."""
    out = np.zeros(len(head.vertices))
    density = min(1.0, float(record["lash_density"]))
    for patch in head.topology.eye_patches.values():
        up = np.sin(patch.psi)  # lashes stop short of the corners; so does their line
        lid = _away_from_corners(up) + LASH_LINE_LOWER * _away_from_corners(-up)
        for k, share in LASH_LINE_RINGS.items():
            out[patch.rings[k]] = np.maximum(out[patch.rings[k]], share * density * lid)
    return out


def _away_from_corners(up: np.ndarray) -> np.ndarray:
    """0 at and near the eye's corners, rising to 1 over the lid (`up`: sine of the loop angle)."""
    return np.clip((up - 0.2) / 0.3, 0.0, 1.0) ** 0.5


def _along_loop(loop: np.ndarray, loop_psi: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Points on a closed vertex loop at the given angles (linear between loop vertices)."""
    order = np.argsort(loop_psi % (2 * np.pi))
    a = loop_psi[order] % (2 * np.pi)
    pts = loop[order]
    a = np.concatenate([a[-1:] - 2 * np.pi, a, a[:1] + 2 * np.pi])
    pts = np.concatenate([pts[-1:], pts, pts[:1]])
    return np.stack([np.interp(psi % (2 * np.pi), a, pts[:, i]) for i in range(3)], axis=1)


def grow_beard(head: HeadMesh, record: dict, surface: SkinSurface, volume: HeadVolume,
               rng: np.random.Generator) -> StrandSet:
    """Facial hair in the style's zone, growing down and out along the skin."""
    if record["beard"] == NO_BEARD:
        return StrandSet.empty("beard")
    style = styles().beards[record["beard"]]
    zone = beard_zone(head, surface.centroid, style.zone)
    full = beard_zone(head, surface.centroid, "full")
    share = (surface.area * zone).sum() / max((surface.area * full).sum(), 1e-12)
    count = int(style.strands * record["beard_density"] * max(share, 0.05) ** 0.5)
    draws = surface.sample(zone, int(count * 1.3) + 8, rng)  # triangles at the zone's edge: keep roots inside
    roots = draws.take(np.flatnonzero(beard_zone(head, draws.position, style.zone) > 0)[:count])
    n = len(roots)
    p = roots.position
    outward = (np.sign(p[:, 0]) * np.clip(np.abs(p[:, 0]) / 0.03, 0.0, 1.0))[:, None] * X
    flow = tangent(DOWN + 0.4 * outward + 0.2 * -Y, roots.normal)
    length = record["beard_length_mm"] / 1000.0 * rng.uniform(0.7, 1.15, n)
    pts = grow(volume, roots, flow, np.full(n, style.lift), length, style.points, 0.05,
               rng.random(n) * min(0.004, 0.15 * record["beard_length_mm"] / 1000.0))
    if style.curl_mm[0]:
        pts = coil(pts, roots.normal, style.curl_mm[0] / 1000.0, style.curl_mm[1] / 1000.0,
                   rng.uniform(0, 2 * np.pi, n))
    grey = rng.random(n) < min(1.0, record["grey"] * 1.2 + 0.05 * (record["grey"] > 0))
    return _merge("beard", [(roots, pts, grey)], style.width_um * 1e-6, volume)


STRAP_WIDTH = 0.016  # m: a chin strap's band, seen from the front


def _distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each 2-D point's distance to the nearest segment of a polyline."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.clip(np.einsum("nsk,sk->ns", points[:, None, :] - a[None], ab) / np.einsum("sk,sk->s", ab, ab), 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - nearest, axis=2).min(axis=1)


# How far a shaved beard zone takes the colour of the roots under the skin at the priors' beard
# density 1 (a man's "five o'clock shadow", docs/hair.md): a little lighter than a shaved scalp's 0.35,
# since a razor cuts closer than clippers.
BEARD_ROOT_SHADOW = 0.3


def beard_root_shadow(growth: float, zone: np.ndarray) -> np.ndarray:
    """How far the skin of a beard `zone` (weights, `pain3d.skin_regions.beard_weights`) takes the
    colour of the roots of a beard growing `growth` densely (the hair record's `beard_growth`)."""
    return zone * BEARD_ROOT_SHADOW * float(growth)


def beard_zone(head: HeadMesh, points: np.ndarray, zone: str) -> np.ndarray:
    """Where a zone's facial hair grows (0..1) at skin points: below the cheek line, above the
    neck line, in front of the ears, off the lips; narrower zones cut from it."""
    p = head.params
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    ax = np.abs(x)
    tragus = head.landmarks["tragus_L"] * np.array([np.sign(head.landmarks["tragus_L"][0]), 1.0, 1.0])
    corner = p.mouth_w + 0.012
    cheek = np.interp(ax, [0.0, corner, tragus[0] - 0.006], [p.z_sn - 0.002, p.z_sn - 0.004, tragus[2] + 0.004])
    neck_drop = {"full": 0.030, "boxed": 0.010, "chin_strap": 0.012}.get(zone, 0.010)
    neck = np.interp(ax, [0.0, 0.035, tragus[0]], [p.z_me - neck_drop, p.z_me - neck_drop + 0.01, tragus[2] - 0.02])
    front = y < tragus[1] - 0.008
    lips_top = p.z_sto + p.upper_verm + 0.0012
    lips_bottom = p.z_sto - p.lower_verm - 0.0015
    on_lips = (ax < p.mouth_w + 0.002) & (z < lips_top) & (z > lips_bottom)
    base = (z < cheek) & (z > neck) & front & ~on_lips & (ax < tragus[0] - 0.012)  # not on the ear
    if zone in ("full", "boxed"):
        keep = base
    elif zone == "moustache":
        keep = base & (ax < p.mouth_w + 0.005) & (z > p.z_sto)
    elif zone == "goatee":
        keep = base & (ax < p.mouth_w + 0.006) & (z > p.z_me - 0.012) & (y < -0.045)
    elif zone == "chin_strap":
        # a band along the jaw as the face shows it from the front: within STRAP_WIDTH of the jaw
        # contour in the frontal (x, z) plane, on the face's side of it
        jaw = head.landmarks68[:17][:, [0, 2]]
        near_jaw = _distance_to_polyline(points[:, [0, 2]], jaw) < STRAP_WIDTH
        keep = base & near_jaw & ~((ax < p.mouth_w + 0.01) & (z > p.z_sto - 0.012))  # no moustache
    else:
        raise ValueError(zone)
    return keep.astype(float)


def _joined(parts: list[tuple]) -> tuple:
    """Per-set tuples (roots and per-strand arrays) joined field by field."""
    return tuple(Roots.join(col) if isinstance(col[0], Roots) else np.concatenate(col) for col in zip(*parts))


def _merge(kind: str, sets: list, width: float, volume: HeadVolume, margin: float = SKIN_MARGIN) -> StrandSet:
    pts = np.concatenate([p for _, p, _ in sets]) if sets else np.zeros((0, 2, 3))
    if len(pts) == 0:
        return StrandSet.empty(kind)
    pts = finish(volume, pts, margin)
    merged = Roots.join([r for r, _, _ in sets])
    grey = np.concatenate([g for _, _, g in sets]).astype(np.float32)
    return StrandSet(kind, pts.astype(np.float32), taper(len(pts), pts.shape[1], width), merged, grey)

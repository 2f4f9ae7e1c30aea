"""Earrings (pure numpy): who wears a pair and which, the clothing record's `earrings`, and each
ear's earring as a small mesh worn through the ear lobe (docs/clothing.md, "Earrings").

A stud sits on the lobe's outer face, a pearl on a post against it; a hoop's wire passes through
the piercing along it and the hoop hangs below, turned about the vertical as far as it must to
clear the neck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..colour import hex_to_rgb
from ..head.mesh import HeadMesh
from ..head.params import HeadParams
from ..head.surface import EAR_BLEND, ear_field, ear_frame, figure_field, head_field, ray_roots

SIDES = {"L": 1.0, "R": -1.0}
PIERCING_ABOVE_EDGE = 0.005  # the piercing: this far above the lobe's lower edge (metres)
LOBE_MID_WIDTH = -0.002      # the lobe's middle across the ear's width (its ellipsoid is offset so)
RING, TUBE, DOME = 32, 8, 10  # segments round a hoop, round its wire, and round a stud or pearl
SWING_DEG = (0, 15, -15, 30, -30, 45, -45, 60, -60)  # a hoop's turns about the vertical, tried in turn


@dataclass(frozen=True)
class EarringMesh:
    """One earring: vertices (metres, the head's frame) and polygons (vertex index lists)."""

    side: str
    vertices: np.ndarray
    polygons: list[list[int]]


def draw_earrings(identity: dict, settings: dict, seed: int, table: dict) -> dict | None:
    """The earrings an identity wears (None: bare ears), from the priors' [earrings] `table` and the
    job's [clothing] `earrings` ("prior" or a share 0..1)."""
    u = np.random.default_rng(seed).random(5)  # by position: worn, kind, finish, size, wire
    share = settings.get("earrings", "prior")
    if share == "prior":
        share = float(np.interp(float(identity["age"]), table["ages"], table["rate"][identity["sex"]]))
    if u[0] >= float(share):
        return None
    kinds = {k: float(w) for k, w in table["kinds"][identity["sex"]].items() if w > 0}
    names = list(kinds)
    kind = names[int(np.searchsorted(np.cumsum(list(kinds.values())) / sum(kinds.values()), u[1], side="right"))]
    metals = sorted(table["metals"])
    finish = "pearl" if kind == "pearl" else metals[int(u[2] * len(metals)) % len(metals)]
    low, high = table[f"{kind}_mm"]
    record = {"kind": kind, "finish": finish,
              "colour": [round(float(c), 4) for c in hex_to_rgb(table["pearl"] if kind == "pearl" else table["metals"][finish])],
              "size_mm": round(float(low + (high - low) * u[3]), 1)}
    if kind == "hoop":
        low, high = table["hoop_wire_mm"]
        record["wire_mm"] = round(float(low + (high - low) * u[4]), 2)
    return record


def piercing(p: HeadParams, side: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lobe's piercing on `side`: its entry on the lobe's outer face, the point midway through
    the lobe on the same line, and the skin's outward normal at the entry."""
    centre, axes = ear_frame(p, side)
    along = np.linspace(-0.045, 0.0, 451)
    line = centre + along[:, None] * axes[1] + LOBE_MID_WIDTH * axes[2]
    edge = along[ear_field(line[:, 0], line[:, 1], line[:, 2], p, side) < 0].min()
    inside = centre + (edge + PIERCING_ABOVE_EDGE) * axes[1] + LOBE_MID_WIDTH * axes[2]
    field = lambda pts: head_field(pts, p)  # noqa: E731
    out = ray_roots(field, inside[None], axes[0][None], 0.0, 0.02)[0]
    # the lobe's back face is the ear's own: below the ear the skin runs on into the neck
    back = ray_roots(lambda q: ear_field(q[:, 0], q[:, 1], q[:, 2], p, side), inside[None], -axes[0][None], 0.0, 0.02)[0]
    entry = inside + out * axes[0]
    return entry, inside + 0.5 * (out - back) * axes[0], _normal(field, entry)


def earring_meshes(head: HeadMesh, record: dict) -> list[EarringMesh]:
    """Both ears' earrings of an `earrings` record."""
    out = []
    for side, sign in SIDES.items():
        entry, middle, normal = piercing(head.params, sign)
        size = record["size_mm"] / 1000.0
        if record["kind"] == "hoop":
            vertices, polygons = _hoop(head.params, sign, middle, normal, size, record["wire_mm"] / 1000.0)
        elif record["kind"] == "pearl":  # a ball on a post, against the lobe
            vertices, polygons = _ellipsoid(entry + normal * 0.45 * size, normal, 0.5 * size, 0.5 * size)
        else:  # a domed stud face, its back sunk a little into the lobe
            vertices, polygons = _ellipsoid(entry + normal * 0.1 * size, normal, 0.5 * size, 0.22 * size)
        out.append(EarringMesh(side, vertices, polygons))
    return out


def hoop_centreline(middle: np.ndarray, normal: np.ndarray, radius: float, swing_deg: float,
                    count: int = RING) -> tuple[np.ndarray, np.ndarray]:
    """Points round a hoop's wire whose top runs through the lobe at `middle` along the piercing
    (the normal's horizontal part turned `swing_deg` about the vertical), and the hoop's centre."""
    along = np.array([normal[0], normal[1], 0.0])
    along /= np.linalg.norm(along)
    t = np.radians(swing_deg)
    along = np.array([along[0] * np.cos(t) - along[1] * np.sin(t), along[0] * np.sin(t) + along[1] * np.cos(t), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    centre = middle + down * radius
    angle = 2.0 * np.pi * np.arange(count) / count
    return centre + radius * (np.sin(angle)[:, None] * along - np.cos(angle)[:, None] * down), centre


def _hoop(p: HeadParams, side: float, middle, normal, size: float, wire: float):
    """A hoop of outer diameter `size` at the first swing whose wire clears the skin and the bust
    (the last tried if none does: on the 42 test heads one within 45 degrees always does)."""
    radius = 0.5 * (size - wire)
    for swing in SWING_DEG:
        ring, centre = hoop_centreline(middle, normal, radius, swing)
        if hoop_clearance(p, ring, side) > 0.5 * wire:
            break
    return _tube(ring, centre, 0.5 * wire)


def hoop_clearance(p: HeadParams, ring: np.ndarray, side: float) -> float:
    """How far a hoop's centreline stays outside the skin and the bust, where it is not passing
    through the ear (metres; negative: inside)."""
    through = ear_field(ring[:, 0], ring[:, 1], ring[:, 2], p, side) < EAR_BLEND
    return float(figure_field(ring[~through], p, room=0.0).min()) if (~through).any() else np.inf


def _tube(ring: np.ndarray, centre: np.ndarray, radius: float):
    """A closed tube of `radius` round a closed centreline (a torus for a circle)."""
    n = len(ring)
    outward = ring - centre
    outward /= np.linalg.norm(outward, axis=1, keepdims=True)
    axis = np.cross(ring[1] - ring[0], outward[0])
    axis /= np.linalg.norm(axis)
    turn = 2.0 * np.pi * np.arange(TUBE) / TUBE
    vertices = (ring[:, None] + radius * (np.cos(turn)[None, :, None] * outward[:, None]
                                          + np.sin(turn)[None, :, None] * axis[None, None])).reshape(-1, 3)
    polygons = [[i * TUBE + j, ((i + 1) % n) * TUBE + j, ((i + 1) % n) * TUBE + (j + 1) % TUBE, i * TUBE + (j + 1) % TUBE]
                for i in range(n) for j in range(TUBE)]
    return vertices, polygons


def _ellipsoid(centre: np.ndarray, normal: np.ndarray, across: float, depth: float):
    """A closed ellipsoid: `across` in the plane normal to `normal`, `depth` along it."""
    u = np.cross(normal, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    lat = np.linspace(-0.5 * np.pi, 0.5 * np.pi, DOME + 1)[1:-1]
    lon = 2.0 * np.pi * np.arange(2 * DOME) / (2 * DOME)
    ring = (np.cos(lat)[:, None, None] * across * (np.cos(lon)[None, :, None] * u + np.sin(lon)[None, :, None] * v)
            + np.sin(lat)[:, None, None] * depth * normal)
    vertices = np.vstack([centre - depth * normal, centre + ring.reshape(-1, 3), centre + depth * normal])
    m, rows = 2 * DOME, len(lat)
    at = lambda r, c: 1 + r * m + c % m  # noqa: E731
    polygons = [[0, at(0, c + 1), at(0, c)] for c in range(m)]
    polygons += [[at(r, c), at(r, c + 1), at(r + 1, c + 1), at(r + 1, c)] for r in range(rows - 1) for c in range(m)]
    polygons += [[len(vertices) - 1, at(rows - 1, c), at(rows - 1, c + 1)] for c in range(m)]
    return vertices, polygons


def _normal(field, point: np.ndarray, step: float = 1e-4) -> np.ndarray:
    grad = np.array([(field((point + step * d)[None]) - field((point - step * d)[None]))[0] for d in np.eye(3)])
    return grad / np.linalg.norm(grad)

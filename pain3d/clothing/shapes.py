"""Garment geometry on an identity's bust (pure numpy): a cloth shell that follows the bust's
surface from its neckline down to the bust's cut, off the skin by the garment's offset and ease.

Every garment but the headscarf is a grid of columns around the neck axis (each keeps its
azimuth) and rows at equal arc length down the bust; the neckline is a height per azimuth
(crew, V, scoop, boat), and its top edge rolls under so the cloth shows a thickness. A shirt adds
a collar (a stand up the neck and a leaf folded down over it), a hoodie the hood lying around the
neck, a hospital gown the knot of its ties. The headscarf wraps the head and neck in horizontal
slices around the same axis with an opening for the face, and falls over the shoulders.
UVs are in metres (u around, v down), so pattern sizes are real sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..head.bust import BustParams, NECK_AXIS_Y, bust_point, place_columns, polar
from ..head.mesh import HeadMesh
from ..head.surface import GARMENT_ROOM, figure_field, ray_roots
from .library import Garment

COLUMNS = 128        # around the body
ROWS = 34            # neckline to the cut
UV_RADIUS = 0.12     # metres of u per radian around
EDGE_OFFSET = 0.003  # the headscarf's edge lies this close to the face (tucked, no gap)
NECK_CLEARANCE = 0.0025  # least distance off the neck's skin mesh (its flat faces, not the smooth surface)
JAW_ROOM = 0.020      # ... and this much further off under the jaw


@dataclass
class GarmentMesh:
    """One garment's shell: vertices (metres, the head's frame), polygons and per-corner UVs."""

    name: str
    vertices: np.ndarray      # (N, 3)
    polygons: list[np.ndarray]
    corner_uv: list[np.ndarray]

    @property
    def n_faces(self) -> int:
        return len(self.polygons)


def outfit(head: HeadMesh, record: dict, table: dict[str, Garment]) -> list[tuple[Garment, GarmentMesh, dict]]:
    """Every garment of a clothing record on this head: (garment, shell, its colours): the garment,
    and the top worn under a headscarf."""
    garment = table[record["garment"]]
    worn = [(garment, build_garment(head, garment), record)]
    if record.get("under"):
        under = table[record["under"]]
        colours = {**record, "colour": record["under_colour"], "pattern": "solid"}
        worn.append((under, build_garment(head, under), colours))
    return worn


def build_garment(head: HeadMesh, garment: Garment) -> GarmentMesh:
    """The garment's shell on this head's bust (the headscarf on its head and bust)."""
    if garment.neckline == "face":
        return _headscarf(head, garment)
    b = head.params.bust
    theta = -np.pi + 2.0 * np.pi * np.arange(COLUMNS) / COLUMNS
    top = neckline(theta, garment, b)
    grid = _column_grid(theta, top, b)                                      # (R, C, 3) on the skin
    normal = _normals(grid)
    z = grid[..., 2]
    off = garment.offset + garment.ease * np.clip((top[None] - z) / (top[None] - b.z_cut), 0.0, 1.0)
    off = off + _rib(z, top, garment) + _hood(theta, z, garment, b) + _tie(theta, z, top, garment)
    shell = _clear_of_neck(grid + normal * off[..., None], max(garment.offset, NECK_CLEARANCE), head)
    # the top edge rolls under: a last row just below the edge, nearer the skin
    down = grid[1] - grid[0]
    down /= np.maximum(np.linalg.norm(down, axis=-1, keepdims=True), 1e-12)
    rolled = grid[0] + 0.0025 * down + normal[0] * (0.4 * off[0])[:, None]
    rolled = _clear_of_neck(rolled, max(0.5 * garment.offset, NECK_CLEARANCE), head)
    rows = np.concatenate([rolled[None], shell])
    vertices, polygons, uvs = _grid_mesh(rows, theta, periodic=True)
    mesh = GarmentMesh(garment.name, vertices, polygons, uvs)
    if garment.collar > 0:
        collar = _collar(theta, top, garment, b)
        collar.vertices = _clear_of_neck(collar.vertices, garment.offset, head)
        _add(mesh, collar)
    return mesh


def _clear_of_neck(points: np.ndarray, clearance: float, head: HeadMesh) -> np.ndarray:
    """Points near the neck pushed out along their slice until `clearance` off the skin: up the
    neck the head's own surface (which the bust joins over a few centimetres) can stand a few
    millimetres outside the bust's."""
    b = head.params.bust
    flat = points.reshape(-1, 3).copy()
    near = np.nonzero(flat[:, 2] > b.z_nsp - 0.03)[0]
    if len(near):
        theta, rho = polar(flat[near])
        skin = np.maximum(_radius_at(theta, flat[near, 2], head.params, room=0.0),
                          _mesh_radius(head, theta, flat[near, 2]))
        scale = np.maximum(rho, skin + clearance) / np.maximum(rho, 1e-9)
        flat[near, 0] *= scale
        flat[near, 1] = NECK_AXIS_Y + (flat[near, 1] - NECK_AXIS_Y) * scale
    return flat.reshape(points.shape)


def _mesh_radius(head: HeadMesh, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Radius of the skin mesh itself at (theta, z) on the neck: its columns interpolated in height,
    then between the two columns around each azimuth."""
    topo = head.topology
    rows = np.vstack([topo.grid_ids[topo.attach_row - 4:topo.attach_row], topo.body_rows])
    col_theta, col_r = polar(head.vertices[rows])
    col_z = head.vertices[rows][..., 2]
    mean_theta = np.angle(np.exp(1j * col_theta).mean(axis=0))
    order = np.argsort(mean_theta)
    ths, zs, rs = mean_theta[order], col_z[:, order], col_r[:, order]
    k = np.searchsorted(ths, theta) % len(ths)
    j = (k - 1) % len(ths)
    out = np.empty_like(theta)
    for i, (a, c) in enumerate(zip(j, k)):
        ra = np.interp(z[i], zs[::-1, a], rs[::-1, a])
        rc = np.interp(z[i], zs[::-1, c], rs[::-1, c])
        span = np.angle(np.exp(1j * (ths[c] - ths[a])))
        t = np.clip(np.angle(np.exp(1j * (theta[i] - ths[a]))) / span, 0.0, 1.0) if span > 1e-9 else 0.0
        out[i] = (1 - t) * ra + t * rc
    return out


def neckline(theta: np.ndarray, garment: Garment, b: BustParams) -> np.ndarray:
    """Height of the garment's top edge at each azimuth (0 = the front)."""
    crew_front = b.z_notch + (garment.front if garment.neckline in ("crew", "boat") else 0.012)
    back = b.z_nsp + garment.back
    crew = crew_front + (back - crew_front) * 0.5 * (1.0 - np.cos(theta))
    if garment.neckline in ("crew", "boat"):
        return crew
    a = np.abs(np.angle(np.exp(1j * theta))) / max(garment.v_half_angle, 1e-3)
    if garment.neckline == "scoop":
        dip = np.cos(0.5 * np.pi * np.clip(a, 0.0, 1.0)) ** 2
    else:  # v and collar: straight sides to a point
        dip = np.clip(1.0 - a, 0.0, 1.0)
    bottom = b.z_notch + garment.front
    return crew - dip * (crew_front - bottom)


def _column_grid(theta: np.ndarray, top: np.ndarray, b: BustParams, rows: int = ROWS) -> np.ndarray:
    start = bust_point(theta, top, b)
    fractions = np.linspace(0.0, 1.0, rows)
    fractions[0] = 1e-6
    grid = place_columns(start, fractions, b)
    grid[0] = start
    return grid


def _normals(grid: np.ndarray) -> np.ndarray:
    """Outward unit normals of a (rows, periodic columns) grid of points."""
    down = np.gradient(grid, axis=0)
    around = 0.5 * (np.roll(grid, -1, axis=1) - np.roll(grid, 1, axis=1))
    return _outward(np.cross(around, down), grid)


def _outward(normals: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Unit normals turned away from the neck axis."""
    radial = points - np.array([0.0, NECK_AXIS_Y, 0.0])
    radial[..., 2] = 0.0
    normals = normals * np.where(np.einsum("...d,...d->...", normals, radial) < 0, -1.0, 1.0)[..., None]
    return normals / np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)


def _rib(z: np.ndarray, top: np.ndarray, g: Garment) -> np.ndarray:
    """A raised rib band below the neckline."""
    if g.rib <= 0:
        return np.zeros_like(z)
    depth = top[None] - z
    return 0.0015 * np.clip(1.0 - (depth - g.rib) / 0.003, 0.0, 1.0)


def _hood(theta: np.ndarray, z: np.ndarray, g: Garment, b: BustParams) -> np.ndarray:
    """The hood lying around the back and sides of the neck."""
    if g.hood <= 0:
        return np.zeros_like(z)
    around = np.clip((np.abs(theta)[None] - 0.9) / 0.8, 0.0, 1.0) ** 2
    return g.hood * around * np.exp(-(((z - (b.z_nsp - 0.02)) / 0.035) ** 2))


def _tie(theta: np.ndarray, z: np.ndarray, top: np.ndarray, g: Garment) -> np.ndarray:
    """The knot of a gown's neck ties, at the back."""
    if not g.tie:
        return np.zeros_like(z)
    back = np.exp(-((np.abs(theta)[None] - np.pi) / 0.10) ** 2)
    return 0.010 * back * np.exp(-(((z - top[None] + 0.012) / 0.010) ** 2))


def _collar(theta: np.ndarray, top: np.ndarray, g: Garment, b: BustParams) -> GarmentMesh:
    """A shirt collar: a stand up the neck from the neckline, folded over into a leaf that falls
    outward over the stand and the shoulders, open at the front."""
    keep = np.abs(theta) >= g.v_half_angle * 0.9
    order = np.argsort(np.mod(theta[keep], 2.0 * np.pi))         # from the left front round the back
    th, zt = theta[keep][order], top[keep][order]
    stand_h = 0.6 * g.collar
    tips = np.clip(1.0 - (np.mod(th, 2 * np.pi) - g.v_half_angle) / 0.5, 0.0, 1.0) \
        + np.clip(1.0 - (2 * np.pi - g.v_half_angle - np.mod(th, 2 * np.pi)) / 0.5, 0.0, 1.0)
    rows = []
    for t in np.linspace(0.0, 1.0, 4):                            # the stand, up the neck
        rows.append(_off_skin(th, zt + t * stand_h, g.offset + 0.0015, b))
    for t in np.linspace(0.0, 1.0, 6)[1:]:                       # the leaf, down and out
        z = zt + stand_h - t * (stand_h + 0.5 * g.collar + 0.02 * tips)
        rows.append(_off_skin(th, z, g.offset + 0.0045 + 0.006 * t + 0.004 * tips * t, b))
    v, p, uv = _grid_mesh(np.stack(rows), th, periodic=False)
    return GarmentMesh("collar", v, p, uv)


def _off_skin(theta: np.ndarray, z: np.ndarray, offset: float | np.ndarray, b: BustParams) -> np.ndarray:
    """Points `offset` off the bust along its normal at (theta, z)."""
    dz, dt = 0.002, 0.01
    p = bust_point(theta, z, b)
    down = bust_point(theta, z - dz, b) - bust_point(theta, z + dz, b)
    around = bust_point(theta + dt, z, b) - bust_point(theta - dt, z, b)
    return p + _outward(np.cross(around, down), p) * np.asarray(offset)[..., None]


def _grid_mesh(rows: np.ndarray, theta: np.ndarray, periodic: bool):
    """Quads of a (R, C, 3) grid; UVs in metres (u around the axis, v down the surface)."""
    r, c = rows.shape[:2]
    ids = np.arange(r * c).reshape(r, c)
    v = np.concatenate([np.zeros((1, c)), np.cumsum(np.linalg.norm(np.diff(rows, axis=0), axis=-1), axis=0)])
    u = np.unwrap(theta) * UV_RADIUS
    uv = np.stack([np.broadcast_to(u, (r, c)), -v], axis=-1)
    cols = c if periodic else c - 1
    polys, uvs = [], []
    for i in range(r - 1):
        for j in range(cols):
            k = (j + 1) % c
            polys.append(np.array([ids[i, j], ids[i + 1, j], ids[i + 1, k], ids[i, k]]))
            uk = uv[i, k].copy(), uv[i + 1, k].copy()
            if k == 0:  # the periodic seam: continue u past the last column
                uk[0][0] += 2 * np.pi * UV_RADIUS
                uk[1][0] += 2 * np.pi * UV_RADIUS
            uvs.append(np.array([uv[i, j], uv[i + 1, j], uk[1], uk[0]]))
    return rows.reshape(-1, 3), polys, uvs


def _add(mesh: GarmentMesh, part: GarmentMesh) -> None:
    n = len(mesh.vertices)
    mesh.vertices = np.vstack([mesh.vertices, part.vertices])
    mesh.polygons += [p + n for p in part.polygons]
    mesh.corner_uv += part.corner_uv


# --- the headscarf ------------------------------------------------------------------------


def _headscarf(head: HeadMesh, g: Garment) -> GarmentMesh:
    """A scarf over the head and neck in horizontal slices around the neck axis, open for the face,
    falling from the jaw line over the shoulders and chest."""
    p, b, lm = head.params, head.params.bust, head.landmarks
    theta = -np.pi + 2.0 * np.pi * np.arange(COLUMNS) / COLUMNS
    z_top = float(head.vertices[:, 2].max()) + g.offset
    z_bottom = b.z_notch + g.front
    zs = np.linspace(z_top - 0.004, z_bottom, 72)
    figure = _dilate(_figure_radius(theta, zs, p))                        # (Z, C), smooth over the ears
    # looser over the back of the head, where hair is gathered under the scarf
    volume = 0.018 * np.exp(-((np.abs(theta) - np.pi) / 0.9) ** 2)[None] * np.exp(-((zs - 0.01) / 0.05) ** 2)[:, None]
    radius = figure + g.offset + volume
    # below the ears the cloth bridges the hollow under the jaw (which the jaw swings into as the
    # mouth opens): on the jaw's side never nearer the axis than it is 5 cm higher up
    lobe = lm["tragus_R"][2] - 0.025
    step = zs[0] - zs[1]
    window = int(np.ceil(0.05 / step))
    jawside = np.abs(theta) < 1.25  # the jaw's side of the head, not the ears and the nape
    for k in np.nonzero(zs < lobe)[0]:
        above = radius[max(k - window, 0):k, jawside].max(axis=0)
        radius[k, jawside] = np.maximum(radius[k, jawside], above)
    # below the jaw the cloth falls as a tent from the jaw line to the shoulders and chest
    z_me = lm["menton"][2]
    jaw = (zs <= z_me + 0.035) & (zs >= z_me - 0.005)
    hang = radius[jaw].max(axis=0) + 0.004
    below = zs < z_me - 0.005
    t = np.clip((z_me - zs[below]) / (z_me - z_bottom), 0.0, 1.0)[:, None]
    tent = hang[None] + (radius[-1][None] - hang[None]) * (3 * t ** 2 - 2 * t ** 3)
    radius[below] = np.maximum(radius[below], tent)
    ring = lambda r, z: np.stack([r * np.sin(theta), NECK_AXIS_Y - r * np.cos(theta), np.full_like(theta, z)], -1)  # noqa: E731
    rows = np.stack([ring(radius[k], zs[k]) for k in range(len(zs))])
    vertices, polygons, uvs = _grid_mesh(rows, theta, periodic=True)
    centres = np.array([vertices[poly].mean(0) for poly in polygons])
    opening = _oval_size(head, polar(centres)[0], centres[:, 2]) < 1.0
    edge = np.intersect1d(np.concatenate([q for q, o in zip(polygons, opening) if not o]),
                          np.concatenate([q for q, o in zip(polygons, opening) if o]))
    polygons = [q for q, o in zip(polygons, opening) if not o]
    uvs = [q for q, o in zip(uvs, opening) if not o]
    _snap_opening(vertices, edge, head, EDGE_OFFSET)
    # close the crown: a fan over the top ring
    centre = len(vertices)
    vertices = np.vstack([vertices, [[0.0, NECK_AXIS_Y, z_top]]])
    top = np.arange(COLUMNS)
    for j in range(COLUMNS):
        polygons.append(np.array([centre, top[(j + 1) % COLUMNS], top[j]]))
        uvs.append(np.array([[theta[j] * UV_RADIUS, 0.05], uvs[j][3], uvs[j][0]]))
    return GarmentMesh(g.name, vertices, polygons, uvs)


def _dilate(radius: np.ndarray, around: int = 4, down: int = 2) -> np.ndarray:
    """Largest radius within a few columns and rows, then a small blur: cloth bridges the ears and
    small hollows instead of following them."""
    out = radius.copy()
    for k in range(-around, around + 1):
        out = np.maximum(out, np.roll(radius, k, axis=1))
    grown = out.copy()
    for k in range(1, down + 1):
        grown[k:] = np.maximum(grown[k:], out[:-k])
        grown[:-k] = np.maximum(grown[:-k], out[k:])
    return 0.25 * (np.roll(grown, 1, axis=1) + np.roll(grown, -1, axis=1)) + 0.5 * grown


def _figure_radius(theta: np.ndarray, zs: np.ndarray, p) -> np.ndarray:
    """Distance from the neck axis to the head or bust surface along horizontal rays (Z, C)."""
    th, z = np.meshgrid(theta, zs)
    return _radius_at(th.ravel(), z.ravel(), p, room=GARMENT_ROOM).reshape(th.shape)


def _radius_at(theta: np.ndarray, z: np.ndarray, p, room: float = 0.0) -> np.ndarray:
    """Crossing of the head or bust along horizontal rays from the neck axis, out to 30 cm: each
    slice of the figure is star-shaped around the axis but for the ears."""
    dirs = np.stack([np.sin(theta), -np.cos(theta), np.zeros_like(theta)], -1)
    origins = np.stack([np.zeros_like(theta), np.full_like(theta, NECK_AXIS_Y), z], -1)
    return ray_roots(lambda pts: figure_field(pts, p, room), origins, dirs, 0.0, 0.30)


def _face_oval(head: HeadMesh) -> tuple[float, float, float, float]:
    """(z centre, half height up, half height down, half angle) of the face opening."""
    lm, p = head.landmarks, head.params
    top = p.z_brow + 0.030                                     # mid forehead
    bottom = lm["menton"][2] - 0.03                            # under the chin, clear of it at the widest jaw opening
    centre = 0.5 * (top + bottom)
    return centre, top - centre, centre - bottom, 0.95


def _oval_size(head: HeadMesh, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Where points lie against the face opening: < 1 inside, 1 on its edge."""
    zc, up, down, half = _face_oval(head)
    return np.sqrt((theta / half) ** 2 + ((z - zc) / np.where(z > zc, up, down)) ** 2)


def _snap_opening(vertices: np.ndarray, edge: np.ndarray, head: HeadMesh, offset: float) -> None:
    """Move the opening's edge vertices onto the oval, off the skin there (a smooth edge, not a
    staircase of quads)."""
    zc = _face_oval(head)[0]
    theta, _ = polar(vertices[edge])
    z = vertices[edge, 2]
    scale = 1.0 / np.maximum(_oval_size(head, theta, z), 1e-6)
    theta, z = theta * scale, zc + (z - zc) * scale
    # under the jaw the edge stands off: the jaw swings down and back into it when the mouth opens wide
    under_jaw = np.clip((head.landmarks["menton"][2] + 0.05 - z) / 0.03, 0.0, 1.0)
    r = _radius_at(theta, z, head.params) + offset + JAW_ROOM * under_jaw
    vertices[edge] = np.stack([r * np.sin(theta), NECK_AXIS_Y - r * np.cos(theta), z], -1)

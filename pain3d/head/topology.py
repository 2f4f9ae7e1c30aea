"""Fixed mesh topology shared by every identity (pure numpy, cached per level).

Layout of the skin (one connected, quad-only surface):

* a periodic *cylinder grid* of ``nu`` columns (azimuth around the vertical
  axis through :data:`~pain3d.head.surface.RAY_CENTRE`, denser at the front)
  by ``nv`` rows (polar angle from the top ring down to the neck, denser over
  the face);
* a square *cap* grid closing the crown;
* three rectangular blocks of the grid (two eyes, mouth) replaced by *ring
  patches*: concentric edge loops from the block border to the opening, which
  is what lets lids and lips deform well.  The eye loops end in the lid margin,
  which folds back under the lids onto the eyeball (the only open boundaries
  besides the neck); the mouth loops pass the vermilion border and the lip
  contact line and continue inward as the closed mouth-cavity pocket.

Separate closed meshes: two UV-sphere eyeballs (pupil / iris / sclera groups)
and upper/lower tooth arches.  Vertex *positions* are produced per identity by
:mod:`pain3d.head.geometry`; this module only stores indices and the recipes
(ray directions, ring parameters) that geometry needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .surface import RAY_CENTRE

#: resolution factor per subdivision level
LEVEL_FACTOR = {0: 1, 1: 2, 2: 4}
#: angle from the gaze axis of the iris's rim on the eyeball (radius 12 mm x sin = 6.1 mm)
IRIS_ANGLE = 0.53
#: angle from the gaze axis of the pupil's rim (the iris lies between the two)
PUPIL_ANGLE = 0.165
#: the lip loops lie (k / n) ** this of the way from the contact line to the vermilion border
LIP_LOOP_CROWDING = 1.6

#: part names (index = part id stored per face)
PART_NAMES: tuple[str, ...] = (
    "skin", "mouth_cavity",
    "eye_R_sclera", "eye_R_iris", "eye_R_pupil",
    "eye_L_sclera", "eye_L_iris", "eye_L_pupil",
    "teeth_upper", "teeth_lower",
)
PART_ID = {n: i for i, n in enumerate(PART_NAMES)}




# ----------------------------------------------------------------------------
# parameter-space warps


def _theta_table() -> tuple[np.ndarray, np.ndarray]:
    """Half table (theta in [0, pi], cumulative column fraction in [0, 1]).

    Column density: high over the face (|theta| < ~1 rad), a second bump at
    the ears (|theta| ~ 1.5 rad, where centre rays graze the ear) and sparse
    at the back of the head.
    """
    th = np.linspace(0.0, np.pi, 20001)
    rho = 1.0 + 3.0 * np.exp(-((th / 1.05) ** 4)) + 2.0 * np.exp(-(((th - 1.5) / 0.2) ** 2))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(th))])
    return th, cdf / cdf[-1]


_TH_HALF, _CDF_HALF = _theta_table()


def theta_of_u(a: np.ndarray) -> np.ndarray:
    """Azimuth for normalised column coordinate ``a`` in [-1, 1] (0 = front)."""
    a = np.asarray(a, dtype=np.float64)
    return np.sign(a) * np.interp(np.abs(a), _CDF_HALF, _TH_HALF)


def u_of_theta(theta: np.ndarray) -> np.ndarray:
    """Inverse of :func:`theta_of_u`."""
    theta = np.asarray(theta, dtype=np.float64)
    return np.sign(theta) * np.interp(np.abs(theta), _TH_HALF, _CDF_HALF)


def _phi_rows(nv: int) -> np.ndarray:
    """Polar angles of the grid rows (top ring first), denser over the face."""
    phi_top, phi_bot = np.radians(27.0), np.radians(166.0)
    fine = np.linspace(phi_top, phi_bot, 4001)
    dens = 1.0 + 2.2 * np.exp(-(((fine - np.radians(92.0)) / np.radians(44.0)) ** 4))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine))])
    cdf /= cdf[-1]
    return np.interp(np.linspace(0.0, 1.0, nv), cdf, fine)


def dirs_from_angles(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit vectors for azimuth ``theta`` (0 = -Y, +pi/2 = +X) and polar ``phi``."""
    s = np.sin(phi)
    return np.stack([s * np.sin(theta), -s * np.cos(theta), np.cos(phi)], axis=-1)


def angles_from_points(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(theta, phi) of points as seen from the ray centre."""
    v = pts - RAY_CENTRE
    theta = np.arctan2(v[..., 0], -v[..., 1])
    phi = np.arccos(np.clip(v[..., 2] / np.linalg.norm(v, axis=-1), -1.0, 1.0))
    return theta, phi


# ----------------------------------------------------------------------------
# topology containers


@dataclass
class RingPatch:
    """Concentric loops replacing a grid block (eye or mouth).

    ``rings[k]`` holds the vertex ids of loop ``k`` (0 = innermost); the last
    loop is the block border made of grid vertices.  ``psi`` is the polar
    angle of every loop position around the block centre (0 = toward +X,
    +pi/2 = up), used to place the inner loops on the opening contour.
    """

    block: tuple[int, int, int, int]
    rings: np.ndarray           # (K+1, M) vertex ids
    psi: np.ndarray             # (M,)
    border_angles: np.ndarray   # (M, 2) theta/phi of the border vertices
    loop_ij: np.ndarray         # (M, 2) grid (i, j) of each border position
    lerp_t: dict[int, float] = field(default_factory=dict)  # ring -> t for ray rings


@dataclass
class HeadTopology:
    """Index structure of the head mesh at one subdivision level.

    Polygons are stored flat: polygon ``f`` uses
    ``poly_verts[poly_starts[f]:poly_starts[f+1]]``; every polygon is a quad
    except the triangle fans at the eyeball poles.  ``corner_uv`` holds one UV
    per polygon corner (same flat indexing).  Skin UVs form non-overlapping
    islands in [0,1]^2 (face/scalp cylinder, crown cap); mouth-cavity UVs get
    their own islands in the same square; eyeballs and teeth have their own
    UV layouts (they are separate objects / materials).
    """

    level: int
    n_verts: int
    poly_starts: np.ndarray
    poly_verts: np.ndarray
    face_part: np.ndarray
    corner_uv: np.ndarray
    vertex_part: np.ndarray
    # geometry recipes
    ray_fixed_ids: np.ndarray
    ray_fixed_dirs: np.ndarray
    eye_patches: dict[str, RingPatch]
    mouth_patch: RingPatch
    mouth_lip_rings: int
    cavity_rings: np.ndarray          # (4, M) ids
    cavity_cap: np.ndarray            # (a+1, b+1) ids (border = last cavity ring)
    eyeball_ids: dict[str, np.ndarray]
    eyeball_unit: np.ndarray          # (n, 3) unit-sphere template (front pole -Y)
    teeth_ids: dict[str, np.ndarray]
    teeth_recipe: dict[str, np.ndarray]
    grid_shape: tuple[int, int]
    grid_theta: np.ndarray            # (nu,) azimuth of the grid columns
    grid_phi: np.ndarray              # (nv,) polar angle of the grid rows
    grid_ids: np.ndarray              # (nv, nu) vertex id of each grid position (-1 inside patches)
    attach_row: int                   # first grid row placed on the bust (the rows above are ray-cast)
    body_rows: np.ndarray             # (K, nu) rows placed on the bust: the neck's grid rows, then the bust's
    body_fractions: np.ndarray        # (K,) arc-length share of each body row, attach ring to the cut
    # filled from the template identity
    landmarks68: np.ndarray = field(default_factory=lambda: np.zeros(68, dtype=np.int64))
    landmark_ids: dict[str, int] = field(default_factory=dict)
    contour_slices: list[np.ndarray] = field(default_factory=list)  # per jaw landmark (pain3d.contour)
    regions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_faces(self) -> int:
        return int(self.poly_starts.size - 1)

    @cached_property
    def edges(self) -> np.ndarray:
        """(E, 2) unique undirected edges of all polygons, lower vertex id first (every identity
        shares the topology, so they are found once)."""
        starts, verts = self.poly_starts, self.poly_verts
        nxt = np.arange(1, len(verts) + 1)
        nxt[starts[1:] - 1] = starts[:-1]  # each polygon's last corner links back to its first
        return np.unique(np.sort(np.stack([verts, verts[nxt]], axis=1), axis=1), axis=0)

    def polygons(self) -> list[np.ndarray]:
        """Polygons as a list of vertex-id arrays."""
        return np.split(self.poly_verts, self.poly_starts[1:-1])

    def part_faces(self, part: str) -> np.ndarray:
        """Indices of the faces of one part."""
        return np.nonzero(self.face_part == PART_ID[part])[0]


class _Builder:
    """Accumulates vertices (by count) and polygons with part ids and UVs."""

    def __init__(self) -> None:
        self.n = 0
        self.polys: list[np.ndarray] = []
        self.parts: list[np.ndarray] = []
        self.uvs: list[np.ndarray] = []

    def add_verts(self, count: int) -> np.ndarray:
        ids = np.arange(self.n, self.n + count)
        self.n += count
        return ids

    def add_polys(self, polys: np.ndarray, part: str, uv: np.ndarray | None = None) -> None:
        polys = np.asarray(polys, dtype=np.int64)
        self.polys.append(polys)
        self.parts.append(np.full(len(polys), PART_ID[part], dtype=np.int16))
        if uv is None:
            uv = np.zeros(polys.shape + (2,))
        self.uvs.append(np.asarray(uv, dtype=np.float64).reshape(polys.shape + (2,)))


def _ring_quads(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Quads between two loops of equal length (closed)."""
    nxt = np.roll(np.arange(inner.size), -1)
    return np.stack([inner, inner[nxt], outer[nxt], outer], axis=1)


def _grid_quads(ids: np.ndarray) -> np.ndarray:
    """Quads of a (rows, cols) id grid; cells containing -1 are dropped."""
    q = np.stack([ids[:-1, :-1], ids[1:, :-1], ids[1:, 1:], ids[:-1, 1:]], axis=-1).reshape(-1, 4)
    return q[(q >= 0).all(axis=1)]


def _block_loop(i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    """Border (i, j) positions of a grid block, as one closed loop."""
    top = [(i, j0) for i in range(i0, i1)]
    right = [(i1, j) for j in range(j0, j1)]
    bottom = [(i, j1) for i in range(i1, i0, -1)]
    left = [(i0, j) for j in range(j1, j0, -1)]
    return np.array(top + right + bottom + left, dtype=np.int64)


# ----------------------------------------------------------------------------
# construction


def _block_for(x0: float, x1: float, z0: float, z1: float, depth: float,
               nu: int, phi: np.ndarray) -> tuple[int, int, int, int]:
    """Grid block (i0, i1, j0, j1) covering a frontal rectangle at given depth."""
    pts = np.array([[x0, -depth, z1], [x1, -depth, z0]])
    th, ph = angles_from_points(pts)
    fi = (0.5 + 0.5 * u_of_theta(th)) * nu
    fj = np.interp(ph, phi, np.arange(phi.size))
    i0, i1 = int(np.floor(fi[0])), int(np.ceil(fi[1]))
    j0, j1 = int(np.floor(fj[0])), int(np.ceil(fj[1]))
    if (i1 - i0) % 2:
        i1 += 1
    if (j1 - j0) % 2:
        j1 += 1
    return i0, i1, j0, j1


def _make_patch(b: _Builder, block, gid, theta, phi, n_inner: int) -> RingPatch:
    i0, i1, j0, j1 = block
    loop = _block_loop(i0, i1, j0, j1)
    m = len(loop)
    ic, jc = 0.5 * (i0 + i1), 0.5 * (j0 + j1)
    psi = np.arctan2(-(loop[:, 1] - jc) / (0.5 * (j1 - j0)), (loop[:, 0] - ic) / (0.5 * (i1 - i0)))
    border = gid[loop[:, 1], loop[:, 0]]
    rings = np.vstack([b.add_verts(m) for _ in range(n_inner)] + [border])
    angles = np.stack([theta[loop[:, 0] % theta.size], phi[loop[:, 1]]], axis=1)
    return RingPatch(block=block, rings=rings, psi=psi, border_angles=angles, loop_ij=loop)


def _cap_coons(ring_xy: np.ndarray, k: int) -> np.ndarray:
    """Coons patch (k+1, k+1, 2) from a closed loop of 4k boundary points."""
    bot = ring_xy[0:k + 1]
    right = ring_xy[k:2 * k + 1]
    top = ring_xy[2 * k:3 * k + 1][::-1]
    left = np.vstack([ring_xy[3 * k:], ring_xy[:1]])[::-1]
    s = np.linspace(0, 1, k + 1)[:, None, None]   # along bot/top (a)
    t = np.linspace(0, 1, k + 1)[None, :, None]   # along left/right (b)
    out = ((1 - t) * bot[:, None] + t * top[:, None] + (1 - s) * left[None, :] + s * right[None, :]
           - ((1 - s) * (1 - t) * bot[0] + s * (1 - t) * bot[-1] + (1 - s) * t * top[0] + s * t * top[-1]))
    return out


def _square_loop(k: int) -> np.ndarray:
    """(a, b) positions around a k x k grid, matching :func:`_cap_coons`."""
    pts = [(a, 0) for a in range(k)] + [(k, b) for b in range(k)] + \
          [(a, k) for a in range(k, 0, -1)] + [(0, b) for b in range(k, 0, -1)]
    return np.array(pts)


#: grid rows at or beyond this polar angle lie on the neck and are placed on the bust surface
NECK_ATTACH_PHI = np.radians(148.0)
#: bust rows below the head grid, per level factor
BUST_ROWS = 10
#: the bust's UV island (u0, v0, u1, v1): the free corner beside the mouth cavity's islands
BUST_UV_BOX = (0.84, 0.015, 0.985, 0.13)


def _bust_rows(b: _Builder, gid: np.ndarray, phi: np.ndarray, nb: int):
    """Bust rows below the grid, their quads and UVs (an island of their own, seam at the last
    grid row), and the body rows with their arc-length shares."""
    nv, nu = gid.shape
    attach = int(np.searchsorted(phi, NECK_ATTACH_PHI))
    bust = np.vstack([b.add_verts(nu) for _ in range(nb)])
    rows = np.vstack([gid[nv - 1:nv], bust])
    ids = np.concatenate([rows, rows[:, :1]], axis=1)
    u0, v0, u1, v1 = BUST_UV_BOX
    uu, vv = np.meshgrid(u0 + (u1 - u0) * np.arange(nu + 1) / nu, v1 - (v1 - v0) * np.arange(nb + 1) / nb)
    uv = np.stack([uu, vv], axis=-1)
    quads = np.stack([ids[:-1, :-1], ids[1:, :-1], ids[1:, 1:], ids[:-1, 1:]], axis=-1).reshape(-1, 4)
    quv = np.stack([uv[:-1, :-1], uv[1:, :-1], uv[1:, 1:], uv[:-1, 1:]], axis=-2).reshape(-1, 4, 2)
    body = np.vstack([gid[attach:], bust])
    k = len(body)
    fractions = (np.arange(1, k + 1) / k) ** 1.25   # finer on the neck
    return attach, body, fractions, quads, quv


def build_topology(level: int = 1) -> HeadTopology:
    """Construct the (uncached) topology for a subdivision level (0, 1 or 2)."""
    if level not in LEVEL_FACTOR:
        raise ValueError(f"level must be one of {sorted(LEVEL_FACTOR)}")
    from .params import derive_params
    from .controls import HeadControls
    from .surface import face_depth

    f = LEVEL_FACTOR[level]
    nu, nv = 72 * f, 56 * f
    theta = theta_of_u(2.0 * np.arange(nu) / nu - 1.0)
    phi = _phi_rows(nv)
    tp = derive_params(HeadControls(), age=30.0, sex=0.5)

    # --- blocks replaced by ring patches (placed on the template face)
    def depth_at(x, z):
        return float(face_depth(np.array([x]), np.array([z]), tp)[0])

    ex = tp.eye_x
    blk_r = _block_for(-ex - 0.0225, -ex + 0.0225, tp.eye_z - 0.0165, tp.eye_z + 0.0180,
                       depth_at(-ex, 0.0) + 0.006, nu, phi)
    blk_l = (nu - blk_r[1], nu - blk_r[0], blk_r[2], blk_r[3])
    blk_m = _block_for(-0.040, 0.040, tp.z_sto - 0.0185, tp.z_sto + 0.0155,
                       depth_at(0.0, tp.z_sto), nu, phi)
    # keep the mouth block symmetric about the front column nu/2
    half = max(nu // 2 - blk_m[0], blk_m[1] - nu // 2)
    blk_m = (nu // 2 - half, nu // 2 + half, blk_m[2], blk_m[3])

    b = _Builder()
    removed = np.zeros((nv, nu), dtype=bool)
    for (i0, i1, j0, j1) in (blk_r, blk_l, blk_m):
        removed[j0 + 1:j1, i0 + 1:i1] = True
    gid = np.full((nv, nu), -1, dtype=np.int64)
    keep = ~removed
    gid[keep] = b.add_verts(int(keep.sum()))

    # grid quads (periodic in i); cells inside blocks removed
    ids = np.concatenate([gid, gid[:, :1]], axis=1)
    cell_ok = np.ones((nv - 1, nu), dtype=bool)
    for (i0, i1, j0, j1) in (blk_r, blk_l, blk_m):
        cell_ok[j0:j1, i0:i1] = False
    quads = np.stack([ids[:-1, :-1], ids[1:, :-1], ids[1:, 1:], ids[:-1, 1:]], axis=-1)
    ii = np.arange(nu + 1)[None, :].repeat(nv, 0)
    jj = np.arange(nv)[:, None].repeat(nu + 1, 1)
    uv_grid = np.stack([ii / nu, jj / (nv - 1.0)], axis=-1)  # raw (u, row) coords
    quv = np.stack([uv_grid[:-1, :-1], uv_grid[1:, :-1], uv_grid[1:, 1:], uv_grid[:-1, 1:]], axis=-2)
    grid_polys = quads[cell_ok]
    grid_uv_raw = quv[cell_ok]

    nb = BUST_ROWS * f
    attach, body_rows, body_fractions, bust_quads, bust_uv = _bust_rows(b, gid, phi, nb)
    keep[attach:] = False  # the neck rows are placed on the bust, not ray-cast
    fixed_ids = [gid[keep]]
    jg, ig = np.nonzero(keep)
    fixed_dirs = [dirs_from_angles(theta[ig], phi[jg])]

    # --- crown cap
    k = nu // 4
    cap = np.full((k + 1, k + 1), -1, dtype=np.int64)
    sq = _square_loop(k)
    shift = k // 2
    cap[sq[:, 0], sq[:, 1]] = gid[0, (np.arange(4 * k) + shift) % nu]
    inner = cap < 0
    cap[inner] = b.add_verts(int(inner.sum()))
    top_dirs = dirs_from_angles(theta[(np.arange(4 * k) + shift) % nu], np.full(4 * k, phi[0]))
    coons = _cap_coons(top_dirs[:, :2], k)
    cxy = coons[inner]
    cz = np.sqrt(np.clip(1.0 - (cxy ** 2).sum(-1), 0.0, 1.0))
    fixed_ids.append(cap[inner])
    fixed_dirs.append(np.column_stack([cxy, cz]))
    cap_polys = _grid_quads(cap)
    ca, cb = np.meshgrid(np.arange(k + 1), np.arange(k + 1), indexing="ij")
    cap_uvgrid = np.stack([ca / k, cb / k], axis=-1)
    cap_uv = np.stack([cap_uvgrid[:-1, :-1], cap_uvgrid[1:, :-1], cap_uvgrid[1:, 1:],
                       cap_uvgrid[:-1, 1:]], axis=-2).reshape(-1, 4, 2)

    # --- ring patches
    n_eye_lerp = 4 * f + 1
    eye_patches = {}
    for name, blk in (("R", blk_r), ("L", blk_l)):
        ptc = _make_patch(b, blk, gid, theta, phi, 3 + n_eye_lerp)
        kk = 3 + n_eye_lerp
        ptc.lerp_t = {r: ((r - 2) / (kk - 2)) ** 1.35 for r in range(3, kk)}
        eye_patches[name] = ptc
    n_lip = 2 * f + 1
    n_out = 4 * f
    mpt = _make_patch(b, blk_m, gid, theta, phi, n_lip + n_out)
    # contact -> vermilion, crowded toward the contact: the closed lips' edges meet there, and a
    # loop far above it would pull the subdivided contact line open into a dark slit
    lerp = {r: (r / n_lip) ** LIP_LOOP_CROWDING for r in range(1, n_lip + 1)}
    lerp.update({n_lip + r: 1.0 + (r / n_out) ** 1.05 for r in range(1, n_out)})  # -> border
    mpt.lerp_t = lerp
    m_mouth = mpt.rings.shape[1]
    cav = np.vstack([b.add_verts(m_mouth) for _ in range(4)])
    ma, mb = blk_m[1] - blk_m[0], blk_m[3] - blk_m[2]
    ccap = np.full((ma + 1, mb + 1), -1, dtype=np.int64)
    loop_local = mpt.loop_ij - np.array([blk_m[0], blk_m[2]])
    ccap[loop_local[:, 0], loop_local[:, 1]] = cav[-1]
    cin = ccap < 0
    ccap[cin] = b.add_verts(int(cin.sum()))

    # --- eyeballs
    n_lon = 16 * f
    lat = np.concatenate([[0.085, PUPIL_ANGLE], np.linspace(PUPIL_ANGLE, IRIS_ANGLE, 2 + f)[1:],
                          np.linspace(IRIS_ANGLE, np.pi - 0.2, 6 * f + 2)[1:]])
    ring_dirs = []
    for a in lat:
        lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
        ring_dirs.append(np.stack([np.sin(a) * np.cos(lon), -np.cos(a) * np.ones_like(lon),
                                   np.sin(a) * np.sin(lon)], axis=1))
    eye_unit = np.vstack([[0.0, -1.0, 0.0]] + ring_dirs + [[0.0, 1.0, 0.0]])
    eyeball_ids = {s: b.add_verts(eye_unit.shape[0]) for s in ("R", "L")}

    # --- teeth: arch strips with 4-vertex cross-sections
    teeth_ids, teeth_recipe = {}, {}
    per_tooth = 2 * f + 1
    widths = np.array([8.5, 6.5, 7.6, 7.0, 6.6, 10.0, 9.5])
    edges = np.concatenate([[0.0], np.cumsum(widths)]) / widths.sum()
    half = np.concatenate([np.linspace(edges[i], edges[i + 1], per_tooth + 1)[:-1]
                           for i in range(widths.size)] + [[1.0]])
    s_arch = np.concatenate([-half[::-1], half[1:]])
    boundary = np.isin(np.round(np.abs(s_arch), 9), np.round(edges, 9))
    tooth_index = np.minimum(np.searchsorted(edges, np.abs(s_arch), side="right") - 1, widths.size - 1)
    for name in ("teeth_upper", "teeth_lower"):
        teeth_ids[name] = b.add_verts(4 * s_arch.size)
        teeth_recipe[name] = np.column_stack([s_arch, boundary.astype(float), tooth_index])

    # ------------------------------------------------------------------ faces
    main_uv = _remap_main(grid_uv_raw)
    b.add_polys(grid_polys, "skin", main_uv)
    b.add_polys(cap_polys, "skin", 0.02 + 0.10 * cap_uv)
    b.add_polys(bust_quads, "skin", bust_uv)

    # (patch UVs are filled in from the template geometry by finalize_topology)
    for ptc in list(eye_patches.values()) + [mpt]:
        rings = ptc.rings
        quads = np.vstack([_ring_quads(rings[r], rings[r + 1]) for r in range(rings.shape[0] - 1)])
        b.add_polys(quads, "skin")
    # mouth cavity: continuation of the lip loops + back wall
    cav_loops = np.vstack([mpt.rings[0:1], cav])
    cav_quads = np.vstack([_ring_quads(cav_loops[r + 1], cav_loops[r]) for r in range(4)])
    cav_uv = np.zeros(cav_quads.shape + (2,))
    mm = np.arange(m_mouth)
    for r in range(4):
        u0, u1 = mm / m_mouth, (mm + 1) / m_mouth
        v0, v1 = (r + 1) / 4.0, r / 4.0
        cav_uv[r * m_mouth:(r + 1) * m_mouth] = np.stack(
            [np.column_stack([u0, np.full_like(u0, v0)]), np.column_stack([u1, np.full_like(u0, v0)]),
             np.column_stack([u1, np.full_like(u0, v1)]), np.column_stack([u0, np.full_like(u0, v1)])], axis=1)
    b.add_polys(cav_quads, "mouth_cavity", np.array([0.15, 0.02]) + cav_uv * np.array([0.50, 0.10]))
    cq = _grid_quads(ccap)
    ga, gb = np.meshgrid(np.arange(ma + 1) / ma, np.arange(mb + 1) / mb, indexing="ij")
    guv = np.stack([ga, gb], -1)
    cq_uv = np.stack([guv[:-1, :-1], guv[1:, :-1], guv[1:, 1:], guv[:-1, 1:]], axis=-2).reshape(-1, 4, 2)
    b.add_polys(cq, "mouth_cavity", np.array([0.68, 0.02]) + cq_uv * np.array([0.14, 0.10]))

    for side in ("R", "L"):
        _eyeball_faces(b, eyeball_ids[side], n_lon, lat, side)
    for name in ("teeth_upper", "teeth_lower"):
        _teeth_faces(b, teeth_ids[name], s_arch.size, name)

    poly_list = [row for block in b.polys for row in block]
    uv_list = [row for block in b.uvs for row in block]
    parts = np.concatenate(b.parts)
    poly_list, uv_list = _orient(poly_list, uv_list, parts, b.n)
    lengths = np.array([len(p) for p in poly_list])
    poly_starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    poly_verts = np.concatenate(poly_list).astype(np.int64)
    corner_uv = np.concatenate(uv_list)
    # a vertex shared by several parts (lip contact loop) belongs to the lowest id (skin)
    vertex_part = np.full(b.n, len(PART_NAMES), dtype=np.int16)
    np.minimum.at(vertex_part, poly_verts, np.repeat(parts, lengths).astype(np.int16))

    topo = HeadTopology(
        level=level, n_verts=b.n, poly_starts=poly_starts, poly_verts=poly_verts,
        face_part=parts, corner_uv=corner_uv, vertex_part=vertex_part,
        ray_fixed_ids=np.concatenate(fixed_ids), ray_fixed_dirs=np.vstack(fixed_dirs),
        eye_patches=eye_patches, mouth_patch=mpt, mouth_lip_rings=n_lip,
        cavity_rings=cav, cavity_cap=ccap, eyeball_ids=eyeball_ids, eyeball_unit=eye_unit,
        teeth_ids=teeth_ids, teeth_recipe=teeth_recipe, grid_shape=(nv, nu),
        grid_theta=theta, grid_phi=phi, grid_ids=gid, attach_row=attach, body_rows=body_rows, body_fractions=body_fractions,
    )
    return topo


def remap_u(u: np.ndarray) -> np.ndarray:
    """Column coordinate -> texture u; the face (|azimuth| < ~72 deg) gets 86% of the width."""
    return np.interp(u, [0.0, 0.19, 0.81, 1.0], [0.0, 0.07, 0.93, 1.0])


def remap_v(row: np.ndarray) -> np.ndarray:
    """Row coordinate (0 top .. 1 neck) -> texture v inside the main island."""
    return np.interp(row, [0.0, 0.12, 0.97, 1.0], [1.0, 0.955, 0.17, 0.14])


def _remap_main(uv: np.ndarray) -> np.ndarray:
    out = uv.copy()
    out[..., 0] = remap_u(uv[..., 0])
    out[..., 1] = remap_v(uv[..., 1])
    return out


def _eyeball_faces(b: _Builder, ids: np.ndarray, n_lon: int, lat: np.ndarray, side: str) -> None:
    front, back = ids[0], ids[-1]
    rings = ids[1:-1].reshape(lat.size, n_lon)
    nxt = np.roll(np.arange(n_lon), -1)
    prefix = f"eye_{side}_"

    def part_of(a: float) -> str:
        return prefix + ("pupil" if a <= PUPIL_ANGLE + 1e-3 else "iris" if a <= IRIS_ANGLE + 1e-3 else "sclera")

    uv_of = lambda a, lon: 0.5 + 0.5 * (a / np.pi) * np.stack([np.cos(lon), np.sin(lon)], -1)  # noqa: E731
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    tris = np.stack([np.full(n_lon, front), rings[0][nxt], rings[0]], axis=1)
    tuv = np.stack([np.tile([0.5, 0.5], (n_lon, 1)), uv_of(lat[0], lon[nxt]), uv_of(lat[0], lon)], 1)
    b.add_polys(tris, part_of(lat[0]), tuv)
    for r in range(lat.size - 1):
        q = np.stack([rings[r], rings[r][nxt], rings[r + 1][nxt], rings[r + 1]], axis=1)
        quv = np.stack([uv_of(lat[r], lon), uv_of(lat[r], lon[nxt]), uv_of(lat[r + 1], lon[nxt]),
                        uv_of(lat[r + 1], lon)], 1)
        b.add_polys(q, part_of(lat[r + 1]), quv)
    tris = np.stack([rings[-1], rings[-1][nxt], np.full(n_lon, back)], axis=1)
    tuv = np.stack([uv_of(lat[-1], lon), uv_of(lat[-1], lon[nxt]), np.tile([0.5, 0.5], (n_lon, 1))], 1)
    b.add_polys(tris, prefix + "sclera", tuv)


def _teeth_faces(b: _Builder, ids: np.ndarray, n: int, part: str) -> None:
    sec = ids.reshape(n, 4)
    quads = []
    for c in range(4):
        c2 = (c + 1) % 4
        quads.append(np.stack([sec[:-1, c], sec[1:, c], sec[1:, c2], sec[:-1, c2]], axis=1))
    quads.append(sec[:1, ::-1])
    quads.append(sec[-1:, :])
    q = np.vstack(quads)
    s = np.linspace(0, 1, n)
    uv = np.zeros(q.shape + (2,))
    row = 0
    for c in range(4):
        v0, v1 = c / 4, (c + 1) / 4
        uv[row:row + n - 1] = np.stack([np.column_stack([s[:-1], np.full(n - 1, v0)]),
                                        np.column_stack([s[1:], np.full(n - 1, v0)]),
                                        np.column_stack([s[1:], np.full(n - 1, v1)]),
                                        np.column_stack([s[:-1], np.full(n - 1, v1)])], 1)
        row += n - 1
    b.add_polys(q, part, uv)


def _orient(polys: list, uvs: list, parts: np.ndarray, n_verts: int):
    """Make polygon winding consistent within each connected surface (BFS).

    Construction mixes several parameterisations; instead of reasoning about
    each winding we propagate one face's orientation through shared edges.
    The global (outward) choice is fixed later from the template geometry.
    """
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for fi, p in enumerate(polys):
        for a, c in zip(p, np.roll(p, -1)):
            key = (a, c) if a < c else (c, a)
            edge_faces.setdefault(key, []).append(fi)
    flip = np.zeros(len(polys), dtype=bool)
    seen = np.zeros(len(polys), dtype=bool)

    def directed(fi: int) -> set:
        p = polys[fi][::-1] if flip[fi] else polys[fi]
        return set(zip(p.tolist(), np.roll(p, -1).tolist()))

    for start in range(len(polys)):
        if seen[start]:
            continue
        seen[start] = True
        stack = [start]
        while stack:
            fi = stack.pop()
            de = directed(fi)
            for a, c in de:
                key = (a, c) if a < c else (c, a)
                for nb in edge_faces[key]:
                    if seen[nb]:
                        continue
                    nb_edges = directed(nb)
                    if (a, c) in nb_edges:  # same direction -> inconsistent
                        flip[nb] = True
                    seen[nb] = True
                    stack.append(nb)
    out_p, out_uv = [], []
    for fi, p in enumerate(polys):
        if flip[fi]:
            out_p.append(p[::-1])
            out_uv.append(uvs[fi][::-1])
        else:
            out_p.append(p)
            out_uv.append(uvs[fi])
    return out_p, out_uv

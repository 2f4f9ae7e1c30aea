"""The FACS AU rig: per-identity shape-key targets built from the head's own geometry.

Every target is a displacement field (V, 3) in metres at full activation (intensity E, rig
weight 1), scaled by the identity's inter-ocular distance and bounded by the head's
anatomical regions, following the FACS description of each AU (docs/rig.md):

- Lid actions (AU5, AU6's push on the lower lid, AU7, AU43, AU45) rotate lid tissue about
  the eyeball centre, which keeps every lid vertex at its distance from the eyeball: lids
  slide over the eye and never through it. Their turn angles are relaxed near the canthi
  until no action, nor any blend of them, turns a face over.
- Soft-tissue actions (brows, cheeks, nose, lips, chin) are smooth fields that move the
  texture with the tissue; they leave the lids alone.
- The jaw (AU26, AU27) rotates the lower face, lower lip, lower teeth and the lower mouth
  cavity about the temporomandibular axis.
- The soft-tissue actions that meet at the mouth (AU6, AU9, AU10, AU12, AU15, AU17, AU20, AU23,
  AU25) are relaxed together until no combination of them, at any intensities, turns a face
  over: stacked lip actions would otherwise squeeze the skin beside the mouth corner past flat.

Combinations that would make lids or the jaw double back are resolved by suppression: a
closed eye (AU43 or AU45) switches off lid raising and the lower-lid push, and AU27's
larger jaw opening switches off AU26. The Blender layer turns `suppressed_by` into drivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import facs
from .head.geometry import TONGUE_LOW, _lid_angles, eye_centre
from .head.mesh import HeadMesh
from .head.surface import smoothstep
from .head.topology import PART_ID
from .raster import vertex_normals

EYES_CLOSED = ("AU43", "AU45")
MARGIN_RINGS = 3  # tucked, back and front loops of the lid margin (pain3d.head.geometry.eye_loops)
MARGIN_SHELTER = (1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.75, 0.6, 0.45, 0.3, 0.15)  # lid share of the eye loops, inner first
MARGIN_MOBILITY = 0.2  # how readily the margin loops give way when a lid turn is relaxed (_unfold)
LID_OVERLAP = 0.06  # radians the closed upper lid passes the lower margin, so no eye shows
CONDYLE_GLIDE = 0.0004  # metres forward per degree of jaw opening beyond 6 degrees
JAW_CORNER = 0.2  # share of the jaw's turn that the mouth corners follow
MOUTH_CORNER_CORE = (0.002, 0.005)  # metres within which a mouth corner moves as one piece, fading out
MOUTH_ACTIONS = ("AU6", "AU9", "AU10", "AU12", "AU15", "AU17", "AU20", "AU23", "AU25")  # soft tissue meeting at the mouth
BLEND_MARGIN = 0.02  # least share of its rest area a face keeps (along its rest normal) in any blend of them
BLEND_SPREAD = 4  # edge rings beyond their reach into which relaxed mouth fields may spread (_unfold_blends)


@dataclass(frozen=True)
class RigTarget:
    """One shape key: which AU drives it, on which side, and what switches it off."""

    name: str
    au: str
    side: str = ""
    suppressed_by: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """The AU keys whose largest intensity drives this target (AU4 and AU4L for AU4_L)."""
        return (self.au, self.au + self.side) if self.side else (self.au,)


def targets() -> list[RigTarget]:
    """Every shape key of the rig, in catalog order."""
    out = []
    for key, au in facs.catalog().items():
        suppress = _SUPPRESSION.get(key, ())
        sides = ("L", "R") if au.sides else ("",)
        for side in sides:
            name = f"{key}_{side}" if side else key
            out.append(RigTarget(name, key, side, suppress))
            if key == "AU6":  # the cheek raiser's push on the lower lid is a lid action
                out.append(RigTarget(f"{name}_lid", key, side, EYES_CLOSED))
    return out


_SUPPRESSION = {"AU5": EYES_CLOSED, "AU7": EYES_CLOSED, "AU45": ("AU43",), "AU26": ("AU27",)}


# --- the frame of one face -----------------------------------------------------------------


def iod_eye_centres(head: HeadMesh) -> float:
    """Distance between the eyeball centres: the face's own unit of size (rig scale, heat scale)."""
    return float(np.linalg.norm(head.landmarks["eye_centre_L"] - head.landmarks["eye_centre_R"]))


@dataclass
class Face:
    """Positions and anatomical weights of one head that the AU fields are built from."""

    head: HeadMesh
    v: np.ndarray
    iod: float
    skin: np.ndarray  # 1 on skin and mouth-cavity vertices, 0 on eyes and teeth
    outer: np.ndarray  # 1 on the outer skin only
    edges: np.ndarray  # (E, 2) vertex pairs, for smoothing fields over the surface
    triangles: np.ndarray  # (T, 3) fan triangulation, for fold checks
    cache: dict = field(default_factory=dict)  # fields (and smoothing's neighbour lists) shared by several targets

    @classmethod
    def of(cls, head: HeadMesh) -> "Face":
        v = head.vertices
        iod = iod_eye_centres(head)
        soft = np.isin(head.vertex_part, [PART_ID["skin"], PART_ID["mouth_cavity"]]).astype(float)
        outer = (head.vertex_part == PART_ID["skin"]).astype(float)
        return cls(head, v, iod, soft, outer, head.topology.edges, _triangles(head))

    def region(self, name: str) -> np.ndarray:
        """A region's weights on the outer skin; the lip regions extend into the lining.

        The first pocket loop behind the lips takes its lip column's weight, so the strip from
        the lip contact line into the mouth moves with the lip instead of shearing.
        """
        weights = np.clip(self.head.regions[name], 0.0, 1.0) * self.outer
        if name.startswith(("upper_lip", "lower_lip", "lip_corner")):
            topology = self.head.topology
            weights[topology.cavity_rings[0]] = weights[topology.mouth_patch.rings[0]]
        return weights

    def smooth(self, values: np.ndarray, iterations: int = 8) -> np.ndarray:
        """Surface-neighbour averaging of a per-vertex field (removes kinks that fold faces)."""
        if "neighbours" not in self.cache:  # each edge seen from both ends: one sum per vertex
            owner = np.concatenate([self.edges[:, 0], self.edges[:, 1]])
            other = np.concatenate([self.edges[:, 1], self.edges[:, 0]])
            degree = np.maximum(np.bincount(owner, minlength=len(self.v)), 1)
            self.cache["neighbours"] = (owner, other, degree)
        owner, other, degree = self.cache["neighbours"]
        for _ in range(iterations):
            values = 0.5 * values + 0.5 * np.bincount(owner, values[other], len(values)) / degree
        return values

    def sided(self, base: str, side: str) -> np.ndarray:
        return self.region(f"{base}_{side}")

    def side_weight(self, side: str) -> np.ndarray:
        """Smooth 0/1 split at the midline (L = +X), so L + R targets add up to the bilateral one."""
        left = smoothstep(-0.003, 0.003, self.v[:, 0])
        return left if side == "L" else 1.0 - left

    @property
    def lids(self) -> np.ndarray:
        """Lid weights; the margin loops count as lid right into the canthi, where the regions fade."""
        names = [f"{p}_eyelid_{s}" for p in ("upper", "lower") for s in ("L", "R")]
        lids = np.clip(sum(self.region(n) for n in names), 0.0, 1.0)
        for patch in self.head.topology.eye_patches.values():  # the margins, right into the canthi
            for k, share in enumerate(MARGIN_SHELTER):
                lids[patch.rings[k]] = np.maximum(lids[patch.rings[k]], share)
        return lids

    @property
    def off_lids(self) -> np.ndarray:
        """Soft-tissue fields fade out over the lids: only lid actions move lids."""
        return self.skin * (1.0 - self.lids)

    def normals(self) -> np.ndarray:
        """Unit vertex normals of the rest surface (area-weighted over the fan triangles)."""
        if "normals" not in self.cache:
            self.cache["normals"] = vertex_normals(self.v, self.triangles)
        return self.cache["normals"]

    def lateral(self) -> np.ndarray:
        """+1 on the subject's left, -1 on the right (for medial/lateral motions)."""
        return np.tanh(self.v[:, 0] / 0.004)


def _vec(w: np.ndarray, dx: np.ndarray | float, dy: np.ndarray | float, dz: np.ndarray | float) -> np.ndarray:
    return np.stack([w * dx, w * dy, w * dz], axis=1)


# --- lid actions ---------------------------------------------------------------------------


def _turn_down(points: np.ndarray, pivot: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Displacement turning points about the horizontal (X) axis through `pivot` by `phi` radians.

    Positive angles turn what lies in front of the pivot (-Y) downward; distance to the axis is kept.
    """
    d = points - pivot
    cos, sin = np.cos(phi), np.sin(phi)
    out = np.zeros_like(points)
    out[..., 1] = d[..., 1] * cos - d[..., 2] * sin - d[..., 1]
    out[..., 2] = d[..., 1] * sin + d[..., 2] * cos - d[..., 2]
    return out


def _lid_turn(face: Face, side: str, weights: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Turn angle (about the eye centre, positive: downward) of lid tissue, weighted and smoothed."""
    phi = face.smooth(weights * _on_globe(face, face.v - eye_centre(face.head.params, side)) * angle) * face.skin
    rings = face.head.topology.eye_patches[side].rings
    phi[rings[:MARGIN_RINGS]] = phi[rings[MARGIN_RINGS - 1]]  # the margin turns as one piece
    return phi


def _lid_turns(face: Face, side: str) -> dict[str, np.ndarray]:
    """The lid-turn fields of one eye, relaxed so that no lid action or blend of them folds a face.

    "close": the upper lid's turn onto the lower margin (AU43, AU45; they switch the rest off).
    "upper", "lower": each lid's turn by the whole aperture; AU5, AU7 and AU6's lid push turn
    the lids by shares of them (LID_SHARES) and are relaxed together, as they blend. Both eyes
    are relaxed in one pass: their fields share no face, so each eye's result is its own.
    """
    key = ("lid_turns", side)
    if key not in face.cache:
        close, upper, lower = [], [], []
        for s in ("L", "R"):
            gap = _lid_gap(face, s)
            up, low = face.sided("upper_eyelid", s), face.sided("lower_eyelid", s)
            overlap = LID_OVERLAP * smoothstep(0.0, 0.25, gap)  # none at the canthi, where the margins already meet
            close.append(_lid_turn(face, s, up, gap + overlap))
            upper.append(_lid_turn(face, s, up, gap))
            lower.append(_lid_turn(face, s, low, gap))
        (close,) = _unfold(face, [sum(close)], [(1.0,)])
        upper, lower = _unfold(face, [sum(upper), sum(lower)], list(LID_SHARES.values()))
        for s in ("L", "R"):
            own = (face.v[:, 0] > 0.0) == (s == "L")
            face.cache[("lid_turns", s)] = {"close": close * own, "upper": upper * own, "lower": lower * own}
    return face.cache[key]


LID_SHARES = {"AU5": (-0.10, 0.0), "AU7": (0.08, -0.36), "AU6_lid": (0.0, -0.55)}  # (upper, lower) aperture shares


def _triangles(head: HeadMesh) -> np.ndarray:
    """Fan triangulation (T, 3) of every polygon, as the fold checks see it."""
    sizes = np.diff(head.poly_starts)
    first = np.repeat(head.poly_starts[:-1], sizes - 2)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(sizes - 2) - (sizes - 2), sizes - 2)
    verts = head.poly_verts
    return np.stack([verts[first], verts[first + offset + 1], verts[first + offset + 2]], axis=1)


def _unfold(face: Face, fields: list[np.ndarray], actions: list[tuple[float, ...]],
            iterations: int = 400) -> list[np.ndarray]:
    """Relax lid-turn fields where an action, or a blend of actions, would turn faces over or crush them.

    Each action turns the lids by a mix of the fields; shape keys blend linearly, so every
    blend of the actions at weights 0, 1/2 and 1 is checked. Near the canthi the margin loops
    crowd and the tucked loop runs sideways under the margin, so column-wise turns shear faces
    past flat: wherever a face that the turns reach would flip or lose most of its area, its
    corners move toward the face's mean turn (a face turned as one piece keeps its shape; the
    margin loops give way least, so the lids still close), until none does. Only faces whose
    corners changed are checked again. Each side of the face turns about its own eye's centre.
    """
    rings = np.concatenate([face.head.topology.eye_patches[s].rings for s in ("L", "R")], axis=1)
    moving = np.zeros(len(face.v), bool)
    moving[rings.ravel()] = True
    for f in fields:
        moving |= f != 0.0
    tris = face.triangles[moving[face.triangles].any(axis=1)]  # every face a turn reaches
    local = np.concatenate([rings.ravel(), np.setdiff1d(tris, rings)])
    index = np.full(len(face.v), -1)
    index[local] = np.arange(len(local))
    tris = index[tris]
    v, local_fields = face.v[local], np.stack([f[local] for f in fields])
    c = np.where(v[:, :1] > 0.0, eye_centre(face.head.params, "L"), eye_centre(face.head.params, "R"))
    n0 = _normals(v, tris)
    a0 = np.linalg.norm(n0, axis=1)
    tris, n0, a0 = tris[a0 > 1e-12], n0[a0 > 1e-12], a0[a0 > 1e-12]
    mixes = np.array(actions)
    grid = np.stack(np.meshgrid(*[[0.0, 0.5, 1.0]] * len(actions), indexing="ij"), axis=-1).reshape(-1, len(actions))
    blends = grid[grid.sum(axis=1) > 0]
    columns = rings.shape[1]
    mobility = np.ones(len(local))
    mobility[columns:3 * columns] = MARGIN_MOBILITY  # the margin loops (rings 1 and 2) give way least
    active = np.ones(len(tris), bool)  # faces whose corners turned differently since they were checked
    for _ in range(iterations):
        check = tris[active]
        at = v[check]
        turns = np.stack([_turn_down(at, c[check], (m @ local_fields)[check]) for m in mixes])  # (A, F, 3, 3)
        moved = at + np.tensordot(blends, turns, axes=1)  # (B, F, 3, 3)
        n1 = _normals_of(moved)
        a1 = np.linalg.norm(n1, axis=-1)
        bad = (((n0[active] * n1).sum(axis=-1) <= 0.05 * a0[active] * a1) | (a1 <= 0.01 * a0[active])).any(axis=0)
        if not bad.any():
            break
        corners = check[bad].ravel()
        count = np.bincount(corners, minlength=len(local))
        hit = count > 0
        for f in local_fields:
            total = np.bincount(corners, np.repeat(f[check[bad]].mean(axis=1), 3), len(local))
            f[hit] += mobility[hit] * (total[hit] / count[hit] - f[hit])
        active = hit[tris].any(axis=1)
    out = [f.copy() for f in fields]
    for f, g in zip(out, local_fields):
        f[local] = g
    return out


def _normals(v: np.ndarray, tris: np.ndarray) -> np.ndarray:
    return _normals_of(v[tris])


def _normals_of(corners: np.ndarray) -> np.ndarray:
    """Area-weighted normals of triangles given as (..., 3 corners, 3)."""
    a = corners[..., 1, :] - corners[..., 0, :]
    b = corners[..., 2, :] - corners[..., 0, :]
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def _on_globe(face: Face, offset: np.ndarray) -> np.ndarray:
    """1 for lid tissue lying on the eyeball, fading out by 9 mm above it (orbit skin stays)."""
    height = np.linalg.norm(offset, axis=1) - face.head.params.eye_r
    return 1.0 - smoothstep(0.003, 0.009, height)


def _lid_gap(face: Face, side: str) -> np.ndarray:
    """Angle (about the eye's horizontal axis) between upper and lower lid margins, by vertex.

    Taken from the head's own lid model: vertices of the eye's ring patch use their column's
    margin angles, so each column of the lid turns as one piece; other vertices look the gap
    up by their horizontal angle around the eye. Zero at and beyond the canthi.
    """
    p = face.head.params
    psi = np.linspace(0.0, np.pi, 181)
    alpha, _ = _lid_angles(psi, p, side)
    gap = _margin_gap(psi, p, side)
    d = face.v - eye_centre(p, side)
    order = np.argsort(alpha)
    per_vertex = np.interp(np.arctan2(d[:, 0], -d[:, 1]), alpha[order], gap[order], left=0.0, right=0.0)
    patch = face.head.topology.eye_patches[side]
    per_vertex[patch.rings] = _margin_gap(np.abs(patch.psi), p, side)[None, :]
    return np.maximum(per_vertex, 0.0)


def _margin_gap(psi: np.ndarray, p, side: str) -> np.ndarray:
    """Upper-minus-lower margin angle for loop angles psi in [0, pi] (the upper half)."""
    alpha, b_up = _lid_angles(psi, p, side)
    _, b_lo = _lid_angles(-psi, p, side)
    return _yz_angle(alpha, b_up) - _yz_angle(alpha, b_lo)


def _yz_angle(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Angle in the eye's y-z plane of a lid direction (alpha, beta), measured from the front."""
    y = -np.cos(alpha) * np.cos(beta)
    z = np.sin(beta)
    return np.arctan2(z, -y)


def lid_close(face: Face, side: str) -> np.ndarray:
    """AU43/AU45: the upper lid comes down over the eye to just past the lower margin."""
    return _turn_down(face.v, eye_centre(face.head.params, side), _lid_turns(face, side)["close"])


def lid_action(face: Face, side: str, action: str) -> np.ndarray:
    """AU5 (the upper lid lifts), AU7 (the lower lid rises by 36% of the aperture, the upper lid
    coming down a little) and AU6's push on the lower lid (55% of the aperture)."""
    turns = _lid_turns(face, side)
    up, low = LID_SHARES[action]
    return _turn_down(face.v, eye_centre(face.head.params, side), up * turns["upper"] + low * turns["lower"])


# --- soft tissue ---------------------------------------------------------------------------


def brow_fields(face: Face, side: str, au: str) -> np.ndarray:
    """AU1 (inner brow up), AU2 (outer brow up), AU4 (brows down and together)."""
    s, x, z = face.iod, np.abs(face.v[:, 0]), face.v[:, 2]
    brow = face.sided("brow", side) + 0.7 * face.region("forehead") * face.side_weight(side)
    brow = np.clip(brow, 0, 1) * face.off_lids
    if au == "AU1":
        inner = np.exp(-((x - 0.25 * s) / (0.35 * s)) ** 2)
        w = (brow * inner + 0.5 * face.region("glabella") * face.side_weight(side)) * face.off_lids
        return _along_skin(face, _vec(w, 0.0, 0.0, 0.11 * s))
    if au == "AU2":
        outer = smoothstep(0.35 * s, 0.75 * s, x)
        return _along_skin(face, _vec(brow * outer, 0.0, 0.0, 0.10 * s))
    low = 1.0 - smoothstep(face.head.params.z_brow + 0.01, face.head.params.z_brow + 0.035, z)
    w = (face.sided("brow", side) + 0.9 * face.region("glabella") * face.side_weight(side)
         + 0.5 * face.region("forehead") * face.side_weight(side) * low)
    w = np.clip(w, 0, 1) * face.off_lids
    medial = -face.lateral() * 0.07 * s * np.exp(-((x - 0.3 * s) / (0.5 * s)) ** 2)
    return _vec(w, medial, -0.015 * s, -0.11 * s)


def _along_skin(face: Face, delta: np.ndarray) -> np.ndarray:
    """The frontalis slides the scalp and brow skin over the skull: each vertex's move turned
    into its rest tangent plane, its length kept. Lifted straight up, the sloping forehead would
    stand proud of itself (by lift x the normal's upward share: 2-3 mm under the hairline)."""
    n = face.normals()
    along = delta - (delta * n).sum(1, keepdims=True) * n
    length, kept = np.linalg.norm(delta, axis=1), np.linalg.norm(along, axis=1)
    return along * (length / np.maximum(kept, 1e-12))[:, None]


def cheek_raise(face: Face, side: str) -> np.ndarray:
    """AU6: cheek and infraorbital triangle up and forward (lids handled by AU6_*_lid).

    A uniform lift barely shows on a smooth cheek, so the tissue also bunches: the malar fat pad
    bulges into a rounded apple below the eye, and the skin pushed up under the lower lid bags
    forward, leaving the infraorbital furrow between them (FACS manual, AU6 appearance changes).
    """
    s = face.iod
    p = face.head.params
    w = np.clip(face.sided("cheek", side) + face.sided("infraorbital", side), 0, 1) * face.off_lids
    out = _vec(w, 0.0, -0.05 * s, 0.12 * s)
    dx = face.v[:, 0] - (1.0 if side == "L" else -1.0) * p.eye_x
    dz = face.v[:, 2] - p.eye_z
    front = face.outer * face.off_lids * smoothstep(-0.04, -0.06, face.v[:, 1]) * face.side_weight(side)
    bag = front * np.exp(-(dx / 0.013) ** 2 - ((dz + 0.014) / 0.0035) ** 2)
    apple = front * np.exp(-(dx / 0.016) ** 2 - ((dz + 0.027) / 0.010) ** 2)
    out += _vec(bag, 0.0, -0.04 * s, 0.05 * s)
    out += _vec(apple, 0.0, -0.08 * s, 0.0)
    return out


def nose_wrinkle(face: Face) -> np.ndarray:
    """AU9: nasal wings up and flared, the upper nasolabial furrow deepened, infraorbital triangle up,
    the bridge skin bunched, brows drawn down.

    FACS says AU9 may also lift the upper lip; that motion is left to AU10, which owns the lip.
    """
    s, z = face.iod, face.v[:, 2]
    p = face.head.params
    alae = face.region("nose_alae")
    bridge = face.region("nose_bridge") * smoothstep(p.z_tip + 0.005, p.z_nasion, z)
    infra = face.region("infraorbital_L") + face.region("infraorbital_R")
    # the upper nasolabial furrow deepens: the cheek beside the ala bulges forward and up
    furrow = (face.region("nasolabial_L") + face.region("nasolabial_R")) * smoothstep(p.z_sto + 0.004, p.z_sn, z)
    out = _vec(alae * face.off_lids, 0.012 * s * face.lateral(), -0.015 * s, 0.11 * s)  # up, and flared
    out += _vec(furrow * face.off_lids, 0.0, -0.03 * s, 0.05 * s)
    out += _vec(bridge * face.off_lids, 0.0, 0.0, -0.025 * s)  # bunching is drawn by the wrinkle map
    out += _vec(infra * face.off_lids, 0.0, -0.015 * s, 0.06 * s)
    out += _vec(face.region("glabella") * face.off_lids, 0.0, 0.0, -0.02 * s)
    return out


def upper_lip_raise(face: Face, side: str) -> np.ndarray:
    """AU10: the upper lip rises (most beside the philtrum) and the nasolabial fold deepens; the
    lip corners stay closed (the raised lip squares off; an open corner shows the dark mouth as a
    tear at side views)."""
    s, x = face.iod, np.abs(face.v[:, 0])
    sw = face.side_weight(side)
    half = face.head.params.mouth_w
    corner = smoothstep(0.98 * half, 0.55 * half, x)  # 1 in the middle of the lip, 0 at the corner
    lip = face.region("upper_lip") * sw * corner * (0.6 + 0.4 * np.exp(-((x - 0.12 * s) / (0.25 * s)) ** 2))
    out = _vec(lip * face.off_lids, 0.0, -0.015 * s, 0.08 * s)
    fold = face.sided("nasolabial", side)
    out += _vec(fold * face.off_lids, 0.0, -0.03 * s, 0.04 * s)
    out += _vec(face.sided("nose_ala", side) * face.off_lids, 0.0, 0.0, 0.025 * s)
    return out


def lip_corner(face: Face, side: str, au: str) -> np.ndarray:
    """AU12 (corners up and back), AU15 (corners down), AU20 (corners stretched sideways)."""
    s = face.iod
    w = np.sqrt(face.sided("lip_corner", side)) * face.off_lids  # wide, so the skin beside the corner follows
    out_dir = face.lateral()
    if au == "AU12":
        out = _vec(w, 0.07 * s * out_dir, 0.04 * s, 0.07 * s)
        out += _vec(face.sided("cheek", side) * 0.5 * face.off_lids, 0.0, -0.02 * s, 0.03 * s)
        out += _vec(face.sided("nasolabial", side) * face.off_lids, 0.01 * s * out_dir, -0.02 * s, 0.03 * s)
        return out
    if au == "AU15":
        return _vec(w, 0.01 * s * out_dir, 0.0, -0.07 * s)
    return _vec(w, 0.09 * s * out_dir, 0.015 * s, -0.01 * s)


def chin_raise(face: Face) -> np.ndarray:
    """AU17: the chin boss pushes up and the lower lip pouts up and out."""
    s = face.iod
    out = _vec(face.region("chin") * face.off_lids, 0.0, -0.01 * s, 0.05 * s)
    lower = face.region("lower_lip") * _away_from_contact(face)
    out += _vec(lower * face.off_lids, 0.0, -0.03 * s, 0.025 * s)
    return out


def lip_tighten(face: Face) -> np.ndarray:
    """AU23: lips narrow and thin toward the contact line, which itself stays put."""
    s, p = face.iod, face.head.params
    lips = np.clip(face.region("upper_lip") + face.region("lower_lip"), 0, 1) * face.off_lids
    thin = np.stack([np.zeros(len(lips)), np.zeros(len(lips)), -(face.v[:, 2] - p.z_sto) * 0.3], axis=1)
    inward = _vec(np.ones(len(lips)), -0.035 * s * face.lateral() * smoothstep(0.0, 0.6, np.abs(face.v[:, 0]) / (0.45 * s)),
                  0.01 * s, 0.0)
    return (thin + inward) * lips[:, None]


def lips_part(face: Face) -> np.ndarray:
    """AU25: the lips part at the contact line, the lower lip falling more than the upper rises."""
    s = face.iod
    lower = face.region("lower_lip") * face.off_lids
    upper = face.region("upper_lip") * face.off_lids
    return _vec(lower, 0.0, 0.0, -0.07 * s) + _vec(upper, 0.0, 0.0, 0.02 * s)


def jaw_open(face: Face, degrees: float) -> np.ndarray:
    """AU26/AU27: rotate the lower face, lower lip, lower teeth and lower cavity about the jaw hinge,
    and glide it forward as the condyles translate in a wide opening (without the glide the jaw's
    angle swings back into the neck)."""
    lm = face.head.landmarks
    hinge = 0.5 * (lm["tragus_L"] + lm["tragus_R"]) + np.array([0.0, -0.010, -0.012])
    weights = jaw_weights(face)
    glide = CONDYLE_GLIDE * max(degrees - 6.0, 0.0) * weights
    turned = _turn_down(face.v, hinge, np.radians(degrees) * weights)  # the chin goes down and back
    return turned + _vec(glide, 0.0, -1.0, -0.3)


def jaw_weights(face: Face) -> np.ndarray:
    """How fully each vertex follows the mandible (1 rigid, 0 still).

    Outer skin: the head's jaw region, smoothed widely over the surface so cheeks and neck
    stretch instead of folding. Lips and the first pocket loop behind them: by mouth column,
    so each column (lip, contact line and the lining behind it) turns as one piece. Deeper
    lining: by height below the lip contact line, so the pocket opens like a sack. Lower
    teeth: rigidly.
    """
    head, z = face.head, face.v[:, 2]
    jaw = np.clip(head.regions["jaw"], 0.0, 1.0) * face.outer
    skin = np.maximum(face.smooth(jaw, 32), face.region("lower_lip") * face.outer) * face.outer
    b = head.params.bust  # the neck stretches down to the larynx; below it (collars, scarves) it stays
    skin *= smoothstep(b.z_larynx - 0.015, b.z_larynx + 0.02, z)
    lining = smoothstep(head.params.z_sto + 0.001, head.params.z_sto - TONGUE_LOW, z)  # the tongue rides whole
    lining *= (head.vertex_part == PART_ID["mouth_cavity"])
    teeth = (head.vertex_part == PART_ID["teeth_lower"]).astype(float)
    weights = np.clip(skin + lining + teeth, 0.0, 1.0)
    mouth = head.topology.mouth_patch
    weights[np.vstack([mouth.rings[:-1], head.topology.cavity_rings[:1]])] = _jaw_share(np.sin(mouth.psi))
    return weights


def _jaw_share(sin_psi: np.ndarray) -> np.ndarray:
    """Share of the jaw turn of each mouth column: lower lip 1, upper lip 0, corners JAW_CORNER.

    The loops crowd and fold in at the corners, where opening across columns would turn faces
    over, so the corner columns move as one block and the lips part beside them.
    """
    lower = JAW_CORNER + (1.0 - JAW_CORNER) * smoothstep(-0.3, -0.9, sin_psi)
    upper = JAW_CORNER * smoothstep(0.7, 0.3, sin_psi)
    return np.where(sin_psi < 0.0, lower, upper)


def _away_from_contact(face: Face) -> np.ndarray:
    """0 at the lip contact line rising to 1 a few millimetres away (keeps the lips sealed)."""
    return smoothstep(0.0, 0.004, np.abs(face.v[:, 2] - face.head.params.z_sto))


# --- assembly ------------------------------------------------------------------------------


LID_ACTIONS = ("AU5", "AU7", "AU43", "AU45")


def target_delta(face: Face, target: RigTarget) -> np.ndarray:
    """The displacement field of one target at full activation; sided targets stay on their side.

    Soft-tissue fields are smoothed over the surface (lid turns are smoothed as angles, so
    they keep to the eyeball, and the jaw turns rigidly where its weight is 1).
    """
    delta = _field(face, target)
    if target.au not in LID_ACTIONS + ("AU26", "AU27") and not target.name.endswith("_lid"):
        delta = soft_tissue(face, delta)
    return delta * face.side_weight(target.side)[:, None] if target.side else delta


def soft_tissue(face: Face, delta: np.ndarray) -> np.ndarray:
    """A soft-tissue field smoothed over the surface, with each mouth corner moving as one piece.

    The lip loops crowd into a crumpled millimetre at each corner, whose slivers turn over
    under any stretch: there the field takes the corner's own value, fading back to itself
    by MOUTH_CORNER_CORE[1] (a smooth blend in space; depth counts less, as the crumple is deep
    but the mouth's far lining is not part of it).
    """
    delta = np.stack([face.smooth(delta[:, k], 4) for k in range(3)], axis=1)
    for corner, pin in _mouth_corner_pins(face):
        delta += pin[:, None] * (delta[corner] - delta)
    return delta * face.skin[:, None]


def _mouth_corner_pins(face: Face) -> list[tuple[int, np.ndarray]]:
    """Each mouth corner's vertex and how far each vertex takes that corner's value (soft_tissue)."""
    if "corner_pins" not in face.cache:
        mouth = face.head.topology.mouth_patch
        pins = []
        for corner in mouth.rings[0, [np.argmax(np.cos(mouth.psi)), np.argmin(np.cos(mouth.psi))]]:
            offset = face.v - face.v[corner]
            distance = np.linalg.norm(offset * [1.0, 0.3, 1.0], axis=1)
            pins.append((corner, 1.0 - smoothstep(*MOUTH_CORNER_CORE, distance)))
        face.cache["corner_pins"] = pins
    return face.cache["corner_pins"]


def _field(face: Face, target: RigTarget) -> np.ndarray:
    au, side = target.au, target.side
    if target.name.endswith("_lid"):
        return lid_action(face, side, "AU6_lid")
    if au in ("AU1", "AU2", "AU4"):
        return brow_fields(face, side, au)
    if au in ("AU5", "AU7"):
        return lid_action(face, side, au)
    if au == "AU6":
        return cheek_raise(face, side)
    if au == "AU9":
        return nose_wrinkle(face)
    if au == "AU10":
        return upper_lip_raise(face, side)
    if au in ("AU12", "AU15", "AU20"):
        return lip_corner(face, side, au)
    if au == "AU17":
        return chin_raise(face)
    if au == "AU23":
        return lip_tighten(face)
    if au == "AU25":
        return lips_part(face)
    if au == "AU26":
        return jaw_open(face, 11.0)
    if au == "AU27":
        return jaw_open(face, 20.0) + 0.5 * soft_tissue(face, lip_tighten(face)) * np.array([1.0, 0.0, 0.0])
    if au in EYES_CLOSED:
        return lid_close(face, "L") + lid_close(face, "R")
    raise KeyError(f"no rig field for {au}")


def build_rig(head: HeadMesh) -> dict[str, np.ndarray]:
    """Every target's displacement field (V, 3), keyed by shape-key name.

    The soft-tissue actions that meet at the mouth are relaxed together (_unfold_blends), so
    that no combination of them, at any intensities, folds a face.
    """
    face = Face.of(head)
    deltas = {t.name: target_delta(face, t) for t in targets()}
    mouth = [t for t in targets() if t.au in MOUTH_ACTIONS and not t.name.endswith("_lid")]
    mobile = np.stack([(face.off_lids > 0.0) & (face.side_weight(t.side) > 0.0 if t.side else True) for t in mouth])
    deltas.update(zip([t.name for t in mouth], _unfold_blends(face, [deltas[t.name] for t in mouth], mobile)))
    return deltas


def _unfold_blends(face: Face, fields: list[np.ndarray], mobile: np.ndarray, margin: float = BLEND_MARGIN,
                   iterations: int = 600) -> list[np.ndarray]:
    """Relax displacement fields until no blend of them, at any weights in [0, 1], folds a face.

    Shape keys add, so a face's signed area along its rest normal, s(w) = n0 . (E1(w) x E2(w))
    with edges E(w) = e + sum_i w_i g_i, is quadratic in the key weights w. Its minimum over
    the whole weight box is at least the rest area plus each key's own worst (the exact minimum
    of its linear and square terms) plus every negative cross term (_blend_terms). Wherever that
    bound falls below `margin` of the rest area (stacked lip actions squeeze the skin beside the
    mouth), the face's corners move toward the face's mean displacement in each key that pulls
    it down, by that key's share of the shortfall, until no face falls short. The bound holds for
    every combination and every intensity, so no setting of the drivers folds these faces.
    `mobile` (keys, V) says where each field may change (its side, soft tissue off the lids).
    """
    stack = np.stack(fields)
    n = len(fields)
    near = np.abs(stack).sum(axis=(0, 2)) > 0.0
    for _ in range(BLEND_SPREAD):  # room for the relaxed fields to spread into
        near[face.edges[near[face.edges].any(axis=1)].ravel()] = True
    tris = face.triangles[near[face.triangles].any(axis=1)]
    local = np.unique(tris)
    index = np.full(len(face.v), -1)
    index[local] = np.arange(len(local))
    tris = index[tris]
    v = face.v[local]
    e1, e2 = v[tris[:, 1]] - v[tris[:, 0]], v[tris[:, 2]] - v[tris[:, 0]]
    n0 = np.cross(e1, e2)
    a2 = (n0 * n0).sum(axis=1)
    keep = a2 > 1e-24  # faces of no area have no side to turn over
    tris, e1, e2, n0, a2 = tris[keep], e1[keep], e2[keep], n0[keep], a2[keep]
    c1, c2 = np.cross(e2, n0), np.cross(n0, e1)
    d = stack[:, local]
    mob = (mobile[:, local] & near[local]).astype(float)
    G, H = d[:, tris[:, 1]] - d[:, tris[:, 0]], d[:, tris[:, 2]] - d[:, tris[:, 0]]  # (n, F, 3) edge changes per key
    g, h = np.sqrt((G * G).sum(axis=2)).sum(axis=0), np.sqrt((H * H).sum(axis=2)).sum(axis=0)
    # a face whose edges change too little in any blend to lose that much area needs no closer look
    check = np.nonzero(np.sqrt(a2) * (g * np.sqrt((e2 * e2).sum(axis=1)) + np.sqrt((e1 * e1).sum(axis=1)) * h + g * h)
                       >= (1.0 - margin) * a2)[0]
    t, G, H = tris[check], G[:, check], H[:, check]
    corner_faces = np.argsort(tris.ravel(), kind="stable") // 3  # faces around each local vertex, in vertex order
    first = np.concatenate([[0], np.cumsum(np.bincount(tris.ravel(), minlength=len(local)))])
    for _ in range(iterations):
        live = np.nonzero((G != 0.0).any(axis=(1, 2)) | (H != 0.0).any(axis=(1, 2)))[0]  # keys that reach these faces
        G, H = G[live], H[live]
        L = ((G * c1[check]).sum(axis=2) + (H * c2[check]).sum(axis=2)).T
        Q = np.matmul(np.cross(n0[check], G).transpose(1, 0, 2), H.transpose(1, 2, 0))
        terms = _blend_terms(L, Q)
        bad = a2[check] + terms.sum(axis=1) < margin * a2[check]
        if not bad.any():
            break
        t, terms = t[bad], terms[bad]
        k = len(live)
        share = terms / terms.sum(axis=1, keepdims=True)  # (F, k): which keys pull the face down, how much
        mean = d[live[:, None, None], t[None]].mean(axis=2)  # (k, F, 3)
        moved, at = np.unique(t, return_inverse=True)
        at = at.reshape(t.shape)
        m = len(moved)
        slot = (np.arange(k)[:, None, None] * m + at[None]).ravel()  # (key, corner) pairs
        weight = np.repeat(share.T, 3, axis=1).ravel()
        total = np.bincount(slot, weight, k * m).reshape(k, m)
        goal = np.stack([np.bincount(slot, weight * np.repeat(mean[..., c], 3, axis=1).ravel(), k * m)
                         for c in range(3)], axis=-1).reshape(k, m, 3)
        cur = d[live[:, None], moved[None, :]]
        pull = np.minimum(total / np.bincount(at.ravel(), minlength=m), 1.0) * mob[live[:, None], moved[None, :]]
        goal = np.where(total[..., None] > 0.0, goal / np.maximum(total, 1e-300)[..., None], cur)
        d[live[:, None], moved[None, :]] = cur + pull[..., None] * (goal - cur)
        # check again every face around a moved corner
        sizes = first[moved + 1] - first[moved]
        runs = np.repeat(first[moved] - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        check = np.unique(corner_faces[runs])
        t = tris[check]
        G, H = d[:, t[:, 1]] - d[:, t[:, 0]], d[:, t[:, 2]] - d[:, t[:, 0]]
    stack[:, local] = d
    return list(stack)


def _blend_terms(L: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Each key's worst contribution to a face's signed area over weights in [0, 1]: (F, keys).

    L (F, keys) and Q (F, keys, keys) are the linear and quadratic coefficients of the area in the
    weights; a key's own terms are minimised exactly, each negative cross term is split between
    its two keys. Their sum plus the rest area bounds the area of every blend from below.
    """
    diag = np.diagonal(Q, axis1=1, axis2=2)
    cross = np.minimum(Q + Q.transpose(0, 2, 1), 0.0).sum(axis=2) - np.minimum(2.0 * diag, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(diag > 0.0, np.clip(-L / (2.0 * diag), 0.0, 1.0), 0.0)
    own = np.minimum(np.minimum(L + diag, 0.0), w * (L + diag * w))
    return own + 0.5 * cross


# What each PSPI AU does at intensity E (docs/rig.md, "Magnitudes at E"): the motion FACS names,
# measured on the identity's mesh in mm, and the range the rig is calibrated to on every identity.
E_MAGNITUDES: dict[str, tuple[str, float, float]] = {
    "AU4": ("brows (iBUG 19, 24) lower", 4.0, 9.0),
    "AU6": ("the cheek 22 mm below each pupil rises", 5.0, 10.0),
    "AU7": ("the lower lid margin (iBUG 40, 41, 46, 47) rises", 2.5, 5.0),
    "AU9": ("the alae (iBUG 31, 35) rise", 3.5, 7.0),
    "AU10": ("the upper lip (iBUG 50, 52) rises", 3.5, 7.0),
    "AU43": ("the upper lid margin meets the lower (closed share of the aperture)", 1.0, 1.15),
}


def e_magnitudes(head: HeadMesh, deltas: dict[str, np.ndarray]) -> dict[str, float]:
    """The `E_MAGNITUDES` motions of this identity's rig at E (AU43: the closed share)."""
    ids, v = head.landmark68_ids, head.vertices

    def rise(aus: dict, points: np.ndarray) -> float:
        return float(np.mean(pose(head, deltas, aus)[points, 2] - v[points, 2]) * 1000.0)

    upper, lower = ids[[37, 38, 43, 44]], ids[[41, 40, 47, 46]]
    closed = pose(head, deltas, {"AU43": 1})
    aperture = np.mean(v[upper, 2] - v[lower, 2])
    return {"AU4": -rise({"AU4": 5}, ids[[19, 24]]), "AU6": rise({"AU6": 5}, _cheek_points(head)),
            "AU7": rise({"AU7": 5}, ids[[40, 41, 46, 47]]), "AU9": rise({"AU9": 5}, ids[[31, 35]]),
            "AU10": rise({"AU10": 5}, ids[[50, 52]]),
            "AU43": float(1.0 - np.mean(closed[upper, 2] - closed[lower, 2]) / aperture)}


def _cheek_points(head: HeadMesh) -> np.ndarray:
    """The frontmost skin vertex 22 mm below each eyeball centre (where AU6 lifts the cheek)."""
    v, out = head.vertices, []
    for side in ("R", "L"):
        centre = head.landmarks[f"eye_centre_{side}"]
        near = (np.abs(v[:, 0] - centre[0]) < 0.003) & (np.abs(v[:, 2] - centre[2] + 0.022) < 0.003)
        near &= (v[:, 1] < centre[1]) & (head.vertex_part == 0)
        candidates = np.nonzero(near)[0]
        out.append(candidates[np.argmin(v[candidates, 1])])
    return np.array(out)


def pose(head: HeadMesh, deltas: dict[str, np.ndarray], aus: dict[str, float]) -> np.ndarray:
    """Vertex positions for an AU configuration, exactly as Blender's drivers combine the keys."""
    aus = facs.check_aus(aus)
    v = head.vertices.copy()
    for target in targets():
        weight = target_weight(target, aus)
        if weight:
            v += weight * deltas[target.name]
    return v


def target_weight(target: RigTarget, aus: dict[str, float]) -> float:
    """Shape-key weight of a target: FACS map of its largest source, zero when suppressed."""
    au = facs.catalog()[target.au]
    value = max(aus.get(k, 0.0) for k in target.sources)
    if any(aus.get(k, 0.0) for k in target.suppressed_by):
        return 0.0
    return float(facs.intensity_to_weight(value, au.scale))

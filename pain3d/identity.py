"""One identity, ready for Blender: head mesh, AU rig, skin tone and eye colour (pure numpy).

`build_identity` is the single call the Blender layer and the farm make per identity. Its
result carries the mesh in the flat form Blender's bulk setters take, per-vertex colour
attributes the materials read (where lips, brows, cheeks and wrinkle zones are), the AU
shape-key targets, the 68 landmark vertices and the face's framing box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .head import head_from_spec, sample_spec
from .head.landmarks import outline_centre_z
from .head.mesh import HeadMesh
from .jobs import demographics
from .rig import build_rig
from .sampling import derive_seed, skin_tone_prior
from .skin_regions import tint_weights

SUB_CONTROLS, SUB_SKIN, SUB_IRIS = 1, 2, 3


@dataclass
class BlenderMesh:
    """A mesh in the flat arrays Blender's foreach_set takes."""

    vertices: np.ndarray  # (V, 3)
    polygon_starts: np.ndarray  # (F,) first loop of each polygon
    polygon_vertices: np.ndarray  # (L,) vertex of each loop
    polygon_parts: np.ndarray  # (F,) index into part_names (the material slot)
    part_names: tuple[str, ...]
    loop_uvs: np.ndarray  # (L, 2)
    color_attributes: dict[str, np.ndarray]  # name -> (V, 3) per-vertex data for the materials
    landmark_vertices: np.ndarray  # (68,) iBUG order
    contour_slices: list[np.ndarray]  # per jaw landmark, the vertices it slides over (pain3d.contour)
    outline_centre: np.ndarray  # (3,) the frontal outline's centre, the contour's directions start there
    face_frame: np.ndarray  # [cx, cy, cz, extent]: what a portrait camera frames


@dataclass
class Identity:
    head: HeadMesh
    mesh: BlenderMesh
    au_deltas: dict[str, np.ndarray]
    skin_tone: float
    iris_rgb: tuple[float, float, float]
    ethnicity: str | None = None  # the skin's undertone (pain3d.skin)


def build_identity(age: float, sex: str, ethnicity: str, seed: int, level: int = 1,
                   skin_tone: float | None = None) -> Identity:
    """The identity a seed names: same seed and demographics, same head, rig and colours."""
    head = neutral_head(age, sex, ethnicity, seed, level)
    if skin_tone is None:
        mean, sd = skin_tone_prior(ethnicity, {})
        skin_tone = float(np.clip(np.random.default_rng(derive_seed(seed, SUB_SKIN)).normal(mean, sd), 1, 10))
    return Identity(head=head, mesh=blender_mesh(head), au_deltas=build_rig(head), skin_tone=skin_tone,
                    iris_rgb=iris_colour(ethnicity, derive_seed(seed, SUB_IRIS)), ethnicity=ethnicity)


def neutral_head(age: float, sex: str, ethnicity: str, seed: int, level: int = 1) -> HeadMesh:
    """The identity's head mesh alone (no rig): what texturing needs, at a fraction of the cost."""
    return head_from_spec(sample_spec(age, sex, ethnicity, derive_seed(seed, SUB_CONTROLS)), level=level)


SCLERA_RGB = (0.62, 0.56, 0.52)  # linear albedo by the iris; a white card's 0.8 glared beside skin
SCLERA_CORNER_RGB = (0.50, 0.36, 0.33)  # toward the canthi the sclera is pinker and in shade


def iris_colour(ethnicity: str, seed: int) -> tuple[float, float, float]:
    table = demographics()["iris"]
    weights = np.asarray(table["weights"][ethnicity], float)
    pick = np.random.default_rng(seed).choice(len(weights), p=weights / weights.sum())
    return tuple(float(c) for c in table["rgb"][pick])


def blender_mesh(head: HeadMesh) -> BlenderMesh:
    return BlenderMesh(
        vertices=head.vertices, polygon_starts=head.poly_starts[:-1], polygon_vertices=head.poly_verts,
        polygon_parts=head.face_part, part_names=head.part_names, loop_uvs=head.corner_uv,
        color_attributes=color_attributes(head), landmark_vertices=np.asarray(head.landmark68_ids),
        contour_slices=head.topology.contour_slices,
        outline_centre=np.array([0.0, 0.0, outline_centre_z(head.params)]), face_frame=face_frame(head))


# Wrinkle families, one per channel of the `wrinkles` and `wrinkle_phase` attributes: (channel, rig
# targets whose shape-key weight deepens them, line spacing in phase units (mm or degrees), phase
# of the first line). The renderer's skin shader draws them (docs/rig.md).
WRINKLE_FAMILIES: tuple[tuple[int, tuple[str, ...], float, float], ...] = (
    (0, ("AU4_L", "AU4_R"), 8.0, 0.5),  # glabellar "11" lines either side of the midline
    (1, ("AU9",), 4.0, 0.0),  # lines across the nose root, bowing down onto its sides
    (2, ("AU6_L", "AU6_R"), 20.0, 0.25))  # crow's feet fanning from the eye corner


def color_attributes(head: HeadMesh) -> dict[str, np.ndarray]:
    """`regions`: R lips, G brows, B cheeks; `lids`: R upper lids, G lower lids (where eyeshadow
    goes); `tints`: R flush, G orbit, B oil (`pain3d.skin_regions.tint_weights`); `rest`: the
    neutral position (metres), so that skin noise stays on the skin as expressions move it;
    `wrinkles`: R glabella, G nose bridge, B crow's feet; `wrinkle_phase`: the coordinate each
    wrinkle family's lines run across (see `wrinkle_phase`)."""
    r = head.regions
    lips = np.clip(r["upper_lip"] + r["lower_lip"], 0, 1) * _vermilion(head)
    brows = brow_hair(head)
    cheeks = np.clip(r["cheek_L"] + r["cheek_R"], 0, 1)
    glabella = r["glabella"]
    upper = np.clip(r["upper_eyelid_L"] + r["upper_eyelid_R"], 0, 1)
    lower = np.clip(r["lower_eyelid_L"] + r["lower_eyelid_R"], 0, 1)
    return {"regions": np.stack([lips, brows, cheeks], axis=1),
            "lids": np.stack([upper, lower, np.zeros_like(upper)], axis=1),
            "tints": tint_weights(head, cheeks), "rest": head.vertices.copy(),
            "wrinkles": np.stack([glabella, nose_root(head, upper + lower), crows_feet(head)], axis=1),
            "wrinkle_phase": wrinkle_phase(head)}


def nose_root(head: HeadMesh, lids: np.ndarray) -> np.ndarray:
    """Where AU9's lines show: across the upper dorsum and onto the nasal sidewalls towards the inner
    eye corners (the "bunny lines" of a nose wrinkle), from 15 mm below the nasion to just above it:
    three or four folds."""
    v = head.vertices
    height = v[:, 2] - head.landmarks68[27, 2]
    across = 1.0 - np.clip((np.abs(v[:, 0]) - 0.008) / 0.005, 0.0, 1.0)
    along = np.clip(1.0 + height / 0.015, 0.0, 1.0) * np.clip(1.0 - height / 0.005, 0.0, 1.0)
    front = (head.vertex_part == 0) & (v[:, 1] < head.landmarks68[27, 1] + 0.012)
    return across * along * front * (1.0 - np.clip(2.0 * lids, 0.0, 1.0))  # gone well before the lid margin


def brow_hair(head: HeadMesh, half_width: float = 0.0025, feather: float = 0.002) -> np.ndarray:
    """Where eyebrow hair grows: a feathered band along each brow's landmark polyline (iBUG 17-26)."""
    v = head.vertices
    out = np.zeros(len(v))
    points = head.landmarks68[17:27]
    for brow in (points[:5], points[5:]):
        for a, b in zip(brow[:-1], brow[1:]):
            d = b - a
            t = np.clip(((v - a) @ d) / (d @ d), 0.0, 1.0)
            dist = np.linalg.norm(v - (a + t[:, None] * d), axis=1)
            out = np.maximum(out, np.clip(1.0 - (dist - half_width) / feather, 0.0, 1.0))
    return out * (head.vertex_part == 0)


def _vermilion(head: HeadMesh) -> np.ndarray:
    """1 on the red of the lips: between the contact line and the vermilion border rings."""
    weight = np.zeros(head.n_verts)
    patch = head.topology.mouth_patch
    weight[patch.rings[: head.topology.mouth_lip_rings + 1].ravel()] = 1.0
    weight[head.topology.cavity_rings.ravel()] = 1.0
    return weight


def crows_feet(head: HeadMesh) -> np.ndarray:
    """A fan beside each outer eye corner, outside the lids, where AU6 creases the skin."""
    v = head.vertices
    out = np.zeros(len(v))
    for side, sign in (("L", 1.0), ("R", -1.0)):
        corner = head.landmarks[f"exocanthion_{side}"]
        d = v - (corner + np.array([sign * 0.008, 0.004, 0.0]))
        out += np.exp(-(d[:, 0] ** 2 + (d[:, 2] / 1.3) ** 2 + d[:, 1] ** 2) / 0.012 ** 2)
    lids = sum(head.regions[f"{p}_eyelid_{s}"] for p in ("upper", "lower") for s in "LR")
    return np.clip(out, 0, 1) * (1 - np.clip(lids, 0, 1)) * (head.vertex_part == 0)


def wrinkle_phase(head: HeadMesh) -> np.ndarray:
    """Per vertex, the coordinate across each wrinkle family's lines, in the material's units.

    R: lateral distance from the midline in mm (glabellar lines of AU4 run vertically);
    G: height above the nasion in mm, raised by 0.03 mm per mm squared to the side (AU9's lines run
       across the nose root and bow down onto its sides);
    B: angle in degrees about the nearer outer eye corner (AU6's crow's feet radiate from it).
    Being vertex data, the phases ride along with the shape keys, so the lines deform with the skin.
    """
    v = head.vertices
    lateral = v[:, 0] * 1000.0
    height = (v[:, 2] - head.landmarks68[27, 2]) * 1000.0 + 0.03 * lateral ** 2
    corner = np.where(v[:, :1] >= 0, head.landmarks["exocanthion_L"], head.landmarks["exocanthion_R"])
    d = v - corner
    angle = np.degrees(np.arctan2(d[:, 2], np.abs(d[:, 0])))
    return np.stack([lateral, height, angle], axis=1)


def face_frame(head: HeadMesh) -> np.ndarray:
    """Centre and size of the face (brows to chin, cheek to cheek) for portrait framing."""
    lm = head.landmarks68
    top = lm[17:27, 2].max() + 0.02
    bottom = lm[8, 2]
    centre = np.array([0.0, lm[:, 1].mean(), 0.5 * (top + bottom)])
    extent = max(top - bottom, lm[:, 0].max() - lm[:, 0].min()) * 1.15
    return np.r_[centre, extent]

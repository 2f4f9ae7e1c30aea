"""Where each skin feature is: per-vertex weights of the neutral head (pure numpy).

Regional colour (flush, the darker orbit, the lid margin, lips), oil and pores, the beard zone,
sun exposure and the wrinkle zones, each a weight in [0, 1] per vertex (zero off the skin).
Texture sets draw in all of them (`texturing`); the built-in skin shader reads the tints
(`tint_weights`) from a colour attribute.
"""

from __future__ import annotations

import numpy as np

from . import raster
from .head.mesh import HeadMesh
from .head.surface import ear_frame, smoothstep
from .head.topology import PART_ID


def tint_weights(head: HeadMesh, cheeks: np.ndarray) -> np.ndarray:
    """(V, 3): R flush (where blood shows: cheeks, nose, ears, chin), G the darker orbit around
    the eyes, B oil (the T-zone: forehead, nose, chin), given the cheeks' weight."""
    r = head.regions
    nose = _nose(head)
    flush = np.clip(cheeks + 0.8 * nose + 0.6 * _ear_weight(head) + 0.25 * r["chin"] + 0.12 * r["forehead"], 0.0, 1.0)
    skin = (head.vertex_part == PART_ID["skin"]).astype(float)
    orbit = skin * (1.0 - _lid_margin(head)) * _around_eyes(head, -0.004, 0.021, 0.015)
    oil = np.clip(r["forehead"] + nose + 0.6 * r["chin"], 0.0, 1.0)
    return np.stack([flush, orbit, oil], axis=1)


def region_fields(head: HeadMesh, attrs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-vertex weights of every region a texture part draws in, by name, given the head's colour
    attributes (`pain3d.identity.color_attributes`)."""
    r, v, lm = head.regions, head.vertices, head.landmarks
    lips, brows, cheeks = attrs["regions"].T
    flush, orbit, oil = attrs["tints"].T
    skin = (head.vertex_part == PART_ID["skin"]).astype(float)
    nose = _nose(head)
    margin = _lid_margin(head)
    return {
        "lips": lips, "brows": brows, "flush": flush, "orbit": orbit, "margin": margin, "oil": oil,
        "pores": skin * (1.0 - lips) * np.clip(0.35 + cheeks + nose + 0.6 * r["forehead"] + 0.5 * r["chin"], 0, 1),
        "beard": beard_weights(head, lips),
        "exposure": _exposure(head),
        "forehead": r["forehead"], "glabella": r["glabella"], "crows": attrs["wrinkles"][:, 2],
        "upper_lid": _upper_lid(head), "above_margin": _above_upper_margin(head),
        "under_eye": skin * (1.0 - _lid_margin(head, rings=5)) * _around_eyes(head, -0.009, 0.013, 0.005),
        "nasolabial": np.clip(r["nasolabial_L"] + r["nasolabial_R"], 0.0, 1.0) * (1.0 - lips),
        "perioral": _moustache(head) * np.clip(1.0 - (v[:, 2] - lm["labrale_superius"][2]) / 0.007, 0.0, 1.0),
        "neck": skin * _band(v[:, 2], head.params.z_me - 0.09, head.params.z_me - 0.015, 0.012) * (v[:, 1] < 0.0),
    }


def _nose(head: HeadMesh) -> np.ndarray:
    """The nose's skin: tip, alae and (less) the bridge."""
    r, lm = head.regions, head.landmarks
    skin = (head.vertex_part == PART_ID["skin"]).astype(float)
    return skin * np.clip(_blob(head.vertices, lm["nose_tip"], 0.013) + r["nose_alae"] + 0.4 * r["nose_bridge"], 0, 1)


def _blob(points: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    return np.exp(-((points - centre) ** 2).sum(1) / radius ** 2)


def _around_eyes(head: HeadMesh, drop: float, rx: float, rz: float) -> np.ndarray:
    """An elliptical falloff (frontal x-z plane) around each eye, centred `drop` metres above its centre."""
    v, out = head.vertices, np.zeros(head.n_verts)
    for side in "LR":
        c = head.landmarks[f"eye_centre_{side}"]
        ellipse = ((v[:, 0] - c[0]) / rx) ** 2 + ((v[:, 2] - c[2] - drop) / rz) ** 2
        out += np.exp(-ellipse) * (v[:, 1] < c[1] + 0.01)
    return np.clip(out, 0.0, 1.0)


def _moustache(head: HeadMesh) -> np.ndarray:
    """The skin of the upper lip: between the vermilion and the nose, out past the mouth corners
    into the cheeks' beard."""
    v, lm = head.vertices, head.landmarks
    width = np.clip((head.params.mouth_w + 0.014 - np.abs(v[:, 0])) / 0.01, 0.0, 1.0)
    return _band(v[:, 2], lm["labrale_superius"][2] - 0.002, lm["subnasale"][2] - 0.001, 0.004) * width \
        * (v[:, 1] < lm["subnasale"][1] + 0.012) * (head.vertex_part == PART_ID["skin"])


def _band(x: np.ndarray, lo: float, hi: float, soft: float) -> np.ndarray:
    return np.clip((x - lo) / soft + 0.5, 0.0, 1.0) * np.clip((hi - x) / soft + 0.5, 0.0, 1.0)


def _ear_weight(head: HeadMesh) -> np.ndarray:
    """1 on the ears (inside each ear's ellipsoid frame), fading out over a few millimetres."""
    out = np.zeros(head.n_verts)
    scale = head.params.ear_scale
    for side in (-1.0, 1.0):
        centre, axes = ear_frame(head.params, side)
        lo = (head.vertices - centre) @ axes.T
        q = np.sqrt((lo[:, 0] / 0.016) ** 2 + (lo[:, 1] / (0.034 * scale)) ** 2 + (lo[:, 2] / (0.020 * scale)) ** 2)
        out = np.maximum(out, np.clip((1.3 - q) / 0.3, 0.0, 1.0))
    return out * (head.vertex_part == PART_ID["skin"])


def _lid_margin(head: HeadMesh, rings: int = 3) -> np.ndarray:
    """1 on the innermost loops of the eye ring patches (ring 2 is the lid margin's front edge)."""
    out = np.zeros(head.n_verts)
    for patch in head.topology.eye_patches.values():
        out[patch.rings[:rings].ravel()] = 1.0
    return out


UPPER_LID_RINGS = 9  # the eye patch's loops from the margin's front edge (ring 2) up onto the brow's slope


def _upper_lid(head: HeadMesh) -> np.ndarray:
    """1 over the upper lid's skin, fading out toward both canthi (the fold runs across the lid)."""
    out = np.zeros(head.n_verts)
    for patch in head.topology.eye_patches.values():
        out[patch.rings[2:UPPER_LID_RINGS]] = smoothstep(0.2, 0.6, np.sin(patch.psi))[None, :]
    return out


def _above_upper_margin(head: HeadMesh) -> np.ndarray:
    """Metres along the upper lid's skin from the margin's front edge, on the upper lid (+1 mm, so the
    field is non-zero there and texels can tell it from outside)."""
    out = np.zeros(head.n_verts)
    for patch in head.topology.eye_patches.values():
        column = head.vertices[patch.rings[2:UPPER_LID_RINGS]]
        steps = np.linalg.norm(np.diff(column, axis=0), axis=2)
        out[patch.rings[2:UPPER_LID_RINGS]] = 0.001 + np.vstack([np.zeros((1, column.shape[1])), np.cumsum(steps, 0)])
    return out


def beard_weights(head: HeadMesh, lips: np.ndarray) -> np.ndarray:
    """Where a beard grows, given the lips' weight per vertex (`pain3d.identity.color_attributes`
    regions, R): below a line from the sideburns to above the mouth corners, in front of the ears,
    down under the jaw to the upper neck (not behind the jaw angle), and the upper lip; never on
    the lips, nose or ears."""
    nose, ears = _nose(head), _ear_weight(head)
    v, lm, p = head.vertices, head.landmarks, head.params
    x, y, z = np.abs(v[:, 0]), v[:, 1], v[:, 2]
    top = np.interp(x, [0.02, 0.035, 0.07, 0.09], [p.z_sto + 0.010, p.z_sto + 0.014, 0.015, 0.03])
    bottom = np.interp(y, [-0.08, -0.03, 0.01], [p.z_me - 0.04, p.z_me - 0.03, p.z_me + 0.04])
    front = np.clip((lm["tragus_L"][1] - 0.006 - y) / 0.014, 0.0, 1.0)
    # soft edges: a beard thins out over a centimetre or two (the stubble breaks them up further)
    cheeks = np.clip((top - z) / 0.02, 0.0, 1.0) * np.clip((z - bottom) / 0.02, 0.0, 1.0) * front
    zone = np.maximum(cheeks, _moustache(head))
    return zone * (1.0 - lips) * (1.0 - nose) * (1.0 - ears) * (head.vertex_part == PART_ID["skin"])


def _exposure(head: HeadMesh) -> np.ndarray:
    """Sun exposure (where age spots gather): forward- and upward-facing skin above the jaw."""
    normals = raster.vertex_normals(head.vertices, head.poly_verts[raster.corner_triangles(head, ("skin",))])
    facing = np.clip(0.2 - 0.8 * normals[:, 1] + 0.5 * normals[:, 2], 0.0, 1.0)
    above_jaw = np.clip((head.vertices[:, 2] - head.params.z_me) / 0.02, 0.0, 1.0)
    return facing * above_jaw * (head.vertex_part == PART_ID["skin"])

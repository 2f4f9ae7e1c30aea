"""Procedural skin and eye textures (`pain3d texture --backend procedural`): numpy + Pillow only.

Everything is drawn in the skin's UV layout (docs/head-model.md, UVs). Per-vertex facts of the
head (region weights, brow band, vermilion, beard zone, the surface's metres per UV unit) are
interpolated to texels through the cached UV raster, and texture noise is 3-D value noise
sampled at each texel's position on the neutral head, so it runs on without seams across UV
islands and has the same scale in millimetres wherever the layout stretches. Octaves finer
than about three texels fade out (no aliasing on the compressed back of the head, nor at small
sizes). Skin colour: the Monk Skin Tone scale (pain3d.skin); see docs/texturing.md for what is
drawn, the albedo range and the recorded parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pain3d import raster
from pain3d.head.mesh import HeadMesh
from pain3d.head.surface import ear_frame
from pain3d.head.topology import PART_ID
from pain3d.identity import SUB_IRIS, color_attributes, iris_colour
from pain3d.sampling import derive_seed
from pain3d.skin import skin_tone_rgb

TEXTURE_STREAM = 7  # derive_seed(identity seed, TEXTURE_STREAM): the seed of every draw here
# Sub-streams: each part draws from its own generator, so switching one part (stubble) or
# changing one input (age) leaves the others' draws unchanged.
SUB_LOOK, SUB_NOISE, SUB_BROWS, SUB_LASHES, SUB_SPOTS, SUB_WRINKLES, SUB_EYES = range(7)
ALBEDO_RANGE = (0.003, 0.80)  # linear-light bounds of every albedo and eye texel (docs/texturing.md)
ROUGHNESS_RANGE = (0.25, 0.85)
MONK_ALBEDO = 0.8  # Monk swatches are lit skin; albedo is darker (as the built-in shader has it)
EYE_SIZE = 512
LATTICE = 64  # value-noise lattice period (cells), randomly rotated per octave
MM = 1e-3

# Hair colours (linear RGB) and how often each occurs: FairFace "White" spans the blond and red
# shades; the other groups are nearly all black or dark brown.
HAIR_RGB = {"black": (0.012, 0.010, 0.009), "dark brown": (0.030, 0.020, 0.014),
            "brown": (0.070, 0.045, 0.028), "light brown": (0.150, 0.100, 0.060),
            "blond": (0.330, 0.240, 0.140), "auburn": (0.170, 0.060, 0.030)}
HAIR_WEIGHTS = {"White": (0.10, 0.30, 0.25, 0.15, 0.12, 0.08), "default": (0.60, 0.35, 0.05, 0.0, 0.0, 0.0)}
GREY_HAIR = np.array([0.42, 0.41, 0.39])

# Log-space colour shifts (R, G, B): where the blood shows, around the eyes, melanin marks.
FLUSH_LOG = np.array([0.0, -0.24, -0.20])
ORBIT_LOG = np.array([-0.22, -0.26, -0.22])
SPOT_LOG = np.array([-0.30, -0.45, -0.60])


@dataclass
class TextureMaps:
    """One identity's maps: skin maps in the skin UV layout, eyes in the eyeball UV layout."""

    albedo: np.ndarray  # (S, S, 3) float32 linear-light RGB in ALBEDO_RANGE
    roughness: np.ndarray  # (S, S) float32
    normal: np.ndarray  # (S, S, 3) float32 tangent-space unit vectors, OpenGL (+y = +v = image up)
    eyes: np.ndarray  # (E, E, 3) float32 linear-light eyeball albedo
    params: dict  # every drawn parameter and the seed, JSON-serialisable


def procedural_textures(head: HeadMesh, identity: dict, size: int = 1024, stubble_rate: float = 0.4) -> TextureMaps:
    """The procedural texture set of one plan identity (`seed`, `age`, `sex`, `ethnicity`, `skin_tone`).

    `head` is the identity's neutral head (the plan's `head_seed` builds it); its iris colour is
    the one the farm gives that head.
    """
    seed = derive_seed(int(identity["seed"]), TEXTURE_STREAM)
    look = _draw_look(identity, seed, stubble_rate)
    surface = _Surface(head, size)
    noise = _Noise(_rng(seed, SUB_NOISE))
    fine = _skin_noise(surface, noise)
    albedo = _skin_albedo(surface, look, fine)
    hair = _hair_layer(surface, head, look, seed, noise)
    albedo = _composite_hair(albedo, surface, look, hair)
    height = _height(surface, look, fine, seed) + 0.01 * MM * hair.stubble
    roughness = _roughness(surface, look, fine, hair)
    maps = _fill_gaps(np.concatenate([_into_range(albedo), roughness[None]]), surface.covered)
    return TextureMaps(albedo=np.ascontiguousarray(np.moveaxis(maps[:3], 0, -1)), roughness=maps[3],
                       normal=_normal_map(height, surface), eyes=_eye_texture(look, seed), params=look)


def _rng(seed: int, sub: int) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, sub))


# --- drawn parameters --------------------------------------------------------------------------


def _draw_look(identity: dict, seed: int, stubble_rate: float) -> dict:
    """Every scalar choice of an identity's textures (the `params` of its texture set)."""
    rng = _rng(seed, SUB_LOOK)
    tone, age, male = float(identity["skin_tone"]), float(identity["age"]), identity["sex"] == "male"
    ageing = float(np.clip((age - 20.0) / 55.0, 0.0, 1.2))
    hair_names = list(HAIR_RGB)
    weights = np.asarray(HAIR_WEIGHTS.get(identity["ethnicity"], HAIR_WEIGHTS["default"]))
    hair = hair_names[rng.choice(len(hair_names), p=weights / weights.sum())]
    grey = float(np.clip((age - 38.0 + rng.normal(0, 7)) / 40.0, 0.0, 1.0))  # share of grey hairs
    sallow = np.array([0.0, -0.01, -0.03]) * ageing  # older skin is a little yellower
    base = MONK_ALBEDO * skin_tone_rgb(tone) * np.exp(rng.normal(0, 0.025, 3) + sallow)
    stubble_draw, freckle_draw = rng.random(2)
    head_seed = int(identity.get("head_seed", identity["seed"]))  # the farm builds the head from head_seed
    return {
        "seed": seed, "scale": "Monk Skin Tone (MST) 1-10, Monk 2019", "skin_tone": tone,
        "base_albedo": _floats(base), "age": age, "sex": identity["sex"], "ethnicity": identity["ethnicity"],
        "ageing": ageing, "melanin": float(np.clip((tone - 4.0) / 6.0, 0.0, 1.0)),
        "flush": float(rng.uniform(0.6, 1.2)), "orbit_darkness": float(rng.uniform(0.5, 1.1)),
        "blotchiness": float(rng.uniform(0.6, 1.4) * (1.0 + 0.5 * ageing)),
        "pores": float(rng.uniform(0.7, 1.3) * (1.0 + 0.3 * ageing)),
        "lip_tint": _floats(rng.normal(0, 0.05, 3)),
        "hair": hair, "hair_rgb": _floats(HAIR_RGB[hair]), "grey": grey,
        "brow_density": float(rng.uniform(1.0, 1.8) * (1.25 if male else 1.0) * (1.0 - 0.3 * grey)),
        "brow_length_mm": float(rng.uniform(5.0, 7.5) * (1.15 if male else 1.0)),
        "lash_count": int(rng.integers(70, 110) * (0.85 if male else 1.0)),
        "lash_length_mm": float(rng.uniform(2.2, 3.4) * (0.85 if male else 1.0)),
        "freckles": float(rng.uniform(0.3, 1.0) * (freckle_draw < 0.3 * np.clip((5.0 - tone) / 1.5, 0.0, 1.0))),
        "age_spots": float(np.clip((age - 38.0) / 40.0, 0.0, 1.0) ** 1.5 * rng.uniform(0.3, 1.0)),
        "wrinkle_depth": float((0.04 + ageing ** 1.6) * np.exp(rng.normal(0, 0.25))),
        "stubble": bool(male and stubble_draw < stubble_rate), "stubble_rate": float(stubble_rate),
        "stubble_density": float(rng.uniform(0.5, 1.0)), "stubble_length": float(rng.uniform(0.2, 1.0)),
        "roughness": float(rng.uniform(0.46, 0.56) + 0.05 * ageing),
        "iris_rgb": _floats(iris_colour(identity["ethnicity"], derive_seed(head_seed, SUB_IRIS))),
    }


def _floats(values) -> list[float]:
    return [round(float(v), 5) for v in values]


# --- the head in texel space -------------------------------------------------------------------


@dataclass
class _Layout:
    """The skin's UV layout at one size, as texels see it (topology only, so cached per process)."""

    covered: np.ndarray  # (S, S) bool
    ids: np.ndarray  # (3, S, S) int32 vertex ids of the texel's triangle
    bary: np.ndarray  # (3, S, S) float32 barycentrics (0 off the islands)
    corner_verts: np.ndarray  # (C,) vertex of each skin polygon corner
    corner_pixels: np.ndarray  # (C, 2) where that corner lies in the texture (pixels)


_LAYOUTS: dict[tuple[int, int], tuple[object, _Layout]] = {}


def _layout(head: HeadMesh, size: int) -> _Layout:
    key = (id(head.topology), size)
    if key not in _LAYOUTS:  # the topology is kept beside its layout, so its id stays unique
        grid, tris = raster.skin_uv_raster(head, size)
        ids = np.moveaxis(head.poly_verts[tris][np.maximum(grid.triangle, 0)], 2, 0).astype(np.int32)
        bary = np.moveaxis(grid.bary, 2, 0).astype(np.float32) * grid.covered
        corners = np.repeat(head.face_part == PART_ID["skin"], np.diff(head.poly_starts))
        pixels = raster.uv_pixels(head.corner_uv[corners], size)
        _LAYOUTS[key] = (head.topology, _Layout(grid.covered, np.ascontiguousarray(ids), np.ascontiguousarray(bary),
                                                head.poly_verts[corners], pixels))
    return _LAYOUTS[key][1]


class _Surface:
    """Per-texel facts of one head: position, texel footprint and the region fields (zero off the islands)."""

    def __init__(self, head: HeadMesh, size: int) -> None:
        self.size, self.head = size, head
        self.layout = _layout(head, size)
        self.covered = self.layout.covered
        fields = _vertex_fields(head)
        self.fields = {name: self.interpolate(values) for name, values in fields.items()}
        self.x, self.y, self.z = (self.fields.pop(k) for k in ("x", "y", "z"))
        # metres per texel along u and v; off the islands a safe non-zero value
        self.fu = np.where(self.covered, self.fields.pop("metric_u") / size, 1.0).astype(np.float32)
        self.fv = np.where(self.covered, self.fields.pop("metric_v") / size, 1.0).astype(np.float32)
        self.foot = np.maximum(self.fu, self.fv)
        self.pixels = raster.uv_pixels(_vertex_uv(head), size)
        self.flat_points = np.stack([self.x.ravel(), self.y.ravel(), self.z.ravel()])

    def interpolate(self, values: np.ndarray) -> np.ndarray:
        """Per-vertex values at the texels, computed only over the bounding box of their support."""
        values = values.astype(np.float32)
        out = np.zeros(self.covered.shape, np.float32)
        hot = values[self.layout.corner_verts] != 0
        if hot.any():
            box = _box(self.layout.corner_pixels[hot], self.size, margin=2)
            ids, bary = self.layout.ids[(slice(None), *box)], self.layout.bary[(slice(None), *box)]
            out[box] = values[ids[0]] * bary[0] + values[ids[1]] * bary[1] + values[ids[2]] * bary[2]
        return out

    def points(self, where: tuple = (...,)) -> np.ndarray:
        """(3, N) float32 positions of the texels selected by an index tuple (slices)."""
        return np.stack([self.x[where].ravel(), self.y[where].ravel(), self.z[where].ravel()])


def _box(pixels: np.ndarray, size: int, margin: int) -> tuple[slice, slice]:
    """Rows and columns of the texture covering points given in pixels, with a margin."""
    c0, r0 = np.clip(np.floor(pixels.min(0)).astype(int) - margin, 0, size)
    c1, r1 = np.clip(np.ceil(pixels.max(0)).astype(int) + margin, 0, size)
    return slice(r0, r1), slice(c0, c1)


def _support(alpha: np.ndarray) -> tuple[slice, slice] | None:
    """Bounding box of a map's non-zero texels (None when there are none)."""
    rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
    return (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)) if len(rows) else None


def _vertex_fields(head: HeadMesh) -> dict[str, np.ndarray]:
    """Per-vertex values drawn in UV space: position, metric, and where each skin feature is."""
    r, v, lm = head.regions, head.vertices, head.landmarks
    attrs = color_attributes(head)
    lips, brows, cheeks = attrs["regions"].T
    skin = (head.vertex_part == PART_ID["skin"]).astype(float)
    nose = skin * np.clip(_blob(v, lm["nose_tip"], 0.013) + r["nose_alae"] + 0.4 * r["nose_bridge"], 0.0, 1.0)
    ears = _ear_weight(head)
    margin = _lid_margin(head)
    metric = _uv_metric(head)
    return {
        "x": v[:, 0], "y": v[:, 1], "z": v[:, 2], "metric_u": metric[:, 0], "metric_v": metric[:, 1],
        "lips": lips, "brows": brows,
        "flush": np.clip(cheeks + 0.8 * nose + 0.6 * ears + 0.25 * r["chin"] + 0.12 * r["forehead"], 0.0, 1.0),
        "orbit": skin * (1.0 - margin) * _around_eyes(head, -0.004, 0.021, 0.015),
        "margin": margin,
        "oil": np.clip(r["forehead"] + nose + 0.6 * r["chin"], 0.0, 1.0),
        "pores": skin * (1.0 - lips) * np.clip(0.35 + cheeks + nose + 0.6 * r["forehead"] + 0.5 * r["chin"], 0, 1),
        "beard": _beard_zone(head, lips, nose, ears),
        "exposure": _exposure(head),
        "forehead": r["forehead"], "glabella": r["glabella"], "crows": attrs["wrinkles"][:, 2],
        "under_eye": skin * (1.0 - _lid_margin(head, rings=5)) * _around_eyes(head, -0.009, 0.013, 0.005),
        "nasolabial": np.clip(r["nasolabial_L"] + r["nasolabial_R"], 0.0, 1.0) * (1.0 - lips),
        "perioral": _moustache(head) * np.clip(1.0 - (v[:, 2] - lm["labrale_superius"][2]) / 0.007, 0.0, 1.0),
        "neck": skin * _band(v[:, 2], head.params.z_me - 0.09, head.params.z_me - 0.015, 0.012) * (v[:, 1] < 0.0),
    }


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


def _uv_metric(head: HeadMesh) -> np.ndarray:
    """(V, 2) metres per UV unit along u and v at each skin vertex (area-weighted over its triangles)."""
    tris = raster.corner_triangles(head, ("skin",))
    p = head.vertices[head.poly_verts[tris]]
    t = head.corner_uv[tris]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    d1, d2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    ok = np.abs(det) > 1e-12
    det = np.where(ok, det, 1.0)[:, None]
    du = np.linalg.norm((e1 * d2[:, 1:] - e2 * d1[:, 1:]) / det, axis=1)
    dv = np.linalg.norm((e2 * d1[:, :1] - e1 * d2[:, :1]) / det, axis=1)
    area = 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1) * ok
    verts = head.poly_verts[tris].ravel()
    weight = np.bincount(verts, np.repeat(area, 3), head.n_verts)
    out = np.stack([np.bincount(verts, np.repeat(area * m, 3), head.n_verts) for m in (du, dv)], axis=1)
    return out / np.maximum(weight, 1e-20)[:, None]


def _vertex_uv(head: HeadMesh) -> np.ndarray:
    """One skin UV per vertex (the face has no seams, so any corner's will do)."""
    skin = np.repeat(head.face_part == PART_ID["skin"], np.diff(head.poly_starts))
    uv = np.zeros((head.n_verts, 2))
    uv[head.poly_verts[skin]] = head.corner_uv[skin]
    return uv


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


def _beard_zone(head: HeadMesh, lips: np.ndarray, nose: np.ndarray, ears: np.ndarray) -> np.ndarray:
    """Where a beard grows: below a line from the sideburns to above the mouth corners, in front of
    the ears, down under the jaw to the upper neck (not behind the jaw angle), and the upper lip;
    never on the lips, nose or ears."""
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


# --- noise -------------------------------------------------------------------------------------


class _Noise:
    """Seeded 3-D value noise: a random lattice, randomly rotated and shifted for each octave."""

    def __init__(self, rng: np.random.Generator, frames: int = 16) -> None:
        self.table = rng.random(LATTICE ** 3, dtype=np.float32)
        self.rotations = np.array([np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(frames)], np.float32)
        self.offsets = rng.uniform(0, LATTICE, (frames, 3)).astype(np.float32)

    def octave(self, points: np.ndarray, wavelength: float, frame: int) -> np.ndarray:
        """Noise in [0, 1] with features `wavelength` apart, at (3, N) points (metres)."""
        q = (self.rotations[frame] / np.float32(wavelength)) @ points + self.offsets[frame][:, None]
        cells = np.floor(q)
        f = q - cells
        f *= f * (3.0 - 2.0 * f)
        lo = cells.astype(np.int32) & (LATTICE - 1)
        hi = (lo + 1) & (LATTICE - 1)
        xl, xh = lo[0] * LATTICE * LATTICE, hi[0] * LATTICE * LATTICE
        yl, yh = lo[1] * LATTICE, hi[1] * LATTICE
        t = self.table
        corners = []
        for z in (lo[2], hi[2]):
            for y in (yl, yh):
                a = t[xl + y + z]
                a += (t[xh + y + z] - a) * f[0]
                corners.append(a)
        c0 = corners[0] + (corners[1] - corners[0]) * f[1]
        c1 = corners[2] + (corners[3] - corners[2]) * f[1]
        return c0 + (c1 - c0) * f[2]


def _fade(wavelength: float, foot: np.ndarray) -> np.ndarray:
    """1 where features `wavelength` apart span 4+ texels, 0 below 2 (they would alias)."""
    return np.clip(wavelength / foot * 0.5 - 1.0, 0.0, 1.0)


def _skin_noise(s: _Surface, noise: _Noise) -> dict[str, np.ndarray]:
    """Texture noise over the whole layout: coarse blotches, mid mottling and pores (pits)."""
    blotch = 2.0 * (0.6 * _coarse_octave(s, noise, 35 * MM, 0) + 0.4 * _coarse_octave(s, noise, 14 * MM, 1)) - 1.0
    (mid5, fade5), (mid2, fade2) = _octave(s, noise, 5 * MM, 2), _octave(s, noise, 2.2 * MM, 3)
    (pore9, fade9), (pore5, fade5b) = _octave(s, noise, 0.9 * MM, 4), _octave(s, noise, 0.55 * MM, 5)
    pores = np.clip((pore9 - 0.6) / 0.2, 0.0, 1.0) * fade9 + 0.6 * np.clip((pore5 - 0.62) / 0.2, 0.0, 1.0) * fade5b
    return {"blotch": blotch, "mid": (2.0 * mid5 - 1.0) * fade5 + (mid2 - 0.5) * fade2,
            "pores": pores * s.fields["pores"], "breakup": _coarse_octave(s, noise, 12 * MM, 6)}


def _octave(s: _Surface, noise: _Noise, wavelength: float, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """An octave's values (0.5 where unresolved) and fade, evaluated only where the texels resolve it."""
    fade = _fade(wavelength, s.foot)
    where = np.flatnonzero(fade)
    out = np.full(fade.size, 0.5, np.float32)
    out[where] = noise.octave(s.flat_points[:, where], wavelength, frame)
    return out.reshape(fade.shape), fade


def _coarse_octave(s: _Surface, noise: _Noise, wavelength: float, frame: int, step: int = 4) -> np.ndarray:
    """A smooth octave sampled on every `step`-th texel and resized up (bilinear) to full size."""
    sub = (slice(step // 2, None, step),) * 2
    low = noise.octave(s.points(sub), wavelength, frame).reshape(s.x[sub].shape)
    low = 0.5 + (low - 0.5) * _fade(wavelength, step * s.foot[sub])
    low = _fill_gaps(low[None], s.covered[sub])[0]  # so resizing does not blend in the gaps' garbage
    return np.asarray(Image.fromarray(low, "F").resize((s.size, s.size), Image.BILINEAR))


# --- albedo ------------------------------------------------------------------------------------


def _skin_albedo(s: _Surface, look: dict, noise: dict) -> np.ndarray:
    """(3, S, S) skin colour before hair: Monk base x regional tints x noise x melanin marks."""
    f, m = s.fields, look["melanin"]
    flush = look["flush"] * (1.0 - 0.6 * m) * f["flush"] + 0.35 * np.clip(noise["blotch"], 0, 1) * look["blotchiness"]
    log = FLUSH_LOG[:, None, None] * flush
    log += ORBIT_LOG[:, None, None] * (look["orbit_darkness"] * (0.7 + 0.8 * m) * f["orbit"])
    log += (0.05 * look["blotchiness"] * noise["blotch"] + 0.035 * noise["mid"] - 0.06 * look["pores"]
            * noise["pores"])[None]
    log += _lip_log(look)[:, None, None] * f["lips"]
    log += np.log([0.80, 0.62, 0.62])[:, None, None] * f["margin"]  # the moist, pinker lid margin
    log += SPOT_LOG[:, None, None] * (_melanin_spots(s, look) * np.clip(0.7 + 0.6 * noise["mid"], 0.2, 1.4))
    return np.asarray(look["base_albedo"], np.float32)[:, None, None] * np.exp(log)


def _lip_log(look: dict) -> np.ndarray:
    """Vermilion colour relative to the skin: blood shows through (less green and blue), and the
    lips carry less melanin than the skin around them, so part of the skin's melanin tint (its
    log-colour below MST 1, bluest first) is taken back; very dark lips keep more of it."""
    melanin = np.log(MONK_ALBEDO * skin_tone_rgb(1.0)) - np.log(look["base_albedo"])
    kept = 0.35 * (1.0 - 0.6 * look["melanin"])
    return np.log([0.82, 0.45, 0.48]) + kept * np.maximum(melanin, 0.0) + np.asarray(look["lip_tint"])


def _melanin_spots(s: _Surface, look: dict) -> np.ndarray:
    """Strength map of age spots (solar lentigines; small dark papules on dark skin) and freckles.

    A fixed number of candidates is drawn whatever the age, and the first `n` are kept, so an
    older face keeps a younger one's spots and adds more.
    """
    rng = _rng(look["seed"], SUB_SPOTS)
    mask = Image.new("L", (s.size, s.size))
    draw = ImageDraw.Draw(mask)
    m = look["melanin"]
    spots = _sample_texels(s, s.fields["exposure"], 100, rng)
    radius = np.exp(rng.normal(np.log(1.2 - 0.6 * m), 0.45, 100)) * MM
    strength = rng.uniform(0.25, 0.8, 100) * (1.0 + 0.6 * m)
    _draw_blobs(draw, s, spots[: int(round(100 * look["age_spots"]))], radius, strength)
    freckles = _sample_texels(s, s.fields["flush"] * (s.y < 0.0), 500, rng)
    radius = rng.uniform(0.35, 1.1, 500) * MM
    strength = rng.uniform(0.2, 0.6, 500)
    _draw_blobs(draw, s, freckles[: int(round(500 * look["freckles"]))], radius, strength)
    blurred = mask.filter(ImageFilter.GaussianBlur(max(0.7, 0.3 * MM / float(np.median(s.foot[s.covered])))))
    return np.asarray(blurred, np.float32) / 170.0  # 255 -> 1.5 (fill values carry up to 1.5)


def _sample_texels(s: _Surface, weight: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count,) flat texel indices drawn with probability ~ weight x surface area (even per mm^2)."""
    density = (weight * s.fu * s.fv * s.covered).ravel().astype(np.float64)
    cdf = np.cumsum(density)
    return np.searchsorted(cdf, rng.random(count) * cdf[-1]).clip(0, density.size - 1)


def _draw_blobs(draw: ImageDraw.ImageDraw, s: _Surface, texels: np.ndarray, radius: np.ndarray,
                strength: np.ndarray) -> None:
    """Ellipses `radius` metres across on the surface (so stretched by the layout) at the texels."""
    rows, cols = np.divmod(texels, s.size)
    rx = radius[: len(texels)] / s.fu[rows, cols]
    ry = radius[: len(texels)] / s.fv[rows, cols]
    for c, r, a, b, k in zip(cols + 0.5, rows + 0.5, rx, ry, strength):
        draw.ellipse((c - a, r - b, c + a, r + b), fill=int(min(255, 170 * k)))


# --- hair: brows, lashes, stubble --------------------------------------------------------------


@dataclass
class _Hair:
    """(S, S) coverage maps of each kind of hair (zero where there is none)."""

    brows: np.ndarray  # pigmented brow hairs
    grey_brows: np.ndarray
    lashes: np.ndarray  # lashes and the lash line
    stubble_shadow: np.ndarray  # pigmented hair seen through the skin
    stubble: np.ndarray  # the stubs themselves

    @property
    def any(self) -> np.ndarray:
        return np.maximum(np.maximum(self.brows, self.grey_brows), self.lashes)


def _hair_layer(s: _Surface, head: HeadMesh, look: dict, seed: int, noise: _Noise) -> _Hair:
    """Brow hairs (a share of them grey, as brows grey later than the scalp), lashes and stubble."""
    layers = [np.zeros(s.covered.shape, np.float32) for _ in range(5)]
    rng = _rng(seed, SUB_BROWS)
    lm = head.landmark68_ids
    for ids in (lm[21:16:-1], lm[22:27]):  # each brow from its medial end outward
        strokes = _brow_strokes(s, s.pixels[ids], look, rng)
        grey = rng.random(len(strokes)) < 0.5 * look["grey"]
        _paint(layers[0], [k for k, g in zip(strokes, grey) if not g])
        _paint(layers[1], [k for k, g in zip(strokes, grey) if g])
    rng = _rng(seed, SUB_LASHES)
    for patch in head.topology.eye_patches.values():
        _paint(layers[2], _lash_strokes(s, patch, look, rng))
    if look["stubble"]:
        _stubble(s, look, noise, layers[3], layers[4])
    return _Hair(*layers)


# A stroke: (points (K, 2) in texel pixels, width in texels, opacity 0..1).
Stroke = tuple[np.ndarray, float, float]
SUPERSAMPLE = 4


def _paint(target: np.ndarray, strokes: list[Stroke]) -> None:
    """Draw strokes (union coverage, anti-aliased by supersampling) into `target` over their bounding box."""
    if not strokes:
        return
    pts = np.vstack([p for p, _, _ in strokes])
    size = target.shape[0]
    c0, r0 = np.clip(np.floor(pts.min(0)) - 2, 0, size).astype(int)
    c1, r1 = np.clip(np.ceil(pts.max(0)) + 2, 0, size).astype(int)
    if c1 <= c0 or r1 <= r0:
        return
    canvas = Image.new("L", ((c1 - c0) * SUPERSAMPLE, (r1 - r0) * SUPERSAMPLE))
    draw = ImageDraw.Draw(canvas)
    for points, width, opacity in strokes:
        xy = ((points - [c0, r0]) * SUPERSAMPLE).ravel().tolist()
        draw.line(xy, fill=int(255 * opacity), width=max(1, int(round(width * SUPERSAMPLE))), joint="curve")
    cover = np.asarray(canvas.reduce(SUPERSAMPLE), np.float32) / 255.0
    window = target[r0:r1, c0:c1]
    np.maximum(window, cover, out=window)


def _root_scale(s: _Surface, roots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per texel along u and v at root pixels."""
    col = np.clip(roots[:, 0].astype(int), 0, s.size - 1)
    row = np.clip(roots[:, 1].astype(int), 0, s.size - 1)
    return s.fu[row, col], s.fv[row, col]


def _metric_angle(s: _Surface, roots: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Direction (radians, u right / v up, on the surface) of pixel offsets at the roots."""
    fu, fv = _root_scale(s, roots)
    return np.arctan2(-offsets[:, 1] * fv, offsets[:, 0] * fu)


def _curved_strokes(s: _Surface, roots: np.ndarray, angle: np.ndarray, length: np.ndarray,
                    bend: np.ndarray, width_mm: np.ndarray, opacity: np.ndarray) -> list[Stroke]:
    """Hairs from roots (pixels) along surface directions `angle`, `length` metres long, curling
    sideways by `bend` (fraction of the length, + = counter-clockwise) toward the tip."""
    steps = np.linspace(0.0, 1.0, 5)[None, :, None]
    d = np.stack([np.cos(angle), np.sin(angle)], 1)[:, None]
    n = np.stack([-np.sin(angle), np.cos(angle)], 1)[:, None]
    metric = (steps * d + bend[:, None, None] * steps ** 2 * n) * length[:, None, None]
    fu, fv = _root_scale(s, roots)
    points = roots[:, None] + np.stack([metric[..., 0] / fu[:, None], -metric[..., 1] / fv[:, None]], -1)
    return list(zip(points, width_mm * MM / np.maximum(fu, fv), opacity))


def _jitter(texels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Flat texel indices -> random pixel positions inside those texels."""
    rows, cols = np.divmod(texels, size)
    return np.stack([cols + rng.random(len(texels)), rows + rng.random(len(texels))], 1)


def _brow_strokes(s: _Surface, line: np.ndarray, look: dict, rng: np.random.Generator) -> list[Stroke]:
    """Eyebrow hairs rooted in the brow band: rising at the head, lying laterally along the body,
    dipping at the tail; hairs above the brow's line slope down onto those below it."""
    band = s.fields["brows"]
    side = np.sign(line[-1, 0] - line[0, 0])  # +1: the brow runs medial -> lateral toward +u
    weight = band * ((np.arange(s.size) + 0.5 - s.size / 2) * side > 0)[None, :]
    area = float((weight * s.fu * s.fv).sum()) / MM ** 2
    count = int(min(2000, rng.poisson(look["brow_density"] * area)))
    roots = _jitter(_sample_texels(s, weight * (band > 0.35), count, rng), s.size, rng)
    t, tangent, below = _along(line, roots)
    rise = np.interp(t, [0.0, 0.2, 0.7, 1.0], [70.0, 22.0, 8.0, -12.0]) + rng.normal(0, 9, count)
    rise -= 20.0 * np.clip(-below * _root_scale(s, roots)[1] / (2.5 * MM), -1.0, 1.0)
    angle = _metric_angle(s, roots, tangent) + side * np.radians(rise)
    length = look["brow_length_mm"] * MM * rng.uniform(0.6, 1.1, count) * (1.0 - 0.35 * t)
    strokes = _curved_strokes(s, roots, angle, length, -side * rng.uniform(0.05, 0.3, count),
                              rng.uniform(0.10, 0.18, count), rng.uniform(0.7, 1.0, count))
    keep = rng.random(count) < 1.0 - 0.65 * np.clip((t - 0.55) / 0.45, 0.0, 1.0)  # a sparser tail
    return [stroke for stroke, k in zip(strokes, keep) if k]


def _along(line: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arc-length parameter (0..1), unit tangent (pixels) and signed pixel distance (+ = below, in
    the image) of each point's nearest spot on a polyline."""
    a, d = line[:-1], line[1:] - line[:-1]
    seg = np.linalg.norm(d, axis=1)
    u = np.clip(((points[:, None] - a[None]) * d).sum(2) / seg ** 2, 0.0, 1.0)
    near = a[None] + u[..., None] * d[None]
    k = np.linalg.norm(points[:, None] - near, axis=2).argmin(1)
    pick = np.arange(len(k))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    tangent = d[k] / seg[k, None]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1) * np.sign(tangent[:, :1] + 1e-9)
    below = ((points - near[pick, k]) * normal).sum(1)
    return (cum[k] + u[pick, k] * seg[k]) / cum[-1], tangent, below


def _lash_strokes(s: _Surface, patch, look: dict, rng: np.random.Generator) -> list[Stroke]:
    """The lash line along the lid margin's front edge (ring 2), and lashes rooted on it pointing
    away from the eye and sweeping toward the lateral corner: upper long and dense, lower short."""
    ring, psi = s.pixels[patch.rings[2]], np.asarray(patch.psi)
    centre = ring.mean(0)
    lateral = np.sign(centre[0] - s.size / 2)  # +1: the lateral corner is toward +u
    foot = s.foot[int(centre[1]), int(centre[0])]
    strokes = [(_ring_point(ring, psi, np.linspace(0.0, 2 * np.pi, 65)), 0.22 * MM / foot, 0.55),
               (_ring_point(ring, psi, np.linspace(0.15, np.pi - 0.15, 25)), 0.45 * MM / foot, 0.75)]
    for sign, count, length in ((1, look["lash_count"], look["lash_length_mm"]),
                                (-1, look["lash_count"] // 2, 0.45 * look["lash_length_mm"])):
        at = rng.uniform(-0.85, 0.9, count)  # -1 medial corner .. +1 lateral corner
        where = sign * (np.pi / 2 - lateral * at * np.pi / 2)
        roots = _ring_point(ring, psi, where)
        tangent = _ring_point(ring, psi, where + 0.05) - _ring_point(ring, psi, where - 0.05)
        out = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
        out *= np.sign(((roots - centre) * out).sum(1, keepdims=True))  # away from the eye
        sweep = -lateral * sign * 25.0 * np.clip(at, 0.0, 1.0) + rng.normal(0, 6, count)
        angle = _metric_angle(s, roots, out) + np.radians(sweep)
        lens = length * MM * (1.0 - 0.45 * at ** 2) * rng.uniform(0.75, 1.15, count)
        strokes += _curved_strokes(s, roots, angle, lens, -lateral * sign * rng.uniform(0.1, 0.35, count),
                                   rng.uniform(0.08, 0.14, count), rng.uniform(0.6, 1.0, count))
    return strokes


def _ring_point(ring: np.ndarray, psi: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Points on a closed ring (pixels) at polar angles `at`, interpolating between its vertices."""
    order = np.argsort(psi)
    p = np.concatenate([psi[order] - 2 * np.pi, psi[order], psi[order] + 2 * np.pi])
    xy = np.vstack([ring[order]] * 3)
    at = np.mod(at, 2 * np.pi)
    return np.stack([np.interp(at, p, xy[:, 0]), np.interp(at, p, xy[:, 1])], 1)


def _stubble(s: _Surface, look: dict, noise: _Noise, shadow: np.ndarray, stubs: np.ndarray) -> None:
    """Stubble in the beard zone: a shadow of hair under the skin and the stubs (follicle dots).
    Growth is patchy at the zone's edges (two noise octaves), so the beard has no drawn outline."""
    zone = s.fields["beard"]
    where = np.flatnonzero(zone > 0.01)
    foot = s.foot.ravel()[where]
    points = s.flat_points[:, where]
    patchy = 0.65 * noise.octave(points, 8 * MM, 8) + 0.35 * noise.octave(points, 3 * MM, 9)
    growth = np.clip(1.25 * zone.flat[where] - 0.9 * (1.0 - patchy), 0.0, 1.0)
    growth = growth * growth * (3.0 - 2.0 * growth)
    follicles = noise.octave(points, 0.7 * MM, 7)
    dots = np.clip((follicles - 0.62 + 0.12 * look["stubble_density"]) / 0.1, 0.0, 1.0)
    fade = _fade(0.7 * MM, foot)
    dots = fade * dots + (1.0 - fade) * 0.3 * look["stubble_density"]  # unresolved dots: their mean cover
    shadow.flat[where] = 0.25 * growth
    stubs.flat[where] = growth * 0.6 * look["stubble_length"] * dots


def _composite_hair(albedo: np.ndarray, s: _Surface, look: dict, hair: _Hair) -> np.ndarray:
    """Lay hair over the skin (alpha blends in linear light): stubble, the shadow of brow roots,
    brow hairs, lashes. Grey hairs cast no shadow under the skin, and their short translucent
    stubs show dimmer than grey brow hairs."""
    pigment, grey = np.asarray(look["hair_rgb"]), look["grey"]
    _blend(albedo, pigment, (hair.stubble_shadow + hair.stubble) * (1.0 - grey))
    _blend(albedo, 0.6 * GREY_HAIR, hair.stubble * grey)
    _blend(albedo, pigment, 0.2 * s.fields["brows"])
    _blend(albedo, pigment, 0.92 * hair.brows)
    _blend(albedo, GREY_HAIR, 0.85 * hair.grey_brows)
    _blend(albedo, 0.5 * pigment, 0.95 * hair.lashes)
    return albedo


def _blend(image: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """image += (rgb - image) x alpha, in place, over alpha's support only."""
    box = _support(alpha)
    if box is not None:
        window = image[(slice(None), *box)]
        window += (np.asarray(rgb, np.float32)[:, None, None] - window) * alpha[box][None]


# --- relief: wrinkles and pores -> normal map; roughness --------------------------------------


def _height(s: _Surface, look: dict, noise: dict, seed: int) -> np.ndarray:
    """(S, S) skin relief in metres (negative = into the skin): pores, mottling, age lines."""
    h = -0.03 * MM * look["pores"] * noise["pores"] + 0.012 * MM * noise["mid"]
    lines = _Wrinkles(s, h, look["wrinkle_depth"] * MM, 1.0 + 0.8 * look["ageing"], noise["breakup"])
    rng = _rng(seed, SUB_WRINKLES)
    for family in (_forehead_lines, _glabella_lines, _crows_feet, _under_eye_lines, _nasolabial_fold,
                   _perioral_lines, _neck_lines, _lip_lines):
        family(lines, rng)
    return h


@dataclass
class _Wrinkles:
    """Carves line families into a height field, each over the bounding box of its region field."""

    s: _Surface
    h: np.ndarray
    depth: float  # metres, the deepest forehead line's scale; grows with age
    widen: float  # older lines are wider as well as deeper
    breakup: np.ndarray  # coarse noise in [0, 1]: bends lines and breaks them into segments

    def carve(self, name: str, profile) -> None:
        """h -= region field x profile(box), profile being the groove depth in metres over the box."""
        mask = self.s.fields[name]
        box = _support(mask > 0.02)
        if box is not None:
            self.h[box] -= mask[box] * profile(box)

    def groove(self, distance: np.ndarray, sigma: float, box) -> np.ndarray:
        """Gaussian groove profile (1 at the centre) at `distance` (m) from a line, widened to at
        least ~a texel with its depth scaled so the cross-section keeps its area (pre-filtered)."""
        sigma = sigma * self.widen
        wide = np.sqrt(sigma ** 2 + (0.7 * self.s.foot[box]) ** 2)
        return np.exp(-0.5 * (distance / wide) ** 2) * (sigma / wide)

    def segments(self, box, threshold: float) -> np.ndarray:
        """0/1 (soft) pieces of line: where the breakup noise is above a threshold."""
        return np.clip((self.breakup[box] - threshold) / 0.2, 0.0, 1.0)


def _periodic(phase: np.ndarray, spacing: float) -> np.ndarray:
    """Distance (same units as phase) to the nearest of lines `spacing` apart."""
    return np.abs(np.mod(phase / spacing + 0.5, 1.0) - 0.5) * spacing


def _either_side(x: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per texel, the left-side (x >= 0) or right-side landmark position."""
    return np.where(x[..., None] >= 0, left, right)


def _forehead_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Horizontal, gently curved and wavy lines across the forehead, in broken segments."""
    spacing, wave, curve = rng.uniform(8.5, 12.0) * MM, rng.uniform(0.8, 2.0) * MM, rng.uniform(-3.0, 5.0)
    s = w.s

    def profile(box):
        phase = s.z[box] - s.head.params.z_brow + curve * s.x[box] ** 2 + wave * 2 * (w.breakup[box] - 0.5)
        return 0.5 * w.depth * w.groove(_periodic(phase, spacing), 0.4 * MM, box) * w.segments(box, 0.25)
    w.carve("forehead", profile)


def _glabella_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """The vertical "11" lines either side of the midline between the brows."""
    offsets = rng.uniform(3.0, 5.0, 2) * MM

    def profile(box):
        x = w.s.x[box]
        return 0.4 * w.depth * w.groove(np.where(x > 0, x - offsets[1], -x - offsets[0]), 0.4 * MM, box)
    w.carve("glabella", profile)


def _crows_feet(w: _Wrinkles, rng: np.random.Generator) -> None:
    """A fan of a few lines from the outer eye corner, within ~40 degrees of the horizontal."""
    spacing, tilt = np.radians(rng.uniform(12.0, 17.0)), np.radians(rng.uniform(-8.0, 8.0))
    s, lm = w.s, w.s.head.landmarks

    def profile(box):
        x, z = s.x[box], s.z[box]
        corner = _either_side(x, lm["exocanthion_L"], lm["exocanthion_R"])
        dx, dz = np.abs(x) - np.abs(corner[..., 0]), z - corner[..., 2]
        r = np.hypot(dx, dz)
        angle = np.arctan2(dz, dx) - tilt + 0.25 * (w.breakup[box] - 0.5)
        fan = np.clip((0.75 - np.abs(angle)) / 0.2, 0.0, 1.0) * np.clip((r - 3 * MM) / (3 * MM), 0.0, 1.0)
        lines = w.groove(_periodic(angle + spacing / 2, spacing) * r, 0.35 * MM, box)
        return 0.4 * w.depth * lines * fan * w.segments(box, 0.2)
    w.carve("crows", profile)


def _under_eye_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Arcs under the lower lid, concentric with the eye."""
    spacing = rng.uniform(2.5, 3.5) * MM
    s, lm = w.s, w.s.head.landmarks

    def profile(box):
        x, z = s.x[box], s.z[box]
        centre = _either_side(x, lm["eye_centre_L"], lm["eye_centre_R"])
        r = np.hypot((x - centre[..., 0]) / 1.6, z - centre[..., 2]) + 0.6 * MM * w.breakup[box]
        return 0.25 * w.depth * w.groove(_periodic(r, spacing), 0.3 * MM, box) * w.segments(box, 0.3)
    w.carve("under_eye", profile)


def _nasolabial_fold(w: _Wrinkles, rng: np.random.Generator) -> None:
    """A crease along the fold line, from beside the nose wing to past the mouth corner (the
    segment pain3d.head.regions draws the region about)."""
    strength, p = rng.uniform(0.4, 0.8), w.s.head.params
    a = np.array([p.nose_half_width + 0.0015, p.z_sn + 0.005])
    d = np.array([p.mouth_w + 0.008, p.z_sto - 0.009]) - a

    def profile(box):
        rel = np.stack([np.abs(w.s.x[box]) - a[0], w.s.z[box] - a[1]], -1)
        t = np.clip(rel @ d / (d @ d), 0.0, 1.0)
        return strength * w.depth * w.groove(np.linalg.norm(rel - t[..., None] * d, axis=-1), 0.8 * MM, box)
    w.carve("nasolabial", profile)


def _perioral_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Short vertical lines on the upper lip, only on the deeper-lined (older) faces."""
    spacing = rng.uniform(2.0, 3.0) * MM
    old = float(np.clip(w.depth / MM - 0.6, 0.0, 1.0))

    def profile(box):
        phase = w.s.x[box] + 1.5 * MM * (w.breakup[box] - 0.5)
        return 0.15 * old * w.depth * w.groove(_periodic(phase, spacing), 0.25 * MM, box) * w.segments(box, 0.3)
    w.carve("perioral", profile)


def _neck_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Wide horizontal creases across the front of the neck."""
    spacing = rng.uniform(12.0, 17.0) * MM

    def profile(box):
        phase = w.s.z[box] + 3 * MM * (w.breakup[box] - 0.5)
        return 0.5 * w.depth * w.groove(_periodic(phase, spacing), 0.7 * MM, box)
    w.carve("neck", profile)


def _lip_lines(w: _Wrinkles, rng: np.random.Generator) -> None:
    """Fine vertical striations of the vermilion (at every age)."""
    spacing = rng.uniform(1.0, 1.5) * MM

    def profile(box):
        phase = w.s.x[box] + 0.8 * MM * (w.breakup[box] - 0.5)
        return 0.03 * MM * w.groove(_periodic(phase, spacing), 0.15 * MM, box)
    w.carve("lips", profile)


def _normal_map(height: np.ndarray, s: _Surface) -> np.ndarray:
    """Tangent-space normals (OpenGL: +y = +v = image up) from the height field's slope on the surface."""
    h = height.astype(np.float32)
    du = np.zeros_like(h)
    dv = np.zeros_like(h)
    du[:, 1:-1] = (h[:, 2:] - h[:, :-2]) / (2.0 * s.fu[:, 1:-1])
    dv[1:-1] = (h[:-2] - h[2:]) / (2.0 * s.fv[1:-1])  # row 0 is v = 1: up is toward smaller rows
    inner = _eroded(s.covered)
    n = np.stack([-du * inner, -dv * inner, np.ones_like(h)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _eroded(mask: np.ndarray) -> np.ndarray:
    """Texels whose four neighbours are covered too (no slope across an island border)."""
    out = mask.copy()
    out[1:] &= mask[:-1]
    out[:-1] &= mask[1:]
    out[:, 1:] &= mask[:, :-1]
    out[:, :-1] &= mask[:, 1:]
    return out


def _roughness(s: _Surface, look: dict, noise: dict, hair: _Hair) -> np.ndarray:
    """Skin roughness: oilier T-zone and moist lips are glossier; pores, creases and hair rougher."""
    f = s.fields
    r = look["roughness"] - 0.10 * f["oil"] - 0.16 * f["lips"] - 0.10 * f["margin"] + 0.04 * noise["mid"] \
        + 0.05 * noise["pores"] + 0.2 * hair.any + 0.12 * hair.stubble
    return np.clip(r, *ROUGHNESS_RANGE).astype(np.float32)


# --- finishing ---------------------------------------------------------------------------------


def _into_range(rgb: np.ndarray, lo: float = ALBEDO_RANGE[0], hi: float = ALBEDO_RANGE[1]) -> np.ndarray:
    """Colours into ALBEDO_RANGE by a monotone soft shoulder (the identity inside [2 lo, hi - 0.1],
    exponential roll-off beyond), so the range is never hit as a hard clamp and order is kept."""
    top, bottom = hi - 0.1, 2.0 * lo
    rgb = np.where(rgb > top, top + (hi - top) * -np.expm1(-(rgb - top) / (hi - top)), rgb)
    rgb = np.where(rgb < bottom, bottom - (bottom - lo) * -np.expm1(-(bottom - rgb) / (bottom - lo)), rgb)
    return rgb.astype(np.float32)


def _fill_gaps(image: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Uncovered texels take the colour of nearby covered ones (push-pull over a 2x pyramid), so
    texture filtering across an island's border or into the eye holes stays skin-coloured."""
    levels = []
    value, weight = image * covered, covered.astype(np.float32)
    while min(weight.shape) > 1:
        levels.append((value, weight))
        value, weight = _halve(value), _halve(weight)
    colour = value / np.maximum(weight, 1e-12)
    for value, weight in reversed(levels):
        coarse = np.repeat(np.repeat(colour, 2, axis=-2), 2, axis=-1)[..., : weight.shape[0], : weight.shape[1]]
        colour = np.where(weight > 0, value / np.maximum(weight, 1e-12), coarse)
    return np.where(covered, image, colour).astype(np.float32)


def _halve(a: np.ndarray) -> np.ndarray:
    """Sum over 2x2 blocks of the last two axes (odd sizes padded with zeros)."""
    h, w = a.shape[-2:]
    if h % 2 or w % 2:
        a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, h % 2), (0, w % 2)])
    return a.reshape(*a.shape[:-2], (h + 1) // 2, 2, (w + 1) // 2, 2).sum(axis=(-3, -1))


# --- eyes --------------------------------------------------------------------------------------

PUPIL_ANGLE, IRIS_ANGLE = 0.165, 0.53  # polar angles (radians from the front pole) of the eyeball groups


def _eye_texture(look: dict, seed: int, size: int = EYE_SIZE) -> np.ndarray:
    """(E, E, 3) eyeball albedo in the eyeball UV layout (polar: radius 0.5 <-> pi from the front pole)."""
    rng = _rng(seed, SUB_EYES)
    c = (np.arange(size) + 0.5) / size
    du, dv = c[None, :] - 0.5, (1.0 - c)[:, None] - 0.5
    angle = (2.0 * np.pi * np.hypot(du, dv)).astype(np.float32)  # polar angle of the texel
    lon = np.arctan2(dv, du).astype(np.float32)
    iris = _iris(angle, lon, look, rng)
    sclera = _sclera(angle, lon, look, rng, size)
    edge = np.clip((angle - IRIS_ANGLE) / 0.02 + 0.5, 0.0, 1.0)[..., None]
    return _into_range(iris * (1.0 - edge) + sclera * edge)


def _iris(angle: np.ndarray, lon: np.ndarray, look: dict, rng: np.random.Generator) -> np.ndarray:
    """Iris colour with radial fibres, a collarette, crypts, a dark limbal ring and the pupil."""
    noise = _Noise(rng, frames=4)
    rho = np.clip((angle - PUPIL_ANGLE) / (IRIS_ANGLE - PUPIL_ANGLE), 0.0, 1.0)
    # lattice units: ~190 cells around the iris, ~3 across it, so features are long radial fibres
    ring = np.stack([np.cos(lon) * 0.06, np.sin(lon) * 0.06, rho * 0.006]).reshape(3, -1)
    fibres = (noise.octave(ring, 0.002, 0) + 0.5 * noise.octave(ring, 0.001, 1)).reshape(angle.shape) / 1.5
    crypts = noise.octave(np.stack([np.cos(lon) * rho, np.sin(lon) * rho, rho]).reshape(3, -1) * 0.06, 0.008,
                          2).reshape(angle.shape)
    collarette = np.exp(-(((rho - rng.uniform(0.3, 0.42)) / 0.06) ** 2))
    inner = np.asarray(look["iris_rgb"]) * np.array(rng.uniform([1.0, 0.8, 0.5], [1.6, 1.1, 0.9]))
    mix = np.clip(1.0 - rho / 0.4, 0.0, 1.0)[..., None]  # the pupillary zone often has its own, warmer tint
    colour = (1 - mix) * np.asarray(look["iris_rgb"]) + mix * inner
    shade = np.exp(1.2 * (fibres - 0.5) + 0.3 * collarette - 0.6 * np.clip(crypts - 0.55, 0, 1) / 0.45
                   - 1.4 * np.clip((rho - 0.8) / 0.2, 0, 1) ** 2)
    out = colour * shade[..., None]
    pupil = np.clip((PUPIL_ANGLE - angle) / 0.015 + 0.5, 0.0, 1.0)[..., None]
    return out * (1.0 - pupil) + 0.004 * pupil


def _sclera(angle: np.ndarray, lon: np.ndarray, look: dict, rng: np.random.Generator, size: int) -> np.ndarray:
    """Warm white (yellower with age), pinker toward the corners, with faint branching veins."""
    base = np.array([0.70, 0.64, 0.56]) * np.exp([0.0, -0.02, -0.08] * np.asarray(look["ageing"]))
    corners = np.abs(np.cos(lon)) ** 4 * np.clip((angle - 0.7) / 0.6, 0.0, 1.0)
    out = base * np.exp(np.array([0.0, -0.12, -0.12]) * corners[..., None])
    veins = Image.new("L", (size, size))
    draw = ImageDraw.Draw(veins)
    for _ in range(int(rng.integers(10, 20))):
        _vein(draw, rng, size)
    alpha = np.asarray(veins.filter(ImageFilter.GaussianBlur(0.6)), np.float32)[..., None] / 255.0
    return out + (np.array([0.45, 0.06, 0.05]) - out) * alpha * 0.3


def _vein(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int) -> None:
    """A wandering vessel from deep in the corner of the eye toward the limbus, with a branch."""
    lon = rng.choice([0.0, np.pi]) + rng.normal(0, 0.5)
    angle = rng.uniform(1.0, 1.4)
    points = []
    while angle > IRIS_ANGLE + 0.06:
        r = angle / (2 * np.pi) * size
        points.append((size / 2 + r * np.cos(lon), size / 2 - r * np.sin(lon)))
        angle -= rng.uniform(0.04, 0.08)
        lon += rng.normal(0, 0.03)
    if len(points) > 1:
        draw.line(points, fill=int(rng.integers(90, 200)), width=1)
        k = int(rng.integers(0, len(points) - 1))
        tip = np.array(points[k]) + rng.normal(0, size * 0.02, 2)
        draw.line([points[k], tuple(tip)], fill=int(rng.integers(60, 140)), width=1)

"""The clinical scene: the patient lying in a hospital bed, head on a pillow (pure numpy).

The person stays as built (upright in the head's frame: face -Y, up +Z); the bed is laid out
around them. Its backrest is the plane behind the back, with normal `backrest_normal` (the
face's forward direction turned by the bed record's `turn`, so the head lies turned on the
pillow), and the room's up leans from that normal towards the top of the head by `recline`
(the backrest raised, 0-45 degrees in intensive care). Cameras and lights keep their
face-relative views; the room's up tilts the world's environment map (`world_tilt`) and lights
that would sit behind the backrest move in front of it (`lift_lights`).

The bedding (`make_bedding`) is three height fields over the backrest plane, built from the
body's own points (a pillow that the head presses into, the mattress under the shoulders, and
a blanket over the chest that hides where the bust ends), and the bed's two side rails at the
head end, low enough that no allowed view looks over them at the face. Gravity is not simulated: hair keeps its
upright groom (strands behind the head lie inside the pillow). docs/scenery.md, "Clinical scene".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PILLOW_SIZE = (0.66, 0.46)      # across and along the body, m (a standard 66 x 46 cm pillow)
PILLOW_LOFT = (0.10, 0.15)      # uncompressed height at its centre, m
MATTRESS_WIDTH = 0.90           # a hospital mattress, m
MATTRESS_DROP = 0.14            # its side, m
BLANKET_GAP = 0.03              # over the chest (and the garment under it), m
BLANKET_BELOW_NOTCH = (0.05, 0.12)  # where its folded top edge lies under the suprasternal notch, m
CELL = 0.008                    # height-field grid step, m
MIN_VIEW_ELEVATION = 15.0       # degrees above the backrest plane every camera must stay
RAIL = {"height": 0.24, "thickness": 0.03, "length": 0.8, "below": 0.06}  # side rails over the mattress, m
LINEN = {  # sRGB colours of hospital linen
    "pillow": ["f4f4f0", "e9eef2", "dde8ef", "e4ede4", "f2efe6"],
    "sheet": ["f5f5f2", "eef1f3", "e8eef0"],
    "blanket": ["f0f0ec", "c9d9e6", "b9cddb", "d9e3d3", "e6dccd", "cfd6dc"],
}


def draw_bed(cfg: dict, seed: int) -> dict:
    """One identity's bed: how the head lies turned, the backrest raised, the linen's colours and
    the seed of its creases."""
    rng = np.random.default_rng(seed)
    turn = float(rng.uniform(*cfg["turn"]))
    recline = float(rng.uniform(*cfg["recline"]))
    colours = {part: str(rng.choice(choices)) for part, choices in LINEN.items()}
    return {"turn": round(turn, 2), "recline": round(recline, 2),
            "pillow_loft": round(float(rng.uniform(*PILLOW_LOFT)), 3),
            "blanket_below_notch": round(float(rng.uniform(*BLANKET_BELOW_NOTCH)), 3),
            **{f"{part}_colour": colour for part, colour in colours.items()},
            "seed": int(rng.integers(0, 2**31 - 1))}


def backrest_normal(turn_deg: float) -> np.ndarray:
    """The backrest plane's normal in the head's frame: the face's forward (-Y) with the head
    turned by `turn` on the pillow (> 0: towards the subject's left, as a view's yaw)."""
    t = math.radians(turn_deg)
    return np.array([-math.sin(t), -math.cos(t), 0.0])


def room_up(bed: dict) -> np.ndarray:
    """The room's up in the head's frame."""
    r = math.radians(bed["recline"])
    return math.cos(r) * backrest_normal(bed["turn"]) + math.sin(r) * np.array([0.0, 0.0, 1.0])


def world_tilt(bed: dict) -> list[float]:
    """X and Y rotations (degrees, applied X then Y, before the world's Z rotation) that bring the
    room's up onto the environment map's up."""
    ux, uy, uz = room_up(bed)
    rx = math.atan2(uy, uz)
    ry = math.atan2(-ux, math.hypot(uy, uz))
    return [round(math.degrees(rx), 3), round(math.degrees(ry), 3)]


def view_direction(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """The unit direction from the face to a camera or light at (yaw/azimuth, pitch/elevation)."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    return np.array([math.sin(y) * math.cos(p), -math.cos(y) * math.cos(p), math.sin(p)])


def view_elevation(view: dict, turn_deg: float) -> float:
    """Degrees of a view above the backrest plane with the head turned by `turn_deg`."""
    d = view_direction(view["yaw"], view["pitch"]) @ backrest_normal(turn_deg)
    return math.degrees(math.asin(max(-1.0, min(1.0, float(d)))))


def lowest_view(views: list[dict], turn_range: tuple[float, float]) -> tuple[dict, float, float]:
    """The view that comes nearest the backrest over the turn range: (view, turn, its elevation)."""
    return min(((v, t, view_elevation(v, t)) for v in views for t in turn_range), key=lambda x: x[2])


def lift_lights(lighting: dict, bed: dict) -> dict:
    """The lighting record in the bed: lights behind the backrest mirrored in front of it (at least
    15 degrees above it: a ceiling or a window, not the mattress), the world tilted to the room."""
    n = backrest_normal(bed["turn"])
    floor = math.sin(math.radians(15.0))
    lights = []
    for light in lighting["lights"]:
        d = view_direction(light["azimuth"], light["elevation"])
        if d @ n < floor:
            d = d - 2.0 * min(float(d @ n), 0.0) * n  # mirrored over the plane
            along = d - (d @ n) * n
            d = floor * n + math.sqrt(1 - floor * floor) * along / max(np.linalg.norm(along), 1e-9) \
                if d @ n < floor else d
        azimuth = math.degrees(math.atan2(d[0], -d[1]))
        elevation = math.degrees(math.asin(max(-1.0, min(1.0, float(d[2])))))
        lights.append({**light, "azimuth": round(azimuth, 3), "elevation": round(elevation, 3)})
    world = dict(lighting["world"])
    if world["kind"] == "environment":
        world["tilt"] = world_tilt(bed)
    return {**lighting, "lights": lights, "world": world}


# --- bedding ---------------------------------------------------------------------------------


@dataclass
class Surface:
    """A part of the bed: vertices (N, 3) in the head's frame, quads (M, 4) facing out, metric UVs
    (N, 2) and whether it shades smooth (the linen) or flat (the rails' panels)."""

    vertices: np.ndarray
    quads: np.ndarray
    uv: np.ndarray
    smooth: bool = True


def bed_axes(bed: dict) -> np.ndarray:
    """Rows (a rotation): across the bed, along it (towards the head), the backrest normal."""
    n = backrest_normal(bed["turn"])
    up = np.array([0.0, 0.0, 1.0])
    return np.stack([np.cross(up, n), up, n])


def make_bedding(body: np.ndarray, bed: dict, z_notch: float, z_acromion: float) -> dict[str, Surface]:
    """Pillow, mattress and blanket around the body's points (head, neck and bust in the head's
    frame), with the suprasternal notch and acromion heights placing the pillow and blanket."""
    axes = bed_axes(bed)
    local = np.asarray(body, float) @ axes.T  # (across, along, height above the backrest origin)
    floor = float(local[local[:, 1] < z_acromion, 2].min())  # the mattress under the shoulders
    rng = np.random.default_rng(bed["seed"])
    return {"pillow": _pillow(local, bed, floor, z_acromion, axes, rng),
            "mattress": _mattress(local, floor, axes, z_acromion),
            "blanket": _blanket(local, bed, floor, z_notch, axes, rng),
            "rails": _rails(local, floor, axes, z_acromion)}


def _grid(a_range: tuple[float, float], b_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    a = np.arange(a_range[0], a_range[1] + CELL / 2, CELL)
    b = np.arange(b_range[0], b_range[1] + CELL / 2, CELL)
    return np.meshgrid(a, b)


def _rasterise(local: np.ndarray, a: np.ndarray, b: np.ndarray, reduce: str) -> np.ndarray:
    """Per grid cell, the lowest (`min`) or highest (`max`) body point above it; nan where none."""
    rows, cols = a.shape
    i = np.round((local[:, 1] - b[0, 0]) / CELL).astype(int)
    j = np.round((local[:, 0] - a[0, 0]) / CELL).astype(int)
    keep = (i >= 0) & (i < rows) & (j >= 0) & (j < cols)
    out = np.full(rows * cols, np.inf if reduce == "min" else -np.inf)
    (np.minimum if reduce == "min" else np.maximum).at(out, i[keep] * cols + j[keep], local[keep, 2])
    out = out.reshape(rows, cols)
    return np.where(np.isfinite(out), out, np.nan)


def _fill(field: np.ndarray, reduce: str, steps: int) -> np.ndarray:
    """Grow a sparse field over `steps` cells by its neighbours' min or max (closes gaps between
    mesh vertices and widens the contact a little)."""
    pick = np.fmin if reduce == "min" else np.fmax
    for _ in range(steps):
        padded = np.pad(field, 1, constant_values=np.nan)
        grown = field
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                grown = pick(grown, padded[1 + di:padded.shape[0] - 1 + di, 1 + dj:padded.shape[1] - 1 + dj])
        field = grown
    return field


def _blur(field: np.ndarray, sigma_m: float) -> np.ndarray:
    from .environments import lens_blur

    return lens_blur(field[..., None], sigma_m / CELL)[..., 0]


def _creases(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, amplitude: float, wavelength: float) -> np.ndarray:
    """Soft seeded creases: a few sine waves in random directions."""
    out = np.zeros_like(a)
    for _ in range(5):
        angle, phase = rng.uniform(0, math.pi), rng.uniform(0, 2 * math.pi)
        k = 2 * math.pi / (wavelength * rng.uniform(0.6, 1.6))
        out += np.sin(k * (a * math.cos(angle) + b * math.sin(angle)) + phase)
    return amplitude * out / 5.0


def _surface(a: np.ndarray, b: np.ndarray, h: np.ndarray, axes: np.ndarray) -> Surface:
    rows, cols = a.shape
    vertices = np.stack([a, b, h], axis=-1).reshape(-1, 3) @ axes
    index = np.arange(rows * cols).reshape(rows, cols)
    quads = np.stack([index[:-1, :-1], index[:-1, 1:], index[1:, 1:], index[1:, :-1]], axis=-1).reshape(-1, 4)  # facing +normal
    return Surface(vertices, quads, np.stack([a, b], axis=-1).reshape(-1, 2))


def _pillow(local, bed, floor, z_acromion, axes, rng) -> Surface:
    half_a, length = PILLOW_SIZE[0] / 2, PILLOW_SIZE[1]
    head = local[local[:, 1] > z_acromion - 0.03]
    centre_a = float(np.median(head[head[:, 1] > z_acromion + 0.12, 0]))
    b0 = z_acromion - 0.01
    a, b = _grid((centre_a - half_a, centre_a + half_a), (b0, b0 + length))
    x, y = (a - centre_a) / half_a, (b - b0 - length / 2) / (length / 2)
    puff = np.clip(1 - np.abs(x) ** 5, 0, 1) ** 0.45 * np.clip(1 - np.abs(y) ** 5, 0, 1) ** 0.45
    rest = floor + bed["pillow_loft"] * puff + _creases(a, b, rng, 0.003, 0.09) * puff
    back = _fill(_rasterise(head, a, b, "min"), "min", 2)
    pressed = np.where(np.isnan(back), rest, np.minimum(rest, back - 0.002))
    dent = _blur(_fill(rest - pressed, "max", 3), 0.02)  # the cover pulled down around the head
    top = np.minimum(rest - 0.8 * dent, np.where(np.isnan(back), np.inf, back - 0.002))
    return _surface(a, b, np.maximum(top, floor + 0.004 * puff), axes)


def _mattress(local, floor, axes, z_acromion) -> Surface:
    half = MATTRESS_WIDTH / 2
    centre = float(np.median(local[:, 0]))
    a, b = _grid((centre - half - 0.04, centre + half + 0.04), (z_acromion - 0.9, z_acromion + 0.6))
    edge = np.clip((np.abs(a - centre) - (half - 0.03)) / 0.07, 0, 1)  # the rounded side, falling away
    return _surface(a, b, floor - MATTRESS_DROP * edge ** 2 - 0.001, axes)


def _rails(local, floor, axes, z_acromion) -> Surface:
    """Two panels standing at the mattress's sides from the shoulders to beyond the head."""
    centre = float(np.median(local[:, 0]))
    boxes = []
    for side in (-1.0, 1.0):
        a0 = centre + side * (MATTRESS_WIDTH / 2 + 0.01)
        a = sorted((a0, a0 + side * RAIL["thickness"]))
        b = (z_acromion - 0.3, z_acromion - 0.3 + RAIL["length"])
        h = (floor - RAIL["below"], floor + RAIL["height"])
        boxes.append(_box(a, b, h))
    vertices = np.concatenate([v for v, _ in boxes])
    quads = np.concatenate([q + 8 * i for i, (_, q) in enumerate(boxes)])
    uv = vertices[:, 1:3].copy()  # along the rail and up: the panel's texture space
    return Surface(vertices @ axes, quads, uv, smooth=False)


def _box(a: list[float], b: tuple[float, float], h: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[a[i & 1], b[(i >> 1) & 1], h[i >> 2]] for i in range(8)])
    quads = np.array([[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])
    return corners, quads


def _blanket(local, bed, floor, z_notch, axes, rng) -> Surface:
    top_edge = z_notch - bed["blanket_below_notch"]
    chest = local[local[:, 1] < top_edge + 0.02]
    centre = float(np.median(chest[:, 0]))
    half = MATTRESS_WIDTH / 2 + 0.06
    a, b = _grid((centre - half, centre + half), (top_edge - 0.7, top_edge))
    front = _fill(_rasterise(chest, a, b, "max"), "max", 2)
    cut = int(np.argmax(np.isfinite(front).any(axis=1)))  # the bust's lowest row: the trunk goes on
    front[:cut] = front[cut]
    body = np.where(np.isnan(front), floor, front + BLANKET_GAP)
    draped = _blur(_fill(np.where(np.isnan(front), np.nan, body), "max", 4), 0.035)
    draped = np.fmax(draped, body)
    over = np.maximum(np.nan_to_num(draped, nan=floor), floor + 0.02)
    hem = np.clip((b - (top_edge - 0.06)) / 0.01, 0, 1) * 0.008  # the folded-back top band
    edge = np.clip((np.abs(a - centre) - (MATTRESS_WIDTH / 2 - 0.02)) / 0.08, 0, 1)  # over the mattress side
    h = over + hem + _creases(a, b, rng, 0.004, 0.12) - (MATTRESS_DROP + 0.1) * edge ** 1.5
    return _surface(a, b, h, axes)

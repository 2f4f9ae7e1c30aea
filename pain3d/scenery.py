"""Seeded lighting and backgrounds (docs/scenery.md): pure draws, returned as plain records.

Nothing here touches Blender: the add-on's stage applies lighting records
(`pain3d.addon.stage.apply_lighting`), the farm's compositor lays backgrounds
(`pain3d.farm.compositor.set_background`), and the farm stores both beside each image, so a
dataset says what was drawn.

Seeds (docs/plan-format.md): per identity, the draws derive from the identity's seed; per image,
from the expression's seed and the view index. The same plan therefore gives the same draws on
any machine, worker count or shard layout.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from . import environments
from .bed import lift_lights
from .background_images import list_images
from .colour import LUMA, linear_to_srgb, srgb_to_linear
from .jobs import BACKGROUND_KINDS, resolve_job
from .sampling import derive_seed

SUB_SCENERY = 4  # identity seed -> (SUB_SCENERY, part); sampling.py uses 1..3
PART_LIGHTING = 1
PART_BACKGROUND = 2
LIGHTS = ("key", "fill", "rim")
LIGHT_PARAMS = ("azimuth", "elevation", "power", "size")
PROCEDURAL_PATTERNS = ("noise", "voronoi")
BACKGROUND_PIXELS = 512  # generated backgrounds are made at most this size, then scaled to the render
# A backdrop's background light, in frame units (centre 0, half width 0.5, v up): its hotspot a little
# above the frame's centre, behind the head; its fall-off radius; the corners' share of the hotspot's
# light; the mottle's relative amplitude, and how many cells of it span the frame.
BACKDROP_HOTSPOT = ((-0.12, 0.12), (0.0, 0.25))
BACKDROP_SPREAD = (0.4, 0.9)
BACKDROP_EDGE = (0.3, 0.75)
BACKDROP_MOTTLE = (0.0, 0.08)
BACKDROP_MOTTLE_CELLS = 3.0

# The portrait rig: azimuth/elevation in degrees around the face (azimuth as a view's yaw:
# > 0 is the subject's left), distance in metres from the face centre, power in W, size in m.
# Powers (and the job's light and environment ranges) expose measured skin albedo (pain3d.skin)
# as photographs show skin: a Monk 2 face's median skin luma about 165-195 of 255 (docs/scenery.md).
# The artist's panel uses it as is; jobs draw around it (`[lighting]` defaults in pain3d/jobs.py).
DEFAULT_RIG = {
    "key": {"azimuth": -35.0, "elevation": 25.0, "distance": 1.2, "power": 37.0, "size": 0.5},
    "fill": {"azimuth": 40.0, "elevation": 5.0, "distance": 1.4, "power": 14.0, "size": 0.9},
    "rim": {"azimuth": 160.0, "elevation": 30.0, "distance": 1.2, "power": 34.0, "size": 0.4},
}
DEFAULT_AMBIENT = {"color": [0.18, 0.18, 0.2], "strength": 0.6}  # the world when no HDR is given


# --- seeds -----------------------------------------------------------------------------------


def scenery_seed(per: str, identity: dict, expression: dict, view_index: int, part: int) -> int:
    """The seed of one part's draws: per identity, or per image (expression seed + view)."""
    if per == "image":
        return derive_seed(expression["seed"], SUB_SCENERY, part, view_index)
    return derive_seed(identity["seed"], SUB_SCENERY, part)


def draw_scene(job: dict, identity: dict, expression: dict, view_index: int) -> dict:
    """Lighting and background records of one image of the plan."""
    light_cfg, back_cfg = job.get("lighting"), job.get("background")
    if light_cfg is None or back_cfg is None:  # a plan made before [lighting] and [background] existed
        defaults = resolve_job({})
        light_cfg, back_cfg = light_cfg or defaults["lighting"], back_cfg or defaults["background"]
    lighting = draw_lighting(light_cfg, scenery_seed(light_cfg["per"], identity, expression, view_index, PART_LIGHTING))
    if identity.get("bed"):  # the clinical scene: lights above the bed, the world turned to the room
        lighting = lift_lights(lighting, identity["bed"])
    return {
        "lighting": lighting,
        "background": draw_background(back_cfg, scenery_seed(back_cfg["per"], identity, expression, view_index,
                                                             PART_BACKGROUND)),
    }


# --- lighting --------------------------------------------------------------------------------


def default_lighting() -> dict:
    """The fixed portrait rig (what `per = "fixed"` renders and the artist's panel adds)."""
    lights = [{"name": name, **values, "temperature": None, "color": [1.0, 1.0, 1.0]}  # plain white lights
              for name, values in DEFAULT_RIG.items()]
    return {"per": "fixed", "seed": None, "mirrored": False, "lights": lights,
            "world": {"kind": "ambient", **DEFAULT_AMBIENT}, "white_balance": [1.0, 1.0, 1.0]}


def draw_lighting(cfg: dict, seed: int) -> dict:
    """Key/fill/rim area lights and the world, drawn from the `[lighting]` ranges."""
    if cfg["per"] == "fixed":
        record = default_lighting()
        if cfg["environment"]:  # a fixed map (the studio of the built-in ones): unrotated, mid-range exposure
            choices = environments.choices(cfg["environment"])
            path = f"{environments.BUILTIN_PREFIX}studio.exr" if cfg["environment"] == "builtin" else choices[0]
            record["world"] = {"kind": "environment", "path": path, "rotation": 0.0,
                               "strength": _round(float(np.mean(cfg["environment_strength"])))}
        return record
    rng = np.random.default_rng(seed)
    mirrored = bool(rng.random() < cfg["mirror"])
    lights = []
    for name in LIGHTS:
        values = {p: _uniform(rng, cfg[f"{name}_{p}"]) for p in LIGHT_PARAMS}
        temperature = _uniform(rng, cfg["temperature"], digits=0)
        if mirrored:
            values["azimuth"] = -values["azimuth"]
        lights.append({"name": name, "azimuth": values["azimuth"], "elevation": values["elevation"],
                       "distance": DEFAULT_RIG[name]["distance"], "power": values["power"], "size": values["size"],
                       "temperature": temperature, "color": kelvin_to_rgb(temperature)})
    rotation = _uniform(rng, (0.0, 360.0))  # drawn even without an HDR, so adding one keeps the lights
    strength = _uniform(rng, cfg["environment_strength"])
    ambient = _uniform(rng, cfg["ambient"])
    pick = rng.random()  # drawn last, so choosing among maps leaves the lights as they were
    if cfg["environment"]:
        choices = environments.choices(cfg["environment"])
        world = {"kind": "environment", "path": choices[min(int(pick * len(choices)), len(choices) - 1)],
                 "rotation": rotation, "strength": strength}
    else:
        world = {"kind": "ambient", "color": list(DEFAULT_AMBIENT["color"]), "strength": ambient}
    return {"per": cfg["per"], "seed": seed, "mirrored": mirrored, "lights": lights, "world": world,
            "white_balance": white_balance(lights, cfg.get("white_balance", 0.0))}  # plans before it: none


def white_balance(lights: list[dict], share: float) -> list[float]:
    """Linear RGB gains of a camera's white balance under these lights: the power-weighted mean
    light colour, `share` of its cast taken out (gains keep the luminance of that colour)."""
    power = np.array([light["power"] for light in lights], float)
    colour = (power[:, None] * np.array([light["color"] for light in lights], float)).sum(axis=0) / power.sum()
    gains = (float(colour @ LUMA) / colour) ** float(share)
    return [round(float(g), 4) for g in gains]


def kelvin_to_rgb(kelvin: float) -> list[float]:
    """Linear RGB (largest channel 1) of a black body at `kelvin` (1000..40000 K).

    Tanner Helland's fit of the CIE 1964 black-body colours (sRGB-encoded, 6500 K about white),
    decoded to linear light for the renderer.
    """
    t = min(max(float(kelvin), 1000.0), 40000.0) / 100.0
    if t <= 66:
        r = 255.0
        g = 99.4708025861 * math.log(t) - 161.1195681661
        b = 0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307
    else:
        r = 329.698727446 * (t - 60) ** -0.1332047592
        g = 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0
    srgb = np.clip(np.array([r, g, b]) / 255.0, 0.0, 1.0)
    linear = srgb_to_linear(srgb)
    return [round(float(c), 4) for c in linear / linear.max()]


# --- backgrounds -----------------------------------------------------------------------------


def draw_background(cfg: dict, seed: int) -> dict:
    """One background record: its kind (seeded by `kinds` weights) and its drawn parameters.

    Colours are sRGB (display) values 0..1: a solid background comes out in the image as drawn.
    """
    rng = np.random.default_rng(seed)
    weights = np.array([cfg["kinds"].get(k, 0.0) for k in BACKGROUND_KINDS], dtype=float)
    kind = BACKGROUND_KINDS[int(np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(), side="right"))]
    colors = [_color(rng, cfg) for _ in range(2)]
    angle = _uniform(rng, (0.0, 360.0))
    pattern = PROCEDURAL_PATTERNS[int(rng.integers(len(PROCEDURAL_PATTERNS)))]
    scale = _uniform(rng, cfg["procedural_scale"])
    pixel_seed = int(rng.integers(2**31))
    pick = rng.random()
    blur = _uniform(rng, cfg.get("blur", (0.0, 0.0)))  # plans made before environment backgrounds have no blur
    backdrop = {"hotspot": [_uniform(rng, BACKDROP_HOTSPOT[0]), _uniform(rng, BACKDROP_HOTSPOT[1])],
                "spread": _uniform(rng, BACKDROP_SPREAD), "edge": _uniform(rng, BACKDROP_EDGE),
                "mottle": _uniform(rng, BACKDROP_MOTTLE)}
    record = {"kind": kind, "seed": seed}
    if kind == "environment":  # the world's map (the lighting record's), seen through the lens
        record["blur"] = blur
    elif kind == "backdrop":
        record.update(color=colors[0], **backdrop, pixel_seed=pixel_seed)
    elif kind == "solid":
        record["color"] = colors[0]
    elif kind == "gradient":
        record.update(colors=colors, angle=angle)
    elif kind == "procedural":
        record.update(pattern=pattern, colors=colors, scale=scale, pixel_seed=pixel_seed)
    else:  # a photo, out of focus like the environment
        files = list_images(cfg["images"])
        record.update(folder=str(cfg["images"]), file=files[min(int(pick * len(files)), len(files) - 1)], blur=blur)
    return record


def cover_square(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of an image (H, W, C), resized (bilinear) to `size` pixels: a photo
    covering the frame with its aspect kept."""
    h, w = image.shape[:2]
    side = min(h, w)
    centres = (np.arange(size) + 0.5) / size * side - 0.5
    ys = np.clip(centres + (h - side) / 2.0, 0.0, h - 1.0)
    xs = np.clip(centres + (w - side) / 2.0, 0.0, w - 1.0)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    img = np.asarray(image, np.float64)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _color(rng: np.random.Generator, cfg: dict) -> list[float]:
    hue = _uniform(rng, cfg["hue"]) / 360.0 % 1.0
    rgb = colorsys.hsv_to_rgb(hue, _uniform(rng, cfg["saturation"]), _uniform(rng, cfg["value"]))
    return [round(float(c), 4) for c in rgb]


def background_pixels(record: dict, size: int) -> np.ndarray:
    """A generated background (solid, gradient, procedural) as (size, size, 3) sRGB floats, row 0 on top.

    Made at min(size, BACKGROUND_PIXELS) pixels; the renderer scales it to the image.
    """
    n = min(int(size), BACKGROUND_PIXELS)
    kind = record["kind"]
    if kind == "solid":
        return np.broadcast_to(np.asarray(record["color"], np.float32), (n, n, 3)).copy()
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    u, v = (x + 0.5) / n - 0.5, 0.5 - (y + 0.5) / n  # centred, v up
    if kind == "backdrop":
        return _backdrop(record, u, v)
    if kind == "gradient":
        a = math.radians(record["angle"])
        t = np.clip((u * math.cos(a) + v * math.sin(a)) / math.sqrt(0.5) * 0.5 + 0.5, 0.0, 1.0)
    elif kind == "procedural":
        rng = np.random.default_rng(record["pixel_seed"])
        if record["pattern"] == "noise":
            t = _fractal_noise(rng, n, record["scale"])
        else:
            t = _voronoi(rng, n, record["scale"])
    else:
        raise ValueError(f"background kind {kind!r} has no generated pixels (images are loaded by the renderer)")
    c0, c1 = (np.asarray(c, np.float64) for c in record["colors"])
    return (c0 + (c1 - c0) * t[..., None]).astype(np.float32)


def _backdrop(record: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Seamless paper lit by a background light aimed behind the head: the drawn colour at the
    light's hotspot, falling off (in linear light, as light does) to `edge` of it in the corners,
    with a faint low-frequency mottle (painted canvas, uneven paper)."""
    hx, hy = record["hotspot"]
    r = np.hypot(u - hx, v - hy)
    light = record["edge"] + (1.0 - record["edge"]) * np.exp(-(r / record["spread"]) ** 2)
    mottle = _fractal_noise(np.random.default_rng(record["pixel_seed"]), len(u), BACKDROP_MOTTLE_CELLS, octaves=3)
    light = light * (1.0 + record["mottle"] * (2.0 * mottle - 1.0))
    linear = srgb_to_linear(np.asarray(record["color"], np.float64))
    return np.clip(linear_to_srgb(linear * light[..., None]), 0.0, 1.0).astype(np.float32)


def _fractal_noise(rng: np.random.Generator, n: int, scale: float, octaves: int = 4) -> np.ndarray:
    """Value noise summed over octaves, stretched to 0..1."""
    total = np.zeros((n, n))
    amplitude, cells = 1.0, scale
    for _ in range(octaves):
        k = int(math.ceil(cells)) + 2
        grid = rng.random((k, k))
        coords = np.linspace(0.0, cells, n, endpoint=False)
        i = coords.astype(int)
        f = coords - i
        f = f * f * (3 - 2 * f)  # smoothstep
        rows = grid[i][:, i] * (1 - f)[None, :] + grid[i][:, i + 1] * f[None, :]
        rows_next = grid[i + 1][:, i] * (1 - f)[None, :] + grid[i + 1][:, i + 1] * f[None, :]
        total += amplitude * (rows * (1 - f)[:, None] + rows_next * f[:, None])
        amplitude, cells = amplitude * 0.5, cells * 2.0
    lo, hi = total.min(), total.max()
    return (total - lo) / (hi - lo) if hi > lo else np.zeros_like(total)


def _voronoi(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Jittered-grid Voronoi cells with a random shade each, darker towards their borders (0..1)."""
    k = max(2, int(round(scale)))
    jitter = rng.random((k + 2, k + 2, 2))  # one point per grid cell, a ring of cells around the image
    shades = rng.random((k + 2, k + 2))
    coords = (np.arange(n) + 0.5) / n * k + 1.0  # in cell units, offset by the ring
    gx, gy = np.meshgrid(coords, coords)
    cx, cy = gx.astype(int), gy.astype(int)
    best = np.full((n, n), np.inf)
    second = np.full((n, n), np.inf)
    shade = np.zeros((n, n))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ix, iy = np.clip(cx + dx, 0, k + 1), np.clip(cy + dy, 0, k + 1)
            d = np.hypot(gx - (ix + jitter[iy, ix, 0]), gy - (iy + jitter[iy, ix, 1]))
            closer = d < best
            second = np.where(closer, best, np.minimum(second, d))
            shade = np.where(closer, shades[iy, ix], shade)
            best = np.where(closer, d, best)
    edge = np.clip((second - best) / 0.15, 0.0, 1.0)
    return shade * (0.6 + 0.4 * edge)


# --- helpers ---------------------------------------------------------------------------------


def _uniform(rng: np.random.Generator, bounds, digits: int = 4) -> float:
    lo, hi = float(bounds[0]), float(bounds[1])
    return _round(lo + (hi - lo) * rng.random(), digits)


def _round(x: float, digits: int = 4) -> float:
    return round(float(x), digits) if digits else float(round(float(x)))

"""One identity's clothing, drawn from the priors (pure numpy): the record the plan keeps.

`draw_clothing(identity, settings, seed)` chooses the garment, its colours and its pattern, and the
earrings (`pain3d.clothing.earrings`), up front; the geometry (`pain3d.clothing.shapes`) and the
Blender material are made from the record alone. A fixed number of uniforms is drawn whatever the branches, so changing one prior never
shifts the other draws.
"""

from __future__ import annotations

import numpy as np

from ..colour import hex_to_rgb
from ..seeds import derive_seed
from .earrings import draw_earrings
from .library import HEADSCARF, PATTERNS, garments, load_priors

EARRINGS_STREAM = 1  # the earrings' draws: a seed of their own, so they shift none of the garment's


def garment_weights(priors: dict, sex: str, age: float, group: str, factors: dict[str, float]) -> dict[str, float]:
    """Relative weight of each garment for one person (the headscarf by its share of the group)."""
    ages = priors["ages"]
    weights = {name: float(np.interp(age, ages, row)) * float(factors.get(name, 1.0))
               for name, row in priors["weights"][sex].items()}
    shares = priors.get("headscarf", {}).get(sex)
    share = float(shares[priors["groups"].index(group)]) if shares and group in priors["groups"] else 0.0
    share = min(share * float(factors.get(HEADSCARF, 1.0)), 1.0)
    total = sum(weights.values())
    if total <= 0 or share >= 1.0:
        return {HEADSCARF: 1.0} if share > 0 else {}
    weights = {k: v / total * (1.0 - share) for k, v in weights.items()}
    weights[HEADSCARF] = share
    return {k: v for k, v in weights.items() if v > 0}


def draw_clothing(identity: dict, settings: dict, seed: int) -> dict:
    """The clothing record of an identity (`age`, `sex`, `ethnicity`) under a job's [clothing] settings."""
    table = garments(settings.get("garments") or None)
    rng = np.random.default_rng(seed)
    u = rng.random(10)  # by position: garment, pattern, colour, pattern colour, scale, angle, jitter x2,
    #                     the top under a headscarf, its colour
    priors = load_priors(settings.get("priors") or None, settings.get("garments") or None)
    weights = garment_weights(priors, identity["sex"], float(identity["age"]), identity["ethnicity"],
                              settings.get("garment_weights", {}))
    name = settings.get("garment") or _pick(weights, u[0])
    garment = table[name]
    pattern = _pick({p: garment.patterns.get(p, 0.0) for p in PATTERNS}, u[1])
    palette = garment.palette
    base = palette[int(u[2] * len(palette)) % len(palette)]
    second = palette[(int(u[2] * len(palette)) + 1 + int(u[3] * (len(palette) - 1))) % len(palette)]
    jitter = 1.0 + 0.12 * (np.array([u[6], u[7], 0.5 * (u[6] + u[7])]) - 0.5)
    record = {
        "garment": name,
        "colour": [round(float(c), 4) for c in np.clip(hex_to_rgb(base) * jitter, 0.0, 1.0)],
        "pattern": pattern,
        "pattern_colour": [round(float(c), 4) for c in hex_to_rgb(second)],
        "pattern_scale_mm": round(float(6.0 + 24.0 * u[4]), 1),
        "pattern_angle": round(float(0.0 if u[5] < 0.7 else 90.0), 1),
        "seed": int(seed),
    }
    if garment.covers_hair:  # a headscarf is worn over a top
        tops = {k: v for k, v in weights.items() if not table[k].covers_hair} or \
            {k: 1.0 for k, g in table.items() if not g.covers_hair}
        under = _pick(tops, u[8])
        palette = table[under].palette
        record["under"] = under
        record["under_colour"] = [round(float(c), 4) for c in hex_to_rgb(palette[int(u[9] * len(palette)) % len(palette)])]
    earrings_seed = derive_seed(seed, EARRINGS_STREAM)
    record["earrings"] = None if garment.covers_hair else draw_earrings(identity, settings, earrings_seed,
                                                                       priors["earrings"])  # none under a scarf
    if settings.get("garments"):
        record["garments_file"] = str(settings["garments"])
    return record


def hair_kinds(record: dict | None) -> tuple[str, ...]:
    """The strand sets to grow under a clothing record: no scalp hair under a headscarf."""
    from ..hair import KINDS

    return tuple(k for k in KINDS if k != "scalp") if record and record.get("under") else KINDS


def _pick(weights: dict[str, float], u: float) -> str:
    names = [n for n, w in weights.items() if w > 0]
    w = np.array([weights[n] for n in names], dtype=float)
    return names[int(np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"))]

"""One identity's hair, drawn from the priors (pure numpy): the record the plan keeps.

`draw_hair(identity, settings, seed)` makes every choice of an identity's hair up front (style,
length, density, colour as melanin/redness/grey share, pattern loss, beard, brows, lashes);
the groom (`pain3d.hair.groom`) grows strands from the record and its seed alone, so the plan's
record is all that the add-on and the farm need. The draw uses a fixed number of random values
whatever the branches, so changing one prior never shifts the others' draws.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from .library import NO_BEARD, load_priors, styles

SEXES = ("female", "male")
LOSS_NONE = "none"


def draw_hair(identity: dict, settings: dict, seed: int) -> dict:
    """The hair record of an identity (`age`, `sex`, `ethnicity`) under a job's [hair] settings."""
    priors = load_priors(settings.get("priors") or None)
    rng = np.random.default_rng(seed)
    u = rng.random(16)  # every draw below takes its uniforms from here, by position
    age, sex = float(identity["age"]), identity["sex"]
    group = _group_index(priors, identity["ethnicity"])
    male = sex == "male"
    loss_pattern, stage = _loss(priors, age, male, group, u[0], settings.get("bald_rate", "prior"))
    style = settings.get("style") or _style(priors, sex, age, group, stage if male else 0,
                                              settings.get("style_weights", {}), u[1])
    lib = styles()
    look = lib.scalp[style]
    shade, melanin, redness = _colour(priors, group, u[2], rng.normal(size=2))
    grey = _grey(priors, group, age, u[3])
    beard, beard_density = _beard(priors, male, age, group, u[4], settings.get("beard_rate", "prior"))
    if male and settings.get("beard"):  # a job's fixed beard for every man
        beard = settings["beard"]
        beard_density = priors["beard"]["density"][group] if beard != NO_BEARD else 0.0
    beard_length = between(lib.beards[beard].length_mm, u[5]) if beard != NO_BEARD else 0.0
    ageing = float(np.clip((age - 25.0) / 50.0, 0.0, 1.2))
    brows, lashes = lib.brows, lib.lashes
    s = int(male)
    return {
        "seed": int(seed),
        "style": style,
        "length_cm": round(between(look.length_cm, u[6]), 2),
        "density": round(float(np.clip(0.85 + 0.3 * u[7] - (0.15 * ageing if not male else 0.0), 0.4, 1.2)), 3),
        "shade": shade,
        "melanin": round(melanin, 3),
        "redness": round(redness, 3),
        "grey": round(grey, 3),
        "loss_pattern": loss_pattern,
        "loss_stage": stage,
        "hairline_mm": round((50.0 if not male else 55.0) + 10.0 * u[8], 1),
        "part_side": 1 if u[9] < 0.5 else -1,
        "beard": beard,
        "beard_length_mm": round(beard_length, 2),
        "beard_density": round(beard_density, 3),
        "beard_growth": round(beard_growth(priors, male, identity["ethnicity"]), 3),
        "brow_density": round(float((0.8 + 0.35 * u[10]) * (1.0 - 0.3 * ageing)), 3),
        "brow_length_mm": round(between(brows["length_mm"][s], u[11]) * (1.0 + 0.1 * ageing), 2),
        "brow_height_mm": round(between(brows["head_height_mm"][s], u[12]), 2),
        "brow_long_share": round(float(brows["long_hair_share_at_80"] * np.clip((age - 40.0) / 40.0, 0.0, 1.0)), 3),
        "lash_length_mm": round(between(lashes["upper_length_mm"], u[13]) * (1.0 - 0.15 * ageing), 2),
        "lash_density": round(float((0.8 + 0.4 * u[14]) * (1.0 - 0.3 * ageing)), 3),
    }


def style_weights(priors: dict, sex: str, age: float, group: int, loss_stage: int = 0,
                  scale: dict[str, float] | None = None) -> dict[str, float]:
    """Relative weight of each scalp style for one demographic cell (what `draw_hair` samples)."""
    table = priors["styles"]
    ages = priors["ages"]
    out = {}
    for name, row in table[sex].items():
        weight = row[group] * float(np.interp(age, ages, table["age"].get(name, [1.0] * len(ages))))
        if loss_stage >= 5:
            weight *= table.get("advanced_loss", {}).get(name, 1.0)
        out[name] = weight * (scale or {}).get(name, 1.0)
    return out


def loss_probabilities(priors: dict, age: float, male: bool, group: int) -> np.ndarray:
    """P(stage >= k) for k = 1.. (Norwood II..VII for men, Ludwig I..III for women)."""
    loss = priors["loss"]
    rows = loss["male" if male else "female"]
    factor = loss["male_group" if male else "female_group"][group]
    return np.array([np.interp(age, loss["ages"], row) for row in rows]) * factor


def colour_weights(priors: dict, group: int) -> dict[str, float]:
    return {name: row[group] for name, row in priors["colour"]["weights"].items()}


def _group_index(priors: dict, ethnicity: str) -> int:
    groups = priors["groups"]
    return groups.index(ethnicity) if ethnicity in groups else 0


def _loss(priors: dict, age: float, male: bool, group: int, u: float, bald_rate) -> tuple[str, int]:
    """(pattern, stage): Norwood stage 1-7 for men (1 = none), Ludwig grade 0-3 for women.

    A set `bald_rate` makes that share of men bald on top (Norwood VI or VII); the rest take the
    prior's stages below VI."""
    p = loss_probabilities(priors, age, male, group)
    if male and bald_rate != "prior":
        rate = float(bald_rate)
        if u < rate:
            return "male", 6 if u < rate / 2 else 7
        u, p = (u - rate) / max(1.0 - rate, 1e-9), p[:4]
    level = int(np.sum(u < p))
    if male:
        return ("male", level + 1) if level else (LOSS_NONE, 1)
    return ("female", level) if level else (LOSS_NONE, 0)


def _style(priors: dict, sex: str, age: float, group: int, loss_stage: int, scale: dict, u: float) -> str:
    weights = style_weights(priors, sex, age, group, loss_stage, scale)
    return _pick(weights, u)


def _colour(priors: dict, group: int, u: float, normals: np.ndarray) -> tuple[str, float, float]:
    shade = _pick(colour_weights(priors, group), u)
    row = priors["colour"]["shades"][shade]
    melanin = float(np.clip(row["melanin"][0] + row["melanin"][1] * normals[0], 0.0, 1.0))
    redness = float(np.clip(row["redness"][0] + row["redness"][1] * normals[1], 0.0, 1.0))
    return shade, melanin, redness


def _grey(priors: dict, group: int, age: float, u: float) -> float:
    """Share of grey strands: none before a drawn onset age, then rising to all."""
    grey = priors["colour"]["grey"]
    mean, sd = grey["onset"][group]
    onset = NormalDist(mean, sd).inv_cdf(min(max(u, 1e-9), 1 - 1e-9))
    return float(np.clip((age - onset) / grey["years_to_white"], 0.0, 1.0))


def _beard(priors: dict, male: bool, age: float, group: int, u: float, beard_rate) -> tuple[str, float]:
    table = priors["beard"]
    rate = table["rate"][group] if beard_rate == "prior" else float(beard_rate)
    if not male or u >= rate:
        return NO_BEARD, 0.0
    ages = priors["ages"]
    weights = {name: row[group] * float(np.interp(age, ages, table["age"].get(name, [1.0] * len(ages))))
               for name, row in table["weights"].items()}
    return _pick(weights, u / rate), float(table["density"][group])


def beard_growth(priors: dict, male: bool, ethnicity: str) -> float:
    """How densely a man's beard grows in his group (the priors' beard density), shaved or not: what
    his shaved skin shows as a root shadow (docs/hair.md). Women: 0."""
    return float(priors["beard"]["density"][_group_index(priors, ethnicity)]) if male else 0.0


def _pick(weights: dict[str, float], u: float) -> str:
    names = list(weights)
    w = np.asarray([weights[n] for n in names], float)
    if w.sum() <= 0:
        raise ValueError("no style has a weight above 0 for this cell")
    cdf = np.cumsum(w / w.sum())
    return names[min(int(np.searchsorted(cdf, u, side="right")), len(names) - 1)]


def between(bounds, u: float) -> float:
    """The point a share `u` of the way through a [low, high] range."""
    lo, hi = bounds
    return float(lo + (hi - lo) * u)

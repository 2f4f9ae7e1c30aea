"""Make-up of one identity, drawn from the priors (pure numpy): the record the plan keeps.

`draw_makeup(identity, settings, seed)` decides whether a person wears make-up (a rate by sex and
age, or the job's own) and what: a lipstick shade and how strongly it covers, blush, filled brows,
eyeshadow and mascara. The Blender layer paints the skin and thickens the lashes from the record
alone. A fixed number of uniforms is drawn whatever the branches, so changing one prior never
shifts the other draws. docs/makeup.md documents the record and the priors.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .colour import hex_to_rgb
from .errors import Pain3DError
from .fileio import read_toml
from .paths import asset

if TYPE_CHECKING:
    from .hair.strands import StrandSet

STRENGTHS = ("lips", "blush", "brow_fill", "eyeshadow")
SEXES = ("female", "male")


def load_priors(path: str | Path | None = None) -> dict:
    """The make-up priors (assets/makeup/priors.toml, or a job's own), checked."""
    return _priors(str(path) if path else str(asset("makeup", "priors.toml")))


@lru_cache(maxsize=8)
def _priors(path: str) -> dict:
    table = read_toml(Path(path), "make-up table")
    ages = table.get("ages")
    if not isinstance(ages, list) or not ages or sorted(ages) != ages:
        raise Pain3DError(f"{path}: ages = {ages!r}: allowed: increasing age knots")
    for sex in SEXES:
        row = table.get("rate", {}).get(sex)
        if not isinstance(row, list) or len(row) != len(ages) or not all(_share(v) for v in row):
            raise Pain3DError(f"{path}: rate.{sex} = {row!r}: allowed: one share 0..1 per age knot ({len(ages)})")
    shades = table.get("lipstick")
    if not isinstance(shades, dict) or not shades:
        raise Pain3DError(f"{path}: lipstick: missing; allowed: name = \"rrggbb\" (sRGB)")
    for name, value in shades.items():
        try:
            if len(value) != 6:
                raise ValueError(value)
            hex_to_rgb(value)
        except (TypeError, ValueError):
            raise Pain3DError(f'{path}: lipstick.{name} = {value!r}: allowed: "rrggbb" (sRGB hex)') from None
    for key in STRENGTHS:
        pair = table.get("strength", {}).get(key)
        if not (isinstance(pair, list) and len(pair) == 2 and all(_share(v) for v in pair) and pair[0] <= pair[1]):
            raise Pain3DError(f"{path}: strength.{key} = {pair!r}: allowed: [low, high] with 0 <= low <= high <= 1")
    mascara = table.get("mascara", {})
    if not _share(mascara.get("share")):
        raise Pain3DError(f"{path}: mascara.share = {mascara.get('share')!r}: allowed: 0..1")
    for key in ("length", "width"):
        if not isinstance(mascara.get(key), (int, float)) or not 1.0 <= mascara[key] <= 3.0:
            raise Pain3DError(f"{path}: mascara.{key} = {mascara.get(key)!r}: allowed: a factor 1..3")
    return table


def _share(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0


def wearing_rate(priors: dict, sex: str, age: float, rate: str | float = "prior") -> float:
    """The chance that a person of this sex and age wears make-up (`rate`: the job's, or "prior")."""
    if rate != "prior":
        return float(rate) if sex == "female" else 0.0
    return float(np.interp(age, priors["ages"], priors["rate"][sex]))


def draw_makeup(identity: dict, settings: dict, seed: int) -> dict:
    """The make-up record of an identity (`age`, `sex`) under a job's [makeup] settings."""
    priors = load_priors(settings.get("priors") or None)
    u = np.random.default_rng(seed).random(7)  # by position: worn, shade, 4 strengths, mascara
    rate = wearing_rate(priors, identity["sex"], float(identity["age"]), settings.get("rate", "prior"))
    record: dict = {"worn": bool(u[0] < rate), "seed": int(seed)}
    if not record["worn"]:
        return record
    shades = priors["lipstick"]
    shade = list(shades)[int(u[1] * len(shades)) % len(shades)]
    record["lipstick"] = shade
    record["lip_colour"] = [round(float(c), 4) for c in hex_to_rgb(shades[shade])]
    for key, uk in zip(STRENGTHS, u[2:6]):
        lo, hi = priors["strength"][key]
        record[key] = round(float(lo + (hi - lo) * uk), 3)
    mascara = priors["mascara"]
    worn = bool(u[6] < mascara["share"])
    record["mascara"] = {"worn": worn, "length": float(mascara["length"]), "width": float(mascara["width"])}
    return record


MASCARA_MELANIN = 1.0  # mascara is black whatever the lashes' own colour


def mascara_lashes(lashes: "StrandSet", mascara: dict) -> "StrandSet":
    """Lashes under mascara: each strand longer from its root by `length`, thicker by `width`, none grey."""
    roots = lashes.points[:, :1]
    points = roots + (lashes.points - roots) * np.float32(mascara["length"])
    return replace(lashes, points=points.astype(np.float32), radius=(lashes.radius * mascara["width"]).astype(np.float32),
                   grey=np.zeros_like(lashes.grey))


def wears_mascara(record: dict | None) -> bool:
    """Whether a make-up record (or None) includes mascara."""
    return bool(record and record.get("worn") and record["mascara"]["worn"])

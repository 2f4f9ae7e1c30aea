"""FACS action units, intensity scales and PSPI: the one source of truth.

The AU catalog is data (`assets/facs/au_catalog.toml`); this module loads it and holds
the rules every other part imports: how AU keys are spelt, which intensities are legal,
how a FACS intensity maps to a rig (shape-key) weight, and the PSPI formula.

AU keys: ``AU4`` (both sides), and ``AU4L`` / ``AU4R`` for unilateral actions of AUs that
FACS scores per side. Intensities are 0-5 (0 absent, 1-5 = FACS A-E; fractional values are
allowed and score to the nearest letter) or 0/1 for binary AUs (AU43, AU45).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Union

import numpy as np

from .errors import Pain3DError
from .paths import asset

Number = Union[int, float]
ArrayLike = Union[Number, np.ndarray]

PSPI_AUS: tuple[str, ...] = ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43")
PSPI_MAX = 16
# "In pain" at PSPI >= t: the binary pain tasks models predict and evaluations score.
PAIN_THRESHOLDS: tuple[int, ...] = (1, 2, 3)
SIDES = ("L", "R")
_KEY_RE = re.compile(r"^AU(\d+)([LR]?)$")


@dataclass(frozen=True)
class ActionUnit:
    """One FACS action unit as the catalog describes it."""

    number: int
    name: str
    muscles: tuple[str, ...]
    region: str
    sides: bool
    scale: str  # "intensity" (0-5) or "binary" (0/1)
    pspi: bool

    @property
    def key(self) -> str:
        return f"AU{self.number}"

    @property
    def max_intensity(self) -> int:
        return 1 if self.scale == "binary" else 5

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key this AU may appear under: AU12, and AU12L/AU12R when sided."""
        return _sided_keys(self.number, self.sides)


@lru_cache(maxsize=None)
def _sided_keys(number: int, sides: bool) -> tuple[str, ...]:
    key = f"AU{number}"
    return (key,) + tuple(key + s for s in SIDES) if sides else (key,)


@dataclass(frozen=True)
class IntensityScale:
    """FACS letters and the rig-weight band each occupies (from the catalog)."""

    letters: tuple[str, ...]
    weight_band_upper: tuple[float, ...]  # upper weight of: absent, A, B, C, D, E

    @property
    def knots(self) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-linear intensity -> weight knots.

        Intensity k +/- 0.5 spans letter k's weight band, so an integer intensity sits at
        its band's centre, the band edges fall on half-integers and intensity 5 is weight 1.
        """
        intensity = np.array([0.0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.0])
        weight = np.array((0.0,) + self.weight_band_upper)
        return intensity, weight


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, ActionUnit], IntensityScale]:
    with open(asset("facs", "au_catalog.toml"), "rb") as f:
        data = tomllib.load(f)
    aus = {}
    for row in data["au"]:
        au = ActionUnit(
            number=int(row["number"]),
            name=row["name"],
            muscles=tuple(row["muscles"]),
            region=row["region"],
            sides=bool(row["sides"]),
            scale=row["scale"],
            pspi=bool(row["pspi"]),
        )
        aus[au.key] = au
    scale = IntensityScale(
        letters=tuple(data["intensity"]["letters"]),
        weight_band_upper=tuple(float(w) for w in data["intensity"]["weight_band_upper"]),
    )
    return aus, scale


def catalog() -> dict[str, ActionUnit]:
    """All catalogued AUs keyed by their bilateral key (``AU4``), in AU-number order."""
    return dict(_load()[0])


def intensity_scale() -> IntensityScale:
    return _load()[1]


@lru_cache(maxsize=1)
def all_keys() -> tuple[str, ...]:
    """Every legal AU key, sided variants included, in catalog order."""
    return tuple(k for au in _load()[0].values() for k in au.keys)


@lru_cache(maxsize=1)
def _key_order() -> dict[str, int]:
    return {k: i for i, k in enumerate(all_keys())}


@lru_cache(maxsize=256)
def parse_key(key: str) -> tuple[ActionUnit, str]:
    """``"AU12L"`` -> (AU12, "L"); ``"AU4"`` -> (AU4, ""). Raises Pain3DError if unknown."""
    match = _KEY_RE.match(key) if isinstance(key, str) else None
    aus = _load()[0]
    if not match or f"AU{match.group(1)}" not in aus:
        raise Pain3DError(f"unknown action unit {key!r}; allowed: {', '.join(aus)} (sided: AU<n>L/AU<n>R)")
    au = aus[f"AU{match.group(1)}"]
    side = match.group(2)
    if side and not au.sides:
        raise Pain3DError(f"action unit {au.key} has no left/right variants; use {au.key}")
    return au, side


def check_intensity(key: str, value: object) -> float:
    """Validate one AU intensity and return it as float."""
    au, _ = parse_key(key)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Pain3DError(f"{key} = {value!r}: must be a number")
    value = float(value)
    if au.scale == "binary":
        if value not in (0.0, 1.0):
            raise Pain3DError(f"{key} = {_fmt(value)}: {au.key} ({au.name}) is binary; allowed: 0 or 1")
    elif not (0.0 <= value <= au.max_intensity) or math.isnan(value):
        raise Pain3DError(f"{key} = {_fmt(value)}: out of range; allowed: 0 to {au.max_intensity}")
    return value


def check_aus(aus: Mapping[str, object]) -> dict[str, float]:
    """Validate a whole AU configuration; returns a clean float dict in catalog order."""
    clean = {key: check_intensity(key, value) for key, value in aus.items()}
    order = _key_order()
    return dict(sorted(clean.items(), key=lambda kv: order[kv[0]]))


def intensity_to_letter(intensity: float) -> str:
    """FACS letter for a 0-5 intensity: "0" when absent, else "A"-"E" (nearest letter)."""
    level = _level(intensity)
    return "0" if level == 0 else intensity_scale().letters[level - 1]


def letter_to_intensity(letter: str) -> int:
    """"0" -> 0, "A" -> 1, ... "E" -> 5."""
    letters = intensity_scale().letters
    if letter == "0":
        return 0
    if letter not in letters:
        raise Pain3DError(f"FACS intensity letter {letter!r}: allowed: 0, {', '.join(letters)}")
    return letters.index(letter) + 1


def intensity_to_weight(intensity: ArrayLike, scale: str = "intensity") -> ArrayLike:
    """Rig weight in [0, 1] for a FACS intensity (nonlinear: see IntensityScale.knots)."""
    if scale == "binary":
        return _scalar_or_array(np.clip(intensity, 0.0, 1.0))
    x, w = intensity_scale().knots
    return _scalar_or_array(np.interp(intensity, x, w))


def weight_to_intensity(weight: ArrayLike, scale: str = "intensity") -> ArrayLike:
    """Inverse of intensity_to_weight (binary AUs threshold at 0.5)."""
    if scale == "binary":
        return _scalar_or_array((np.asarray(weight) >= 0.5).astype(float))
    x, w = intensity_scale().knots
    return _scalar_or_array(np.interp(weight, w, x))


def weight_to_letter(weight: float) -> str:
    """FACS letter a rig weight scores as, by the catalog's weight bands."""
    return intensity_to_letter(weight_to_intensity(weight))


def effective_intensity(aus: Mapping[str, ArrayLike], key: str) -> ArrayLike:
    """Intensity of an AU for scoring: the largest of its bilateral and sided values."""
    au, _ = parse_key(key)
    values = [aus[k] for k in au.keys if k in aus]
    if not values:
        return 0.0
    if all(np.ndim(v) == 0 for v in values):
        return float(max(values))
    return np.maximum.reduce([np.asarray(v, float) for v in values])


def pspi(aus: Mapping[str, ArrayLike]) -> ArrayLike:
    """PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43 (Prkachin & Solomon 2008).

    `aus` maps AU keys to intensities (scalars, or numpy arrays for a batch); missing AUs
    are absent. Every value is range-checked: AU4/6/7/9/10 in 0-5, AU43 0 or 1.
    """
    for key, value in aus.items():
        _check_range(key, value)
    au = {k: effective_intensity(aus, k) for k in PSPI_AUS}
    score = au["AU4"] + np.maximum(au["AU6"], au["AU7"]) + np.maximum(au["AU9"], au["AU10"]) + au["AU43"]
    return _scalar_or_array(score)


def _check_range(key: str, value: ArrayLike) -> None:
    if np.ndim(value) == 0:
        check_intensity(key, value.item() if isinstance(value, np.generic) else value)
        return
    au, _ = parse_key(key)
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > au.max_intensity)
    if au.scale == "binary":
        bad |= (arr != 0) & (arr != 1)
    if bad.any():
        check_intensity(key, float(arr[bad][0]))


def _level(intensity: float) -> int:
    """Nearest FACS level 0-5, half-way values rounding down (they sit on a band's upper edge)."""
    return int(min(5, max(0, math.ceil(float(intensity) - 0.5))))


def _scalar_or_array(value: ArrayLike) -> ArrayLike:
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@lru_cache(maxsize=1)
def presets() -> dict[str, dict]:
    """Named expression presets (assets/facs/presets.toml): name -> {"label", "aus"}."""
    with open(asset("facs", "presets.toml"), "rb") as f:
        data = tomllib.load(f)
    out = {}
    for name, table in data.items():
        if name == "format_version":
            continue
        table = dict(table)
        label = table.pop("label")
        out[name] = {"label": label, "aus": check_aus(table)}
    return out

"""The style library and the priors as tables (assets/hair/styles.toml, assets/hair/priors.toml).

Both files are read once and checked; a job may name its own priors file. Everything else in
`pain3d.hair` reads the library through `styles()` and the priors through `load_priors()`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from ..errors import Pain3DError
from ..fileio import read_toml
from ..paths import asset

FLOWS = ("back", "part", "crown", "out", "forward", "gather", "rows")
CUTS = ("", "brow", "jaw", "chin", "shoulder")
GATHERS = ("", "ponytail", "bun")
BEARD_ZONES = ("full", "boxed", "goatee", "moustache", "chin_strap")
NO_BEARD = "none"


@dataclass(frozen=True)
class ScalpStyle:
    """How one scalp style grows (docs/hair.md explains each parameter)."""

    name: str
    length_cm: tuple[float, float]
    strands: int
    points: int
    flow: str
    lift: float
    gravity: float
    width_um: float
    part_mm: float = 0.0
    taper: float = 0.0
    curl_mm: tuple[float, float] = (0.0, 0.0)
    wave_mm: tuple[float, float] = (0.0, 0.0)
    frizz_mm: float = 0.0
    clump: float = 0.0
    clump_size: int = 1
    cut_z: str = ""
    fringe: float = 0.0
    gather: str = ""
    row_mm: float = 0.0
    rope_mm: float = 0.0


@dataclass(frozen=True)
class BeardStyle:
    name: str
    zone: str
    length_mm: tuple[float, float]
    strands: int
    points: int
    width_um: float
    lift: float
    curl_mm: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Library:
    scalp: dict[str, ScalpStyle]
    beards: dict[str, BeardStyle]
    brows: dict
    lashes: dict


@lru_cache(maxsize=1)
def styles() -> Library:
    """The style library in assets/hair/styles.toml."""
    path = asset("hair", "styles.toml")
    table = read_toml(path, "hair table")
    scalp = {name: _build(ScalpStyle, name, row, path) for name, row in table["scalp"].items()}
    beards = {name: _build(BeardStyle, name, row, path) for name, row in table["beard"].items()}
    for style in scalp.values():
        _check_choice(path, f"scalp.{style.name}.flow", style.flow, FLOWS)
        _check_choice(path, f"scalp.{style.name}.cut_z", style.cut_z, CUTS)
        _check_choice(path, f"scalp.{style.name}.gather", style.gather, GATHERS)
    for beard in beards.values():
        _check_choice(path, f"beard.{beard.name}.zone", beard.zone, BEARD_ZONES)
    return Library(scalp, beards, table["brows"], table["lashes"])


def style_names() -> tuple[str, ...]:
    return tuple(styles().scalp)


def beard_names() -> tuple[str, ...]:
    """Beard choices, "none" first."""
    return (NO_BEARD, *styles().beards)


def load_priors(path: str | Path | None = None) -> dict:
    """The priors table (assets/hair/priors.toml, or a job's own file), checked against the library."""
    return _priors(str(path) if path else str(asset("hair", "priors.toml")))


@lru_cache(maxsize=8)
def _priors(path: str) -> dict:
    table = read_toml(Path(path), "hair table")
    groups = table.get("groups")
    if not isinstance(groups, list) or not groups:
        raise Pain3DError(f"{path}: groups: missing; allowed: the list of ethnicity groups the rows follow")
    lib = styles()
    for sex in ("female", "male"):
        for name, row in table["styles"][sex].items():
            if name not in lib.scalp:
                raise Pain3DError(f"{path}: styles.{sex}.{name}: unknown style; allowed: {', '.join(lib.scalp)}")
            _check_row(path, f"styles.{sex}.{name}", row, len(groups))
    for name, row in table["beard"]["weights"].items():
        if name not in lib.beards:
            raise Pain3DError(f"{path}: beard.weights.{name}: unknown beard; allowed: {', '.join(lib.beards)}")
        _check_row(path, f"beard.weights.{name}", row, len(groups))
    for name, row in table["colour"]["weights"].items():
        if name not in table["colour"]["shades"]:
            raise Pain3DError(f"{path}: colour.weights.{name}: no such shade in colour.shades")
        _check_row(path, f"colour.weights.{name}", row, len(groups))
    return table


def _check_row(path, where: str, row, n: int) -> None:
    if not (isinstance(row, list) and len(row) == n and all(isinstance(x, (int, float)) and x >= 0 for x in row)):
        raise Pain3DError(f"{path}: {where} = {row!r}: invalid; allowed: {n} weights >= 0, one per group")


def _build(kind, name: str, row: dict, path: Path):
    known = {f.name for f in fields(kind)} - {"name"}
    unknown = sorted(set(row) - known)
    if unknown:
        raise Pain3DError(f"{path}: {name}.{unknown[0]}: unknown key; allowed: {', '.join(sorted(known))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in row.items()}
    try:
        return kind(name=name, **values)
    except TypeError as err:
        raise Pain3DError(f"{path}: {name}: {err}") from None


def _check_choice(path: Path, where: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise Pain3DError(f"{path}: {where} = {value!r}: invalid; allowed: {', '.join(map(repr, allowed))}")

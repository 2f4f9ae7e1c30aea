"""The garment table and the clothing priors (assets/clothing/garments.toml, priors.toml).

Both are read once and checked; a job may name its own files. Everything else in
`pain3d.clothing` reads garments through `garments()` and the priors through `load_priors()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from ..errors import Pain3DError
from ..fileio import read_toml
from ..paths import asset

NECKLINES = ("crew", "v", "scoop", "boat", "collar", "face")
PATTERNS = ("solid", "stripes", "check", "heather", "print")
HEADSCARF = "headscarf"


@dataclass(frozen=True)
class Garment:
    """How one garment sits on the bust and what it is made of (docs/clothing.md)."""

    name: str
    label: str
    neckline: str
    front: float
    back: float
    offset: float
    ease: float
    rib: float
    sheen: float
    roughness: float
    weave_mm: float
    patterns: dict[str, float]
    palette: list[str]
    v_half_angle: float = 0.0
    collar: float = 0.0
    hood: float = 0.0
    tie: bool = False
    covers_hair: bool = False
    extra: dict = field(default_factory=dict)


@lru_cache(maxsize=8)
def _garments(path: str) -> dict[str, Garment]:
    table = read_toml(Path(path), "clothing table")
    out = {}
    known = {f.name for f in fields(Garment)} - {"name", "extra"}
    for name, row in table.get("garments", {}).items():
        where = f"{path}: garments.{name}"
        unknown = sorted(set(row) - known)
        if unknown:
            raise Pain3DError(f"{where}.{unknown[0]}: unknown field; allowed: {', '.join(sorted(known))}")
        try:
            garment = Garment(name=name, **row)
        except TypeError as err:
            raise Pain3DError(f"{where}: {err}; see docs/clothing.md") from None
        if garment.neckline not in NECKLINES:
            raise Pain3DError(f"{where}.neckline = {garment.neckline!r}: allowed: {', '.join(NECKLINES)}")
        bad = sorted(set(garment.patterns) - set(PATTERNS))
        if bad or not garment.patterns or min(garment.patterns.values()) < 0:
            raise Pain3DError(f"{where}.patterns = {garment.patterns!r}: allowed: weights >= 0 of {', '.join(PATTERNS)}")
        if not garment.palette or not all(_is_hex(c) for c in garment.palette):
            raise Pain3DError(f"{where}.palette: allowed: a list of sRGB hex colours like \"1c1c1f\"")
        if not 0.001 <= garment.offset <= 0.05:
            raise Pain3DError(f"{where}.offset = {garment.offset}: allowed: 0.001..0.05 metres")
        out[name] = garment
    if not out:
        raise Pain3DError(f"{path}: garments: none; allowed: at least one [garments.NAME] table")
    return out


def garments(path: str | Path | None = None) -> dict[str, Garment]:
    """The garment table (assets/clothing/garments.toml, or a job's own file)."""
    return _garments(str(path) if path else str(asset("clothing", "garments.toml")))


def garment_names(path: str | Path | None = None) -> tuple[str, ...]:
    return tuple(garments(path))


def load_priors(path: str | Path | None = None, garments_path: str | Path | None = None) -> dict:
    """The clothing priors (assets/clothing/priors.toml, or a job's own), checked against the garments."""
    return _priors(str(path) if path else str(asset("clothing", "priors.toml")),
                   str(garments_path) if garments_path else "")


@lru_cache(maxsize=8)
def _priors(path: str, garments_path: str) -> dict:
    table = read_toml(Path(path), "clothing table")
    groups, ages = table.get("groups"), table.get("ages")
    if not isinstance(groups, list) or not groups:
        raise Pain3DError(f"{path}: groups: missing; allowed: the list of ethnicity groups the rows follow")
    if not isinstance(ages, list) or len(ages) < 1 or sorted(ages) != ages:
        raise Pain3DError(f"{path}: ages = {ages!r}: allowed: increasing age knots")
    known = garments(garments_path or None)
    for sex in ("female", "male"):
        rows = table.get("weights", {}).get(sex)
        if not isinstance(rows, dict) or not rows:
            raise Pain3DError(f"{path}: weights.{sex}: missing; allowed: garment = [weight per age knot]")
        for name, row in rows.items():
            if name not in known or name == HEADSCARF:
                allowed = ", ".join(n for n in known if n != HEADSCARF)
                raise Pain3DError(f"{path}: weights.{sex}.{name}: unknown garment; allowed: {allowed}")
            _check_row(path, f"weights.{sex}.{name}", row, len(ages), "one per age knot")
        share = table.get("headscarf", {}).get(sex, [0.0] * len(groups))
        _check_row(path, f"headscarf.{sex}", share, len(groups), "one share 0..1 per group", top=1.0)
    if "earrings" in table:
        _check_earrings(path, table["earrings"])
    else:  # a job's priors without [earrings] keep the built-in ones
        table = {**table, "earrings": _priors(str(asset("clothing", "priors.toml")), "")["earrings"]}
    return table


EARRING_KINDS = ("stud", "hoop", "pearl")


def _check_earrings(path, table: dict) -> None:
    ages = table.get("ages")
    if not isinstance(ages, list) or not ages or sorted(ages) != ages:
        raise Pain3DError(f"{path}: earrings.ages = {ages!r}: allowed: increasing age knots")
    for sex in ("female", "male"):
        _check_row(path, f"earrings.rate.{sex}", table.get("rate", {}).get(sex), len(ages), "one share 0..1 per age knot",
                   top=1.0)
        kinds = table.get("kinds", {}).get(sex)
        if not isinstance(kinds, dict) or set(kinds) - set(EARRING_KINDS) or not any(
                isinstance(w, (int, float)) and w > 0 for w in kinds.values()) or min(kinds.values()) < 0:
            raise Pain3DError(f"{path}: earrings.kinds.{sex} = {kinds!r}: invalid; allowed: weights >= 0 of "
                              f"{', '.join(EARRING_KINDS)}, one above 0")
    metals = table.get("metals")
    if not isinstance(metals, dict) or not metals or not all(_is_hex(c) for c in metals.values()):
        raise Pain3DError(f"{path}: earrings.metals = {metals!r}: invalid; allowed: name = sRGB hex like \"ffdb93\"")
    if not _is_hex(table.get("pearl")):
        raise Pain3DError(f"{path}: earrings.pearl = {table.get('pearl')!r}: invalid; allowed: an sRGB hex colour")
    for kind in ("stud_mm", "pearl_mm", "hoop_mm", "hoop_wire_mm"):
        span = table.get(kind)
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(x, (int, float)) for x in span)
                and 0 < span[0] <= span[1] <= 60):
            raise Pain3DError(f"{path}: earrings.{kind} = {span!r}: invalid; allowed: [low, high] millimetres, "
                              "0 < low <= high <= 60")


def _check_row(path, where: str, row, n: int, what: str, top: float = float("inf")) -> None:
    if not (isinstance(row, list) and len(row) == n and all(isinstance(x, (int, float)) and 0 <= x <= top for x in row)):
        raise Pain3DError(f"{path}: {where} = {row!r}: invalid; allowed: {n} values >= 0, {what}")


def _is_hex(colour) -> bool:
    return isinstance(colour, str) and len(colour) == 6 and all(c in "0123456789abcdefABCDEF" for c in colour)

"""Seeded samplers: identities balanced over demographic cells, and pain expressions.

Determinism rules (docs/plan-format.md):
- Every draw comes from a numpy Generator seeded by `derive_seed(job_seed, stream, index)`,
  so identity i's draws depend on the job seed and i alone: not on how many identities
  follow it, the worker count or the shard layout.
- Demographic cells are dealt in blocks: identities [k*C, (k+1)*C) take a seeded permutation
  of all C cells, so any count that is a multiple of C is exactly balanced and any other
  count is as even as possible (cell counts differ by at most one).
- Splits are dealt in blocks of SPLIT_BLOCK identities with exact train/val/test counts per
  block; each block opens with one identity of every non-empty split, so a job of three or
  more identities has all three splits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Sequence

import numpy as np

from . import facs
from .clothing import draw_clothing
from .bed import draw_bed
from .makeup import draw_makeup
from .hair import draw_hair
from .seeds import derive_seed, rng_for
from .jobs import ethnicity_row

STREAM_CELLS = 1
STREAM_IDENTITY = 2
STREAM_SPLITS = 3
SUB_DEMOGRAPHICS = 1
SUB_EXPRESSIONS = 2
SUB_HEAD = 3
SUB_HAIR = 4
SUB_CLOTHING = 5
SUB_MAKEUP = 6
SUB_BED = 7
SPLITS = ("train", "val", "test")
SPLIT_BLOCK = 20
SKIN_TONE_RANGE = (1.0, 10.0)

# Share of the PSPI sum (after AU43) carried by brow lowering (AU4), orbit tightening
# (max AU6/AU7) and levator contraction (max AU9/AU10): orbit tightening and brow lowering
# are the most frequent pain actions (Prkachin 1992; Prkachin & Solomon 2008).
COMPONENT_SHARE = (0.34, 0.40, 0.26)
COMPONENT_SPREAD = 1.2
# Pair partner intensity = leader - k, k drawn from these (k = None: partner absent).
PARTNER_DROP = ((0, 0.35), (1, 0.35), (2, 0.15), (None, 0.15))
LEADER_FIRST = {("AU6", "AU7"): 0.45, ("AU9", "AU10"): 0.4}  # P(first AU of the pair leads)
_DROP_CDF = np.cumsum([p for _, p in PARTNER_DROP])


@dataclass(frozen=True)
class Cell:
    """One demographic cell: age band x sex x ethnicity group."""

    age_band: tuple[int, int]
    sex: str
    ethnicity: str

    @property
    def label(self) -> str:
        return f"{self.age_band[0]}-{self.age_band[1]}/{self.sex}/{self.ethnicity}"


def cells(identities_cfg: dict) -> list[Cell]:
    """All demographic cells of a job, in a fixed order (age band, sex, ethnicity)."""
    return [
        Cell((band[0], band[1]), sex, group)
        for band in identities_cfg["age_bands"]
        for sex in identities_cfg["sexes"]
        for group in identities_cfg["ethnicities"]
    ]


def cell_of(index: int, all_cells: Sequence[Cell], job_seed: int) -> Cell:
    """The cell dealt to identity `index` (seeded permutation per block of len(all_cells))."""
    n = len(all_cells)
    block, slot = divmod(index, n)
    order = rng_for(job_seed, STREAM_CELLS, block).permutation(n)
    return all_cells[int(order[slot])]


def split_of(index: int, fractions: Sequence[float], job_seed: int) -> str:
    """The train/val/test split dealt to identity `index`."""
    block, slot = divmod(index, SPLIT_BLOCK)
    return _split_block(tuple(fractions), job_seed, block)[slot]


def _split_block(fractions: tuple[float, ...], job_seed: int, block: int) -> list[str]:
    counts = _largest_remainder([f * SPLIT_BLOCK for f in fractions])
    rng = rng_for(job_seed, STREAM_SPLITS, block)
    opening = [s for s, c in zip(SPLITS, counts) if c > 0]
    rest = [s for s, c in zip(SPLITS, counts) for _ in range(c - 1)]
    rng.shuffle(opening)
    rng.shuffle(rest)
    return opening + rest


def _largest_remainder(quotas: Sequence[float]) -> list[int]:
    counts = [math.floor(q) for q in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[: round(sum(quotas)) - sum(counts)]:
        counts[i] += 1
    return counts


def skin_tone_prior(ethnicity: str, overrides: dict) -> tuple[float, float]:
    if ethnicity in overrides:
        mean, sd = overrides[ethnicity]
        return float(mean), float(sd)
    row = ethnicity_row(ethnicity)
    return float(row["skin_tone_mean"]), float(row["skin_tone_sd"])


def sample_identity(index: int, job: dict) -> dict:
    """Identity `index` of a resolved job: demographics, continuous age, skin tone, seeds, split,
    and its hair, clothing, make-up and bed records (`pain3d.hair.draw_hair`, `pain3d.clothing.draw_clothing`,
    `pain3d.makeup.draw_makeup`, `pain3d.bed.draw_bed`) when the job grows hair, dresses its people, makes
    them up and lays them in bed."""
    cfg = job["identities"]
    seed = derive_seed(job["seed"], STREAM_IDENTITY, index)
    cell = cell_of(index, cells(cfg), job["seed"])
    rng = rng_for(seed, SUB_DEMOGRAPHICS)
    low, high = cell.age_band
    age = rng.uniform(low, high + 1)  # a band's last year is included: 34 covers 34.0-34.99
    mean, sd = skin_tone_prior(cell.ethnicity, cfg["skin_tone"])
    identity = {
        "index": index,
        "seed": seed,
        "head_seed": derive_seed(seed, SUB_HEAD),
        "age": round(min(age, high + 0.99), 2),
        "age_band": f"{low}-{high}",
        "sex": cell.sex,
        "ethnicity": cell.ethnicity,
        "skin_tone": round(_truncated_normal(rng, mean, sd, *SKIN_TONE_RANGE), 3),
        "split": split_of(index, cfg["split"], job["seed"]),
    }
    hair = job.get("hair", {"enabled": False})
    if hair["enabled"]:
        identity["hair"] = draw_hair(identity, hair, derive_seed(seed, SUB_HAIR))
    clothing = job.get("clothing", {"enabled": False})
    if clothing["enabled"]:
        identity["clothing"] = draw_clothing(identity, clothing, derive_seed(seed, SUB_CLOTHING))
    makeup = job.get("makeup", {"enabled": False})
    if makeup["enabled"]:
        identity["makeup"] = draw_makeup(identity, makeup, derive_seed(seed, SUB_MAKEUP))
    bed = job.get("bed", {"enabled": False})
    if bed["enabled"]:
        identity["bed"] = draw_bed(bed, derive_seed(seed, SUB_BED))
    return identity


def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    """Inverse-CDF draw: exactly one uniform per call, so the stream never shifts."""
    dist = NormalDist(mean, sd)
    a, b = dist.cdf(lo), dist.cdf(hi)
    return float(dist.inv_cdf(a + rng.uniform() * (b - a)))


# --- expressions ---------------------------------------------------------------------------


def pspi_targets(expr_cfg: dict, n: int, rng: np.random.Generator) -> list[int]:
    """n target PSPI values from the job's distribution, ascending."""
    values = np.arange(expr_cfg["pspi_min"], expr_cfg["pspi_max"] + 1)
    weights = np.asarray(expr_cfg["pspi_weights"] or np.ones(len(values)), dtype=float)
    cdf = np.cumsum(weights / weights.sum())
    if expr_cfg["pspi_sampling"] == "stratified":
        u = (np.arange(n) + rng.uniform(size=n)) / max(n, 1)
    else:
        u = rng.uniform(size=n)
    picks = np.minimum(np.searchsorted(cdf, u, side="right"), len(values) - 1)
    return sorted(int(values[i]) for i in picks)


def aus_for_pspi(target: int, rng: np.random.Generator, au43_onset: float) -> dict[str, float]:
    """PSPI AU intensities whose PSPI is exactly `target`, with realistic co-activation."""
    eyes_closed = _draw_au43(target, rng, au43_onset)
    brow, orbit, levator = _split_components(target - eyes_closed, rng)
    aus = {"AU4": float(brow)}
    aus.update(_pair("AU6", "AU7", orbit, rng))
    aus.update(_pair("AU9", "AU10", levator, rng))
    aus["AU43"] = float(eyes_closed)
    return {k: aus[k] for k in facs.PSPI_AUS}


def _draw_au43(target: int, rng: np.random.Generator, onset: float) -> int:
    """Eyes closed mostly at high PSPI; forced when the other AUs cannot reach the target."""
    p = 1.0 / (1.0 + math.exp(-(target - onset) / 1.5))
    draw = rng.uniform() < p
    if target > 15:
        return 1
    return int(draw and target >= 1)


def _split_components(total: int, rng: np.random.Generator) -> tuple[int, int, int]:
    """(AU4, max(AU6,AU7), max(AU9,AU10)), each 0-5, summing to `total`."""
    triples, cdf = _component_table(total)
    return triples[_pick(cdf, rng)]


@lru_cache(maxsize=None)
def _component_table(total: int) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """All component triples for a total, and the CDF of their Gaussian weights about the shares."""
    triples = [(a, b, total - a - b) for a in range(6) for b in range(6) if 0 <= total - a - b <= 5]
    share = np.array(COMPONENT_SHARE) * total
    logw = -((np.array(triples, float) - share) ** 2).sum(axis=1) / (2 * COMPONENT_SPREAD**2)
    w = np.exp(logw - logw.max())
    return triples, np.cumsum(w / w.sum())


def _pick(cdf: np.ndarray, rng: np.random.Generator) -> int:
    """Index drawn from a discrete CDF with one uniform."""
    return min(int(np.searchsorted(cdf, rng.uniform(), side="right")), len(cdf) - 1)


def _pair(first: str, second: str, leader_value: int, rng: np.random.Generator) -> dict[str, float]:
    """Two co-activating AUs whose max is `leader_value` (AU6 with AU7, AU9 with AU10)."""
    first_leads = rng.uniform() < LEADER_FIRST[(first, second)]
    drop = PARTNER_DROP[_pick(_DROP_CDF, rng)][0]
    if leader_value == 0:
        return {first: 0.0, second: 0.0}
    partner = 0 if drop is None else max(0, leader_value - drop)
    lead, follow = (first, second) if first_leads else (second, first)
    return {lead: float(leader_value), follow: float(partner)}


def distractor_aus(rates: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """Non-PSPI AUs switched on at their rates with intensity 1-5 (AU27 excludes AU26)."""
    out = {}
    for key, rate in rates.items():  # one uniform and one integer per AU, always: stable streams
        on = rng.uniform() < rate
        level = int(rng.integers(1, 6))
        if on:
            out[key] = float(level)
    if "AU27" in out:
        out.pop("AU26", None)
    return out


def sample_expressions(identity_seed: int, job: dict) -> list[dict]:
    """The neutral face, the sampled pain expressions and the explicit ones, for one identity."""
    cfg = job["expressions"]
    rng = rng_for(identity_seed, SUB_EXPRESSIONS)
    neutral = {k: 0.0 for k in facs.PSPI_AUS}
    expressions = [_expression("neutral", "neutral", neutral, identity_seed, 0)]
    for j, target in enumerate(pspi_targets(cfg, cfg["per_identity"], rng)):
        aus = aus_for_pspi(target, rng, cfg["au43_onset"])
        aus.update(distractor_aus(cfg["distractors"], rng))
        expressions.append(_expression(f"pain_{j:02d}", "sampled", aus, identity_seed, len(expressions)))
    for entry in cfg["explicit"]:
        aus = {**neutral, **entry["aus"]}
        expressions.append(_expression(entry["name"], "explicit", aus, identity_seed, len(expressions)))
    return expressions


def _expression(name: str, kind: str, aus: dict[str, float], identity_seed: int, position: int) -> dict:
    aus = facs.check_aus(aus)
    return {"id": name, "kind": kind, "aus": aus, "pspi": facs.pspi(aus),
            "seed": derive_seed(identity_seed, SUB_EXPRESSIONS, position)}

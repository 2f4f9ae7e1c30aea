"""One identity's groom: every strand of its hair, grown from the head and the hair record."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..head.mesh import HeadMesh
from ..seeds import derive_seed
from .face_hair import grow_beard, grow_brows, grow_lashes
from .scalp_groom import grow_scalp
from .strands import StrandSet
from .surface import HeadVolume, SkinSurface

KINDS = ("scalp", "brows", "lashes", "beard")
SUB_STREAM = {kind: i + 1 for i, kind in enumerate(KINDS)}


def detail_for(resolution: int) -> float:
    """Scalp strand detail for a render size: full from 512 px up, (size / 512)^2.5 below, at
    least 0.15. At 256 px (0.18) a full strand is a tenth of a pixel wide; a sixth as many
    strands, each 5.7 times wider, still under a pixel, cover the scalp the same: a render costs
    about 10% less than with a third as many, and noise in the hair drops."""
    return float(min(1.0, max(0.15, (resolution / 512.0) ** 2.5)))


@dataclass
class Groom:
    """The strand sets of one head (kinds without strands are left out) and its hair record."""

    sets: dict[str, StrandSet]
    record: dict
    seconds: float

    @property
    def strand_count(self) -> int:
        return sum(len(s) for s in self.sets.values())


def grow_groom(head: HeadMesh, record: dict, kinds: tuple[str, ...] = KINDS, detail: float = 1.0) -> Groom:
    """Every strand of a hair record on a head; each kind draws from its own sub-stream of the
    record's seed, so the same record on the same head gives the same strands. `detail` (0..1]
    thins the scalp hair into fewer, wider strands for small renders (`detail_for`)."""
    started = time.perf_counter()
    surface = SkinSurface(head)
    volume = HeadVolume(head)
    growers = {"scalp": grow_scalp, "brows": grow_brows, "lashes": grow_lashes, "beard": grow_beard}
    sets = {}
    for kind in kinds:
        rng = np.random.default_rng(derive_seed(int(record["seed"]), SUB_STREAM[kind]))
        extra = {"detail": detail} if kind == "scalp" else {}
        strands = growers[kind](head, record, surface, volume, rng, **extra)
        if len(strands):
            sets[kind] = strands
    return Groom(sets, record, time.perf_counter() - started)

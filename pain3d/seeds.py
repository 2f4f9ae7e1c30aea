"""Seed derivation: every random draw of Pain3D comes from a generator seeded this way."""

from __future__ import annotations

import numpy as np


def derive_seed(job_seed: int, *path: int) -> int:
    """A 63-bit seed for the draw at `path` (stream, index, ...) under `job_seed`."""
    state = np.random.SeedSequence(entropy=job_seed, spawn_key=tuple(path)).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & (2**63 - 1)


def rng_for(seed: int, *path: int) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *path))

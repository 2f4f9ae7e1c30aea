"""The epoch batch sampler: a seeded, resumable, DDP-sharded order of (item, augmentation seed) batches.

The order and the augmentation draws depend only on (seed, epoch), so resuming mid-epoch with
`set_epoch(epoch, skip_batches=k)` yields exactly the batches an uninterrupted run would have seen
after its first k. With `world_size` processes (DDP), process `rank` takes every `world_size`-th
batch of the epoch's order from the `rank`-th on; all processes get the same number of batches (a
remainder of fewer than `world_size` batches is dropped).

With `weights` (one per item, `sampling_weights`), an epoch draws as many items as there are, with
replacement, each with probability proportional to its weight: rare high-PSPI frames come up more
often, still seeded by (seed, epoch) and so still resumable.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from pain3d.errors import Pain3DError
from pain3d.facs import PAIN_THRESHOLDS

WEIGHTINGS = ("none", "pain", "balanced")
PAIN_WEIGHT = 2.0  # "pain": a frame with PSPI >= 1 is drawn twice as often (the Pain-in-3D release's scheme)


def sampling_weights(pspi: Sequence[float], scheme: str) -> np.ndarray | None:
    """Per-item sampling weights for `data.weighted_sampling`, or None (uniform, without replacement).

    "pain": PSPI >= 1 weighs PAIN_WEIGHT, PSPI 0 weighs 1. "balanced": the levels PSPI 0, 1, 2 and
    >= 3 (the pain thresholds) each get the same total weight, split evenly among their items.
    """
    if scheme not in WEIGHTINGS:
        raise Pain3DError(f"data.weighted_sampling = {scheme!r}: allowed: {', '.join(WEIGHTINGS)}")
    values = np.asarray(pspi, dtype=np.float64)
    if scheme == "none":
        return None
    if scheme == "pain":
        return np.where(values >= PAIN_THRESHOLDS[0], PAIN_WEIGHT, 1.0)
    level = np.searchsorted(np.asarray(PAIN_THRESHOLDS, dtype=np.float64), values, side="right")
    return 1.0 / np.bincount(level)[level]


class EpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of (index, augmentation seed) whose order depends only on (seed, epoch).

    `set_epoch(epoch, skip_batches=k)` before each epoch; the epoch then yields this process's
    batches from its k-th on (exact resume). With `world_size` > 1, process `rank` gets batches
    rank, rank + world_size, ... of the epoch's order (module docs). `len()` counts the batches
    still to come; `batches_per_epoch` this process's all. `weights`: draw items in proportion to
    them, with replacement (module docs).
    """

    def __init__(self, size: int, batch_size: int, shuffle: bool, seed: int, drop_last: bool = False,
                 rank: int = 0, world_size: int = 1, weights: Sequence[float] | None = None) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (size,) or (weights < 0).any() or not weights.sum() > 0:
                raise ValueError(f"weights must be {size} non-negative numbers, not all zero")
            weights = weights / weights.sum()
        self.weights = weights
        self.size, self.batch_size, self.shuffle, self.seed, self.drop_last = size, batch_size, shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    @property
    def batches_per_epoch(self) -> int:
        full, rest = divmod(self.size, self.batch_size)
        return (full + (1 if rest and not self.drop_last else 0)) // self.world_size

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch - self.skip)

    def order(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's item order and one augmentation seed per position."""
        rng = np.random.default_rng([self.seed, epoch])
        if self.weights is not None:
            order = rng.choice(self.size, self.size, p=self.weights)
        else:
            order = rng.permutation(self.size) if self.shuffle else np.arange(self.size)
        return order, rng.integers(0, 2**62, size=self.size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order, draws = self.order(self.epoch)
        for b in range(self.skip, self.batches_per_epoch):
            start = (b * self.world_size + self.rank) * self.batch_size
            span = slice(start, start + self.batch_size)
            yield [(int(i), int(d)) for i, d in zip(order[span], draws[span])]

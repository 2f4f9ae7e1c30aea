"""Loading: a split of a dataset folder, batches of its items, and batches on the device.

- `open_split(data, split, image_size, ...)`: the reader a folder needs (a Pain3D dataset or the
  3DPain layout), on one split;
- `make_loader(dataset, batch_size, shuffle, seed, workers, pin_memory, drop_last, rank,
  world_size)`: a DataLoader whose `batch_sampler` is an `EpochBatchSampler` (training/sampler.py):
  call `set_epoch(epoch, skip_batches)` before each epoch for a seeded, resumable, DDP-sharded order;
- `collate` batches items; `to_device` moves a batch's tensors.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, default_collate

from pain3d import threedpain
from pain3d.dataset import MANIFEST_FILE
from pain3d.errors import Pain3DError

from .datasets import PainDataset
from .manifest_reader import Pain3DDataset
from .sampler import EpochBatchSampler
from .threedpain_reader import ThreeDPainDataset
from .transforms import Augment


def open_split(data: Path, split: str, image_size: int, *, augment: Augment | None = None,
               with_neutral: bool = False, cache: bool = False) -> PainDataset:
    """One split of a Pain3D dataset folder (manifest.jsonl) or a 3DPain-layout folder (meshes_inpainted/)."""
    data = Path(data)
    kwargs = dict(image_size=image_size, augment=augment, with_neutral=with_neutral, cache=cache)
    if (data / MANIFEST_FILE).is_file():
        return Pain3DDataset(data, split, **kwargs)
    if (data / threedpain.IMAGES_DIR).is_dir():
        return ThreeDPainDataset(data, split, **kwargs)
    raise Pain3DError(f"{data}: neither a Pain3D dataset (manifest.jsonl) nor a 3DPain folder (meshes_inpainted/)")


def collate(samples: list[dict]) -> dict:
    """Batch items: tensors stacked, strings as lists (torch's default collate)."""
    return default_collate(samples)


def make_loader(dataset: PainDataset, batch_size: int, shuffle: bool, seed: int, workers: int = 0,
                pin_memory: bool = False, drop_last: bool = False, rank: int = 0,
                world_size: int = 1) -> DataLoader:
    """A DataLoader over `dataset` with an `EpochBatchSampler` (as `loader.batch_sampler`).

    Workers persist across epochs (their decoded-image cache with them); memory is pinned only
    when an accelerator is there to copy to. `rank`/`world_size`: this process's share (DDP).
    """
    sampler = EpochBatchSampler(len(dataset), batch_size, shuffle, seed, drop_last, rank, world_size)
    pin = pin_memory and torch.accelerator.is_available()
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin, collate_fn=collate,
                      persistent_workers=workers > 0)


def to_device(batch: dict, device: torch.device) -> dict:
    """The batch with its tensors on `device` (strings stay); non-blocking from pinned memory."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

"""Loading: a split of a dataset folder, batches of its items, and batches on the device.

- `open_split(data, split, image_size, ...)`: the reader a folder needs (a Pain3D dataset or the
  3DPain layout), on one split. `data` may also be `unbc:PATH`, the UNBC-McMaster archive, which
  has no fixed splits: `for_training` binds it to the config's fold (`data.fold` of `data.folds`,
  training/folds.py) and `for_run` to the fold a run was trained on (RUN/folds.json);
- `data_label(data)`: what a run records as its data (an absolute path, or `unbc:` and one);
- `make_loader(dataset, batch_size, shuffle, seed, workers, pin_memory, drop_last, rank,
  world_size, weights)`: a DataLoader whose `batch_sampler` is an `EpochBatchSampler` (training/sampler.py):
  call `set_epoch(epoch, skip_batches)` before each epoch for a seeded, resumable, DDP-sharded order;
- `collate` batches items; `to_device` moves a batch's tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch.utils.data import DataLoader, default_collate

from pain3d import threedpain
from pain3d.dataset import MANIFEST_FILE
from pain3d.errors import Pain3DError

from .datasets import PainDataset
from .folds import FOLDS_FILE, FoldSplit, fold_split, read_split
from .manifest_reader import Pain3DDataset
from .sampler import EpochBatchSampler
from .threedpain_reader import ThreeDPainDataset
from .transforms import Augment
from .unbc_reader import UnbcDataset, archive_subjects

UNBC_PREFIX = "unbc:"
UNBC_ROLES = ("baseline",)  # the archive has no pain heatmaps: no teacher, and no teacher for a student


@dataclass(frozen=True)
class UnbcSource:
    """The UNBC-McMaster archive at `root`, and the fold whose subjects make its splits (None: not chosen)."""

    root: Path
    fold: FoldSplit | None = None


def data_source(data: str | Path | UnbcSource) -> Path | UnbcSource:
    """A dataset folder, or the archive `unbc:PATH` names."""
    if isinstance(data, UnbcSource):
        return data
    text = str(data)
    if text.startswith(UNBC_PREFIX):
        return UnbcSource(Path(text[len(UNBC_PREFIX):]).expanduser().resolve())
    return Path(data)


def data_label(data: str | Path | UnbcSource) -> str:
    """What a run records as its data: the folder's absolute path, or `unbc:` and the archive's."""
    source = data_source(data)
    return f"{UNBC_PREFIX}{source.root}" if isinstance(source, UnbcSource) else str(source.resolve())


def for_training(data: str | Path | UnbcSource, role: str, config: dict) -> Path | UnbcSource:
    """DATA as a training run of `role` with `config` reads it: a UNBC archive bound to `data.fold`."""
    source = data_source(data)
    if not isinstance(source, UnbcSource):
        return source
    if role not in UNBC_ROLES:
        raise Pain3DError(f"--role {role}: unbc:{source.root} has no pain heatmaps; allowed: {', '.join(UNBC_ROLES)}")
    return UnbcSource(source.root, fold_split(archive_subjects(source.root), config["data"]))


def for_run(data: str | Path | UnbcSource, run: Path) -> Path | UnbcSource:
    """DATA as the run RUN (a run folder or one of its model files) saw it: a UNBC archive bound to RUN's fold.

    A model file outside a UNBC run (one trained on other data, e.g. a published checkpoint) saw none
    of the archive: every subject is its test split.
    """
    source = data_source(data)
    if not isinstance(source, UnbcSource):
        return source
    run = Path(run)
    home = run if run.is_dir() else run.parent.parent
    if not run.is_dir() and not (home / FOLDS_FILE).is_file():
        return UnbcSource(source.root, FoldSplit((tuple(archive_subjects(source.root)),), 0, 0, ()))
    return UnbcSource(source.root, read_split(home))


def open_split(data: str | Path | UnbcSource, split: str | None, image_size: int, *, augment: Augment | None = None,
               with_neutral: bool = False, cache: bool = False) -> PainDataset:
    """One split of a Pain3D dataset folder (manifest.jsonl), a 3DPain-layout folder (meshes_inpainted/) or a
    UNBC archive (`unbc:PATH`, its splits from its fold)."""
    data = data_source(data)
    kwargs = dict(image_size=image_size, augment=augment, with_neutral=with_neutral, cache=cache)
    if isinstance(data, UnbcSource):
        return UnbcDataset(data.root, data.fold.subject_split() if data.fold else None, split, **kwargs)
    if (data / MANIFEST_FILE).is_file():
        return Pain3DDataset(data, split, **kwargs)
    if (data / threedpain.IMAGES_DIR).is_dir():
        return ThreeDPainDataset(data, split, **kwargs)
    raise Pain3DError(f"{data}: neither a Pain3D dataset (manifest.jsonl) nor a 3DPain folder (meshes_inpainted/); "
                      f"the UNBC-McMaster archive is given as unbc:PATH")


def collate(samples: list[dict]) -> dict:
    """Batch items: tensors stacked, strings as lists (torch's default collate)."""
    return default_collate(samples)


def make_loader(dataset: PainDataset, batch_size: int, shuffle: bool, seed: int, workers: int = 0,
                pin_memory: bool = False, drop_last: bool = False, rank: int = 0,
                world_size: int = 1, weights: Sequence[float] | None = None) -> DataLoader:
    """A DataLoader over `dataset` with an `EpochBatchSampler` (as `loader.batch_sampler`).

    Workers persist across epochs (their decoded-image cache with them); memory is pinned only
    when an accelerator is there to copy to. `rank`/`world_size`: this process's share (DDP).
    `weights`: weighted sampling with replacement (training/sampler.py).
    """
    sampler = EpochBatchSampler(len(dataset), batch_size, shuffle, seed, drop_last, rank, world_size, weights)
    pin = pin_memory and torch.accelerator.is_available()
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin, collate_fn=collate,
                      persistent_workers=workers > 0)


def to_device(batch: dict, device: torch.device) -> dict:
    """The batch with its tensors on `device` (strings stay); non-blocking from pinned memory."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

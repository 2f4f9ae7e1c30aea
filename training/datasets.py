"""What the dataset readers share: `PainDataset`, which turns their `Item`s into item dicts.

The readers: `Pain3DDataset(root, split)` (training/manifest_reader.py) reads a Pain3D dataset
folder, `ThreeDPainDataset(root, split)` (training/threedpain_reader.py) a folder in the 3DPain
release layout, `UnbcDataset(root, subject_split, split)` (training/unbc_reader.py) the
UNBC-McMaster archive; `open_split` (training/loader.py) picks the one a folder needs. All return
the same items.

`split` is "train", "val", "test" or None (all). Splits are identity-disjoint: an identity whose
rows (or CSV bases) name two splits is a Pain3DError. Neutral images are items with PSPI 0 unless
`include_neutral=False`.

An item is a dict (every item has the same keys, so `collate` = torch's default collate works):

| key | value |
| --- | --- |
| `image` | (3, S, S) float, normalised by `mean`/`std` |
| `heatmap` | (1, S, S) float in [0, 1]; zeros where `has_heatmap` is False (neutral, missing) |
| `has_heatmap` | bool tensor |
| `aus` | (6,) float, `AU_KEYS` order (effective intensities: max of bilateral and sided keys) |
| `pspi` | () float, 0..16 |
| `view` | () float, camera yaw in degrees (negated by a flip; NaN when unknown) |
| `view_index` | () int, the camera's index in the dataset (unchanged by a flip) |
| `identity` | () int |
| `sample_id`, `expression` | str |
| `age`, `skin_tone` | () float (NaN when unknown) |
| `age_band`, `sex`, `ethnicity` | str ("unknown" when unknown) |
| `neutral_image` | (3, S, S), only with `with_neutral=True`: the same identity and view, neutral |

`set_neutral_shots(K)` makes `neutral_image` (K, 3, S, S) (multi-shot evaluation): that twin,
then the identity's other neutral images (`Item.neutral_others`), the nearest view first.

`cache=True` keeps decoded, resized images in shared memory (training/cache.py). `crops` (one box
per image slot: left, top, right, bottom) and `heatmap_crops` (one per heatmap slot) crop each file
before resizing: the readers' face crops (training/images.py `face_box`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from pain3d import facs
from pain3d.errors import Pain3DError
from pain3d.sampling import SPLITS

from .cache import SharedSlots
from .heat import HEATMAP_COLORMAPS
from .images import Box, load_heatmap, load_rgb
from .transforms import Augment

AU_KEYS: tuple[str, ...] = facs.PSPI_AUS
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Item:
    """One image of a dataset; image paths are slots in the dataset's path lists."""

    sample_id: str
    identity: int
    expression: str
    split: str
    image: int
    heatmap: int | None
    neutral: int | None  # slot of the neutral twin's image
    aus: dict[str, float]  # all AU keys, sided ones included (a flip swaps them)
    pspi: float
    yaw: float
    view_index: int
    age: float = math.nan
    age_band: str = UNKNOWN
    sex: str = UNKNOWN
    ethnicity: str = UNKNOWN
    skin_tone: float = math.nan
    neutral_others: tuple[int, ...] = ()  # slots of the identity's other neutral images, nearest view first


class PainDataset(Dataset):
    """Items of either layout: decoding, caching, augmentation and the item dict (module docs).

    `dataset[i]` is item i without random draws; `dataset[(i, draw)]` augments with the seed
    `draw` (what `EpochBatchSampler` yields).
    """

    def __init__(self, items: list[Item], image_paths: list[Path], heatmap_paths: list[Path], *,
                 image_size: int, augment: Augment | None, with_neutral: bool, cache: bool,
                 mean: Sequence[float], std: Sequence[float], heatmap_colors: str, where: str,
                 crops: Sequence[Box] | None = None, heatmap_crops: Sequence[Box] | None = None) -> None:
        if not items:
            raise Pain3DError(f"{where}: no images in this split")
        if heatmap_colors not in HEATMAP_COLORMAPS:
            raise Pain3DError(f"heatmap colours {heatmap_colors!r}: allowed: {', '.join(HEATMAP_COLORMAPS)}")
        if with_neutral and any(item.neutral is None for item in items):
            missing = next(item.sample_id for item in items if item.neutral is None)
            raise Pain3DError(f"{where}: {missing} has no neutral image of the same identity and view")
        self.items, self.image_paths, self.heatmap_paths = items, image_paths, heatmap_paths
        self.image_size, self.augment, self.with_neutral = image_size, augment, with_neutral
        self.heatmap_colors, self.crops, self.heatmap_crops = heatmap_colors, crops, heatmap_crops
        self.neutral_shots = 1
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        s = image_size
        self._images = SharedSlots(len(image_paths), (3, s, s), torch.uint8) if cache else None
        self._heatmaps = SharedSlots(len(heatmap_paths), (1, s, s), torch.float16) if cache else None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def identities(self) -> set[int]:
        return {item.identity for item in self.items}

    @property
    def pspi(self) -> np.ndarray:
        """Every item's PSPI, in item order (what weighted sampling weighs)."""
        return np.array([item.pspi for item in self.items], dtype=np.float64)

    def set_neutral_shots(self, shots: int) -> None:
        """Give K neutral references of the person per item (multi-shot evaluation; no augmentation)."""
        if shots > 1 and (not self.with_neutral or self.augment is not None):
            raise Pain3DError(f"neutral shots = {shots}: invalid; allowed: 1 (items without neutral references, "
                              f"or augmented for training)")
        counts = [1 + len(item.neutral_others) for item in self.items]
        if not 1 <= shots <= min(counts):
            lacking = self.items[counts.index(min(counts))].sample_id
            raise Pain3DError(f"neutral shots = {shots}: invalid; allowed: 1..{min(counts)} ({lacking} has "
                              f"{min(counts)} neutral image(s) of its identity)")
        self.neutral_shots = shots

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, draw = key if isinstance(key, tuple) else (key, None)
        item = self.items[index]
        views = {"image": self._rgb(item.image)}
        if self.with_neutral:
            views["neutral_image"] = self._rgb(item.neutral)
        views["heatmap"] = self._heat(item.heatmap)
        aus, yaw = item.aus, item.yaw
        if self.augment is not None and draw is not None:
            views, aus, yaw = self.augment(views, aus, yaw, torch.Generator().manual_seed(draw))
        sample = self._sample(item, views, aus, yaw)
        if self.neutral_shots > 1:
            others = [(self._rgb(slot) - self.mean) / self.std for slot in item.neutral_others[:self.neutral_shots - 1]]
            sample["neutral_image"] = torch.stack([sample["neutral_image"], *others])
        return sample

    def _rgb(self, slot: int) -> torch.Tensor:
        def load() -> torch.Tensor:
            return load_rgb(self.image_paths[slot], self.image_size, self.crops[slot] if self.crops else None)

        pixels = self._images.get(slot, load) if self._images else load()
        return pixels.float() / 255.0

    def _heat(self, slot: int | None) -> torch.Tensor:
        if slot is None:
            return torch.zeros(1, self.image_size, self.image_size)

        def load() -> torch.Tensor:
            box = self.heatmap_crops[slot] if self.heatmap_crops else None
            return load_heatmap(self.heatmap_paths[slot], self.image_size, self.heatmap_colors, box)

        return (self._heatmaps.get(slot, load) if self._heatmaps else load()).float()

    def _sample(self, item: Item, views: dict[str, torch.Tensor], aus: Mapping[str, float], yaw: float) -> dict:
        sample = {
            "image": (views["image"] - self.mean) / self.std,
            "heatmap": views["heatmap"],
            "has_heatmap": torch.tensor(item.heatmap is not None),
            "aus": torch.tensor([facs.effective_intensity(aus, k) for k in AU_KEYS], dtype=torch.float32),
            "pspi": torch.tensor(item.pspi, dtype=torch.float32),
            "view": torch.tensor(yaw, dtype=torch.float32),
            "view_index": torch.tensor(item.view_index),
            "identity": torch.tensor(item.identity),
            "sample_id": item.sample_id,
            "expression": item.expression,
            "age": torch.tensor(item.age, dtype=torch.float32),
            "age_band": item.age_band,
            "sex": item.sex,
            "ethnicity": item.ethnicity,
            "skin_tone": torch.tensor(item.skin_tone, dtype=torch.float32),
        }
        if self.with_neutral:
            sample["neutral_image"] = (views["neutral_image"] - self.mean) / self.std
        return sample


# --- shared by the readers ------------------------------------------------------------------


class PathSlots:
    """Paths -> slot numbers, in first-seen order."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self._index: dict[Path, int] = {}

    def __call__(self, path: Path) -> int:
        if path not in self._index:
            self._index[path] = len(self.paths)
            self.paths.append(path)
        return self._index[path]


def twin_slot(slots: PathSlots, twins: dict, key: tuple, wanted: bool) -> int | None:
    """Slot of the neutral twin's image; registered only when wanted (the cache holds only used images)."""
    return slots(twins[key]) if wanted and key in twins else None


class NeutralViews:
    """The neutral images of each identity by view, for the other neutral references of an image."""

    def __init__(self, twins: Mapping[tuple[object, object], Path]) -> None:
        self._views: dict[object, list[tuple[object, Path]]] = {}
        for (identity, view), path in twins.items():
            self._views.setdefault(identity, []).append((view, path))

    def others(self, slots: PathSlots, identity: object, view: object, wanted: bool) -> tuple[int, ...]:
        """Slots of the identity's neutral images at other views, nearest view first; () unless wanted."""
        if not wanted:
            return ()
        others = sorted(((_distance(v, view), v, p) for v, p in self._views.get(identity, []) if v != view),
                        key=lambda entry: entry[:2])
        return tuple(slots(path) for _, _, path in others)


def _distance(a: object, b: object) -> float:
    """How far apart two views are: a view index, or a (yaw, pitch) pair in degrees."""
    pairs = zip(a, b) if isinstance(a, tuple) else [(a, b)]
    return sum(abs(x - y) for x, y in pairs)


def check_split(split: str | None) -> None:
    """Pain3DError unless `split` is a split name or None (all splits)."""
    if split is not None and split not in SPLITS:
        raise Pain3DError(f"split {split!r}: allowed: {', '.join(SPLITS)} (or all)")


def identity_splits(pairs: Sequence[tuple[object, str]], where: str) -> dict[object, str]:
    """identity -> split from (identity, split) pairs; Pain3DError if an identity is in two splits."""
    out: dict[object, str] = {}
    for identity, split in pairs:
        first = out.setdefault(identity, split)
        if first != split:
            raise Pain3DError(f"{where}: identity {identity} is in two splits ({first} and {split}); "
                              f"splits must be identity-disjoint")
    return out

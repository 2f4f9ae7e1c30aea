"""ViTPain data: PyTorch datasets over the two dataset layouts, label-preserving augmentation, loaders.

Datasets (both are `PainDataset`s and return the same items):

- `Pain3DDataset(root, split)`: a Pain3D dataset folder (docs/dataset-format.md), read through
  `pain3d.dataset.read_manifest`.
- `ThreeDPainDataset(root, split)`: the 3DPain release layout (pain3d/export.py):
  `meshes_inpainted/{base}_view_{k}.png|jpg` with `{base}` = `{subject}_pain_{j}` or
  `{subject}_neutral`; `annotations/{base}_annotations.json` (AU4 AU6 AU7 AU9 AU10 AU43 PSPI;
  none for neutral faces, which are all zero); `heatmaps/{base}.png`, one colourised heatmap per
  expression, given to every view of it; a split CSV `annotation_base_name,split` (0 train,
  1 val, 2 test). The layout has no demographics (age NaN, strings "unknown") and no camera
  angles (yaw NaN unless `view_yaws` is given).

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

Loading: `make_loader(dataset, batch_size, shuffle, seed, workers, pin_memory, rank, world_size)`
returns a DataLoader whose `batch_sampler` is an `EpochBatchSampler`: call `set_epoch(epoch,
skip_batches)` before each epoch. The order and the augmentation draws depend only on (seed,
epoch), so resuming mid-epoch with `skip_batches=k` yields exactly the batches an uninterrupted
run would have seen after its first k. With `world_size` processes (DDP), process `rank` takes
every `world_size`-th batch of the epoch's order from the `rank`-th on; all processes get the same
number of batches (a remainder of fewer than `world_size` batches is dropped). `cache=True` keeps
decoded, resized images in shared memory, filled on first use and shared by all workers.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, UnidentifiedImageError
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from pain3d import facs
from pain3d.dataset import NEUTRAL, read_manifest
from pain3d.errors import Pain3DError
from pain3d.export import SPLIT_CODES
from pain3d.jobs import demographics
from pain3d.plan import read_plan
from pain3d.sampling import SPLITS

AU_KEYS: tuple[str, ...] = facs.PSPI_AUS
PAIN_THRESHOLDS: tuple[int, ...] = (1, 2, 3)
UNKNOWN = "unknown"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# Colour ramps of colourised heatmaps. "hot": matplotlib's hot (black -> red -> yellow -> white), what
# the 3DPain release's heatmaps look like (the release does not name its map). "jet": Pain3D's
# heatmaps_color (blender_addon/scene.py, _jet_ramp; bpy cannot be imported here), linear stops that
# the Standard view transform stores sRGB-encoded.
_JET_LINEAR = [(0.0, (0, 0, 0)), (0.002, (0, 0, 0.5)), (0.25, (0, 0.3, 1)), (0.5, (0, 1, 1)),
               (0.75, (1, 1, 0)), (1.0, (1, 0, 0))]


def _srgb(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def _ramp_table(stops: list[tuple[float, tuple[float, float, float]]], encode: bool) -> np.ndarray:
    """(256, 3) colours of heat 0..1 in 256 steps, interpolated between stops; `encode`: linear -> sRGB."""
    heat = np.linspace(0, 1, 256)
    pos = [p for p, _ in stops]
    table = np.stack([np.interp(heat, pos, [c[i] for _, c in stops]) for i in range(3)], axis=1)
    return _srgb(table) if encode else table


COLOR_RAMPS = {  # name -> (256, 3) sRGB colours of heat 0..1
    "hot": _ramp_table([(0.0, (0, 0, 0)), (0.365, (1, 0, 0)), (0.746, (1, 1, 0)), (1.0, (1, 1, 1))], False),
    "jet": _ramp_table(_JET_LINEAR, True),
}
HEATMAP_COLORMAPS = tuple(COLOR_RAMPS)


def heat_from_rgb(rgb: np.ndarray, colormap: str) -> np.ndarray:
    """Heat in [0, 1] of a colourised heatmap (H, W, 3 uint8): each colour's nearest ramp entry."""
    table = COLOR_RAMPS[colormap]
    packed = rgb.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    colours, inverse = np.unique(packed, return_inverse=True)  # few distinct colours: match only those
    unique_rgb = np.stack([(colours >> s) & 255 for s in (16, 8, 0)], axis=1) / 255.0
    nearest = np.argmin(((unique_rgb[:, None, :] - table[None]) ** 2).sum(-1), axis=1)
    return (nearest / 255.0)[inverse].reshape(rgb.shape[:2]).astype(np.float32)


# --- decoding ------------------------------------------------------------------------------


def _open(path: Path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
        return img
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise Pain3DError(f"{path}: cannot read image ({err})") from None


def load_rgb(path: Path, size: int) -> torch.Tensor:
    """(3, size, size) uint8 RGB image."""
    img = _open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def load_heatmap(path: Path, size: int, colormap: str) -> torch.Tensor:
    """(1, size, size) float heat in [0, 1]: 8/16-bit grayscale as is, colour through `colormap`."""
    img = _open(path)
    if img.mode in ("I;16", "I;16B", "I"):
        heat = np.asarray(img, dtype=np.float32) / 65535.0
    elif img.mode in ("L", "LA"):
        heat = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    else:
        heat = heat_from_rgb(np.asarray(img.convert("RGB")), colormap)
    resized = Image.fromarray(heat).resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.clip(np.asarray(resized), 0, 1)).unsqueeze(0)


class SharedSlots:
    """Decoded tensors in shared memory, filled on first use; DataLoader workers share them."""

    def __init__(self, count: int, shape: tuple[int, ...], dtype: torch.dtype) -> None:
        need = count * math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        free = shutil.disk_usage("/dev/shm").free if Path("/dev/shm").is_dir() else need
        if need > free:
            raise Pain3DError(f"the decoded-image cache needs {need / 2**30:.1f} GiB of shared memory and "
                              f"/dev/shm has {free / 2**30:.1f} GiB free; turn data.cache off")
        self.data = torch.empty((count, *shape), dtype=dtype).share_memory_()
        self.filled = torch.zeros(count, dtype=torch.bool).share_memory_()

    def get(self, slot: int, load: Callable[[], torch.Tensor]) -> torch.Tensor:
        if not self.filled[slot]:
            self.data[slot] = load()
            self.filled[slot] = True  # after the data: a reader never sees half a slot as filled
        return self.data[slot]


# --- augmentation --------------------------------------------------------------------------


def flip_aus(aus: Mapping[str, float]) -> dict[str, float]:
    """AU labels of the mirrored face: left and right keys swap (AU12L <-> AU12R)."""
    swap = {"L": "R", "R": "L"}
    out = {}
    for key, value in aus.items():
        au, side = facs.parse_key(key)
        out[au.key + swap[side] if side else key] = value
    return out


@dataclass(frozen=True)
class Augment:
    """Label-preserving augmentation: a small square crop, colour jitter, blur, optional flip.

    Geometry (crop, flip) moves the image, the heatmap and the neutral image together; colour and
    blur change the two RGB images alike. A flip also swaps left/right AU keys and negates yaw;
    the six PSPI AUs are bilateral, so their values and PSPI are unchanged.
    """

    crop_min: float = 0.85  # smallest crop side, as a fraction of the image side
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02
    blur_p: float = 0.2
    blur_sigma: float = 1.0
    flip: bool = False

    def __call__(self, views: dict[str, torch.Tensor], aus: Mapping[str, float], yaw: float,
                 generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, float], float]:
        """Augment float [0, 1] views (keys image, heatmap, neutral_image); returns views, aus, yaw."""
        u = torch.rand(10, generator=generator).tolist()
        views = {k: self._crop(v, u[0], u[1], u[2]) for k, v in views.items()}
        rgb = [k for k in views if k != "heatmap"]
        for k in rgb:
            views[k] = self._colour(views[k], u[3:7], u[7] < self.blur_p, u[8])
        aus = dict(aus)
        if self.flip and u[9] < 0.5:
            views = {k: TF.horizontal_flip(v) for k, v in views.items()}
            aus, yaw = flip_aus(aus), -yaw
        return views, aus, yaw

    def _crop(self, x: torch.Tensor, scale: float, top: float, left: float) -> torch.Tensor:
        size = x.shape[-1]
        side = max(1, round(size * (self.crop_min + (1 - self.crop_min) * scale)))
        t, l = round((size - side) * top), round((size - side) * left)
        return TF.resized_crop(x, t, l, side, side, [size, size], antialias=True)

    def _colour(self, x: torch.Tensor, u: list[float], blur: bool, sigma: float) -> torch.Tensor:
        def jitter(amount: float, v: float) -> float:
            return 1 + amount * (2 * v - 1)

        x = TF.adjust_brightness(x, jitter(self.brightness, u[0]))
        x = TF.adjust_contrast(x, jitter(self.contrast, u[1]))
        x = TF.adjust_saturation(x, jitter(self.saturation, u[2]))
        x = TF.adjust_hue(x, self.hue * (2 * u[3] - 1))
        if blur:
            s = 0.1 + (self.blur_sigma - 0.1) * sigma
            x = TF.gaussian_blur(x, [5, 5], [s, s])
        return x.clamp(0, 1)


# --- datasets ------------------------------------------------------------------------------


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


class PainDataset(Dataset):
    """Items of either layout: decoding, caching, augmentation and the item dict (module docs).

    `dataset[i]` is item i without random draws; `dataset[(i, draw)]` augments with the seed
    `draw` (what `EpochBatchSampler` yields).
    """

    def __init__(self, items: list[Item], image_paths: list[Path], heatmap_paths: list[Path], *,
                 image_size: int, augment: Augment | None, with_neutral: bool, cache: bool,
                 mean: Sequence[float], std: Sequence[float], heatmap_colors: str, where: str) -> None:
        if not items:
            raise Pain3DError(f"{where}: no images in this split")
        if heatmap_colors not in HEATMAP_COLORMAPS:
            raise Pain3DError(f"heatmap colours {heatmap_colors!r}: allowed: {', '.join(HEATMAP_COLORMAPS)}")
        if with_neutral and any(item.neutral is None for item in items):
            missing = next(item.sample_id for item in items if item.neutral is None)
            raise Pain3DError(f"{where}: {missing} has no neutral image of the same identity and view")
        self.items, self.image_paths, self.heatmap_paths = items, image_paths, heatmap_paths
        self.image_size, self.augment, self.with_neutral = image_size, augment, with_neutral
        self.heatmap_colors = heatmap_colors
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
        return self._sample(item, views, aus, yaw)

    def _rgb(self, slot: int) -> torch.Tensor:
        def load() -> torch.Tensor:
            return load_rgb(self.image_paths[slot], self.image_size)

        pixels = self._images.get(slot, load) if self._images else load()
        return pixels.float() / 255.0

    def _heat(self, slot: int | None) -> torch.Tensor:
        if slot is None:
            return torch.zeros(1, self.image_size, self.image_size)

        def load() -> torch.Tensor:
            return load_heatmap(self.heatmap_paths[slot], self.image_size, self.heatmap_colors)

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


class _Slots:
    """Paths -> slot numbers, in first-seen order."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self._index: dict[Path, int] = {}

    def __call__(self, path: Path) -> int:
        if path not in self._index:
            self._index[path] = len(self.paths)
            self.paths.append(path)
        return self._index[path]


def _twin(slots: _Slots, twins: dict, key: tuple, wanted: bool) -> int | None:
    """Slot of the neutral twin's image; registered only when wanted (the cache holds only used images)."""
    return slots(twins[key]) if wanted and key in twins else None


def _check_split(split: str | None) -> None:
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


class Pain3DDataset(PainDataset):
    """A Pain3D dataset folder (manifest.jsonl), one split of it (module docs)."""

    def __init__(self, root: str | Path, split: str | None = "train", *, image_size: int = 224,
                 augment: Augment | None = None, with_neutral: bool = False, include_neutral: bool = True,
                 cache: bool = False, mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
                 std: Sequence[float] = IMAGENET_DEFAULT_STD) -> None:
        root = Path(root)
        _check_split(split)
        rows = read_manifest(root)
        identity_splits([(r["identity"], r["split"]) for r in rows], str(root))
        bands = _age_bands(root)
        images, heatmaps = _Slots(), _Slots()
        twins = {(r["identity"], _view(r)): _path(root, r["image"]) for r in rows if r["expression"] == NEUTRAL}
        items = []
        for row in sorted(rows, key=lambda r: r["sample_id"]):
            if (split and row["split"] != split) or (row["expression"] == NEUTRAL and not include_neutral):
                continue
            twin = _twin(images, twins, (row["identity"], _view(row)), with_neutral)
            items.append(_manifest_item(root, row, images, heatmaps, twin, bands))
        super().__init__(items, images.paths, heatmaps.paths, image_size=image_size, augment=augment,
                         with_neutral=with_neutral, cache=cache, mean=mean, std=std, heatmap_colors="jet",
                         where=f"{root} ({split or 'all splits'})")


def _manifest_item(root: Path, row: dict, images: _Slots, heatmaps: _Slots, twin: int | None,
                   bands: Callable[[int, float], str]) -> Item:
    try:
        return Item(
            sample_id=row["sample_id"], identity=row["identity"], expression=row["expression"], split=row["split"],
            image=images(_path(root, row["image"])),
            heatmap=heatmaps(_path(root, row["heatmap"])) if row.get("heatmap") else None,
            neutral=twin, aus=dict(row["aus"]), pspi=float(row["pspi"]), yaw=float(row["view"]["yaw"]),
            view_index=int(row.get("view_index", 0)), age=float(row["age"]),
            age_band=bands(row["identity"], row["age"]), sex=row["sex"], ethnicity=row["ethnicity"],
            skin_tone=float(row["skin_tone"]))
    except (KeyError, TypeError, ValueError) as err:
        raise Pain3DError(f"{root}: manifest row {row.get('sample_id', '?')} is incomplete ({err!r}); "
                          f"check the dataset with 'pain3d validate'") from None


def _path(root: Path, rel: str) -> Path:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        raise Pain3DError(f"{root}: manifest path {rel!r} leaves the dataset folder")
    return root / pure


def _view(row: dict) -> tuple[float, float]:
    return float(row["view"]["yaw"]), float(row["view"].get("pitch", 0.0))


def _age_bands(root: Path) -> Callable[[int, float], str]:
    """identity, age -> age band: the plan's when the folder has one, else the default bands'."""
    try:
        by_identity = {i["index"]: i["age_band"] for i in read_plan(root)["identities"] if "age_band" in i}
    except Pain3DError:
        by_identity = {}
    default = demographics()["default_age_bands"]

    def band(identity: int, age: float) -> str:
        if identity in by_identity:
            return by_identity[identity]
        return next((f"{lo}-{hi}" for lo, hi in default if lo <= age < hi + 1), UNKNOWN)

    return band


_IMAGE_RE = re.compile(r"^(?P<base>.+)_view_(?P<view>\d+)$")
_BASE_RE = re.compile(r"^(?P<subject>.+?)_(?:neutral|pain_\d+)$")
_SPLIT_NAMES = {str(code): name for name, code in SPLIT_CODES.items()}


class ThreeDPainDataset(PainDataset):
    """A folder in the 3DPain release layout, one split of it (module docs).

    `split_csv`: the split file (default: `splits.csv`, else the folder's only CSV);
    `view_yaws[k]`: the yaw of view k, when known; `heatmap_colors`: the colour ramp of
    colourised heatmaps ("hot" for the release, "jet" for Pain3D's own `heatmaps_color`).
    """

    def __init__(self, root: str | Path, split: str | None = "train", *, image_size: int = 224,
                 augment: Augment | None = None, with_neutral: bool = False, include_neutral: bool = True,
                 cache: bool = False, mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
                 std: Sequence[float] = IMAGENET_DEFAULT_STD, split_csv: str | Path | None = None,
                 view_yaws: Sequence[float] | None = None, heatmap_colors: str = "hot") -> None:
        root = Path(root)
        _check_split(split)
        images = _release_images(root)
        subject_split = identity_splits(
            [(_subject(base, root), s) for base, s in _read_split_csv(_split_csv(root, split_csv)).items()],
            str(root))
        image_slots, heat_slots = _Slots(), _Slots()
        identity = {subject: i for i, subject in enumerate(sorted({_subject(base, root) for base, _ in images}))}
        twins = {(_subject(b, root), k): p for (b, k), p in images.items() if b.endswith("_" + NEUTRAL)}
        items, labels = [], {}
        for (base, k), path in sorted(images.items()):
            subject = _subject(base, root)
            if subject not in subject_split:
                raise Pain3DError(f"{root}: {base} has no split in the split CSV")
            neutral = base.endswith("_" + NEUTRAL)
            if (split and subject_split[subject] != split) or (neutral and not include_neutral):
                continue
            if base not in labels:  # read once for all views of the expression
                heat = None if neutral else _release_heatmap(root, base)
                labels[base] = (*_release_labels(root, base, neutral), heat)
            aus, pspi, heat = labels[base]
            items.append(Item(
                sample_id=path.stem, identity=identity[subject], expression=base[len(subject) + 1:],
                split=subject_split[subject], image=image_slots(path),
                heatmap=heat_slots(heat) if heat is not None else None,
                neutral=_twin(image_slots, twins, (subject, k), with_neutral), aus=aus, pspi=pspi,
                yaw=float(view_yaws[k]) if view_yaws is not None and k < len(view_yaws) else math.nan,
                view_index=k))
        super().__init__(items, image_slots.paths, heat_slots.paths, image_size=image_size, augment=augment,
                         with_neutral=with_neutral, cache=cache, mean=mean, std=std,
                         heatmap_colors=heatmap_colors, where=f"{root} ({split or 'all splits'})")


def _release_images(root: Path) -> dict[tuple[str, int], Path]:
    """(base, view index) -> image path of meshes_inpainted/."""
    folder = root / "meshes_inpainted"
    if not folder.is_dir():
        raise Pain3DError(f"{root}: no meshes_inpainted/ folder; not a 3DPain-layout dataset")
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        match = _IMAGE_RE.match(path.stem)
        if not match or not _BASE_RE.match(match["base"]):
            raise Pain3DError(f"{path}: not named {{subject}}_pain_{{j}}_view_{{k}} or {{subject}}_neutral_view_{{k}}")
        out[(match["base"], int(match["view"]))] = path
    return out


def _subject(base: str, root: Path) -> str:
    match = _BASE_RE.match(base)
    if not match:
        raise Pain3DError(f"{root}: split CSV base {base!r} is not {{subject}}_pain_{{j}} or {{subject}}_neutral")
    return match["subject"]


def _split_csv(root: Path, given: str | Path | None) -> Path:
    if given is not None:
        return Path(given)
    if (root / "splits.csv").is_file():
        return root / "splits.csv"
    found = sorted(root.glob("*.csv"))
    if len(found) != 1:
        raise Pain3DError(f"{root}: {len(found)} CSV files; name the split CSV (annotation_base_name,split)")
    return found[0]


def _read_split_csv(path: Path) -> dict[str, str]:
    """annotation_base_name -> split name."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError) as err:
        raise Pain3DError(f"{path}: cannot read the split CSV ({err})") from None
    out = {}
    for line, row in enumerate(rows, start=2):
        base, code = (row.get("annotation_base_name") or "").strip(), (row.get("split") or "").strip()
        if not base or code not in _SPLIT_NAMES:
            raise Pain3DError(f"{path}:{line}: needs annotation_base_name and split 0 (train), 1 (val) or 2 (test)")
        out[base] = _SPLIT_NAMES[code]
    return out


def _release_heatmap(root: Path, base: str) -> Path | None:
    return next((h for h in (root / "heatmaps" / f"{base}{s}" for s in IMAGE_SUFFIXES) if h.is_file()), None)


def _release_labels(root: Path, base: str, neutral: bool) -> tuple[dict[str, float], float]:
    """AUs and PSPI of a base: its annotations file, or all zero for a neutral face."""
    if neutral:
        return {k: 0.0 for k in AU_KEYS}, 0.0
    path = root / "annotations" / f"{base}_annotations.json"
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
        return facs.check_aus({k: labels[k] for k in AU_KEYS}), float(labels["PSPI"])
    except FileNotFoundError:
        raise Pain3DError(f"{path}: missing; every pain image needs its annotations") from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError, ValueError) as err:
        raise Pain3DError(f"{path}: needs numbers {', '.join(AU_KEYS)} and PSPI ({err!r})") from None
    except Pain3DError as err:
        raise Pain3DError(f"{path}: {err}") from None


# --- loading -------------------------------------------------------------------------------


def collate(samples: list[dict]) -> dict:
    """Batch items: tensors stacked, strings as lists (torch's default collate)."""
    return default_collate(samples)


class EpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of (index, augmentation seed) whose order depends only on (seed, epoch).

    `set_epoch(epoch, skip_batches=k)` before each epoch; the epoch then yields this process's
    batches from its k-th on (exact resume). With `world_size` > 1, process `rank` gets batches
    rank, rank + world_size, ... of the epoch's order (module docs). `len()` counts the batches
    still to come; `batches_per_epoch` this process's all.
    """

    def __init__(self, size: int, batch_size: int, shuffle: bool, seed: int, drop_last: bool = False,
                 rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
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
        order = rng.permutation(self.size) if self.shuffle else np.arange(self.size)
        return order, rng.integers(0, 2**62, size=self.size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order, draws = self.order(self.epoch)
        for b in range(self.skip, self.batches_per_epoch):
            start = (b * self.world_size + self.rank) * self.batch_size
            span = slice(start, start + self.batch_size)
            yield [(int(i), int(d)) for i, d in zip(order[span], draws[span])]


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

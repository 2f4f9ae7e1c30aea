"""`ThreeDPainDataset`: one split of a folder in the 3DPain release layout (pain3d/threedpain.py).

- `meshes_inpainted/{base}_view_{k}.png|jpg` with `{base}` = `{subject}_pain_{j}` or
  `{subject}_neutral`;
- `annotations/{base}_annotations.json` (AU4 AU6 AU7 AU9 AU10 AU43 PSPI; none for neutral faces,
  which are all zero);
- `heatmaps/{base}.png`, one colourised heatmap per expression, given to every view of it;
- a split CSV `annotation_base_name,split` (0 train, 1 val, 2 test).

The layout has no demographics (age NaN, strings "unknown") and no camera angles (yaw NaN unless
`view_yaws` is given).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Sequence

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from pain3d import facs, threedpain
from pain3d.dataset import NEUTRAL
from pain3d.errors import Pain3DError

from .datasets import AU_KEYS, Item, NeutralViews, PainDataset, PathSlots, check_split, identity_splits, twin_slot
from .transforms import Augment

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ThreeDPainDataset(PainDataset):
    """A folder in the 3DPain release layout, one split of it (module docs, training/datasets.py).

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
        check_split(split)
        images = _release_images(root)
        subject_split = identity_splits(
            [(_subject(base, root), s) for base, s in _read_split_csv(_split_csv(root, split_csv)).items()],
            str(root))
        image_slots, heat_slots = PathSlots(), PathSlots()
        identity = {subject: i for i, subject in enumerate(sorted({_subject(base, root) for base, _ in images}))}
        twins = {(_subject(b, root), k): p for (b, k), p in images.items() if b.endswith("_" + NEUTRAL)}
        neutral_views = NeutralViews(twins)
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
                neutral=twin_slot(image_slots, twins, (subject, k), with_neutral), aus=aus, pspi=pspi,
                yaw=float(view_yaws[k]) if view_yaws is not None and k < len(view_yaws) else math.nan,
                view_index=k, neutral_others=neutral_views.others(image_slots, subject, k, with_neutral)))
        super().__init__(items, image_slots.paths, heat_slots.paths, image_size=image_size, augment=augment,
                         with_neutral=with_neutral, cache=cache, mean=mean, std=std,
                         heatmap_colors=heatmap_colors, where=f"{root} ({split or 'all splits'})")


def _release_images(root: Path) -> dict[tuple[str, int], Path]:
    """(base, view index) -> image path of meshes_inpainted/."""
    folder = root / threedpain.IMAGES_DIR
    if not folder.is_dir():
        raise Pain3DError(f"{root}: no meshes_inpainted/ folder; not a 3DPain-layout dataset")
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        match = threedpain.IMAGE_RE.match(path.stem)
        if not match or not threedpain.BASE_RE.match(match["base"]):
            raise Pain3DError(f"{path}: not named {{subject}}_pain_{{j}}_view_{{k}} or {{subject}}_neutral_view_{{k}}")
        out[(match["base"], int(match["view"]))] = path
    return out


def _subject(base: str, root: Path) -> str:
    match = threedpain.BASE_RE.match(base)
    if not match:
        raise Pain3DError(f"{root}: split CSV base {base!r} is not {{subject}}_pain_{{j}} or {{subject}}_neutral")
    return match["subject"]


def _split_csv(root: Path, given: str | Path | None) -> Path:
    if given is not None:
        return Path(given)
    if (root / threedpain.SPLITS_FILE).is_file():
        return root / threedpain.SPLITS_FILE
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
        if not base or code not in threedpain.SPLIT_NAMES:
            raise Pain3DError(f"{path}:{line}: needs annotation_base_name and split 0 (train), 1 (val) or 2 (test)")
        out[base] = threedpain.SPLIT_NAMES[code]
    return out


def _release_heatmap(root: Path, base: str) -> Path | None:
    return next((h for h in (root / threedpain.heatmap_path(base, s) for s in IMAGE_SUFFIXES) if h.is_file()), None)


def _release_labels(root: Path, base: str, neutral: bool) -> tuple[dict[str, float], float]:
    """AUs and PSPI of a base: its annotations file, or all zero for a neutral face."""
    if neutral:
        return {k: 0.0 for k in AU_KEYS}, 0.0
    path = root / threedpain.annotations_path(base)
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
        return facs.check_aus({k: labels[k] for k in AU_KEYS}), float(labels[threedpain.PSPI_KEY])
    except FileNotFoundError:
        raise Pain3DError(f"{path}: missing; every pain image needs its annotations") from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError, ValueError) as err:
        raise Pain3DError(f"{path}: needs numbers {', '.join(AU_KEYS)} and PSPI ({err!r})") from None
    except Pain3DError as err:
        raise Pain3DError(f"{path}: {err}") from None

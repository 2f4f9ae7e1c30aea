"""`Pain3DDataset`: one split of a Pain3D dataset folder (docs/dataset-format.md), read through its manifest.

Rows come from `pain3d.dataset.read_manifest`, labels and demographics (age band included) from
each row; a pain image's neutral twin is the neutral row of the same identity and view, its other
neutral references (multi-shot) the identity's neutral rows at the other views.

Every image, with its heatmap (and, in `pain3d eval`, its mask), is cropped to the face as the UNBC
reader crops real faces (`face_boxes`): the square around the landmarks, 1.4 x their extent. The
box is that of the identity's neutral image at the same view, so that it does not move or grow with
the expression (a dropped jaw would otherwise widen the crop and give the label away); the camera
is the same for every expression of an identity and view. A row without a neutral twin uses its
own landmarks.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from pain3d.dataset import NEUTRAL, read_manifest, view_of
from pain3d.errors import Pain3DError

from .datasets import Item, NeutralViews, PainDataset, PathSlots, check_split, identity_splits, twin_slot
from .images import Box, face_box
from .transforms import Augment


class Pain3DDataset(PainDataset):
    """A Pain3D dataset folder (manifest.jsonl), one split of it (training/datasets.py)."""

    def __init__(self, root: str | Path, split: str | None = "train", *, image_size: int = 224,
                 augment: Augment | None = None, with_neutral: bool = False, include_neutral: bool = True,
                 cache: bool = False, mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
                 std: Sequence[float] = IMAGENET_DEFAULT_STD) -> None:
        root = Path(root)
        check_split(split)
        rows = read_manifest(root)
        identity_splits([(r["identity"], r["split"]) for r in rows], str(root))
        images, heatmaps = PathSlots(), PathSlots()
        boxes = face_boxes(root, rows)
        crops = {_path(root, r[key]): boxes[r["sample_id"]] for r in rows for key in ("image", "heatmap") if r.get(key)}
        twins = {(r["identity"], view_of(r)): _path(root, r["image"]) for r in rows if r["expression"] == NEUTRAL}
        neutral_views = NeutralViews(twins)
        items = []
        for row in sorted(rows, key=lambda r: r["sample_id"]):
            if (split and row["split"] != split) or (row["expression"] == NEUTRAL and not include_neutral):
                continue
            twin = twin_slot(images, twins, (row["identity"], view_of(row)), with_neutral)
            others = neutral_views.others(images, row["identity"], view_of(row), with_neutral)
            items.append(_manifest_item(root, row, images, heatmaps, twin, others))
        super().__init__(items, images.paths, heatmaps.paths, image_size=image_size, augment=augment,
                         with_neutral=with_neutral, cache=cache, mean=mean, std=std, heatmap_colors="jet",
                         where=f"{root} ({split or 'all splits'})", crops=[crops[p] for p in images.paths],
                         heatmap_crops=[crops[p] for p in heatmaps.paths])


def face_boxes(root: Path, rows: Sequence[dict]) -> dict[str, Box]:
    """sample_id -> face crop of each row: `face_box` of the landmarks of the identity's neutral row at
    the same view, or of the row's own when it has no neutral twin (module docs)."""
    neutral = {(r["identity"], view_of(r)): face_box(_landmarks(root, r)) for r in rows if r["expression"] == NEUTRAL}
    return {r["sample_id"]: neutral.get((r["identity"], view_of(r))) or face_box(_landmarks(root, r)) for r in rows}


def _landmarks(root: Path, row: dict) -> np.ndarray:
    """A row's 2-D landmarks, listed in the row or in the JSON file it names (pain3d validate checks both)."""
    points = row.get("landmarks")
    try:
        if isinstance(points, str):
            points = json.loads(_path(root, points).read_text(encoding="utf-8"))
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2 or not len(points) or not np.isfinite(points).all():
            raise ValueError(f"shape {points.shape}")
    except (OSError, ValueError, TypeError) as err:
        raise Pain3DError(f"{root}: manifest row {row.get('sample_id', '?')}: landmarks unreadable ({err}); "
                          f"allowed: [x, y] pixel points; check the dataset with 'pain3d validate'") from None
    return points


def _manifest_item(root: Path, row: dict, images: PathSlots, heatmaps: PathSlots, twin: int | None,
                   others: tuple[int, ...]) -> Item:
    try:
        return Item(
            sample_id=row["sample_id"], identity=row["identity"], expression=row["expression"], split=row["split"],
            image=images(_path(root, row["image"])),
            heatmap=heatmaps(_path(root, row["heatmap"])) if row.get("heatmap") else None,
            neutral=twin, aus=dict(row["aus"]), pspi=float(row["pspi"]), yaw=float(row["view"]["yaw"]),
            view_index=int(row.get("view_index", 0)), age=float(row["age"]),
            age_band=row["age_band"], sex=row["sex"], ethnicity=row["ethnicity"],
            skin_tone=float(row["skin_tone"]), neutral_others=others)
    except (KeyError, TypeError, ValueError) as err:
        raise Pain3DError(f"{root}: manifest row {row.get('sample_id', '?')} is incomplete ({err!r}); "
                          f"check the dataset with 'pain3d validate'") from None


def _path(root: Path, rel: str) -> Path:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        raise Pain3DError(f"{root}: manifest path {rel!r} leaves the dataset folder")
    return root / pure

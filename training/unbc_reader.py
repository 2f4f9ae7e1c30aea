"""`UnbcDataset`: the UNBC-McMaster Shoulder Pain Expression Archive as its distributor ships it (docs/unbc.md).

The layout (ARCHIVE/...; `<subject>` like `042-ll042`, `<sequence>` like `ll042t1aaaff`, `<frame>`
like `ll042t1aaaff001`):

| path | content |
| --- | --- |
| `Images/<subject>/<sequence>/<frame>.png` | the video frame |
| `Frame_Labels/PSPI/<subject>/<sequence>/<frame>_facs.txt` | one number: the frame's PSPI, 0-16 |
| `Frame_Labels/FACS/<subject>/<sequence>/<frame>_facs.txt` | a row per coded AU: number, intensity, ... |
| `AAM_landmarks/<subject>/<sequence>/<frame>_aam.txt` | 66 lines `x y`: the AAM landmarks in pixels |
| `Sequence_Labels/...` | sequence-level self-report and observer scores (not read) |

Each frame is an item: identity = the subject's index in the archive's sorted subjects,
expression = the sequence, AUs = the six PSPI AUs of the FACS file (AU43, eye closure, is coded
without an intensity: listed means 1), PSPI = the PSPI file. The image is a square crop around
the frame's landmarks (`face_box`). There are no heatmaps, camera angles or demographics.

The archive has no splits: `subject_split` (subject -> "train", "val" or "test", training/folds.py)
says which subjects a split holds. The neutral reference of a frame (`with_neutral`) is a PSPI = 0
frame of the same subject: the first of the same sequence, else the subject's first; its other
neutral references (multi-shot) are the first PSPI = 0 frames of the subject's other sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from pain3d import facs
from pain3d.errors import Pain3DError

from .datasets import AU_KEYS, Item, PainDataset, PathSlots, check_split
from .images import face_box
from .transforms import Augment

IMAGES = "Images"
PSPI_LABELS = "Frame_Labels/PSPI"
FACS_LABELS = "Frame_Labels/FACS"
LANDMARKS = "AAM_landmarks"
FOLDERS = (IMAGES, PSPI_LABELS, FACS_LABELS, LANDMARKS)
LABEL_SUFFIX = "_facs.txt"  # the PSPI and the FACS file of a frame share this name
LANDMARK_SUFFIX = "_aam.txt"
IMAGE_SUFFIX = ".png"
N_LANDMARKS = 66
BINARY_AUS = {"AU43"}  # coded as present or absent; the intensity column carries no level


@dataclass(frozen=True)
class Frame:
    """One labelled frame of the archive."""

    subject: str
    sequence: str
    stem: str
    image: Path
    aus: dict[str, float]
    pspi: float
    box: tuple[int, int, int, int]  # face crop: left, top, right, bottom (pixels; may leave the frame)


class UnbcDataset(PainDataset):
    """One split of the UNBC-McMaster archive (module docs, training/datasets.py)."""

    def __init__(self, root: str | Path, subject_split: Mapping[str, str] | None, split: str | None = "train", *,
                 image_size: int = 224, augment: Augment | None = None, with_neutral: bool = False,
                 cache: bool = False, mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
                 std: Sequence[float] = IMAGENET_DEFAULT_STD) -> None:
        root = Path(root)
        check_split(split)
        subjects = archive_subjects(root)
        if split is not None and subject_split is None:
            raise Pain3DError(f"unbc:{root}: the archive has no fixed splits; train with --fold K "
                              f"(pain3d train) or evaluate a run trained on it")
        chosen = [s for s in subjects if split is None or (subject_split or {}).get(s) == split]
        images, items, boxes = PathSlots(), [], []
        for subject in chosen:
            frames = read_subject(root, subject)
            neutral = ({seq: _slot(images, boxes, f) for seq, f in _neutral_frames(frames).items()}
                       if with_neutral else {})
            if with_neutral and not neutral:
                raise Pain3DError(f"unbc:{root}: subject {subject} has no frame with PSPI 0 in {PSPI_LABELS}/; "
                                  f"a neutral reference needs one (allowed: model.neutral_reference = false)")
            for frame in frames:
                twin = neutral.get(frame.sequence, neutral.get(None))
                others = tuple(slot for seq, slot in neutral.items() if seq is not None and slot != twin)
                items.append(_item(frame, subjects.index(subject), (subject_split or {}).get(subject, "all"),
                                   _slot(images, boxes, frame), twin, others))
        super().__init__(items, images.paths, [], image_size=image_size, augment=augment, with_neutral=with_neutral,
                         cache=cache, mean=mean, std=std, heatmap_colors="hot",
                         where=f"unbc:{root} ({split or 'all subjects'})", crops=boxes)


def archive_subjects(root: Path) -> list[str]:
    """The subject folders of Images/, sorted; one-line errors unless ROOT has the archive's layout."""
    for folder in FOLDERS:
        if not (root / folder).is_dir():
            raise Pain3DError(f"unbc:{root}: no {folder}/ folder; the UNBC-McMaster archive as distributed has "
                              f"{', '.join(f + '/' for f in FOLDERS)}")
    subjects = sorted(p.name for p in (root / IMAGES).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subjects:
        raise Pain3DError(f"unbc:{root}: {IMAGES}/ holds no subject folders "
                          f"({IMAGES}/<subject>/<sequence>/<frame>.png)")
    return subjects


def read_subject(root: Path, subject: str) -> list[Frame]:
    """Every frame of a subject, sequences and frames in name order, with labels and face box."""
    frames = []
    for sequence in sorted(p for p in (root / IMAGES / subject).iterdir() if p.is_dir()):
        for image in sorted(sequence.glob(f"*{IMAGE_SUFFIX}")):
            rel = Path(subject, sequence.name, image.stem)
            frames.append(Frame(subject, sequence.name, image.stem, image,
                                read_facs(root / FACS_LABELS / f"{rel}{LABEL_SUFFIX}"),
                                read_pspi(root / PSPI_LABELS / f"{rel}{LABEL_SUFFIX}"),
                                face_box(read_landmarks(root / LANDMARKS / f"{rel}{LANDMARK_SUFFIX}"))))
    return frames


def read_pspi(path: Path) -> float:
    """A PSPI label file: one number, 0 to 16."""
    text = _text(path, "PSPI label")
    try:
        value = float(text)
    except ValueError:
        raise Pain3DError(f"{path}: PSPI = {text.strip()[:40]!r}: allowed: one number, 0 to {facs.PSPI_MAX}") from None
    if not 0 <= value <= facs.PSPI_MAX:
        raise Pain3DError(f"{path}: PSPI = {value:g}: out of range; allowed: 0 to {facs.PSPI_MAX}")
    return value


def read_facs(path: Path) -> dict[str, float]:
    """The six PSPI AUs of a FACS file (absent: 0); other AUs are skipped."""
    aus = {key: 0.0 for key in AU_KEYS}
    for n, line in enumerate(_text(path, "FACS label").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            number, intensity = int(float(fields[0])), float(fields[1])
        except (ValueError, IndexError):
            raise Pain3DError(f"{path}:{n}: {line.strip()[:40]!r}: allowed: AU number and intensity, "
                              f"then optional columns") from None
        key = f"AU{number}"
        if key in aus:
            value = 1.0 if key in BINARY_AUS else intensity
            try:
                aus[key] = facs.check_intensity(key, value)
            except Pain3DError as err:
                raise Pain3DError(f"{path}:{n}: {err}") from None
    return aus


def read_landmarks(path: Path) -> np.ndarray:
    """(66, 2) landmarks, x then y, in pixels."""
    text = _text(path, "AAM landmark")
    try:
        points = np.array([[float(v) for v in line.split()] for line in text.splitlines() if line.strip()])
    except ValueError as err:
        raise Pain3DError(f"{path}: not numbers ({err}); allowed: {N_LANDMARKS} lines 'x y'") from None
    if points.shape != (N_LANDMARKS, 2) or not np.isfinite(points).all():
        raise Pain3DError(f"{path}: {points.shape[0] if points.ndim else 0} rows of "
                          f"{points.shape[1] if points.ndim == 2 else '?'} values; allowed: {N_LANDMARKS} lines 'x y'")
    return points


def _text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Pain3DError(f"{path}: missing; every frame of {IMAGES}/ needs its {what} file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise Pain3DError(f"{path}: cannot read the {what} file ({err})") from None


def _neutral_frames(frames: list[Frame]) -> dict[str | None, Frame]:
    """sequence -> its first PSPI = 0 frame, and None -> the subject's first (module docs)."""
    out: dict[str | None, Frame] = {}
    for frame in frames:
        if frame.pspi == 0:
            out.setdefault(frame.sequence, frame)
            out.setdefault(None, frame)
    return out


def _slot(images: PathSlots, boxes: list[tuple[int, int, int, int]], frame: Frame) -> int:
    slot = images(frame.image)
    if slot == len(boxes):
        boxes.append(frame.box)
    return slot


def _item(frame: Frame, identity: int, split: str, image: int, neutral: int | None, others: tuple[int, ...]) -> Item:
    return Item(sample_id=frame.stem, identity=identity, expression=frame.sequence, split=split, image=image,
                heatmap=None, neutral=neutral, aus=frame.aus, pspi=frame.pspi, yaw=float("nan"), view_index=0,
                neutral_others=others)

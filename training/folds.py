"""Subject-wise k-fold splits of a dataset without fixed splits (the UNBC-McMaster archive), and RUN/folds.json.

`make_folds(subjects, k, seed)`: the subjects, shuffled by `seed`, dealt into k folds (sizes differ
by at most one). `fold_split(subjects, data_config)`: fold `data.fold` is the test fold; of the
other folds' subjects, `data.val_fraction` (at least one, and never all) are drawn, seeded by
(`data.fold_seed`, fold), as the validation subjects that pick the best checkpoint; the rest train.
Every subject is in exactly one fold, so over the k folds each subject is tested exactly once.

A run trained on such a split records it in RUN/folds.json (`save_split`), which is what
`pain3d eval` and `pain3d cv` read back (`read_split`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_text

FOLDS_FILE = "folds.json"
FOLDS_FORMAT = "pain3d-folds"
FOLDS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class FoldSplit:
    """Fold `fold` of `folds` (each fold's test subjects): its test, validation and training subjects."""

    folds: tuple[tuple[str, ...], ...]
    fold: int
    seed: int
    val: tuple[str, ...]

    @property
    def test(self) -> tuple[str, ...]:
        return self.folds[self.fold]

    @property
    def train(self) -> tuple[str, ...]:
        held = set(self.test) | set(self.val)
        return tuple(sorted(s for fold in self.folds for s in fold if s not in held))

    def subject_split(self) -> dict[str, str]:
        """subject -> "train", "val" or "test"."""
        return ({s: "train" for s in self.train} | {s: "val" for s in self.val}
                | {s: "test" for s in self.test})

    def to_json(self) -> dict:
        return {"format": FOLDS_FORMAT, "format_version": FOLDS_FORMAT_VERSION, "seed": self.seed,
                "fold": self.fold, "folds": [list(f) for f in self.folds], "test": list(self.test),
                "val": list(self.val), "train": list(self.train)}


def make_folds(subjects: Sequence[str], k: int, seed: int) -> tuple[tuple[str, ...], ...]:
    """The subjects dealt into k folds after a seeded shuffle (each fold's subjects sorted)."""
    ordered = sorted(subjects)
    if not 2 <= k <= len(ordered):
        raise Pain3DError(f"data.folds = {k}: allowed: 2 to {len(ordered)} (the number of subjects)")
    order = np.random.default_rng(seed).permutation(len(ordered))
    return tuple(tuple(sorted(ordered[i] for i in order[j::k])) for j in range(k))


def fold_split(subjects: Sequence[str], data: dict) -> FoldSplit:
    """The split of fold `data["fold"]` (module docs); one-line errors for a fold out of range."""
    k, fold, seed = data["folds"], data["fold"], data["fold_seed"]
    folds = make_folds(subjects, k, seed)
    if not 0 <= fold < k:
        raise Pain3DError(f"data.fold = {fold} (--fold): out of range; allowed: 0 to {k - 1} ({k} folds)")
    rest = sorted(s for f in folds for s in f if s not in folds[fold])
    if len(rest) < 2:
        raise Pain3DError(f"data.folds = {k}: fold {fold} leaves {len(rest)} subject(s) to train and validate on; "
                          f"allowed: at least 2 (use fewer folds)")
    n_val = min(len(rest) - 1, max(1, round(data["val_fraction"] * len(rest))))
    val = np.random.default_rng([seed, fold]).choice(rest, n_val, replace=False)
    return FoldSplit(folds, fold, seed, tuple(sorted(str(s) for s in val)))


def save_split(run: Path, split: FoldSplit) -> None:
    """Write RUN/folds.json; Pain3DError when the run already holds a different split (the subjects changed)."""
    path = Path(run) / FOLDS_FILE
    if path.is_file() and read_split(run) != split:
        raise Pain3DError(f"{path}: this run was trained on other subjects than the archive now holds; "
                          f"choose a new --out")
    atomic_write_text(path, json.dumps(split.to_json(), indent=2) + "\n")


def read_split(run: Path) -> FoldSplit:
    """The split a run was trained on (its folds.json)."""
    path = Path(run) / FOLDS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("format") != FOLDS_FORMAT:
            raise ValueError(f"format is {record.get('format')!r}, not {FOLDS_FORMAT!r}")
        folds = tuple(tuple(str(s) for s in f) for f in record["folds"])
        return FoldSplit(folds, int(record["fold"]), int(record["seed"]), tuple(str(s) for s in record["val"]))
    except FileNotFoundError:
        raise Pain3DError(f"{path}: missing; a UNBC run is evaluated from its run folder, trained with "
                          f"pain3d train --data unbc:PATH --fold K") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise Pain3DError(f"{path}: unreadable ({err})") from None

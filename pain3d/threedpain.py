"""The layout of the 3DPain release (arXiv 2509.16727), which its training code reads: the one
definition that `pain3d export --layout 3dpain` writes and the training's 3DPain reader reads.

- `meshes_inpainted/{base}_view_{k:03d}.png` (the release also has .jpg), with `{base}` =
  `{subject}_pain_{j}` (j = 1, 2, ... over the subject's pain expressions) or `{subject}_neutral`;
- `annotations/{base}_annotations.json`: AU4 AU6 AU7 AU9 AU10 AU43 and PSPI (none for neutral faces);
- `heatmaps/{base}.png`: a colourised heatmap of the most frontal view;
- `splits.csv`: `annotation_base_name,split` with split 0 train, 1 val, 2 test.
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGES_DIR = "meshes_inpainted"
ANNOTATIONS_DIR = "annotations"
HEATMAPS_DIR = "heatmaps"
SPLITS_FILE = "splits.csv"
SPLIT_COLUMNS = ("annotation_base_name", "split")
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
SPLIT_NAMES = {str(code): name for name, code in SPLIT_CODES.items()}
PSPI_KEY = "PSPI"  # beside the AU keys in an annotations file
IMAGE_RE = re.compile(r"^(?P<base>.+)_view_(?P<view>\d+)$")
BASE_RE = re.compile(r"^(?P<subject>.+?)_(?:neutral|pain_\d+)$")


def base_name(subject: str, pain_index: int | None) -> str:
    """`{subject}_neutral`, or `{subject}_pain_{j}` for the subject's j-th pain expression (from 1)."""
    return f"{subject}_neutral" if pain_index is None else f"{subject}_pain_{pain_index}"


def image_path(base: str, view_index: int) -> Path:
    return Path(IMAGES_DIR) / f"{base}_view_{view_index:03d}.png"


def annotations_path(base: str) -> Path:
    return Path(ANNOTATIONS_DIR) / f"{base}_annotations.json"


def heatmap_path(base: str, suffix: str = ".png") -> Path:
    return Path(HEATMAPS_DIR) / f"{base}{suffix}"

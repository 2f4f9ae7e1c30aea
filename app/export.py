"""Export a Pain3D dataset to other layouts (`pain3d export --layout NAME DATA OUT`).

- `3dpain`: the layout of the 3DPain release (`pain3d.threedpain`), each identity a subject
  `{prefix}_{identity:04d}`; heatmaps are the colourised ones of the most frontal view.
- `imagefolder`: Hugging Face `datasets.load_dataset("imagefolder", data_dir=OUT)`: one folder per
  split (`train`, `validation`, `test`) holding the images and a `metadata.jsonl` whose columns are
  the labels (AUs, PSPI, view, demographics, identity, expression).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

from pain3d import facs, threedpain
from pain3d.dataset import NEUTRAL, read_manifest, view_of
from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_text, dumps_json

LAYOUTS = ("3dpain", "imagefolder")
HF_SPLIT_DIRS = {"train": "train", "val": "validation", "test": "test"}


def export(data_dir: str | Path, out_dir: str | Path, layout: str, prefix: str = "pain3d") -> int:
    """Write the dataset in `layout` under out_dir; returns the number of images exported."""
    if layout not in LAYOUTS:
        raise Pain3DError(f"--layout {layout}: unknown; allowed: {', '.join(LAYOUTS)}")
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    rows = read_manifest(data_dir)
    if not rows:
        raise Pain3DError(f"{data_dir}: the manifest has no rows to export")
    if out_dir.resolve() == data_dir.resolve():
        raise Pain3DError(f"{out_dir}: export into a different folder than the dataset")
    if layout == "3dpain":
        return _export_3dpain(data_dir, out_dir, rows, prefix)
    return _export_imagefolder(data_dir, out_dir, rows)


def threedpain_bases(rows: list[dict], prefix: str) -> dict[tuple[int, str], str]:
    """(identity, expression) -> 3DPain base name, pain expressions numbered from 1 per identity."""
    bases: dict[tuple[int, str], str] = {}
    counters: dict[int, int] = {}
    for row in sorted(rows, key=lambda r: (r["identity"], r["sample_id"])):
        key = (row["identity"], row["expression"])
        if key in bases:
            continue
        pain_index = None
        if row["expression"] != NEUTRAL:
            pain_index = counters[row["identity"]] = counters.get(row["identity"], 0) + 1
        bases[key] = threedpain.base_name(f"{prefix}_{row['identity']:04d}", pain_index)
    return bases


def _export_3dpain(data_dir: Path, out: Path, rows: list[dict], prefix: str) -> int:
    bases = threedpain_bases(rows, prefix)
    views = sorted({view_of(r) for r in rows})
    view_index = {v: k for k, v in enumerate(views)}
    frontal = min(views, key=lambda v: abs(v[0]) + abs(v[1]))
    for row in rows:
        base = bases[(row["identity"], row["expression"])]
        _link(data_dir / row["image"], out / threedpain.image_path(base, view_index[view_of(row)]))
        if row["expression"] == NEUTRAL:
            continue
        labels = {k: float(facs.effective_intensity(row["aus"], k)) for k in facs.PSPI_AUS}
        labels[threedpain.PSPI_KEY] = float(row["pspi"])
        atomic_write_text(out / threedpain.annotations_path(base), json.dumps(labels, indent=2) + "\n")
        heatmap = row.get("heatmap_color") or row.get("heatmap")
        if view_of(row) == frontal and heatmap:
            _link(data_dir / heatmap, out / threedpain.heatmap_path(base))
    split_rows = sorted({(bases[(r["identity"], r["expression"])], threedpain.SPLIT_CODES[r["split"]]) for r in rows})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(threedpain.SPLIT_COLUMNS)
    writer.writerows(split_rows)
    atomic_write_text(out / threedpain.SPLITS_FILE, buffer.getvalue())
    return len(rows)


def _export_imagefolder(data_dir: Path, out: Path, rows: list[dict]) -> int:
    by_split: dict[str, list[str]] = {}
    for row in rows:
        folder = HF_SPLIT_DIRS[row["split"]]
        name = f"{row['sample_id']}.png"
        _link(data_dir / row["image"], out / folder / name)
        labels = {"file_name": name, "sample_id": row["sample_id"], "identity": row["identity"],
                  "expression": row["expression"], "yaw": row["view"]["yaw"], "pitch": row["view"]["pitch"]}
        labels.update({k: float(facs.effective_intensity(row["aus"], k)) for k in facs.PSPI_AUS})
        labels.update({"pspi": float(row["pspi"]), "age": row["age"], "sex": row["sex"],
                       "ethnicity": row["ethnicity"], "skin_tone": row["skin_tone"]})
        by_split.setdefault(folder, []).append(dumps_json(labels))
    for folder, lines in by_split.items():
        atomic_write_text(out / folder / "metadata.jsonl", "\n".join(lines) + "\n")
    return len(rows)


def _link(src: Path, dst: Path) -> None:
    """Hard-link when the file system allows (datasets are large), else copy; never half a file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)

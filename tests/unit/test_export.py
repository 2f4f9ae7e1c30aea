"""Exports: the 3DPain release layout (read back by a loader written to its description) and
the Hugging Face imagefolder layout (read back by `datasets`)."""

import csv
import json
from pathlib import Path

import pytest

from pain3d import dataset
from pain3d.app.export import export
from tests.conftest import run_cli
from tests.sample_data import build_dataset


def load_3dpain(root: Path) -> dict:
    """A loader written from the 3DPain release description (not from our exporter)."""
    samples = {}
    splits = {r["annotation_base_name"]: int(r["split"]) for r in csv.DictReader(open(root / "splits.csv"))}
    for image in sorted((root / "meshes_inpainted").iterdir()):
        base, _, view = image.stem.rpartition("_view_")
        subject = base.split("_pain_")[0].split("_neutral")[0]
        ann = root / "annotations" / f"{base}_annotations.json"
        labels = json.loads(ann.read_text()) if ann.exists() else {k: 0.0 for k in
                                                                   ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43", "PSPI")}
        samples[image.name] = {"subject": subject, "view": int(view), "labels": labels, "split": splits[base],
                               "neutral": base.endswith("_neutral")}
    return samples


def test_3dpain_layout(tmp_path):
    rows = build_dataset(tmp_path / "DATA")
    assert export(tmp_path / "DATA", tmp_path / "OUT", "3dpain", prefix="p3d") == len(rows)
    samples = load_3dpain(tmp_path / "OUT")
    assert len(samples) == len(rows)
    assert "p3d_0000_neutral_view_000.png" in samples and "p3d_0002_pain_2_view_001.png" in samples
    by_subject = {}
    for name, s in samples.items():
        by_subject.setdefault(s["subject"], set()).add(s["split"])
        assert set(s["labels"]) == {"AU4", "AU6", "AU7", "AU9", "AU10", "AU43", "PSPI"}
    assert all(len(splits) == 1 for splits in by_subject.values())  # identity-disjoint
    # labels match the manifest
    for row in rows:
        if row["expression"] == "neutral":
            continue
        j = 1 + sorted({r["expression"] for r in rows if r["identity"] == row["identity"]} - {"neutral"}).index(
            row["expression"])
        base = f"p3d_{row['identity']:04d}_pain_{j}"
        labels = json.loads((tmp_path / "OUT" / "annotations" / f"{base}_annotations.json").read_text())
        assert labels["PSPI"] == row["pspi"] and labels["AU4"] == row["aus"]["AU4"]
        assert (tmp_path / "OUT" / "heatmaps" / f"{base}.png").exists()
    assert not list((tmp_path / "OUT" / "annotations").glob("*neutral*"))


def test_imagefolder_layout_loads_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = build_dataset(tmp_path / "DATA")
    export(tmp_path / "DATA", tmp_path / "HF", "imagefolder")
    loaded = datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "HF"))
    total = sum(len(loaded[s]) for s in loaded)
    assert total == len(rows)
    first = loaded[next(iter(loaded))][0]
    for column in ("image", "pspi", "AU4", "AU43", "identity", "expression", "yaw", "age", "sex", "ethnicity"):
        assert column in first
    by_id = {r["sample_id"]: r for r in rows}
    for split in loaded:
        for item in loaded[split]:
            assert item["pspi"] == by_id[item["sample_id"]]["pspi"]


def test_export_cli_errors(tmp_path):
    build_dataset(tmp_path / "DATA")
    bad = run_cli("export", "--layout", "coco", str(tmp_path / "DATA"), str(tmp_path / "OUT"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    same = run_cli("export", "--layout", "3dpain", str(tmp_path / "DATA"), str(tmp_path / "DATA"))
    assert same.returncode == 2 and "different folder" in same.stderr
    ok = run_cli("export", "--layout", "3dpain", str(tmp_path / "DATA"), str(tmp_path / "OUT"))
    assert ok.returncode == 0 and dataset.validate(tmp_path / "DATA").ok

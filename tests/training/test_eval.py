"""`pain3d eval` and `pain3d predict` on a tiny trained baseline (vit_tiny, 2 blocks, 32x32)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pain3d.dataset import MASK_CLASSES
from tests.training.test_train import assert_one_line_error, cli, read_csv, train_run, without_split, write_config
from pain3d.training.checkpoint import load_model
from pain3d.training.datasets import AU_KEYS
from pain3d.training.evaluate import predict_split
from pain3d.training.loader import open_split

HEADLINE = ("format", "split", "n_images", "n_identities", "bootstrap", "pspi", "aus", "pain", "explainability",
            "groups", "notes")


@pytest.fixture(scope="module")
def run(tiny_pain3d: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("eval_run")
    return train_run(tiny_pain3d, "baseline", write_config(folder), folder / "run", "--max-steps", "3")


def evaluate(run: Path, data: Path, *flags: str | Path):
    return cli("eval", "--run", run, "--data", data, "--bootstrap", "20", "--workers", "0", *flags)


def test_eval_writes_the_report(run: Path, tiny_pain3d: Path):
    result = evaluate(run, tiny_pain3d)
    assert result.exit_code == 0, result.output
    folder = run / "eval-test"
    report = json.loads((folder / "report.json").read_text())
    assert set(HEADLINE) <= set(report) and report["split"] == "test" and report["n_images"] == 6
    assert report["pspi"]["mae"]["value"] >= 0 and set(report["aus"]) == set(AU_KEYS)
    assert report["pain"]["pspi_ge_1"]["threshold_source"] == "val"
    assert report["explainability"]["n_images"] == 4  # the test identity's pain images; neutral ones have no heatmap
    assert {g["group"] for g in report["groups"]["view"]} == {"-30", "30"}
    rows = read_csv(folder / "predictions.csv")
    assert len(rows) == 6 and {r["split"] for r in rows} == {"test"}
    pain = [r for r in rows if float(r["pspi_true"]) > 0]
    assert all(0 <= float(r["attention_auc"]) <= 1 for r in pain)
    for name in ("report.html", "report.md", "overlays.png", "scatter.png", "calibration.png"):
        assert (folder / name).stat().st_size > 0
    assert "overlays.png" in (folder / "report.html").read_text()


def test_eval_without_val_and_on_an_empty_split(run: Path, tiny_pain3d: Path, tmp_path: Path):
    data = without_split(tiny_pain3d, "val", tmp_path)
    result = evaluate(run, data, "--out", tmp_path / "report", "--checkpoint", "last")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["pain"]["pspi_ge_1"]["threshold_source"] == "test"
    assert_one_line_error(evaluate(run, data, "--split", "val"), "no images in this split")


def test_eval_on_the_3dpain_layout(run: Path, tiny_3dpain: Path, tmp_path: Path):
    result = evaluate(run, tiny_3dpain, "--out", tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "report" / "report.json").read_text())["n_images"] == 6


def test_face_masks_limit_the_attention_score(run: Path, tiny_pain3d: Path, tmp_path: Path):
    """With a mask, pixels outside the face do not count: a face of the heatmap's left half changes the AUC."""
    data = tiny_pain3d
    model, _ = load_model(run)
    dataset = open_split(data, "test", model.build_args["image_size"])
    mask = np.full((64, 64), MASK_CLASSES["background"], np.uint8)
    mask[:, :32] = MASK_CLASSES["skin"]
    Image.fromarray(mask).save(tmp_path / "mask.png")
    masks = {item.sample_id: tmp_path / "mask.png" for item in dataset.items}
    plain, _ = predict_split(model, dataset, "test", "cpu")
    masked, attention = predict_split(model, dataset, "test", "cpu", masks=masks)
    pain = plain.pspi_true > 0
    assert attention.shape == (6, 2, 2)
    assert np.isfinite(masked.attention_auc[pain]).all() and np.isnan(masked.attention_auc[~pain]).all()
    assert not np.allclose(plain.attention_auc[pain], masked.attention_auc[pain])


def test_predict_prints_pspi_and_aus(run: Path, tiny_pain3d: Path):
    images = sorted((tiny_pain3d / "images").glob("*.png"))[:2]
    result = cli("predict", "--run", run, *images)
    assert result.exit_code == 0, result.output
    header, *rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert header[:8] == ["image", "PSPI", *AU_KEYS] and len(rows) == 2
    assert [row[0] for row in rows] == [str(p) for p in images]
    assert all(0 <= float(row[1]) <= 16 for row in rows)


def test_predict_refuses_a_teacher(tiny_pain3d: Path, tmp_path: Path):
    teacher = train_run(tiny_pain3d, "teacher", write_config(tmp_path), tmp_path / "t", "--max-steps", "1")
    image = next((tiny_pain3d / "images").glob("*.png"))
    assert_one_line_error(cli("predict", "--run", teacher, image), "a teacher reads pain heatmaps")
    assert_one_line_error(cli("predict", "--run", tmp_path / "nothing", image), "no such checkpoint")

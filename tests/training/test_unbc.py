"""The UNBC-McMaster protocol on a stand-in archive (tests/training/unbc_archive.py): the reader, subject-wise
folds, neutral references, weighted sampling, train-calibrated F1, `pain3d cv` end to end, `--init`, and
one-line errors.

Real torch and timm: vit_tiny with 1 block at 32x32, a few steps. The archive has 5 subjects x 2
sequences x 4 frames; with 5 folds each fold tests 1 subject, validates on 1 and trains on 3.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from pain3d import facs
from pain3d.training.checkpoint import load_model
from pain3d.training.config import load_config
from pain3d.training.eval_report import Predictions, evaluate
from pain3d.training.evaluate import predict_split
from pain3d.training.folds import fold_split, make_folds
from pain3d.training.images import load_rgb
from pain3d.training.loader import for_run, for_training, open_split
from pain3d.training.metrics import best_f1_threshold
from pain3d.training.sampler import EpochBatchSampler, sampling_weights
from pain3d.training.train import Trainer, start_processes
from pain3d.training.images import face_box
from pain3d.training.unbc_reader import UnbcDataset, read_landmarks
from tests.conftest import REPO
from tests.docs.test_docs import environment, run_page
from tests.training.test_train import assert_one_line_error, cli
from tests.training.unbc_archive import subject_names, write_archive

TINY = """
[model]
backbone = "vit_tiny_patch16_224"
image_size = 32
depth = 1
drop_path = 0.0
[data]
workers = 0
augment = false
[optim]
epochs = 1
batch_size = 8
lr = 1e-3
warmup_steps = 1
[run]
log_every = 1
tensorboard = false
"""
SUBJECTS = subject_names(5)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_archive(tmp_path_factory.mktemp("unbc") / "archive")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def cv_out(archive: Path, tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cv") / "cv"
    result = cli("cv", "--data", f"unbc:{archive}", "--folds", "5", "--out", out, "--config", tiny,
                 "--max-steps", "2", "--bootstrap", "20")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "5 folds: PSPI MAE" in result.stdout
    return out


def frame_file(archive: Path, folder: str, sample_id: str, suffix: str) -> Path:
    return next((archive / folder).glob(f"*/*/{sample_id}{suffix}"))


def test_reader_reads_frames_labels_and_face_crops(archive: Path):
    data = UnbcDataset(archive, None, None, image_size=32)
    assert len(data) == 5 * 2 * 4 and len(data.identities) == 5
    for i, item in enumerate(data.items):
        assert item.pspi == facs.pspi(item.aus)  # AU43 listed without intensity counts 1, AU25 is skipped
        assert item.heatmap is None and math.isnan(item.yaw)
        assert data.image_paths[item.image].parent.parent.name == SUBJECTS[item.identity]
    au43 = [item for item in data.items if item.aus["AU43"] == 1]
    assert au43, "the stand-in archive lists AU43 in some frames"
    for key in ("AU4", "AU6", "AU7", "AU9", "AU10"):
        assert {item.aus[key] for item in data.items} > {0.0}  # intensities, not just presence
    item = data.items[5]
    box = face_box(read_landmarks(frame_file(archive, "AAM_landmarks", item.sample_id, "_aam.txt")))
    assert box[2] - box[0] == box[3] - box[1] > 0
    expected = load_rgb(data.image_paths[item.image], 32, box).float() / 255
    assert torch.allclose(data[5]["image"] * data.std + data.mean, expected, atol=1e-5)
    assert not torch.allclose(expected, load_rgb(data.image_paths[item.image], 32).float() / 255, atol=0.05)


def test_folds_are_subject_disjoint_and_test_every_subject_once(archive: Path):
    config = load_config(None, {"folds": 5})
    tested = []
    for fold in range(5):
        split = fold_split(SUBJECTS, {**config["data"], "fold": fold})
        parts = [set(split.train), set(split.val), set(split.test)]
        assert set().union(*parts) == set(SUBJECTS) and sum(map(len, parts)) == len(SUBJECTS)
        assert all(parts)
        tested += split.test
        source = for_training(f"unbc:{archive}", "baseline", {**config, "data": {**config["data"], "fold": fold}})
        seen = [open_split(source, s, 32).identities for s in ("train", "val", "test")]
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
        assert {SUBJECTS[i] for i in seen[2]} == set(split.test)
    assert sorted(tested) == sorted(SUBJECTS)
    assert make_folds(SUBJECTS, 5, 0) == make_folds(SUBJECTS, 5, 0) != make_folds(SUBJECTS, 5, 1)
    everyone = subject_names(25)  # the archive's count: 5 folds of 5, 4 validation subjects per fold
    for seed in range(3):
        splits = [fold_split(everyone, {**config["data"], "fold": k, "fold_seed": seed}) for k in range(5)]
        assert sorted(s for split in splits for s in split.test) == sorted(everyone)
        for split in splits:
            assert len(split.test) == 5 and len(split.val) == 4 and len(split.train) == 16
            assert set(split.train) | set(split.val) | set(split.test) == set(everyone)


def test_neutral_references_are_pspi_0_frames_of_the_same_subject(archive: Path):
    data = UnbcDataset(archive, None, None, image_size=32, with_neutral=True)
    pspi = {path: float(frame_file(archive, "Frame_Labels/PSPI", path.stem, "_facs.txt").read_text())
            for path in data.image_paths}
    for item in data.items:
        image, neutral = data.image_paths[item.image], data.image_paths[item.neutral]
        assert pspi[neutral] == 0 and neutral.parent.parent == image.parent.parent
        assert neutral.parent == image.parent  # every stand-in sequence starts neutral: the same sequence's
        others = [data.image_paths[slot] for slot in item.neutral_others]  # multi-shot: the other sequences'
        assert len(others) == 1 and pspi[others[0]] == 0
        assert others[0].parent.parent == image.parent.parent and others[0].parent != image.parent
    sample = data[3]
    assert sample["neutral_image"].shape == sample["image"].shape
    data.set_neutral_shots(2)
    assert data[3]["neutral_image"].shape == (2, *sample["image"].shape)


def test_weighted_sampling_favours_rare_pain_and_stays_seeded():
    pspi = np.array([0.0] * 90 + [1.0] * 6 + [2.0] * 3 + [9.0])
    balanced = sampling_weights(pspi, "balanced")
    shares = [balanced[(pspi >= lo) & (pspi < hi)].sum() for lo, hi in ((0, 1), (1, 2), (2, 3), (3, 17))]
    assert np.allclose(shares, shares[0])
    assert sampling_weights(pspi, "none") is None
    assert set(sampling_weights(pspi, "pain")) == {1.0, 2.0}
    sampler = EpochBatchSampler(len(pspi), 10, True, seed=4, weights=balanced)
    sampler.set_epoch(2)
    epoch = [i for batch in sampler for i, _ in batch]
    assert len(epoch) == len(pspi) and np.mean(pspi[epoch] >= 3) > 0.1  # 1 frame in 100, drawn ~ a quarter
    sampler.set_epoch(2, skip_batches=3)
    assert [i for batch in sampler for i, _ in batch] == epoch[30:]  # resumable


def predictions(scores: np.ndarray, pspi: np.ndarray, split: str) -> Predictions:
    n = len(scores)
    return Predictions(sample_id=[f"s{i}" for i in range(n)], identity=np.arange(n) % 4, split=[split] * n,
                       view=np.zeros(n), age_band=["unknown"] * n, sex=["unknown"] * n, ethnicity=["unknown"] * n,
                       pspi_true=pspi, pspi_pred=scores * 16, aus_true=np.zeros((n, 6)), aus_pred=np.zeros((n, 6)),
                       pain_prob=np.repeat(scores[:, None], 3, axis=1))


def test_f1_threshold_is_chosen_on_the_training_folds_only():
    rng = np.random.default_rng(0)
    train_pspi, train_scores = rng.integers(0, 5, 60).astype(float), rng.random(60)
    test_pspi, test_scores = rng.integers(0, 5, 20).astype(float), rng.random(20)
    calibration = predictions(train_scores, train_pspi, "train folds")
    report = evaluate(predictions(test_scores, test_pspi, "test"), calibration, n_boot=0)
    flipped = evaluate(predictions(1 - test_scores, 4 - test_pspi, "test"), calibration, n_boot=0)
    for t in facs.PAIN_THRESHOLDS:
        pain, other = report["pain"][f"pspi_ge_{t}"], flipped["pain"][f"pspi_ge_{t}"]
        threshold, _ = best_f1_threshold(train_scores, train_pspi >= t)
        assert pain["decision_threshold"] == other["decision_threshold"] == pytest.approx(threshold)
        assert pain["threshold_source"] == "train folds"
        assert pain["f1"]["value"] != other["f1"]["value"]  # the test labels change the F1, not the threshold


def test_cv_trains_and_tests_every_fold(cv_out: Path, archive: Path):
    summary = json.loads((cv_out / "summary.json").read_text())
    folds = summary["per_fold"]
    assert [f["fold"] for f in folds] == list(range(5)) and summary["calibration"] == "train folds"
    assert sorted(s for f in folds for s in f["test_subjects"]) == sorted(SUBJECTS)
    assert all(f["n_images"] == 8 for f in folds)
    mae = [f["metrics"]["PSPI MAE"] for f in folds]
    assert summary["metrics"]["PSPI MAE"]["mean"] == pytest.approx(np.mean(mae))
    assert summary["metrics"]["PSPI MAE"]["std"] == pytest.approx(np.std(mae, ddof=1))
    markdown = (cv_out / "summary.md").read_text()
    assert all(subject in markdown for subject in SUBJECTS) and "| PSPI MAE |" in markdown
    for fold in folds:
        run = cv_out / f"fold-{fold['fold']}"
        split = json.loads((run / "folds.json").read_text())
        assert split["test"] == fold["test_subjects"] and (run / "checkpoints" / "best").is_file()
        report = json.loads((run / "eval-test" / "report.json").read_text())
        assert {report["pain"][f"pspi_ge_{t}"]["threshold_source"] for t in facs.PAIN_THRESHOLDS} == {"train folds"}
        with open(run / "eval-test" / "predictions.csv", newline="") as f:
            identities = {int(row["identity"]) for row in csv.DictReader(f)}
        assert {SUBJECTS[i] for i in identities} == set(fold["test_subjects"])


def test_cv_thresholds_come_from_the_training_folds_predictions(cv_out: Path, archive: Path):
    run = cv_out / "fold-0"
    model, _ = load_model(run)
    source = for_run(f"unbc:{archive}", run)
    parts = [predict_split(model, open_split(source, s, 32), s, torch.device("cpu"))[0] for s in ("train", "val")]
    probs, pspi = np.concatenate([p.pain_prob for p in parts]), np.concatenate([p.pspi_true for p in parts])
    report = json.loads((run / "eval-test" / "report.json").read_text())
    for j, t in enumerate(facs.PAIN_THRESHOLDS):
        expected, _ = best_f1_threshold(probs[:, j], pspi >= t)
        assert report["pain"][f"pspi_ge_{t}"]["decision_threshold"] == pytest.approx(expected)


def test_cv_resumes_without_retraining(cv_out: Path, archive: Path, tiny: Path):
    before = {p: p.stat().st_mtime_ns for p in cv_out.glob("fold-*/checkpoints/*.safetensors")}
    report = cv_out / "fold-2" / "eval-test" / "report.json"
    report.unlink()  # as if the run stopped between training fold 2 and testing it
    result = cli("cv", "--data", f"unbc:{archive}", "--folds", "5", "--out", cv_out, "--config", tiny,
                 "--max-steps", "2", "--bootstrap", "20")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert report.is_file()
    assert {p: p.stat().st_mtime_ns for p in cv_out.glob("fold-*/checkpoints/*.safetensors")} == before
    changed = cli("cv", "--data", f"unbc:{archive}", "--folds", "5", "--out", cv_out, "--config", tiny,
                  "--max-steps", "3")
    assert_one_line_error(changed, "optim.max_steps")


def test_eval_reads_the_run_fold(cv_out: Path, archive: Path, tmp_path: Path):
    result = cli("eval", "--run", cv_out / "fold-1", "--data", f"unbc:{archive}", "--out", tmp_path / "eval",
                 "--bootstrap", "0", "--workers", "0")
    assert result.exit_code == 0, result.output + repr(result.exception)
    with open(tmp_path / "eval" / "predictions.csv", newline="") as f:
        identities = {SUBJECTS[int(row["identity"])] for row in csv.DictReader(f)}
    assert identities == set(json.loads((cv_out / "fold-1" / "folds.json").read_text())["test"])


def test_eval_of_a_model_trained_elsewhere_tests_every_subject(cv_out: Path, archive: Path, tmp_path: Path):
    """A model file outside a UNBC run (a published or synthetic-only checkpoint) saw no subject: all are test."""
    model = tmp_path / "elsewhere.safetensors"
    shutil.copy(sorted((cv_out / "fold-1" / "checkpoints").glob("step-*.safetensors"))[-1], model)
    result = cli("eval", "--run", model, "--data", f"unbc:{archive}", "--out", tmp_path / "eval",
                 "--bootstrap", "0", "--workers", "0")
    assert result.exit_code == 0, result.output + repr(result.exception)
    with open(tmp_path / "eval" / "predictions.csv", newline="") as f:
        identities = {SUBJECTS[int(row["identity"])] for row in csv.DictReader(f)}
    assert identities == set(SUBJECTS)


def test_train_with_neutral_reference_and_weighted_sampling(archive: Path, tiny: Path, tmp_path: Path):
    config = tmp_path / "neutral.toml"
    config.write_text(TINY.replace("depth = 1", "depth = 1\nneutral_reference = true")
                      .replace("augment = false", "augment = false\nweighted_sampling = \"balanced\""))
    result = cli("train", "--data", f"unbc:{archive}", "--role", "baseline", "--fold", "3", "--config", config,
                 "--out", tmp_path / "run", "--max-steps", "2")
    assert result.exit_code == 0, result.output + repr(result.exception)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["data"] == f"unbc:{archive.resolve()}" and record["config"]["data"]["fold"] == 3
    assert record["config"]["model"]["neutral_reference"] and record["model"]["neutral_reference"]
    assert record["config"]["data"]["weighted_sampling"] == "balanced"


def test_init_starts_from_a_pretrained_run(cv_out: Path, archive: Path, tiny: Path, tmp_path: Path):
    pretrained = cv_out / "fold-0"
    best = (pretrained / "checkpoints" / "best").read_text().strip()
    weights = safetensors.torch.load_file(pretrained / "checkpoints" / f"{best}.safetensors")

    def first_weights(*init: str) -> dict[str, torch.Tensor]:
        config = load_config(tiny, {"fold": 4, **({"init": init[0]} if init else {})})
        trainer = Trainer(Path(f"unbc:{archive}"), "baseline", config, tmp_path / f"run{len(init)}",
                          start_processes())
        return trainer.model.state_dict()

    started = first_weights(str(pretrained))
    assert all(torch.equal(started[k], weights[k]) for k in weights)
    assert not all(torch.equal(v, weights[k]) for k, v in first_weights().items())
    wider = tmp_path / "wider.toml"
    wider.write_text(TINY.replace("depth = 1", "depth = 2"))
    result = cli("train", "--data", f"unbc:{archive}", "--role", "baseline", "--config", wider,
                 "--out", tmp_path / "run-wide", "--init", pretrained)
    assert_one_line_error(result, "does not fit", "--init")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stand-in archives of 3 subjects with one defect each (in every subject, whichever fold it is in)."""
    root = tmp_path_factory.mktemp("broken")
    no_facs = write_archive(root / "no_facs", subjects=3, frames=2)
    shutil.rmtree(no_facs / "Frame_Labels" / "FACS")
    write_archive(root / "no_neutral", subjects=3, frames=2, no_neutral=(subject_names(3)[1],))
    bad_landmarks = write_archive(root / "bad_landmarks", subjects=3, frames=2)
    for path in (bad_landmarks / "AAM_landmarks").glob("*/*/*001_aam.txt"):
        path.write_text("1 2\n3 4\n")
    bad_pspi = write_archive(root / "bad_pspi", subjects=3, frames=2)
    for path in (bad_pspi / "Frame_Labels" / "PSPI").glob("*/*/*001_facs.txt"):
        path.write_text("17\n")
    return root


@pytest.mark.parametrize("defect, flags, fragments", [
    ("no_facs", [], ["no Frame_Labels/FACS/ folder", "Images/, Frame_Labels/PSPI/"]),
    ("no_neutral", ["--config", "NEUTRAL"], ["subject 102-ab102 has no frame with PSPI 0"]),
    ("bad_landmarks", [], ["_aam.txt: 2 rows of 2 values", "allowed: 66 lines"]),
    ("bad_pspi", [], ["PSPI = 17", "allowed: 0 to 16"]),
    ("no_neutral", ["--fold", "3"], ["data.fold = 3 (--fold): out of range", "allowed: 0 to 2"]),
    ("no_neutral", ["--fold", "-1"], ["data.fold", "-1"]),
    ("no_neutral", ["--role", "teacher"], ["--role teacher", "no pain heatmaps", "allowed: baseline"]),
])
def test_bad_archives_and_folds_are_one_line(broken: Path, tmp_path: Path, defect: str, flags: list[str],
                                              fragments: list[str]):
    three = TINY.replace("augment = false", "augment = false\nfolds = 3")
    (tmp_path / "three.toml").write_text(three)
    (tmp_path / "neutral.toml").write_text(three.replace("depth = 1", "depth = 1\nneutral_reference = true"))
    flags = [str(tmp_path / "neutral.toml") if f == "NEUTRAL" else f for f in flags]
    result = cli("train", "--data", f"unbc:{broken / defect}", "--role", "baseline", "--out", tmp_path / "run",
                 "--max-steps", "1", "--fold", "0", "--config", tmp_path / "three.toml", *flags)  # the last flag wins
    assert_one_line_error(result, *fragments)


def test_fold_needs_the_unbc_archive(tiny_pain3d: Path, tiny: Path, tmp_path: Path):
    result = cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", tiny, "--out", tmp_path / "run",
                 "--fold", "1")
    assert_one_line_error(result, "--fold 1", "allowed only with --data unbc:PATH")
    result = cli("cv", "--data", tiny_pain3d, "--config", tiny, "--out", tmp_path / "cv")
    assert_one_line_error(result, "allowed: unbc:PATH")


def test_the_docs_page_runs(tmp_path: Path):
    """docs/unbc.md's run blocks (the stand-in archive, then pain3d cv on it) work as written."""
    run_page(REPO / "docs" / "unbc.md", tmp_path, environment(tmp_path))
    summary = json.loads((tmp_path / "work" / "runs" / "fake-cv" / "summary.json").read_text())
    assert len(summary["per_fold"]) == 5

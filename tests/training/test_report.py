"""The evaluation report end to end on synthetic predictions (training/eval_report.py)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from pain3d.errors import Pain3DError
from pain3d.facs import PSPI_AUS
from pain3d.training.metrics import best_f1_threshold, f1_at, mae
from pain3d.training.eval_report import GROUP_FIELDS, PAIN_THRESHOLDS, Predictions, evaluate, write_report

VIEWS = (-30.0, 0.0, 30.0)


def synthetic(n_ids: int, seed: int, split: str = "test", first_id: int = 0, per_view: int = 4) -> Predictions:
    """n_ids identities x 3 views x per_view images; errors = identity bias + image noise."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(first_id, first_id + n_ids), len(VIEWS) * per_view)
    n = ids.size
    aus = rng.integers(0, 6, (n, 6)) * (rng.random((n, 6)) < 0.5)
    aus[:, 5] = rng.random(n) < 0.2
    pspi = aus[:, 0] + np.maximum(aus[:, 1], aus[:, 2]) + np.maximum(aus[:, 3], aus[:, 4]) + aus[:, 5]
    pred = pspi + rng.normal(0, 0.8, first_id + n_ids)[ids] + rng.normal(0, 1.0, n)
    prob = 1 / (1 + np.exp(-1.5 * (pred[:, None] - np.array(PAIN_THRESHOLDS) + 0.5)))
    return Predictions(
        sample_id=[f"{i:06d}_{k}" for k, i in enumerate(ids)], identity=ids, split=[split] * n,
        view=np.tile(np.repeat(VIEWS, per_view), n_ids), age_band=np.array(["60-85", "18-34", "35-59"])[ids % 3],
        sex=np.array(["female", "male"])[(ids // 3) % 2],
        ethnicity=np.array(["Black", "East Asian", "White"])[(ids // 6) % 3],
        pspi_true=pspi, pspi_pred=pred, aus_true=aus, aus_pred=aus + rng.normal(0, 0.5, (n, 6)), pain_prob=prob,
        attention_auc=np.where(pspi > 0, rng.uniform(0.5, 0.9, n), np.nan),
        pointing_hit=np.where(pspi > 0, (rng.random(n) < 0.7).astype(float), np.nan))


@pytest.fixture(scope="module")
def test_preds() -> Predictions:
    return synthetic(30, seed=1)


@pytest.fixture(scope="module")
def val_preds() -> Predictions:
    return synthetic(12, seed=2, split="val", first_id=100)


@pytest.fixture(scope="module")
def results(test_preds: Predictions, val_preds: Predictions) -> dict:
    return evaluate(test_preds, val_preds, n_boot=100, seed=0)


@pytest.fixture(scope="module")
def report_dir(results: dict, test_preds: Predictions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    yy, xx = np.mgrid[0:64, 0:64]
    image = np.dstack([0.7 + 0 * xx, 0.5 + 0.2 * yy / 64, 0.4 + 0 * xx])
    heat = np.exp(-((xx - 30) ** 2 + (yy - 20) ** 2) / 60.0)
    write_report(results, test_preds, out, overlays=[(image, heat, np.eye(4), "000001_pain_00_v1")])
    return out


def test_csv_round_trip(tmp_path: Path, test_preds: Predictions):
    p = test_preds.subset(np.arange(20))
    p.ethnicity[0] = "Latino, Hispanic"  # a comma in a value
    p.to_csv(tmp_path / "predictions.csv")
    q = Predictions.from_csv(tmp_path / "predictions.csv")
    for name in ("sample_id", "identity", "split", "age_band", "sex", "ethnicity"):
        assert q.__dict__[name].tolist() == p.__dict__[name].tolist()
    for name in ("view", "pspi_true", "pspi_pred", "aus_true", "aus_pred", "pain_prob", "attention_auc",
                 "pointing_hit"):
        np.testing.assert_array_equal(q.__dict__[name], p.__dict__[name])  # nan == nan here; floats exact


@pytest.mark.parametrize("text, message", [
    ("sample_id,identity\n", "not a predictions file"),
    (None, "view = 'left' is not a number"),
])
def test_bad_csv_is_a_one_line_error(tmp_path: Path, test_preds: Predictions, text: str | None, message: str):
    path = tmp_path / "predictions.csv"
    test_preds.subset(np.arange(2)).to_csv(path)
    if text is None:
        lines = path.read_text().splitlines()
        cells = lines[2].split(",")
        cells[3] = "left"
        text = "\n".join(lines[:2] + [",".join(cells)]) + "\n"
    path.write_text(text)
    with pytest.raises(Pain3DError, match=message):
        Predictions.from_csv(path)
    with pytest.raises(Pain3DError, match="cannot read"):
        Predictions.from_csv(tmp_path / "missing.csv")


def test_headline_numbers(results: dict, test_preds: Predictions):
    assert results["n_images"] == 360 and results["n_identities"] == 30 and results["split"] == "test"
    assert set(results["pspi"]) == {"mae", "rmse", "pearson_r", "icc_3_1"}
    assert results["pspi"]["mae"]["value"] == pytest.approx(mae(test_preds.pspi_true, test_preds.pspi_pred))
    for stat in results["pspi"].values():
        lo, hi = stat["ci"]
        assert lo <= stat["value"] <= hi
    assert list(results["aus"]) == list(PSPI_AUS)
    assert results["explainability"]["n_images"] == int(np.sum(test_preds.pspi_true > 0))
    assert 0.5 < results["explainability"]["attention_auc"]["value"] < 0.9
    json.dumps(results, allow_nan=False)  # JSON-ready: undefined values are None, not nan


def test_f1_threshold_comes_from_validation(results: dict, test_preds: Predictions, val_preds: Predictions):
    for j, t in enumerate(PAIN_THRESHOLDS):
        pain = results["pain"][f"pspi_ge_{t}"]
        threshold, val_f1 = best_f1_threshold(val_preds.pain_prob[:, j], val_preds.pspi_true >= t)
        assert pain["threshold_source"] == "val"
        assert pain["decision_threshold"] == threshold and pain["val_f1"] == pytest.approx(val_f1)
        y = test_preds.pspi_true >= t
        assert pain["f1"]["value"] == pytest.approx(f1_at(test_preds.pain_prob[:, j], y, threshold))
        assert pain["n_pos"] + pain["n_neg"] == 360 and pain["n_pos"] == int(y.sum())
        assert 0 <= pain["calibration"]["ece"] < 0.2 and sum(pain["calibration"]["count"]) == 360
    assert results["notes"] == []


def test_f1_threshold_falls_back_to_test_and_says_so(test_preds: Predictions):
    small = test_preds.subset(test_preds.identity < 4)
    r = evaluate(small, None, n_boot=20)
    assert {r["pain"][f"pspi_ge_{t}"]["threshold_source"] for t in PAIN_THRESHOLDS} == {"test"}
    assert len(r["notes"]) == 3 and all("chosen on the test split" in n for n in r["notes"])


def test_breakdowns(results: dict):
    groups = {name: {g["group"]: g for g in results["groups"][name]} for name in GROUP_FIELDS}
    assert list(groups["view"]) == ["-30", "0", "30"]
    assert list(groups["age_band"]) == ["18-34", "35-59", "60-85"]
    assert set(groups["sex"]) == {"female", "male"} and set(groups["ethnicity"]) == {"Black", "East Asian", "White"}
    for name in GROUP_FIELDS:
        assert sum(g["n_images"] for g in groups[name].values()) == 360
    view = groups["view"]["0"]
    assert view["n_images"] == 120 and view["n_identities"] == 30
    assert {"mae", "icc_3_1", "auroc_ge_2", "f1_ge_3", "attention_auc"} <= set(view["metrics"])
    lo, hi = view["metrics"]["mae"]["ci"]
    assert lo < view["metrics"]["mae"]["value"] < hi


def test_small_and_single_class_groups_do_not_crash(tmp_path: Path, test_preds: Predictions):
    p = test_preds.subset(test_preds.identity < 2)
    p.ethnicity[p.identity == 1] = "Indian"  # one identity: no interval
    p.pspi_true[p.identity == 1] = 0.0  # and no pain: no AUROC
    p.attention_auc[:] = np.nan  # no attention maps at all
    r = evaluate(p, None, n_boot=20)
    indian = next(g for g in r["groups"]["ethnicity"] if g["group"] == "Indian")
    assert indian["n_identities"] == 1 and indian["metrics"]["mae"]["ci"] == [None, None]
    assert indian["metrics"]["auroc_ge_1"]["value"] is None
    assert r["explainability"]["attention_auc"]["value"] is None and r["explainability"]["n_images"] == 0
    paths = write_report(r, p, tmp_path)
    assert "n/a" in paths["markdown"].read_text() and "overlays" not in paths
    with pytest.raises(Pain3DError, match="no test predictions"):
        evaluate(p.subset(np.zeros(len(p), bool)))


def test_report_files(report_dir: Path, results: dict):
    saved = json.loads((report_dir / "report.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert {"pspi", "aus", "pain", "explainability", "groups", "bootstrap", "notes"} <= set(saved)
    assert len(Predictions.from_csv(report_dir / "predictions.csv")) == 360
    md = (report_dir / "report.md").read_text()
    html = (report_dir / "report.html").read_text()
    assert md.index("Headline metrics") < md.index("![")
    assert html.index("<table>") < html.index("<img")
    for text, pattern in ((md, r"!\[[^\]]*\]\(([^)]+)\)"), (html, r'<img src="([^"]+)"')):
        images = re.findall(pattern, text)
        assert {"scatter.png", "calibration.png", "overlays.png"} <= set(images)
        assert {f"groups_{name}.png" for name in GROUP_FIELDS} <= set(images)
        for name in images:
            assert (report_dir / name).read_bytes().startswith(b"\x89PNG")
    assert "PSPI MAE" in html and "East Asian" in html


def test_evaluate_is_deterministic(test_preds: Predictions, results: dict, val_preds: Predictions):
    again = evaluate(test_preds, val_preds, n_boot=100, seed=0)
    assert again == results
    other = evaluate(test_preds, val_preds, n_boot=100, seed=1)
    assert other["pspi"]["mae"]["ci"] != results["pspi"]["mae"]["ci"]
    assert not math.isnan(other["pspi"]["mae"]["value"])

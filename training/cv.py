"""`pain3d cv`: subject-wise k-fold cross-validation on the UNBC-McMaster archive (docs/unbc.md).

`cross_validate(data, role, config, out, n_boot, seed) -> summary` runs, for each fold K of
`data.folds`:

1. `pain3d train --fold K` into OUT/fold-K (training/train.py; OUT/fold-K/folds.json names the
   fold's test, validation and training subjects; the validation subjects pick the best checkpoint);
2. the best checkpoint on the test fold and on the training folds (training and validation
   subjects); each F1 decision threshold (PSPI >= 1, 2, 3) is the one that maximises F1 on the
   training folds' predictions, applied unchanged to the test fold ("train folds" in the report);
3. `pain3d eval`'s report of the test fold into OUT/fold-K/eval-test/ (training/eval_report.py).

Then OUT/summary.json and OUT/summary.md: each fold's test subjects and headline metrics, and
per metric the mean and the sample standard deviation over the folds (None where fewer than two
folds define it). Running again with the same OUT continues: finished folds keep their runs and
reports, an interrupted one resumes (the config must be the same, as for `pain3d train`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from pain3d.errors import Pain3DError
from pain3d.facs import PAIN_THRESHOLDS, PSPI_AUS
from pain3d.fileio import atomic_write_text, make_folder

from .eval_report import Predictions, evaluate, write_report
from .evaluate import device, open_model, predict_split
from .folds import read_split
from .loader import UnbcSource, data_label, data_source, for_run, open_split
from .train import train

SUMMARY_FORMAT = "pain3d-cv-summary"
CALIBRATION = "train folds"  # the split name the report gives the threshold's source
EVAL_BATCH = 64
# (column title, report.json path) of the metrics the summary averages
METRICS: list[tuple[str, tuple[str, ...]]] = [
    ("PSPI MAE", ("pspi", "mae")), ("PSPI RMSE", ("pspi", "rmse")), ("PSPI PCC", ("pspi", "pearson_r")),
    ("PSPI ICC(3,1)", ("pspi", "icc_3_1")),
    *[(f"AUROC ≥{t}", ("pain", f"pspi_ge_{t}", "auroc")) for t in PAIN_THRESHOLDS],
    *[(f"F1 ≥{t}", ("pain", f"pspi_ge_{t}", "f1")) for t in PAIN_THRESHOLDS],
    *[(f"{au} MAE", ("aus", au, "mae")) for au in PSPI_AUS],
]


def cross_validate(data: str | Path, role: str, config: dict, out: Path, n_boot: int = 1000,
                   seed: int = 0) -> dict:
    """Train and test every fold of the archive into OUT; the summary (module docs)."""
    if not isinstance(data_source(data), UnbcSource):
        raise Pain3DError(f"--data {data}: pain3d cv splits an archive without fixed splits; allowed: unbc:PATH")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise Pain3DError("pain3d cv runs in one process; under torchrun, run pain3d train --fold K per fold")
    out = Path(out)
    make_folder(out, str(out))
    folds = []
    for fold in range(config["data"]["folds"]):
        run = out / f"fold-{fold}"
        train(data, role, {**config, "data": {**config["data"], "fold": fold}}, run)
        report = run / "eval-test" / "report.json"
        if not report.is_file():
            evaluate_fold(run, data, n_boot, seed, config["data"]["workers"])
        folds.append(fold_row(run, json.loads(report.read_text(encoding="utf-8"))))
    summary = summarise(data_label(data), role, config, folds)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    atomic_write_text(out / "summary.md", summary_markdown(summary))
    return summary


def evaluate_fold(run: Path, data: str | Path, n_boot: int, seed: int, workers: int) -> None:
    """Write the test fold's report, F1 thresholds chosen on the training folds (module docs)."""
    model = open_model(run, "best")  # as pain3d eval opens it: LoRA merged
    source, on = for_run(data, run), device()
    size, neutral = model.build_args["image_size"], model.neutral_reference

    def predict(split: str) -> Predictions:
        dataset = open_split(source, split, size, with_neutral=neutral)
        return predict_split(model, dataset, split, on, EVAL_BATCH, workers)[0]

    test = predict("test")
    calibration = joined([predict("train"), predict("val")])
    calibration = replace(calibration, split=np.full(len(calibration), CALIBRATION))
    write_report(evaluate(test, calibration, n_boot, seed), test, run / "eval-test")


def joined(parts: list[Predictions]) -> Predictions:
    """One Predictions of several, in order."""
    return Predictions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Predictions)})


def fold_row(run: Path, report: dict) -> dict:
    """A fold's subjects, image counts, metrics and decision thresholds, from its folds.json and report."""
    split = read_split(run)
    return {"fold": split.fold, "test_subjects": list(split.test), "val_subjects": list(split.val),
            "n_images": report["n_images"],
            "metrics": {title: _lookup(report, path) for title, path in METRICS},
            "decision_thresholds": {f"pspi_ge_{t}": report["pain"][f"pspi_ge_{t}"]["decision_threshold"]
                                    for t in PAIN_THRESHOLDS}}


def _lookup(report: dict, path: tuple[str, ...]) -> float | None:
    node = report
    for key in path:
        node = node[key]
    return node["value"]


def summarise(data: str, role: str, config: dict, folds: list[dict]) -> dict:
    """The summary: the folds' rows, and each metric's mean and standard deviation over folds."""
    stats = {}
    for title, _ in METRICS:
        values = np.array([f["metrics"][title] for f in folds if f["metrics"][title] is not None], dtype=np.float64)
        stats[title] = {"mean": float(values.mean()) if values.size else None,
                        "std": float(values.std(ddof=1)) if values.size > 1 else None, "n_folds": int(values.size)}
    return {"format": SUMMARY_FORMAT, "format_version": 1, "data": data, "role": role,
            "folds": config["data"]["folds"], "fold_seed": config["data"]["fold_seed"],
            "seed": config["run"]["seed"], "init": config["run"]["init"] or None,
            "calibration": CALIBRATION, "metrics": stats, "per_fold": folds}


def summary_markdown(summary: dict) -> str:
    """summary.md: the mean ± SD table, then one row per fold naming its test subjects."""
    heads = [title for title, _ in METRICS]
    lines = [f"# Cross-validation: {summary['folds']} subject-wise folds", "",
             f"Data `{summary['data']}`, role {summary['role']}, fold seed {summary['fold_seed']}, "
             f"seed {summary['seed']}" + (f", initialised from `{summary['init']}`" if summary["init"] else "")
             + ". F1 thresholds chosen on each fold's training folds, applied to its test fold.", "",
             "| Metric | Mean | SD | Folds |", "|---|---|---|---|"]
    lines += [f"| {t} | {_fmt(summary['metrics'][t]['mean'])} | {_fmt(summary['metrics'][t]['std'])} | "
              f"{summary['metrics'][t]['n_folds']} |" for t in heads]
    lines += ["", "## Per fold", "", "| Fold | Test subjects | Images | " + " | ".join(heads) + " |",
              "|" + "---|" * (len(heads) + 3)]
    lines += [f"| {f['fold']} | {', '.join(f['test_subjects'])} | {f['n_images']} | "
              + " | ".join(_fmt(f["metrics"][t]) for t in heads) + " |" for f in summary["per_fold"]]
    return "\n".join(lines) + "\n"


def headline(summary: dict) -> str:
    """One line: the folds and the mean ± SD of PSPI MAE, AUROC and F1 at PSPI >= 1."""
    parts = [f"{title} {_fmt(summary['metrics'][title]['mean'])} ± {_fmt(summary['metrics'][title]['std'])}"
             for title in ("PSPI MAE", f"AUROC ≥{PAIN_THRESHOLDS[0]}", f"F1 ≥{PAIN_THRESHOLDS[0]}")]
    return f"{summary['folds']} folds: " + ", ".join(parts)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"

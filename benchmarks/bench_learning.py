"""Benchmark: do the ViTPain models learn PSPI from Pain3D's RGB images? (docs/results.md)

Run with `pain3d bench learning` or `python benchmarks/bench_learning.py [--data DIR] [--out DIR]
[--steps N] [--seeds K] ...`. Every variant of `VARIANTS` is the base recipe
`assets/train/learning/base.toml` plus its few changed keys; each is trained with `pain3d train`'s
trainer for `--steps` optimiser steps (seeds 0..K-1; a student distils from the teacher of its
seed) and tested with `pain3d eval`'s code on the test split (F1 thresholds from val, 95%
identity-bootstrap intervals). "mean" is no model: it predicts the training split's mean PSPI, mean
AUs and pain rates for every image. The results:

- `OUT/results.md` and `OUT/results.json`: per variant, test PSPI MAE, Pearson r and AUROC at
  PSPI >= 1, 2, 3 over its seeds' test predictions pooled (each image once per seed), each with its
  identity-bootstrap interval (training/eval_report.py's `evaluate`); each seed's values; wall times;
- `OUT/configs/VARIANT-seedS.toml`: the config of each run (`pain3d train --config` it to redo one);
- `OUT/runs/VARIANT/seed-S/`: the run folders, with `eval-test/report.html` (`mean`: `runs/mean/`).

Resumable: a run whose `eval-test/report.json` exists is neither trained nor evaluated again, and an
interrupted one resumes from its last checkpoint. A changed budget (`--steps`, ...) needs a new OUT.

Settings: each argument, else its environment variable, else the default:

| argument | environment | default |
| --- | --- | --- |
| `--data` | `PAIN3D_LEARNING_DATA` | `OUT/data`, generated from `assets/jobs/learning.toml` when it has no manifest |
| `--out` | `PAIN3D_LEARNING_OUT` | `out/bench-learning` in the repository |
| `--steps` | `PAIN3D_LEARNING_STEPS` | the base recipe's `optim.max_steps` |
| `--seeds` | `PAIN3D_LEARNING_SEEDS` | 3 |
| `--batch-size` | `PAIN3D_LEARNING_BATCH` | the base recipe's |
| `--image-size` | `PAIN3D_LEARNING_IMAGE_SIZE` | the base recipe's |
| `--workers` | `PAIN3D_LEARNING_WORKERS` | the base recipe's `data.workers` |
| `--bootstrap` | `PAIN3D_LEARNING_BOOTSTRAP` | 1000 |
| `--variants` | `PAIN3D_LEARNING_VARIANTS` | all (comma-separated names; a student's teacher is added) |
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from a checkout

from pain3d import facs
from pain3d.errors import Pain3DError
from pain3d.jobs import read_toml
from pain3d.training.config import load_config
from pain3d.training.datasets import AU_KEYS
from pain3d.training.eval_report import Predictions, evaluate, write_report
from pain3d.training.evaluate import evaluate_run
from pain3d.training.loader import open_split
from pain3d.training.train import train

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "assets" / "train" / "learning" / "base.toml"
JOB = REPO / "assets" / "jobs" / "learning.toml"
MEAN = "mean"
EVAL = "eval-test"
# (column, path in report.json): the table's metrics
METRICS = (("PSPI MAE", ("pspi", "mae")), ("PCC", ("pspi", "pearson_r")),
           ("AUROC@1", ("pain", "pspi_ge_1", "auroc")), ("AUROC@2", ("pain", "pspi_ge_2", "auroc")),
           ("AUROC@3", ("pain", "pspi_ge_3", "auroc")))


@dataclass(frozen=True)
class Variant:
    """One row of the table: a role and the keys it changes in the base recipe."""

    name: str
    role: str
    what: str
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)


VARIANTS = (
    Variant("resnet18", "baseline", "timm resnet18, random init, on the photograph: the convolutional check of "
            "data and pipeline", {"model": {"backbone": "resnet18", "depth": 0, "drop_path": 0.0}}),
    Variant("vit_baseline", "baseline", "the RGB baseline: the base ViT-Tiny on the photograph and labels alone"),
    Variant("teacher", "teacher", "reads the pain heatmap, not the photograph: a reference, and the students' "
            "teacher (same seed)"),
    Variant("student", "student", "the v2 student: the baseline plus output, feature and attention distillation"),
    Variant("student_no_output", "student", "the student without output distillation",
            {"loss": {"distill_output": 0.0}}),
    Variant("student_no_feature", "student", "the student without feature distillation",
            {"loss": {"distill_feature": 0.0}}),
    Variant("student_no_attention", "student", "the student without attention distillation",
            {"loss": {"distill_attention": 0.0}}),
    Variant("neutral", "baseline", "neutral reference: the person's neutral face through the shared encoder, "
            "read by cross-attention", {"model": {"neutral_reference": True}}),
    Variant("au_query", "baseline", "the AU-query head instead of the pooled head", {"model": {"head": "au_query"}}),
    Variant("au_query_mean", "baseline", "the AU-query head with its PSPI and pain heads on the mean patch token, "
            "not the CLS token", {"model": {"head": "au_query", "summary_token": "mean"}}),
)
NAMES = (MEAN, *(v.name for v in VARIANTS))


@dataclass(frozen=True)
class Settings:
    """The benchmark's budget and places (module docs); None: the base recipe's value."""

    data: Path
    out: Path
    steps: int | None = None
    seeds: int = 3
    batch_size: int | None = None
    image_size: int | None = None
    workers: int | None = None
    bootstrap: int = 1000
    variants: tuple[str, ...] = NAMES


# --- configs -----------------------------------------------------------------------------------


def run_tables(variant: Variant, seed: int, settings: Settings, teacher: Path | None) -> dict[str, dict]:
    """The TOML tables of one run: the base recipe, the variant's changes, the budget and seed."""
    tables = read_toml(BASE, "training config")
    budget = {"optim": {"max_steps": settings.steps, "batch_size": settings.batch_size},
              "model": {"image_size": settings.image_size}, "data": {"workers": settings.workers},
              "run": {"seed": seed, "teacher": str(teacher) if teacher else None}}
    for changes in (variant.changes, budget):
        for section, table in changes.items():
            tables.setdefault(section, {}).update({k: v for k, v in table.items() if v is not None})
    return tables


def toml_text(tables: dict[str, dict]) -> str:
    """Tables of scalars as TOML (JSON's strings, numbers and booleans are TOML's)."""
    lines = []
    for section, table in tables.items():
        lines += [f"[{section}]", *(f"{key} = {json.dumps(value)}" for key, value in table.items()), ""]
    return "\n".join(lines)


# --- runs --------------------------------------------------------------------------------------


def run_dir(settings: Settings, name: str, seed: int) -> Path:
    return settings.out / "runs" / name if name == MEAN else settings.out / "runs" / name / f"seed-{seed}"


def train_and_test(variant: Variant, seed: int, settings: Settings) -> dict[str, float]:
    """Train and evaluate one variant and seed unless done; its wall times in seconds."""
    run = run_dir(settings, variant.name, seed)
    times_file = run / "bench-times.json"
    if (run / EVAL / "report.json").is_file() and times_file.is_file():
        return json.loads(times_file.read_text())
    teacher = run_dir(settings, "teacher", seed) if variant.role == "student" else None
    config = settings.out / "configs" / f"{variant.name}-seed{seed}.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(toml_text(run_tables(variant, seed, settings, teacher)))
    started = time.perf_counter()
    train(settings.data, variant.role, load_config(config), run)
    trained = time.perf_counter()
    evaluate_run(run, settings.data, "test", n_boot=settings.bootstrap)
    times = {"train_s": round(trained - started, 1), "eval_s": round(time.perf_counter() - trained, 1)}
    times_file.write_text(json.dumps(times) + "\n")
    return times


def mean_baseline(settings: Settings) -> dict[str, float]:
    """The report of predicting the training split's means for every test image (runs/mean/eval-test)."""
    folder = run_dir(settings, MEAN, 0) / EVAL
    if not (folder / "report.json").is_file():
        means = labels(settings.data, "train")
        test, val = (constant(labels(settings.data, split), means) for split in ("test", "val"))
        write_report(evaluate(test, val, settings.bootstrap), test, folder)
    return {"train_s": 0.0, "eval_s": 0.0}


def labels(data: Path, split: str) -> dict[str, Any]:
    """The labels and groups of a split's items (no image is decoded)."""
    items = open_split(data, split, 32).items
    return {"sample_id": [i.sample_id for i in items], "identity": [i.identity for i in items],
            "split": [split] * len(items), "view": [i.yaw for i in items], "age_band": [i.age_band for i in items],
            "sex": [i.sex for i in items], "ethnicity": [i.ethnicity for i in items],
            "pspi_true": np.array([i.pspi for i in items]),
            "aus_true": np.array([[facs.effective_intensity(i.aus, k) for k in AU_KEYS] for i in items])}


def constant(split: dict[str, Any], means: dict[str, Any]) -> Predictions:
    """Predictions of `split` that are the training split's means (`means`: its labels): its mean PSPI and AUs,
    and as P(PSPI >= t) its rate of PSPI >= t."""
    n = len(split["sample_id"])
    rates = [float(np.mean(means["pspi_true"] >= t)) for t in facs.PAIN_THRESHOLDS]
    return Predictions(**split, pspi_pred=np.full(n, means["pspi_true"].mean()),
                       aus_pred=np.tile(means["aus_true"].mean(0), (n, 1)), pain_prob=np.tile(rates, (n, 1)))


# --- the table ---------------------------------------------------------------------------------


def metric(report: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        report = report[key]
    return report


def pooled(runs: list[Path], settings: Settings) -> dict:
    """The report numbers of several seeds' test predictions taken together (identity bootstrap)."""
    parts = [Predictions.from_csv(run / EVAL / "predictions.csv") for run in runs]
    joined = Predictions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Predictions)})
    return evaluate(joined, None, settings.bootstrap)


def variant_row(name: str, settings: Settings, times: list[dict[str, float]]) -> dict:
    """One variant's pooled metrics with intervals, its seeds' values and wall times."""
    seeds = [0] if name == MEAN else list(range(settings.seeds))
    runs = [run_dir(settings, name, s) for s in seeds]
    reports = [json.loads((run / EVAL / "report.json").read_text()) for run in runs]
    together = pooled(runs, settings) if len(runs) > 1 else reports[0]
    return {"variant": name, "seeds": seeds,
            "pooled": {col: metric(together, path) for col, path in METRICS},
            "per_seed": {col: [metric(r, path)["value"] for r in reports] for col, path in METRICS},
            "n_test_images": reports[0]["n_images"], "n_test_identities": reports[0]["n_identities"],
            "train_s": sum(t["train_s"] for t in times), "eval_s": sum(t["eval_s"] for t in times)}


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _cell(stat: dict) -> str:
    lo, hi = stat["ci"]
    return f"{_num(stat['value'])} [{_num(lo)}, {_num(hi)}]" if stat["value"] is not None else "n/a"


def _spread(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return ", ".join(_num(v) for v in values) + (f" (sd {statistics.stdev(known):.2f})" if len(known) > 1 else "")


def markdown(rows: list[dict], settings: Settings, context: dict) -> str:
    """results.md: the pooled table, each seed's values, what each variant is."""
    what = {MEAN: "predicts the training split's mean PSPI, AUs and pain rates for every image",
            **{v.name: v.what for v in VARIANTS}}
    cols = [c for c, _ in METRICS]
    mean_mae = next((r["pooled"]["PSPI MAE"]["value"] for r in rows if r["variant"] == MEAN), None)
    lines = [f"# pain3d bench learning: {context['dataset']}", "",
             f"{context['steps']} steps of batch {context['batch_size']} at {context['image_size']} px, seeds "
             f"{settings.seeds}, on {context['device']}; {settings.bootstrap} identity-bootstrap resamples. Test "
             f"split: {rows[0]['n_test_images']} images of {rows[0]['n_test_identities']} identities.", "",
             "Seeds pooled (each test image once per seed), value [95% identity-bootstrap interval]; "
             "'below mean' when the MAE interval lies under the mean baseline's MAE:", "",
             "| variant | " + " | ".join(cols) + " | below mean | train + eval, all seeds (s) |",
             "| --- |" + " --- |" * (len(cols) + 2)]
    for r in rows:
        mae = r["pooled"]["PSPI MAE"]["ci"][1]
        below = "" if r["variant"] == MEAN or mean_mae is None or mae is None else ("yes" if mae < mean_mae else "no")
        lines.append(f"| {r['variant']} | " + " | ".join(_cell(r["pooled"][c]) for c in cols)
                     + f" | {below} | {r['train_s'] + r['eval_s']:.0f} |")
    lines += ["", "Each seed:", "", "| variant | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    lines += [f"| {r['variant']} | " + " | ".join(_spread(r["per_seed"][c]) for c in cols) + " |" for r in rows]
    lines += ["", "Variants:", ""] + [f"- `{r['variant']}`: {what[r['variant']]}" for r in rows]
    return "\n".join(lines) + "\n"


# --- the benchmark -----------------------------------------------------------------------------


def ensure_data(settings: Settings) -> None:
    """Generate the benchmark's dataset from its job file when the folder has no manifest (resumes)."""
    if (settings.data / "manifest.jsonl").is_file():
        return
    subprocess.run([sys.executable, "-m", "pain3d", "generate", "--config", str(JOB), "--out", str(settings.data),
                    "--workers", "2"], check=True)


def selected(settings: Settings) -> list[str]:
    """The variants to run, in order, a student's teacher included."""
    unknown = sorted(set(settings.variants) - set(NAMES))
    if unknown:
        raise Pain3DError(f"variants = {','.join(unknown)}: invalid; allowed: {', '.join(NAMES)}")
    students = any(v.role == "student" and v.name in settings.variants for v in VARIANTS)
    return [n for n in NAMES if n in settings.variants or (students and n == "teacher")]


def benchmark(settings: Settings) -> dict:
    """Train and test every selected variant and seed (seed by seed), then write the tables (module docs)."""
    ensure_data(settings)
    names = selected(settings)
    by_name = {v.name: v for v in VARIANTS}
    times: dict[str, list[dict[str, float]]] = {MEAN: [mean_baseline(settings)]} if MEAN in names else {}
    for seed in range(settings.seeds):  # seed-major: a stopped benchmark has whole seeds
        for name in (n for n in names if n != MEAN):
            times.setdefault(name, []).append(train_and_test(by_name[name], seed, settings))
    rows = [variant_row(name, settings, times[name]) for name in names]
    tables = run_tables(Variant("", "", ""), 0, settings, None)  # the budget, the base recipe's where not set
    context = {"dataset": str(settings.data), "steps": tables["optim"]["max_steps"],
               "batch_size": tables["optim"]["batch_size"], "image_size": tables["model"]["image_size"],
               "device": torch.cuda.get_device_name() if torch.cuda.is_available() else
               f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"}
    result = {"benchmark": "learning", **context, "seeds": settings.seeds, "bootstrap": settings.bootstrap,
              "rows": rows}
    (settings.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (settings.out / "results.md").write_text(markdown(rows, settings, context))
    return result


def settings_from(args: dict[str, Any]) -> Settings:
    """Settings from arguments (None: not given), else PAIN3D_LEARNING_* variables, else defaults."""
    env = {"data": "DATA", "out": "OUT", "steps": "STEPS", "seeds": "SEEDS", "batch_size": "BATCH",
           "image_size": "IMAGE_SIZE", "workers": "WORKERS", "bootstrap": "BOOTSTRAP", "variants": "VARIANTS"}
    given = {k: args.get(k) if args.get(k) is not None else os.environ.get(f"PAIN3D_LEARNING_{v}")
             for k, v in env.items()}
    out = Path(given["out"] or REPO / "out" / "bench-learning").resolve()
    numbers = {k: _count(k, given[k]) for k in ("steps", "seeds", "batch_size", "image_size", "workers", "bootstrap")
               if given[k] is not None}
    variants = tuple(given["variants"].split(",")) if isinstance(given["variants"], str) else given["variants"]
    return Settings(data=Path(given["data"] or out / "data").resolve(), out=out, **numbers,
                    **({"variants": variants} if variants else {}))


def _count(name: str, value: int | str) -> int:
    """A setting's whole number (0 only for workers); a one-line Pain3DError otherwise."""
    text = str(value).strip()
    low = 0 if name == "workers" else 1
    if not text.isdigit() or int(text) < low:
        raise Pain3DError(f"{name} = {value!r}: invalid; allowed: an integer >= {low} (argument or "
                          f"PAIN3D_LEARNING_* variable)")
    return int(text)


def run(**args: Any) -> dict:
    """`pain3d bench learning`: the benchmark with settings from `args` and the environment; its summary."""
    settings = settings_from(args)
    result = benchmark(settings)
    return {"benchmark": "learning", "results": str(settings.out / "results.md"),
            "test_pspi_mae": {r["variant"]: r["pooled"]["PSPI MAE"]["value"] for r in result["rows"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--data", "--out", "--variants"):
        parser.add_argument(flag)
    for flag in ("--steps", "--seeds", "--batch-size", "--image-size", "--workers", "--bootstrap"):
        parser.add_argument(flag, type=int)
    print(json.dumps(run(**vars(parser.parse_args()))))


if __name__ == "__main__":
    main()

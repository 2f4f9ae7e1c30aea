"""`pain3d bench learning` end to end on `tiny_pain3d`: every variant, 2 steps, 1 seed (then a second).

Real torch and timm at 32 px (about a minute on 2 cores): the benchmark's own code, loaded as
`pain3d bench` loads it, trains and evaluates every variant and writes the table; run again, it
retrains nothing, and a second seed pools both seeds' predictions.
"""

from __future__ import annotations

import dataclasses
import json
import math
import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_learning.py"


def test_every_variant_trains_evaluates_and_resumes(tiny_pain3d: Path, tmp_path: Path):
    bench = runpy.run_path(str(BENCH))
    settings = bench["Settings"](data=tiny_pain3d, out=tmp_path / "bench", steps=2, seeds=1, batch_size=8,
                                 image_size=32, workers=0, bootstrap=20)
    rows = {row["variant"]: row for row in bench["benchmark"](settings)["rows"]}
    assert list(rows) == list(bench["NAMES"])
    for name, row in rows.items():
        for column, stat in row["pooled"].items():
            if (name, column) != ("mean", "PCC"):  # constant predictions have no correlation
                assert stat["value"] is not None and math.isfinite(stat["value"]), (name, column)
    table = (settings.out / "results.md").read_text()
    assert all(f"| {name} |" in table for name in rows)
    assert json.loads((settings.out / "results.json").read_text())["rows"][0]["variant"] == "mean"
    student = json.loads((settings.out / "runs" / "student" / "seed-0" / "config.json").read_text())
    assert student["config"]["run"]["teacher"] == str(settings.out / "runs" / "teacher" / "seed-0")

    done = settings.out / "runs" / "vit_baseline" / "seed-0" / "checkpoints" / "last"
    stamp = done.stat().st_mtime_ns
    again = bench["benchmark"](dataclasses.replace(settings, seeds=2, variants=("mean", "vit_baseline")))
    assert done.stat().st_mtime_ns == stamp  # seed 0 was not trained again
    row = next(r for r in again["rows"] if r["variant"] == "vit_baseline")
    assert row["seeds"] == [0, 1] and len(row["per_seed"]["PSPI MAE"]) == 2
    assert math.isfinite(row["pooled"]["PSPI MAE"]["value"])

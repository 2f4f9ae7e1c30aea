"""Benchmark: planning a 3DPain-size job (2,500 identities x 11 expressions x 3 views).

Run by hand (`python benchmarks/bench_plan.py`) or with `pain3d bench plan`.
Reports the median of several runs of make_plan + serialisation.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from pain3d.jobs import resolve_job
from pain3d.plan import make_plan, write_plan

REPEATS = 5


def run() -> dict:
    job = resolve_job({"seed": 1, "identities": {"count": 2500}, "expressions": {"per_identity": 10}})
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(REPEATS):
            started = time.perf_counter()
            write_plan(out, make_plan(job))
            times.append(time.perf_counter() - started)
    return {"benchmark": "plan", "identities": 2500, "expressions_per_identity": 11,
            "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3), "runs": REPEATS}


if __name__ == "__main__":
    print(run())

"""Benchmark: the farm's overhead over Blender's own render time, and throughput.

Run by hand (`python benchmarks/bench_farm.py`) or with `pain3d bench farm`; needs `bpy`.
For one identity (neutral + 10 pain expressions x 3 views = 33 images) at 256^2 and 512^2
(32 samples, Cycles CPU), runs `farm/render.py` as a shard would run and compares the
sum of Blender's render calls (reported by the shard) with the wall time of the whole
process: start-up, scene build, label files and manifest writes included. Projects the
CPU-hours of a 3DPain-size job (2,500 identities x 11 expressions x 3 views at 512^2).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

IMAGES_3DPAIN = 2500 * 11 * 3


def shard_run(resolution: int) -> dict:
    from pain3d.jobs import resolve_job
    from pain3d.plan import make_plan, write_plan

    job = resolve_job({"seed": 3, "identities": {"count": 1}, "expressions": {"per_identity": 10},
                       "render": {"resolution": resolution, "samples": 32}})
    with tempfile.TemporaryDirectory() as data:
        write_plan(data, make_plan(job))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(REPO / "farm" / "render.py"), "--plan", data, "--shard", "0/1"],
                              capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    images, render = re.search(r"(\d+) images rendered, render calls ([\d.]+) s", done.stdout).groups()
    images, render = int(images), float(render)
    return {"resolution": resolution, "images": images, "wall_s": round(wall, 2), "render_s": round(render, 2),
            "overhead_ratio": round(wall / render, 3), "images_per_hour": round(3600 * images / wall)}


def run() -> dict:
    runs = [shard_run(256), shard_run(512)]
    per_image_512 = runs[1]["wall_s"] / runs[1]["images"]
    cores = os.cpu_count() or 1  # a shard process renders on every core
    return {"benchmark": "farm", "runs": runs,
            "projected_3dpain_cpu_hours_512": round(IMAGES_3DPAIN * per_image_512 * cores / 3600, 1)}


if __name__ == "__main__":
    print(run())

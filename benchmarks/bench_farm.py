"""Benchmark: the farm's overhead over Blender's own render time, throughput, and what hair costs.

Run by hand (`python benchmarks/bench_farm.py`) or with `pain3d bench farm`; needs `bpy`.
For one identity (neutral + 10 pain expressions x 3 views = 33 images) at 256^2 and 512^2
(32 samples, Cycles CPU), runs `farm/render.py` as a shard would run and compares the
sum of Blender's render calls (reported by the shard) with the wall time of the whole
process: start-up, scene build, label files and manifest writes included. Projects the
CPU-hours of a 3DPain-size job (2,500 identities x 11 expressions x 3 views at 512^2).
Each size runs bald and bare (hair and clothes off: the bust's skin only, today's head-only render),
bald and dressed (a crew-neck T-shirt), and dressed with long hair (a long_wavy woman) and short
hair (a short_side_part man with a full beard): median render per image, head build (with its
groom and garment) and the process's peak memory. What hair costs is the ratio to the same
render without hair (bald and dressed). Every run has the default environment lighting and backgrounds.
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


HAIR = {"off": {"enabled": False}, "bald": {"enabled": False}, "long": {"style": "long_wavy", "bald_rate": 0.0},
        "short+beard": {"style": "short_side_part", "beard": "full", "bald_rate": 0.0}}
SEXES = {"off": "female", "bald": "female", "long": "female", "short+beard": "male"}


def shard_run(resolution: int, hair: str = "off", per_identity: int = 10) -> dict:
    from pain3d.jobs import resolve_job
    from pain3d.plan import make_plan, write_plan

    clothing = {"enabled": False} if hair == "off" else {"garment": "crew_tshirt"}
    job = resolve_job({"seed": 3, "identities": {"count": 1, "sexes": [SEXES[hair]]},
                       "expressions": {"per_identity": per_identity}, "hair": HAIR[hair], "clothing": clothing,
                       "render": {"resolution": resolution, "samples": 32}})
    with tempfile.TemporaryDirectory() as data:
        write_plan(data, make_plan(job))
        started = time.perf_counter()
        stdout, memory = _run_watching_memory([sys.executable, str(REPO / "farm" / "render.py"), "--plan", data,
                                               "--shard", "0/1"])
        wall = time.perf_counter() - started
    images, render = re.search(r"(\d+) images rendered, render calls ([\d.]+) s", stdout).groups()
    images, render = int(images), float(render)
    median = float(re.search(r"median render ([\d.]+) s", stdout).group(1))
    build = float(re.search(r"head built in ([\d.]+) s", stdout).group(1))
    return {"resolution": resolution, "hair": hair, "images": images, "wall_s": round(wall, 2),
            "render_s": round(render, 2), "median_render_s": median, "head_build_s": build,
            "peak_memory_mib": round(memory), "overhead_ratio": round(wall / render, 3),
            "images_per_hour": round(3600 * images / wall)}


def _run_watching_memory(command: list[str]) -> tuple[str, float]:
    """Run a command to its end; returns its stdout and its peak resident memory in MiB (sampled)."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        peak = 0
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))
            except (OSError, AttributeError):
                pass
            time.sleep(0.2)
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, command)
        out.seek(0)
        return out.read(), peak / 1024


def run() -> dict:
    runs = [shard_run(256), shard_run(512)]
    hair = [shard_run(size, kind, per_identity=2) for size in (256, 512) for kind in HAIR]
    for run_ in hair:
        same = {kind: next(r for r in hair if r["resolution"] == run_["resolution"] and r["hair"] == kind)
                for kind in ("off", "bald")}
        run_["render_vs_bare"] = round(run_["median_render_s"] / same["off"]["median_render_s"], 2)
        run_["render_vs_bald"] = round(run_["median_render_s"] / same["bald"]["median_render_s"], 2)
    per_image_512 = runs[1]["wall_s"] / runs[1]["images"]
    cores = os.cpu_count() or 1  # a shard process renders on every core
    return {"benchmark": "farm", "runs": runs, "hair": hair,
            "projected_3dpain_cpu_hours_512": round(IMAGES_3DPAIN * per_image_512 * cores / 3600, 1)}


if __name__ == "__main__":
    print(run())

"""`pain3d generate`: plan, render and merge a job on this machine or on a SLURM cluster.

Rendering is split into shards by identity (`pain3d.farm.shards`); each shard is one Blender
process running `farm/render.py`, which builds each identity once. Locally a pool of
`workers` processes runs the shards; with SLURM the shards become one job array. Either
way progress is read from the shard manifests (one line per finished image), so it is the
same whether the renders run here or on other nodes, and a re-run resumes where a
previous one stopped.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_text
from pain3d.plan import PLAN_FILE, make_plan, plan_text, write_plan
from pain3d.farm.shards import merge, shard_manifest_path

RENDER_SCRIPT = Path(__file__).resolve().parent / "render.py"
BUNDLE_SCRIPT = Path(__file__).resolve().parent / "render_bundles.py"


@dataclass(frozen=True)
class Renderer:
    """How to start farm/render.py: a Blender binary (`blender -b -P ... --`) or this Python with bpy."""

    blender: str | None = None

    def command(self, data: Path, shard: str) -> list[str]:
        """Render one shard of the plan in DATA."""
        return self._script_command(RENDER_SCRIPT, ["--plan", str(data), "--shard", shard])

    def bundle_command(self, data: Path, identities: list[int]) -> list[str]:
        """Write the identity bundles of these identities of the plan in DATA."""
        return self._script_command(BUNDLE_SCRIPT, ["--plan", str(data),
                                                    "--identities", ",".join(map(str, identities))])

    def _script_command(self, script: Path, args: list[str]) -> list[str]:
        """The command line that runs a farm script with its arguments."""
        if self.blender:
            return [self.blender, "-b", "--factory-startup", "-P", str(script), "--", *args]
        return [sys.executable, str(script), *args]

    def check(self) -> None:
        if self.blender:
            if shutil.which(self.blender) is None:
                raise Pain3DError(f"--blender {self.blender}: not found; allowed: a Blender executable, 4.2 LTS to 5.3")
            return
        probe = subprocess.run([sys.executable, "-c", "import bpy"], capture_output=True)
        if probe.returncode != 0:
            raise Pain3DError("Blender is missing: pass --blender PATH or `pip install bpy==4.5.*`")


def prepare(job: dict, data: Path) -> dict:
    """Write the plan into DATA, or reuse the one there if it is the same job's plan."""
    plan = make_plan(job)
    existing = data / PLAN_FILE
    if existing.exists():
        if existing.read_text(encoding="utf-8") != plan_text(plan):
            raise Pain3DError(f"--out {data}: holds the plan of a different job; allowed: an empty folder or "
                              "this job's earlier output")
        return plan
    write_plan(data, plan)
    return plan


def total_images(plan: dict) -> int:
    return sum(len(i["expressions"]) for i in plan["identities"]) * len(plan["views"])


def rendered_images(data: Path, shards: int) -> int:
    """Finished images so far: complete lines in the shard manifests."""
    count = 0
    for index in range(shards):
        path = shard_manifest_path(data, index, shards)
        if path.exists():
            count += path.read_bytes().count(b"\n")
    return count


def run_local(data: Path, shards: int, workers: int, renderer: Renderer,
              progress: Callable[[int], None]) -> list[str]:
    """Run the shards, `workers` at a time; returns one line per failed shard."""
    pending = [f"{i}/{shards}" for i in range(shards)]
    running: dict[str, subprocess.Popen] = {}
    logs = data / "logs"
    logs.mkdir(exist_ok=True)
    failed = []
    try:
        while pending or running:
            while pending and len(running) < workers:
                shard = pending.pop(0)
                with open(logs / f"shard-{shard.replace('/', '-of-')}.log", "w") as log:
                    running[shard] = subprocess.Popen(renderer.command(data, shard), stdout=log,
                                                      stderr=subprocess.STDOUT)
            time.sleep(0.5)
            for shard, proc in list(running.items()):
                if proc.poll() is not None:
                    del running[shard]
                    if proc.returncode != 0:
                        failed.append(f"shard {shard} exited {proc.returncode}; see {logs}")
            progress(rendered_images(data, shards))
    except BaseException:  # Ctrl-C or an error here: no shard keeps rendering (and holding its lock) behind us
        _stop(list(running.values()))
        raise
    return failed


def _stop(procs: list[subprocess.Popen], grace_s: float = 30.0) -> None:
    """End shard processes and wait for them: SIGTERM, then SIGKILL after `grace_s` (what a shard
    had not finished stays in its temporary folder; the next run redoes it)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def slurm_script(data: Path, shards: int, renderer: Renderer, extra: str = "") -> str:
    """The sbatch script of a job array whose task I renders shard I/N (absolute paths: it runs from the repo)."""
    data = data.resolve()
    command = renderer.command(data, "${SLURM_ARRAY_TASK_ID}/" + str(shards))
    quoted = " ".join(c if "$" in c else shlex.quote(c) for c in command)
    lines = ["#!/bin/bash", "#SBATCH --job-name=pain3d", f"#SBATCH --array=0-{shards - 1}",
             f"#SBATCH --output={data / 'logs' / 'slurm-%A_%a.log'}"]
    lines += [f"#SBATCH {arg}" for arg in shlex.split(extra)]
    return "\n".join(lines + [f"cd {shlex.quote(str(RENDER_SCRIPT.parent.parent))}", f"exec {quoted}", ""])


def run_slurm(data: Path, shards: int, renderer: Renderer, progress: Callable[[int], None],
              extra: str = "", env: dict | None = None) -> list[str]:
    """Submit the shards as one SLURM job array and follow it until it leaves the queue."""
    if shutil.which("sbatch") is None:
        raise Pain3DError("--launcher slurm: sbatch is not on PATH; allowed: a machine that can submit SLURM jobs")
    (data / "logs").mkdir(exist_ok=True)
    script = data / "logs" / "render.sbatch"
    atomic_write_text(script, slurm_script(data, shards, renderer, extra))
    submitted = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True, env=env)
    if submitted.returncode != 0:
        raise Pain3DError(f"sbatch refused the job: {submitted.stderr.strip()}")
    job_id = submitted.stdout.strip().split(";")[0]
    while True:
        queued = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%i"], capture_output=True, text=True, env=env)
        progress(rendered_images(data, shards))
        if queued.returncode == 0 and not queued.stdout.strip():
            break
        time.sleep(1.0)
    logs = data.resolve() / "logs"
    return [f"shard {i} wrote no manifest; see {logs / f'slurm-{job_id}_{i}.log'}" for i in range(shards)
            if not shard_manifest_path(data, i, shards).exists()]


def finish(data: Path, plan: dict) -> tuple[int, list[str]]:
    """Merge the shard manifests; returns the row count and the images still missing."""
    rows = merge(data)
    missing = total_images(plan) - rows
    return rows, ([f"{missing} of {total_images(plan)} images are missing; re-run to resume"] if missing else [])


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1) // 2)

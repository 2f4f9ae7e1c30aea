"""`pain3d generate` end to end: a local pool of Blender processes, and a SLURM job array on a
real single-node cluster (slurm-wlm + munge), each merged and validated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pain3d import dataset
from tests.blender.harness import REPO, bpy_missing
from tests.slurm_cluster import SlurmCluster, slurm_available

pytestmark = bpy_missing

JOB = """
seed = 5
name = "generate-test"
[identities]
count = 2
[expressions]
per_identity = 1
[render]
resolution = 64
samples = 2
views = [0, 30]
"""


def generate(tmp_path, *args, env=None) -> subprocess.CompletedProcess:
    (tmp_path / "job.toml").write_text(JOB)
    return subprocess.run([sys.executable, "-m", "pain3d", "generate", "--config", str(tmp_path / "job.toml"),
                           "--out", str(tmp_path / "DATA"), *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=900)


def test_local_pool(tmp_path):
    result = generate(tmp_path, "--workers", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "generated 8 images" in result.stdout
    assert len(dataset.read_manifest(tmp_path / "DATA")) == 8
    again = generate(tmp_path, "--workers", "2")  # a finished job re-runs as a no-op
    assert again.returncode == 0 and "generated 8 images" in again.stdout


@pytest.mark.skipif(not slurm_available(), reason="slurm-wlm and munge are not installed")
def test_slurm_job_array(tmp_path):
    with SlurmCluster(tmp_path / "cluster") as cluster:
        result = generate(tmp_path, "--launcher", "slurm", env=cluster.env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "DATA" / "shards").glob("*.jsonl")) == [
        "manifest-0000-of-0002.jsonl", "manifest-0001-of-0002.jsonl"]
    assert "#SBATCH --array=0-1" in (tmp_path / "DATA" / "logs" / "render.sbatch").read_text()
    assert dataset.validate(tmp_path / "DATA").ok


def test_missing_blender_and_foreign_output_are_one_line_errors(tmp_path):
    result = generate(tmp_path, "--blender", str(tmp_path / "no-blender"))
    assert result.returncode == 2 and "--blender" in result.stderr and "not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "other.toml").write_text(JOB.replace("seed = 5", "seed = 6"))
    first = subprocess.run([sys.executable, "-m", "pain3d", "plan", "--config", str(tmp_path / "other.toml"),
                            "--out", str(tmp_path / "DATA")], capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0
    clash = generate(tmp_path)
    assert clash.returncode == 2 and "different job" in clash.stderr


def test_slurm_script_names_absolute_paths(tmp_path, monkeypatch):
    """Tasks start in the checkout, not where `generate` ran: a relative --out must not leak in."""
    from pain3d.farm.launch import Renderer, slurm_script

    monkeypatch.chdir(tmp_path)
    script = slurm_script(tmp_path.relative_to(tmp_path) / "data", 3, Renderer(None), "--time=1:00")
    assert f"--plan {tmp_path / 'data'} --shard ${{SLURM_ARRAY_TASK_ID}}/3" in script
    assert f"#SBATCH --output={tmp_path / 'data' / 'logs'}/slurm-%A_%a.log" in script
    assert "#SBATCH --time=1:00" in script and f"cd {REPO}" in script

"""The test SLURM cluster itself: starts, runs a job array through sbatch, stops cleanly."""

import subprocess

import pytest

from tests.slurm_cluster import SlurmCluster, slurm_available

pytestmark = pytest.mark.skipif(not slurm_available(), reason="slurm-wlm and munge are not installed")


def test_single_node_cluster_runs_an_array(tmp_path):
    job = tmp_path / "job.sh"
    job.write_text(f"#!/bin/bash\necho $SLURM_ARRAY_TASK_ID > {tmp_path}/task_$SLURM_ARRAY_TASK_ID\n")
    with SlurmCluster(tmp_path / "cluster") as cluster:
        result = cluster.run(["sbatch", "--wait", "--array=0-2", f"--output={tmp_path}/%A_%a.log", str(job)],
                             timeout=120)
        assert result.returncode == 0, result.stderr
        pids = [int((tmp_path / "cluster" / f"{n}.pid").read_text()) for n in ("slurmctld", "slurmd")]
    assert sorted(p.read_text().strip() for p in tmp_path.glob("task_*")) == ["0", "1", "2"]
    running = subprocess.run(["ps", "-o", "pid=", "-p", ",".join(map(str, pids))], capture_output=True, text=True)
    assert running.stdout.strip() == ""

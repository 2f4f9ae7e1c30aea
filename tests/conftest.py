"""Shared fixtures for the Pain3D test suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MINIMAL_JOB = """\
seed = 7
[identities]
count = 6
[expressions]
per_identity = 3
[render]
resolution = 128
views = [-30, 0, 30]   # yaw in degrees
"""


@pytest.fixture
def minimal_job(tmp_path: Path) -> Path:
    path = tmp_path / "job.toml"
    path.write_text(MINIMAL_JOB)
    return path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed `pain3d` console command for real, capturing its output."""
    exe = Path(sys.executable).with_name("pain3d")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pain3d"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=300)

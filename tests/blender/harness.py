"""Run scripts under the real `bpy` module in a fresh process, and read back their result.

Each script runs in its own Python process (Blender's state is global and one process
per test keeps tests independent), with Blender's user folders pointed into a temporary
directory so that installing the extension never touches the machine's own Blender.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULT_MARK = "PAIN3D_RESULT="

bpy_missing = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import bpy"], capture_output=True).returncode != 0,
    reason="the bpy module (pip install bpy==4.5.*) is not installed",
)

PRELUDE = """
import json, sys
sys.path.insert(0, {repo!r})
def report(value):
    print({mark!r} + json.dumps(value), flush=True)
"""


def blender_user_env(home: Path) -> dict[str, str]:
    """Blender's user folders (extensions, config, scripts) inside `home`, not the machine's own."""
    return {"BLENDER_USER_EXTENSIONS": str(home / "extensions"), "BLENDER_USER_CONFIG": str(home / "config"),
            "BLENDER_USER_SCRIPTS": str(home / "scripts")}


# Scripts end through the add-on's compat layer when they loaded it (Blender 4.2's module
# crashes in its own teardown after Python exits; the farm's scripts end the same way).
EPILOGUE = """
if "pain3d.addon.compat" in sys.modules:
    sys.modules["pain3d.addon.compat"].exit_process(0)
"""


def run_bpy(script: str, home: Path, timeout: int = 600, args: tuple[str, ...] = (),
            python: str = sys.executable) -> object:
    """Run `script` (which calls report(value)) under bpy; returns the reported value.

    `python` is the interpreter whose bpy runs it (a Blender version's environment)."""
    return json.loads(run_bpy_process(script, home, timeout, args, python).results[-1])


@dataclass
class BpyRun:
    results: list[str]  # every report(value), as JSON
    stderr: str


def run_bpy_process(script: str, home: Path, timeout: int = 600, args: tuple[str, ...] = (),
                    python: str = sys.executable) -> BpyRun:
    """`run_bpy`, keeping stderr too (what Blender printed on the way out)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **blender_user_env(home), "PYTHONUNBUFFERED": "1"}
    code = PRELUDE.format(repo=str(REPO), mark=RESULT_MARK) + textwrap.dedent(script) + EPILOGUE
    path = home / "script.py"
    path.write_text(code)
    proc = subprocess.run([python, str(path), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=home)
    results = [line[len(RESULT_MARK):] for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not results:
        raise AssertionError(f"bpy script failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return BpyRun(results, proc.stderr)


def render_job(root: Path, job_text: str) -> tuple[Path, list[dict]]:
    """Plan, render (farm/render.py, one shard), merge and validate a job file's dataset under
    `root`; returns the data folder and its manifest rows."""
    (root / "job.toml").write_text(job_text)
    out = root / "data"
    env = {**os.environ, "BLENDER_USER_CONFIG": str(root / "config")}
    for command in ([sys.executable, "-m", "pain3d", "plan", "--config", str(root / "job.toml"), "--out", str(out)],
                    [sys.executable, str(REPO / "farm" / "render.py"), "--plan", str(out), "--shard", "0/1"],
                    [sys.executable, "-m", "pain3d", "merge", str(out)],
                    [sys.executable, "-m", "pain3d", "validate", str(out)]):
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def erode(region, steps: int = 2):
    """A boolean image shrunk by `steps` pixels (4-neighbourhood; the border counts as inside)."""
    import numpy as np

    for _ in range(steps):
        padded = np.pad(region, 1, constant_values=True)
        region = region & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return region


def read_png(root: Path, rel: str):
    """A dataset file's pixels (a row's relative path under `root`) as a numpy array."""
    import numpy as np
    from PIL import Image

    return np.array(Image.open(root / rel))

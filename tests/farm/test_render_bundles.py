"""farm/render_bundles.py under the real `bpy` module: identity bundles for texturing."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from pain3d import identity_bundle
from tests.blender.harness import REPO, bpy_missing

pytestmark = bpy_missing

JOB = """
seed = 5
[identities]
count = 2
[expressions]
per_identity = 1
[texture]
size = 256
portrait_resolution = 128
side_views = true
"""
BUNDLE = [sys.executable, str(REPO / "farm" / "render_bundles.py")]


def test_bundle_views_line_up_with_blenders_renders(tmp_path):
    (tmp_path / "job.toml").write_text(JOB)
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "pain3d", "plan", "--config", str(tmp_path / "job.toml"),
                    "--out", str(data)], check=True, cwd=REPO, capture_output=True)
    done = subprocess.run(BUNDLE + ["--plan", str(data), "--identities", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 written" in done.stdout
    folder = identity_bundle.bundle_dir(data, 1)
    header = json.loads((folder / "bundle.json").read_text())
    assert header["format"] == "pain3d-bundle" and header["identity"] == 1 and header["uv_size"] == 256
    assert [v["name"] for v in header["views"]] == ["front", "left45", "right45"]
    maps = np.load(folder / "uv_maps.npz")
    assert maps["position"].shape == (256, 256, 3) and maps["coverage"].mean() > 0.8
    for view in header["views"]:
        alpha = np.asarray(Image.open(folder / view["render"]))[..., 3] > 127
        depth = np.asarray(Image.open(folder / view["depth"]))
        seen = np.load(folder / view["uv"])
        assert depth.dtype == np.uint16 and seen["uv"].shape == (128, 128, 2)
        head = depth > 0  # every surface of the head, eyes and teeth included
        iou = (alpha & head).sum() / (alpha | head).sum()
        assert iou > 0.97, (view["name"], iou)  # Blender's pixels and the rasterised correspondence agree
        assert (seen["visible"] & ~head).sum() == 0
        assert 0.3 < seen["visible"].sum() / head.sum() <= 1.0
        metres = depth[head] * identity_bundle.DEPTH_UNIT_M
        assert 0.3 < metres.min() < metres.max() < 3.0
    again = subprocess.run(BUNDLE + ["--plan", str(data), "--identities", "1"], capture_output=True, text=True)
    assert again.returncode == 0 and "0 written, 1 already complete" in again.stdout
    assert not identity_bundle.is_complete(data, 0)


def test_bad_identity_list_is_a_one_line_error(tmp_path):
    (tmp_path / "job.toml").write_text(JOB)
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "pain3d", "plan", "--config", str(tmp_path / "job.toml"),
                    "--out", str(data)], check=True, cwd=REPO, capture_output=True)
    for bad in ("7", "a,b", "-1"):
        done = subprocess.run(BUNDLE + ["--plan", str(data), "--identities", bad], capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "--identities" in done.stderr and "Traceback" not in done.stderr

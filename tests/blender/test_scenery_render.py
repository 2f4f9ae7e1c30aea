"""A tiny farm render with depth, normals and a gradient background: the labels stay clean."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pain3d.dataset import MASK_CLASSES
from PIL import Image

from tests.blender.harness import bpy_missing, erode, read_png, render_job

pytestmark = bpy_missing

JOB = """seed = 4
[identities]
count = 1
[expressions]
per_identity = 1
[render]
resolution = 64
samples = 4
views = [0, 30]
depth = true
normals = true
[lighting]
white_balance = 0.0
[background]
kinds = {gradient = 1}
saturation = [0.6, 0.9]
value = [0.7, 0.9]
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return render_job(tmp_path_factory.mktemp("scenery"), JOB)


def test_depth_and_normals_files_exist(data):
    out, rows = data
    assert len(rows) == 4
    for row in rows:
        assert row["depth"] == f"depths/{row['sample_id']}.png"
        assert row["normals"] == f"normals/{row['sample_id']}.png"
        assert Image.open(out / row["depth"]).mode == "I;16"
        assert Image.open(out / row["normals"]).mode == "RGB"


def test_background_is_drawn_and_labels_stay_clean(data):
    out, rows = data
    for row in rows:
        image = read_png(out, row["image"]).astype(float)[..., :3]
        mask = read_png(out, row["mask"])
        off = mask == 0
        assert off.mean() > 0.2 and (~off).mean() > 0.2
        camera = json.loads((out / row["camera"]).read_text())
        background = camera["scene"]["background"]
        assert background["kind"] == "gradient"
        # the old default world rendered as flat dark grey; the gradient is saturated and bright
        corners = image[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert (corners.max(axis=1) - corners.min(axis=1)).max() > 40 and corners.max() > 150
        colours = np.array(background["colors"]) * 255
        # away from the anti-aliased edges of the head and of its hair (a stray strand thinner than a
        # pixel is in the image but rarely in the mask, which takes one sample per pixel)
        clear = erode(off) & ~_dilate(mask == MASK_CLASSES["hair"], 4)
        assert (image[clear] >= colours.min(axis=0) - 3).all() and (image[clear] <= colours.max(axis=0) + 3).all()
        if row["heatmap"]:
            assert not read_png(out, row["heatmap"])[off].any()


def _dilate(region: np.ndarray, steps: int) -> np.ndarray:
    return ~erode(~region, steps)



def test_depth_matches_the_camera(data):
    out, rows = data
    for row in rows:
        depth = read_png(out, row["depth"]).astype(float) * 0.1  # mm
        mask = read_png(out, row["mask"])
        assert ((depth > 0) == (mask > 0)).all()
        camera = json.loads((out / row["camera"]).read_text())
        assert camera["depth_unit_m"] == 1e-4
        distance = camera["extrinsics"][2][3] * 1000  # camera to face centre along the axis, mm
        on = depth[depth > 0]
        assert distance - 150 < np.median(on) < distance + 100


def test_normals_are_unit_and_face_the_camera(data):
    out, rows = data
    for row in rows:
        normals = read_png(out, row["normals"]).astype(float)
        mask = read_png(out, row["mask"])
        assert not normals[mask == 0].any()
        n = normals[mask > 0] / 255 * 2 - 1
        assert np.median(np.linalg.norm(n, axis=1)) == pytest.approx(1.0, abs=0.05)
        assert np.median(n[:, 2]) > 0.5  # z towards the camera
        # the top of the skin faces up (+y) (hair strands are ribbons that face the camera)
        ys, xs = np.nonzero(mask == MASK_CLASSES["skin"])
        top = ys < ys.min() + 0.1 * (ys.max() - ys.min())  # the top tenth of the skin seen
        assert np.median(normals[ys[top], xs[top], 1] / 255 * 2 - 1) > 0.3


def test_scene_records_are_deterministic(data, tmp_path):
    out, rows = data
    cameras = [json.loads((out / r["camera"]).read_text())["scene"] for r in rows]
    from pain3d import scenery
    from pain3d.plan import read_plan

    plan = read_plan(out)
    identity = plan["identities"][0]
    expected = [scenery.draw_scene(plan["job"], identity, next(e for e in identity["expressions"]
                                                                if e["id"] == r["expression"]), r["view_index"])
                for r in rows]
    assert cameras == json.loads(json.dumps(expected))

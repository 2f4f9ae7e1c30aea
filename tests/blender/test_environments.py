"""Environment maps in real Blender: our projection is what Cycles sees of the world, and a farm
render with an environment background shows that map behind the head, labels untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pain3d.dataset import MASK_CLASSES
from tests.blender.harness import bpy_missing, erode, render_job, run_bpy

pytestmark = bpy_missing


def test_projection_matches_cycles_world(tmp_path):
    """Cycles renders the world (a built-in map, rotated, and once tilted as a clinical scene's room)
    through a turned camera; our numpy projection of the same map must give the same pixels."""
    result = run_bpy("""
        import bpy, numpy as np
        from mathutils import Matrix
        from pain3d import camera as cam, environments
        from pain3d.addon import stage
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        out = {}
        for name, rotation, yaw, pitch, tilt in (("forest", 40.0, 30.0, 10.0, [0.0, 0.0]),
                                                 ("city", 200.0, -60.0, -5.0, [0.0, 0.0]),
                                                 ("interior", 70.0, 20.0, -20.0, [-55.0, 17.0])):
            world = {"kind": "environment", "path": f"builtin:{name}.exr", "rotation": rotation, "strength": 0.08,
                     "tilt": tilt}
            stage.set_world(scene, world)
            camera = cam.orbit_camera(np.array([0.0, 0.0, 1.6]), 0.25, yaw, pitch, 48)
            obj = bpy.data.objects.get("C") or bpy.data.objects.new("C", bpy.data.cameras.new("C"))
            if obj.name not in scene.collection.objects:
                scene.collection.objects.link(obj)
            scene.camera = obj
            stage.place_camera(obj, camera)
            scene.render.engine = "CYCLES"
            scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.filter_width = 1, False, 0.01
            scene.render.resolution_x = scene.render.resolution_y = 48
            scene.render.image_settings.file_format = "OPEN_EXR"
            scene.render.filepath = f"{name}.exr"
            bpy.ops.render.render(write_still=True)
            rendered = bpy.data.images.load(bpy.path.abspath(f"//{name}.exr") if bpy.data.filepath else f"{name}.exr")
            rgba = np.empty(48 * 48 * 4, np.float32)
            rendered.pixels.foreach_get(rgba)
            cycles = rgba.reshape(48, 48, 4)[::-1, :, :3]
            image = stage.environment_image(world["path"])
            ours = environments.environment_view(stage.linear_pixels(image), camera, rotation, 48,
                                                 stage.environment_scale(world, image), 0.0, tilt)
            strength = scene.world.node_tree.nodes["Background"].inputs["Strength"].default_value
            out[name] = {"max_rel": float(np.max(np.abs(cycles - ours)) / cycles.max()), "mean": float(cycles.mean()),
                         "scaled_mean": float(environments.mean_luminance(stage.linear_pixels(image)) * strength)}
        report(out)
    """, tmp_path)
    for name, r in result.items():
        assert r["max_rel"] < 1e-3, (name, r)
        assert r["scaled_mean"] == pytest.approx(0.08, rel=1e-4)  # exposure: the map's mean luminance


JOB = """seed = 11
[identities]
count = 1
[expressions]
per_identity = 1
[render]
resolution = 64
samples = 4
views = [0, 30]
[lighting]
environment = "builtin"
[background]
kinds = {environment = 1}
blur = [0.0, 0.0]
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return render_job(tmp_path_factory.mktemp("environment"), JOB)


def test_the_background_is_the_world_seen_through_the_camera(data, tmp_path):
    out, rows = data
    cameras = [json.loads((out / r["camera"]).read_text()) for r in rows]
    expected = run_bpy("""
        import json, sys, numpy as np
        from pain3d import camera as cam, environments
        from pain3d.addon import stage
        from pain3d.colour import linear_to_srgb, view_transform
        out = []
        for record in json.loads(sys.argv[1]):
            world = record["scene"]["lighting"]["world"]
            world_to_camera = np.diag([1.0, -1.0, -1.0, 1.0]) @ np.array(record["extrinsics"])  # OpenCV axes back
            size = record["resolution"]
            camera = cam.Camera(np.linalg.inv(world_to_camera), record["intrinsics"][0][0] * cam.SENSOR_WIDTH_MM / size,
                                size, size)
            image = stage.environment_image(world["path"])
            seen = environments.environment_view(stage.linear_pixels(image), camera, world["rotation"], 64,
                                                 stage.environment_scale(world, image), 0.0)
            seen = seen * np.array(record["scene"]["lighting"]["white_balance"])  # the camera's white balance
            out.append((linear_to_srgb(view_transform(seen)) * 255).tolist())
        report(out)
    """, tmp_path, args=(json.dumps(cameras),))
    for row, camera, want in zip(rows, cameras, expected):
        scene = camera["scene"]
        assert scene["background"]["kind"] == "environment"
        assert scene["lighting"]["world"]["path"].startswith("builtin:")
        image = np.array(Image.open(out / row["image"])).astype(float)[..., :3]
        mask = np.array(Image.open(out / row["mask"]))
        clear = erode(mask == 0, 3)
        assert clear.mean() > 0.2
        diff = np.abs(image - np.array(want))[clear]
        assert np.median(diff) < 2.0 and np.percentile(diff, 99) < 6.0, (np.median(diff), np.percentile(diff, 99))
        if row["heatmap"]:
            assert not np.array(Image.open(out / row["heatmap"]))[mask == 0].any()
        assert (mask[~clear] >= 0).all() and set(np.unique(mask)) <= set(MASK_CLASSES.values())


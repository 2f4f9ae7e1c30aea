"""The Blender tests that can break with Blender's API, on every other supported version.

The whole suite runs on the default Blender (4.5 LTS, `.venv`); `make test` also builds one
environment per other supported version (`.venv-blender/VERSION`: 4.2 LTS and 5.0 on Python
3.11, 5.3 on Python 3.13 with numpy 2). Here each of them installs and enables the extension,
runs its operators, drives AU shape keys at every FACS letter, renders previews, renders a tiny
plan through the farm whose label files must match the default version's, and exits cleanly.
A version whose environment is missing is skipped with the reason, never passed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pain3d import facs, textureset
from pain3d.app.extension import build
from tests.blender.harness import REPO, bpy_missing, run_bpy_process
from tests.blender.test_extension import OPERATORS

pytestmark = bpy_missing

VERSIONS = ("4.2", "5.0", "5.3")  # beside the default in .venv
MATRIX = REPO / ".venv-blender"
JOB = """\
seed = 5
[identities]
count = 2
[expressions]
per_identity = 1
[lighting]
per = "image"
[background]
kinds = {procedural = 1, images = 1}
images = "backgrounds"
[render]
resolution = 64
samples = 8
views = [-30, 30]
depth = true
normals = true
"""
# Largest per-image difference from the default version's labels: Cycles versions sample pixels
# differently, so filtered passes differ by noise at the head's edge and inside it; geometry
# (depth) and classes (mask) stay put. Mean absolute difference over the head, as a fraction of
# the range, or the fraction of pixels that differ.
TOLERANCE = {"masks": 0.02, "depths": 0.01, "heatmaps": 0.03, "heatmaps_color": 0.08, "normals": 0.04,
             "images": 0.15}


def blender_python(version: str) -> str:
    """The interpreter of a version's environment; skips, saying why, where it is not built."""
    stamp = MATRIX / version / ".installed"
    if not stamp.exists():
        pytest.skip(f"Blender {version}: {stamp.parent} is not installed here (`make blender-versions` builds it; "
                    "5.3 needs Python 3.13 and the bpy 5.3 wheel)")
    return str(MATRIX / version / "bin" / "python")


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("ext"))


@pytest.mark.parametrize("version", VERSIONS)
def test_extension_operators_drivers_and_previews(version, zip_path, tmp_path):
    run = run_bpy_process(f"""
        import bpy, addon_utils
        out = {{"version": list(bpy.app.version[:2])}}
        out["install"] = list(bpy.ops.extensions.package_install_files(
            filepath={str(zip_path)!r}, repo="user_default", enable_on_install=True))
        module = "bl_ext.user_default.pain3d"
        out["enabled"] = module in bpy.context.preferences.addons
        out["operators"] = [n for n in {OPERATORS!r} if hasattr(bpy.types, "PAIN3D_OT_" + n)]
        assert bpy.ops.pain3d.new_head() == {{"FINISHED"}}
        head = bpy.context.active_object
        keys = head.data.shape_keys.key_blocks
        weights = {{}}
        for key, target, values in (("AU4", "AU4_L", [0, 1, 2, 3, 4, 5]), ("AU43", "AU43", [0, 1])):
            for value in values:
                setattr(head.pain3d, key, value)
                bpy.context.scene.frame_set(bpy.context.scene.frame_current)
                bpy.context.view_layer.update()
                weights[f"{{key}}={{value}}"] = keys[target].value
        out["weights"] = weights
        out["preset"] = list(bpy.ops.pain3d.apply_preset(preset="severe"))
        out["random"] = list(bpy.ops.pain3d.random_expression())
        out["cameras"] = list(bpy.ops.pain3d.add_preview_cameras())
        settings = bpy.context.scene.pain3d
        settings.preview_path = {str(tmp_path / "preview.png")!r}
        settings.preview_resolution, settings.preview_samples = 64, 4
        out["preview"] = list(bpy.ops.pain3d.render_preview())
        settings.export_path = {str(tmp_path / "job.toml")!r}
        out["export"] = list(bpy.ops.pain3d.export_job())
        for cycle in range(2):
            addon_utils.disable(module, default_set=True)
            addon_utils.enable(module, default_set=True)
        out["back"] = hasattr(bpy.types, "PAIN3D_OT_new_head")
        report(out)
    """, tmp_path / "home", python=blender_python(version))
    result = json.loads(run.results[-1])
    assert ".".join(map(str, result["version"])) == version
    assert result["install"] == ["FINISHED"] and result["enabled"] and result["operators"] == OPERATORS
    for key, value in (("AU4", v) for v in range(6)):  # each FACS letter's weight, as the core maps it
        assert result["weights"][f"{key}={value}"] == pytest.approx(float(facs.intensity_to_weight(value)), abs=1e-4)
    assert result["weights"]["AU43=0"] == 0 and result["weights"]["AU43=1"] == pytest.approx(1.0)
    assert all(result[k] == ["FINISHED"] for k in ("preset", "random", "cameras", "preview", "export"))
    assert result["back"]
    with Image.open(tmp_path / "preview.png") as preview:
        pixels = np.asarray(preview.convert("RGB"), float)
    assert preview.size == (64, 64) and pixels.std() > 10  # a lit head, not an empty frame
    assert "[[expressions.explicit]]" in (tmp_path / "job.toml").read_text()
    assert "Exception" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]


@pytest.fixture(scope="module")
def default_render(tmp_path_factory) -> Path:
    """A tiny plan rendered on the default version: the labels every other version must match."""
    root = tmp_path_factory.mktemp("plan")
    (root / "backgrounds").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 90, 3), dtype=np.uint8)).save(root / "backgrounds" / f"b{i}.png")
    (root / "job.toml").write_text(JOB)
    data = root / "data"
    done = subprocess.run([sys.executable, "-m", "pain3d", "plan", "--config", str(root / "job.toml"), "--out",
                           str(data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    render(sys.executable, data)
    return data


def render(python: str, data: Path) -> subprocess.CompletedProcess:
    """Render the plan's one shard and merge it, as a render node would."""
    done = subprocess.run([python, str(REPO / "farm" / "render.py"), "--plan", str(data), "--shard", "0/1"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    merged = subprocess.run([sys.executable, "-m", "pain3d", "merge", str(data)], capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    return done


def label_differences(ours: Path, theirs: Path, row: dict) -> dict[str, float]:
    """Per label kind, the measure TOLERANCE bounds (see there)."""
    def read(data: Path, rel: str) -> np.ndarray:
        with Image.open(data / rel) as image:
            return np.asarray(image, float)

    head = (read(ours, row["mask"]) > 0) | (read(theirs, row["mask"]) > 0)
    out = {}
    for folder, field, full in (("masks", "mask", 255), ("depths", "depth", 65535), ("heatmaps", "heatmap", 65535),
                                ("heatmaps_color", "heatmap_color", 255), ("normals", "normals", 255),
                                ("images", "image", 255)):
        if row.get(field) is None:
            continue
        diff = np.abs(read(ours, row[field]) - read(theirs, row[field]))
        diff = diff.reshape(diff.shape[0], diff.shape[1], -1).max(-1)
        out[folder] = float((diff > 0).mean()) if folder in ("masks", "depths") else float(diff[head].mean() / full)
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_farm_renders_the_same_labels(version, default_render, tmp_path):
    python = blender_python(version)
    data = tmp_path / "data"
    shutil.copytree(default_render, data, ignore=shutil.ignore_patterns(
        "images", "heatmaps*", "masks", "depths", "normals", "cameras", "shards", "manifest.jsonl", ".tmp"))
    done = render(python, data)
    assert "Exception" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    ours = [json.loads(line) for line in (default_render / "manifest.jsonl").read_text().splitlines()]
    theirs = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()]
    assert len(theirs) == len(ours) == 2 * 2 * 2
    for a, b in zip(ours, theirs):
        landmarks = np.abs(np.asarray(a.pop("landmarks")) - np.asarray(b.pop("landmarks"))).max()
        assert a == b and landmarks < 0.02  # same rows, same geometry
        camera = json.loads((data / b["camera"]).read_text())
        expected = json.loads((default_render / a["camera"]).read_text())
        for key in ("intrinsics", "extrinsics"):  # the same camera, up to float rounding of the face centre
            assert np.allclose(camera.pop(key), expected.pop(key), atol=1e-9)
        assert camera == expected
        for kind, difference in label_differences(default_render, data, a).items():
            assert difference <= TOLERANCE[kind], (version, a["sample_id"], kind, difference)


@pytest.mark.parametrize("version", VERSIONS)
def test_failing_shard_exits_with_its_code(version, tmp_path):
    """After Blender has started, the exit code still says what happened (4.2's teardown crashes)."""
    python = blender_python(version)
    (tmp_path / "job.toml").write_text(JOB.replace('kinds = {procedural = 1, images = 1}\nimages = "backgrounds"\n',
                                                   ""))
    data = tmp_path / "data"
    assert subprocess.run([sys.executable, "-m", "pain3d", "plan", "--config", str(tmp_path / "job.toml"),
                           "--out", str(data)], capture_output=True).returncode == 0
    broken = textureset.texture_dir(data, 0)  # identity 0's texture set names images that are not there
    broken.mkdir(parents=True)
    missing = {name: f"missing_{file}" for name, file in textureset.FILES.items()}
    (broken / textureset.HEADER).write_text(json.dumps({"format": textureset.FORMAT, "files": missing,
                                                        "format_version": textureset.FORMAT_VERSION}))
    done = subprocess.run([python, str(REPO / "farm" / "render.py"), "--plan", str(data), "--shard", "0/1"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "1 identities failed: identity 0" in done.stderr


def test_core_and_training_on_python_313_and_numpy_2():
    """The pure core and training run on Python 3.13 with numpy 2 (the 5.3 environment)."""
    python = blender_python("5.3")
    probe = subprocess.run([python, "-c", "import sys, numpy; print(sys.version_info[:2], numpy.__version__)"],
                           capture_output=True, text=True)
    assert probe.stdout.startswith("(3, 13) 2."), probe.stdout + probe.stderr
    done = subprocess.run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/unit",
                           "tests/training", "tests/architecture", "tests/farm/test_shard_render.py"],
                          capture_output=True, text=True, cwd=REPO, timeout=3000)
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout.splitlines()[-1]

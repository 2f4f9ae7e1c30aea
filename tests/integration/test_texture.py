"""`pain3d texture` end to end: procedural and diffusion backends through the CLI, caching,
one-line errors, and the farm rendering with the texture sets it finds."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pain3d import identity_bundle, textureset
from tests.blender.harness import REPO, bpy_missing
from tests.conftest import run_cli
from tests.texturing.tiny_pipeline import write_tiny_models

JOB = """
seed = 4
[identities]
count = 2
[expressions]
per_identity = 1
[render]
resolution = 64
samples = 4
views = [0]
[texture]
size = 128
portrait_resolution = 64
steps = 2
batch_size = 2
"""


def planned(tmp_path, extra: str = ""):
    (tmp_path / "job.toml").write_text(JOB + extra)
    data = tmp_path / "data"
    assert run_cli("plan", "--config", str(tmp_path / "job.toml"), "--out", str(data)).returncode == 0
    return data


def test_procedural_sets_are_written_once(tmp_path):
    data = planned(tmp_path)
    first = run_cli("texture", "--plan", str(data))
    assert first.returncode == 0, first.stderr
    assert "2 made, 0 up to date" in first.stderr
    for i in (0, 1):
        header = textureset.complete_set(data, i)
        assert header["backend"] == "procedural" and header["size"] == 128 and header["identity"] == i
        for name, file in header["files"].items():
            image = Image.open(textureset.texture_dir(data, i) / file)
            assert image.size == ((128, 128) if name != "eyes" else image.size)
    again = run_cli("texture", "--plan", str(data))
    assert "0 made, 2 up to date" in again.stderr
    (textureset.texture_dir(data, 1) / "texture.json").unlink()  # an unfinished set is made again
    assert "1 made, 1 up to date" in run_cli("texture", "--plan", str(data)).stderr
    assert not list((data / "textures").glob(".tmp-*"))


def test_bad_identity_list_is_a_one_line_error(tmp_path):
    done = run_cli("texture", "--plan", str(planned(tmp_path)), "--identities", "0,9")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--identities" in done.stderr


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    return write_tiny_models(tmp_path_factory.mktemp("models"))


@bpy_missing
def test_diffusion_paints_from_bundles_and_caches(tmp_path, tiny_models):
    base, control = tiny_models
    data = planned(tmp_path, f'base_model = "{base}"\ncontrolnet = "{control}"\n')
    first = run_cli("texture", "--plan", str(data), "--backend", "diffusion")
    assert first.returncode == 0, first.stderr
    assert "writing 2 identity bundle(s)" in first.stderr and "2 made" in first.stderr
    for i in (0, 1):
        assert identity_bundle.is_complete(data, i)
        header = textureset.complete_set(data, i)
        assert header["backend"] == "diffusion" and header["params"]["steps"] == 2
        albedo = np.asarray(Image.open(textureset.texture_dir(data, i) / "albedo.png"))
        assert albedo.shape == (128, 128, 3)
    again = run_cli("texture", "--plan", str(data), "--backend", "diffusion")
    assert again.returncode == 0 and "0 made, 2 up to date" in again.stderr and "bundle" not in again.stderr


def test_missing_model_names_the_identity(tmp_path):
    data = planned(tmp_path, f'base_model = "{tmp_path / "nowhere"}"\n')
    done = run_cli("texture", "--plan", str(data), "--backend", "diffusion")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "identity 0" in done.stderr and "Traceback" not in done.stderr
    assert textureset.complete_set(data, 0) is None and not identity_bundle.is_complete(data, 0)  # failed before any work


@bpy_missing
def test_farm_renders_with_the_texture_set(tmp_path):
    data = planned(tmp_path)
    render = [sys.executable, str(REPO / "farm" / "render.py"), "--plan", str(data), "--shard", "0/1"]
    assert subprocess.run(render, capture_output=True).returncode == 0
    plain = _face_pixels(data)
    assert run_cli("texture", "--plan", str(data)).returncode == 0
    red = np.zeros((128, 128, 3), np.uint8)
    red[..., 0] = 230
    Image.fromarray(red).save(textureset.texture_dir(data, 0) / "albedo.png")  # paint identity 0 red
    for folder in ("images", "masks", "heatmaps", "heatmaps_color", "cameras", "shards"):
        subprocess.run(["rm", "-rf", str(data / folder)])
    assert subprocess.run(render, capture_output=True).returncode == 0
    textured = _face_pixels(data)
    green_share = [pixels[1] / pixels[0] for pixels in (plain[0], textured[0])]
    # the red albedo left little green on identity 0's skin (not none: where the key light is
    # brightest the view transform's highlight roll-off turns the red towards white)
    assert green_share[1] < 0.45 * green_share[0]
    assert abs(textured[1][0] / textured[1][1] - plain[1][0] / plain[1][1]) < 1.0  # identity 1: a skin texture


def _face_pixels(data) -> list[np.ndarray]:
    """Mean RGB of the skin pixels of each identity's neutral frontal image."""
    rows = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()] \
        if (data / "manifest.jsonl").exists() else _shard_rows(data)
    means = []
    for i in (0, 1):
        row = next(r for r in rows if r["identity"] == i and r["expression"] == "neutral")
        image = np.asarray(Image.open(data / row["image"]).convert("RGB"), float)
        mask = np.asarray(Image.open(data / row["mask"])) == 1
        means.append(image[mask].mean(0))
    return means


def _shard_rows(data) -> list[dict]:
    return [json.loads(line) for path in sorted((data / "shards").glob("*.jsonl"))
            for line in path.read_text().splitlines()]

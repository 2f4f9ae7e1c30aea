"""The diffusion backend end to end on the CPU, with a tiny random model and synthetic bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
import huggingface_hub.constants  # noqa: E402
import torch  # noqa: E402

from pain3d import identity_bundle as bundle_format  # noqa: E402
from pain3d.errors import Pain3DError  # noqa: E402
from pain3d.fileio import png_gray16  # noqa: E402
from pain3d.identity_bundle import read_bundle  # noqa: E402
from pain3d.texturing.diffusion import (build_prompt, control_image, load_pipeline, load_templates,  # noqa: E402
                                        paint_identities)
from pain3d.texturing.projection import texel_index  # noqa: E402

from tiny_pipeline import write_tiny_models  # noqa: E402  (pytest puts this folder on sys.path)

SIZE = 64  # texture side, texels
RESOLUTION = 64  # portrait side, pixels
SKIN = np.array([0.45, 0.30, 0.22])
RECORDS = [
    {"index": 0, "seed": 1234, "head_seed": 1, "age": 27, "sex": "female", "ethnicity": "East Asian", "skin_tone": 3.1},
    {"index": 1, "seed": 98765, "head_seed": 2, "age": 66, "sex": "male", "ethnicity": "Black", "skin_tone": 8.0},
]


def texture_settings(models: tuple[Path, Path], **changes) -> dict:
    base, controlnet = models
    settings = {"backend": "diffusion", "size": SIZE, "stubble": 0.4, "base_model": str(base),
                "controlnet": str(controlnet), "prompts": "", "steps": 2, "guidance": 7.5, "control_scale": 1.0,
                "portrait_resolution": RESOLUTION, "side_views": False, "device": "cpu", "precision": "auto",
                "batch_size": 4, "allow_download": False}
    return {**settings, **changes}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    return write_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def pipeline(models):
    return load_pipeline(texture_settings(models))


# --- synthetic bundles -------------------------------------------------------------------------


def sphere_view(yaw: float) -> dict[str, np.ndarray]:
    """A sphere of radius 10 cm 50 cm from the camera; its image maps onto the top-left 3/4 of the UV square.

    Side views see the same sphere; their correspondence is shifted sideways so that each view
    also paints texels the front one does not.
    """
    n = RESOLUTION
    y, x = (np.mgrid[:n, :n] + 0.5) / n * 2.0 - 1.0
    r = np.hypot(x, y) / 0.8
    visible = r < 1.0
    facing = np.where(visible, np.sqrt(np.clip(1.0 - r ** 2, 0.0, 1.0)), 0.0).astype(np.float32)
    depth = np.where(visible, 0.5 - 0.1 * facing, 0.0)
    columns, rows = np.mgrid[:n, :n][::-1]
    u = np.clip((columns + 0.5) / n * 0.75 + yaw / 45.0 * 0.2, 0.0, 0.999)
    v = 1.0 - (rows + 0.5) / n * 0.75
    uv = np.where(visible[..., None], np.stack([u, v], axis=-1), 0.0).astype(np.float32)
    return {"depth": depth, "uv": uv, "visible": visible, "facing": facing}


def write_bundle(data: Path, record: dict, views: tuple[str, ...] = ("front",)) -> Path:
    """A bundle folder per docs/identity-bundle.md (renders left out: texturing does not read them)."""
    folder = bundle_format.bundle_dir(data, record["index"])
    folder.mkdir(parents=True)
    coverage = np.ones((SIZE, SIZE), bool)
    coverage[-4:, :] = False  # a strip off the skin islands
    zeros = np.zeros((SIZE, SIZE, 3), np.float32)
    np.savez_compressed(folder / "uv_maps.npz", coverage=coverage, position=zeros, normal=zeros)
    records = []
    for name in views:
        view = sphere_view(bundle_format.VIEWS[name])
        files = {"render": f"view_{name}_render.png", "depth": f"view_{name}_depth.png", "uv": f"view_{name}_uv.npz"}
        units = np.round(view["depth"] / bundle_format.DEPTH_UNIT_M).astype(np.uint16)
        (folder / files["depth"]).write_bytes(png_gray16(units))
        np.savez_compressed(folder / files["uv"], uv=view["uv"], visible=view["visible"], facing=view["facing"])
        records.append({"name": name, "yaw": bundle_format.VIEWS[name], "pitch": 0.0, "camera": {}, **files})
    header = {"format": bundle_format.FORMAT, "format_version": bundle_format.FORMAT_VERSION,
              "identity": record["index"], **{k: record[k] for k in bundle_format.IDENTITY_FIELDS},
              "uv_size": SIZE, "views": records, "pain3d_version": "test"}
    (folder / bundle_format.HEADER).write_text(json.dumps(header))
    return folder


def base_albedo() -> np.ndarray:
    """A procedural-looking base: the skin colour with mild structure."""
    rows = np.linspace(0.9, 1.1, SIZE)[:, None, None]
    return (SKIN * rows * np.ones((1, SIZE, 1))).astype(np.float32)


def paint(pipeline, data: Path, settings: dict, views: tuple[str, ...] = ("front",)):
    bundles = [read_bundle(write_bundle(data, r, views)) for r in RECORDS]
    return paint_identities(pipeline, bundles, RECORDS, settings, [base_albedo() for _ in RECORDS])


# --- end to end --------------------------------------------------------------------------------


def test_paints_two_identities_in_one_batch(pipeline, models, tmp_path):
    settings = texture_settings(models)
    painted = paint(pipeline, tmp_path / "a", settings)
    assert len(painted) == 2
    for (albedo, params), record in zip(painted, RECORDS):
        assert albedo.shape == (SIZE, SIZE, 3) and albedo.dtype == np.float32
        assert np.isfinite(albedo).all() and albedo.min() >= 0.0 and albedo.max() <= 1.0
        assert params["seed"] == record["seed"] and params["views"] == ["front"]
        assert params["steps"] == 2 and params["device"] == "cpu" and params["dtype"] == "float32"
        assert params["base_model"] == settings["base_model"] and params["controlnet"] == settings["controlnet"]
        json.dumps(params)  # it goes into texture.json
    assert "east asian woman" in painted[0][1]["prompt"] and "elderly black man" in painted[1][1]["prompt"]
    front = sphere_view(0.0)
    seen = np.zeros((SIZE, SIZE), bool)
    seen.flat[texel_index(front["uv"][front["visible"]], SIZE)] = True
    assert not np.array_equal(painted[0][0][seen], painted[1][0][seen])  # different identities, different portraits
    unseen = np.zeros((SIZE, SIZE), bool)
    unseen[:-4, 56:] = True  # on the islands, right of everything the sphere maps to
    for albedo, _ in painted:  # the base, colour-matched: the same gain on every unseen texel
        ratio = albedo[unseen] / base_albedo()[unseen]
        np.testing.assert_allclose(ratio, np.broadcast_to(ratio[0], ratio.shape), rtol=1e-4, atol=1e-4)


def test_same_seed_paints_the_same_texture(pipeline, models, tmp_path):
    settings = texture_settings(models)
    first = paint(pipeline, tmp_path / "a", settings)
    again = paint(pipeline, tmp_path / "b", settings)
    one_by_one = paint(pipeline, tmp_path / "c", {**settings, "batch_size": 1})
    for (a, _), (b, _), (c, _) in zip(first, again, one_by_one):
        assert np.array_equal(a, b)
        np.testing.assert_allclose(a, c, atol=1e-4)  # batching changes float rounding at most


def test_side_views_are_painted_and_blended(pipeline, models, tmp_path):
    settings = texture_settings(models, side_views=True)
    painted = paint(pipeline, tmp_path, settings, views=("front", "left45", "right45"))
    front_only = paint(pipeline, tmp_path / "front", texture_settings(models), views=("front", "left45", "right45"))
    for (albedo, params), (front_albedo, front_params) in zip(painted, front_only):
        assert params["views"] == ["front", "left45", "right45"] and front_params["views"] == ["front"]
        assert np.isfinite(albedo).all() and not np.array_equal(albedo, front_albedo)


def test_control_image_is_inverse_depth():
    front = sphere_view(0.0)
    image = control_image(front["depth"], 32)
    assert image.mode == "RGB" and image.size == (32, 32)
    grey = np.asarray(image)[..., 0]
    assert grey[16, 16] >= 250 and grey[0, 0] == 0  # nearest point white, background black
    assert 0 < grey[16, 4] < grey[16, 10] < grey[16, 16]  # farther skin is darker, but not background


# --- prompts -----------------------------------------------------------------------------------


def test_prompts_name_the_demographics():
    templates = load_templates("")
    prompt, negative = build_prompt({"age": 45, "sex": "female", "ethnicity": "Latino/Hispanic"}, templates)
    assert "middle-aged latino woman" in prompt and "45 years old" in prompt and negative
    assert "young" in build_prompt({"age": 12, "sex": "male", "ethnicity": "White"}, templates)[0]


@pytest.mark.parametrize("text, cause", [
    ('prompt = "a {mood} face"\nnegative = ""', "prompt uses {mood}"),
    ('prompt = "a face"', "negative must be a string"),
    ('prompt = "a face"\nnegative = ""\n[sex_words]\nfemale = "woman"', "[sex_words] has no word for 'male'"),
    ('prompt = "a {face"\nnegative = ""', "prompt: expected '}'"),
    ('prompt = "a face', "TOML syntax error"),
])
def test_bad_prompt_files_give_one_line_errors(tmp_path, text, cause):
    path = tmp_path / "prompts.toml"
    path.write_text(text)
    with pytest.raises(Pain3DError) as caught:
        load_templates(path)
    assert cause in str(caught.value) and "prompts.toml" in str(caught.value) and "\n" not in str(caught.value)


# --- errors ------------------------------------------------------------------------------------


def load_error(settings: dict) -> str:
    with pytest.raises(Pain3DError) as caught:
        load_pipeline(settings)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_model_folder(models, tmp_path):
    message = load_error(texture_settings(models, base_model=str(tmp_path / "nowhere" / "sd15")))
    assert "texture.base_model" in message and "nowhere" in message and "no such folder" in message


def test_folder_that_is_not_a_diffusers_model(models, tmp_path):
    (tmp_path / "weights").mkdir()
    message = load_error(texture_settings(models, controlnet=str(tmp_path / "weights")))
    assert "texture.controlnet" in message and "not a diffusers model folder" in message and "config.json" in message


def test_weights_that_cannot_be_loaded(models, tmp_path):
    broken = tmp_path / "controlnet"
    shutil.copytree(models[1], broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"not a tensor file")
    message = load_error(texture_settings(models, controlnet=str(broken)))
    assert "texture.controlnet" in message and "cannot load the model in this folder" in message


def test_model_id_not_in_the_cache_while_offline(models, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    message = load_error(texture_settings(models, base_model="pain3d-tests/no-such-model"))
    assert 'texture.base_model = "pain3d-tests/no-such-model"' in message
    assert "not in the local Hugging Face cache" in message and "allow_download is off" in message


def test_model_ids_load_from_the_local_cache(models, tmp_path, monkeypatch):
    """The usual offline setup: models fetched once into the Hugging Face cache, named by their ids."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    commit = "0" * 40
    for model_id, folder in zip(("pain3d-tests/tiny-sd15", "pain3d-tests/tiny-controlnet"), models):
        cached = tmp_path / f"models--{model_id.replace('/', '--')}"
        (cached / "refs").mkdir(parents=True)
        (cached / "refs" / "main").write_text(commit)
        shutil.copytree(folder, cached / "snapshots" / commit)
    pipeline = load_pipeline(texture_settings(models, base_model="pain3d-tests/tiny-sd15",
                                              controlnet="pain3d-tests/tiny-controlnet"))
    assert type(pipeline).__name__ == "StableDiffusionControlNetPipeline" and str(pipeline.device) == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_asked_without_a_cuda_device(models):
    message = load_error(texture_settings(models, device="cuda"))
    assert 'texture.device = "cuda"' in message and "no CUDA device" in message


def test_half_precision_on_the_cpu(models):
    message = load_error(texture_settings(models, precision="fp16"))
    assert 'texture.precision = "fp16"' in message and "CUDA" in message


# --- bundles -----------------------------------------------------------------------------------


def corrupt_uv(folder: Path) -> None:
    (folder / "view_front_uv.npz").write_bytes(b"PK\x03\x04 truncated")


def drop_depth(folder: Path) -> None:
    (folder / "view_front_depth.png").unlink()


def shrink_coverage(folder: Path) -> None:
    np.savez_compressed(folder / "uv_maps.npz", coverage=np.ones((8, 8), bool))


def old_version(folder: Path) -> None:
    header = json.loads((folder / "bundle.json").read_text())
    (folder / "bundle.json").write_text(json.dumps({**header, "format_version": 99}))


def no_views(folder: Path) -> None:
    header = json.loads((folder / "bundle.json").read_text())
    (folder / "bundle.json").write_text(json.dumps({k: v for k, v in header.items() if k != "views"}))


@pytest.mark.parametrize("damage, cause", [
    (corrupt_uv, "view_front_uv.npz cannot be read"),
    (drop_depth, "view_front_depth.png is missing"),
    (shrink_coverage, "coverage has shape (8, 8), expected (64, 64)"),
    (old_version, "is not a pain3d-bundle version 1 header"),
    (no_views, "malformed header"),
    (lambda folder: (folder / "bundle.json").unlink(), "incomplete"),
])
def test_corrupt_bundles_give_one_line_errors(tmp_path, damage, cause):
    folder = write_bundle(tmp_path, {**RECORDS[1], "index": 7})
    damage(folder)
    with pytest.raises(Pain3DError) as caught:
        read_bundle(folder)
    message = str(caught.value)
    assert message.startswith("identity 7: ") and cause in message and "\n" not in message


def test_bundle_of_another_texture_size_is_refused(pipeline, models, tmp_path):
    bundles = [read_bundle(write_bundle(tmp_path, RECORDS[0]))]
    with pytest.raises(Pain3DError, match="identity 0: the bundle's UV maps are 64 texels, texture.size is 128"):
        paint_identities(pipeline, bundles, RECORDS[:1], texture_settings(models, size=128), [base_albedo()])

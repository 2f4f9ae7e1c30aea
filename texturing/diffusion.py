"""The diffusion texturing backend: paint an identity's skin from depth-conditioned portraits.

Stable Diffusion 1.5 with a depth ControlNet paints a portrait over the depth of the
identity's neutral head (frontal, and +/-45 degrees when asked), prompted with the identity's
demographics. The bundle's exact pixel-to-texel correspondence carries each portrait into the
skin's UV layout (texturing.projection); the procedural base, colour-matched to the portrait,
fills what no view sees. torch and diffusers are imported only when a pipeline is loaded or
run, so the rest of Pain3D works without them.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np
from PIL import Image

from pain3d.errors import Pain3DError, first_line
from pain3d.identity_bundle import BundleView, IdentityBundle
from pain3d.jobs import demographics, ethnicity_names, read_toml
from pain3d.colour import srgb_to_linear
from pain3d.paths import asset

from .projection import blend_views, fill_holes, fill_unseen, project_view

SIDE_VIEWS = ("left45", "right45")
PLACEHOLDERS = ("age", "age_word", "ethnicity_word", "sex_word")
FAR_LEVEL = 0.2  # control brightness of the farthest skin: keeps the silhouette distinct from the black background
# A Hugging Face Hub model id ("name" or "owner/name"); anything else is a local path.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


# --- prompts ---------------------------------------------------------------------------------


def load_templates(path: str | Path = "") -> dict:
    """Prompt templates from a TOML file ("" = assets/texturing/prompts.toml), checked.

    Returns prompt, negative, age_words (sorted (minimum age, word) pairs), sex_words and
    ethnicity_words; a one-line Pain3DError for a file that is missing, malformed or incomplete.
    """
    path = Path(path) if path else asset("texturing", "prompts.toml")
    data = read_toml(path, "prompt templates file")
    try:
        return _check_templates(data)
    except Pain3DError as err:
        raise Pain3DError(f"{path.name}: {err}") from None


def _check_templates(data: dict) -> dict:
    for key in ("prompt", "negative"):
        if not isinstance(data.get(key), str):
            raise Pain3DError(f"{key} must be a string")
    _check_placeholders(data["prompt"])
    sex_words = _word_table(data, "sex_words", demographics()["default_sexes"])
    ethnicity_words = _word_table(data, "ethnicity_words", ethnicity_names())
    ages = data.get("age_words")
    if not isinstance(ages, dict) or not ages:
        raise Pain3DError("[age_words] must be a table of minimum age = word")
    try:
        age_words = sorted((int(minimum), str(word)) for minimum, word in ages.items())
    except ValueError:
        raise Pain3DError(f"[age_words]: keys must be whole ages in years, got {list(ages)}") from None
    return {"prompt": data["prompt"], "negative": data["negative"], "age_words": age_words,
            "sex_words": sex_words, "ethnicity_words": ethnicity_words}


def _check_placeholders(template: str) -> None:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as err:
        raise Pain3DError(f"prompt: {err}") from None
    unknown = [field for field in fields if field not in PLACEHOLDERS]
    if unknown:
        raise Pain3DError(f"prompt uses {{{unknown[0]}}}; allowed: {', '.join('{%s}' % p for p in PLACEHOLDERS)}")


def _word_table(data: dict, key: str, needed: Iterable[str]) -> dict[str, str]:
    table = data.get(key)
    if not isinstance(table, dict):
        raise Pain3DError(f"[{key}] must be a table")
    missing = [name for name in needed if not isinstance(table.get(name), str)]
    if missing:
        raise Pain3DError(f"[{key}] has no word for {missing[0]!r}")
    return table


def build_prompt(record: dict, templates: dict) -> tuple[str, str]:
    """(prompt, negative prompt) for a plan identity record (age, sex, ethnicity)."""
    age = int(record["age"])
    age_word = templates["age_words"][0][1]  # ages below the lowest minimum take its word too
    for minimum, word in templates["age_words"]:
        if age >= minimum:
            age_word = word
    words = {"age": age, "age_word": age_word, "sex_word": templates["sex_words"][record["sex"]],
             "ethnicity_word": templates["ethnicity_words"][record["ethnicity"]]}
    return templates["prompt"].format(**words), templates["negative"]


# --- the pipeline ------------------------------------------------------------------------------


def load_pipeline(settings: dict) -> Any:
    """The depth-ControlNet Stable Diffusion pipeline the [texture] settings name, on its device.

    Models are local folders, or Hub ids loaded from the local cache (and fetched only with
    allow_download). Each failure is a one-line Pain3DError naming the setting, its value and
    the cause; the caller adds the identity.
    """
    device = _device(settings["device"])
    dtype = _dtype(settings["precision"], device)
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    allow = settings["allow_download"]
    with _quiet_loading():
        controlnet = _load_model("controlnet", settings["controlnet"], "config.json", allow,
                                 ControlNetModel.from_pretrained)

        def load_base(source: str, **options: Any) -> Any:
            return StableDiffusionControlNetPipeline.from_pretrained(
                source, controlnet=controlnet, safety_checker=None, requires_safety_checker=False, **options)

        pipeline = _load_model("base_model", settings["base_model"], "model_index.json", allow, load_base)
        try:
            pipeline.to(device, dtype)
        except Exception as err:  # out of GPU memory, most likely
            raise Pain3DError(f'texture.device = "{settings["device"]}": cannot move the models to {device} '
                              f"({first_line(err)})") from None
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Silence loading chatter (progress bars, deprecation notices, advice to install accelerate).

    Failures still raise, and load_pipeline turns them into one-line errors.
    """
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    saved = [(log, log.get_verbosity(), log.is_progress_bar_enabled())
             for log in (diffusers_logging, transformers_logging)]
    for log, _, _ in saved:
        log.set_verbosity_error()
        log.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, verbosity, progress_bars in saved:
            log.set_verbosity(verbosity)
            if progress_bars:
                log.enable_progress_bar()


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise Pain3DError('texture.device = "cuda": torch finds no CUDA device (no NVIDIA GPU or driver, '
                          'or a CPU-only torch); use "cpu" or "auto"')
    return choice


def _dtype(precision: str, device: str) -> Any:
    import torch

    if precision == "fp16" and device == "cpu":
        raise Pain3DError('texture.precision = "fp16": half precision needs a CUDA device and the device is the CPU; '
                          'use "fp32" or "auto"')
    return torch.float16 if device == "cuda" and precision in ("auto", "fp16") else torch.float32


def _load_model(key: str, value: str, marker: str, allow_download: bool, load: Callable[..., Any]) -> Any:
    where = f'texture.{key} = "{value}"'
    folder = Path(value).expanduser()
    local = folder.exists() or not HUB_ID.fullmatch(value)
    if local:
        _check_model_folder(where, folder, marker)
    elif not allow_download:
        _check_cached(where, value, marker)
    try:
        return load(str(folder) if local else value, local_files_only=not allow_download)
    except Exception as err:  # diffusers, huggingface_hub, transformers, safetensors and torch each raise their own
        raise Pain3DError(f"{where}: {_load_failure(local, allow_download)} ({first_line(err)})") from None


def _check_model_folder(where: str, folder: Path, marker: str) -> None:
    if not folder.exists():
        raise Pain3DError(f"{where}: no such folder (and not a Hugging Face model id)")
    if not folder.is_dir():
        raise Pain3DError(f"{where}: is a file; expected a diffusers model folder")
    if not (folder / marker).is_file():
        raise Pain3DError(f"{where}: not a diffusers model folder (it has no {marker})")


def _check_cached(where: str, model_id: str, marker: str) -> None:
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(model_id, marker)
    except ValueError:  # an id the Hub would refuse cannot be cached either
        cached = None
    if not isinstance(cached, str):
        raise Pain3DError(f"{where}: no such local folder, and not in the local Hugging Face cache "
                          "(texture.allow_download is off, so nothing is downloaded)")


def _load_failure(local: bool, allow_download: bool) -> str:
    if local:
        return "cannot load the model in this folder"
    if not allow_download:
        return "cannot load it from the local Hugging Face cache"
    return "cannot load it from the Hugging Face Hub"


# --- painting ----------------------------------------------------------------------------------


class Shot(NamedTuple):
    """One portrait to paint: which identity (position in the batch), from which view, how."""

    owner: int
    view: BundleView
    prompt: str
    negative: str
    seed: int


def control_image(depth_m: np.ndarray, size: int) -> Image.Image:
    """The depth ControlNet's condition: inverse depth, near = white, background black, RGB size x size."""
    seen = depth_m > 0
    grey = np.zeros(depth_m.shape, np.float32)
    if seen.any():
        inverse = 1.0 / depth_m[seen]
        span = inverse.max() - inverse.min()
        relative = (inverse - inverse.min()) / span if span > 0 else np.ones_like(inverse)
        grey[seen] = FAR_LEVEL + (1.0 - FAR_LEVEL) * relative
    resized = np.asarray(Image.fromarray(grey, "F").resize((size, size), Image.BILINEAR))
    return Image.fromarray(np.round(np.clip(resized, 0.0, 1.0) * 255.0).astype(np.uint8), "L").convert("RGB")


def paint_identities(pipeline: Any, bundles: list[IdentityBundle], records: list[dict], settings: dict,
                     base_albedos: list[np.ndarray]) -> list[tuple[np.ndarray, dict]]:
    """Paint each identity's skin albedo: (linear float32 (S, S, 3), recorded parameters) per identity.

    Portraits are generated in batches of up to batch_size across identities, each from a
    generator seeded with its identity's seed, so a result does not depend on the batching
    (beyond float rounding) nor on the device's random number generator.
    """
    templates = load_templates(settings["prompts"])
    shots = []
    for owner, (found, record) in enumerate(zip(bundles, records)):
        _check_size(found, settings["size"])
        prompt, negative = build_prompt(record, templates)
        shots += [Shot(owner, view, prompt, negative, int(record["seed"]))
                  for view in _views_to_paint(found, settings["side_views"])]
    portraits = _generate(pipeline, shots, settings, [r["index"] for r in records])
    results = []
    for owner, (found, base_albedo) in enumerate(zip(bundles, base_albedos)):
        mine = [(shot, portrait) for shot, portrait in zip(shots, portraits) if shot.owner == owner]
        albedo = _texture(found, mine, base_albedo, settings)
        results.append((albedo, _params(pipeline, mine, settings)))
    return results


def _check_size(found: IdentityBundle, size: int) -> None:
    side = found.uv_maps["coverage"].shape[0]
    if side != size:
        raise Pain3DError(f"identity {found.identity}: the bundle's UV maps are {side} texels, texture.size is {size}; "
                          f"delete {found.folder} to have it written again")


def _views_to_paint(found: IdentityBundle, side_views: bool) -> list[BundleView]:
    return [v for v in found.views if v.name == "front" or (side_views and v.name in SIDE_VIEWS)]


def _generate(pipeline: Any, shots: list[Shot], settings: dict, identities: list[int]) -> list[np.ndarray]:
    """The portraits of all shots, sRGB float (R, R, 3) in [0, 1], in order."""
    import torch

    resolution, batch = settings["portrait_resolution"], settings["batch_size"]
    portraits = []
    for start in range(0, len(shots), batch):
        chunk = shots[start:start + batch]
        try:
            result = pipeline(
                prompt=[s.prompt for s in chunk], negative_prompt=[s.negative for s in chunk],
                image=[control_image(s.view.depth_m, resolution) for s in chunk],
                height=resolution, width=resolution, num_inference_steps=settings["steps"],
                guidance_scale=settings["guidance"], controlnet_conditioning_scale=settings["control_scale"],
                # CPU generators: the same starting noise on any device
                generator=[torch.Generator("cpu").manual_seed(s.seed) for s in chunk], output_type="np")
        except torch.cuda.OutOfMemoryError:
            names = ", ".join(str(identities[s.owner]) for s in chunk)
            raise Pain3DError(f"identities {names}: out of GPU memory painting {len(chunk)} portraits of "
                              f"{resolution} px; lower texture.batch_size or texture.portrait_resolution") from None
        portraits += list(result.images)
    return portraits


def _texture(found: IdentityBundle, shots: list[tuple[Shot, np.ndarray]], base_albedo: np.ndarray,
             settings: dict) -> np.ndarray:
    size = settings["size"]
    coverage = found.uv_maps["coverage"]
    # enough pyramid levels to close the gaps a portrait leaves in a denser texture
    levels = 2 + math.ceil(math.log2(max(1.0, size / settings["portrait_resolution"])))
    projected = []
    for shot, portrait in shots:
        view = shot.view
        image = srgb_to_linear(_to_view_grid(portrait, view.visible.shape))
        projected.append(fill_holes(*project_view(image, view.uv, view.visible, view.facing, size), coverage, levels))
    colour, weight = blend_views(projected)
    return fill_unseen(colour, weight, base_albedo, coverage)


def _to_view_grid(portrait: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The portrait resampled onto the view's pixels (a no-op when the farm rendered at the portrait size)."""
    if portrait.shape[:2] == shape:
        return portrait
    channels = [Image.fromarray(np.ascontiguousarray(portrait[..., c], np.float32), "F").resize(
        (shape[1], shape[0]), Image.BILINEAR) for c in range(3)]
    return np.stack([np.asarray(c) for c in channels], axis=-1)


def _params(pipeline: Any, shots: list[tuple[Shot, np.ndarray]], settings: dict) -> dict:
    first = shots[0][0]
    return {"prompt": first.prompt, "negative_prompt": first.negative,
            "base_model": settings["base_model"], "controlnet": settings["controlnet"],
            "scheduler": type(pipeline.scheduler).__name__, "steps": settings["steps"],
            "guidance": settings["guidance"], "control_scale": settings["control_scale"],
            "portrait_resolution": settings["portrait_resolution"], "views": [s.view.name for s, _ in shots],
            "seed": first.seed, "device": str(pipeline.device), "dtype": str(pipeline.dtype).removeprefix("torch.")}

"""`pain3d texture`: one texture set per identity of a plan (docs/texture-set.md).

The procedural backend needs only the core head model. The diffusion backend paints from
identity bundles (docs/identity-bundle.md), which it has the farm write first where missing,
and fills what its views cannot see from the procedural set. Every set carries a cache key
(a hash of everything it depends on); a set whose key matches is not made again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from pain3d import __version__, identity_bundle
from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_text
from pain3d.identity import neutral_head
from pain3d.paths import assets_dir
from pain3d.plan import read_plan
from pain3d.colour import linear_to_srgb
from pain3d.textureset import FILES, FORMAT, FORMAT_VERSION, HEADER, complete_set, texture_dir

from .procedural import TextureMaps, procedural_textures

# The settings each backend's result depends on (device, batch size and download permission do not change it).
PROCEDURAL_KEYS = ("size", "stubble")
DIFFUSION_KEYS = PROCEDURAL_KEYS + ("base_model", "controlnet", "prompts", "steps", "guidance", "control_scale",
                                    "portrait_resolution", "side_views", "precision")


def cache_key(identity: dict, backend: str, settings: dict) -> str:
    keys = DIFFUSION_KEYS if backend == "diffusion" else PROCEDURAL_KEYS
    facts = {"format_version": FORMAT_VERSION, "backend": backend,
             "identity": {k: identity[k] for k in ("index", *identity_bundle.IDENTITY_FIELDS)},
             "settings": {k: settings[k] for k in keys}}
    if backend == "diffusion":
        facts["prompts"] = _file_digest(settings["prompts"] or str(assets_dir() / "texturing" / "prompts.toml"))
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


def write_texture_set(data: Path, identity: int, backend: str, maps: TextureMaps, key: str) -> Path:
    """Write the maps under a temporary folder name, header last, then rename it into place."""
    final = texture_dir(data, identity)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _save_rgb(tmp / FILES["albedo"], linear_to_srgb(maps.albedo))
    Image.fromarray(_bytes(maps.roughness)).save(tmp / FILES["roughness"])
    _save_rgb(tmp / FILES["normal"], maps.normal * 0.5 + 0.5)
    _save_rgb(tmp / FILES["eyes"], linear_to_srgb(maps.eyes))
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "identity": identity, "backend": backend,
              "size": int(maps.albedo.shape[0]), "seed": maps.params["seed"], "cache_key": key,
              "params": maps.params, "files": FILES, "pain3d_version": __version__}
    atomic_write_text(tmp / HEADER, json.dumps(header, indent=1) + "\n")
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _bytes(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def _save_rgb(path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(_bytes(rgb), "RGB").save(path)


# --- running a plan ----------------------------------------------------------------------------


def texture_plan(data: Path, backend: str | None = None, identities: list[int] | None = None,
                 workers: int = 1, renderer=None, report: Callable[[str], None] = print) -> dict:
    """Texture the plan's identities (all, or those listed); returns counts of made and skipped sets."""
    data = Path(data)
    plan = read_plan(data)
    settings = plan["job"]["texture"]
    backend = backend or settings["backend"]
    wanted = identities if identities is not None else list(range(len(plan["identities"])))
    records = [plan["identities"][i] for i in wanted]
    todo = [r for r in records if _stale(data, r, backend, settings)]
    if backend == "diffusion":
        _texture_diffusion(data, todo, settings, renderer, report)
    else:
        _texture_procedural(data, todo, settings, workers, report)
    return {"made": len(todo), "skipped": len(records) - len(todo), "backend": backend}


def _stale(data: Path, record: dict, backend: str, settings: dict) -> bool:
    header = complete_set(data, record["index"])
    return header is None or header.get("cache_key") != cache_key(record, backend, settings)


def procedural_set(record: dict, settings: dict) -> TextureMaps:
    """The procedural texture set of one plan identity."""
    head = neutral_head(record["age"], record["sex"], record["ethnicity"], record["head_seed"])
    return procedural_textures(head, record, size=settings["size"], stubble_rate=settings["stubble"])


def _procedural_job(args: tuple[Path, dict, dict]) -> int:
    data, record, settings = args
    maps = procedural_set(record, settings)
    write_texture_set(data, record["index"], "procedural", maps, cache_key(record, "procedural", settings))
    return record["index"]


def _texture_procedural(data: Path, todo: list[dict], settings: dict, workers: int,
                        report: Callable[[str], None]) -> None:
    jobs = [(data, record, settings) for record in todo]
    if workers <= 1 or len(jobs) <= 1:
        _report_done(map(_procedural_job, jobs), len(jobs), report)
        return
    with ProcessPoolExecutor(workers) as pool:  # each worker draws the UV layout once, then reuses it
        _report_done(pool.map(_procedural_job, jobs), len(jobs), report)


def _report_done(indices, total: int, report: Callable[[str], None]) -> None:
    for n, index in enumerate(indices, 1):
        report(f"identity {index}: procedural textures ({n}/{total})")


def _texture_diffusion(data: Path, todo: list[dict], settings: dict, renderer,
                       report: Callable[[str], None]) -> None:
    if not todo:
        return
    from . import diffusion

    try:  # a model that cannot load fails before any Blender time is spent on bundles
        pipeline = diffusion.load_pipeline(settings)
    except Pain3DError as err:
        raise Pain3DError(f"identity {todo[0]['index']}: {err}") from None
    _ensure_bundles(data, [r["index"] for r in todo], settings, renderer, report)
    batch = settings["batch_size"]
    for start in range(0, len(todo), batch):
        records = todo[start:start + batch]
        bundles = [identity_bundle.read_bundle(identity_bundle.bundle_dir(data, r["index"])) for r in records]
        bases = [procedural_set(r, settings) for r in records]
        painted = diffusion.paint_identities(pipeline, bundles, records, settings, [b.albedo for b in bases])
        for record, base, (albedo, params) in zip(records, bases, painted):
            maps = TextureMaps(albedo=albedo, roughness=base.roughness, normal=base.normal, eyes=base.eyes,
                               params={**params, "seed": params.get("seed", base.params["seed"]),
                                       "procedural": base.params})
            write_texture_set(data, record["index"], "diffusion", maps, cache_key(record, "diffusion", settings))
            report(f"identity {record['index']}: diffusion textures")


def _ensure_bundles(data: Path, identities: list[int], settings: dict, renderer,
                    report: Callable[[str], None]) -> None:
    """Have the farm write the bundles these identities lack (or that lack the views asked for)."""
    names = identity_bundle.view_names(settings["side_views"])
    missing = [i for i in identities if not _bundle_fits(data, i, names, settings)]
    for i in missing:
        shutil.rmtree(identity_bundle.bundle_dir(data, i), ignore_errors=True)
    if not missing:
        return
    from pain3d.farm.launch import Renderer

    renderer = renderer or Renderer()
    renderer.check()
    report(f"writing {len(missing)} identity bundle(s) with Blender")
    done = subprocess.run(renderer.bundle_command(data, missing), capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise Pain3DError(f"identity {missing[0]}: the bundle step failed: {last}")


def _bundle_fits(data: Path, identity: int, names: list[str], settings: dict) -> bool:
    if not identity_bundle.is_complete(data, identity):
        return False
    header = identity_bundle.read_header(identity_bundle.bundle_dir(data, identity))
    return header["uv_size"] == settings["size"] and [v["name"] for v in header["views"]] == names

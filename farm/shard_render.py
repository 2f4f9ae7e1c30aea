"""Rendering a shard of a plan, as a use case over a render tool.

The decisions of the farm live here: which samples of a shard are still to render (a shard's
manifest already holding a sample means it is done), one head per identity, the scene drawn
per image (`pain3d.scenery`), the files of one image rendered into a private temporary folder
and renamed into place before its row is appended (a killed render never leaves a row without
its files), heatmaps kept only for pain rows, and one identity's failure never stopping the
shard. Blender is behind `RenderTool`: `farm/blender_tool.py` is the real one, and the tests
drive the same logic with a fake in milliseconds (the way Bonsai's core calls its `tool`s).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pain3d import dataset, scenery
from pain3d.camera import Camera
from pain3d.fileio import atomic_write_text, dumps_json
from pain3d.textureset import texture_files

from .shards import ShardManifest, shard_identities


@dataclass(frozen=True)
class Shot:
    """One rendered view: its files in the temporary folder (row field -> path), camera, landmarks."""

    files: dict[str, Path]
    camera: Camera
    landmarks: np.ndarray  # (68, 2) pixels: the jaw contour on the silhouette (pain3d.contour)
    visibility: list[str] | None = None  # per landmarks_3d point, pain3d.dataset.VISIBILITY
    landmarks_3d: np.ndarray | None = None  # (68, 2) pixels of the expression-deformed landmark vertices


class RenderTool(Protocol):
    """What the use case needs from a renderer; each call acts on the head `build_head` returned."""

    def build_head(self, identity: dict, textures: dict[str, str] | None) -> Any:
        """The identity's head (mesh, rig, materials: its texture set, or the built-in skin)."""

    def set_aus(self, head: Any, aus: dict[str, float]) -> None:
        """Pose the head with these AU intensities (all others 0)."""

    def set_heat(self, head: Any, aus: dict[str, float]) -> None:
        """Per-vertex heat of this expression (`pain3d.heatmap`) for the heatmap passes."""

    def apply_lighting(self, head: Any, lighting: dict) -> None:
        """Lights and world of a lighting record (`pain3d.scenery.draw_lighting`)."""

    def set_background(self, background: dict) -> None:
        """The background record (`pain3d.scenery.draw_background`) behind the next renders."""

    def render_view(self, head: Any, view: dict, folder: Path) -> Shot:
        """Render the image and its label files of one view into `folder`."""

    def remove_head(self, head: Any) -> None:
        """Delete the head and what only it used."""


def render_shard(tool: RenderTool, data: Path, plan: dict, index: int, count: int) -> list[tuple[int, str]]:
    """Render every identity of shard index/count; returns (identity, reason) for those that failed."""
    failures = []
    with ShardManifest(data, index, count) as manifest:
        done = {row["sample_id"] for row in manifest.rows()}
        for i in shard_identities(len(plan["identities"]), index, count):
            try:
                render_identity(tool, data, plan, plan["identities"][i], manifest, done)
            except Exception as err:  # one identity's failure must not stop the shard
                print(f"identity {i}: render failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
                failures.append((i, f"{type(err).__name__}: {err}"))
    return failures


def samples_to_render(plan: dict, identity: dict, done: set[str]) -> list[tuple[dict, int]]:
    """(expression, view index) of the identity's samples that the manifest does not hold yet."""
    return [(e, v) for e in identity["expressions"] for v in range(len(plan["views"]))
            if dataset.sample_id(identity["index"], e["id"], v) not in done]


def render_identity(tool: RenderTool, data: Path, plan: dict, identity: dict, manifest: ShardManifest,
                    done: set[str]) -> None:
    """Build the identity's head once and render each of its samples still to do."""
    todo = samples_to_render(plan, identity, done)
    if not todo:
        return
    started = time.perf_counter()
    head = tool.build_head(identity, texture_files(data, identity["index"]))
    try:
        for expression in identity["expressions"]:
            views = [v for e, v in todo if e is expression]
            if not views:
                continue
            tool.set_heat(head, expression["aus"])
            tool.set_aus(head, expression["aus"])
            for v in views:
                drawn = scenery.draw_scene(plan["job"], identity, expression, v)
                tool.apply_lighting(head, drawn["lighting"])
                tool.set_background(drawn["background"])
                manifest.append(render_sample(tool, data, plan, identity, expression, v, head, drawn))
    finally:
        tool.remove_head(head)
    print(f"identity {identity['index']}: {len(todo)} images in {time.perf_counter() - started:.1f} s", flush=True)


def render_sample(tool: RenderTool, data: Path, plan: dict, identity: dict, expression: dict, view_index: int,
                  head: Any, drawn: dict) -> dict:
    """Render one image with its label files into a temporary folder, move them into place, and
    return the manifest row (which the caller appends only now that every file is in place)."""
    view = plan["views"][view_index]
    sid = dataset.sample_id(identity["index"], expression["id"], view_index)
    tmp = data / ".tmp" / sid
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shot = tool.render_view(head, view, tmp)
    record = dataset.camera_record(shot.camera, drawn, plan["job"]["render"].get("depth", False))
    atomic_write_text(tmp / "camera.json", dumps_json(record) + "\n")
    produced = {**shot.files, "camera": tmp / "camera.json"}
    if expression["id"] == dataset.NEUTRAL:  # the neutral face has no pain region
        produced = {field: path for field, path in produced.items() if field not in dataset.HEAT_FILES}
    files = {}
    for field in (f for f in dataset.FOLDERS if f in produced):  # the contract's order of fields in a row
        files[field] = dataset.file_path(sid, field, produced[field].suffix)
        (data / dataset.FOLDERS[field]).mkdir(exist_ok=True)
        os.replace(produced[field], data / files[field])
    shutil.rmtree(tmp, ignore_errors=True)
    landmarks = _pixels(shot.landmarks)
    extra = {} if shot.landmarks_3d is None else {"landmarks_3d": _pixels(shot.landmarks_3d)}
    if shot.visibility is not None:
        extra["landmark_visibility"] = list(shot.visibility)
    return dataset.make_row(identity, expression, view_index, view, files.pop("image"), files.pop("heatmap", None),
                            landmarks, **files, **extra)


def _pixels(points: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in points]

"""Render one shard of a plan: `blender -b -P farm/render.py -- --plan DATA --shard I/N`.

Also runs under the PyPI `bpy` module: `python farm/render.py --plan DATA --shard I/N`.
Each identity is built once (head, rig, materials: its texture set from `pain3d texture`
when DATA/textures has one, else the built-in procedural skin); its expressions and views are rendered
by changing AU intensities (shape-key drivers) and the camera; its lighting and background
are drawn per identity or per image by `pain3d.scenery` (recorded under `scene` in the
image's camera file), and depth/normal maps are written when the job asks. Per image the files are
rendered into a private temporary folder and renamed into place, and only then is the row
appended to the shard's manifest, so a killed render never leaves a row without its files.
Re-running a shard skips the samples its manifest already holds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pain3d import dataset, rig, scenery  # noqa: E402
from pain3d.errors import Pain3DError  # noqa: E402
from pain3d.fileio import atomic_write_text, dumps_json  # noqa: E402
from pain3d.heatmap import vertex_heat  # noqa: E402
from pain3d.identity import build_identity  # noqa: E402
from pain3d.plan import read_plan  # noqa: E402
from pain3d.shards import ShardManifest, parse_shard, shard_identities  # noqa: E402
from pain3d.textureset import texture_files  # noqa: E402

RENDER_SECONDS: list[float] = []  # duration of each render call in this process
FOLDERS = {"image": "images", "heatmap": "heatmaps", "heatmap_color": "heatmaps_color", "mask": "masks",
           "depth": "depths", "normals": "normals", "camera": "cameras"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    if "--" in argv:  # under `blender -b -P`, our arguments follow "--"
        argv = argv[argv.index("--") + 1:]
    parser = OneLineErrors(prog="farm/render.py", description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="dataset folder holding plan.json (from `pain3d plan`)")
    parser.add_argument("--shard", default="0/1", help="I/N: render shard I of N (0-based)")
    # `--shard -1/4` would read as an option; glue values to their flags so any value reaches the checks
    glued, rest = [], list(argv)
    while rest:
        arg = rest.pop(0)
        glued.append(f"{arg}={rest.pop(0)}" if arg in ("--plan", "--shard") and rest else arg)
    return parser.parse_args(glued)


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        index, count = parse_shard(args.shard)
        data = Path(args.plan)
        plan = read_plan(data)
        check_writable(data)
        import_bpy("farm/render.py")
        failures = render_shard(data, plan, index, count)
    except Pain3DError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if failures:
        print(f"shard {index}/{count}: {len(failures)} identities failed: "
              + "; ".join(f"identity {i}: {why}" for i, why in failures), file=sys.stderr)
        return 1
    return 0


def check_writable(data: Path) -> None:
    if not os.access(data, os.W_OK):
        raise Pain3DError(f"--plan {data}: output folder is not writable; allowed: a folder you can write to")


def import_bpy(script: str) -> None:
    try:
        import bpy  # noqa: F401
    except ImportError:
        raise Pain3DError(f"Blender's Python module is missing: run under `blender -b -P {script} --` "
                          "or `pip install bpy==4.5.*`") from None


def render_shard(data: Path, plan: dict, index: int, count: int) -> list[tuple[int, str]]:
    """Render every identity of the shard; returns (identity, reason) for those that failed."""
    import bpy

    import blender_addon
    from blender_addon import scene as tool

    settings = plan["job"]["render"]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    blender_addon.register()
    scene = bpy.context.scene
    tool.configure_cycles(scene, settings["resolution"], settings["samples"],
                          device=settings["device"].upper(), denoise=settings["denoise"])
    labels = tool.setup_label_passes(scene, background=True, depth=settings.get("depth", False),
                                     normals=settings.get("normals", False))
    failures = []
    with ShardManifest(data, index, count) as manifest:
        done = {row["sample_id"] for row in manifest.rows()}
        for i in shard_identities(len(plan["identities"]), index, count):
            identity = plan["identities"][i]
            try:
                render_identity(bpy.context, tool, labels, data, plan, identity, manifest, done)
            except Exception as err:  # one identity's failure must not stop the shard
                print(f"identity {i}: render failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
                failures.append((i, f"{type(err).__name__}: {err}"))
    blender_addon.unregister()
    print(f"shard {index}/{count}: {len(RENDER_SECONDS)} images rendered, render calls {sum(RENDER_SECONDS):.2f} s",
          flush=True)
    return failures


def render_identity(context, tool, labels, data: Path, plan: dict, identity: dict, manifest, done: set) -> None:
    todo = [(e, v) for e in identity["expressions"] for v in range(len(plan["views"]))
            if dataset.sample_id(identity["index"], e["id"], v) not in done]
    if not todo:
        return
    started = time.perf_counter()
    core = build_identity(identity["age"], identity["sex"], identity["ethnicity"], identity["head_seed"])
    head = tool.head_object(context, core, identity["head_seed"], skin_tone=identity["skin_tone"],
                            textures=texture_files(data, identity["index"]))
    iod = rig.inter_ocular(core.head)
    try:
        for expression in identity["expressions"]:
            views = [v for e, v in todo if e is expression]
            if not views:
                continue
            posed = rig.pose(core.head, core.au_deltas, expression["aus"])
            tool.set_vertex_heat(head, vertex_heat(core.head.vertices, posed, iod))
            tool.set_aus(head, expression["aus"])
            for v in views:
                drawn = scenery.draw_scene(plan["job"], identity, expression, v)
                tool.apply_lighting(context, head, drawn["lighting"])
                tool.set_background(context.scene, drawn["background"])
                row = render_sample(context, tool, labels, data, plan, identity, expression, v, head, drawn)
                manifest.append(row)
    finally:
        tool.remove_head(head)
    print(f"identity {identity['index']}: {len(todo)} images in {time.perf_counter() - started:.1f} s", flush=True)


def render_sample(context, tool, labels, data: Path, plan: dict, identity: dict, expression: dict,
                  view_index: int, head, drawn: dict) -> dict:
    """Render one image with its label passes into a temporary folder, then move it into place."""
    view = plan["views"][view_index]
    sid = dataset.sample_id(identity["index"], expression["id"], view_index)
    tmp = data / ".tmp" / sid
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    labels.base_path = str(tmp)
    started = time.perf_counter()
    result = tool.render_views(context, head, [view], context.scene.render.resolution_x,
                               lambda i, v: tmp / "image.png")[0]
    RENDER_SECONDS.append(time.perf_counter() - started)  # Blender's render call alone (benchmarks/bench_farm.py)
    camera = result["camera"]
    settings = plan["job"]["render"]
    record = {"intrinsics": camera.intrinsics.tolist(), "extrinsics": camera.extrinsics.tolist(),
              "resolution": context.scene.render.resolution_x, "scene": drawn}
    if settings.get("depth"):
        record["depth_unit_m"] = tool.DEPTH_UNIT_M
    atomic_write_text(tmp / "camera.json", dumps_json(record) + "\n")
    frame = f"{context.scene.frame_current:04d}"
    produced = {"image": tmp / "image.png", "heatmap": tmp / f"heatmap{frame}.png",
                "heatmap_color": tmp / f"heatmap_color{frame}.png", "mask": tmp / f"mask{frame}.png",
                "camera": tmp / "camera.json"}
    for optional in ("depth", "normals"):
        if settings.get(optional):
            produced[optional] = tmp / f"{optional}{frame}.png"
    if expression["id"] == dataset.NEUTRAL:
        del produced["heatmap"], produced["heatmap_color"]
    files = {}
    for field, source in produced.items():
        relative = f"{FOLDERS[field]}/{sid}{source.suffix}"
        (data / FOLDERS[field]).mkdir(exist_ok=True)
        os.replace(source, data / relative)
        files[field] = relative
    shutil.rmtree(tmp, ignore_errors=True)
    landmarks = [[round(float(x), 2), round(float(y), 2)] for x, y in result["landmarks"]]
    return dataset.make_row(identity, expression, view_index, view, files.pop("image"), files.pop("heatmap", None),
                            landmarks, **files)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Render one shard of a plan: `blender -b -P farm/render.py -- --plan DATA --shard I/N`.

Also runs under the PyPI `bpy` module: `python farm/render.py --plan DATA --shard I/N`.
This script reads its arguments and starts Blender; what is rendered, and how a shard resumes
and survives a failing identity, is the use case `farm/shard_render.py`, over the Blender tool
`farm/blender_tool.py`. Each identity is built once (head, rig, materials: its texture set from
`pain3d texture` when DATA/textures has one, else the built-in procedural skin); its expressions
and views are rendered by changing AU intensities (shape-key drivers) and the camera; its
lighting and background are drawn per identity or per image by `pain3d.scenery` (recorded under
`scene` in the image's camera file), and depth/normal maps are written when the job asks.
"""

from __future__ import annotations

if __name__ == "__main__":  # a script: run this module under its real name, pain3d.farm.*
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for Blender's own Python
    from pain3d.checkout import run_script

    run_script("pain3d.farm.render")

import argparse
import os
import statistics
import sys
from pathlib import Path

from pain3d.errors import Pain3DError
from pain3d.plan import read_plan

from . import shard_render
from .shards import parse_shard


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
    return leave(render(parse_args(argv)))


def render(args: argparse.Namespace) -> int:
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


def leave(code: int) -> int:
    """The script's exit code. Once Blender is loaded its compat layer ends the process, since
    Blender 4.2's module crashes in its own teardown after Python exits."""
    if "pain3d.addon.compat" in sys.modules:
        sys.modules["pain3d.addon.compat"].exit_process(code)
    return code


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
    """Render every identity of the shard in Blender; returns (identity, reason) for those that failed."""
    import bpy

    from pain3d import addon

    from .blender_tool import BlenderRenderTool

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    tool = BlenderRenderTool(bpy.context, plan["job"]["render"])
    failures = shard_render.render_shard(tool, data, plan, index, count)
    addon.unregister()
    median = statistics.median(tool.render_seconds) if tool.render_seconds else 0.0
    print(f"shard {index}/{count}: {len(tool.render_seconds)} images rendered, "
          f"render calls {sum(tool.render_seconds):.2f} s, median render {median:.2f} s", flush=True)
    return failures

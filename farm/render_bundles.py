"""Write identity bundles for texturing: `blender -b -P farm/render_bundles.py -- --plan DATA [--identities 0,3]`.

Also runs under the PyPI `bpy` module: `python farm/render_bundles.py --plan DATA`. For each identity
(all, or those listed) that has no complete bundle yet, builds the neutral head, renders it
untextured (built-in skin shader, transparent background) from the front and, when the job's
`texture.side_views` is on, from +/-45 degrees, and writes the bundle (docs/identity-bundle.md):
the renders, with depth and pixel-to-texel correspondence from the same cameras and the skin's
UV-space position and normal maps.
"""

from __future__ import annotations

if __name__ == "__main__":  # a script: run this module under its real name, pain3d.farm.*
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for Blender's own Python
    from pain3d.checkout import run_script

    run_script("pain3d.farm.render_bundles")

import argparse
import shutil
import sys
from pathlib import Path

from pain3d import identity_bundle
from pain3d.errors import Pain3DError
from pain3d.identity import build_identity
from pain3d.plan import read_plan

from .render import OneLineErrors, check_writable, import_bpy, leave
from .shards import parse_identities

SAMPLES = 16


def parse_args(argv: list[str]):
    if "--" in argv:  # under `blender -b -P`, our arguments follow "--"
        argv = argv[argv.index("--") + 1:]
    parser = OneLineErrors(prog="farm/render_bundles.py", description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="dataset folder holding plan.json (from `pain3d plan`)")
    parser.add_argument("--identities", default="", help="comma-separated identity indices (default: all)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    return leave(write_missing(parse_args(argv)))


def write_missing(args: argparse.Namespace) -> int:
    try:
        data = Path(args.plan)
        plan = read_plan(data)
        check_writable(data)
        wanted = parse_identities(args.identities, len(plan["identities"]))
        import_bpy("farm/render_bundles.py")
        written = write_bundles(data, plan, [i for i in wanted if not identity_bundle.is_complete(data, i)])
    except Pain3DError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"bundles: {written} written, {len(wanted) - written} already complete", flush=True)
    return 0


def write_bundles(data: Path, plan: dict, identities: list[int]) -> int:
    import bpy

    from pain3d import addon
    from pain3d.addon import head as heads
    from pain3d.addon import stage

    settings = plan["job"]["texture"]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    scene = bpy.context.scene
    resolution = settings["portrait_resolution"]
    stage.configure_cycles(scene, resolution, SAMPLES, denoise=True)
    scene.render.film_transparent = True
    scene.render.image_settings.color_mode = "RGBA"
    names = identity_bundle.view_names(settings["side_views"])
    views = [{"yaw": identity_bundle.VIEWS[name], "pitch": 0.0} for name in names]
    for i in identities:
        identity = plan["identities"][i]
        core = build_identity(identity["age"], identity["sex"], identity["ethnicity"], identity["head_seed"])
        head = heads.head_object(bpy.context, core, identity["head_seed"], skin_tone=identity["skin_tone"])
        stage.add_default_lights(bpy.context, head)
        tmp = data / ".tmp" / f"bundle-{i:06d}"
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            rendered = stage.render_views(bpy.context, head, views, resolution, lambda k, v: tmp / f"{names[k]}.png")
            identity_bundle.write_bundle(data, identity, core.head, settings["size"],
                                         [(name, r["camera"], Path(r["path"])) for name, r in zip(names, rendered)])
        finally:
            heads.remove_head(head)
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"identity {i}: bundle written", flush=True)
    addon.unregister()
    return len(identities)

"""Render the judge's image set with the real Blender layer (run under bpy in a subprocess).

Usage: python render_judge_set.py OUT_DIR
One identity per age band x sex x ethnicity cell (42) with the hair its plan drew, neutral,
procedural skin, Cycles CPU
256x256, views yaw -30, 0, 30; and every sixth identity (7, one per ethnicity group, both sexes)
also with each PSPI action at E (AU43: closed) from the same cameras. Writes OUT_DIR/index.json
with paths, expressions and projected landmarks.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bpy  # noqa: E402

from pain3d import addon  # noqa: E402
from pain3d.addon import head as heads, stage  # noqa: E402
from pain3d.hair import detail_for, grow_groom  # noqa: E402
from pain3d.identity import build_identity  # noqa: E402
from pain3d.jobs import resolve_job  # noqa: E402
from pain3d.plan import make_plan  # noqa: E402

out_dir = Path(sys.argv[1])
out_dir.mkdir(parents=True, exist_ok=True)
bpy.ops.wm.read_factory_settings(use_empty=True)
addon.register()
context = bpy.context
stage.configure_cycles(context.scene, 256, 16, denoise=True)
job = resolve_job({"seed": 42, "identities": {"count": 42}, "expressions": {"per_identity": 1}})
views = [{"yaw": 0.0, "pitch": 0.0}, {"yaw": -30.0, "pitch": 0.0}, {"yaw": 30.0, "pitch": 0.0}]
ACTIONS = {"neutral": {}, "AU4": {"AU4": 5}, "AU6": {"AU6": 5}, "AU7": {"AU7": 5}, "AU9": {"AU9": 5},
           "AU10": {"AU10": 5}, "AU43": {"AU43": 1}}
index = []
for identity in make_plan(job)["identities"]:
    core = build_identity(identity["age"], identity["sex"], identity["ethnicity"], identity["head_seed"])
    groom = grow_groom(core.head, identity["hair"], detail=detail_for(256))  # the hair the farm grows
    head = heads.head_object(context, core, identity["head_seed"], skin_tone=identity["skin_tone"], groom=groom)
    if not context.scene.world:
        stage.add_default_lights(context, head)
    for name, aus in ACTIONS.items() if identity["index"] % 6 == 0 else [("neutral", {})]:
        heads.set_aus(head, aus)
        results = stage.render_views(context, head, views, 256, lambda i, v: out_dir /
                                     f"id{identity['index']:02d}_{name}_yaw{v['yaw']:+.0f}.png")
        for r in results:
            index.append({"identity": identity["index"], "cell": f"{identity['age_band']}/{identity['sex']}/"
                          f"{identity['ethnicity']}", "age": identity["age"], "sex": identity["sex"],
                          "expression": name, "yaw": r["view"]["yaw"],
                          "path": r["path"], "landmarks": r["landmarks"].round(2).tolist()})
    heads.remove_head(head)
(out_dir / "index.json").write_text(json.dumps(index))
print("PAIN3D_RESULT=" + json.dumps(len(index)))

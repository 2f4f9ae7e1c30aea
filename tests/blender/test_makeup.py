"""Make-up in real Blender and Cycles: the same woman (Monk tone 1) rendered bare and made up.
Lipstick reddens the lips, blush warms the cheeks, mascara lengthens the lashes; the rest of the
face is untouched, and the lightest skin is not clipped to white under the default key light."""

from __future__ import annotations

import pytest

from tests.blender.harness import bpy_missing, run_bpy

pytestmark = bpy_missing

RENDER = """
import bpy, numpy as np
from PIL import Image, ImageDraw
from pain3d import addon
from pain3d.addon import head as heads, hair, stage
from pain3d.hair import draw_hair, grow_groom
from pain3d.identity import build_identity
from pain3d.makeup import draw_makeup
bpy.ops.wm.read_factory_settings(use_empty=True)
addon.register()
ctx = bpy.context
who = {"age": 30.0, "sex": "female", "ethnicity": "White"}
core = build_identity(30.0, "female", "White", 8)
record = draw_hair(who, {"style": "pixie"}, 8)
makeup = draw_makeup(who, {"rate": 1.0}, 2)
makeup.update(lipstick="red", lip_colour=[0.64, 0.14, 0.18], lips=0.8, brow_fill=0.6, blush=0.4, eyeshadow=0.3)
makeup["mascara"]["worn"] = True
out = {}
for name, mk in (("bare", None), ("made_up", makeup)):
    groom = grow_groom(core.head, record, kinds=("brows", "lashes"), detail=0.5)
    head = heads.head_object(ctx, core, 8, skin_tone=1.0, groom=groom, makeup=mk)  # Monk 1: the lightest
    lashes = next(o for o in hair.hair_objects(head) if o[hair.HAIR_PROP] == "lashes")
    pos = np.empty(len(lashes.data.points) * 3, np.float32)
    lashes.data.attributes["position"].data.foreach_get("vector", pos)
    pos = pos.reshape(len(lashes.data.curves), -1, 3)
    if not ctx.scene.world:
        stage.add_default_lights(ctx, head)
    stage.configure_cycles(ctx.scene, 256, 16, denoise=True)
    view, = stage.render_views(ctx, head, [{"yaw": 0.0, "pitch": 0.0}], 256, lambda i, v: f"{name}.png")
    img = np.asarray(Image.open(view["path"]).convert("RGB"), float) / 255.0
    lm = view["landmarks"]
    def mean_in(points):
        mask = Image.new("L", (256, 256), 0)
        ImageDraw.Draw(mask).polygon([tuple(p) for p in points], fill=1)
        return img[np.asarray(mask, bool)].mean(axis=0).tolist()
    lips = np.r_[lm[48:55], lm[64:59:-1]]  # the upper lip's red: outer contour over, inner under
    cheek = np.array([lm[2] * 0.5 + lm[31] * 0.5 + d for d in ((-6, -6), (6, -6), (6, 6), (-6, 6))])
    forehead = np.array([lm[27] + d for d in ((-10, -40), (10, -40), (10, -25), (-10, -25))])
    face = np.r_[lm[0:17], lm[26:16:-1]]
    mask = Image.new("L", (256, 256), 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in face], fill=1)
    clipped = float((img[np.asarray(mask, bool)].max(axis=1) >= 254.5 / 255).mean())
    out[name] = {"clipped": clipped, "lips": mean_in(lips), "cheek": mean_in(cheek), "forehead": mean_in(forehead),
                 "lash_length": float(np.linalg.norm(np.diff(pos, axis=1), axis=2).sum(1).mean())}
    heads.remove_head(head)
report(out)
"""


def test_makeup_paints_lips_cheeks_and_lashes_and_nothing_else(tmp_path):
    res = run_bpy(RENDER, tmp_path / "home")
    bare, made = res["bare"], res["made_up"]
    redness = lambda c: c[0] - 0.5 * (c[1] + c[2])  # noqa: E731
    assert redness(made["lips"]) > redness(bare["lips"]) + 0.05  # red lipstick
    assert redness(made["cheek"]) > redness(bare["cheek"]) + 0.005  # blush
    assert made["lash_length"] > 1.2 * bare["lash_length"]  # mascara
    assert max(abs(a - b) for a, b in zip(made["forehead"], bare["forehead"])) < 0.02  # the rest is bare skin
    assert bare["clipped"] < 0.01  # the lightest skin keeps its texture under the key light (no white clipping)

"""Render the head contact sheets in docs/images (needs the `bpy` module).

    python docs/figures/make_head_figures.py [--size 224] [--pairs 512] [--styles 256] [--samples 32]

heads_42.jpg: one neutral identity per age band x sex x ethnicity cell (the demo job's first
42 identities, with the hair the plan drew for them), frontal, procedural skin (about 4
minutes). pspi_series.jpg: one identity at PSPI 0, 4, 8, 12 and 16, each expression drawn by
the farm's sampler for that target. With --pairs N: heads_42_pspi16.jpg, each cell neutral and
at PSPI 16 side by side at N pixels. With --styles N: hair_styles.jpg, every scalp style on one
woman's head and every beard on one man's head, at N pixels. With --aus N: aus_at_e.jpg, each
PSPI action unit at intensity E beside neutral on three identities, at N pixels.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from pain3d import addon, facs, sampling  # noqa: E402
from pain3d.addon import head as heads, stage  # noqa: E402
from pain3d.clothing import hair_kinds  # noqa: E402
from pain3d.hair import NO_BEARD, beard_names, detail_for, draw_hair, grow_groom, style_names  # noqa: E402
from pain3d.identity import build_identity  # noqa: E402
from pain3d.jobs import load_job  # noqa: E402
from pain3d.plan import make_plan  # noqa: E402

FRONT = [{"yaw": 0.0, "pitch": 0.0}]
PAIN_AUS = ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43")
SAMPLES = [32]  # Cycles samples per pixel (denoised); --samples sets it
OUT = REPO / "docs" / "images"


def build(identity: dict, record: dict | None, size: int):
    core = build_identity(identity["age"], identity["sex"], identity["ethnicity"], identity["head_seed"])
    clothing = identity.get("clothing")
    groom = grow_groom(core.head, record, kinds=hair_kinds(clothing), detail=detail_for(size)) if record else None
    head = heads.head_object(bpy.context, core, identity["head_seed"], skin_tone=identity["skin_tone"], groom=groom,
                             clothing=clothing, makeup=identity.get("makeup"))
    stage.add_default_lights(bpy.context, head)
    return head


def render(head, aus: dict, path: Path, size: int) -> Image.Image:
    heads.set_aus(head, aus)
    stage.configure_cycles(bpy.context.scene, size, SAMPLES[0], denoise=True)
    stage.render_views(bpy.context, head, FRONT, size, lambda i, v: path)
    return Image.open(path).convert("RGB")


def sheet(tiles: list[Image.Image], labels: list[str], columns: int) -> Image.Image:
    w, h = tiles[0].size
    rows = -(-len(tiles) // columns)
    label_h = 16
    out = Image.new("RGB", (columns * w, rows * (h + label_h)), "white")
    draw = ImageDraw.Draw(out)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        x, y = (i % columns) * w, (i // columns) * (h + label_h)
        out.paste(tile, (x, y))
        draw.text((x + 4, y + h + 2), label, fill="black")
    return out


def label(identity: dict) -> str:
    hair = identity.get("hair", {})
    return f"{identity['ethnicity'][:13]} {identity['sex'][0].upper()} {identity['age']:.0f} {hair.get('style', '')}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--pairs", type=int, default=0)
    parser.add_argument("--styles", type=int, default=0)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--aus", type=int, default=0)
    args = parser.parse_args()
    SAMPLES[0] = args.samples
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    plan = make_plan(load_job(REPO / "assets" / "jobs" / "demo.toml"))
    cells = plan["identities"][:42]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tiles, series = [], []
        for ident in cells:
            head = build(ident, ident.get("hair"), args.size)
            tiles.append(render(head, {}, tmp / f"{ident['index']}.png", args.size))
            if ident["index"] == 0:
                series = [(t, render(head, expression(t), tmp / f"pspi{t}.png", args.size)) for t in (0, 4, 8, 12, 16)]
            heads.remove_head(head)
        sheet(tiles, [label(i) for i in cells], 7).save(OUT / "heads_42.jpg", quality=85)
        sheet([t for _, t in series], [f"PSPI {p}" for p, _ in series], 5).save(OUT / "pspi_series.jpg", quality=85)
        if args.pairs:
            pairs, names = [], []
            for ident in cells:
                head = build(ident, ident.get("hair"), args.pairs)
                calm = render(head, {}, tmp / "n.png", args.pairs)
                hurt = render(head, expression(16), tmp / "p.png", args.pairs)
                pair = Image.new("RGB", (2 * args.pairs, args.pairs))
                pair.paste(calm, (0, 0))
                pair.paste(hurt, (args.pairs, 0))
                pairs.append(pair)
                names.append(label(ident) + "  neutral | PSPI 16")
                heads.remove_head(head)
            sheet(pairs, names, 6).save(OUT / "heads_42_pspi16.jpg", quality=80)
        if args.aus:  # each pain AU at E beside neutral, three identities
            tiles, names = [], []
            for ident in (cells[0], cells[9], cells[40]):
                head = build(ident, ident.get("hair"), args.aus)
                for au in ("", *PAIN_AUS):
                    aus = {au: 1.0 if au == "AU43" else 5.0} if au else {}
                    tiles.append(render(head, aus, tmp / "a.png", args.aus))
                    names.append(f"{label(ident)[:18]} {au or 'neutral'}")
                heads.remove_head(head)
            sheet(tiles, names, 1 + len(PAIN_AUS)).save(OUT / "aus_at_e.jpg", quality=85)
        if args.styles:
            woman = {**next(i for i in cells if i["sex"] == "female"), "age": 30.0}
            man = {**next(i for i in cells if i["sex"] == "male"), "age": 40.0}
            looks = [(woman, s, NO_BEARD) for s in style_names()] + [(man, "crew_cut", b) for b in beard_names()[1:]]
            tiles, names = [], []
            for who, style, beard in looks:
                record = draw_hair(who, {"style": style}, 5)
                record.update(loss_pattern="none", loss_stage=0, beard=beard, beard_density=1.0,
                              beard_length_mm=12.0 if beard != NO_BEARD else 0.0)
                head = build(who, record, args.styles)
                tiles.append(render(head, {}, tmp / "s.png", args.styles))
                names.append(style if beard == NO_BEARD else f"beard: {beard}")
                heads.remove_head(head)
            sheet(tiles, names, 7).save(OUT / "hair_styles.jpg", quality=85)
    addon.unregister()


def expression(target: int) -> dict[str, float]:
    rng = np.random.default_rng(sampling.derive_seed(2025, target))
    aus = sampling.aus_for_pspi(target, rng, au43_onset=11.0)
    assert facs.pspi(aus) == target
    return aus


if __name__ == "__main__":
    main()

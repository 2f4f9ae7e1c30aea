"""Render the head contact sheets in docs/images (needs the `bpy` module; about 2 minutes).

    python docs/figures/make_head_figures.py

heads_42.jpg: one neutral identity per age band x sex x ethnicity cell (the demo job's
first 42 identities), frontal, procedural skin. pspi_series.jpg: one identity at PSPI 0, 4,
8, 12 and 16, each expression drawn by the farm's sampler for that target.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from pain3d import addon  # noqa: E402
from pain3d.addon import head as heads, stage  # noqa: E402
from pain3d import facs, sampling  # noqa: E402
from pain3d.jobs import load_job  # noqa: E402
from pain3d.plan import make_plan  # noqa: E402

SIZE, SAMPLES = 224, 32
FRONT = [{"yaw": 0.0, "pitch": 0.0}]
OUT = REPO / "docs" / "images"


def render(head, aus: dict, path: Path) -> Image.Image:
    heads.set_aus(head, aus)
    stage.render_views(bpy.context, head, FRONT, SIZE, lambda i, v: path)
    return Image.open(path).convert("RGB")


def sheet(tiles: list[Image.Image], labels: list[str], columns: int) -> Image.Image:
    rows = -(-len(tiles) // columns)
    label_h = 16
    out = Image.new("RGB", (columns * SIZE, rows * (SIZE + label_h)), "white")
    draw = ImageDraw.Draw(out)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        x, y = (i % columns) * SIZE, (i // columns) * (SIZE + label_h)
        out.paste(tile, (x, y))
        draw.text((x + 4, y + SIZE + 2), label, fill="black")
    return out


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    stage.configure_cycles(bpy.context.scene, SIZE, SAMPLES, denoise=True)
    plan = make_plan(load_job(REPO / "assets" / "jobs" / "demo.toml"))
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tiles, labels = [], []
        for ident in plan["identities"][:42]:
            head = heads.new_head(bpy.context, ident["age"], ident["sex"], ident["ethnicity"], ident["head_seed"],
                                 skin_tone=ident["skin_tone"])
            stage.add_default_lights(bpy.context, head)
            tiles.append(render(head, {}, Path(tmp) / f"{ident['index']}.png"))
            labels.append(f"{ident['ethnicity'][:13]} {ident['sex'][0].upper()} {ident['age']:.0f}")
            if ident["index"] == 0:
                series = [(target, render(head, expression(target), Path(tmp) / f"pspi{target}.png"))
                          for target in (0, 4, 8, 12, 16)]
            heads.remove_head(head)
        sheet(tiles, labels, 7).save(OUT / "heads_42.jpg", quality=85)
        sheet([t for _, t in series], [f"PSPI {p}" for p, _ in series], 5).save(OUT / "pspi_series.jpg",
                                                                              quality=85)
    addon.unregister()


def expression(target: int) -> dict[str, float]:
    rng = np.random.default_rng(sampling.derive_seed(2025, target))
    aus = sampling.aus_for_pspi(target, rng, au43_onset=11.0)
    assert facs.pspi(aus) == target
    return aus


if __name__ == "__main__":
    main()

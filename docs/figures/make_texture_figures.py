"""Render the procedural-texture contact sheet in docs/images (needs the `bpy` module; about 1 minute).

    python docs/figures/make_texture_figures.py

textures_tones_ages.jpg: procedural texture sets (texturing/procedural.py) on their heads,
frontal, fixed portrait lights: Monk Skin Tone 1.5 to 9.5 across the columns, ages 25, 50 and
78 down the rows, with one identity's albedo map in the skin UV layout at the end of each row.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
from PIL import Image  # noqa: E402

from pain3d import addon  # noqa: E402
from pain3d.addon import head as heads, stage  # noqa: E402
from make_head_figures import FRONT, OUT, SAMPLES, sheet  # noqa: E402
from pain3d.identity import build_identity  # noqa: E402
from pain3d.sampling import derive_seed  # noqa: E402
from pain3d.textureset import texture_files  # noqa: E402
from pain3d.texturing.textures import procedural_set, write_texture_set  # noqa: E402

TONES = [(1.5, "White"), (3.0, "East Asian"), (5.0, "Latino/Hispanic"), (7.0, "Indian"), (9.5, "Black")]
AGES = (25, 50, 78)
SETTINGS = {"size": 1024, "stubble": 0.5}
SIZE = 224  # pixels per tile


def record(index: int, age: float, tone: float, ethnicity: str) -> dict:
    seed = derive_seed(31, index)
    return {"index": index, "seed": seed, "head_seed": derive_seed(seed, 3), "age": float(age),
            "sex": "female" if index % 2 else "male", "ethnicity": ethnicity, "skin_tone": tone}


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    stage.configure_cycles(bpy.context.scene, SIZE, SAMPLES[0], denoise=True)
    tiles, labels = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        for row, age in enumerate(AGES):
            for column, (tone, ethnicity) in enumerate(TONES):
                ident = record(row * len(TONES) + column, age, tone, ethnicity)
                maps = procedural_set(ident, SETTINGS)
                write_texture_set(data, ident["index"], "procedural", maps, "figure")
                core = build_identity(ident["age"], ident["sex"], ident["ethnicity"], ident["head_seed"])
                head = heads.head_object(bpy.context, core, ident["head_seed"], skin_tone=tone,
                                        textures=texture_files(data, ident["index"]))
                stage.add_default_lights(bpy.context, head)
                path = data / f"{ident['index']}.png"
                stage.render_views(bpy.context, head, FRONT, SIZE, lambda i, v: path)
                tiles.append(Image.open(path).convert("RGB"))
                labels.append(f"MST {tone:g} {ident['sex'][0].upper()} {age}")
                heads.remove_head(head)
            albedo = Image.open(data / "textures" / f"{ident['index']:06d}" / "albedo.png").resize((SIZE, SIZE))
            tiles.append(albedo)
            labels.append("albedo (UV), last head")
        sheet(tiles, labels, len(TONES) + 1).save(OUT / "textures_tones_ages.jpg", quality=85)
    addon.unregister()


if __name__ == "__main__":
    main()

"""The README's picture, from a rendered dataset (the demo's by default; a few seconds).

    python docs/figures/make_readme_figure.py [DATA]

docs/images/readme.jpg: left, a contact sheet of the dataset's frontal neutral faces, one per
age band x sex (rows) and ethnicity (columns); right, the identity with the highest-PSPI
expression: neutral and pain from each view, and the pain images under their heatmaps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pain3d.dataset import NEUTRAL, read_manifest  # noqa: E402
from pain3d.plan import read_plan  # noqa: E402
from pain3d.app.dataset_report import HEAT_CMAP  # noqa: E402

OUT = REPO / "docs" / "images" / "readme.jpg"
THUMB, BIG, PAD, TITLE = 104, 208, 8, 26
HEAT_ALPHA = 0.65


def _open(data: Path, rel: str, size: int) -> Image.Image:
    with Image.open(data / rel) as img:
        return img.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)


def _heat_overlay(data: Path, row: dict, size: int) -> Image.Image:
    """The pain image darkened and coloured by its heatmap (the heat shows where pain reads)."""
    rgb = np.asarray(_open(data, row["image"], size), dtype=np.float32) / 255
    with Image.open(data / row["heatmap"]) as img:
        heat = Image.fromarray(np.asarray(img, dtype=np.float32) / 65535.0, "F").resize((size, size))
    heat = np.clip(np.asarray(heat), 0, 1)[..., None]
    colour = HEAT_CMAP(heat[..., 0])[..., :3]
    mixed = rgb * 0.45 * (1 - HEAT_ALPHA * heat) + colour * HEAT_ALPHA * heat + rgb * 0.55 * (1 - heat)
    return Image.fromarray((np.clip(mixed, 0, 1) * 255).astype(np.uint8))


def contact_sheet(data: Path, rows: list[dict]) -> Image.Image:
    """Frontal neutral faces: one per (age band, sex) row and ethnicity column (the first identity of each cell)."""
    front = [r for r in rows if r["expression"] == NEUTRAL and r["view"]["yaw"] == 0 and r["view"]["pitch"] == 0]
    bands = sorted({r["age_band"] for r in front}, key=lambda b: int(b.split("-")[0]))
    groups = sorted({r["ethnicity"] for r in front})
    cells = [(band, sex) for band in bands for sex in ("female", "male")]
    sheet = Image.new("RGB", (len(groups) * THUMB, len(cells) * THUMB), "white")
    for i, (band, sex) in enumerate(cells):
        for j, group in enumerate(groups):
            match = sorted((r for r in front if (r["age_band"], r["sex"], r["ethnicity"]) == (band, sex, group)),
                           key=lambda r: r["identity"])
            if match:
                sheet.paste(_open(data, match[0]["image"], THUMB), (j * THUMB, i * THUMB))
    return sheet


def ladder(data: Path, rows: list[dict]) -> tuple[Image.Image, dict]:
    """The identity with the strongest expression: neutral, pain and heatmap rows, one column per view."""
    top = max((r for r in rows if r.get("heatmap")), key=lambda r: (r["pspi"], -r["identity"]))
    mine = [r for r in rows if r["identity"] == top["identity"]]
    views = sorted({(r["view"]["yaw"], r["view"]["pitch"]) for r in mine})
    pick = {(r["expression"], (r["view"]["yaw"], r["view"]["pitch"])): r for r in mine}
    panel = Image.new("RGB", (len(views) * BIG, 3 * BIG), "white")
    for j, view in enumerate(views):
        panel.paste(_open(data, pick[(NEUTRAL, view)]["image"], BIG), (j * BIG, 0))
        pain = pick[(top["expression"], view)]
        panel.paste(_open(data, pain["image"], BIG), (j * BIG, BIG))
        panel.paste(_heat_overlay(data, pain, BIG), (j * BIG, 2 * BIG))
    return panel, top


def main(data: Path) -> None:
    bands = {i["index"]: i["age_band"] for i in read_plan(data)["identities"]}
    rows = [{**r, "age_band": bands[r["identity"]]} for r in read_manifest(data)]
    sheet = contact_sheet(data, rows)
    panel, top = ladder(data, rows)
    height = max(sheet.height, panel.height) + TITLE
    canvas = Image.new("RGB", (sheet.width + PAD * 3 + panel.width, height + PAD), "white")
    canvas.paste(sheet, (0, TITLE))
    canvas.paste(panel, (sheet.width + PAD * 3, TITLE))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=16)
    draw.text((4, 4), "one identity per age band x sex (rows) and ethnicity (columns)", fill="#333", font=font)
    aus = ", ".join(f"{k} {v:g}" for k, v in top["aus"].items() if v)
    draw.text((sheet.width + PAD * 3 + 4, 4), f"neutral / PSPI {top['pspi']:g} / heatmap", fill="#333", font=font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(OUT, quality=88, optimize=True)
    print(f"wrote {OUT} ({canvas.width}x{canvas.height}); ladder: identity {top['identity']}, {aus}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "demo_data")

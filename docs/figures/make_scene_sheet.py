"""The clinical scene's sheet, from a rendered dataset (a second; no Blender).

    pain3d generate --config assets/jobs/clinical.toml --out DATA
    python docs/figures/make_scene_sheet.py DATA

docs/images/clinical_scene.jpg: a row per patient, neutral then pain, each from every view the
job rendered (ordered by turn), at the rendered size.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pain3d.dataset import NEUTRAL, read_manifest  # noqa: E402
from pain3d.errors import Pain3DError  # noqa: E402

OUT = REPO / "docs" / "images" / "clinical_scene.jpg"


def _column(row: dict) -> tuple:
    return row["expression"] != NEUTRAL, row["view"]["yaw"], row["view"]["pitch"]


def scene_sheet(data: Path) -> Image.Image:
    rows = read_manifest(data)
    patients = [sorted((r for r in rows if r["identity"] == i), key=_column)
                for i in sorted({r["identity"] for r in rows})]
    with Image.open(data / rows[0]["image"]) as first:
        w, h = first.size
    out = Image.new("RGB", (max(map(len, patients)) * w, len(patients) * h), "white")
    for i, images in enumerate(patients):
        for j, row in enumerate(images):
            with Image.open(data / row["image"]) as tile:
                out.paste(tile.convert("RGB"), (j * w, i * h))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        sheet = scene_sheet(Path(sys.argv[1]))
    except Pain3DError as exc:
        print(f"DATA: {exc}", file=sys.stderr)
        sys.exit(2)
    sheet.save(OUT, quality=85)

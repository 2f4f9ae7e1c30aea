"""The judge's sheet, from its render set (a second; no Blender).

    python docs/figures/make_judge_sheet.py JUDGE_DIR [IDENTITY ...]

JUDGE_DIR is what `tests/blender/render_judge_set.py JUDGE_DIR` wrote (`make test` leaves it in
pytest's `judge0` folder). docs/images/aus_at_e_judge.jpg: a row per identity (by default the
identities 0, 18 and 30: a young woman, an older woman and an older man), frontal, neutral and
each PSPI action at E, the same 256 px renders MediaPipe reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[2] / "docs" / "images" / "aus_at_e_judge.jpg"
COLUMNS = ("neutral", "AU4", "AU6", "AU7", "AU9", "AU10", "AU43")
HEADER = 18


def judge_sheet(judge_dir: Path, identities: list[int]) -> Image.Image:
    frontal = {(e["identity"], e["expression"]): Path(e["path"]).name
               for e in json.loads((judge_dir / "index.json").read_text()) if e["yaw"] == 0.0}
    missing = [(i, c) for i in identities for c in COLUMNS if (i, c) not in frontal]
    if missing:
        raise ValueError(f"identities: {missing[0]} has no frontal render in {judge_dir}; the "
                         "judge renders each action on every sixth identity (0, 6, ..., 36)")
    with Image.open(judge_dir / frontal[identities[0], "neutral"]) as first:
        w, h = first.size
    out = Image.new("RGB", (len(COLUMNS) * w, HEADER + len(identities) * h), "white")
    draw = ImageDraw.Draw(out)
    for col, name in enumerate(COLUMNS):
        draw.text((col * w + w // 2 - 3 * len(name), 3), name, fill="black")
        for row, ident in enumerate(identities):
            with Image.open(judge_dir / frontal[ident, name]) as tile:
                out.paste(tile.convert("RGB"), (col * w, HEADER + row * h))
    return out


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    try:
        sheet = judge_sheet(Path(sys.argv[1]), [int(a) for a in sys.argv[2:]] or [0, 18, 30])
    except OSError as exc:
        print(f"JUDGE_DIR: {exc.filename} cannot be read ({exc.strerror})", file=sys.stderr)
        sys.exit(2)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    sheet.save(OUT, quality=85)


if __name__ == "__main__":
    main()

"""A stand-in for the UNBC-McMaster archive, in its distributor's layout (docs/unbc.md), written from scratch.

`write_archive(root, ...)` writes subjects `101-aa101`, `102-ab102`, ... each with sequences of
frames: `Images/<subject>/<sequence>/<frame>.png` (64x48, a face-like blob whose place and size
vary by subject, eyes narrowing and brows darkening with PSPI), the PSPI file (one number in the
archive's scientific notation), the FACS file (rows `AU intensity 0 0`, with a non-PSPI AU and
AU43 listed without an intensity, as the archive codes it), the 66 AAM landmarks (`x y` rows, on
the blob) and a `Sequence_Labels/` file per sequence. The first frame of every sequence is
neutral (PSPI 0) unless the subject is in `no_neutral`.

Run as a script it writes one: `python -m tests.training.unbc_archive FOLDER`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pain3d import facs

WIDTH, HEIGHT = 64, 48
EXTRA_AU = 25  # a coded AU outside PSPI: the reader skips it


def subject_names(count: int) -> list[str]:
    return [f"{101 + i:03d}-{chr(97 + i // 26)}{chr(97 + i % 26)}{101 + i:03d}" for i in range(count)]


def landmarks(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """66 (x, y) points on and inside the face ellipse (jaw, brows, eyes, nose, mouth-like rings)."""
    t = np.linspace(0, 2 * np.pi, 66, endpoint=False)
    radius = np.where(np.arange(66) < 17, 1.0, 0.55)  # 17 outline points, the rest inside
    return np.stack([cx + rx * radius * np.cos(t), cy + ry * radius * np.sin(t)], axis=1)


def draw_face(cx: float, cy: float, rx: float, ry: float, pspi: float, tone: int) -> Image.Image:
    img = Image.new("RGB", (WIDTH, HEIGHT), (40, 60, 80))
    draw = ImageDraw.Draw(img)
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(tone, int(tone * 0.8), int(tone * 0.65)))
    eye = max(0.5, 3 - pspi / 5)  # eyes narrow with pain
    for side in (-1, 1):
        ex = cx + side * rx * 0.4
        draw.ellipse([ex - 3, cy - ry * 0.25 - eye, ex + 3, cy - ry * 0.25 + eye], fill=(20, 20, 20))
        draw.line([ex - 4, cy - ry * 0.5, ex + 4, cy - ry * 0.5], fill=(int(100 - 5 * pspi),) * 3, width=2)
    draw.line([cx - rx * 0.35, cy + ry * 0.45, cx + rx * 0.35, cy + ry * 0.45], fill=(120, 40, 40), width=2)
    return img


def frame_aus(rng: np.random.Generator, neutral: bool) -> dict[str, float]:
    if neutral:
        return {key: 0.0 for key in facs.PSPI_AUS}
    aus = {key: float(rng.integers(0, 6)) for key in ("AU4", "AU6", "AU7", "AU9", "AU10")}
    return aus | {"AU43": float(rng.random() < 0.3)}


def facs_text(aus: dict[str, float], extra: int) -> str:
    """The FACS file: one row per coded AU (AU, intensity, two more columns); AU43 without an intensity."""
    rows = [(int(key[2:]), 0.0 if key == "AU43" else value) for key, value in aus.items() if value > 0]
    rows += [(EXTRA_AU, float(extra))] if extra else []
    return "".join(f"   {au:.7e}   {level:.7e}   {0:.7e}   {0:.7e}\n" for au, level in rows)


def write_archive(root: Path, subjects: int = 5, sequences: int = 2, frames: int = 4, seed: int = 0,
                  no_neutral: tuple[str, ...] = ()) -> Path:
    """Write the stand-in archive into ROOT (module docs); ROOT."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for s, subject in enumerate(subject_names(subjects)):
        cx, cy = 26 + 3 * s % 12, 22 + s % 5
        rx, ry = 11 + s % 4, 14 + s % 3
        for q in range(sequences):
            sequence = f"{subject[4:9]}t{q + 1}aaaff"
            for f in range(frames):
                stem = f"{sequence}{f + 1:03d}"
                aus = frame_aus(rng, f == 0 and subject not in no_neutral)
                pspi = facs.pspi(aus)
                if pspi == 0 and subject in no_neutral:  # no PSPI 0 frame at all for these subjects
                    aus["AU4"], pspi = 1.0, pspi + 1
                _write(root / "Images" / subject / sequence / f"{stem}.png",
                       draw_face(cx, cy, rx, ry, pspi, 150 + 10 * s))
                _write(root / "Frame_Labels" / "PSPI" / subject / sequence / f"{stem}_facs.txt", f"   {pspi:.7e}\n")
                _write(root / "Frame_Labels" / "FACS" / subject / sequence / f"{stem}_facs.txt",
                       facs_text(aus, extra=f % 3))
                points = landmarks(cx, cy, rx, ry)
                _write(root / "AAM_landmarks" / subject / sequence / f"{stem}_aam.txt",
                       "".join(f"{x:.4f} {y:.4f}\n" for x, y in points))
            _write(root / "Sequence_Labels" / "VAS" / subject / f"{sequence}.txt", f"   {q + 1:.7e}\n")
    return root


def _write(path: Path, content: str | Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Image.Image):
        content.save(path)
    else:
        path.write_text(content)


if __name__ == "__main__":
    print(write_archive(Path(sys.argv[1])))

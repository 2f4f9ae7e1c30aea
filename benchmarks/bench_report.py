"""Benchmark: `pain3d report` on a 10,000-image dataset (issue 7: it must take under a minute).

Run by hand (`python benchmarks/bench_report.py`) or with `pain3d bench report`. Builds a
synthetic dataset in a temporary folder: 304 identities x (neutral + 10 pain expressions) x 3
views = 10,032 images at 256^2, each with a mask and a camera file and, for pain images, a
16-bit heatmap and a colourised one; the manifest is written through `pain3d.dataset.make_row`
and the plan through `pain3d.plan.make_plan`. The pictures are drawn faces with noise, not
renders, so a PNG costs about what a render's does to decode. Times `write_report` on it (files
in the page cache, as just after a render), step by step.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pain3d import dataset  # noqa: E402
from pain3d.jobs import resolve_job  # noqa: E402
from pain3d.plan import make_plan, write_plan  # noqa: E402
from pain3d.app.dataset_report import write_report  # noqa: E402

IDENTITIES = 304
SIZE = 256
JOB = {"seed": 11, "name": "bench-report", "identities": {"count": IDENTITIES},
       "expressions": {"per_identity": 10}, "render": {"resolution": SIZE}}
LIGHT_SKIN, DARK_SKIN = np.array([246, 220, 200]), np.array([70, 45, 35])


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _face(tone: float, pspi: float, yaw: float, seed: int) -> bytes:
    """A drawn face (skin by Monk tone, brows lowered and eyes closing with PSPI) with sensor-like noise."""
    img = Image.new("RGB", (SIZE, SIZE), (90, 100, 115))
    draw = ImageDraw.Draw(img)
    cx = SIZE / 2 + yaw * 1.2
    skin = tuple(int(c) for c in LIGHT_SKIN + (DARK_SKIN - LIGHT_SKIN) * (tone - 1) / 9)
    draw.ellipse((cx - 70, 40, cx + 70, 230), fill=skin)
    eye_h = max(1, 9 - pspi * 0.55)
    for side in (-1, 1):
        ex = cx + side * 30
        draw.ellipse((ex - 13, 110 - eye_h, ex + 13, 110 + eye_h), fill=(30, 30, 30))
        draw.line((ex - 16, 88 + pspi, ex + 16, 92 + pspi * 0.5), fill=(50, 35, 25), width=5)
    draw.arc((cx - 30, 160, cx + 30, 200 - pspi), 200, 340, fill=(150, 60, 60), width=5)
    pixels = np.asarray(img, dtype=np.float32) + np.random.default_rng(seed).normal(0, 6, (SIZE, SIZE, 3))
    return _png(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))


def _heat(pspi: float, yaw: float) -> np.ndarray:
    """(SIZE, SIZE) heat in [0, 1]: blobs over brows and eyes, hotter with PSPI."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    cx = SIZE / 2 + yaw * 1.2
    blobs = sum(np.exp(-((x - cx - s * 30) ** 2 + (y - 100) ** 2) / 500) for s in (-1, 1))
    return np.clip(blobs * pspi / 16, 0, 1)


def _label_files(pspi: float, yaw: float) -> dict[str, bytes]:
    heat = _heat(pspi, yaw)
    colour = np.stack([heat, heat ** 2, 1 - heat], axis=-1) * (heat[..., None] > 0.01)
    mask = (np.round(heat * 3) + 1).astype(np.uint8)  # some class values in 1..4
    return {"heatmap": _png(Image.fromarray(np.round(heat * 65535).astype(np.uint16))),
            "heatmap_color": _png(Image.fromarray(np.round(colour * 255).astype(np.uint8))),
            "mask": _png(Image.fromarray(mask))}


def build(root: Path) -> int:
    """Write the benchmark dataset into `root`; returns its number of images.

    Each distinct PNG (per tone, PSPI and view) is encoded and written once; the other files
    with the same content are hard links to it, which keeps the build to seconds and the disk
    use small. The report opens each path as its own file either way.
    """
    job = resolve_job(JOB)
    plan = make_plan(job)
    write_plan(root, plan)
    for folder in ("images", "heatmaps", "heatmaps_color", "masks", "cameras"):
        (root / folder).mkdir()
    written: dict[tuple, Path] = {}
    landmarks = [[60.0 + 2 * (i % 68), 80.0 + i % 50] for i in range(dataset.N_LANDMARKS)]
    rows = []
    for ident in plan["identities"]:
        tone = round(ident["skin_tone"])
        for expr in ident["expressions"]:
            pspi = expr["pspi"]
            for v, view in enumerate(plan["views"]):
                sid, yaw = dataset.sample_id(ident["index"], expr["id"], v), view["yaw"]
                files = {"image": f"images/{sid}.png", "mask": f"masks/{sid}.png", "camera": f"cameras/{sid}.json"}
                if expr["id"] != dataset.NEUTRAL:
                    files |= {"heatmap": f"heatmaps/{sid}.png", "heatmap_color": f"heatmaps_color/{sid}.png"}
                for field, rel in files.items():
                    key = (field, tone, pspi, yaw) if field == "image" else (field, pspi, yaw)
                    _write(root / rel, key, lambda: _content(field, tone, pspi, yaw, len(written)), written)
                rows.append(dataset.make_row(ident, expr, v, view, files.pop("image"), files.pop("heatmap", None),
                                             landmarks, **files))
    dataset.write_header(root, job)
    dataset.write_manifest(root, rows)
    return len(rows)


def _content(field: str, tone: int, pspi: float, yaw: float, seed: int) -> bytes:
    if field == "image":
        return _face(tone, pspi, yaw, seed)
    if field == "camera":
        return b'{"resolution": %d}\n' % SIZE
    return _label_files(pspi, yaw)[field]


def _write(dest: Path, key: tuple, make: Callable[[], bytes], written: dict[tuple, Path]) -> None:
    """Write a file once per key; later files with the same key are hard links to the first."""
    if key in written:
        os.link(written[key], dest)
    else:
        dest.write_bytes(make())
        written[key] = dest


def run() -> dict:
    steps: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        images = build(root)
        built = time.perf_counter() - started
        started = time.perf_counter()
        write_report(root, progress=lambda step: steps.append((step, time.perf_counter())))
        total = time.perf_counter() - started
    marks = [t for _, t in steps] + [started + total]
    step_s = {name: round(marks[i + 1] - marks[i], 2) for i, (name, _) in enumerate(steps)}
    return {"benchmark": "report", "images": images, "resolution": SIZE, "build_s": round(built, 1),
            "report_s": round(total, 2), "steps_s": step_s}


if __name__ == "__main__":
    print(run())

"""Tiny datasets for the training tests, in both layouts (session-scoped: treat them as read-only).

- `tiny_pain3d`: a Pain3D dataset folder (docs/dataset-format.md) made through the plan and
  `pain3d.dataset.make_row`: 6 identities x (neutral + 2 pain) x 2 views (yaw -30, 30) at 64x64,
  with 16-bit heatmaps for the pain images, and all three splits present.
- `tiny_3dpain`: a folder in the 3DPain release layout, written from the release's description
  (not by our exporter): subjects `pat_000`..`pat_005` x (neutral + pain_1 + pain_2) x views 0, 1,
  annotations, "hot"-coloured heatmaps and `splits.csv` (4 train, 1 val, 1 test subjects).

Images are plain test pictures, not renders: a left-to-right ramp (so flips show), a colour per
identity and a bright block whose size grows with PSPI; heatmaps are brighter on the left half.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pain3d import dataset, facs
from pain3d.jobs import resolve_job
from pain3d.plan import make_plan, write_plan

SIZE = 64
TINY_JOB = {"seed": 5, "identities": {"count": 6}, "expressions": {"per_identity": 2},
            "render": {"views": [-30, 30], "resolution": SIZE}}
RELEASE_SPLITS = [0, 0, 0, 0, 1, 2]  # per subject: 0 train, 1 val, 2 test


def picture(identity: int, pspi: float, view: int) -> Image.Image:
    ramp = np.linspace(0, 200, SIZE, dtype=np.float32)[None, :, None]
    colour = np.array([(37 * identity) % 55, (91 * identity) % 55, 30 * view], dtype=np.float32)
    pixels = np.broadcast_to(ramp + colour, (SIZE, SIZE, 3)).copy()
    half = int(2 + pspi * 1.5)
    pixels[SIZE // 2 - half:SIZE // 2 + half, SIZE // 2 - half:SIZE // 2 + half] = 255
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def face_outline() -> list[list[float]]:
    """Landmarks on a circle about the picture's centre (0.3 x its side): the readers' face crop is the
    square 1.4 x 0.6 = 0.84 of the side about the centre, where the picture's pain square is."""
    angle = np.linspace(0, 2 * np.pi, dataset.N_LANDMARKS, endpoint=False)
    return [[SIZE / 2 + 0.3 * SIZE * np.cos(a), SIZE / 2 + 0.3 * SIZE * np.sin(a)] for a in angle]


def heat_pattern(pspi: float) -> np.ndarray:
    """(SIZE, SIZE) heat in [0, 1]: pspi / 16 on the left half of a central band, half that on the right."""
    heat = np.zeros((SIZE, SIZE), dtype=np.float32)
    heat[16:48, 8:SIZE // 2] = pspi / facs.PSPI_MAX
    heat[16:48, SIZE // 2:56] = pspi / facs.PSPI_MAX / 2
    return heat


def _save(img: Image.Image, root: Path, rel: str) -> str:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    img.save(root / rel)
    return rel


@pytest.fixture(scope="session")
def tiny_pain3d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_pain3d")
    job = resolve_job(TINY_JOB)
    plan = make_plan(job)
    write_plan(root, plan)
    rows = []
    for ident in plan["identities"]:
        for expr in ident["expressions"]:
            for v, view in enumerate(plan["views"]):
                sid = dataset.sample_id(ident["index"], expr["id"], v)
                image = _save(picture(ident["index"], expr["pspi"], v), root, f"images/{sid}.png")
                heatmap = None
                if expr["id"] != dataset.NEUTRAL:
                    heat16 = np.round(heat_pattern(expr["pspi"]) * 65535).astype(np.uint16)
                    heatmap = _save(Image.fromarray(heat16), root, f"heatmaps/{sid}.png")
                landmarks = face_outline()
                rows.append(dataset.make_row(ident, expr, v, view, image, heatmap, landmarks))
    dataset.write_header(root, job)
    dataset.write_manifest(root, rows)
    return root


def hot_colours(heat: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 of heat through a black -> red -> yellow -> white ramp, as the release colours."""
    stops = [0.0, 0.365, 0.746, 1.0]
    channels = [np.interp(heat, stops, c) for c in ([0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1])]
    return np.round(np.stack(channels, axis=-1) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_3dpain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_3dpain")
    rng = np.random.default_rng(11)
    split_rows = []
    for s, code in enumerate(RELEASE_SPLITS):
        subject = f"pat_{s:03d}"
        for j in range(3):
            base = f"{subject}_neutral" if j == 0 else f"{subject}_pain_{j}"
            aus = {"AU4": 0.0, "AU6": 0.0, "AU7": 0.0, "AU9": 0.0, "AU10": 0.0, "AU43": 0.0}
            if j:
                aus.update(AU4=float(rng.integers(0, 6)), AU6=float(rng.integers(0, 6)),
                           AU10=float(rng.integers(0, 6)), AU43=float(j == 2))
            pspi = facs.pspi(aus)
            for k in range(2):
                _save(picture(s, pspi, k), root, f"meshes_inpainted/{base}_view_{k}.png")
            if j:
                (root / "annotations").mkdir(exist_ok=True)
                (root / "annotations" / f"{base}_annotations.json").write_text(json.dumps({**aus, "PSPI": pspi}))
                _save(Image.fromarray(hot_colours(heat_pattern(pspi))), root, f"heatmaps/{base}.png")
            split_rows.append((base, code))
    with open(root / "splits.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["annotation_base_name", "split"])
        writer.writerows(split_rows)
    return root

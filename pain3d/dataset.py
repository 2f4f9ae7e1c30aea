"""The dataset contract: how a rendered dataset lies on disk (docs/dataset-format.md).

Every part reads and writes datasets through this module: the farm writes rows, training
reads them, `pain3d validate` checks them. A dataset folder DATA holds:

- `dataset.json`: format name and version, the job name and seed, the software version;
- `manifest.jsonl`: one JSON object per rendered image (ROW_FIELDS);
- the image, heatmap and label files the rows point at, by paths relative to DATA;
- `plan.json`, the plan it was rendered from.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

from . import __version__, facs
from .camera import Camera
from .errors import Pain3DError
from .fileio import atomic_write_text, dumps_json
from .sampling import SPLITS

DATASET_FORMAT = "pain3d-dataset"
DATASET_FORMAT_VERSION = 5  # 2: rows carry age_band; 3: hair record and landmark visibility; 4: clothing;
# 5: bedding (the clinical scene's pillow, mattress and blanket)
DATASET_FILE = "dataset.json"
MANIFEST_FILE = "manifest.jsonl"
NEUTRAL = "neutral"
N_LANDMARKS = 68
# Face segmentation classes: the pixel values of a mask PNG (8-bit, one class per pixel).
MASK_CLASSES = {"background": 0, "skin": 1, "brows": 2, "eyes": 3, "lips": 4, "inner_mouth": 5, "teeth": 6,
                "hair": 7, "clothing": 8, "bedding": 9}

# Where each kind of file a row names lies: row field -> folder under DATA.
FOLDERS = {"image": "images", "heatmap": "heatmaps", "heatmap_color": "heatmaps_color", "mask": "masks",
           "depth": "depths", "normals": "normals", "camera": "cameras"}
# Label images rendered beside each RGB image: field -> (PNG colour mode, bits per channel).
LABEL_FILES = {"heatmap": ("BW", 16), "heatmap_color": ("RGB", 8), "mask": ("BW", 8)}
OPTIONAL_LABEL_FILES = {"depth": ("BW", 16), "normals": ("RGB", 8)}  # when the job's render.depth / render.normals
HEAT_FILES = ("heatmap", "heatmap_color")  # neutral rows have none
# Whether each landmark is seen (docs/dataset-format.md): it is, or hair or clothing covers it (the
# mask's class over it: a headscarf over the jaw line), or the bed (the pillow or a rail in front of
# it, by a ray from the camera), or another part of the face (the nose, the cheek or chin at side
# views) hides it. The eye landmarks
# lie on the lid margins, so closing lids never hide them.
VISIBILITY = ("visible", "hair", "clothing", "bedding", "face")
COVERING = ("hair", "clothing")  # mask classes over a landmark's pixel that cover it (the bed: by ray)
DEPTH_UNIT_M = 1e-4  # a depth PNG value of 1 is 0.1 mm along the camera axis; 0 is no surface

# Required row fields and their JSON types (bool is excluded from numbers on purpose).
ROW_FIELDS: dict[str, tuple[type, ...]] = {
    "sample_id": (str,),
    "identity": (int,),
    "expression": (str,),
    "view": (dict,),
    "image": (str,),
    "heatmap": (str, type(None)),
    "aus": (dict,),
    "pspi": (int, float),
    "age": (int, float),
    "sex": (str,),
    "ethnicity": (str,),
    "skin_tone": (int, float),
    "landmarks": (list, str),
    "seed": (int,),
    "split": (str,),
    "age_band": (str,),
}
# Optional fields that name files; when present they must exist inside DATA.
OPTIONAL_FILE_FIELDS = ("heatmap_color", "mask", "depth", "normals", "camera")
IDENTITY_FIELDS = ("age", "age_band", "sex", "ethnicity", "skin_tone", "split")
CROSS_ROW_FIELDS = {"sample_id", "identity", "expression", "view", *IDENTITY_FIELDS}


def sample_id(identity: int, expression: str, view_index: int) -> str:
    """The unique id of one image: identity, expression and view index."""
    return f"{identity:06d}_{expression}_v{view_index}"


def make_row(identity: dict, expression: dict, view_index: int, view: dict, image: str,
             heatmap: str | None, landmarks: list | str, **extra: Any) -> dict:
    """One manifest row from plan records (identity, expression, view) and the files written.

    `extra` carries optional fields (mask, depth, camera, ...). The row's seed is the
    expression's seed: the draws made for that image (lighting, background) derive from it.
    """
    row = {
        "sample_id": sample_id(identity["index"], expression["id"], view_index),
        "identity": identity["index"],
        "expression": expression["id"],
        "view": {"yaw": float(view["yaw"]), "pitch": float(view["pitch"])},
        "view_index": view_index,
        "image": image,
        "heatmap": heatmap,
        "aus": dict(expression["aus"]),
        "pspi": expression["pspi"],
        "age": identity["age"],
        "sex": identity["sex"],
        "ethnicity": identity["ethnicity"],
        "skin_tone": identity["skin_tone"],
        "landmarks": landmarks,
        "seed": expression["seed"],
        "split": identity["split"],
        "age_band": identity["age_band"],
    }
    if identity.get("hair"):
        row["hair"] = {k: v for k, v in identity["hair"].items() if k != "seed"}
    if identity.get("clothing"):
        row["clothing"] = {k: v for k, v in identity["clothing"].items() if k not in ("seed", "garments_file")}
    if identity.get("makeup"):
        row["makeup"] = {k: v for k, v in identity["makeup"].items() if k != "seed"}
    if identity.get("bed"):
        row["bed"] = {k: v for k, v in identity["bed"].items() if k != "seed"}
    row.update(extra)
    return row


def landmark_visibility(blocked_by: Iterable[str], covered_by: Iterable[str]) -> list[str]:
    """Each landmark's VISIBILITY: what stands in front of it ("face": the head itself, "bedding":
    the pillow or the bed's rails; "" for nothing), else the COVERING class over its pixel ("hair",
    "clothing"), else "visible"."""
    return [b or c or "visible" for b, c in zip(blocked_by, covered_by)]


def label_files(depth: bool, normals: bool) -> dict[str, tuple[str, int]]:
    """The label files rendered beside each image (field -> PNG mode, bits) for a job's render settings."""
    wanted = dict(LABEL_FILES)
    wanted.update({k: v for k, v in OPTIONAL_LABEL_FILES.items() if {"depth": depth, "normals": normals}[k]})
    return wanted


def view_of(row: dict) -> tuple[float, float]:
    """(yaw, pitch) of a row's camera in degrees."""
    return float(row["view"]["yaw"]), float(row["view"].get("pitch", 0.0))


def file_path(sample: str, field: str, suffix: str = ".png") -> str:
    """Where a sample's file of this kind lies, relative to DATA (`images/000003_neutral_v1.png`)."""
    return f"{FOLDERS[field]}/{sample}{suffix}"


def camera_record(camera: Camera, scene: dict, depth: bool) -> dict:
    """The camera file of one image (docs/dataset-format.md): the camera, the drawn scene (lighting
    and background), and the depth unit when the job writes depth maps."""
    record = {"intrinsics": camera.intrinsics.tolist(), "extrinsics": camera.extrinsics.tolist(),
              "resolution": camera.width, "scene": scene}
    if depth:
        record["depth_unit_m"] = DEPTH_UNIT_M
    return record


def dataset_header(job: dict) -> dict:
    return {
        "format": DATASET_FORMAT,
        "format_version": DATASET_FORMAT_VERSION,
        "pain3d_version": __version__,
        "job_name": job["name"],
        "seed": job["seed"],
    }


def write_header(data_dir: str | Path, job: dict) -> None:
    atomic_write_text(Path(data_dir) / DATASET_FILE, json.dumps(dataset_header(job), indent=2) + "\n")


def write_manifest(data_dir: str | Path, rows: Iterable[dict], name: str = MANIFEST_FILE) -> Path:
    """Write a whole manifest atomically (one canonical JSON object per line)."""
    path = Path(data_dir) / name
    atomic_write_text(path, "".join(dumps_json(row) + "\n" for row in rows))
    return path


def read_manifest(data_dir: str | Path, name: str = MANIFEST_FILE) -> list[dict]:
    """All rows of a manifest; Pain3DError if it is missing or a line does not parse."""
    rows = []
    for lineno, row, error in _iter_manifest(Path(data_dir) / name):
        if error:
            raise Pain3DError(f"{name}:{lineno}: {error}")
        rows.append(row)
    return rows


def _iter_manifest(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Pain3DError(f"{path}: no manifest; this folder has not been rendered") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            yield lineno, None, f"not valid JSON ({err.msg})"
            continue
        if not isinstance(row, dict):
            yield lineno, None, "not a JSON object"
            continue
        yield lineno, row, None


# --- validation ----------------------------------------------------------------------------


@dataclass
class ValidationReport:
    """What `validate` found: problems (each one line) and a few counts."""

    problems: list[str]
    rows: int = 0
    identities: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(data_dir: str | Path, check_files: bool = True) -> ValidationReport:
    """Check a dataset folder against the contract. Never raises for bad content."""
    data_dir = Path(data_dir)
    problems: list[str] = []
    _check_header(data_dir, problems)
    rows: list[tuple[int, dict]] = []
    try:
        for lineno, row, error in _iter_manifest(data_dir / MANIFEST_FILE):
            if error:
                problems.append(f"{MANIFEST_FILE}:{lineno}: {error}")
            else:
                rows.append((lineno, row))
    except Pain3DError as err:
        return ValidationReport([str(err)])
    if not rows:
        problems.append(f"{MANIFEST_FILE}: has no rows")
    good = [(n, r) for n, r in rows if _check_row(data_dir, n, r, problems, check_files)]
    _check_unique_ids(good, problems)
    _check_identities(good, problems)
    _check_neutral_twins(good, problems)
    return ValidationReport(problems, rows=len(rows), identities=len({r["identity"] for _, r in good}))


def _check_header(data_dir: Path, problems: list[str]) -> None:
    path = data_dir / DATASET_FILE
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{DATASET_FILE}: missing")
        return
    except (json.JSONDecodeError, UnicodeDecodeError):
        problems.append(f"{DATASET_FILE}: not valid JSON")
        return
    if not isinstance(header, dict) or header.get("format") != DATASET_FORMAT:
        problems.append(f"{DATASET_FILE}: format is not {DATASET_FORMAT!r}")
    elif header.get("format_version") != DATASET_FORMAT_VERSION:
        problems.append(f"{DATASET_FILE}: format_version = {header.get('format_version')!r}; "
                        f"this Pain3D reads {DATASET_FORMAT_VERSION}")


def _check_row(data_dir: Path, lineno: int, row: dict, problems: list[str], check_files: bool) -> bool:
    """Field-level checks of one row; False if it is too broken for the cross-row checks."""
    where = f"{MANIFEST_FILE}:{lineno} ({row.get('sample_id', '?')})"
    broken = set()
    for name, types in ROW_FIELDS.items():
        if name not in row:
            problems.append(f"{where}: missing field {name!r}")
            broken.add(name)
        elif not isinstance(row[name], types) or isinstance(row[name], bool):
            problems.append(f"{where}: {name} = {_short(row[name])}: wrong type")
            broken.add(name)
    if broken:
        return not broken & CROSS_ROW_FIELDS
    _check_labels(where, row, problems)
    _check_view(where, row, problems)
    if row["split"] not in SPLITS:
        problems.append(f"{where}: split = {row['split']!r}; allowed: {', '.join(SPLITS)}")
    is_neutral = row["expression"] == NEUTRAL
    if is_neutral and row["heatmap"] is not None:
        problems.append(f"{where}: neutral row has a heatmap; neutral rows have heatmap null")
    if not is_neutral and row["heatmap"] is None:
        problems.append(f"{where}: pain row has no heatmap")
    size = None
    if check_files:
        size = _check_image(data_dir, where, "image", row["image"], problems)
        if row["heatmap"] is not None:
            _check_image(data_dir, where, "heatmap", row["heatmap"], problems)
        for name in OPTIONAL_FILE_FIELDS:
            if row.get(name) is not None:
                _check_file(data_dir, where, name, row[name], problems)
    _check_landmarks(data_dir, where, row["landmarks"], size, problems)
    if row.get("landmarks_3d") is not None:
        _check_landmarks(data_dir, where, row["landmarks_3d"], size, problems, "landmarks_3d")
    return True


def _check_labels(where: str, row: dict, problems: list[str]) -> None:
    aus = row["aus"]
    missing = [k for k in facs.PSPI_AUS if k not in aus]
    if missing:
        problems.append(f"{where}: aus lacks {', '.join(missing)}; every row labels the six PSPI AUs")
        return
    try:
        expected = facs.pspi(aus)
    except Pain3DError as err:
        problems.append(f"{where}: aus: {err}")
        return
    if not math.isclose(float(row["pspi"]), expected, abs_tol=1e-6):
        problems.append(f"{where}: pspi = {row['pspi']} but its AUs give PSPI {expected:g}")
    if row["expression"] == NEUTRAL and any(v != 0 for v in aus.values()):
        problems.append(f"{where}: neutral row has active AUs")


def _check_view(where: str, row: dict, problems: list[str]) -> None:
    view = row["view"]
    if not all(isinstance(view.get(k), (int, float)) and not isinstance(view.get(k), bool) for k in ("yaw", "pitch")):
        problems.append(f"{where}: view = {_short(view)}: needs numeric yaw and pitch")


def _check_landmarks(data_dir: Path, where: str, landmarks: Any, size: tuple[int, int] | None,
                     problems: list[str], field: str = "landmarks") -> None:
    if isinstance(landmarks, str):
        path = _resolve(data_dir, landmarks)
        if path is None or not path.is_file():
            problems.append(f"{where}: {field} file {landmarks!r} does not exist")
            return
        try:
            landmarks = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            problems.append(f"{where}: {field} file {landmarks!r} is not JSON")
            return
    ok = (isinstance(landmarks, list) and len(landmarks) == N_LANDMARKS
          and all(isinstance(p, list) and len(p) == 2 and all(_finite(c) for c in p) for p in landmarks))
    if not ok:
        problems.append(f"{where}: {field} must be {N_LANDMARKS} [x, y] pixel points")
        return
    if size is not None:
        w, h = size
        outside = sum(not (0 <= x <= w and 0 <= y <= h) for x, y in landmarks)
        if outside:
            problems.append(f"{where}: {outside} {field} lie outside the {w}x{h} image")


def _check_image(data_dir: Path, where: str, name: str, rel: str, problems: list[str]) -> tuple[int, int] | None:
    path = _check_file(data_dir, where, name, rel, problems)
    if path is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return img.size
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        problems.append(f"{where}: {name} {rel!r} does not decode ({err})")
        return None


def _check_file(data_dir: Path, where: str, name: str, rel: Any, problems: list[str]) -> Path | None:
    path = _resolve(data_dir, rel) if isinstance(rel, str) else None
    if path is None:
        problems.append(f"{where}: {name} = {_short(rel)}: must be a relative path inside the dataset")
        return None
    if not path.is_file():
        problems.append(f"{where}: {name} {rel!r} does not exist")
        return None
    return path


def _resolve(data_dir: Path, rel: str) -> Path | None:
    """The file a relative manifest path names, or None if it is absolute or climbs out."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not rel:
        return None
    return data_dir / pure


def _check_unique_ids(rows: list[tuple[int, dict]], problems: list[str]) -> None:
    first_seen: dict[str, int] = {}
    for lineno, row in rows:
        sid = row["sample_id"]
        if sid in first_seen:
            problems.append(f"{MANIFEST_FILE}:{lineno}: sample_id {sid!r} repeats line {first_seen[sid]}")
        else:
            first_seen[sid] = lineno


def _check_identities(rows: list[tuple[int, dict]], problems: list[str]) -> None:
    """Each identity has one split (splits are identity-disjoint) and one set of demographics."""
    seen: dict[int, dict[str, Any]] = {}
    for lineno, row in rows:
        first = seen.setdefault(row["identity"], {f: row[f] for f in IDENTITY_FIELDS})
        for name in IDENTITY_FIELDS:
            if row[name] != first[name]:
                what = "is in two splits" if name == "split" else f"has two values of {name}"
                problems.append(f"{MANIFEST_FILE}:{lineno}: identity {row['identity']} {what} "
                                f"({_short(first[name])} and {_short(row[name])})")


def _check_neutral_twins(rows: list[tuple[int, dict]], problems: list[str]) -> None:
    """Every pain image has the neutral image of the same identity and view."""
    neutral = {(r["identity"], _view_key(r["view"])) for _, r in rows if r["expression"] == NEUTRAL}
    missing = defaultdict(list)
    for lineno, row in rows:
        key = (row["identity"], _view_key(row["view"]))
        if row["expression"] != NEUTRAL and key not in neutral:
            missing[key].append(lineno)
    for (identity, (yaw, pitch)), lines in missing.items():
        problems.append(f"{MANIFEST_FILE}:{lines[0]}: identity {identity} view yaw={yaw:g} pitch={pitch:g} has "
                        f"{len(lines)} pain image(s) but no neutral twin")


def _view_key(view: dict) -> tuple[float, float]:
    return float(view.get("yaw", 0)), float(view.get("pitch", 0))


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

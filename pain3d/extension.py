"""Build the installable Blender extension zip (`pain3d addon build --out DIR`).

The zip holds `blender_addon/` at its root, the pure core vendored as the subpackage `core/`
(the add-on imports it relatively, as extensions must) and the `assets/` the core reads.
The core needs only numpy, which Blender bundles, so no wheels are packed.
"""

from __future__ import annotations

import io
import tomllib
import zipfile
from pathlib import Path

from .fileio import atomic_write_bytes, make_folder
from .paths import assets_dir

REPO = assets_dir().parent
ADDON_DIR = REPO / "blender_addon"
CORE_DIR = REPO / "pain3d"
# Orchestration modules of the core that need click or run outside Blender.
CORE_EXCLUDE = {"cli.py", "extension.py"}
ASSET_FILES = ("demographics.toml", "facs")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # zip entry timestamps: the same sources give the same bytes


def manifest() -> dict:
    with open(ADDON_DIR / "blender_manifest.toml", "rb") as f:
        return tomllib.load(f)


def _files() -> list[tuple[str, Path]]:
    """(archive name, source path) of every file in the extension, sorted."""
    files = []
    for path in sorted(ADDON_DIR.rglob("*")):
        rel = path.relative_to(ADDON_DIR)
        if rel.parts[0] == "core" or not path.is_file() or _ignored(rel):
            continue
        files.append((rel.as_posix(), path))
    for path in sorted(CORE_DIR.rglob("*")):
        rel = path.relative_to(CORE_DIR)
        if path.is_file() and not _ignored(rel) and rel.as_posix() not in CORE_EXCLUDE:
            files.append((f"core/{rel.as_posix()}", path))
    for name in ASSET_FILES:
        root = assets_dir() / name
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and not _ignored(path.relative_to(assets_dir())):
                files.append((f"assets/{path.relative_to(assets_dir()).as_posix()}", path))
    return files


def _ignored(rel: Path) -> bool:
    return any(part == "__pycache__" or part.startswith(".") for part in rel.parts) or rel.suffix == ".pyc"


def build(out_dir: str | Path) -> Path:
    """Write `pain3d-<version>.zip` into out_dir (atomically) and return its path."""
    out_dir = Path(out_dir)
    make_folder(out_dir, f"--out {out_dir}")
    info = manifest()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in _files():
            entry = zipfile.ZipInfo(name, FIXED_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    target = out_dir / f"{info['id']}-{info['version']}.zip"
    atomic_write_bytes(target, buffer.getvalue())
    return target

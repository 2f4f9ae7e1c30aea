"""Build the installable Blender extension zip (`pain3d addon build --out DIR`).

The zip's root package is the pure core itself (`pain3d/`, less its command-line entry point),
with the add-on (`blender_addon/`) as its subpackage `addon/` and the `assets/` the core reads:
the same tree as the installed namespace, so the add-on's relative imports (`from .. import
facs`) resolve alike in both. The root `__init__.py` is the core's plus the add-on's
`register`/`unregister`, which Blender calls. The core needs only numpy, which Blender bundles,
so no wheels are packed, and nothing above the add-on (farm, training, CLI) is shipped.
"""

from __future__ import annotations

import io
import tomllib
import zipfile
from pathlib import Path

from pain3d.fileio import atomic_write_bytes, make_folder
from pain3d.paths import assets_dir

REPO = assets_dir().parent
ADDON_DIR = REPO / "blender_addon"
CORE_DIR = REPO / "pain3d"
MANIFEST = "blender_manifest.toml"
CORE_EXCLUDE = {"__main__.py"}  # the command line's entry point reaches the layers the zip leaves out
ENTRY_POINTS = ("\n\n# Blender's entry points: this package is the Pain3D extension.\n"
                "from .addon import register, unregister  # noqa: E402,F401\n")
ASSET_FILES = ("demographics.toml", "facs", "hair", "clothing", "makeup")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # zip entry timestamps: the same sources give the same bytes


def manifest() -> dict:
    with open(ADDON_DIR / MANIFEST, "rb") as f:
        return tomllib.load(f)


def _files() -> list[tuple[str, Path]]:
    """(archive name, source path) of every file in the extension but the root `__init__.py`, sorted."""
    files = [(MANIFEST, ADDON_DIR / MANIFEST)]
    for path in sorted(CORE_DIR.rglob("*")):
        rel = path.relative_to(CORE_DIR)
        if path.is_file() and not _ignored(rel) and rel.as_posix() not in CORE_EXCLUDE | {"__init__.py"}:
            files.append((rel.as_posix(), path))
    for path in sorted(ADDON_DIR.rglob("*")):
        rel = path.relative_to(ADDON_DIR)
        if path.is_file() and not _ignored(rel) and rel.as_posix() != MANIFEST:
            files.append((f"addon/{rel.as_posix()}", path))
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
    entries = [("__init__.py", (CORE_DIR / "__init__.py").read_text().rstrip("\n") + ENTRY_POINTS)]
    entries += [(name, path.read_bytes()) for name, path in _files()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            entry = zipfile.ZipInfo(name, FIXED_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    target = out_dir / f"{info['id']}-{info['version']}.zip"
    atomic_write_bytes(target, buffer.getvalue())
    return target

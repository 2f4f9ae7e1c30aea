"""Crash-safe file writes: write to a temporary name beside the target, then rename.

A killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import tomllib
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Pain3DError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; datasets are shared like any other file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_folder(path: Path, label: str) -> None:
    """Create a folder (and its parents); one-line errors, naming `label`, when that cannot be done."""
    if path.exists() and not path.is_dir():
        raise Pain3DError(f"{label}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise Pain3DError(f"{label}: cannot create folder ({err.strerror})") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def dumps_json(obj: Any) -> str:
    """Canonical JSON (stable key order as given, no spaces, UTF-8) for byte-identical outputs."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def png_gray16(values: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG of a 2-D uint16 array, with the standard library alone.

    Blender's own Python has numpy but not Pillow, and farm scripts run there too.
    """
    rows = np.asarray(values, dtype=">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in rows)  # filter type 0 (none) per scanline
    header = struct.pack(">IIBBBBB", rows.shape[1], rows.shape[0], 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def read_toml(path: Path, what: str) -> dict:
    """A TOML file's table; one-line errors for a missing, unreadable or malformed file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise Pain3DError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise Pain3DError(f"{path}: is a folder, not a {what}") from None
    except OSError as err:
        raise Pain3DError(f"{path}: cannot read {what} ({err.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Pain3DError(f"{path.name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise Pain3DError(f"{path.name}: TOML syntax error: {err}") from None

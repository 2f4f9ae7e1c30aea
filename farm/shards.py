"""Shards of a render job: which identities a shard renders, its crash-safe manifest, merging.

Work is split by identity: shard I of N renders identities i with i % N == I, so shards are
balanced and disjoint. Each shard appends its rows to its own manifest,
`DATA/shards/manifest-IIII-of-NNNN.jsonl`, one whole line per image, written only after the
image's files have been renamed into place; an exclusive lock keeps a shard from running
twice at once. `merge` joins the shard manifests into DATA/manifest.jsonl.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from pain3d.dataset import MANIFEST_FILE, sample_id, write_header, write_manifest
from pain3d.errors import Pain3DError
from pain3d.fileio import dumps_json
from pain3d.plan import read_plan

SHARD_DIR = "shards"
_SPEC_RE = re.compile(r"^(\d+)/(\d+)$")
_FILE_RE = re.compile(r"^manifest-(\d{4,})-of-(\d{4,})\.jsonl$")


def parse_shard(spec: str) -> tuple[int, int]:
    """`"I/N"` -> (I, N) with 0 <= I < N; a one-line error otherwise."""
    match = _SPEC_RE.match(spec.strip()) if isinstance(spec, str) else None
    if match:
        index, count = int(match.group(1)), int(match.group(2))
        if count >= 1 and index < count:
            return index, count
    raise Pain3DError(f"--shard {spec}: invalid; allowed: I/N with integers 0 <= I < N (e.g. 0/4)")


def parse_identities(text: str, count: int) -> list[int]:
    """`"0,3,7"` -> [0, 3, 7] (each in 0..count-1); empty means all; a one-line error otherwise."""
    if not text:
        return list(range(count))
    try:
        wanted = [int(part) for part in text.split(",")]
    except ValueError:
        wanted = [-1]
    if any(not 0 <= i < count for i in wanted):
        raise Pain3DError(f"--identities {text}: invalid; allowed: comma-separated indices 0..{count - 1}")
    return wanted


def shard_identities(n_identities: int, index: int, count: int) -> list[int]:
    return list(range(index, n_identities, count))


def shard_manifest_path(data_dir: str | Path, index: int, count: int) -> Path:
    return Path(data_dir) / SHARD_DIR / f"manifest-{index:04d}-of-{count:04d}.jsonl"


class ShardManifest:
    """A shard's append-only manifest, held under an exclusive lock while the shard runs."""

    def __init__(self, data_dir: str | Path, index: int, count: int) -> None:
        self.path = shard_manifest_path(data_dir, index, count)
        self.label = f"{index}/{count}"
        self._lock_file = None
        self._out = None

    def __enter__(self) -> "ShardManifest":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_suffix(".lock"), "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise Pain3DError(f"shard {self.label} is already running into {self.path.parent.parent}") from None
        self._truncate_partial_line()
        self._out = open(self.path, "a", encoding="utf-8")
        return self

    def __exit__(self, *exc) -> None:
        if self._out:
            self._out.close()
        if self._lock_file:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()

    def rows(self) -> list[dict]:
        return list(_complete_rows(self.path))

    def append(self, row: dict) -> None:
        """Append one row durably (call only after the row's files are in place)."""
        self._out.write(dumps_json(row) + "\n")
        self._out.flush()
        os.fsync(self._out.fileno())

    def _truncate_partial_line(self) -> None:
        """A killed writer may leave half a line at the end: cut it off before appending."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(self.path, "r+b") as f:
                f.truncate(end)


def _complete_rows(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # a partial last line from a killed writer
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def shard_manifests(data_dir: str | Path) -> list[Path]:
    folder = Path(data_dir) / SHARD_DIR
    return sorted(p for p in folder.glob("manifest-*.jsonl") if _FILE_RE.match(p.name)) if folder.is_dir() else []


def merge(data_dir: str | Path) -> int:
    """Join every shard manifest into DATA/manifest.jsonl in plan order; returns the row count.

    Rows whose image is missing are dropped (their shard will redo them); when a sample was
    written twice (a re-run), the last complete row wins.
    """
    data_dir = Path(data_dir)
    plan = read_plan(data_dir)
    paths = shard_manifests(data_dir)
    if not paths:
        raise Pain3DError(f"{data_dir}: no shard manifests in {SHARD_DIR}/; render a shard first")
    rows: dict[str, dict] = {}
    for row in _all_rows(paths):
        if (data_dir / row["image"]).is_file():
            rows[row["sample_id"]] = row
    order = _plan_order(plan)
    merged = sorted(rows.values(), key=lambda r: order.get(r["sample_id"], (1 << 62,)))
    write_header(data_dir, plan["job"])
    write_manifest(data_dir, merged, MANIFEST_FILE)
    return len(merged)


def _all_rows(paths: Iterable[Path]) -> Iterator[dict]:
    for path in paths:
        yield from _complete_rows(path)


def _plan_order(plan: dict) -> dict[str, tuple[int, int, int]]:
    order = {}
    for identity in plan["identities"]:
        for e, expression in enumerate(identity["expressions"]):
            for v in range(len(plan["views"])):
                order[sample_id(identity["index"], expression["id"], v)] = (identity["index"], e, v)
    return order

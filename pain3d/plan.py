"""The plan: what a job will render, identity by identity (docs/plan-format.md).

`make_plan(job)` is pure and deterministic; `write_plan` stores it as DATA/plan.json with
one identity per line, so the same job gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import __version__
from .errors import Pain3DError
from .fileio import atomic_write_text, dumps_json, make_folder
from .jobs import views_of
from .sampling import cells, sample_expressions, sample_identity

PLAN_FORMAT = "pain3d-plan"
PLAN_FORMAT_VERSION = 1
PLAN_FILE = "plan.json"


def make_plan(job: dict) -> dict:
    """Every identity of the job with its expressions and the job's views."""
    identities = []
    for index in range(job["identities"]["count"]):
        identity = sample_identity(index, job)
        identity["expressions"] = sample_expressions(identity["seed"], job)
        identities.append(identity)
    return {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "pain3d_version": __version__,
        "job": job,
        "cells": [c.label for c in cells(job["identities"])],
        "views": views_of(job),
        "identities": identities,
    }


def plan_text(plan: dict) -> str:
    """The plan as JSON text: the header on one line, then one identity per line."""
    header = {k: v for k, v in plan.items() if k != "identities"}
    body = ",\n".join(dumps_json(identity) for identity in plan["identities"])
    return dumps_json(header)[:-1] + ',"identities":[\n' + body + "\n]}\n"


def write_plan(out_dir: str | Path, plan: dict) -> Path:
    """Write DATA/plan.json atomically; returns its path."""
    out_dir = Path(out_dir)
    _ensure_writable_dir(out_dir)
    path = out_dir / PLAN_FILE
    atomic_write_text(path, plan_text(plan))
    return path


def read_plan(data_dir: str | Path) -> dict:
    """Load DATA/plan.json, checking its format and version."""
    path = Path(data_dir) / PLAN_FILE
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Pain3DError(f"{path}: no plan here; make one with 'pain3d plan --config JOB --out {data_dir}'") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise Pain3DError(f"{path}: not a readable plan ({err})") from None
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
        raise Pain3DError(f"{path}: not a Pain3D plan (format is not {PLAN_FORMAT!r})")
    if plan.get("format_version") != PLAN_FORMAT_VERSION:
        raise Pain3DError(f"{path}: plan format_version = {plan.get('format_version')!r}; "
                          f"allowed: {PLAN_FORMAT_VERSION}")
    return plan


def _ensure_writable_dir(path: Path) -> None:
    make_folder(path, f"--out {path}")
    probe = path / ".pain3d-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise Pain3DError(f"--out {path}: folder is not writable ({err.strerror})") from None


def check_plan(plan: dict) -> list[str]:
    """Consistency problems of a loaded plan (labels match AUs, ids unique), one line each."""
    from . import facs

    problems = []
    indices = [identity["index"] for identity in plan["identities"]]
    if indices != list(range(len(indices))):
        problems.append("identities are not numbered 0..N-1 in order")
    for identity in plan["identities"]:
        ids = [e["id"] for e in identity["expressions"]]
        if len(set(ids)) != len(ids) or "neutral" not in ids:
            problems.append(f"identity {identity['index']}: expression ids repeat or lack 'neutral'")
        for expr in identity["expressions"]:
            try:
                ok = facs.pspi(expr["aus"]) == expr["pspi"]
            except Pain3DError as err:
                problems.append(f"identity {identity['index']} {expr['id']}: {err}")
                continue
            if not ok:
                problems.append(f"identity {identity['index']} {expr['id']}: pspi {expr['pspi']} does not match its AUs")
    return problems

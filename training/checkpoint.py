"""Training checkpoints: safetensors files with JSON metadata (nothing is ever pickled), written atomically.

A checkpoint of optimiser step N is two files in RUN/checkpoints/:

- `step-N.safetensors`: the model's weights; metadata `format` ("pain3d-model"), `role`, `step` and
  `build_args` (JSON), so the file alone rebuilds the model (`load_model`);
- `trainer-N.safetensors`: what a resume needs besides: the optimiser's tensors
  (`optimizer.{param index}.{name}`, e.g. AdamW's exp_avg) and the student's token projector
  (`projector.*`); metadata `progress`: the `Progress` as JSON (step, epoch, batches done in the
  epoch, the epoch's loss so far, the best validation PSPI MAE and its step).

No random-number state is stored: the trainer reseeds from (seed, process rank, step) before every
optimiser step, so a resumed run draws exactly what an uninterrupted one would.

Pointer files `last` and `best` (text: the checkpoint's name, `step-N`) say which checkpoint is the
newest and which has the lowest validation PSPI MAE. Only those two are kept, and the trainer state
only for `last`. Files are written before the pointers move, so a killed run leaves a complete
checkpoint behind `last`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import nn

from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_bytes, atomic_write_text

from .models import PainModel, build_model, load_weights, read_state_dict

MODEL_FORMAT = "pain3d-model"
STATE_FORMAT = "pain3d-trainer-state"
FORMAT_VERSION = "1"
CHECKPOINTS = "checkpoints"
POINTERS = ("last", "best")


@dataclass
class Progress:
    """Where a run stands; saved with every checkpoint and identical on every process."""

    step: int = 0  # optimiser steps done
    epoch: int = 0  # the epoch under way (0-based)
    batches_done: int = 0  # this process's batches of `epoch` already trained
    epoch_loss: float = 0.0  # sum of the epoch's step losses (averaged over processes) so far
    epoch_steps: int = 0
    best_mae: float | None = None  # lowest validation PSPI MAE so far
    best_step: int | None = None


def checkpoint_name(step: int) -> str:
    return f"step-{step}"


def save_checkpoint(run: Path, model: PainModel, progress: Progress, optimizer: torch.optim.Optimizer,
                    projector: nn.Module) -> Path:
    """Write step `progress.step`'s checkpoint, move `last` (and `best` if it is the best), prune; its model file."""
    folder = Path(run) / CHECKPOINTS
    name = checkpoint_name(progress.step)
    model_meta = {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "role": model.role,
                  "step": str(progress.step), "build_args": json.dumps(model.build_args)}
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / f"{name}.safetensors", safetensors.torch.save(weights, model_meta))
    state = _optimizer_tensors(optimizer) | {f"projector.{k}": v.detach().contiguous()
                                              for k, v in projector.state_dict().items()}
    state_meta = {"format": STATE_FORMAT, "format_version": FORMAT_VERSION, "progress": json.dumps(asdict(progress))}
    atomic_write_bytes(folder / f"trainer-{progress.step}.safetensors", safetensors.torch.save(state, state_meta))
    atomic_write_text(folder / "last", name + "\n")
    if progress.best_step == progress.step:
        atomic_write_text(folder / "best", name + "\n")
    _prune(folder)
    return folder / f"{name}.safetensors"


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    return {f"optimizer.{index}.{key}": value.detach().contiguous()
            for index, slots in optimizer.state_dict()["state"].items() for key, value in slots.items()
            if isinstance(value, torch.Tensor)}


def _prune(folder: Path) -> None:
    """Remove every checkpoint but `last` and `best` (and every trainer state but `last`'s)."""
    pointed = _pointed(folder)
    keep = {f"{name}.safetensors" for name in pointed.values()}
    if "last" in pointed:
        keep.add(f"trainer-{pointed['last'].removeprefix('step-')}.safetensors")
    for path in [*folder.glob("step-*.safetensors"), *folder.glob("trainer-*.safetensors")]:
        if path.name not in keep:
            path.unlink(missing_ok=True)


def _pointed(folder: Path) -> dict[str, str]:
    """pointer -> checkpoint name, for the pointers that exist."""
    return {p: (folder / p).read_text(encoding="utf-8").strip() for p in POINTERS if (folder / p).is_file()}


def resume(run: Path, model: PainModel, optimizer: torch.optim.Optimizer, projector: nn.Module) -> Progress | None:
    """Load the `last` checkpoint of `run` into the model, optimiser and projector; None if there is none."""
    folder = Path(run) / CHECKPOINTS
    name = _pointed(folder).get("last")
    if name is None:
        return None
    load_weights(model, folder / f"{name}.safetensors", what=f"this run's {model.role} model")
    path = folder / f"trainer-{name.removeprefix('step-')}.safetensors"
    state, meta = _read(path, STATE_FORMAT)
    try:
        progress = Progress(**json.loads(meta["progress"]))
    except (KeyError, TypeError, ValueError) as err:
        raise Pain3DError(f"{path}: unreadable progress record ({err!r})") from None
    load_weights(projector, {k.removeprefix("projector."): v for k, v in state.items() if k.startswith("projector.")},
                 what="the token projector", where=path)
    _load_optimizer(optimizer, state, path)
    return progress


def _load_optimizer(optimizer: torch.optim.Optimizer, state: dict[str, torch.Tensor], path: Path) -> None:
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            slots.setdefault(int(index), {})[name] = value
    current = optimizer.state_dict()
    count = sum(len(group["params"]) for group in current["param_groups"])
    if any(index >= count for index in slots):
        raise Pain3DError(f"{path}: optimiser state for {max(slots) + 1} parameters; this model has {count}")
    # The groups (learning rate, decay) come from the config; only the per-parameter tensors are restored.
    optimizer.load_state_dict({"state": slots, "param_groups": current["param_groups"]})


def _read(path: Path, fmt: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a checkpoint file of format `fmt`; one-line errors for anything else."""
    tensors = read_state_dict(path)  # missing, truncated or foreign files: one line
    with safetensors.safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("format") != fmt:
        raise Pain3DError(f"{path}: not a {fmt} file (written by pain3d train)")
    return tensors, meta


def model_file(source: Path, which: str = "best") -> Path:
    """The model file of a run folder (its `best` checkpoint, else `last`; or `which` = "last"), or `source` itself."""
    source = Path(source)
    if not source.is_dir():
        return source
    pointed = _pointed(source / CHECKPOINTS)
    name = pointed.get(which) or pointed.get("last")
    if name is None:
        raise Pain3DError(f"{source}: no checkpoint yet (no {CHECKPOINTS}/last); train it with pain3d train")
    return source / CHECKPOINTS / f"{name}.safetensors"


def is_model_file(path: Path) -> bool:
    """Whether `path` is a model file of pain3d train (safetensors with its `format` metadata)."""
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == MODEL_FORMAT
    except Exception:  # missing, truncated or not safetensors at all: not one of ours
        return False


def load_model(source: Path, which: str = "best") -> tuple[PainModel, dict[str, str]]:
    """The model of a run folder or model file (model_file), rebuilt from its build_args; and its metadata."""
    path = model_file(source, which)
    tensors, meta = _read(path, MODEL_FORMAT)
    try:
        build_args = json.loads(meta["build_args"])
    except (KeyError, ValueError) as err:
        raise Pain3DError(f"{path}: unreadable build_args ({err!r})") from None
    model = build_model(**build_args)
    load_weights(model, tensors, what=f"a {build_args.get('role')} model", where=path)
    return model, meta


def record_best(progress: Progress, val_mae: float) -> bool:
    """Record `val_mae` as the best of the run at this step when it beats the best so far."""
    if not math.isfinite(val_mae) or (progress.best_mae is not None and val_mae >= progress.best_mae):
        return False
    progress.best_mae, progress.best_step = val_mae, progress.step
    return True

"""`pain3d train`: the training loop of ViTPain teachers, students and baselines.

`train(data, role, config, out) -> Progress` trains `role` on DATA's train split with the resolved
config (training/config.py) into the run folder OUT, validating on the val split:

- seeded: the initialisation from `run.seed`, the data order and augmentation from (seed, epoch),
  dropout and stochastic depth from (seed, process rank, step);
- AdamW (no decay on norms, biases, position embeddings and tokens), the learning rate rising
  linearly over `optim.warmup_steps` optimiser steps, then following a cosine to `optim.min_lr` at
  the last step (`lr_at`); `optim.accumulate` batches per optimiser step; gradient-norm clipping;
  bfloat16 autocast on a GPU (`optim.amp`), full precision on the CPU;
- a student loads its teacher (`run.teacher`: a run folder or a model file; its best checkpoint),
  freezes it, and adds the distillation terms (training/losses.py) with a token projector trained
  alongside;
- `run.init` (`--init RUN`) starts from another run's weights (fine-tuning; the models must match);
- `data.weighted_sampling` draws the training images in proportion to weights (training/sampler.py);
- on the UNBC-McMaster archive (`unbc:PATH`) the splits are fold `data.fold`'s subjects
  (training/folds.py), written to `folds.json`;
- launched by torchrun (WORLD_SIZE > 1) it runs DistributedDataParallel, nccl on GPUs and gloo on
  CPUs: process `rank` trains on every `world_size`-th batch of each epoch, so an optimiser step
  sees `batch_size x world_size x accumulate` images. Process 0 alone writes files.

The run folder:

| file | what |
| --- | --- |
| `config.json` | resolved config, role, data, processes, model build args, software versions (at the start) |
| `folds.json` | UNBC only: the folds and this run's test, validation and training subjects |
| `metrics.csv` | every `run.log_every` steps: step, epoch, lr, loss, each loss part (unweighted), images/s |
| `summary.csv` | every epoch (timm's summary.csv): epoch, step, lr, train_loss, val_loss, val_pspi_mae, val_au_mae |
| `tensorboard/` | the same numbers (`run.tensorboard`) |
| `checkpoints/` | `step-N.safetensors`, `trainer-N.safetensors`, `last`, `best` (training/checkpoint.py) |

Checkpoints are written at the end of every epoch (after validation: `best` is the lowest val
PSPI MAE), every `run.checkpoint_every` steps, and at the last step. Running the same command
again with the same OUT resumes from `last` and continues exactly (same steps, same batches, same
weights); a config that differs from the saved one, other than in `RESUMABLE_CHANGES`, is refused.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import timm
import torch
import torch.distributed as dist
from timm.optim import param_groups_weight_decay
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from pain3d import __version__
from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_text

from .checkpoint import Progress, load_model, model_file, record_best, resume, save_checkpoint
from .config import SCHEMA
from .folds import save_split
from .loader import UnbcSource, collate, data_label, for_training, make_loader, open_split, to_device
from .losses import DISTILL_TERMS, TASK_TERMS, distillation_loss, make_projector, task_loss
from .models import PainModel, build_from_config, freeze, load_weights
from .sampler import sampling_weights
from .transforms import Augment

RUN_FORMAT = "pain3d-run"
# Settings a resumed run may change: they alter neither the batches nor the arithmetic.
RESUMABLE_CHANGES = {"data.workers", "data.pin_memory", "run.log_every", "run.checkpoint_every", "run.tensorboard"}
SUMMARY_COLUMNS = ("epoch", "step", "lr", "train_loss", "val_loss", "val_pspi_mae", "val_au_mae")
VAL_BATCH_FACTOR = 2  # no gradients: validation batches can be larger


# --- processes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes, and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start_processes() -> Processes:
    """Join torchrun's process group when launched by it (WORLD_SIZE > 1); pick cuda:LOCAL_RANK or the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world_size > 1:
        dist.init_process_group("nccl" if cuda else "gloo", device_id=device if cuda else None)
    return Processes(int(os.environ.get("RANK", "0")), world_size, device)


def step_seed(seed: int, rank: int, step: int) -> int:
    """The torch seed of one optimiser step of one process (dropout, stochastic depth)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0]) >> 1


# --- models and the optimiser ---------------------------------------------------------------


def load_teacher(config: dict) -> PainModel:
    """The student's frozen teacher (run.teacher), checked to see the student's images."""
    source = config["run"]["teacher"]
    if not source:
        raise Pain3DError("a student needs a teacher: give --teacher RUN (a teacher's run folder) or run.teacher")
    teacher, meta = load_model(Path(source))
    if meta.get("role") != "teacher":
        raise Pain3DError(f"{source}: a {meta.get('role')} model, not a teacher")
    size = config["model"]["image_size"]
    if teacher.build_args["image_size"] != size:
        raise Pain3DError(f"{source}: the teacher was trained at image_size {teacher.build_args['image_size']}; "
                          f"train the student at the same size (not {size})")
    return freeze(teacher)


class Trainee(nn.Module):
    """What the optimiser trains and DDP wraps: the model, and the student's token projector."""

    def __init__(self, model: PainModel, projector: nn.Module) -> None:
        super().__init__()
        self.model, self.projector = model, projector

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        out = self.model(batch)
        return {**out, "tokens": self.projector(out["tokens"])}  # in the teacher's width (identity otherwise)


def make_optimizer(trainee: Trainee, optim: dict) -> torch.optim.AdamW:
    """AdamW over the trainable parameters (a LoRA model's frozen backbone is left out); the encoders'
    groups carry `lr_scale` = optim.backbone_lr_scale when that is not 1."""
    model = trainee.model
    skip = {f"model.{part}.{name}" for part in ("encoder", "neutral_encoder") if getattr(model, part) is not None
            for name in getattr(model, part).no_weight_decay()}
    groups = param_groups_weight_decay(trainee, optim["weight_decay"], no_weight_decay_list=skip)
    scale = optim["backbone_lr_scale"]
    if scale != 1:
        groups = [g for group in groups for g in _split_backbone(group, model, scale) if g["params"]]
    return torch.optim.AdamW(groups, lr=optim["lr"])


def _split_backbone(group: dict, model: PainModel, scale: float) -> list[dict]:
    """A parameter group as [the rest, the encoders' parameters with lr_scale]."""
    encoders = {id(p) for part in (model.encoder, model.neutral_encoder) if part is not None for p in part.parameters()}
    rest = [p for p in group["params"] if id(p) not in encoders]
    backbone = [p for p in group["params"] if id(p) in encoders]
    return [{**group, "params": rest}, {**group, "params": backbone, "lr_scale": scale}]


def lr_at(step: int, total: int, optim: dict) -> float:
    """Learning rate of optimiser step `step` (0-based) of `total`: linear warm-up, then cosine to min_lr."""
    peak, floor, warmup = optim["lr"], optim["min_lr"], optim["warmup_steps"]
    if step < warmup:
        return peak * (step + 1) / warmup
    done = (step - warmup) / max(1, total - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))


def total_steps(batches_per_epoch: int, optim: dict) -> int:
    """Optimiser steps of a run: `epochs` passes of `accumulate` batches a step (the last may have fewer), capped."""
    steps = optim["epochs"] * math.ceil(batches_per_epoch / optim["accumulate"])
    return min(steps, optim["max_steps"] or steps)


# --- the run folder --------------------------------------------------------------------------


def run_record(data: Path | str | UnbcSource, role: str, config: dict, world_size: int) -> dict:
    """What config.json holds, minus the model's build args and the versions (added when written)."""
    return {"format": RUN_FORMAT, "role": role, "data": data_label(data), "world_size": world_size,
            "config": config}


def check_same_run(out: Path, record: dict) -> bool:
    """True when OUT holds this run already (resume); Pain3DError when it holds something else."""
    path = out / "config.json"
    if not path.is_file():
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise Pain3DError(f"{out}: exists and is not a training run (no config.json); choose a new --out")
        return False
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise Pain3DError(f"{path}: unreadable ({err}); choose a new --out") from None
    for key, (was, now) in _differences(saved, record).items():
        if key not in RESUMABLE_CHANGES:
            raise Pain3DError(f"{out}: this run was started with {key} = {json.dumps(was)}, now {json.dumps(now)}; "
                              f"resume with the same settings or choose a new --out")
    return True


def _differences(saved: dict, record: dict) -> dict[str, tuple[Any, Any]]:
    """setting -> (saved value, new value) where they differ; config keys named `section.key`. A key the
    run's Pain3D did not have yet, now at its default, is no difference: the run behaves as it did."""
    was, now = _settings({k: saved.get(k) for k in record}), _settings(record)
    return {k: (was.get(k), now.get(k)) for k in sorted(was.keys() | now.keys())
            if was.get(k) != now.get(k) and not (k not in was and _at_default(k, now.get(k)))}


def _at_default(key: str, value: Any) -> bool:
    section, _, name = key.partition(".")
    field = SCHEMA.get(section, {}).get(name)
    return field is not None and not callable(field.default) and json.dumps(value) == json.dumps(field.default)


def _settings(record: dict) -> dict[str, Any]:
    flat = {k: v for k, v in record.items() if k != "config"}
    for section, table in (record.get("config") or {}).items():
        flat |= {f"{section}.{k}": v for k, v in table.items()} if isinstance(table, dict) else {section: table}
    return flat


def write_run_record(out: Path, record: dict, model: PainModel) -> None:
    versions = {"pain3d": __version__, "torch": torch.__version__, "timm": timm.__version__,
                "python": platform.python_version()}
    atomic_write_text(out / "config.json", json.dumps({**record, "model": model.build_args, "versions": versions},
                                                      indent=2) + "\n")


class RunLog:
    """metrics.csv, summary.csv and TensorBoard of a run; on processes other than 0 it writes nothing.

    Rows after the resumed step (logged before a crash, after the checkpoint) are dropped on resume.
    """

    def __init__(self, out: Path, columns: list[str], start_step: int, tensorboard: bool, enabled: bool) -> None:
        self.metrics = _CsvLog(out / "metrics.csv", columns, start_step) if enabled else None
        self.summary = _CsvLog(out / "summary.csv", list(SUMMARY_COLUMNS), start_step) if enabled else None
        self.tensorboard = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # only when asked: it is slow to import

            self.tensorboard = SummaryWriter(str(out / "tensorboard"), purge_step=start_step + 1)

    def step(self, row: dict[str, float]) -> None:
        self._write(self.metrics, row, "train")

    def epoch(self, row: dict[str, float]) -> None:
        self._write(self.summary, row, "epoch")

    def _write(self, table: _CsvLog | None, row: dict[str, float], group: str) -> None:
        if table is None:
            return
        table.write(row)
        if self.tensorboard is not None:
            for key, value in row.items():
                if key not in ("step", "epoch"):
                    self.tensorboard.add_scalar(f"{group}/{key}", value, row["step"])

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()


class _CsvLog:
    """An appended CSV file whose rows carry a `step`; rows past `keep_until` are dropped when opened."""

    def __init__(self, path: Path, columns: list[str], keep_until: int) -> None:
        self.path, self.columns = path, columns
        kept = [row for row in _read_rows(path) if _row_step(row) <= keep_until]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
        atomic_write_text(path, buf.getvalue())

    def write(self, row: dict[str, float]) -> None:
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            csv.DictWriter(f, self.columns, lineterminator="\n").writerow({k: _cell(row[k]) for k in self.columns})


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _row_step(row: dict[str, str]) -> float:
    try:
        return int(row.get("step") or "")
    except ValueError:  # a line cut short by a crash
        return math.inf


def _cell(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


# --- the loop --------------------------------------------------------------------------------


class Trainer:
    """One training run (module docs): `run()` trains until the last step, resuming where OUT left off."""

    def __init__(self, data: Path, role: str, config: dict, out: Path, procs: Processes) -> None:
        self.role, self.config, self.out, self.procs = role, config, Path(out), procs
        self.optim, self.weights = config["optim"], config["loss"]
        record = run_record(data, role, config, procs.world_size)
        resuming = check_same_run(self.out, record)
        data = for_training(data, role, config)
        self._build_models(init=not resuming)
        self.loader, self.val_loader = self._loaders(data)
        self.total_steps = total_steps(self.loader.batch_sampler.batches_per_epoch, self.optim)
        self.progress = (resume(self.out, self.model, self.optimizer, self.trainee.projector) if resuming
                         else None) or Progress()
        self.wrapped = self._wrap()
        self.amp = (config["optim"]["amp"] and procs.device.type == "cuda" and torch.cuda.is_bf16_supported())
        self.parts = list(TASK_TERMS) + (list(DISTILL_TERMS) if self.teacher else [])
        self._barrier()  # every process has read OUT before process 0 writes to it
        if procs.main and not resuming:
            write_run_record(self.out, record, self.model)
        if procs.main and isinstance(data, UnbcSource):
            save_split(self.out, data.fold)
        columns = ["step", "epoch", "lr", "loss", *self.parts, "images_per_s"]
        self.log = RunLog(self.out, columns, self.progress.step, config["run"]["tensorboard"], procs.main)
        self._reset_window()

    def _build_models(self, init: bool) -> None:
        """The model (`run.init`'s weights when `init`), a student's frozen teacher and projector, the optimiser."""
        device = self.procs.device
        torch.manual_seed(self.config["run"]["seed"])  # the same initial weights on every process
        self.model = build_from_config(self.role, self.config["model"]).to(device)
        if init and self.config["run"]["init"]:  # a resumed run has its own weights
            load_weights(self.model, model_file(Path(self.config["run"]["init"])),
                         what=f"the {self.role} model of this config (--init)")
        self.teacher = load_teacher(self.config).to(device) if self.role == "student" else None
        projector = make_projector(self.model.embed_dim, self.teacher.embed_dim) if self.teacher else nn.Identity()
        self.trainee = Trainee(self.model, projector).to(device)
        self.optimizer = make_optimizer(self.trainee, self.optim)

    def _loaders(self, data: Path | UnbcSource) -> tuple[DataLoader, DataLoader]:
        cfg, m, p = self.config["data"], self.config["model"], self.procs
        with_neutral = self.model.neutral_reference or bool(self.teacher and self.teacher.neutral_reference)
        augment = Augment(crop_min=cfg["crop_min"], flip=cfg["flip"]) if cfg["augment"] else None
        train_set = open_split(data, "train", m["image_size"], augment=augment, with_neutral=with_neutral,
                               cache=cfg["cache"])
        val_set = open_split(data, "val", m["image_size"], with_neutral=with_neutral, cache=cfg["cache"])
        batch = self.optim["batch_size"]
        loader = make_loader(train_set, batch, True, self.config["run"]["seed"], cfg["workers"], cfg["pin_memory"],
                             rank=p.rank, world_size=p.world_size,
                             weights=sampling_weights(train_set.pspi, cfg["weighted_sampling"]))
        if loader.batch_sampler.batches_per_epoch == 0:
            raise Pain3DError(f"{data}: the train split has {len(train_set)} images, fewer than one batch of "
                              f"{batch} for each of {p.world_size} processes; lower --batch-size")
        pin = cfg["pin_memory"] and p.device.type == "cuda"
        val_loader = DataLoader(Subset(val_set, range(p.rank, len(val_set), p.world_size)),
                                batch_size=batch * VAL_BATCH_FACTOR, num_workers=cfg["workers"], pin_memory=pin,
                                collate_fn=collate, persistent_workers=cfg["workers"] > 0)
        return loader, val_loader

    def _wrap(self) -> nn.Module:
        if not self.procs.distributed:
            return self.trainee
        ids = [self.procs.device.index] if self.procs.device.type == "cuda" else None
        # A loss weight of 0 leaves the parameters only it uses without gradients.
        unused = any(w == 0 for w in self.weights.values())
        return DistributedDataParallel(self.trainee, device_ids=ids, find_unused_parameters=unused)

    def _barrier(self) -> None:
        if self.procs.distributed:
            dist.barrier()

    # the loop

    def run(self) -> Progress:
        p = self.progress
        bar = tqdm(total=self.total_steps, initial=p.step, disable=not self.procs.main, unit="step",
                   dynamic_ncols=True, desc=f"{self.role} {self.out.name}")
        try:
            while p.step < self.total_steps:
                self._train_epoch(bar)
                self._end_epoch()
        finally:
            bar.close()
            self.log.close()
        return p

    def _train_epoch(self, bar: tqdm) -> None:
        p, sampler = self.progress, self.loader.batch_sampler
        sampler.set_epoch(p.epoch, p.batches_done)
        batches = iter(self.loader)
        self.trainee.train()
        while not self._epoch_over():
            count = min(self.optim["accumulate"], sampler.batches_per_epoch - p.batches_done)
            self.optimizer_step(batches, count)
            bar.update(1)
            if p.step % self.config["run"]["log_every"] == 0 or p.step == self.total_steps:
                bar.set_postfix(self._log_step(), refresh=False)
            every = self.config["run"]["checkpoint_every"]
            if every and p.step % every == 0 and not self._epoch_over():
                self._save()

    def _epoch_over(self) -> bool:
        p = self.progress
        return p.batches_done >= self.loader.batch_sampler.batches_per_epoch or p.step >= self.total_steps

    def optimizer_step(self, batches: Iterator[dict], count: int) -> None:
        """One optimiser step over `count` batches (gradients summed; synchronised once, on the last)."""
        p = self.progress
        lr = lr_at(p.step, self.total_steps, self.optim)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        torch.manual_seed(step_seed(self.config["run"]["seed"], self.procs.rank, p.step))
        step_sums = torch.zeros(len(self.parts) + 1, device=self.procs.device)
        for i in range(count):
            batch = to_device(next(batches), self.procs.device)
            last = i == count - 1
            with self.wrapped.no_sync() if self.procs.distributed and not last else nullcontext():
                loss, parts = self._loss(batch)
                (loss / count).backward()
            step_sums += torch.stack([loss.detach().float(), *(parts[k].float() for k in self.parts)]) / count
            self.window_images += len(batch["pspi"])
        if self.optim["clip_grad"]:
            nn.utils.clip_grad_norm_(self.trainee.parameters(), self.optim["clip_grad"])
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.window += step_sums
        self.window_steps += 1
        p.step += 1
        p.batches_done += count

    def _loss(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            out = self.wrapped(batch)
            loss, parts = task_loss(out, batch, self.weights)
            if self.teacher is not None:
                with torch.no_grad():
                    target = self.teacher(batch)
                distill, distill_parts = distillation_loss(out, target, self.weights)
                loss, parts = loss + distill, parts | distill_parts
        return loss, parts

    # logs and checkpoints

    def _reset_window(self) -> None:
        self.window = torch.zeros(len(self.parts) + 1, device=self.procs.device)
        self.window_steps, self.window_images, self.window_start = 0, 0, time.perf_counter()

    def _flush_window(self) -> dict[str, float] | None:
        """Mean loss and parts of the steps since the last flush over all processes, and images/s; resets."""
        if not self.window_steps:
            return None
        totals = torch.cat([self.window, torch.tensor([float(self.window_images)], device=self.procs.device)])
        if self.procs.distributed:
            dist.all_reduce(totals)
        totals = totals.tolist()
        means = [v / (self.window_steps * self.procs.world_size) for v in totals[:-1]]
        self.progress.epoch_loss += means[0] * self.window_steps
        self.progress.epoch_steps += self.window_steps
        stats = {"loss": means[0], **dict(zip(self.parts, means[1:])),
                 "images_per_s": totals[-1] / max(time.perf_counter() - self.window_start, 1e-9)}
        self._reset_window()
        return stats

    def _log_step(self) -> dict[str, str]:
        p = self.progress
        stats = self._flush_window()
        epoch = p.epoch + p.batches_done / self.loader.batch_sampler.batches_per_epoch
        self.log.step({"step": p.step, "epoch": round(epoch, 4), "lr": self.optimizer.param_groups[0]["lr"], **stats})
        return {"loss": f"{stats['loss']:.3f}", "img/s": f"{stats['images_per_s']:.1f}"}

    def _end_epoch(self) -> None:
        """Validate, write the summary row, move to the next epoch if this one is complete, save."""
        p = self.progress
        self._flush_window()
        val = self.validate()
        record_best(p, val["val_pspi_mae"])
        train_loss = p.epoch_loss / max(1, p.epoch_steps)
        self.log.epoch({"epoch": p.epoch, "step": p.step, "lr": self.optimizer.param_groups[0]["lr"],
                        "train_loss": train_loss, **val})
        if p.batches_done >= self.loader.batch_sampler.batches_per_epoch:
            p.epoch, p.batches_done, p.epoch_loss, p.epoch_steps = p.epoch + 1, 0, 0.0, 0
        self._save()

    def _save(self) -> None:
        self._flush_window()  # the epoch's loss so far goes into the checkpoint
        if self.procs.main:
            save_checkpoint(self.out, self.model, self.progress, self.optimizer, self.trainee.projector)
        self._barrier()

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean task loss, PSPI MAE and AU MAE on the val split (over all processes)."""
        self.model.eval()
        sums = torch.zeros(4, dtype=torch.float64, device=self.procs.device)  # loss, pspi err, au err, images
        for batch in self.val_loader:
            batch = to_device(batch, self.procs.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
                out = self.model(batch)
                loss, _ = task_loss(out, batch, self.weights)
            n = len(batch["pspi"])
            sums += torch.stack([loss.double() * n, (out["pspi"].double() - batch["pspi"]).abs().sum(),
                                 (out["aus"].double() - batch["aus"]).abs().mean(1).sum(),
                                 torch.tensor(float(n), dtype=torch.float64, device=self.procs.device)])
        if self.procs.distributed:
            dist.all_reduce(sums)
        self.model.train()
        loss, pspi, aus, n = sums.tolist()
        return {"val_loss": loss / n, "val_pspi_mae": pspi / n, "val_au_mae": aus / n}


def train(data: Path, role: str, config: dict, out: Path) -> Progress:
    """Train `role` on DATA into OUT (module docs); resumes when OUT holds this run."""
    procs = start_processes()
    try:
        return Trainer(Path(data), role, config, Path(out), procs).run()
    finally:
        if procs.distributed:
            dist.destroy_process_group()


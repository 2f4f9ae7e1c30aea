"""`pain3d train`: every role trains (the loss falls), distillation, exact resume, DDP, one-line errors.

Real torch and timm on tiny data: vit_tiny with 2 blocks at 32x32 (4 patches), on `tiny_pain3d`
(24 train, 6 val, 6 test images). Runs go through the CLI in this process (click's runner), except
the 2-process DDP run, which torchrun launches.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
from click.testing import CliRunner, Result

from pain3d.app.cli import main
from pain3d.jobs import schema_markdown
from pain3d.training import train as train_module
from pain3d.training.checkpoint import Progress
from pain3d.training.config import SCHEMA
from pain3d.training.losses import DISTILL_TERMS
from pain3d.training.sampler import EpochBatchSampler
from pain3d.training.train import lr_at

REPO = Path(__file__).resolve().parents[2]
# 24 train images in batches of 8: 3 steps an epoch. No augmentation or stochastic depth, so the
# loss curves are smooth enough to compare epochs; the resume test turns both back on.
TINY_CONFIG = """
[model]
backbone = "vit_tiny_patch16_224"
image_size = 32
depth = 2
drop_path = 0.0
[data]
workers = 0
augment = false
[optim]
epochs = 4
batch_size = 8
lr = 1e-3
warmup_steps = 1
[run]
log_every = 1
tensorboard = false
"""


def write_config(folder: Path, extra: str = "") -> Path:
    """TINY_CONFIG with `extra` TOML appended (tables TINY_CONFIG does not have)."""
    path = folder / "train.toml"
    path.write_text(TINY_CONFIG + extra)
    return path


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def train_run(data: Path, role: str, config: Path, out: Path, *flags: str | Path) -> Path:
    result = cli("train", "--data", data, "--role", role, "--config", config, "--out", out, *flags)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def weights(run: Path) -> dict[str, torch.Tensor]:
    name = (run / "checkpoints" / "last").read_text().strip()
    return safetensors.torch.load_file(run / "checkpoints" / f"{name}.safetensors")


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output + repr(result.exception)
    message = result.stderr.strip()
    assert "\n" not in message and message.startswith("pain3d: error: ") and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def without_split(data: Path, split: str, folder: Path) -> Path:
    """A copy of a Pain3D dataset whose `split` identities are moved to train (that split is empty)."""
    copy = folder / f"no_{split}"
    shutil.copytree(data, copy)
    rows = [json.loads(line) for line in (copy / "manifest.jsonl").read_text().splitlines() if line.strip()]
    for row in rows:
        row["split"] = "train" if row["split"] == split else row["split"]
    (copy / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return copy


def loss_fell(run: Path) -> bool:
    epochs = [float(row["train_loss"]) for row in read_csv(run / "summary.csv")]
    return len(epochs) >= 3 and epochs[-1] < 0.9 * epochs[0]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def teacher(tiny_pain3d: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("teacher")
    return train_run(tiny_pain3d, "teacher", write_config(folder), folder / "run", "--seed", "1")


def test_teacher_trains_and_fills_the_run_folder(teacher: Path, tiny_pain3d: Path):
    assert loss_fell(teacher)
    record = json.loads((teacher / "config.json").read_text())
    assert record["role"] == "teacher" and record["data"] == str(tiny_pain3d.resolve())
    assert record["config"]["run"]["seed"] == 1 and record["world_size"] == 1
    assert record["model"]["depth"] == 2 and {"torch", "timm", "pain3d"} <= set(record["versions"])
    rows = read_csv(teacher / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert {"lr", "loss", "pspi", "aus", "pain", "images_per_s"} <= set(rows[0])
    assert float(rows[0]["lr"]) == pytest.approx(1e-3) and float(rows[-1]["lr"]) < 1e-4  # warm-up 1, cosine down
    summary = read_csv(teacher / "summary.csv")
    assert [int(r["step"]) for r in summary] == [3, 6, 9, 12] and all(float(r["val_pspi_mae"]) >= 0 for r in summary)
    best_step = min(summary, key=lambda r: float(r["val_pspi_mae"]))["step"]
    checkpoints = teacher / "checkpoints"
    assert (checkpoints / "last").read_text().strip() == "step-12"
    assert (checkpoints / "best").read_text().strip() == f"step-{best_step}"
    kept = {p.name for p in checkpoints.glob("*.safetensors")}
    assert kept == {"step-12.safetensors", f"step-{best_step}.safetensors", "trainer-12.safetensors"}


def test_tensorboard_logs(tiny_pain3d: Path, tmp_path: Path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("tensorboard = false", "tensorboard = true"))
    run = train_run(tiny_pain3d, "baseline", config, tmp_path / "run", "--max-steps", "2")
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_baseline_trains(tiny_pain3d: Path, config: Path, tmp_path: Path):
    assert loss_fell(train_run(tiny_pain3d, "baseline", config, tmp_path / "run"))


def test_student_distills_from_the_teacher(tiny_pain3d: Path, config: Path, teacher: Path, tmp_path: Path):
    run = train_run(tiny_pain3d, "student", config, tmp_path / "run", "--teacher", teacher)
    assert loss_fell(run)
    for row in read_csv(run / "metrics.csv"):
        assert all(float(row[term]) > 0 for term in DISTILL_TERMS), row
    assert json.loads((run / "config.json").read_text())["config"]["run"]["teacher"] == str(teacher.resolve())


def test_distillation_terms_switch_off_with_zero_weights(tiny_pain3d: Path, teacher: Path, tmp_path: Path):
    config = write_config(tmp_path, "[loss]\n" + "".join(f"{term} = 0\n" for term in DISTILL_TERMS))
    run = train_run(tiny_pain3d, "student", config, tmp_path / "run", "--teacher", teacher, "--max-steps", "2")
    rows = read_csv(run / "metrics.csv")
    assert len(rows) == 2 and all(float(row[term]) == 0 for row in rows for term in DISTILL_TERMS)
    assert all(float(row["pspi"]) > 0 for row in rows)


def test_resume_reproduces_an_uninterrupted_run(tiny_pain3d: Path, tmp_path: Path, monkeypatch):
    # Augmentation, flips, stochastic depth, accumulation and a student's projector (its teacher is
    # a wider vit_small): all of them must resume exactly.
    config = write_config(tmp_path)
    text = (config.read_text().replace("augment = false", "augment = true\nflip = true")
            .replace("drop_path = 0.0", "drop_path = 0.2").replace("batch_size = 8", "batch_size = 4\naccumulate = 2")
            .replace("epochs = 4", "epochs = 2").replace("log_every = 1", "log_every = 1\ncheckpoint_every = 2"))
    config.write_text(text)
    teacher = train_run(tiny_pain3d, "teacher", config, tmp_path / "teacher", "--backbone", "vit_small_patch16_224",
                        "--max-steps", "1")
    student = ("--teacher", teacher)
    whole = train_run(tiny_pain3d, "student", config, tmp_path / "whole", *student)
    assert "projector.weight" in safetensors.torch.load_file(whole / "checkpoints" / "trainer-6.safetensors")

    real_save = train_module.save_checkpoint

    def save_then_crash(run: Path, model, progress: Progress, *args):
        real_save(run, model, progress, *args)
        if progress.step == 4:  # mid-epoch 2, after an epoch boundary
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_crash)
    args = ("train", "--data", tiny_pain3d, "--role", "student", "--config", config, "--out", tmp_path / "parts")
    assert "aborted" in cli(*args, *student).stderr
    assert (tmp_path / "parts" / "checkpoints" / "last").read_text().strip() == "step-4"
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    parts = train_run(tiny_pain3d, "student", config, tmp_path / "parts", *student)

    assert (parts / "checkpoints" / "last").read_text().strip() == "step-6"
    a, b = weights(whole), weights(parts)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def numbers(run: Path, name: str) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k != "images_per_s"} for row in read_csv(run / name)]

    assert numbers(whole, "metrics.csv") == numbers(parts, "metrics.csv")
    assert numbers(whole, "summary.csv") == numbers(parts, "summary.csv")


def test_ddp_two_processes_match_one_process_at_the_global_batch(tiny_pain3d: Path, config: Path, tmp_path: Path):
    """2 processes x batch 4 see each step's 8 images split in two: 3 steps an epoch, the weights of 1 x 8."""
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "pain3d", "train",
               "--data", str(tiny_pain3d), "--role", "baseline", "--config", str(config), "--out", str(tmp_path / "ddp"),
               "--epochs", "1", "--batch-size", "4"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = tmp_path / "ddp"
    assert [int(r["step"]) for r in read_csv(ddp / "metrics.csv")] == [1, 2, 3]
    assert json.loads((ddp / "config.json").read_text())["world_size"] == 2
    single = train_run(tiny_pain3d, "baseline", config, tmp_path / "single", "--epochs", "1", "--batch-size", "8")
    a, b = weights(ddp), weights(single)
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)


def test_config_typo_is_one_line(tiny_pain3d: Path, tmp_path: Path):
    config = tmp_path / "typo.toml"
    for text, named in ((TINY_CONFIG + "[optimiser]\nlr = 1\n", "optimiser"),
                        (TINY_CONFIG.replace("lr = 1e-3", "lr = 1e-3\nlearnig_rate = 2"), "learnig_rate")):
        config.write_text(text)
        assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "teacher", "--config", config,
                                  "--out", tmp_path / "run"), "typo.toml", named)
    assert not (tmp_path / "run").exists()


def test_truncated_checkpoints_are_one_line(tiny_pain3d: Path, config: Path, teacher: Path, tmp_path: Path):
    good = teacher / "checkpoints" / f"{(teacher / 'checkpoints' / 'last').read_text().strip()}.safetensors"
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "student", "--config", config,
                              "--out", tmp_path / "a", "--teacher", cut), "cut.safetensors")
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", config,
                              "--out", tmp_path / "b", "--pretrained", cut), "cut.safetensors")
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "student", "--config", config,
                              "--out", tmp_path / "c"), "needs a teacher")
    student = train_run(tiny_pain3d, "student", config, tmp_path / "s", "--teacher", teacher, "--max-steps", "1")
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "student", "--config", config,
                              "--out", tmp_path / "d", "--teacher", student), "not a teacher")


def test_empty_val_split_is_one_line(tiny_pain3d: Path, config: Path, tmp_path: Path):
    data = without_split(tiny_pain3d, "val", tmp_path)
    assert_one_line_error(cli("train", "--data", data, "--role", "baseline", "--config", config,
                              "--out", tmp_path / "run"), "no images in this split", "(val)")


def test_changed_config_on_resume_is_refused(tiny_pain3d: Path, config: Path, tmp_path: Path):
    run = train_run(tiny_pain3d, "baseline", config, tmp_path / "run", "--max-steps", "1")
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", config,
                              "--out", run, "--max-steps", "2"), "optim.max_steps = 1, now 2")
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "teacher", "--config", config,
                              "--out", run, "--max-steps", "1"), "role")
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", config,
                              "--out", tiny_pain3d), "not a training run")
    again = cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", config, "--out", run,
                "--max-steps", "1")
    assert again.exit_code == 0 and "to step 1" in again.stdout  # finished already: nothing to do


def test_a_run_from_before_a_new_config_key_resumes_at_its_default(tiny_pain3d: Path, config: Path, tmp_path: Path):
    """A config key added by a later Pain3D is no change when the run is resumed with its default."""
    run = train_run(tiny_pain3d, "baseline", config, tmp_path / "run", "--max-steps", "1")
    record = json.loads((run / "config.json").read_text())
    del record["config"]["model"]["summary_token"], record["config"]["data"]["crop_min"]
    (run / "config.json").write_text(json.dumps(record))
    again = cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", config, "--out", run,
                "--max-steps", "1")
    assert again.exit_code == 0 and "to step 1" in again.stdout
    changed = tmp_path / "changed.toml"
    changed.write_text(config.read_text().replace("[data]", "[data]\ncrop_min = 0.9"))
    assert_one_line_error(cli("train", "--data", tiny_pain3d, "--role", "baseline", "--config", changed,
                              "--out", run, "--max-steps", "1"), "data.crop_min = null, now 0.9")


def test_lr_schedule_warms_up_then_follows_a_cosine():
    optim = {"lr": 1.0, "min_lr": 0.1, "warmup_steps": 4}
    assert [lr_at(s, 14, optim) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_at(4, 14, optim) == pytest.approx(1.0)
    assert lr_at(9, 14, optim) == pytest.approx(0.55)
    assert lr_at(14, 14, optim) == pytest.approx(0.1)
    assert lr_at(0, 10, {**optim, "warmup_steps": 0}) == pytest.approx(1.0)


def test_processes_split_the_epoch_batches():
    def batches(rank: int, world: int, skip: int = 0) -> list[list[int]]:
        sampler = EpochBatchSampler(23, 4, True, seed=3, rank=rank, world_size=world)
        sampler.set_epoch(2, skip)
        return [[i for i, _ in b] for b in sampler]

    whole = batches(0, 1)  # 6 batches, the last of 3
    ranks = [batches(r, 4) for r in range(4)]  # 6 // 4 = 1 batch each: the remainder is dropped
    assert [len(r) for r in ranks] == [1, 1, 1, 1] and [r[0] for r in ranks] == whole[:4]
    assert batches(1, 2) == whole[1::2] and batches(1, 2, skip=2) == whole[5::2]


def test_train_reference_doc_is_current():
    doc = (REPO / "docs" / "training.md").read_text()
    assert schema_markdown(SCHEMA) in doc, "regenerate with: pain3d train-reference"
    printed = cli("train-reference")
    assert printed.exit_code == 0 and schema_markdown(SCHEMA) in printed.stdout

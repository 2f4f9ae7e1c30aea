"""Benchmark: ViTPain training throughput and the cost of the data pipeline.

Run by hand (`python benchmarks/bench_train.py`) or with `pain3d bench train`. Trains a
vit_small_patch16_224 baseline at 224x224 with `pain3d train`'s own trainer (AdamW, augmentation
on, DataLoader workers as the config's default) on a synthetic Pain3D dataset folder of 256x256
PNGs, on the GPU when there is one, else the CPU. After one warm-up step it times STEPS optimiser
steps twice over the same batches: fed by the real DataLoader (decoding, resizing, augmentation in
worker processes), then from a list of those batches already in memory. The loader's overhead is
the relative difference of the two median step times (target: under 5%). `decode_ms_per_image` is
the data pipeline's own cost per image in one process, for scale.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BACKBONE = "vit_small_patch16_224"
IMAGE_SIZE = 224
SOURCE_SIZE = 256  # the farm's demo resolution: every image is decoded and resized
BATCH = 8
STEPS = 12
JOB = {"seed": 3, "identities": {"count": 16}, "expressions": {"per_identity": 4},
       "render": {"views": [-30, 30], "resolution": SOURCE_SIZE}}


def make_dataset(root: Path) -> Path:
    """A Pain3D dataset folder of noisy pictures and 16-bit heatmaps (the training data's formats and sizes)."""
    from pain3d import dataset
    from pain3d.jobs import resolve_job
    from pain3d.plan import make_plan, write_plan

    job = resolve_job(JOB)
    plan = make_plan(job)
    write_plan(root, plan)
    rng = np.random.default_rng(0)
    rows = []
    for ident in plan["identities"]:
        for expr in ident["expressions"]:
            for v, view in enumerate(plan["views"]):
                sid = dataset.sample_id(ident["index"], expr["id"], v)
                image = f"images/{sid}.png"
                _save(rng.integers(0, 256, (SOURCE_SIZE, SOURCE_SIZE, 3), dtype=np.uint8), root / image)
                heatmap = None
                if expr["id"] != dataset.NEUTRAL:
                    heatmap = f"heatmaps/{sid}.png"
                    _save(rng.integers(0, 65536, (SOURCE_SIZE, SOURCE_SIZE), dtype=np.uint16), root / heatmap)
                landmarks = [[10.0 + i, 20.0 + i] for i in range(dataset.N_LANDMARKS)]
                rows.append(dataset.make_row(ident, expr, v, view, image, heatmap, landmarks))
    dataset.write_header(root, job)
    dataset.write_manifest(root, rows)
    return root


def _save(pixels: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _median_step(trainer, batches) -> float:
    times = []
    for _ in range(STEPS):
        started = time.perf_counter()
        trainer.optimizer_step(batches, 1)
        _sync(trainer)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _sync(trainer) -> None:
    import torch

    if trainer.procs.device.type == "cuda":
        torch.cuda.synchronize()


def run() -> dict:
    import torch

    from pain3d.training.config import load_config
    from pain3d.training.train import Trainer, start_processes

    config = load_config(None, {"backbone": BACKBONE, "image_size": IMAGE_SIZE, "batch_size": BATCH})
    config["run"]["tensorboard"] = False
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp) / "data")
        trainer = Trainer(data, "baseline", config, Path(tmp) / "run", start_processes())
        sampler = trainer.loader.batch_sampler
        if sampler.batches_per_epoch < STEPS + 1:
            raise RuntimeError(f"{sampler.batches_per_epoch} batches per epoch; the benchmark needs {STEPS + 1}")
        sampler.set_epoch(0)
        loaded = iter(trainer.loader)
        trainer.optimizer_step(loaded, 1)  # warm-up: allocations, worker start, first decode
        _sync(trainer)
        with_loader = _median_step(trainer, loaded)
        sampler.set_epoch(0, skip_batches=1)
        in_memory = list(trainer.loader)[:STEPS]
        memory = _median_step(trainer, iter(in_memory))
        decode = _decode_ms(trainer.loader.dataset)
    return {"benchmark": "train", "backbone": BACKBONE, "image_size": IMAGE_SIZE, "batch_size": BATCH,
            "device": str(trainer.procs.device), "torch_threads": torch.get_num_threads(),
            "workers": config["data"]["workers"], "steps": STEPS,
            "images_per_s": round(BATCH / with_loader, 2), "images_per_s_in_memory": round(BATCH / memory, 2),
            "step_s": round(with_loader, 3), "step_s_in_memory": round(memory, 3),
            "loader_overhead_pct": round(100 * (with_loader - memory) / memory, 1),
            "decode_ms_per_image": round(decode, 1)}


def _decode_ms(dataset) -> float:
    """Milliseconds to decode, resize and augment one image (with its heatmap) in this process."""
    started = time.perf_counter()
    count = 2 * BATCH
    for i in range(count):
        dataset[(i, i)]
    return 1000 * (time.perf_counter() - started) / count


if __name__ == "__main__":
    print(run())

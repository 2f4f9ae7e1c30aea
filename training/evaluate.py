"""`pain3d eval` and `pain3d predict`: a trained model's predictions, its evaluation report, PSPI of images.

- `predict_split(model, dataset, split, device, batch_size, workers, masks) -> (Predictions, attention)`:
  the model on every image of a dataset split, with each image's explainability scores (the
  attention map against the ground-truth heatmap, inside the face mask when there is one);
- `evaluate_run(run, data, split, out, ...) -> {what: path}`: the report of `pain3d eval`
  (training/eval_report.py): predictions on the split and on val (whose F1-best thresholds are applied
  to the split), bootstrap intervals, overlays of the pain images with the highest PSPI;
- `predict_images(run, images, neutrals) -> rows`: PSPI, AU intensities and pain probabilities of
  image files, for students and baselines (a teacher reads heatmaps, not photographs). The files are
  read whole: give face crops framed as the dataset readers frame them (the square around the face's
  landmarks, 1.4 x their extent; training/images.py `face_box`).

`run` is a run folder (its `best` checkpoint, or `last` with which="last"), a model file, or a
checkpoint of the released Pain-in-3D code, built as the `[model]` table of `architecture` (a
training config; default: the vitpain_v4 preset; training/pain_in_3d.py). A neutral-reference
model averages its predictions over K neutral references of the person (multi-shot):
`neutral_shots` of `evaluate_run` (the identity's neutral images, nearest view first), the
`neutrals` given to `predict_images`.
Face masks: a Pain3D manifest row's `mask` file (pain3d.dataset.MASK_CLASSES), cropped as the dataset
crops its image; every class but background, hair, clothing and bedding is face.
Without masks the whole image counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch.utils.data import DataLoader

from pain3d.dataset import MASK_CLASSES, read_manifest
from pain3d.errors import Pain3DError
from pain3d.facs import PAIN_THRESHOLDS

from .checkpoint import is_model_file, load_model, model_file
from .datasets import AU_KEYS, PainDataset
from .eval_report import Overlay, Predictions, evaluate, write_report
from .images import Box, load_rgb
from .lora import merge_lora
from .loader import collate, for_run, open_split, to_device
from .metrics import attention_heatmap_auc, pointing_game
from .models import PainModel
from .pain_in_3d import load_pain_in_3d

FACE_CLASSES = [value for name, value in MASK_CLASSES.items()
                if name not in ("background", "hair", "clothing", "bedding")]
OVERLAYS = 4  # pain images shown with their heatmap and attention


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def face_masks(data: Path) -> dict[str, Path]:
    """sample_id -> face-mask file, for the rows of a Pain3D manifest that have one."""
    if not (Path(data) / "manifest.jsonl").is_file():
        return {}
    return {row["sample_id"]: Path(data) / row["mask"] for row in read_manifest(data) if row.get("mask")}


def _face(path: Path, box: Box | None, size: int) -> np.ndarray:
    """The face pixels of a mask file, cropped as its image is."""
    classes = Image.open(path).convert("L")
    classes = np.asarray((classes.crop(box) if box is not None else classes).resize((size, size), Image.NEAREST))
    return np.isin(classes, FACE_CLASSES)


@torch.no_grad()
def predict_split(model: PainModel, dataset: PainDataset, split: str, on: torch.device, batch_size: int = 64,
                  workers: int = 0, masks: dict[str, Path] | None = None) -> tuple[Predictions, np.ndarray]:
    """Predictions for every image of `dataset` and the (n, grid, grid) head-averaged attention maps."""
    model.eval().to(on)
    rows: dict[str, list] = {k: [] for k in ("sample_id", "identity", "view", "age_band", "sex", "ethnicity",
                                             "pspi_true", "pspi_pred", "aus_true", "aus_pred", "pain_prob",
                                             "attention_auc", "pointing_hit")}
    maps = []
    crops = {item.sample_id: dataset.crops[item.image] for item in dataset.items} if dataset.crops else {}
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate)
    for batch in loader:
        out = model(to_device(batch, on))
        attention = _grid(out["attention"].float().mean(1).cpu().numpy())
        for key in ("sample_id", "identity", "view", "age_band", "sex", "ethnicity"):
            rows[key] += [v.item() if isinstance(v, torch.Tensor) else v for v in batch[key]]
        rows["pspi_true"] += batch["pspi"].tolist()
        rows["pspi_pred"] += out["pspi"].float().cpu().tolist()
        rows["aus_true"] += batch["aus"].tolist()
        rows["aus_pred"] += out["aus"].float().cpu().tolist()
        rows["pain_prob"] += torch.sigmoid(out["pain_logits"].float()).cpu().tolist()
        for i, sample_id in enumerate(batch["sample_id"]):
            scores = _explain(attention[i], batch["heatmap"][i, 0].numpy(), bool(batch["has_heatmap"][i]),
                              (masks or {}).get(sample_id), crops.get(sample_id))
            rows["attention_auc"].append(scores[0])
            rows["pointing_hit"].append(scores[1])
        maps.append(attention)
    return Predictions(split=[split] * len(rows["sample_id"]), **rows), np.concatenate(maps)


def _grid(attention: np.ndarray) -> np.ndarray:
    """(B, N) patch attention -> (B, side, side)."""
    side = int(round(attention.shape[1] ** 0.5))
    return attention.reshape(len(attention), side, side)


def _explain(attention: np.ndarray, heatmap: np.ndarray, has_heatmap: bool, mask: Path | None,
             crop: Box | None) -> tuple[float, float]:
    """Attention AUC and pointing-game hit of one image (its mask cropped as the image is); nan for images
    without a heatmap (neutral)."""
    if not has_heatmap:
        return np.nan, np.nan
    face = _face(mask, crop, heatmap.shape[0]) if mask is not None else None
    return (attention_heatmap_auc(attention, heatmap, mask=face), pointing_game(attention, heatmap, mask=face))


def overlays(dataset: PainDataset, predictions: Predictions, attention: np.ndarray, count: int = OVERLAYS) -> list[Overlay]:
    """(image, heatmap, attention, title) of the `count` pain images with the highest true PSPI."""
    pain = [i for i in np.argsort(-predictions.pspi_true, kind="stable") if predictions.pspi_true[i] > 0][:count]
    out = []
    for i in pain:
        item = dataset[int(i)]
        image = (item["image"] * dataset.std + dataset.mean).clamp(0, 1).permute(1, 2, 0).numpy()
        title = (f"{predictions.sample_id[i]}\nPSPI {predictions.pspi_true[i]:.1f}, "
                 f"predicted {predictions.pspi_pred[i]:.1f}")
        out.append((image, item["heatmap"][0].numpy(), attention[i], title))
    return out


def open_model(run: Path, which: str = "best", architecture: Path | None = None) -> PainModel:
    """The model of a run folder or model file, or of a Pain-in-3D checkpoint built as `architecture` (module docs),
    its LoRA adapters merged into the backbone (the same predictions, less work)."""
    path = model_file(Path(run), which)
    if is_model_file(path) and architecture is not None:
        raise Pain3DError(f"--config {architecture}: describes Pain-in-3D checkpoints; {run} is a model of "
                          f"pain3d train, which knows its own architecture")
    model = load_model(path)[0] if is_model_file(path) else load_pain_in_3d(path, architecture)
    return merge_lora(model)


def evaluate_run(run: Path, data: Path, split: str = "test", out: Path | None = None, which: str = "best",
                 batch_size: int = 64, workers: int = 0, n_boot: int = 1000, seed: int = 0, neutral_shots: int = 1,
                 architecture: Path | None = None) -> dict[str, Path]:
    """Write the evaluation report of a run on DATA's `split` into `out` (default RUN/eval-{split}); its files."""
    run, on = Path(run), device()
    model = open_model(run, which, architecture)
    size, neutral = model.build_args["image_size"], model.neutral_reference
    if neutral_shots != 1 and not neutral:
        raise Pain3DError(f"--neutral-shots {neutral_shots}: {run} has no neutral reference; allowed: 1")
    masks = face_masks(data)
    data = for_run(data, run)  # the UNBC archive (unbc:PATH): the run's own fold (RUN/folds.json)
    dataset = _with_shots(open_split(data, split, size, with_neutral=neutral), neutral_shots)
    test, attention = predict_split(model, dataset, split, on, batch_size, workers, masks)
    val = None
    if split != "val":
        val_set = _optional_split(data, "val", size, neutral)
        val_set = _with_shots(val_set, neutral_shots) if val_set else None
        val = predict_split(model, val_set, "val", on, batch_size, workers, masks)[0] if val_set else None
    results = evaluate(test, val, n_boot, seed)
    folder = out or (run if run.is_dir() else run.parent) / f"eval-{split}"
    return write_report(results, test, folder, overlays(dataset, test, attention))


def _with_shots(dataset: PainDataset, shots: int) -> PainDataset:
    dataset.set_neutral_shots(shots)
    return dataset


def _optional_split(data: Path, split: str, size: int, neutral: bool) -> PainDataset | None:
    """A split that may be empty: without it the report picks F1 thresholds on the evaluated split (and says so)."""
    try:
        return open_split(data, split, size, with_neutral=neutral)
    except Pain3DError:
        return None


def _normalised(path: Path, size: int) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(3, 1, 1)
    return (load_rgb(Path(path), size).float() / 255 - mean) / std


@torch.no_grad()
def predict_images(run: Path, images: Sequence[Path], neutrals: Sequence[Path] = (), which: str = "best",
                   batch_size: int = 64, architecture: Path | None = None) -> list[dict[str, float]]:
    """PSPI, the six AU intensities and P(PSPI >= 1, 2, 3) of each image file (module docs)."""
    model = open_model(Path(run), which, architecture)
    if model.role == "teacher":
        raise Pain3DError(f"{run}: a teacher reads pain heatmaps, not photographs; predict with a student or baseline")
    if model.neutral_reference and not neutrals:
        raise Pain3DError(f"{run}: this model compares with the person's neutral face; give it with --neutral IMAGE "
                          f"(several --neutral: predictions averaged over them)")
    on, size = device(), model.build_args["image_size"]
    model.eval().to(on)
    references = torch.stack([_normalised(p, size) for p in neutrals]).to(on) if model.neutral_reference else None
    rows = []
    for start in range(0, len(images), batch_size):
        chunk = [_normalised(p, size) for p in images[start:start + batch_size]]
        batch = {"image": torch.stack(chunk).to(on)}
        if references is not None:  # (B, K, 3, S, S): the model averages over the K references
            batch["neutral_image"] = references.expand(len(chunk), -1, -1, -1, -1)
        out = model(batch)
        rows += [_row(out, i) for i in range(len(chunk))]
    return rows


def _row(out: dict[str, torch.Tensor], i: int) -> dict[str, float]:
    probs = torch.sigmoid(out["pain_logits"][i].float()).tolist()
    return {"PSPI": float(out["pspi"][i]), **dict(zip(AU_KEYS, out["aus"][i].float().tolist())),
            **{f"P(PSPI>={t})": p for t, p in zip(PAIN_THRESHOLDS, probs)}}

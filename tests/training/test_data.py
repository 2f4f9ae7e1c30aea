"""ViTPain datasets on tiny folders of both layouts: labels, splits, twins, augmentation, loaders."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from pain3d import facs
from pain3d.dataset import NEUTRAL, read_manifest, validate, write_manifest
from pain3d.errors import Pain3DError
from pain3d.app.export import export
from tests.training.conftest import RELEASE_SPLITS, SIZE, heat_pattern
from pain3d.training.datasets import AU_KEYS
from pain3d.training.heat import COLOR_RAMPS, HEATMAP_COLORMAPS, heat_from_rgb
from pain3d.training.images import face_box, load_heatmap, load_rgb
from pain3d.training.loader import make_loader
from pain3d.training.manifest_reader import Pain3DDataset, face_boxes
from pain3d.training.threedpain_reader import ThreeDPainDataset
from pain3d.training.transforms import Augment, flip_aus

SPLITS = ("train", "val", "test")


def _dataset(layout: str, root: Path, split: str | None, **kw) -> Pain3DDataset | ThreeDPainDataset:
    cls = Pain3DDataset if layout == "pain3d" else ThreeDPainDataset
    return cls(root, split, image_size=kw.pop("image_size", 32), **kw)


@pytest.fixture(params=["pain3d", "3dpain"])
def layout(request, tiny_pain3d, tiny_3dpain) -> tuple[str, Path]:
    return request.param, tiny_pain3d if request.param == "pain3d" else tiny_3dpain


def test_tiny_pain3d_follows_the_contract(tiny_pain3d):
    report = validate(tiny_pain3d)
    assert report.ok, report.problems
    rows = read_manifest(tiny_pain3d)
    assert report.identities == 6 and len(rows) == 6 * 3 * 2
    assert {r["split"] for r in rows} == set(SPLITS)


def test_pain3d_items_carry_the_manifest_labels(tiny_pain3d):
    rows = {r["sample_id"]: r for r in read_manifest(tiny_pain3d)}
    ds = Pain3DDataset(tiny_pain3d, "train", image_size=32)
    assert len(ds) == sum(r["split"] == "train" for r in rows.values())
    for i in range(len(ds)):
        item = ds[i]
        row = rows[item["sample_id"]]
        assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
        assert item["heatmap"].shape == (1, 32, 32)
        assert 0 <= item["heatmap"].min() and item["heatmap"].max() <= 1
        expected = [facs.effective_intensity(row["aus"], k) for k in AU_KEYS]
        assert item["aus"].tolist() == pytest.approx(expected)
        assert item["pspi"].item() == pytest.approx(row["pspi"])
        assert item["view"].item() == row["view"]["yaw"] and item["view_index"].item() == row["view_index"]
        assert item["identity"].item() == row["identity"] and item["expression"] == row["expression"]
        assert (item["sex"], item["ethnicity"]) == (row["sex"], row["ethnicity"])
        assert item["age"].item() == pytest.approx(row["age"]) and item["skin_tone"].item() == pytest.approx(
            row["skin_tone"])
        lo, hi = map(int, item["age_band"].split("-"))
        assert lo <= row["age"] < hi + 1
        neutral = row["expression"] == NEUTRAL
        assert item["has_heatmap"].item() is (not neutral)
        # the heatmap is the file's heat: pspi / 16 on the left of the band
        assert item["heatmap"].max().item() == pytest.approx(row["pspi"] / 16, abs=2e-3)


def test_3dpain_items_carry_the_release_labels(tiny_3dpain):
    ds = ThreeDPainDataset(tiny_3dpain, None, image_size=SIZE, view_yaws=[-30, 30])
    assert len(ds) == 6 * 3 * 2
    for i in range(len(ds)):
        item = ds[i]
        base = item["sample_id"].rsplit("_view_", 1)[0]
        path = tiny_3dpain / "annotations" / f"{base}_annotations.json"
        labels = json.loads(path.read_text()) if path.exists() else {k: 0.0 for k in (*AU_KEYS, "PSPI")}
        assert item["aus"].tolist() == [labels[k] for k in AU_KEYS]
        assert item["pspi"].item() == labels["PSPI"]
        assert item["view"].item() == [-30, 30][item["view_index"].item()]
        assert item["has_heatmap"].item() is path.exists()
        # the "hot" colours decode back to the heat they were made from
        heat = heat_pattern(labels["PSPI"]) if path.exists() else np.zeros((SIZE, SIZE))
        assert np.abs(item["heatmap"][0].numpy() - heat).max() < 0.01
        assert item["age_band"] == item["sex"] == "unknown" and np.isnan(item["age"].item())


@pytest.mark.parametrize("colormap", HEATMAP_COLORMAPS)
def test_colour_ramps_decode_to_their_heat(colormap):
    ramp = np.round(COLOR_RAMPS[colormap] * 255).astype(np.uint8)[None]  # (1, 256, 3)
    heat = heat_from_rgb(ramp, colormap)[0]
    assert np.abs(heat - np.linspace(0, 1, 256)).max() < 0.02


def test_splits_are_identity_disjoint(layout):
    name, root = layout
    parts = {split: _dataset(name, root, split) for split in SPLITS}
    ids = {split: ds.identities for split, ds in parts.items()}
    assert all(ids.values())
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not ids[a] & ids[b], f"identities in {a} and {b}: {ids[a] & ids[b]}"
    everything = _dataset(name, root, None)
    assert set().union(*ids.values()) == everything.identities
    assert sum(len(ds) for ds in parts.values()) == len(everything)


def test_identity_in_two_splits_is_refused(tiny_pain3d, tiny_3dpain, tmp_path):
    pain3d = tmp_path / "pain3d"
    shutil.copytree(tiny_pain3d, pain3d)
    rows = read_manifest(pain3d)
    rows[1]["split"] = "test" if rows[1]["split"] != "test" else "train"
    write_manifest(pain3d, rows)
    with pytest.raises(Pain3DError, match="two splits"):
        Pain3DDataset(pain3d, "train")

    release = tmp_path / "release"
    shutil.copytree(tiny_3dpain, release)
    lines = (release / "splits.csv").read_text().splitlines()
    lines = [line.replace("pat_000_pain_2,0", "pat_000_pain_2,1") for line in lines]
    (release / "splits.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(Pain3DError, match="identity-disjoint"):
        ThreeDPainDataset(release, "train")


def test_neutral_twin_is_the_same_identity_and_view(layout):
    name, root = layout
    ds = _dataset(name, root, "train", with_neutral=True)
    plain = _dataset(name, root, "train")
    neutral_of = {(plain[i]["identity"].item(), plain[i]["view_index"].item()): plain[i]["image"]
                  for i in range(len(plain)) if plain[i]["expression"] == NEUTRAL}
    pain_seen = 0
    for i in range(len(ds)):
        item = ds[i]
        twin = neutral_of[(item["identity"].item(), item["view_index"].item())]
        assert torch.equal(item["neutral_image"], twin)
        if item["expression"] != NEUTRAL:
            pain_seen += 1
            assert not torch.equal(item["neutral_image"], item["image"])
    assert pain_seen == 2 * len(ds) // 3


def test_without_neutral_rows(layout):
    name, root = layout
    ds = _dataset(name, root, "train", include_neutral=False, with_neutral=True)
    assert all(ds[i]["expression"] != NEUTRAL and ds[i]["has_heatmap"] for i in range(len(ds)))


def test_missing_neutral_twin_is_refused(tiny_pain3d, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_pain3d, root)
    rows = [r for r in read_manifest(root) if not (r["expression"] == NEUTRAL and r["identity"] == 0)]
    write_manifest(root, rows)
    split = next(r["split"] for r in rows if r["identity"] == 0)
    Pain3DDataset(root, split)  # fine without twins
    with pytest.raises(Pain3DError, match="no neutral image"):
        Pain3DDataset(root, split, with_neutral=True)


def test_pain3d_images_and_heatmaps_are_cut_to_the_neutral_face(tiny_pain3d, tmp_path):
    """Each image and its heatmap are cropped to the face box of its identity's neutral image at the same
    view: a pain row whose landmarks moved (an open jaw) keeps its neutral twin's frame."""
    root = tmp_path / "data"
    shutil.copytree(tiny_pain3d, root)
    rows = read_manifest(root)
    for row in rows:
        if row["expression"] != NEUTRAL:
            row["landmarks"] = [[x, y + 12.0 if y > SIZE / 2 else y] for x, y in row["landmarks"]]
    write_manifest(root, rows)
    boxes = face_boxes(root, rows)
    neutral_box = face_box(np.array(next(r for r in rows if r["expression"] == NEUTRAL)["landmarks"]))
    assert set(boxes.values()) == {neutral_box} and neutral_box != (0, 0, SIZE, SIZE)
    ds = Pain3DDataset(root, "train", image_size=32)
    index, item = next((i, it) for i, it in enumerate(ds.items) if it.expression != NEUTRAL)
    row = next(r for r in rows if r["sample_id"] == item.sample_id)
    sample = ds[index]
    image = (load_rgb(root / row["image"], 32, neutral_box).float() / 255 - ds.mean) / ds.std
    assert torch.allclose(sample["image"], image)
    assert torch.equal(sample["heatmap"], load_heatmap(root / row["heatmap"], 32, "jet", neutral_box))
    assert not torch.equal(sample["heatmap"], load_heatmap(root / row["heatmap"], 32, "jet"))


def test_export_round_trip(tiny_pain3d, tmp_path):
    """Our 3DPain export reads back with the manifest's labels and splits."""
    export(tiny_pain3d, tmp_path / "out", "3dpain", prefix="p3d")
    rows = read_manifest(tiny_pain3d)
    for split in SPLITS:
        ds = ThreeDPainDataset(tmp_path / "out", split, image_size=32, heatmap_colors="jet")
        got = sorted((ds[i]["identity"].item(), ds[i]["view_index"].item(), ds[i]["pspi"].item(),
                      tuple(ds[i]["aus"].tolist())) for i in range(len(ds)))
        want = sorted((r["identity"], r["view_index"], float(r["pspi"]),
                       tuple(float(facs.effective_intensity(r["aus"], k)) for k in AU_KEYS))
                      for r in rows if r["split"] == split)
        assert got == want


def test_bad_inputs_are_one_line_errors(tiny_3dpain, tmp_path):
    with pytest.raises(Pain3DError, match="allowed"):
        Pain3DDataset(tmp_path, "training")
    with pytest.raises(Pain3DError, match="no manifest"):
        Pain3DDataset(tmp_path, "train")
    with pytest.raises(Pain3DError, match="meshes_inpainted"):
        ThreeDPainDataset(tmp_path, "train")
    root = tmp_path / "release"
    shutil.copytree(tiny_3dpain, root)
    (root / "annotations" / "pat_001_pain_2_annotations.json").unlink()
    with pytest.raises(Pain3DError, match="pat_001_pain_2_annotations.json: missing"):
        ThreeDPainDataset(root, "train")


# --- augmentation --------------------------------------------------------------------------


def _views() -> dict[str, torch.Tensor]:
    """An asymmetric image whose red channel is also the heatmap, and a neutral image equal to it."""
    image = torch.rand(3, 32, 32)
    image[:, :, :8] = 1.0
    return {"image": image, "heatmap": image[:1].clone(), "neutral_image": image.clone()}


def test_flip_swaps_left_and_right_and_keeps_pspi():
    aus = {"AU4L": 3.0, "AU6": 2.0, "AU7R": 4.0, "AU10": 1.0, "AU12R": 5.0, "AU43": 1.0}
    flipped = flip_aus(aus)
    assert flipped == {"AU4R": 3.0, "AU6": 2.0, "AU7L": 4.0, "AU10": 1.0, "AU12L": 5.0, "AU43": 1.0}
    assert facs.pspi(flipped) == facs.pspi(aus) == 3 + 4 + 1 + 1
    assert [facs.effective_intensity(flipped, k) for k in AU_KEYS] == [facs.effective_intensity(aus, k)
                                                                        for k in AU_KEYS]
    only_flip = Augment(crop_min=1.0, brightness=0, contrast=0, saturation=0, hue=0, blur_p=0, flip=True)
    views = _views()
    outcomes = set()
    for seed in range(8):
        out, out_aus, yaw = only_flip(views, aus, 30.0, torch.Generator().manual_seed(seed))
        did_flip = yaw == -30.0
        outcomes.add(did_flip)
        expected = {k: TF.horizontal_flip(v) if did_flip else v for k, v in views.items()}
        assert all(torch.allclose(out[k], expected[k], atol=1e-6) for k in views)
        assert out_aus == (flipped if did_flip else aus)
    assert outcomes == {True, False}


def test_augmentation_moves_heatmap_and_neutral_with_the_image():
    geometry_only = Augment(brightness=0, contrast=0, saturation=0, hue=0, blur_p=0, crop_min=0.7, flip=True)
    views = _views()
    for seed in range(6):
        out, _, _ = geometry_only(views, {}, 0.0, torch.Generator().manual_seed(seed))
        assert torch.allclose(out["heatmap"], out["image"][:1], atol=1e-5)
        assert torch.equal(out["neutral_image"], out["image"])
    colour = Augment(brightness=0.3, blur_p=1.0)
    out, _, _ = colour(views, {}, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(out["neutral_image"], out["image"])  # the pair is jittered alike
    assert not torch.allclose(out["heatmap"], out["image"][:1], atol=1e-3)  # the heatmap keeps its values
    assert 0 <= out["image"].min() and out["image"].max() <= 1


def test_augmented_items_keep_their_labels(layout):
    name, root = layout
    plain = _dataset(name, root, "train")
    augmented = _dataset(name, root, "train", augment=Augment(flip=True), with_neutral=True)
    labels = ("aus", "pspi", "identity", "has_heatmap", "view_index")
    for i in range(len(plain)):
        a, b = plain[i], augmented[(i, 1000 + i)]
        assert all(torch.equal(a[k], b[k]) for k in labels)
        assert b["view"].item() in (a["view"].item(), -a["view"].item()) or np.isnan(a["view"].item())
        assert not torch.equal(a["image"], b["image"])
        assert torch.equal(b["image"], augmented[(i, 1000 + i)]["image"])  # a draw is reproducible


# --- loaders -------------------------------------------------------------------------------


def _epoch(loader, epoch: int, skip: int = 0) -> list[dict]:
    loader.batch_sampler.set_epoch(epoch, skip_batches=skip)
    return list(loader)


def _same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x["sample_id"] == y["sample_id"] and torch.equal(x["image"], y["image"])
                                    for x, y in zip(a, b))


def test_loader_order_depends_only_on_seed_and_epoch_and_resumes(tiny_pain3d):
    ds = Pain3DDataset(tiny_pain3d, "train", image_size=32, augment=Augment(flip=True))
    loader = make_loader(ds, batch_size=5, shuffle=True, seed=3)
    assert loader.batch_sampler.batches_per_epoch == len(loader) == 5
    epoch1 = _epoch(loader, 1)
    assert sorted(s for b in epoch1 for s in b["sample_id"]) == sorted(it.sample_id for it in ds.items)
    assert _same(epoch1, _epoch(make_loader(ds, 5, True, seed=3), 1))
    resumed = make_loader(ds, 5, True, seed=3)
    resumed.batch_sampler.set_epoch(1, skip_batches=2)
    assert len(resumed) == 3 and _same(list(resumed), epoch1[2:])
    assert not _same(epoch1, _epoch(loader, 2))
    assert not _same(epoch1, _epoch(make_loader(ds, 5, True, seed=4), 1))
    in_order = _epoch(make_loader(ds, 5, False, seed=3), 0)
    assert [s for b in in_order for s in b["sample_id"]] == [it.sample_id for it in ds.items]


def test_shared_cache_with_workers_gives_the_same_batches(tiny_pain3d):
    plain = Pain3DDataset(tiny_pain3d, "train", image_size=32, augment=Augment(), with_neutral=True)
    cached = Pain3DDataset(tiny_pain3d, "train", image_size=32, augment=Augment(), with_neutral=True, cache=True)
    want = _epoch(make_loader(plain, 6, True, seed=0), 0)
    loader = make_loader(cached, 6, True, seed=0, workers=2, pin_memory=True)
    assert _same(_epoch(loader, 0), want)
    assert cached._images.filled.all() and cached._heatmaps.filled.all()  # workers filled the shared cache
    assert _same(_epoch(loader, 0), want)  # and read it back
    batch = want[0]
    assert batch["neutral_image"].shape == (6, 3, 32, 32) and len(batch["sex"]) == 6


def test_release_split_codes(tiny_3dpain):
    with open(tiny_3dpain / "splits.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["split"] for r in rows} == {"0", "1", "2"}
    ds = ThreeDPainDataset(tiny_3dpain, "val")
    assert ds.identities == {RELEASE_SPLITS.index(1)}

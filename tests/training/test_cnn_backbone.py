"""A timm CNN (resnet18, random init) as the backbone: the convolutional baseline of `pain3d bench learning`.

Real torch and timm: it trains through `pain3d train` on `tiny_pain3d` and `pain3d eval` reports on
it; its feature map's positions are tokens, so the token parts and distillation from a ViT teacher
work; the settings only a ViT has are one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pain3d.errors import Pain3DError
from pain3d.training.checkpoint import load_model
from pain3d.training.config import load_config
from pain3d.training.loader import collate, open_split
from pain3d.training.losses import distillation_loss, make_projector
from pain3d.training.models import activation_map, build_from_config, build_model

from .test_train import cli, train_run

SIZE = 64  # resnet18's stride 32: a 2x2 feature map, 4 tokens
CNN_CONFIG = f"""
[model]
backbone = "resnet18"
image_size = {SIZE}
drop_path = 0.0
[data]
workers = 0
augment = false
[optim]
epochs = 1
max_steps = 2
batch_size = 8
lr = 1e-3
warmup_steps = 1
[run]
seed = 3
log_every = 1
tensorboard = false
"""


def test_resnet18_baseline_trains_and_evaluates(tiny_pain3d: Path, tmp_path: Path):
    config = tmp_path / "cnn.toml"
    config.write_text(CNN_CONFIG)
    run = train_run(tiny_pain3d, "baseline", config, tmp_path / "run")
    torch.manual_seed(3)  # the trainer's initial weights (run.seed)
    initial = build_from_config("baseline", load_config(config)["model"]).eval()
    trained = load_model(run, "last")[0].eval()
    batch = collate([open_split(tiny_pain3d, "test", SIZE)[i] for i in range(4)])
    with torch.no_grad():
        before, after = initial(batch), trained(batch)
    assert not torch.allclose(before["pspi"], after["pspi"])
    assert after["tokens"].shape == (4, 4, 512) and after["attention"].shape == (4, 1, 4)
    result = cli("eval", "--run", run, "--data", tiny_pain3d, "--bootstrap", 20, "--workers", 0)
    assert result.exit_code == 0, result.output + repr(result.exception)
    report = json.loads((run / "eval-test" / "report.json").read_text())
    assert report["pspi"]["mae"]["value"] is not None and report["n_images"] == 6


def test_cnn_tokens_take_the_token_parts_and_distillation():
    image = torch.randn(2, 3, SIZE, SIZE)
    model = build_model("student", "resnet18", SIZE, neutral_reference=True, cross_heads=8, head="au_query")
    out = model({"image": image, "neutral_image": image.flip(-1)})
    assert out["aus"].shape == (2, 6) and ((out["pspi"] >= 0) & (out["pspi"] <= 16)).all()
    teacher = build_model("teacher", "vit_tiny_patch16_224", SIZE, depth=1).eval()
    with torch.no_grad():
        target = teacher({"heatmap": torch.rand(2, 1, SIZE, SIZE)})
    student = build_model("student", "resnet18", SIZE)
    projector = make_projector(student.embed_dim, teacher.embed_dim)
    weights = {"distill_output": 1.0, "distill_feature": 1.0, "distill_attention": 1.0}
    loss, parts = distillation_loss(student({"image": image}), target, weights, projector)
    loss.backward()
    assert all(torch.isfinite(v) and v > 0 for v in parts.values())
    assert student.encoder.net.conv1.weight.grad.abs().sum() > 0 and projector.weight.grad.abs().sum() > 0


def test_activation_map_is_normalised_energy():
    tokens = torch.tensor([[[1.0, 1.0], [3.0, 1.0], [0.0, 0.0]]])
    assert torch.allclose(activation_map(tokens), torch.tensor([[[1.0, 5.0, 0.0]]]) / 6)


@pytest.mark.parametrize("change,message", [
    (dict(depth=2), "model.depth = 2: resnet18 is a convolutional network"),
    (dict(encoder_forward="pain_in_3d"), 'model.encoder_forward = "pain_in_3d"'),
    (dict(neutral_reference=True), "model.cross_heads = 0: resnet18 has no attention heads"),
    (dict(lora_rank=4), "model.lora_targets"),
])
def test_vit_only_settings_are_one_line_errors(change, message):
    with pytest.raises(Pain3DError, match=message) as caught:
        build_model("baseline", "resnet18", SIZE, **change)
    assert "\n" not in str(caught.value)

"""ViTPain models, losses and checkpoint loading: real timm ViTs, tiny (2 blocks, 32x32 inputs)."""

from __future__ import annotations

import pickle

import pytest
import safetensors.torch
import timm
import torch

from pain3d import facs
from pain3d.errors import Pain3DError
from pain3d.training.datasets import AU_KEYS
from pain3d.training.loader import make_loader
from pain3d.training.losses import (DISTILL_TERMS, TASK_TERMS, distillation_loss, make_projector, pain_targets,
                             task_loss)
from pain3d.training.manifest_reader import Pain3DDataset
from pain3d.training.models import build_model, freeze, load_weights, read_state_dict

TINY = "vit_tiny_patch16_224"
SIZE = 32
SMALL = dict(depth=2)  # two blocks: fast, and the last block is not the first
WIDER = dict(depth=2, embed_dim=256, num_heads=4)  # a teacher wider than vit_tiny's 192
ALL_ON = {"pspi": 1.0, "aus": 1.0, "pain": 0.5, "distill_output": 1.0, "distill_feature": 1.0,
          "distill_attention": 1.0}


@pytest.fixture(scope="module")
def batch(tiny_pain3d) -> dict:
    ds = Pain3DDataset(tiny_pain3d, "train", image_size=SIZE, with_neutral=True)
    loader = make_loader(ds, batch_size=4, shuffle=True, seed=1)
    return next(iter(loader))


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


VARIANTS = [("teacher", "heatmap", False), ("teacher", "heatmap+rgb", False), ("teacher", "heatmap+rgb", True),
            ("student", "heatmap", False), ("student", "heatmap", True), ("baseline", "heatmap", False)]


@pytest.mark.parametrize("role,teacher_input,neutral", VARIANTS)
def test_forward_shapes_ranges_and_gradients(batch, role, teacher_input, neutral):
    model = build_model(role, TINY, SIZE, teacher_input, neutral, **SMALL)
    out = model(batch)
    b, n = batch["image"].shape[0], (SIZE // 16) ** 2
    assert out["pspi"].shape == (b,) and out["aus"].shape == (b, 6) and out["pain_logits"].shape == (b, 3)
    assert out["tokens"].shape == (b, n, 192) and out["attention"].shape == (b, 3, n)
    assert ((0 <= out["pspi"]) & (out["pspi"] <= facs.PSPI_MAX)).all()
    au_max = torch.tensor([facs.catalog()[k].max_intensity for k in AU_KEYS], dtype=torch.float32)
    assert ((0 <= out["aus"]) & (out["aus"] <= au_max)).all() and out["aus"][:, AU_KEYS.index("AU43")].max() <= 1
    assert (out["attention"] >= 0).all() and (out["attention"].sum(-1) <= 1 + 1e-5).all()
    total, _ = task_loss(out, batch, ALL_ON)
    total.backward()
    assert model.encoder.patch_embed.proj.weight.grad.abs().sum() > 0
    assert model.encoder.patch_embed.proj.in_channels == {"heatmap": 1, "heatmap+rgb": 4}.get(
        teacher_input if role == "teacher" else None, 3)


def _changed(model, batch, key) -> bool:
    with torch.no_grad():
        before = model(batch)["pspi"]
        after = model({**batch, key: batch[key] + torch.randn_like(batch[key])})["pspi"]
    return not torch.allclose(before, after)


def test_each_model_sees_its_inputs(batch):
    heat_teacher = build_model("teacher", TINY, SIZE, "heatmap", **SMALL).eval()
    assert _changed(heat_teacher, batch, "heatmap") and not _changed(heat_teacher, batch, "image")
    both = build_model("teacher", TINY, SIZE, "heatmap+rgb", **SMALL).eval()
    assert _changed(both, batch, "heatmap") and _changed(both, batch, "image")
    student = build_model("student", TINY, SIZE, **SMALL).eval()
    assert _changed(student, batch, "image") and not _changed(student, batch, "heatmap")
    assert not _changed(student, batch, "neutral_image")
    reference = build_model("student", TINY, SIZE, neutral_reference=True, **SMALL).eval()
    assert _changed(reference, batch, "neutral_image") and not _changed(reference, batch, "heatmap")


def test_attention_is_the_last_blocks_cls_attention(batch):
    model = build_model("student", TINY, SIZE, **SMALL).eval()
    block = model.encoder.blocks[-1]
    seen = {}
    block.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    with torch.no_grad():
        out = model(batch)
        attn = block.attn
        x = block.norm1(seen["x"])
        q, k, _ = attn.qkv(x).reshape(x.shape[0], x.shape[1], 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
        weights = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(-1)
    assert torch.allclose(out["attention"], weights[:, :, 0, model.num_prefix:], atol=1e-6)


@pytest.mark.parametrize("backbone,size", [("vit_small_patch14_reg4_dinov2", 28), ("vit_small_patch16_dinov3", 32)])
def test_dino_backbones(backbone, size):
    model = build_model("student", backbone, size, neutral_reference=True, depth=1, embed_dim=64, num_heads=2)
    image = torch.randn(2, 3, size, size)
    out = model({"image": image, "neutral_image": image.flip(-1)})
    n = (size // model.encoder.patch_embed.patch_size[0]) ** 2
    assert model.num_prefix == 5 and out["tokens"].shape == (2, n, 64) and out["attention"].shape == (2, 2, n)


def test_bad_model_settings_are_one_line_errors():
    cases = [(dict(role="critic"), "role"), (dict(teacher_input="rgb"), "teacher_input"),
             (dict(role="teacher", neutral_reference=True), "heatmap-only teacher"),
             (dict(backbone="no_such_model"), "Unknown model"), (dict(backbone="mixer_s16_224"), "not a timm vision"),
             (dict(image_size=40), "multiple of"), (dict(bogus=1), "bogus")]
    for change, message in cases:
        kwargs = {"role": "student", "backbone": TINY, "image_size": SIZE, **change}
        with pytest.raises(Pain3DError, match=message):
            build_model(**kwargs)


# --- losses --------------------------------------------------------------------------------


def test_task_loss_terms(batch):
    perfect = {"pspi": batch["pspi"], "aus": batch["aus"],
               "pain_logits": (pain_targets(batch["pspi"]) * 2 - 1) * 50}
    total, parts = task_loss(perfect, batch, ALL_ON)
    assert total.item() == pytest.approx(0, abs=1e-6) and set(parts) == set(TASK_TERMS)
    wrong = {**perfect, "pspi": batch["pspi"] + 3, "aus": batch["aus"] + 1}
    total, parts = task_loss(wrong, batch, {"pspi": 2.0, "aus": 1.0, "pain": 1.0})
    assert parts["pspi"].item() == pytest.approx(2.5) and parts["aus"].item() == pytest.approx(1)
    assert total.item() == pytest.approx(2 * 2.5 + 1, abs=1e-6)
    assert pain_targets(torch.tensor([0.0, 1.0, 2.5, 16.0])).tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]]
    # a zero weight is not computed: outputs without its key are fine
    _, parts = task_loss({"pspi": perfect["pspi"]}, batch, {"pspi": 1.0, "aus": 0.0, "pain": 0.0})
    assert parts["aus"].item() == parts["pain"].item() == 0


@pytest.fixture(scope="module")
def pair(batch):
    """A frozen wider teacher (heatmap), a vit_tiny student and their outputs on the batch."""
    torch.manual_seed(0)
    teacher = freeze(build_model("teacher", TINY, SIZE, "heatmap", **WIDER))
    student = build_model("student", TINY, SIZE, **SMALL)
    return teacher, student


def test_distillation_terms_reach_the_student_and_projector_only(pair, batch):
    teacher, student = pair
    assert not any(p.requires_grad for p in teacher.parameters()) and not teacher.training
    projector = make_projector(student.embed_dim, teacher.embed_dim)
    assert isinstance(projector, torch.nn.Linear) and projector.weight.shape == (256, 192)
    with torch.no_grad():
        t_out = teacher(batch)
    s_out = student(batch)
    total, parts = distillation_loss(s_out, t_out, ALL_ON, projector)
    assert set(parts) == set(DISTILL_TERMS) and all(parts[k] > 0 for k in DISTILL_TERMS)
    assert total.item() == pytest.approx(sum(parts.values()).item(), rel=1e-5)
    student.zero_grad()
    total.backward()
    assert projector.weight.grad.abs().sum() > 0
    assert student.encoder.blocks[-1].attn.qkv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.parameters())


@pytest.mark.parametrize("term", DISTILL_TERMS)
def test_a_zero_weight_switches_a_term_off(pair, batch, term):
    teacher, student = pair
    with torch.no_grad():
        t_out, s_out = teacher(batch), student(batch)
    # drop what only this term reads from the student: computing it would fail
    needs = {"distill_output": "aus", "distill_feature": "tokens", "distill_attention": "attention"}
    s_less = {k: v for k, v in s_out.items() if k != needs[term]}
    _, parts = distillation_loss(s_less, t_out, {**ALL_ON, term: 0.0}, make_projector(192, 256))
    assert parts[term].item() == 0 and all(parts[t] > 0 for t in DISTILL_TERMS if t != term)
    total, zeros = distillation_loss(s_out, t_out, dict.fromkeys(ALL_ON, 0.0))
    assert total.item() == 0 and all(v.item() == 0 for v in zeros.values())


def test_identical_models_distil_to_zero(batch):
    model = build_model("student", TINY, SIZE, **SMALL).eval()
    with torch.no_grad():
        out = model(batch)
    _, parts = distillation_loss(out, out, ALL_ON)  # equal widths: no projector needed
    assert all(parts[k].item() == pytest.approx(0, abs=1e-5) for k in DISTILL_TERMS)


def test_distillation_across_token_grids(batch):
    """A patch-8 teacher (16 tokens) and a patch-16 student (4 tokens): the student's maps are resampled."""
    teacher = freeze(build_model("teacher", TINY, SIZE, "heatmap+rgb", patch_size=8, **WIDER))
    student = build_model("student", TINY, SIZE, **SMALL)
    with torch.no_grad():
        t_out = teacher(batch)
    assert t_out["tokens"].shape[1] == 16
    total, parts = distillation_loss(student(batch), t_out, ALL_ON, make_projector(192, 256))
    assert torch.isfinite(total) and all(parts[k] > 0 for k in DISTILL_TERMS)
    total.backward()


def test_feature_distillation_needs_a_projector_when_widths_differ(pair, batch):
    teacher, student = pair
    with torch.no_grad():
        t_out, s_out = teacher(batch), student(batch)
    with pytest.raises(ValueError, match="projector"):
        distillation_loss(s_out, t_out, ALL_ON)


# --- checkpoints ---------------------------------------------------------------------------


def _timm_vit(**kw) -> torch.nn.Module:
    """A timm vit_tiny as a pretrained checkpoint would come: with a classifier head."""
    return timm.create_model(TINY, pretrained=False, num_classes=10, img_size=kw.pop("img_size", SIZE), **kw)


def _same_weights(model, source, skip=("head.", "pos_embed", "patch_embed.proj.weight")) -> bool:
    own = model.encoder.state_dict()
    return all(torch.equal(own[k], v) for k, v in source.items() if not k.startswith(skip))


def test_pretrained_from_safetensors(tmp_path):
    source = _timm_vit(**SMALL).state_dict()
    path = tmp_path / "vit.safetensors"
    safetensors.torch.save_file(source, str(path))
    model = build_model("student", TINY, SIZE, pretrained=path, **SMALL)
    assert _same_weights(model, source, skip=("head.",))


def test_pretrained_from_a_torch_checkpoint_at_another_size(tmp_path):
    source = _timm_vit(img_size=64, **SMALL).state_dict()
    path = tmp_path / "checkpoint.pth.tar"
    torch.save({"epoch": 3, "arch": TINY, "state_dict": source}, path)
    model = build_model("student", TINY, SIZE, pretrained=path, **SMALL)
    assert _same_weights(model, source)
    assert model.encoder.pos_embed.shape[1] == 1 + 4  # resampled from 1 + 16


def test_pretrained_adapts_the_input_convolution(tmp_path):
    source = _timm_vit(**SMALL).state_dict()
    path = tmp_path / "vit.safetensors"
    safetensors.torch.save_file(source, str(path))
    heat = build_model("teacher", TINY, SIZE, "heatmap", pretrained=path, **SMALL)
    assert torch.allclose(heat.encoder.patch_embed.proj.weight, source["patch_embed.proj.weight"].sum(1, keepdim=True))
    both = build_model("teacher", TINY, SIZE, "heatmap+rgb", pretrained=path, **SMALL)
    assert both.encoder.patch_embed.proj.weight.shape[1] == 4 and _same_weights(both, source)


def _truncated(tmp_path, name, save):
    path = tmp_path / name
    save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _garbage(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("not weights")
    return path


class Payload:
    """Not a tensor: weights_only refuses to unpickle it."""


def test_bad_checkpoints_are_one_line_errors(tmp_path):
    source = _timm_vit(**SMALL).state_dict()
    pickled = tmp_path / "pickled.pt"
    torch.save({"state_dict": source, "extra": Payload()}, pickled)
    wider = tmp_path / "wider.safetensors"
    safetensors.torch.save_file(_timm_vit(**WIDER).state_dict(), str(wider))
    deeper = tmp_path / "deeper.pt"
    torch.save(_timm_vit(depth=3).state_dict(), deeper)
    cases = {
        tmp_path / "missing.safetensors": "no such checkpoint",
        _truncated(tmp_path, "cut.safetensors", lambda p: safetensors.torch.save_file(source, str(p))):
            "not a readable",
        _truncated(tmp_path, "cut.pt", lambda p: torch.save(source, p)): "not a readable",
        pickled: "pickled .*Payload",
        _garbage(tmp_path): "not a .safetensors file or a torch checkpoint",
        wider: "shape mismatches",
        deeper: "unexpected keys",
    }
    for path, message in cases.items():
        with pytest.raises(Pain3DError, match=message) as err:
            build_model("student", TINY, SIZE, pretrained=path, **SMALL)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(pickle.UnpicklingError):  # what the error above protects from
        torch.load(pickled, weights_only=True)


def test_whole_model_checkpoints(tmp_path):
    model = build_model("student", TINY, SIZE, neutral_reference=True, **SMALL)
    path = tmp_path / "model.safetensors"
    safetensors.torch.save_file(model.state_dict(), str(path))
    again = build_model(**model.build_args)
    load_weights(again, path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert read_state_dict(path).keys() == model.state_dict().keys()
    with pytest.raises(Pain3DError, match=r"unexpected keys \(cross\."):
        load_weights(build_model("student", TINY, SIZE, neutral_reference=False, **SMALL), path)
    teacher = build_model("teacher", TINY, SIZE, "heatmap+rgb", neutral_reference=True, **SMALL)
    with pytest.raises(Pain3DError, match="shape mismatches.*patch_embed"):
        load_weights(teacher, path)

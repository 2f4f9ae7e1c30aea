"""The v4 model parts (LoRA, separate neutral encoder, cross-attention, AU-query head, multi-shot),
DINOv3 weights from local files, the vitpain_v4 preset and Pain-in-3D checkpoints.

Real timm, peft and torch on tiny models: DINOv3's architecture (timm's Eva) cut to one or two
blocks at 32x32 (4 patches), random weights.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import safetensors.torch
import timm
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from pain3d.errors import Pain3DError
from pain3d.facs import PAIN_THRESHOLDS, PSPI_AUS, PSPI_MAX
from pain3d.training.config import load_config
from pain3d.training.datasets import AU_KEYS
from pain3d.training.evaluate import predict_images
from pain3d.training.lora import merge_lora
from pain3d.training.losses import DISTILL_TERMS, distillation_loss, make_projector, task_loss
from pain3d.training.manifest_reader import Pain3DDataset
from pain3d.training.models import build_model, freeze
from pain3d.training.pain_in_3d import PRESET, load_pain_in_3d
from pain3d.training.threedpain_reader import ThreeDPainDataset
from pain3d.training.train import Trainee, make_optimizer
from tests.training.test_train import assert_one_line_error, cli, train_run, weights

DINO = "vit_small_patch16_dinov3"
SIZE = 32
TINY = dict(depth=2, embed_dim=64, num_heads=4)
V4_PARTS = dict(neutral_reference=True, neutral_encoder="separate", cross_heads=8, cross_norm="post",
                head="au_query", head_dropout=0.5, encoder_forward="pain_in_3d", lora_rank=4, lora_alpha=8)
LOSS = {"pspi": 1.0, "aus": 1.0, "pain": 0.5}


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def batch(tiny_pain3d: Path) -> dict:
    dataset = Pain3DDataset(tiny_pain3d, "train", image_size=SIZE, with_neutral=True)
    keys = ("image", "neutral_image", "heatmap", "pspi", "aus")
    return {k: torch.stack([dataset[i][k] for i in range(4)]) for k in keys}


def v4(**change) -> nn.Module:
    return build_model("baseline", DINO, SIZE, **{**V4_PARTS, **TINY, **change})


def encoder_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The backbones' own (non-adapter) weights, cloned."""
    return {k: v.clone() for k, v in model.state_dict().items() if "encoder" in k and ".lora_" not in k}


# --- LoRA ----------------------------------------------------------------------------------


def test_lora_trains_only_the_adapters_and_the_heads(batch):
    model = v4()
    frozen = encoder_weights(model)
    optimizer = make_optimizer(Trainee(model, nn.Identity()), {"weight_decay": 0.1, "lr": 1e-2,
                                                              "backbone_lr_scale": 0.1})
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert in_optimizer == {id(p) for p in model.parameters() if p.requires_grad}
    assert all(".lora_" in n for n in trainable if "encoder" in n)
    assert {n.split(".")[0] for n in trainable} == {"encoder", "neutral_encoder", "cross", "head"}
    scaled = {id(p) for g in optimizer.param_groups if g.get("lr_scale") == 0.1 for p in g["params"]}
    assert scaled == {id(p) for n, p in model.named_parameters() if p.requires_grad and "encoder" in n}
    model.train()
    for _ in range(3):
        loss, _ = task_loss(model(batch), batch, LOSS)
        loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        optimizer.step()
        optimizer.zero_grad()
    assert all(grads[n] is None for n in grads if n not in trainable)
    assert all(grads[n].abs().sum() > 0 for n in trainable if "lora_B" in n or n.startswith("head.pspi"))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in frozen.items())
    assert model.state_dict()["encoder.blocks.1.attn.qkv.lora_B.default.weight"].abs().sum() > 0


def test_merged_and_unmerged_lora_agree(batch):
    model = v4()
    with torch.no_grad():  # trained adapters: lora_B away from its zero start
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    model.eval()
    with torch.no_grad():
        before = model(batch)
        after = merge_lora(model)(batch)
    assert not torch.equal(before["pspi"], v4().eval()(batch)["pspi"])
    for key in ("pspi", "aus", "pain_logits", "tokens"):
        assert torch.allclose(before[key], after[key], atol=1e-5), key


def test_lora_on_a_plain_vit_with_full_fine_tuning_beside_it(batch):
    lora = build_model("baseline", "vit_tiny_patch16_224", SIZE, lora_rank=2, lora_targets=["qkv"], depth=2)
    full = build_model("baseline", "vit_tiny_patch16_224", SIZE, depth=2)
    adapted = [n for n, p in lora.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    assert adapted and all(".attn.qkv.lora_" in n for n in adapted)
    assert all(p.requires_grad for p in full.parameters())


def test_the_parts_compose_with_distillation(batch):
    teacher = freeze(build_model("teacher", "vit_tiny_patch16_224", SIZE, "heatmap+rgb", neutral_reference=True,
                                 depth=2))
    student = v4()
    projector = make_projector(student.embed_dim, teacher.embed_dim)
    with torch.no_grad():
        target = teacher(batch)
    loss, parts = distillation_loss(student(batch), target, dict.fromkeys(DISTILL_TERMS, 1.0), projector)
    loss.backward()
    assert all(parts[term] > 0 for term in DISTILL_TERMS)
    assert student.encoder.blocks[0].attn.qkv.lora_B.default.weight.grad.abs().sum() > 0


# --- the AU-query head, cross-attention, multi-shot ----------------------------------------


def test_au_query_head_shapes_and_ranges(batch):
    model = v4().eval()
    with torch.no_grad():
        out = model(batch)
        b = len(batch["image"])
        assert out["pspi"].shape == (b,) and out["aus"].shape == (b, len(PSPI_AUS))
        assert out["pain_logits"].shape == (b, len(PAIN_THRESHOLDS)) and (out["aus"] >= 0).all()
        for bias in (-50.0, 50.0):  # the PSPI is a sigmoid x 16: pinned at its ends, never beyond
            model.head.pspi[-1].bias.fill_(bias)
            assert torch.allclose(model(batch)["pspi"], torch.full((b,), 0.0 if bias < 0 else float(PSPI_MAX)))
        model.head.au_out.bias.fill_(10.0)  # every AU above the ReLU's floor
        before = model(batch)["aus"]
        model.head.queries[AU_KEYS.index("AU9")] += torch.randn(TINY["embed_dim"])  # each AU reads through its query
        changed = (model(batch)["aus"] != before).any(0)
    assert changed.tolist() == [k == "AU9" for k in AU_KEYS]


@pytest.mark.parametrize("head", ["au_query", "pooled"])
def test_the_summary_token_is_the_cls_token_or_the_patches_mean(head):
    """summary_token = "mean": the heads read the patch tokens' mean, and a changed CLS token changes nothing."""
    seq = torch.randn(3, 1 + 4, TINY["embed_dim"])  # a CLS token and 2 x 2 patch tokens
    other = seq.clone()
    other[:, 0] = torch.randn(3, TINY["embed_dim"])
    for token, cls_counts in (("cls", True), ("mean", False)):
        model = v4(summary_token=token, head=head, neutral_reference=False, neutral_encoder="shared").eval()
        with torch.no_grad():
            a, b = model._heads(seq), model._heads(other)
        assert (not torch.allclose(a["pspi"], b["pspi"])) == cls_counts
        assert (not torch.allclose(a["pain_logits"], b["pain_logits"])) == cls_counts


@pytest.mark.parametrize("parts", [dict(), dict(neutral_encoder="shared", cross_norm="pre", cross_heads=2,
                                                encoder_forward="timm", lora_rank=0)])
def test_cross_attention_reads_the_neutral_image(batch, parts):
    model = v4(**parts).eval()
    with torch.no_grad():
        out = model(batch)
        same = model({**batch, "neutral_image": batch["neutral_image"].clone()})
        other = model({**batch, "neutral_image": batch["neutral_image"].flip(0)})
    assert torch.equal(out["pspi"], same["pspi"]) and torch.equal(out["aus"], same["aus"])
    assert not torch.allclose(out["pspi"], other["pspi"]) and not torch.allclose(out["aus"], other["aus"])
    assert torch.equal(out["tokens"], other["tokens"])  # the pain image's own tokens do not see the neutral
    assert model.cross.attn.num_heads == parts.get("cross_heads", 8)


def test_multi_shot_is_the_mean_of_single_shots(batch):
    model = v4().eval()
    shots = torch.stack([batch["neutral_image"], batch["neutral_image"].flip(0), batch["image"].flip(-1)], dim=1)
    with torch.no_grad():
        multi = model({**batch, "neutral_image": shots})
        single = [model({**batch, "neutral_image": shots[:, k]}) for k in range(3)]
    for key in ("pspi", "aus", "pain_logits"):
        assert torch.allclose(multi[key], torch.stack([s[key] for s in single]).mean(0), atol=1e-5), key
    assert torch.equal(multi["tokens"], single[0]["tokens"])


def test_datasets_give_several_neutral_references(tiny_pain3d: Path, tiny_3dpain: Path):
    for dataset in (Pain3DDataset(tiny_pain3d, "test", image_size=SIZE, with_neutral=True),
                    ThreeDPainDataset(tiny_3dpain, "test", image_size=SIZE, with_neutral=True)):
        single = dataset[1]["neutral_image"]
        dataset.set_neutral_shots(2)
        item = dataset[1]
        assert item["neutral_image"].shape == (2, 3, SIZE, SIZE) and torch.equal(item["neutral_image"][0], single)
        assert not torch.equal(item["neutral_image"][1], single)  # the identity's neutral face at the other view
        with pytest.raises(Pain3DError, match=r"neutral shots = 3: invalid; allowed: 1\.\.2 \(") as err:
            dataset.set_neutral_shots(3)
        assert "\n" not in str(err.value)


# --- DINOv3 from local weights --------------------------------------------------------------


def _dino_checkpoint() -> dict[str, torch.Tensor]:
    return timm.create_model(DINO, pretrained=False, num_classes=0, img_size=SIZE, **TINY).state_dict()


def _meta_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's DINOv3 keys as Meta's own checkpoints name them (what timm's converter reads)."""
    names = {"reg_token": "storage_tokens", "gamma_1": "ls1.gamma", "gamma_2": "ls2.gamma"}
    out = {}
    for key, value in state.items():
        for timm_name, meta_name in names.items():
            key = key.replace(timm_name, meta_name)
        out[key] = value
    return out | {"mask_token": torch.zeros(1, TINY["embed_dim"]), "rope_embed.periods": torch.ones(8)}


@pytest.mark.parametrize("layout", ["timm safetensors", "Meta torch checkpoint"])
def test_dinov3_loads_local_weights(tmp_path: Path, layout: str):
    source = _dino_checkpoint()
    if layout == "timm safetensors":
        path = tmp_path / "dinov3.safetensors"
        safetensors.torch.save_file(source, str(path))
    else:
        path = tmp_path / "dinov3_vits16.pth"
        torch.save(_meta_layout(source), path)
    model = build_model("baseline", DINO, SIZE, pretrained=path, lora_rank=2, **TINY)
    own = model.encoder.state_dict()
    assert all(torch.equal(own[k.replace("qkv.", "qkv.base_layer.").replace("proj.", "proj.base_layer.")], v)
               for k, v in source.items())


# --- the preset and Pain-in-3D checkpoints --------------------------------------------------


def test_the_v4_preset_is_the_published_recipe():
    config = load_config(PRESET)
    m, optim = config["model"], config["optim"]
    assert m["backbone"].startswith("vit_large_patch16_dinov3") and m["image_size"] == 224
    assert (m["lora_rank"], m["lora_alpha"], m["lora_targets"]) == (8, 16, ["qkv", "proj"])
    assert (m["neutral_reference"], m["neutral_encoder"], m["cross_heads"]) == (True, "separate", 8)
    assert (m["head"], m["encoder_forward"], optim["backbone_lr_scale"]) == ("au_query", "pain_in_3d", 0.1)
    assert config["loss"]["regression"] == "mse"


def test_the_published_regression_losses(batch):
    out = {"pspi": batch["pspi"] + 4.0, "aus": batch["aus"] + 0.5, "pain_logits": torch.zeros(len(batch["pspi"]), 3)}
    _, published = task_loss(out, batch, {**LOSS, "regression": "mse"})
    _, ours = task_loss(out, batch, LOSS)
    assert published["pspi"] == pytest.approx((4 / PSPI_MAX) ** 2) and published["aus"] == pytest.approx(0.25)
    assert ours["pspi"] == pytest.approx(3.5) and ours["aus"] == pytest.approx(0.5)  # Huber (beta 1) and L1


def tiny_v4_config(folder: Path, **model) -> Path:
    """The vitpain_v4 preset on a 2-block small DINOv3 at 32 pixels, trained for 3 steps."""
    tables = tomllib.loads(PRESET.read_text())
    tables["model"] |= {"backbone": DINO, "image_size": SIZE, "depth": 2, **model}
    tables["data"] = {"workers": 0, "augment": False}
    tables["optim"] |= {"epochs": 1, "max_steps": 3, "batch_size": 8, "lr": 1e-2}
    tables["run"] |= {"log_every": 1, "tensorboard": False}
    path = folder / "v4.toml"
    path.write_text("\n".join(f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
                              for name, table in tables.items()))
    return path


def test_training_the_v4_preset_keeps_the_backbone(tiny_pain3d: Path, tmp_path: Path):
    source = timm.create_model(DINO, pretrained=False, num_classes=0, img_size=SIZE, depth=2).state_dict()
    safetensors.torch.save_file(source, str(tmp_path / "dinov3.safetensors"))
    config = tiny_v4_config(tmp_path, pretrained="dinov3.safetensors")
    run = train_run(tiny_pain3d, "baseline", config, tmp_path / "run")
    trained = weights(run)
    for prefix in ("encoder.", "neutral_encoder."):
        for key, value in source.items():
            ours = prefix + key.replace("qkv.", "qkv.base_layer.").replace("attn.proj.", "attn.proj.base_layer.")
            ours = ours.replace("patch_embed.proj.", "patch_embed.proj.base_layer.")
            assert torch.equal(trained[ours], value), ours
    assert trained["encoder.blocks.1.attn.qkv.lora_B.default.weight"].abs().sum() > 0
    assert json.loads((run / "config.json").read_text())["model"]["head"] == "au_query"


class TheirViTPain(nn.Module):
    """A random model with the released Pain-in-3D ViTPain's modules, names and forward (test reference)."""

    def __init__(self, dim: int = 384) -> None:
        super().__init__()
        lora = LoraConfig(r=8, lora_alpha=16, target_modules=["qkv", "proj"], lora_dropout=0.1)
        self.vit_model = get_peft_model(self._backbone(), lora)
        self.neutral_encoder = get_peft_model(self._backbone(), lora)
        self.neutral_cross_attn = nn.MultiheadAttention(dim, 8, batch_first=True)
        self.neutral_norm = nn.LayerNorm(dim)
        self.pspi_head = nn.Sequential(nn.LayerNorm(dim), nn.Dropout(), nn.Linear(dim, 512), nn.GELU(), nn.Dropout(),
                                       nn.Linear(512, 256), nn.GELU(), nn.Dropout(), nn.Linear(256, 128), nn.GELU(),
                                       nn.Dropout(), nn.Linear(128, 1))
        self.pspi_binary_heads = nn.ModuleDict({str(t): nn.Sequential(nn.LayerNorm(dim), nn.Dropout(),
                                                                      nn.Linear(dim, 1)) for t in (1, 2, 3)})
        self.au_shared_features = nn.Sequential(nn.LayerNorm(dim), nn.Dropout(), nn.Linear(dim, 512), nn.GELU(),
                                                nn.Dropout())
        self.au_queries = nn.Parameter(torch.randn(6, dim))
        self.au_head = nn.Linear(512, 1)
        with torch.no_grad():  # trained adapters and norms: nothing at its initial value
            for name, param in self.named_parameters():
                if "lora_B" in name or "norm" in name:
                    param.normal_(0.5 if name.endswith("weight") and "lora" not in name else 0.0, 0.1)
            self.au_head.bias.fill_(1.0)  # AU intensities above the ReLU's floor

    @staticmethod
    def _backbone() -> nn.Module:
        return timm.create_model(DINO, pretrained=False, num_classes=0, depth=2)

    @staticmethod
    def _tokens(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
        x = model.patch_embed(images).flatten(1, 2)  # DINOv3: no absolute position embedding
        x = torch.cat([model.cls_token.expand(len(x), -1, -1), x], dim=1)
        for block in model.blocks:
            x = block(x)
        return model.norm(x)

    def forward(self, images: torch.Tensor, neutral: torch.Tensor) -> dict[str, torch.Tensor]:
        pain, reference = self._tokens(self.vit_model, images), self._tokens(self.neutral_encoder, neutral)
        tokens = self.neutral_norm(pain + self.neutral_cross_attn(pain, reference, reference)[0])
        cls, patches = tokens[:, 0], tokens[:, 1:]
        weights = (self.au_queries @ patches.transpose(1, 2) / patches.shape[-1] ** 0.5).softmax(-1)
        aus = torch.relu(self.au_head(self.au_shared_features(weights @ patches)).squeeze(-1))
        logits = torch.stack([self.pspi_binary_heads[str(t)](cls).squeeze(-1) for t in (1, 2, 3)], dim=-1)
        return {"pspi": torch.sigmoid(self.pspi_head(cls).squeeze(-1)) * PSPI_MAX, "aus": aus, "pain_logits": logits}


@pytest.fixture(scope="module")
def theirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[TheirViTPain, Path, Path]:
    """Their model, its Lightning-style checkpoint (tensors and plain hyperparameters), and our tiny v4 config."""
    folder = tmp_path_factory.mktemp("pain_in_3d")
    torch.manual_seed(3)
    model = TheirViTPain().eval()
    path = folder / "vitpain-epoch=141-val_regression_mae=1.859.ckpt"
    hyper = {"model_name": "timm/" + DINO, "lora_rank": 8, "use_neutral_reference": True}
    torch.save({"epoch": 141, "global_step": 9000, "pytorch-lightning_version": "2.4.0",
                "state_dict": model.state_dict(), "hyper_parameters": hyper}, path)
    return model, path, tiny_v4_config(folder)


def test_a_pain_in_3d_checkpoint_loads_and_predicts_as_theirs(theirs, batch):
    model, path, config = theirs
    ours = load_pain_in_3d(path, config).eval()
    with torch.no_grad():
        expected = model(batch["image"], batch["neutral_image"])
        got = ours(batch)
    assert (expected["aus"] > 0).all()
    for key in ("pspi", "aus", "pain_logits"):
        assert torch.allclose(got[key], expected[key], atol=1e-5), key


def test_predict_and_eval_take_a_pain_in_3d_checkpoint(theirs, tiny_pain3d: Path, tmp_path: Path):
    _, path, config = theirs
    images = sorted((tiny_pain3d / "images").glob("*_p*.png"))[:2]
    neutrals = sorted((tiny_pain3d / "images").glob("*_neutral_*.png"))[:2]
    result = cli("predict", "--run", path, "--config", config, "--neutral", neutrals[0], *images)
    assert result.exit_code == 0, result.output + repr(result.exception)
    both = predict_images(path, images, neutrals, architecture=config)
    each = [predict_images(path, images, [n], architecture=config) for n in neutrals]
    assert [float(line.split("\t")[1]) for line in result.stdout.strip().splitlines()[1:]] == \
        pytest.approx([row["PSPI"] for row in each[0]], abs=1e-3)
    assert [r["PSPI"] for r in both] == pytest.approx([(a["PSPI"] + b["PSPI"]) / 2 for a, b in zip(*each)], abs=1e-5)
    result = cli("eval", "--run", path, "--config", config, "--data", tiny_pain3d, "--neutral-shots", "2",
                 "--bootstrap", "10", "--workers", "0", "--out", tmp_path / "eval")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert json.loads((tmp_path / "eval" / "report.json").read_text())["n_images"] > 0


def test_foreign_checkpoints_that_do_not_fit_are_one_line_errors(theirs, tiny_pain3d: Path, tmp_path: Path):
    _, path, config = theirs
    image = next((tiny_pain3d / "images").glob("*.png"))
    pooled = tiny_v4_config(tmp_path, head="pooled")
    assert_one_line_error(cli("predict", "--run", path, "--config", pooled, "--neutral", image, image),
                          "does not fit the architecture of v4.toml", "missing keys (head.")
    timm_file = tmp_path / "backbone.safetensors"
    safetensors.torch.save_file(_dino_checkpoint(), str(timm_file))
    assert_one_line_error(cli("predict", "--run", timm_file, image), "neither a model of pain3d train nor a Pain-in-3D")


# --- settings -----------------------------------------------------------------------------


def test_bad_part_settings_are_one_line_errors(tmp_path: Path):
    configs = {'head = "mlp"': 'model.head = "mlp": invalid; allowed: one of "pooled", "au_query"',
               'lora_targets = "qkv"': "model.lora_targets = 'qkv': invalid; allowed: a list of",
               "lora_rank = -1": "model.lora_rank = -1: out of range; allowed: integer 0..1024",
               'cross_norm = "mid"': 'model.cross_norm = "mid": invalid'}
    for line, message in configs.items():
        (tmp_path / "bad.toml").write_text(f"[model]\n{line}\n")
        with pytest.raises(Pain3DError, match=message.replace("(", r"\(").replace(".", r"\.")) as err:
            load_config(tmp_path / "bad.toml")
        assert "\n" not in str(err.value)
    models = {"cross_heads": (dict(cross_heads=5), "model.cross_heads = 5: invalid; allowed: a divisor of"),
              "lora_targets": (dict(lora_targets=["norm1"]), "model.lora_targets = ['norm1']: not linear"),
              "neutral_encoder": (dict(neutral_reference=False), 'model.neutral_encoder = "separate": there is no')}
    for change, message in models.values():
        with pytest.raises(Pain3DError, match=message.replace("[", r"\[").replace(".", r"\.")):
            v4(**change)


def test_neutral_shots_need_a_neutral_reference_model(tiny_pain3d: Path, tmp_path: Path):
    config = tiny_v4_config(tmp_path, neutral_reference=False, neutral_encoder="shared")
    run = train_run(tiny_pain3d, "baseline", config, tmp_path / "run", "--max-steps", "1")
    assert_one_line_error(cli("eval", "--run", run, "--data", tiny_pain3d, "--neutral-shots", "2"),
                          "--neutral-shots 2:", "has no neutral reference; allowed: 1")

"""texturing.procedural: seeded, pure-numpy skin and eye textures (docs/texturing.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pain3d import raster
from pain3d.colour import LUMA
from pain3d.head import head_from_spec as build_head, sample_spec
from pain3d.identity import SUB_IRIS, color_attributes, iris_colour
from pain3d.sampling import derive_seed
from pain3d.texturing.look import SUB_NOISE, draw_look, stream
from pain3d.texturing.noise import Noise, skin_noise
from pain3d.texturing.procedural import ALBEDO_RANGE, ROUGHNESS_RANGE, TEXTURE_STREAM, procedural_textures
from pain3d.texturing.surface import Surface
from pain3d.texturing.wrinkles import height

SIZE = 256


@pytest.fixture(scope="module")
def head():
    return build_head(sample_spec(35, "female", "East Asian", 3))


def record(seed: int = 11, age: float = 30.0, sex: str = "female", ethnicity: str = "East Asian",
           skin_tone: float = 2.0, **more) -> dict:
    return {"index": 0, "seed": seed, "head_seed": seed, "age": age, "sex": sex, "ethnicity": ethnicity,
            "skin_tone": skin_tone, **more}


def masks(head, size: int, **values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-vertex weights drawn in the skin's UV layout (the layout's region masks)."""
    return raster.uv_vertex_maps(head, size, values)


def test_same_seed_same_maps_other_seed_other_maps(head):
    a, b = procedural_textures(head, record(), SIZE), procedural_textures(head, record(), SIZE)
    for name in ("albedo", "roughness", "normal", "eyes"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.params == b.params
    other = procedural_textures(head, record(seed=12), SIZE)
    assert not np.array_equal(a.albedo, other.albedo) and not np.array_equal(a.normal, other.normal)


def test_maps_have_the_documented_shapes_and_params(head):
    maps = procedural_textures(head, record(), SIZE)
    assert maps.albedo.shape == (SIZE, SIZE, 3) and maps.albedo.dtype == np.float32
    assert maps.roughness.shape == (SIZE, SIZE) and maps.normal.shape == (SIZE, SIZE, 3)
    assert maps.eyes.ndim == 3 and maps.eyes.shape[2] == 3
    params = json.loads(json.dumps(maps.params))  # JSON-serialisable as it is
    assert params["seed"] == derive_seed(11, TEXTURE_STREAM) and params["skin_tone"] == 2.0
    assert "Monk" in params["scale"]
    assert tuple(params["iris_rgb"]) == iris_colour("East Asian", derive_seed(11, SUB_IRIS))  # the farm's iris


def test_monk_tones_order_the_cheeks_by_luminance(head):
    cheeks = masks(head, SIZE, cheeks=head.regions["cheek_L"] + head.regions["cheek_R"])["cheeks"] > 0.5
    means = [float((procedural_textures(head, record(skin_tone=t), SIZE).albedo[cheeks] @ LUMA).mean())
             for t in (1, 3, 5, 7, 10)]
    assert all(a > b for a, b in zip(means, means[1:])), means


@pytest.mark.parametrize("case", [dict(skin_tone=1.0), dict(skin_tone=10.0, ethnicity="Black"),
                                  dict(skin_tone=4.0, age=82.0, sex="male", ethnicity="White")])
def test_every_texel_within_the_documented_range(head, case):
    maps = procedural_textures(head, record(**case), SIZE, stubble_rate=1.0)
    lo, hi = ALBEDO_RANGE
    for image in (maps.albedo, maps.eyes):
        assert np.isfinite(image).all() and image.min() >= lo and image.max() <= hi
        assert ((image <= lo) | (image >= hi)).mean() < 0.001  # a soft roll-off, not a clamp
    assert maps.roughness.min() >= ROUGHNESS_RANGE[0] and maps.roughness.max() <= ROUGHNESS_RANGE[1]
    assert np.allclose(np.linalg.norm(maps.normal, axis=2), 1.0, atol=1e-5) and (maps.normal[..., 2] > 0).all()


def test_lip_colour_lies_on_the_vermilion(head):
    maps = procedural_textures(head, record(), SIZE)
    vermilion = masks(head, SIZE, lips=color_attributes(head)["regions"][:, 0])["lips"]
    covered = raster.skin_uv_raster(head, SIZE)[0].covered
    redness = maps.albedo[..., 0] / maps.albedo[..., 1]
    lip_coloured = covered & (redness > 1.5 * np.median(redness[covered]))
    assert lip_coloured.sum() > 200
    assert (vermilion[lip_coloured] > 0.05).mean() > 0.99
    assert lip_coloured[vermilion > 0.9].mean() > 0.95


def test_lips_are_redder_against_the_skin_in_women_and_the_young(head):
    """The vermilion's redness (R / G) over the cheek's: a young woman's most, a young man's less,
    an old man's least (docs/texturing.md, "Lips")."""
    from pain3d.skin import LIP_AGE_LOSS, LIP_MALE_LOSS

    drawn = masks(head, SIZE, lips=color_attributes(head)["regions"][:, 0],
                  cheeks=head.regions["cheek_L"] + head.regions["cheek_R"])
    lips, cheeks = drawn["lips"] > 0.9, drawn["cheeks"] > 0.5

    def contrast(**who) -> float:
        albedo = procedural_textures(head, record(**who), SIZE).albedo
        redness = np.log(albedo[..., 0] / albedo[..., 1])
        return float(redness[lips].mean() - redness[cheeks].mean())

    woman, man, old_man = contrast(), contrast(sex="male"), contrast(sex="male", age=75.0)
    assert woman > 0.3 and old_man < man < woman, (woman, man, old_man)
    assert man / woman < 1.0 - 0.5 * LIP_MALE_LOSS and old_man / man < 1.0 - 0.5 * LIP_AGE_LOSS


def test_brow_hairs_lie_in_the_brow_band(head):
    maps = procedural_textures(head, record(), SIZE)  # East Asian: dark hair on light (MST 2) skin
    r = head.regions
    drawn = masks(head, SIZE, brows=color_attributes(head)["regions"][:, 1],
                  lids=sum(r[f"{p}_eyelid_{s}"] for p in ("upper", "lower") for s in "LR"))
    covered = raster.skin_uv_raster(head, SIZE)[0].covered
    luma = maps.albedo @ LUMA
    skin = np.median(luma[covered])
    hair = covered & (luma < 0.5 * skin) & (drawn["lids"] == 0)  # lashes grow on the lids
    assert hair.sum() > 100
    assert (drawn["brows"][hair] > 0).mean() > 0.95
    assert luma[drawn["brows"] > 0.8].mean() < 0.75 * skin  # and the band is filled with hair


def test_iris_and_pupil_lie_in_their_eyeball_groups(head):
    maps = procedural_textures(head, record(ethnicity="White", seed=5), SIZE)
    size = maps.eyes.shape[0]

    def group(part: str) -> np.ndarray:
        tris = raster.corner_triangles(head, (part,))
        return raster.rasterize(raster.uv_pixels(head.corner_uv, size), tris, size, size).covered

    iris, pupil = group("eye_L_iris"), group("eye_L_pupil")
    luma = maps.eyes @ LUMA
    sclera = np.median(luma[~(iris | pupil)])
    dark = luma < 0.5 * sclera
    assert dark[iris].mean() > 0.99 and (luma[pupil] < 0.02).mean() > 0.9
    assert (iris | pupil)[dark].mean() > 0.98  # the polygonal groups cut a little off the painted disc
    assert group("eye_R_iris").sum() == iris.sum()  # both eyes share one layout


def test_stubble_only_on_males(head):
    chin = masks(head, SIZE, chin=head.regions["chin"])["chin"] > 0.5
    forehead = masks(head, SIZE, forehead=head.regions["forehead"])["forehead"] > 0.5
    female = [procedural_textures(head, record(), SIZE, stubble_rate=rate) for rate in (0.0, 1.0)]
    assert not female[1].params["stubble"] and np.array_equal(female[0].albedo, female[1].albedo)
    male = [procedural_textures(head, record(sex="male"), SIZE, stubble_rate=rate) for rate in (0.0, 1.0)]
    assert [m.params["stubble"] for m in male] == [False, True]
    bare, shaved = (m.albedo @ LUMA for m in male)
    assert shaved[chin].mean() < 0.9 * bare[chin].mean()
    assert np.array_equal(shaved[forehead], bare[forehead])


def test_a_clean_shaven_man_shows_his_beard_roots(head):
    """No stubble drawn, a man's beard zone is still darker than a woman's of the same draws, the more so the denser his beard grows; his forehead is not; grey roots barely shade."""
    from pain3d.hair import draw_hair

    chin = masks(head, SIZE, chin=head.regions["chin"])["chin"] > 0.5
    forehead = masks(head, SIZE, forehead=head.regions["forehead"])["forehead"] > 0.5
    hair = draw_hair({"age": 30, "sex": "male", "ethnicity": "White"}, {"beard": "none"}, 5)
    dark = dict(hair, melanin=0.9, grey=0.0)
    maps = {name: procedural_textures(head, record(sex=sex, hair=dict(dark, **change)), SIZE, stubble_rate=0.0)
            for name, sex, change in (("woman", "female", {"beard_growth": 0.0}), ("man", "male", {}),
                                      ("sparse", "male", {"beard_growth": 0.5}), ("grey", "male", {"grey": 1.0}))}
    assert not maps["man"].params["stubble"] and maps["man"].params["beard_growth"] == hair["beard_growth"] == 1.0
    luma = {name: m.albedo @ LUMA for name, m in maps.items()}
    woman, man, sparse, grey = (luma[n][chin].mean() for n in ("woman", "man", "sparse", "grey"))
    assert man < 0.88 * woman and man < sparse < woman and grey > 0.97 * woman, (man, sparse, grey, woman)
    assert np.allclose(luma["man"][forehead].mean(), luma["woman"][forehead].mean(), rtol=0.01)


def test_wrinkles_deepen_with_age(head):
    regions = masks(head, 512, forehead=head.regions["forehead"],
                    crows=color_attributes(head)["wrinkles"][:, 2])
    energy = {}
    for age in (25.0, 75.0):
        normal = procedural_textures(head, record(age=age), 512).normal
        tilt = (normal[..., :2] ** 2).sum(2)
        energy[age] = [tilt[regions[name] > 0.5].mean() for name in ("forehead", "crows")]
    assert all(old > 2.0 * young for young, old in zip(energy[25.0], energy[75.0])), energy


def test_scalp_hair_darkens_the_scalp_skin_where_it_grows(head):
    """Under a buzz cut the skin of the scalp takes the hair's colour (an even dark cap, no bright
    skin sparkling between strands too fine to render), the forehead below the hairline keeps its
    own; a headscarf over the hair leaves the scalp as bare as no hair does."""
    from pain3d.hair import draw_hair
    from pain3d.hair.scalp import Scalp
    from pain3d.head.topology import PART_ID

    hair = draw_hair({"age": 30, "sex": "female", "ethnicity": "East Asian"}, {"style": "buzz"}, 5)
    growth = Scalp(head, hair, hair["seed"]).density(head.vertices) * (head.vertex_part == PART_ID["skin"])
    drawn = masks(head, SIZE, scalp=growth, forehead=head.regions["forehead"])
    scalp, forehead = drawn["scalp"] > 0.9, (drawn["forehead"] > 0.5) & (drawn["scalp"] < 0.01)
    with_hair = dict(record(), hair=hair)
    bald = dict(with_hair, hair=dict(hair, density=0.0))
    scarf = dict(with_hair, clothing={"garment": "headscarf", "under": "crew_tshirt"})
    buzz, bare, covered = (procedural_textures(head, r, SIZE).albedo @ LUMA for r in (with_hair, bald, scarf))
    assert scalp.sum() > 500 and buzz[scalp].mean() < 0.6 * bare[scalp].mean()
    assert np.array_equal(covered, bare)
    assert abs(buzz[forehead].mean() - bare[forehead].mean()) < 0.01


def test_the_upper_lid_folds_above_the_pretarsal_skin(head):
    """Open eyes show a strip of pretarsal skin under the upper lid's fold: a crease about 2-3 mm
    above the lash line's skin edge in young women, lower with age (Cartwright et al. 1994), and
    none on the half of East Asian lids that are single (Chen). The lid was smooth from the lashes
    to the brow."""
    surface = Surface(head, 512)
    lid = (surface.fields["upper_lid"] > 0.9) & (surface.fields["above_margin"] > 0.001)

    def groove_at(age, group, seed):
        tseed = derive_seed(seed, TEXTURE_STREAM)
        look = draw_look(record(seed=seed, age=age, ethnicity=group), tseed, 0.4)
        flat = height(surface, dict(look, lid_fold_depth_mm=0.0), skin_noise(surface, Noise(stream(tseed, SUB_NOISE))), tseed)
        h = height(surface, look, skin_noise(surface, Noise(stream(tseed, SUB_NOISE))), tseed) - flat
        above = (surface.fields["above_margin"][lid] - 0.001) * 1000.0
        return look, above[np.argmin(h[lid])], h[lid].min()

    young = [groove_at(25.0, "White", seed) for seed in range(3)]
    old = [groove_at(75.0, "White", seed) for seed in range(3)]
    for look, at, depth in young + old:
        assert abs(at - look["lid_fold_mm"]) < 0.6 and depth < -0.2e-3, (at, look["lid_fold_mm"], depth)
    assert all(1.9 < look["lid_fold_mm"] < 3.4 for look, _, _ in young)
    assert np.mean([at for _, at, _ in old]) < np.mean([at for _, at, _ in young]) - 0.8
    asian = [draw_look(record(seed=s, ethnicity="East Asian"), derive_seed(s, TEXTURE_STREAM), 0.4) for s in range(40)]
    single = np.mean([look["lid_fold_depth_mm"] == 0.0 for look in asian])
    assert 0.3 < single < 0.7 and all(look["lid_fold_mm"] < 2.0 for look in asian)


def _forehead_line_count(surface, age: float, seed: int) -> int:
    """Grooves met going up the forehead 8-20 mm beside the midline (the deepest texel per 0.5 mm
    of height, so a line broken into segments still counts once), deeper than a quarter of the
    deepest and 3 mm or more apart."""
    tseed = derive_seed(seed, TEXTURE_STREAM)
    look = draw_look(record(seed=seed, age=age), tseed, 0.4)
    h = height(surface, look, skin_noise(surface, Noise(stream(tseed, SUB_NOISE))), tseed)
    strip = (surface.fields["forehead"] > 0.5) & (np.abs(surface.x) > 0.008) & (np.abs(surface.x) < 0.020)
    z, depth = surface.z[strip], h[strip]
    row = np.digitize(z, np.arange(z.min(), z.max(), 0.0005))
    profile = np.array([depth[row == i].min() for i in np.unique(row)])
    return sum(1 for i, d in enumerate(profile)
               if d < 0.25 * profile.min() and d == profile[max(0, i - 6):i + 7].min())


def test_forehead_lines_are_a_few_creases_not_a_ruled_pattern(head):
    """Forehead lines are a few distinct creases of unequal depth and length, more with age: 2-5
    at 30, 3-6 at 75 over five seeds. They were once ruled every 8.5-12 mm over the whole forehead
    (6-8 lines at 30), which read as a ribbed texture at 512 px."""
    surface = Surface(head, 512)
    young = [_forehead_line_count(surface, 30.0, seed) for seed in range(11, 16)]
    old = [_forehead_line_count(surface, 75.0, seed) for seed in range(11, 16)]
    assert all(2 <= n <= 5 for n in young) and all(3 <= n <= 6 for n in old), (young, old)
    assert np.mean(old) > np.mean(young)

"""Hair in the pure core: the priors' frequencies, the job's [hair] table, and strands that grow
where hair grows and stay outside the head (numpy only; Blender's side is tests/blender/test_hair.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pain3d.errors import Pain3DError
from pain3d.hair import NO_BEARD, beard_names, draw_hair, grow_groom, load_priors, style_names, styles
from pain3d.hair.face_hair import LASH_RING, beard_zone, grow_beard, grow_brows, grow_lashes, lash_line
from pain3d.hair.priors import colour_weights, style_weights
from pain3d.hair.scalp import Scalp
from pain3d.hair.scalp_groom import grow_scalp
from pain3d.hair import surface as hair_surface
from pain3d.hair.surface import HeadVolume, SkinSurface
from pain3d.head.surface import figure_field, head_field
from pain3d.identity import neutral_head
from pain3d.jobs import resolve_job
from pain3d.plan import make_plan

# Three heads of different shape: a young East Asian woman, an older Black man, a White man.
HEADS = [(24.0, "female", "East Asian", 1), (68.0, "male", "Black", 2), (45.0, "male", "White", 3)]


@pytest.fixture(scope="module")
def heads():
    out = []
    for age, sex, group, seed in HEADS:
        head = neutral_head(age, sex, group, seed)
        out.append((head, SkinSurface(head), HeadVolume(head), {"age": age, "sex": sex, "ethnicity": group}))
    return out


def record_for(who: dict, seed: int, **fixed) -> dict:
    record = draw_hair(who, {"style": fixed.get("style", "")}, seed)
    record.update({"loss_pattern": "none", "loss_stage": 0}, **fixed)
    return record


def check_strands(strands, surface: SkinSurface, head, where: str) -> None:
    """Roots on the skin triangles they name, every other point outside the skin."""
    assert len(strands) > 0, where
    on_skin = surface.positions(strands.roots.triangle, strands.roots.bary)
    assert np.allclose(strands.points[:, 0], on_skin, atol=1e-6), where
    assert np.all(strands.roots.triangle < len(surface.area)), where
    body = strands.points[:, 1:].reshape(-1, 3).astype(float)
    depth = head_field(body, head.params)
    assert depth.min() > -2e-4, f"{where}: a strand point {-depth.min() * 1000:.2f} mm inside the head"
    assert np.all(np.isfinite(strands.points)) and np.all(strands.radius > 0), where


def test_the_volume_follows_the_exact_field_near_the_skin(heads):
    """The grid (exact samples, computed where strands ask) interpolates the exact field: at points
    from just inside the skin to 3 cm out, shoulders included, within 6 mm of the skin 99 % of its
    distances lie within 1 mm of the exact field and its gradient points along the exact one; inside
    where the field says inside."""
    rng = np.random.default_rng(0)
    for head, surface, volume, _ in heads:
        roots = surface.sample(np.ones(len(surface.area)), 4000, rng)
        points = roots.position + rng.uniform(-0.004, 0.03, len(roots))[:, None] * roots.normal
        exact, (grid, gradient) = figure_field(points, head.params), volume.field(points)
        near = np.abs(exact) < 0.006
        assert np.mean(np.abs(grid - exact)[near] < 1e-3) > 0.99
        assert np.median(np.abs(grid - exact)[near]) < 2e-5
        slope = np.stack([figure_field(points + e, head.params) - figure_field(points - e, head.params)
                          for e in np.eye(3) * 1e-4], axis=1)
        cos = (gradient * slope).sum(1) / np.linalg.norm(slope, axis=1)
        assert np.mean(cos[near] > np.cos(np.radians(10))) > 0.95
        clear = np.abs(exact) > 3e-3
        assert np.all(np.sign(grid[clear]) == np.sign(exact[clear]))


@pytest.mark.parametrize("style", style_names())
def test_every_scalp_style_grows_on_the_scalp_and_stays_outside_the_head(heads, style):
    for k, (head, surface, volume, who) in enumerate(heads):
        record = record_for(who, 40 + k, style=style)
        strands = grow_scalp(head, record, surface, volume, np.random.default_rng(k), detail=0.25)
        check_strands(strands, surface, head, f"{style} on head {k}")
        growth = Scalp(head, record, record["seed"]).growth(strands.roots.position)
        assert np.mean(growth > 0.05) > 0.99, f"{style}: roots off the scalp"
        look = styles().scalp[style]
        if not (look.curl_mm[0] or look.wave_mm[0] or look.frizz_mm > 1):  # curls add to the path
            length = np.linalg.norm(np.diff(strands.points, axis=1), axis=2).sum(1)
            assert np.median(length) <= record["length_cm"] / 100 * 1.15, style


@pytest.mark.parametrize("beard", [b for b in beard_names() if b != NO_BEARD])
def test_every_beard_grows_in_its_zone_and_stays_outside_the_head(heads, beard):
    for k, (head, surface, volume, who) in enumerate(heads):
        length = float(np.mean(styles().beards[beard].length_mm))
        record = record_for(who, 60 + k, beard=beard, beard_length_mm=length, beard_density=1.0)
        strands = grow_beard(head, record, surface, volume, np.random.default_rng(k))
        check_strands(strands, surface, head, f"{beard} on head {k}")
        zone = beard_zone(head, surface.centroid[strands.roots.triangle], styles().beards[beard].zone)
        assert zone.min() > 0, beard
        assert np.all(strands.roots.position[:, 2] < head.landmarks68[36:48, 2].min() - 0.008), f"{beard}: up to the eyes"
        patch = head.topology.mouth_patch
        vermilion = np.isin(surface.vertex_ids[strands.roots.triangle], patch.rings[: head.topology.mouth_lip_rings])
        assert not vermilion.all(axis=1).any(), f"{beard}: roots on the lips"


def test_brows_grow_along_the_brows_and_lashes_on_the_lid_margins(heads):
    for k, (head, surface, volume, who) in enumerate(heads):
        record = record_for(who, 80 + k)
        brows = grow_brows(head, record, surface, volume, np.random.default_rng(k))
        lashes = grow_lashes(head, record, surface, volume, np.random.default_rng(k))
        check_strands(brows, surface, head, "brows")
        check_strands(lashes, surface, head, "lashes")
        brow_points = head.landmarks68[17:27]
        gap = np.min(np.linalg.norm(brows.roots.position[:, None] - brow_points[None], axis=2), axis=1)
        assert np.percentile(gap, 95) < 0.012
        margins = head.vertices[np.concatenate([p.rings[LASH_RING] for p in head.topology.eye_patches.values()])]
        gap = np.min(np.linalg.norm(lashes.roots.position[:, None] - margins[None], axis=2), axis=1)
        assert gap.max() < 0.003
        upper = lashes.roots.position[:, 2] > head.landmarks["eye_centre_L"][2]
        assert 0.55 < upper.mean() < 0.8  # upper lashes outnumber the lower ones
        rise = lashes.points[:, -1, 2] - lashes.points[:, 0, 2]
        ahead = lashes.points[:, 0, 1] - lashes.points[:, -1, 1]
        assert np.mean(rise[upper] > 0) > 0.9  # upper lashes curve up, away from the eye
        assert np.mean(ahead[~upper] > 0.001) > 0.9  # lower ones stand forward off the lid
        base, tip = np.diff(lashes.points[upper][:, [0, 1, -2, -1]], axis=1)[:, [0, 2]].transpose(1, 0, 2)
        take_off = np.degrees(np.arctan2(base[:, 2], -base[:, 1]))
        tip_angle = np.degrees(np.arctan2(tip[:, 2], -tip[:, 1]))
        assert np.median(take_off) < 30, "upper lashes leave the lid forward, toward the camera"
        assert np.median(tip_angle - take_off) > 20, "and curl up toward the tip"


def test_a_womans_brow_hair_arches_higher_over_its_landmarks_than_a_mans(heads):
    """The brow landmarks are fixed vertices placed on the template's arch; the hair follows the
    identity's own (`HeadParams.brow_arch`): over the peak (iBUG 19, 24) a woman's brow hair
    rises above where a man's lies, against their own landmarks. Three draws of the roots: one
    draw's top decile moves by a few tenths of a millimetre with the sampling alone."""
    rise = {}
    for draw in range(3):
        for k, (head, surface, volume, who) in enumerate(heads[:2]):
            rng = np.random.default_rng(k + 10 * draw)
            roots = grow_brows(head, record_for(who, 40 + k), surface, volume, rng).roots.position
            for peak in (19, 24):
                near = np.abs(roots[:, 0] - head.landmarks68[peak][0]) < 0.004
                rise.setdefault(who["sex"], []).append(np.percentile(roots[near, 2], 90) - head.landmarks68[peak][2])
    assert np.mean(rise["female"]) > np.mean(rise["male"]) + 0.001, rise


def test_the_lash_line_darkens_the_lid_margins_the_upper_more(heads):
    """The lash line (`lash_line`): the lid margins' loops take the hair's colour, the upper lid
    about three times the lower one, nothing away from the eyes; sparser lashes a fainter line."""
    for head, _, _, who in heads:
        record = record_for(who, 3)
        line = lash_line(head, record)
        margins = np.concatenate([p.rings[2:5].ravel() for p in head.topology.eye_patches.values()])
        assert np.all(line[np.setdiff1d(np.arange(len(line)), margins)] == 0)
        upper_lid = margins[head.vertices[margins, 2] > head.landmarks["eye_centre_L"][2] + 0.002]
        lower_lid = margins[head.vertices[margins, 2] < head.landmarks["eye_centre_L"][2] - 0.002]
        assert line[upper_lid].max() > 0.5
        assert 2.0 < line[upper_lid].mean() / line[lower_lid].mean() < 4.5
        sparse = lash_line(head, {**record, "lash_density": 0.5 * record["lash_density"]})
        assert sparse.max() < 0.75 * line.max()


def test_the_same_record_grows_the_same_strands_and_another_seed_others(heads):
    head, _, _, who = heads[0]
    record = record_for(who, 5, style="curly_medium")
    a, b = grow_groom(head, record, detail=0.25), grow_groom(head, dict(record), detail=0.25)
    for kind in a.sets:
        assert np.array_equal(a.sets[kind].points, b.sets[kind].points), kind
    other = grow_groom(head, {**record, "seed": 6}, detail=0.25)
    assert not np.array_equal(other.sets["scalp"].points[:50], a.sets["scalp"].points[:50])


def test_pattern_loss_bares_the_top(heads):
    head, surface, volume, who = heads[2]
    top = lambda strands: int(np.sum(strands.roots.position[:, 2] > 0.09))  # noqa: E731
    counts = {}
    for pattern, stage in (("none", 1), ("male", 3), ("male", 5), ("male", 7)):
        record = record_for(who, 9, style="crew_cut", loss_pattern=pattern, loss_stage=stage)
        counts[stage] = top(grow_scalp(head, record, surface, volume, np.random.default_rng(0), detail=0.25))
    assert counts[1] > counts[3] > counts[5] > counts[7] == 0
    woman = record_for(who, 9, style="crew_cut", loss_pattern="female", loss_stage=3)
    assert top(grow_scalp(head, woman, surface, volume, np.random.default_rng(0), detail=0.25)) < 0.6 * counts[1]


def test_hair_grows_close_behind_the_ear_down_to_the_lobe(heads):
    """Behind the auricle the hairline drops to about the earlobe's level within a centimetre or two
    of the ear: the scalp 35-50 mm behind the tragus, at its height, grows hair. It kept to the
    ear's top for 30 degrees behind the ear, a bare band that showed wherever hair is pulled back."""
    for head, _surface, _volume, who in heads:
        tragus = head.landmarks["tragus_L"]
        behind = tragus + np.outer(np.linspace(0.035, 0.050, 4), [0.0, 1.0, 0.0])
        growth = Scalp(head, record_for(who, 9), 9).growth(behind)
        assert growth.min() > 0.9, (who, growth.round(2))


def test_detail_thins_the_scalp_into_fewer_wider_strands(heads):
    head, surface, volume, who = heads[0]
    record = record_for(who, 3, style="long_straight")
    full = grow_scalp(head, record, surface, volume, np.random.default_rng(0), detail=1.0)
    half = grow_scalp(head, record, surface, volume, np.random.default_rng(0), detail=0.5)
    assert 0.45 < len(half) / len(full) < 0.55
    assert half.radius[0, 0] == pytest.approx(full.radius[0, 0] * 2, rel=1e-5)  # the same cover


def test_the_volume_asks_the_exact_field_only_where_strands_go(heads, monkeypatch):
    """The grid fills in where strands go: long hair asks the exact field at a few percent of its
    samples, brows and lashes alone (a bald head) at a fraction of a percent."""
    head, _, _, who = heads[1]
    asked = []
    monkeypatch.setattr(hair_surface, "figure_field", lambda p, params: asked.append(len(p)) or figure_field(p, params))
    samples = np.prod(HeadVolume(head).shape)
    grow_groom(head, record_for(who, 4, style="long_wavy"), detail=0.25)
    assert 0 < sum(asked) < 0.1 * samples
    asked.clear()
    grow_groom(head, record_for(who, 4), kinds=("brows", "lashes"))
    assert 0 < sum(asked) < 0.01 * samples


CELLS = [("female", "Black", 25.0), ("male", "East Asian", 30.0), ("female", "White", 70.0), ("male", "Indian", 50.0)]


@pytest.mark.parametrize("sex, group, age", CELLS)
def test_style_and_colour_frequencies_follow_the_tables(sex, group, age):
    priors = load_priors()
    g = priors["groups"].index(group)
    n = 2000
    records = [draw_hair({"age": age, "sex": sex, "ethnicity": group}, {}, seed) for seed in range(n)]
    male_loss = Counter(r["loss_stage"] for r in records)
    expected = Counter()  # the style mixture over the loss stages actually drawn
    for stage, count in male_loss.items():
        weights = style_weights(priors, sex, age, g, stage if sex == "male" else 0)
        total = sum(weights.values())
        for style, w in weights.items():
            expected[style] += count * w / total
    seen = Counter(r["style"] for r in records)
    for style in style_names():
        assert abs(seen[style] - expected[style]) / n < 0.03, (style, seen[style], expected[style])
    shades = colour_weights(priors, g)
    total = sum(shades.values())
    seen = Counter(r["shade"] for r in records)
    for shade, w in shades.items():
        assert abs(seen[shade] / n - w / total) < 0.03, (shade, seen[shade])
    if sex == "female":
        assert all(r["beard"] == NO_BEARD for r in records)


def test_greying_and_loss_rise_with_age():
    young = [draw_hair({"age": 22, "sex": "male", "ethnicity": "White"}, {}, s) for s in range(600)]
    old = [draw_hair({"age": 75, "sex": "male", "ethnicity": "White"}, {}, s) for s in range(600)]
    assert np.mean([r["grey"] for r in young]) < 0.02 < 0.6 < np.mean([r["grey"] for r in old])
    assert np.mean([r["loss_stage"] >= 3 for r in young]) < 0.12 < 0.5 < np.mean([r["loss_stage"] >= 3 for r in old])


def test_every_man_records_his_groups_beard_growth_shaved_or_not():
    priors = load_priors()
    for group in ("White", "East Asian"):
        density = priors["beard"]["density"][priors["groups"].index(group)]
        men = [draw_hair({"age": 40, "sex": "male", "ethnicity": group}, {}, s) for s in range(40)]
        assert {r["beard_growth"] for r in men} == {density}
        assert any(r["beard"] == NO_BEARD for r in men) and any(r["beard"] != NO_BEARD for r in men)
        women = [draw_hair({"age": 40, "sex": "female", "ethnicity": group}, {}, s) for s in range(10)]
        assert {r["beard_growth"] for r in women} == {0.0}


def test_the_job_hair_table_drives_the_plan():
    plan = make_plan(resolve_job({"identities": {"count": 40}, "hair": {"style": "locs", "beard_rate": 1.0}}))
    hair = [i["hair"] for i in plan["identities"]]
    assert {h["style"] for h in hair} == {"locs"}
    assert all((h["beard"] != NO_BEARD) == (i["sex"] == "male") for h, i in zip(hair, plan["identities"]))
    off = make_plan(resolve_job({"identities": {"count": 3}, "hair": {"enabled": False}}))
    assert all("hair" not in i for i in off["identities"])
    bald = make_plan(resolve_job({"identities": {"count": 60}, "hair": {"bald_rate": 1.0}}))
    assert all(i["hair"]["loss_stage"] >= 6 for i in bald["identities"] if i["sex"] == "male")
    no_afro = make_plan(resolve_job({"identities": {"count": 80, "ethnicities": ["Black"]},
                                     "hair": {"style_weights": {"short_afro": 0, "medium_afro": 0}}}))
    assert not {"short_afro", "medium_afro"} & {i["hair"]["style"] for i in no_afro["identities"]}


def test_hair_draws_leave_the_other_draws_alone():
    a = make_plan(resolve_job({"identities": {"count": 5}}))
    b = make_plan(resolve_job({"identities": {"count": 5}, "hair": {"enabled": False}}))
    for x, y in zip(a["identities"], b["identities"]):
        assert {k: v for k, v in x.items() if k != "hair"} == y


@pytest.mark.parametrize("table, message", [
    ({"style": "mohawk"}, 'hair.style = "mohawk": invalid; allowed: "" (drawn from the priors) or one of: shaved'),
    ({"bald_rate": 2}, 'hair.bald_rate = 2: invalid; allowed: "prior"'),
    ({"beard_rate": "often"}, 'hair.beard_rate = "often": invalid; allowed: "prior"'),
    ({"style_weights": {"mullet": 1}}, "hair.style_weights: unknown style 'mullet'; allowed: shaved"),
    ({"style_weights": {"locs": -1}}, "hair.style_weights.locs = -1: invalid; allowed: a factor >= 0"),
    ({"enabled": "yes"}, 'hair.enabled = "yes": invalid; allowed: true or false'),
])
def test_bad_hair_settings_get_one_line_errors(table, message):
    with pytest.raises(Pain3DError) as err:
        resolve_job({"hair": table})
    assert str(err.value).startswith(message) and "\n" not in str(err.value)

"""Clothing in the core: records drawn from the priors (seeded, shaped by sex, age and group, the
job's overrides), the tables' checks, and garment shells that cover the bust below their neckline."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pain3d.clothing import (HEADSCARF, draw_clothing, earring_meshes, garment_names, garment_weights, garments,
                             load_priors, neckline, outfit)
from pain3d.clothing.earrings import SIDES, piercing
from pain3d.errors import Pain3DError
from pain3d.head import ETHNICITIES, head_from_spec, sample_spec
from pain3d.head.bust import polar
from pain3d.head.surface import EAR_BLEND, ear_field, ear_frame, figure_field
from pain3d.identity import build_identity
from pain3d.paths import asset

WOMAN = {"age": 30.0, "sex": "female", "ethnicity": "Middle Eastern"}


def test_at_least_eight_garments_including_the_ones_the_issue_names():
    names = set(garment_names())
    assert len(names) >= 8
    assert {"crew_tshirt", "v_neck", "collared_shirt", "sweater", "hoodie", "blouse", "hospital_gown", HEADSCARF} <= names


def test_records_are_seeded_and_complete():
    a, b, c = (draw_clothing(WOMAN, {}, s) for s in (3, 3, 4))
    assert a == b and a != c
    assert set(a) >= {"garment", "colour", "pattern", "pattern_colour", "pattern_scale_mm", "pattern_angle", "seed"}
    assert all(0.0 <= x <= 1.0 for x in a["colour"] + a["pattern_colour"])


def test_priors_follow_sex_age_and_group():
    priors = load_priors()
    young, old = (garment_weights(priors, "male", age, "White", {}) for age in (20, 75))
    assert young["hoodie"] > 3 * old["hoodie"] and old["sweater"] > young["sweater"]
    assert "blouse" not in young  # the table gives men none
    def share(group):
        w = garment_weights(priors, "female", 30, group, {})
        return w.get(HEADSCARF, 0.0) / sum(w.values())
    assert share("Middle Eastern") == pytest.approx(0.35) and share("East Asian") == 0.0
    drawn = Counter(draw_clothing(WOMAN, {}, s)["garment"] for s in range(600))
    assert 0.28 < drawn[HEADSCARF] / 600 < 0.42


def test_job_settings_fix_or_reweight_garments():
    assert {draw_clothing(WOMAN, {"garment": "hospital_gown"}, s)["garment"] for s in range(20)} == {"hospital_gown"}
    off = {name: 0.0 for name in garment_names() if name != "sweater"}
    assert {draw_clothing(WOMAN, {"garment_weights": off}, s)["garment"] for s in range(20)} == {"sweater"}


def test_a_headscarf_comes_with_a_top_under_it():
    record = draw_clothing(WOMAN, {"garment": HEADSCARF}, 1)
    assert record["under"] in garment_names() and record["under"] != HEADSCARF
    head = build_identity(30, "female", "Middle Eastern", 1).head
    worn = outfit(head, record, garments())
    assert [g.name for g, _shell, _c in worn] == [HEADSCARF, record["under"]]


def test_bad_tables_give_one_line_errors(tmp_path):
    bad = tmp_path / "garments.toml"
    bad.write_text('format_version = 1\n[garments.cape]\nlabel = "cape"\nneckline = "cowl"\nfront = 0.0\nback = 0.0\n'
                   'offset = 0.004\nease = 0.0\nrib = 0.0\nsheen = 0.5\nroughness = 0.5\nweave_mm = 1.0\n'
                   'patterns = { solid = 1 }\npalette = ["ffffff"]\n')
    with pytest.raises(Pain3DError, match=r"garments.cape.neckline = 'cowl': allowed: crew, v"):
        garments(bad)
    priors = tmp_path / "priors.toml"
    priors.write_text('groups = ["White"]\nages = [18]\n[weights.female]\nponcho = [1]\n[weights.male]\ncrew_tshirt = [1]\n')
    with pytest.raises(Pain3DError, match="weights.female.poncho: unknown garment"):
        load_priors(priors)


@pytest.mark.parametrize("name", ["crew_tshirt", "v_neck", "collared_shirt", "hospital_gown", HEADSCARF])
def test_a_garment_covers_the_bust_below_its_neckline_all_round(name):
    head = build_identity(50, "male", "Black", 2).head
    garment = garments()[name]
    record = draw_clothing({"age": 50, "sex": "male", "ethnicity": "Black"}, {"garment": name}, 2)
    shell = outfit(head, record, garments())[0][1]
    theta, _ = polar(shell.vertices)
    covered = np.histogram(theta, bins=36, range=(-np.pi, np.pi))[0]
    assert covered.min() > 0  # no gap around the body
    b = head.params.bust
    if name != HEADSCARF:
        assert shell.vertices[:, 2].min() < b.z_cut + 0.01  # down to the bust's cut
        front, back = neckline(np.array([0.0, np.pi]), garment, b)
        assert front < back  # the neckline is lower in front
        assert shell.vertices[:, 2].max() < b.z_nsp + garment.back + garment.collar + 0.01
    else:  # over the crown, down over the shoulders and chest
        assert shell.vertices[:, 2].max() > head.vertices[:, 2].max() and shell.vertices[:, 2].min() < b.z_notch - 0.05


def test_earrings_follow_sex_and_age_and_the_job():
    """The worn share follows the priors' [earrings] rows by sex and age, kinds with no weight are
    never drawn, nobody wears them under a headscarf, and the job sets the share outright."""
    table = load_priors()["earrings"]
    for who in (WOMAN, {**WOMAN, "age": 75.0}, {**WOMAN, "sex": "male"}):
        drawn = [draw_clothing(who, {"garment": "crew_tshirt"}, s)["earrings"] for s in range(1500)]
        share = np.interp(who["age"], table["ages"], table["rate"][who["sex"]])
        assert abs(sum(e is not None for e in drawn) / 1500 - share) < 0.04, who
        worn = [e for e in drawn if e]
        assert {e["kind"] for e in worn} <= {k for k, w in table["kinds"][who["sex"]].items() if w > 0}
        for e in worn:
            low, high = table[f"{e['kind']}_mm"]
            assert low <= e["size_mm"] <= high and ("wire_mm" in e) == (e["kind"] == "hoop")
            assert e["finish"] == "pearl" if e["kind"] == "pearl" else e["finish"] in table["metals"]
    assert draw_clothing(WOMAN, {}, 5) == draw_clothing(WOMAN, {}, 5)
    assert all(draw_clothing(WOMAN, {"garment": HEADSCARF}, s)["earrings"] is None for s in range(30))
    assert all(draw_clothing(WOMAN, {"garment": "v_neck", "earrings": 1.0}, s)["earrings"] for s in range(30))
    assert not any(draw_clothing(WOMAN, {"garment": "v_neck", "earrings": 0.0}, s)["earrings"] for s in range(30))


def test_bad_earring_priors_give_one_line_errors(tmp_path):
    base = asset("clothing", "priors.toml").read_text()
    priors = tmp_path / "priors.toml"
    priors.write_text(base.replace("rate.female = [0.60, 0.55, 0.45]", "rate.female = [0.6, 1.5, 0.4]"))
    with pytest.raises(Pain3DError, match=r"earrings.rate.female = \[0.6, 1.5, 0.4\]: invalid"):
        load_priors(priors)
    priors.write_text(base.replace("kinds.male = { stud = 4, hoop = 1, pearl = 0 }", "kinds.male = { clip = 1 }"))
    with pytest.raises(Pain3DError, match=r"earrings.kinds.male = \{'clip': 1\}: invalid; allowed: weights >= 0 of stud"):
        load_priors(priors)


def _cells():
    rng = np.random.default_rng(0)
    for group in ETHNICITIES:
        for sex in ("female", "male"):
            for age in (25.0, 50.0, 75.0):
                yield head_from_spec(sample_spec(age, sex, group, rng), level=0)


def test_earrings_sit_on_the_lobes_and_hang_clear_of_the_skin():
    """On 42 heads (every age band x sex x group cell): studs and pearls on the lobe's outer face
    below the ear's middle, their backs at most 0.8 mm in the lobe and their middles outside it;
    the largest and the smallest hoops outside the skin and the bust wherever they are not passing
    through the ear, most of their wire in sight."""
    kinds = [{"kind": "stud", "size_mm": 6.0}, {"kind": "pearl", "size_mm": 9.0},
             {"kind": "hoop", "size_mm": 26.0, "wire_mm": 2.0}, {"kind": "hoop", "size_mm": 16.0, "wire_mm": 1.2}]
    for head in _cells():
        p = head.params
        for record in kinds:
            for earring in earring_meshes(head, record):
                side = SIDES[earring.side]
                v = earring.vertices
                assert np.sign(v[:, 0]).min() == side or np.sign(v[:, 0]).max() == side
                entry, middle, normal = piercing(p, side)
                centre, _axes = ear_frame(p, side)
                assert entry[2] < centre[2] - 0.012 and normal @ np.array([side, 0.0, 0.0]) > 0.5
                if record["kind"] != "hoop":
                    assert figure_field(v, p, room=0.0).min() > -0.0008
                    assert figure_field(v.mean(0)[None], p, room=0.0)[0] > 0.0
                    continue
                # within EAR_BLEND of the ear's solid lies the fillet where it joins the head: a
                # small hoop's wire dips under 1 mm into it where it leaves the lobe
                beside = ear_field(v[:, 0], v[:, 1], v[:, 2], p, side) > EAR_BLEND
                if beside.any():
                    assert figure_field(v[beside], p, room=0.0).min() > -0.0005, (record, earring.side)
                assert np.mean(figure_field(v, p, room=0.0) > 0.0) > 0.5, (record, earring.side)

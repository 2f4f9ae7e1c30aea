"""Clothing in the core: records drawn from the priors (seeded, shaped by sex, age and group, the
job's overrides), the tables' checks, and garment shells that cover the bust below their neckline."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pain3d.clothing import HEADSCARF, draw_clothing, garment_names, garment_weights, garments, load_priors, neckline, outfit
from pain3d.errors import Pain3DError
from pain3d.head.bust import polar
from pain3d.identity import build_identity

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

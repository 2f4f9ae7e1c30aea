"""Skin albedo from measured skin colour: CIELAB rows per Monk level, group undertones."""

import numpy as np
import pytest

from pain3d.colour import LUMA, lab_to_linear
from pain3d.jobs import demographics, ethnicity_names
from pain3d.skin import tone_albedo, tone_albedos


def test_lab_to_linear_matches_known_colours():
    assert lab_to_linear([100.0, 0.0, 0.0]) == pytest.approx([1.0, 1.0, 1.0], abs=2e-3)  # D65 white
    assert lab_to_linear([50.0, 0.0, 0.0]) == pytest.approx([0.1842] * 3, abs=2e-3)  # mid grey: Y = 0.1842
    assert np.allclose(lab_to_linear([[0.0, 0.0, 0.0], [50.0, 0.0, 0.0]]), [[0.0] * 3, [0.1842] * 3], atol=2e-3)


def ita(lab: np.ndarray) -> np.ndarray:
    """Individual typology angle (degrees) of CIELAB skin colours."""
    return np.degrees(np.arctan2(lab[:, 0] - 50.0, lab[:, 2]))


def test_each_monk_level_is_skin_coloured_and_in_its_ita_class():
    lab = np.array(demographics()["skin_lab"], float)
    angles = ita(lab)
    assert (np.diff(angles) < 0).all()  # lighter to darker
    assert angles[0] > 55 and angles[-1] < -30  # MST 1 very light, MST 10 dark (Chardon 1991 classes)
    assert ((lab[:, 0] >= 25) & (lab[:, 0] <= 72) & (lab[:, 1] >= 5) & (lab[:, 1] <= 15)).all()
    albedo = tone_albedos()
    assert (np.diff(albedo @ LUMA) < 0).all()
    assert (albedo[:, 0] > albedo[:, 1]).all() and (albedo[:, 1] > albedo[:, 2]).all()  # red over green over blue
    assert albedo.max() < 0.6 and albedo.min() > 0.02  # no chalk-white, no black skin


def test_continuous_tones_interpolate_and_clamp():
    assert tone_albedo(1.0) == pytest.approx(tone_albedos()[0])
    assert tone_albedo(2.5) == pytest.approx(0.5 * (tone_albedos()[1] + tone_albedos()[2]))
    assert tone_albedo(-3.0) == pytest.approx(tone_albedo(1.0)) and tone_albedo(12.0) == pytest.approx(tone_albedo(10.0))


def test_undertones_make_east_asian_skin_yellower_and_white_skin_redder():
    def yellowness(rgb):
        return np.log(rgb[1] / rgb[2])

    def redness(rgb):
        return np.log(rgb[0] / rgb[1])

    plain, white, east_asian = (tone_albedo(3.0, group) for group in (None, "White", "East Asian"))
    assert yellowness(east_asian) > yellowness(plain) > yellowness(white)
    assert redness(white) > redness(plain) > redness(east_asian)
    assert abs(np.log((white @ LUMA) / (plain @ LUMA))) < 0.05  # the undertone keeps the lightness
    assert all(len(tone_albedo(5.0, group)) == 3 for group in ethnicity_names())


def test_the_skin_tints_lie_where_blood_oil_and_the_orbit_darken_the_skin():
    """The `tints` attribute (R flush, G orbit, B oil) the built-in skin and texture sets read: blood
    shows in the cheeks and nose tip, not the neck; the orbit darkens around the eyes, not the chin;
    the T-zone's oil lies on the forehead and nose, not the cheeks (Fink & Matts 2006; Youn 2005)."""
    from pain3d.head import head_from_spec, sample_spec
    from pain3d.identity import color_attributes

    head = head_from_spec(sample_spec(40.0, "female", "White", np.random.default_rng(3)), level=0)
    flush, orbit, oil = color_attributes(head)["tints"].T
    v, lm, r = head.vertices, head.landmarks, head.regions

    def near(point, radius=0.004):
        return np.linalg.norm(v - point, axis=1) < radius

    cheek = (r["cheek_L"] > 0.9) | (r["cheek_R"] > 0.9)
    forehead = r["forehead"] > 0.9
    below_eye = near(lm["eye_centre_L"] + np.array([0.0, -0.008, -0.014]), 0.005)
    z = v[:, 2] - head.params.z_me
    neck = (z > -0.07) & (z < -0.04) & (v[:, 1] < 0.0) & (head.vertex_part == 0)
    chin = near(lm["gnathion"], 0.008)
    assert min(cheek.sum(), forehead.sum(), below_eye.sum(), neck.sum(), chin.sum()) > 3
    assert flush[cheek].mean() > 0.8 and flush[near(lm["nose_tip"])].mean() > 0.8 and flush[neck].max() < 0.05
    assert orbit[below_eye].mean() > 0.3 and orbit[chin].max() < 0.01 and orbit[cheek].mean() < orbit[below_eye].mean()
    assert oil[forehead].mean() > 0.8 and oil[near(lm["nose_tip"])].mean() > 0.8 and oil[cheek].mean() < 0.3
    assert ((0.0 <= color_attributes(head)["tints"]) & (color_attributes(head)["tints"] <= 1.0)).all()

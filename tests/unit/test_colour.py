"""The view transform's numbers: what a render shows for scene light, and back."""

import numpy as np
import pytest

from pain3d.colour import pbr_neutral, scene_light_for_display, view_transform


def test_pbr_neutral_keeps_mid_tones_less_the_fresnel_offset_and_rolls_highlights_off():
    assert pbr_neutral([0.18, 0.18, 0.18]) == pytest.approx([0.14] * 3)  # 0.04 off the darkest channel
    assert pbr_neutral([0.02, 0.3, 0.5]) == pytest.approx([0.0025, 0.2825, 0.4825])  # below 0.08: x - 6.25 x^2
    peaks = pbr_neutral(np.array([[1.0] * 3, [4.0] * 3, [100.0] * 3]))[:, 0]
    assert (np.diff(peaks) > 0).all() and peaks.max() < 1.0  # no clipping, still monotone
    red = pbr_neutral([3.0, 0.5, 0.5])
    assert red[1] / red[0] > 0.46 / 2.96  # a bright red desaturates towards white


def test_a_picture_for_the_display_shows_unchanged():
    rng = np.random.default_rng(0)
    scene = rng.uniform(0.0, 2.0, (5000, 3)) * rng.uniform(0.02, 1.0, (5000, 1))
    assert scene_light_for_display(view_transform(scene)) == pytest.approx(scene, abs=1e-9)
    display = rng.uniform(0.0, 0.7, (5000, 3))  # in gamut: below the roll-off
    assert view_transform(scene_light_for_display(display)) == pytest.approx(display, abs=1e-9)


def test_standard_is_the_identity():
    c = np.array([0.3, 0.6, 1.5])
    assert (view_transform(c, "Standard") == c).all() and (scene_light_for_display(c, "Standard") == c).all()

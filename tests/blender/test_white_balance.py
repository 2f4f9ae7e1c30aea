"""White balance on real renders: the same light-skinned face (Monk 1-2) under daylight and under
tungsten lights, with the camera's white balance off and at the default share. Warm lights must
leave the skin a little warm, not orange, and keep its lightest tones unclipped."""

from __future__ import annotations

import numpy as np
import pytest

from pain3d.dataset import MASK_CLASSES
from tests.blender.harness import bpy_missing, read_png, render_job

pytestmark = bpy_missing

JOB = """seed = 8
[identities]
count = 1
ethnicities = ["White"]
skin_tone = {{White = [1.5, 0.3]}}
[expressions]
per_identity = 1
[render]
resolution = 128
samples = 8
denoise = true
views = [0]
[hair]
enabled = false
[clothing]
enabled = false
[lighting]
temperature = [{kelvin}, {kelvin}]
white_balance = {share}
environment = ""
[background]
kinds = {{solid = 1}}
"""
CASES = {"daylight": (6500, 0.8), "tungsten, no balance": (3200, 0.0), "tungsten": (3200, 0.8)}


@pytest.fixture(scope="module")
def skin(tmp_path_factory) -> dict[str, np.ndarray]:
    """Per case, the display RGB (0..255) of every skin pixel of the neutral image."""
    out = {}
    for name, (kelvin, share) in CASES.items():
        data, rows = render_job(tmp_path_factory.mktemp("wb"), JOB.format(kelvin=kelvin, share=share))
        row = next(r for r in rows if r["expression"] == "neutral")
        image, mask = read_png(data, row["image"])[..., :3].astype(float), read_png(data, row["mask"])
        out[name] = image[mask == MASK_CLASSES["skin"]]
    return out


def _warmth(pixels: np.ndarray) -> float:
    """log(R / B) of the mean skin colour: how warm the skin looks."""
    r, _g, b = pixels.mean(axis=0)
    return float(np.log(r / b))


def test_warm_lights_leave_skin_a_little_warm_not_orange(skin):
    daylight, raw, balanced = (_warmth(skin[k]) for k in CASES)
    assert raw - daylight > 0.3, (daylight, raw)  # tungsten without a white balance: orange skin
    assert abs(balanced - daylight) < 0.35 * (raw - daylight), (daylight, raw, balanced)


def test_the_lightest_skin_keeps_its_texture_under_every_light(skin):
    for name, pixels in skin.items():
        assert len(pixels) > 2000, name
        assert np.mean(pixels.max(axis=1) >= 254) < 0.01, name  # no channel clipped on 99% of the skin

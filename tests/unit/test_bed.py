"""The clinical scene's core: bed records, the room's orientation, lights and the bedding's shape."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pain3d import bed as B
from pain3d.errors import Pain3DError
from pain3d.identity import build_identity
from pain3d.jobs import resolve_job
from pain3d.plan import make_plan


@pytest.fixture(scope="module")
def head():
    return build_identity(52, "male", "East Asian", 8).head


def test_draws_are_seeded_and_in_range():
    cfg = {"turn": [-20.0, 30.0], "recline": [10.0, 40.0]}
    records = [B.draw_bed(cfg, s) for s in range(40)]
    assert B.draw_bed(cfg, 3) == records[3]
    assert all(-20 <= r["turn"] <= 30 and 10 <= r["recline"] <= 40 for r in records)
    assert len({r["pillow_colour"] for r in records}) > 2


def test_world_tilt_brings_the_room_up_onto_the_map_up():
    from pain3d.environments import equirect_uv

    for turn, recline in ((0.0, 0.0), (25.0, 30.0), (-40.0, 60.0)):
        bed = {"turn": turn, "recline": recline}
        up = B.room_up(bed)
        _u, v = equirect_uv(up[None], 0.0, B.world_tilt(bed))
        assert v[0] == pytest.approx(1.0, abs=1e-5)  # the map's zenith (to the record's rounding)
        assert up @ B.backrest_normal(turn) == pytest.approx(math.cos(math.radians(recline)))


def test_lights_behind_the_backrest_come_in_front_of_it():
    bed = {"turn": 20.0, "recline": 10.0}
    lighting = {"lights": [{"name": "rim", "azimuth": 160.0, "elevation": 30.0},
                           {"name": "key", "azimuth": -35.0, "elevation": 25.0}],
                "world": {"kind": "environment", "rotation": 10.0}}
    lifted = B.lift_lights(lighting, bed)
    for light in lifted["lights"]:
        d = B.view_direction(light["azimuth"], light["elevation"])
        assert math.degrees(math.asin(d @ B.backrest_normal(20.0))) >= 15.0 - 1e-6
    assert lifted["lights"][1] == {**lighting["lights"][1], "azimuth": -35.0, "elevation": 25.0}  # in front: kept
    assert lifted["world"]["tilt"] == B.world_tilt(bed)


def test_the_head_presses_into_the_pillow_and_nothing_passes_through(head):
    bust = head.params.bust
    bed = B.draw_bed({"turn": [15, 15], "recline": [0, 0]}, 1)
    parts = B.make_bedding(head.vertices, bed, bust.z_notch, bust.z_acromion)
    axes = B.bed_axes(bed)
    body = head.vertices @ axes.T
    for name in ("pillow", "blanket"):
        local = parts[name].vertices @ axes.T
        cols = np.unique(local[:, 0].round(4)).size
        field = local[:, 2].reshape(-1, cols)
        a0, b0 = local[0, 0], local[0, 1]
        i = np.round((body[:, 1] - b0) / B.CELL).astype(int)
        j = np.round((body[:, 0] - a0) / B.CELL).astype(int)
        inside = (i >= 0) & (i < field.shape[0]) & (j >= 0) & (j < cols)
        gap = body[inside, 2] - field[i[inside], j[inside]]
        if name == "pillow":  # the pillow lies under the body everywhere
            assert gap.min() > 0.0, gap.min()
        else:  # the blanket lies over the chest
            assert gap.max() < 0.0, gap.max()
    pillow = parts["pillow"].vertices @ axes.T
    floor = body[body[:, 1] < bust.z_acromion, 2].min()
    under_head = np.abs(pillow[:, 0] - np.median(body[body[:, 1] > bust.z_acromion + 0.12, 0])) < 0.02
    under_head &= (pillow[:, 1] > bust.z_acromion + 0.15) & (pillow[:, 1] < bust.z_acromion + 0.25)
    assert (pillow[under_head, 2] - floor).max() < bed["pillow_loft"] - 0.02  # pressed in by the head
    assert (pillow[:, 2] - floor).max() > bed["pillow_loft"] - 0.01  # full loft beside it


def test_the_bed_job_uses_its_own_views_and_refuses_views_behind_the_pillow():
    job = resolve_job({"identities": {"count": 2}, "bed": {"enabled": True}})
    plan = make_plan(job)
    assert plan["views"] == job["bed"]["views"] != job["render"]["views"]
    assert all("bed" in identity for identity in plan["identities"])
    assert "bed" not in make_plan(resolve_job({"identities": {"count": 1}}))["identities"][0]
    with pytest.raises(Pain3DError, match=r"^bed\.views: \{yaw = 80, pitch = 0\} with the head turned 25 degrees"):
        resolve_job({"bed": {"enabled": True, "views": [0, 80]}})
    resolve_job({"bed": {"enabled": False, "views": [0, 80]}})  # only checked when the bed is on

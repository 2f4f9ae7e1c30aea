"""The judge's AU motion measure on made-up face-mesh points (no MediaPipe needed)."""

import numpy as np
import pytest

from pain3d.app.judge import AU_MOTION, EYE_CORNERS, EYE_LIDS, au_motion


@pytest.fixture
def neutral():
    points = np.random.default_rng(0).uniform(60, 200, (468, 2))
    points[list(EYE_CORNERS[0])] = [[80, 100], [110, 100]]  # eye centres 60 px apart
    points[list(EYE_CORNERS[1])] = [[170, 100], [140, 100]]
    return points


@pytest.mark.parametrize("au", list(AU_MOTION))
def test_a_shift_the_facs_way_reads_positive_and_only_for_its_au(neutral, au):
    ids, sign = AU_MOTION[au]
    posed = neutral.copy()
    posed[list(ids), 1] -= sign * 3.0  # image y grows downwards: up is -y
    motion = au_motion(neutral, posed)
    assert motion[au] == pytest.approx(3.0 / 60.0)
    others = [a for a in AU_MOTION if a != au and not set(AU_MOTION[a][0]) & set(ids)]
    assert all(motion[a] == 0.0 for a in others)


def test_closing_the_eyes_reads_as_the_closed_share(neutral):
    posed = neutral.copy()
    for upper, lower in EYE_LIDS:
        neutral[upper], neutral[lower] = [100, 95], [100, 105]
        posed[upper], posed[lower] = [100, 101], [100, 104]
    assert au_motion(neutral, posed)["AU43"] == pytest.approx(0.7)

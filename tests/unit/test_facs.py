"""FACS catalog, intensity scales and PSPI."""

import numpy as np
import pytest

from pain3d import facs
from pain3d.errors import Pain3DError

REQUIRED = [1, 2, 4, 5, 6, 7, 9, 10, 12, 15, 17, 20, 23, 25, 26, 27, 43, 45]


def test_catalog_covers_required_aus_with_metadata():
    cat = facs.catalog()
    for n in REQUIRED:
        au = cat[f"AU{n}"]
        assert au.name and au.muscles and au.region
        assert au.scale in ("intensity", "binary")
    assert [k for k, au in cat.items() if au.pspi] == list(facs.PSPI_AUS)
    assert cat["AU43"].scale == "binary" and cat["AU4"].sides and not cat["AU9"].sides


@pytest.mark.parametrize(
    "aus, expected",
    [
        ({}, 0),
        ({"AU4": 0, "AU6": 0, "AU7": 0, "AU9": 0, "AU10": 0, "AU43": 0}, 0),
        ({"AU4": 5, "AU6": 5, "AU7": 5, "AU9": 5, "AU10": 5, "AU43": 1}, 16),
        ({"AU4": 3}, 3),
        ({"AU6": 2, "AU7": 4}, 4),
        ({"AU6": 4, "AU7": 2}, 4),
        ({"AU9": 1, "AU10": 3}, 3),
        ({"AU43": 1}, 1),
        ({"AU4": 2, "AU6": 3, "AU7": 3, "AU9": 2, "AU10": 0, "AU43": 1}, 8),
        ({"AU12": 5, "AU25": 3, "AU26": 2}, 0),  # non-PSPI AUs do not count
        ({"AU4": 2.5, "AU7": 1.5}, 4.0),  # fractional intensities add as they are
        ({"AU4L": 3, "AU4R": 1}, 3),  # unilateral actions score at the stronger side
        ({"AU4": 1, "AU4R": 4, "AU6L": 2}, 6),
    ],
)
def test_pspi_table(aus, expected):
    assert facs.pspi(aus) == expected


@pytest.mark.parametrize(
    "aus, message",
    [
        ({"AU4": 6}, "AU4 = 6: out of range; allowed: 0 to 5"),
        ({"AU6": -1}, "AU6 = -1: out of range; allowed: 0 to 5"),
        ({"AU43": 0.5}, "AU43 = 0.5: AU43 (Eyes closed) is binary; allowed: 0 or 1"),
        ({"AU43": 2}, "is binary; allowed: 0 or 1"),
        ({"AU99": 1}, "unknown action unit 'AU99'"),
        ({"AU9L": 1}, "action unit AU9 has no left/right variants"),
        ({"AU4": float("nan")}, "AU4 = nan"),
        ({"AU4": "3"}, "must be a number"),
    ],
)
def test_pspi_rejects_bad_input(aus, message):
    with pytest.raises(Pain3DError, match=message.replace("(", r"\(").replace(")", r"\)")):
        facs.pspi(aus)


def test_pspi_vectorised_matches_scalar():
    rng = np.random.default_rng(0)
    batch = {k: rng.integers(0, 6, 50).astype(float) for k in ("AU4", "AU6", "AU7", "AU9", "AU10")}
    batch["AU43"] = rng.integers(0, 2, 50).astype(float)
    scores = facs.pspi(batch)
    for i in range(50):
        assert scores[i] == facs.pspi({k: float(v[i]) for k, v in batch.items()})
    assert scores.min() >= 0 and scores.max() <= 16
    with pytest.raises(Pain3DError, match="AU4 = 7"):
        facs.pspi({"AU4": np.array([1.0, 7.0])})


@pytest.mark.parametrize("intensity, letter", [(0, "0"), (0.5, "0"), (0.6, "A"), (1, "A"), (1.5, "A"),
                                               (2, "B"), (3, "C"), (3.4, "C"), (4, "D"), (5, "E")])
def test_intensity_letters(intensity, letter):
    assert facs.intensity_to_letter(intensity) == letter


def test_letter_round_trip_and_errors():
    for level, letter in enumerate(["0", "A", "B", "C", "D", "E"]):
        assert facs.letter_to_intensity(letter) == level
        assert facs.intensity_to_letter(level) == letter
    with pytest.raises(Pain3DError, match="allowed: 0, A, B, C, D, E"):
        facs.letter_to_intensity("F")


def test_weight_mapping_is_nonlinear_and_honours_facs_bands():
    w = [facs.intensity_to_weight(i) for i in range(6)]
    assert w[0] == 0 and w[5] == 1
    assert all(a < b for a, b in zip(w, w[1:]))
    steps = np.diff(w)
    # A and B are narrow, C and D wide: the 2->3 and 3->4 steps dwarf 0->1 and 1->2
    assert steps[2] > 2 * steps[1] and steps[3] > 2 * steps[1] and steps[0] < 0.1
    # the weight each integer intensity maps to scores back as its own letter
    for level in range(6):
        assert facs.weight_to_letter(facs.intensity_to_weight(level)) == facs.intensity_to_letter(level)
    # band edges from the catalog: <=0.03 absent, <=0.10 A, <=0.20 B, <=0.55 C, <=0.90 D
    for weight, letter in [(0.03, "0"), (0.031, "A"), (0.10, "A"), (0.11, "B"), (0.2, "B"), (0.21, "C"),
                           (0.55, "C"), (0.56, "D"), (0.9, "D"), (0.91, "E"), (1.0, "E")]:
        assert facs.weight_to_letter(weight) == letter, weight


def test_intensity_weight_round_trip():
    xs = np.linspace(0, 5, 501)
    back = facs.weight_to_intensity(facs.intensity_to_weight(xs))
    np.testing.assert_allclose(back, xs, atol=1e-9)
    assert facs.intensity_to_weight(1, "binary") == 1.0
    assert facs.weight_to_intensity(0.7, "binary") == 1.0 and facs.weight_to_intensity(0.2, "binary") == 0.0


def test_check_aus_orders_by_catalog():
    clean = facs.check_aus({"AU43": 1, "AU12R": 2, "AU4": 3})
    assert list(clean) == ["AU4", "AU12R", "AU43"]
    assert all(isinstance(v, float) for v in clean.values())

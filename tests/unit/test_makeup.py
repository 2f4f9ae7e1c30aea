"""Make-up in the core: records drawn from the priors (seeded; by sex and age, or the job's rate),
the tables' checks, the job section, the plan and the manifest, and mascara on real lashes."""

from __future__ import annotations

import numpy as np
import pytest

from pain3d.dataset import make_row
from pain3d.errors import Pain3DError
from pain3d.hair import draw_hair, grow_groom
from pain3d.identity import build_identity
from pain3d.jobs import resolve_job
from pain3d.makeup import draw_makeup, load_priors, mascara_lashes, wearing_rate, wears_mascara
from pain3d.sampling import sample_identity

WOMAN = {"age": 30.0, "sex": "female"}
MAN = {"age": 30.0, "sex": "male"}


def test_records_are_seeded_and_complete():
    a, b = draw_makeup(WOMAN, {"rate": 1.0}, 5), draw_makeup(WOMAN, {"rate": 1.0}, 5)
    assert a == b and a["worn"]
    assert set(a) == {"worn", "seed", "lipstick", "lip_colour", "lips", "blush", "brow_fill", "eyeshadow", "mascara"}
    priors = load_priors()
    assert a["lipstick"] in priors["lipstick"]
    for key in ("lips", "blush", "brow_fill", "eyeshadow"):
        lo, hi = priors["strength"][key]
        assert lo <= a[key] <= hi
    bare = draw_makeup(WOMAN, {"rate": 0.0}, 5)
    assert bare == {"worn": False, "seed": 5}


def test_rates_follow_sex_and_age_and_the_job():
    priors = load_priors()
    assert wearing_rate(priors, "female", 30) > wearing_rate(priors, "female", 80) > 0.0
    assert wearing_rate(priors, "male", 30) == 0.0
    worn = np.mean([draw_makeup(WOMAN, {}, s)["worn"] for s in range(800)])
    assert abs(worn - wearing_rate(priors, "female", 30)) < 0.05
    assert not any(draw_makeup(MAN, {"rate": 1.0}, s)["worn"] for s in range(50))  # a job's rate is women's
    assert all(draw_makeup(WOMAN, {"rate": 1.0}, s)["worn"] for s in range(50))


@pytest.mark.parametrize("text, message", [
    ("ages = [18, 30]\n[rate]\nfemale = [0.5]\nmale = [0, 0]\n", "rate.female = [0.5]: allowed: one share 0..1 per age knot (2)"),
    ("ages = [18]\n[rate]\nfemale = [0.5]\nmale = [0]\n[lipstick]\nred = \"zz0000\"\n",
     'lipstick.red = \'zz0000\': allowed: "rrggbb" (sRGB hex)'),
])
def test_bad_tables_give_one_line_errors(tmp_path, text, message):
    path = tmp_path / "makeup.toml"
    path.write_text(text)
    with pytest.raises(Pain3DError) as err:
        load_priors(path)
    assert str(err.value) == f"{path}: {message}"


def test_job_section_plan_and_manifest():
    job = resolve_job({"identities": {"count": 14}, "makeup": {"rate": 1.0}})
    people = [sample_identity(i, job) for i in range(14)]
    women = [p for p in people if p["sex"] == "female"]
    assert women and all(p["makeup"]["worn"] for p in women)
    assert not any(p["makeup"]["worn"] for p in people if p["sex"] == "male")
    off = resolve_job({"identities": {"count": 14}, "makeup": {"enabled": False}})
    assert "makeup" not in sample_identity(0, off)
    with pytest.raises(Pain3DError, match=r"makeup.rate = 2"):
        resolve_job({"makeup": {"rate": 2}})
    row = make_row(women[0], {"id": "neutral", "aus": {}, "pspi": 0, "seed": 1}, 0, {"yaw": 0.0, "pitch": 0.0},
                   "a.png", None, [])
    assert row["makeup"]["worn"] and "seed" not in row["makeup"]


def test_mascara_lengthens_and_thickens_real_lashes():
    core = build_identity(30, "female", "White", 3)
    record = draw_hair({"age": 30, "sex": "female", "ethnicity": "White"}, {}, 3)
    lashes = grow_groom(core.head, record, kinds=("lashes",)).sets["lashes"]
    makeup = draw_makeup(WOMAN, {"rate": 1.0}, 1)
    makeup["mascara"]["worn"] = True
    assert wears_mascara(makeup) and not wears_mascara(None)
    done = mascara_lashes(lashes, makeup["mascara"])
    length = lambda s: np.linalg.norm(np.diff(s.points, axis=1), axis=2).sum(1)  # noqa: E731
    assert np.allclose(length(done), length(lashes) * makeup["mascara"]["length"], rtol=1e-4)
    assert np.allclose(done.points[:, 0], lashes.points[:, 0])  # roots stay
    assert np.allclose(done.radius, lashes.radius * makeup["mascara"]["width"])

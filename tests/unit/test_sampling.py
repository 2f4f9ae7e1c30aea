"""Seeded samplers: balance, ranges, co-activation, determinism."""

from collections import Counter

import numpy as np
import pytest

from pain3d import facs, sampling
from pain3d.jobs import resolve_job
from pain3d.plan import make_plan


def job(**sections):
    data = {"seed": 11}
    data.update(sections)
    return resolve_job(data)


def cell_counts(plan):
    return Counter((i["age_band"], i["sex"], i["ethnicity"]) for i in plan["identities"])


def test_exact_balance_on_multiples_of_cells():
    plan = make_plan(job(identities={"count": 84}, expressions={"per_identity": 1}))
    counts = cell_counts(plan)
    assert len(counts) == 42 and set(counts.values()) == {2}


@pytest.mark.parametrize("count", [1, 5, 41, 43, 100, 127])
def test_as_even_as_possible_otherwise(count):
    plan = make_plan(job(identities={"count": count}, expressions={"per_identity": 1}))
    counts = cell_counts(plan)
    values = list(counts.values()) + [0] * (42 - len(counts))
    assert max(values) - min(values) <= 1 and sum(values) == count


def test_configurable_cells_balance():
    cfg = {"count": 24, "age_bands": [[20, 29], [70, 80]], "sexes": ["female"],
           "ethnicities": ["Black", "Indian", "White"]}
    plan = make_plan(job(identities=cfg, expressions={"per_identity": 1}))
    counts = cell_counts(plan)
    assert set(counts.values()) == {4} and len(counts) == 6
    for ident in plan["identities"]:
        low, high = map(int, ident["age_band"].split("-"))
        assert low <= ident["age"] < high + 1


def test_identity_ranges_and_seeds():
    plan = make_plan(job(identities={"count": 200}, expressions={"per_identity": 1}))
    seeds = set()
    for ident in plan["identities"]:
        assert 18 <= ident["age"] < 86
        assert 1 <= ident["skin_tone"] <= 10
        assert ident["split"] in sampling.SPLITS
        seeds.add(ident["seed"])
        seeds.add(ident["head_seed"])
    assert len(seeds) == 400


def test_skin_tone_follows_group_prior():
    plan = make_plan(job(identities={"count": 420}, expressions={"per_identity": 1}))
    tone = lambda g: np.mean([i["skin_tone"] for i in plan["identities"] if i["ethnicity"] == g])  # noqa: E731
    assert tone("White") < tone("Latino/Hispanic") < tone("Black")
    assert tone("East Asian") < tone("Indian")


def test_skin_tone_override():
    cfg = {"count": 42, "skin_tone": {"White": [9.0, 0.1]}}
    plan = make_plan(job(identities=cfg, expressions={"per_identity": 1}))
    whites = [i["skin_tone"] for i in plan["identities"] if i["ethnicity"] == "White"]
    assert whites and all(8.5 < t < 9.5 for t in whites)


def test_splits_identity_level_and_proportional():
    plan = make_plan(job(identities={"count": 1000}, expressions={"per_identity": 1}))
    counts = Counter(i["split"] for i in plan["identities"])
    assert counts == {"train": 700, "val": 200, "test": 100}
    small = make_plan(job(identities={"count": 3}, expressions={"per_identity": 1}))
    assert {i["split"] for i in small["identities"]} == {"train", "val", "test"}


def test_prefix_stability_10_vs_1000():
    small = make_plan(job(identities={"count": 10}))
    large = make_plan(job(identities={"count": 1000}))
    assert small["identities"] == large["identities"][:10]


def test_same_seed_same_plan_other_seed_differs():
    a = make_plan(job(identities={"count": 20}))
    b = make_plan(job(identities={"count": 20}))
    assert a == b
    c = make_plan(resolve_job({"seed": 12, "identities": {"count": 20}}))
    assert c["identities"] != a["identities"]


def test_expressions_hit_targets_and_cover_range():
    plan = make_plan(job(identities={"count": 200}))
    pspis = []
    for ident in plan["identities"]:
        exprs = ident["expressions"]
        assert exprs[0]["id"] == "neutral" and exprs[0]["pspi"] == 0
        assert len(exprs) == 11
        for e in exprs:
            assert e["pspi"] == facs.pspi(e["aus"])
            assert all(k in e["aus"] for k in facs.PSPI_AUS)
            assert all(float(v).is_integer() for v in e["aus"].values())
        pspis += [e["pspi"] for e in exprs[1:]]
    counts = Counter(pspis)
    assert set(counts) == set(range(1, 17))
    # uniform target over 1..16, stratified: each value within 25% of its expected share
    expected = len(pspis) / 16
    assert all(abs(c - expected) < 0.25 * expected for c in counts.values())


def test_custom_pspi_distribution():
    cfg = {"per_identity": 8, "pspi_min": 2, "pspi_max": 4, "pspi_weights": [1, 0, 3], "pspi_sampling": "iid"}
    plan = make_plan(job(identities={"count": 50}, expressions=cfg))
    pspis = Counter(e["pspi"] for i in plan["identities"] for e in i["expressions"][1:])
    assert set(pspis) == {2, 4}
    assert 2.0 < pspis[4] / pspis[2] < 4.5


def test_realistic_coactivation():
    plan = make_plan(job(identities={"count": 300}))
    exprs = [e for i in plan["identities"] for e in i["expressions"] if e["kind"] == "sampled"]
    au = lambda k: np.array([e["aus"][k] for e in exprs])  # noqa: E731
    pspi = np.array([e["pspi"] for e in exprs])
    assert np.corrcoef(au("AU6"), au("AU7"))[0, 1] > 0.5
    assert np.corrcoef(au("AU9"), au("AU10"))[0, 1] > 0.5
    closed = au("AU43")
    assert closed[pspi <= 6].mean() < 0.1 and closed[pspi >= 13].mean() > 0.6
    assert (closed[pspi == 16] == 1).all()
    both67 = ((au("AU6") > 0) & (au("AU7") > 0)).mean()
    assert both67 > 0.5


def test_distractors_at_their_rates():
    cfg = {"distractors": {"AU12": 0.0, "AU20": 0.5, "AU26": 1.0}}
    plan = make_plan(job(identities={"count": 100}, expressions=cfg))
    exprs = [e for i in plan["identities"] for e in i["expressions"] if e["kind"] == "sampled"]
    assert not any("AU12" in e["aus"] for e in exprs)
    assert all(1 <= e["aus"]["AU26"] <= 5 for e in exprs)
    share20 = np.mean(["AU20" in e["aus"] for e in exprs])
    assert 0.4 < share20 < 0.6
    off = make_plan(job(identities={"count": 5}, expressions={"distractors": {}}))
    assert all(set(e["aus"]) == set(facs.PSPI_AUS) for i in off["identities"] for e in i["expressions"])


def test_explicit_expressions_for_every_identity():
    explicit = [{"name": "brow_lowerer_max", "AU4": 5}, {"name": "smile_l", "AU12L": 3, "AU6": 2}]
    plan = make_plan(job(identities={"count": 4}, expressions={"per_identity": 0, "explicit": explicit}))
    for ident in plan["identities"]:
        ids = [e["id"] for e in ident["expressions"]]
        assert ids == ["neutral", "brow_lowerer_max", "smile_l"]
        brow = ident["expressions"][1]
        assert brow["aus"]["AU4"] == 5 and brow["pspi"] == 5
        assert ident["expressions"][2]["pspi"] == 2
    mixed = make_plan(job(identities={"count": 1}, expressions={"per_identity": 2, "explicit": explicit[:1]}))
    assert [e["id"] for e in mixed["identities"][0]["expressions"]] == ["neutral", "pain_00", "pain_01",
                                                                       "brow_lowerer_max"]


def test_derive_seed_is_stable_and_distinct():
    assert sampling.derive_seed(7, 2, 0) == sampling.derive_seed(7, 2, 0)
    assert len({sampling.derive_seed(7, 2, i) for i in range(1000)}) == 1000
    assert 0 <= sampling.derive_seed(2**63 - 1, 1, 5) < 2**63

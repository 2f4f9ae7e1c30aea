"""Job files: the minimal file, defaults, and one exact one-line error per kind of mistake."""

from pathlib import Path

import pytest

from pain3d.errors import Pain3DError
import tomllib

from pain3d import jobs
from pain3d.jobs import SCHEMA, load_job, schema_markdown
from tests.conftest import MINIMAL_JOB, REPO, run_cli

BASE = "seed = 7\n"

# (job file text, the exact error after "job.toml: ")
MALFORMED = [
    ("seed = -1\n", "seed = -1: out of range; allowed: integer 0..9223372036854775807"),
    ('seed = "7"\n', 'seed = "7": invalid; allowed: integer 0..9223372036854775807'),
    ("seed = 1.5\n", "seed = 1.5: invalid; allowed: integer 0..9223372036854775807"),
    ("seed = true\n", "seed = true: invalid; allowed: integer 0..9223372036854775807"),
    ("sed = 7\n", "unknown key 'sed'; allowed: background, bed, clothing, expressions, hair, identities, lighting, makeup, name, render, seed, texture"),
    ("name = 3\n", "name = 3: invalid; allowed: a string"),
    (BASE + "[identity]\ncount = 6\n",
     "unknown key 'identity'; allowed: background, bed, clothing, expressions, hair, identities, lighting, makeup, name, render, seed, texture"),
    (BASE + "identities = 6\n", "identities = 6: invalid; allowed: a [identities] table"),
    (BASE + "[identities]\ncount = 0\n", "identities.count = 0: out of range; allowed: integer 1..1000000"),
    (BASE + "[identities]\ncount = 2000000\n",
     "identities.count = 2000000: out of range; allowed: integer 1..1000000"),
    (BASE + '[identities]\ncount = "six"\n', 'identities.count = "six": invalid; allowed: integer 1..1000000'),
    (BASE + "[identities]\ncont = 6\n",
     "unknown key 'identities.cont'; allowed: age_bands, count, ethnicities, sexes, skin_tone, split"),
    (BASE + "[identities]\nage_bands = [[34, 18]]\n",
     "identities.age_bands = [[34, 18]]: invalid; allowed: a list of [low, high] integer ages, "
     "0 <= low < high <= 120, not overlapping"),
    (BASE + "[identities]\nage_bands = [[18, 40], [35, 60]]\n",
     "identities.age_bands = [[18, 40], [35, 60]]: invalid; allowed: a list of [low, high] integer ages, "
     "0 <= low < high <= 120, not overlapping"),
    (BASE + "[identities]\nage_bands = []\n",
     "identities.age_bands = []: invalid; allowed: a list of [low, high] integer ages, "
     "0 <= low < high <= 120, not overlapping"),
    (BASE + '[identities]\nsexes = ["female", "other"]\n',
     "identities.sexes: unknown value 'other'; allowed: female, male"),
    (BASE + '[identities]\nsexes = ["male", "male"]\n',
     "identities.sexes = ['male', 'male']: invalid; allowed: a non-empty list of distinct values from: "
     "female, male"),
    (BASE + '[identities]\nethnicities = ["Martian"]\n',
     "identities.ethnicities: unknown value 'Martian'; allowed: White, Black, Latino/Hispanic, East Asian, "
     "Southeast Asian, Indian, Middle Eastern"),
    (BASE + "[identities]\nsplit = [0.5, 0.3, 0.1]\n",
     "identities.split = [0.5, 0.3, 0.1]: invalid; allowed: [train, val, test] fractions, each 0..1, "
     "summing to 1, train > 0"),
    (BASE + "[identities]\nsplit = [0.7, 0.3]\n",
     "identities.split = [0.7, 0.3]: invalid; allowed: [train, val, test] fractions, each 0..1, "
     "summing to 1, train > 0"),
    (BASE + '[identities.skin_tone]\nWhite = [11, 1]\n',
     "identities.skin_tone.White = [11, 1]: invalid; allowed: a table of group = [mean, sd] on the Monk scale "
     "(mean 1..10, sd 0.05..5)"),
    (BASE + '[identities]\nethnicities = ["Black"]\n[identities.skin_tone]\nWhite = [3, 1]\n',
     "identities.skin_tone: group 'White' is not in identities.ethnicities"),
    (BASE + "[expressions]\nper_identity = -3\n",
     "expressions.per_identity = -3: out of range; allowed: integer 0..1000"),
    (BASE + "[expressions]\npspi_max = 17\n", "expressions.pspi_max = 17: out of range; allowed: integer 0..16"),
    (BASE + "[expressions]\npspi_min = 9\npspi_max = 4\n",
     "expressions.pspi_min = 9 is above expressions.pspi_max = 4; allowed: pspi_min <= pspi_max"),
    (BASE + "[expressions]\npspi_min = 1\npspi_max = 3\npspi_weights = [1, 2]\n",
     "expressions.pspi_weights has 2 values; allowed: exactly 3 (one per PSPI value 1..3)"),
    (BASE + "[expressions]\npspi_weights = [1, -2]\n",
     "expressions.pspi_weights = [1, -2]: invalid; allowed: a list of non-negative numbers, one per PSPI "
     "value from pspi_min to pspi_max, not all 0"),
    (BASE + '[expressions]\npspi_sampling = "random"\n',
     'expressions.pspi_sampling = "random": invalid; allowed: one of "stratified", "iid"'),
    (BASE + "[expressions.distractors]\nAU4 = 0.5\n",
     "expressions.distractors: 'AU4' cannot be a distractor; allowed: AU1, AU2, AU5, AU12, AU15, AU17, AU20, "
     "AU23, AU25, AU26, AU27, AU45"),
    (BASE + "[expressions.distractors]\nAU12 = 1.5\n",
     "expressions.distractors.AU12 = 1.5: invalid; allowed: a rate 0..1"),
    (BASE + '[[expressions.explicit]]\nname = "x"\nAU4 = 7\n',
     "expressions.explicit[0] (x): AU4 = 7: out of range; allowed: 0 to 5"),
    (BASE + '[[expressions.explicit]]\nname = "x"\nAU43 = 0.5\n',
     "expressions.explicit[0] (x): AU43 = 0.5: AU43 (Eyes closed) is binary; allowed: 0 or 1"),
    (BASE + '[[expressions.explicit]]\nname = "x"\nAU99 = 1\n',
     "expressions.explicit[0] (x): unknown action unit 'AU99'; allowed: AU1, AU2, AU4, AU5, AU6, AU7, AU9, "
     "AU10, AU12, AU15, AU17, AU20, AU23, AU25, AU26, AU27, AU43, AU45 (sided: AU<n>L/AU<n>R)"),
    (BASE + '[[expressions.explicit]]\nAU4 = 5\n',
     "expressions.explicit[0].name: missing; every explicit expression needs a name"),
    (BASE + '[[expressions.explicit]]\nname = "neutral"\nAU4 = 5\n',
     "expressions.explicit[0].name = \"neutral\": invalid; allowed: lower-case letters, digits, _ or -, up to "
     "64 characters, not 'neutral' or 'pain_*'"),
    (BASE + '[[expressions.explicit]]\nname = "a"\nAU4 = 1\n[[expressions.explicit]]\nname = "a"\nAU4 = 2\n',
     "expressions.explicit[1].name = \"a\": duplicate expression name; names must be unique"),
    (BASE + '[[expressions.explicit]]\nname = "a"\nAU9R = 1\n',
     "expressions.explicit[0] (a): action unit AU9 has no left/right variants; use AU9"),
    (BASE + "[render]\nresolution = 16\n", "render.resolution = 16: out of range; allowed: integer 32..4096"),
    (BASE + "[render]\nresolution = 256.0\n", "render.resolution = 256.0: invalid; allowed: integer 32..4096"),
    (BASE + "[render]\nviews = [120]\n",
     "render.views = 120: invalid; allowed: a non-empty list of yaw degrees (-90..90) or {yaw = deg, "
     "pitch = deg} tables (pitch -45..45)"),
    (BASE + "[render]\nviews = []\n",
     "render.views = []: invalid; allowed: a non-empty list of yaw degrees (-90..90) or {yaw = deg, "
     "pitch = deg} tables (pitch -45..45)"),
    (BASE + "[render]\nviews = [0, 0]\n", "render.views: the same view is listed twice; views must be distinct"),
    (BASE + "[render]\nviews = [{yaw = 0, roll = 5}]\n",
     "render.views = [{'yaw': 0, 'roll': 5}]: invalid; allowed: a non-empty list of yaw degrees (-90..90) "
     "or {yaw = deg, pitch = deg} tables (pitch -45..45)"),
    (BASE + '[render]\ndevice = "tpu"\n', 'render.device = "tpu": invalid; allowed: one of "cpu", "gpu"'),
    (BASE + "[render]\ndenoise = 1\n", "render.denoise = 1: invalid; allowed: true or false"),
    (BASE + '[render]\nengine = "luxcore"\n',
     'render.engine = "luxcore": invalid; allowed: one of "cycles", "eevee"'),
    (BASE + "[render]\nsamples = 0\n", "render.samples = 0: out of range; allowed: integer 1..4096"),
    (BASE + '[texture]\nbackend = "gan"\n',
     'texture.backend = "gan": invalid; allowed: one of "procedural", "diffusion"'),
    # TOML syntax errors say so, with the line
    ("seed = 7\n[identities\ncount = 6\n",
     "TOML syntax error: Expected ']' at the end of a table declaration (at line 2, column 12)"),
    ("seed = \n", "TOML syntax error: Invalid value (at line 1, column 8)"),
    ("seed = 7\nseed = 8\n", "TOML syntax error: Cannot overwrite a value (at line 2, column 9)"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.toml"
    path.write_text(text)
    return path


def test_enough_malformed_cases():
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("text, message", MALFORMED, ids=[f"case{i:02d}" for i in range(len(MALFORMED))])
def test_malformed_job_gives_exact_one_line_error(tmp_path, text, message):
    with pytest.raises(Pain3DError) as err:
        load_job(write(tmp_path, text))
    assert str(err.value) == f"job.toml: {message}"
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("index", [0, 11, 16, 31, 42, 49])
def test_malformed_job_through_cli(tmp_path, index):
    text, message = MALFORMED[index]
    result = run_cli("plan", "--config", str(write(tmp_path, text)), "--out", str(tmp_path / "DATA"))
    assert result.returncode == 2
    assert result.stderr == f"pain3d: error: job.toml: {message}\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "DATA" / "plan.json").exists()


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(Pain3DError, match=r"nope.toml: no such job file$"):
        load_job(tmp_path / "nope.toml")
    with pytest.raises(Pain3DError, match="is a folder, not a job file"):
        load_job(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(Pain3DError, match="latin1.toml: not UTF-8 text"):
        load_job(bad)


def test_minimal_job_accepted_with_defaults(minimal_job):
    job = load_job(minimal_job)
    assert job["seed"] == 7 and job["identities"]["count"] == 6
    assert job["expressions"]["per_identity"] == 3
    assert job["render"]["resolution"] == 128
    assert [v["yaw"] for v in job["render"]["views"]] == [-30, 0, 30]
    assert job["identities"]["age_bands"] == [[18, 34], [35, 59], [60, 85]]
    assert len(job["identities"]["ethnicities"]) == 7
    assert job["render"]["samples"] == 32 and job["texture"]["backend"] == "procedural"


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "assets" / "jobs").glob("*.toml")))
def test_every_shipped_job_loads(name):
    """The jobs the docs, figures and `make demo` run (assets/jobs) pass the schema as shipped."""
    job = load_job(REPO / "assets" / "jobs" / name)
    assert job["identities"]["count"] > 0 and job["render"]["views"]


def test_views_accept_tables_with_pitch(tmp_path):
    job = load_job(write(tmp_path, BASE + "[render]\nviews = [0, {yaw = 20, pitch = -10}]\n"))
    assert job["render"]["views"] == [{"yaw": 0.0, "pitch": 0.0}, {"yaw": 20.0, "pitch": -10.0}]


def test_job_reference_doc_is_current():
    """docs/job-file.md carries the reference generated from the schema, every key included."""
    doc = (REPO / "docs" / "job-file.md").read_text()
    assert schema_markdown() in doc, "regenerate with: pain3d job-reference"
    for section, fields in SCHEMA.items():
        for key in fields:
            assert f"| `{key}` |" in doc


def test_minimal_job_text_matches_issue():
    assert "views = [-30, 0, 30]" in MINIMAL_JOB


@pytest.mark.parametrize("data", [
    {},
    {"seed": 3, "name": "x", "identities": {"skin_tone": {"East Asian": [3, 1]}, "age_bands": [[20, 30]]},
     "expressions": {"explicit": [{"name": "a", "AU4": 5, "AU6L": 2, "AU43": 1}], "pspi_weights": [1] * 16},
     "background": {"kinds": {"images": 1}, "images": "C:\\\\bg \"quoted\""}},
])
def test_job_toml_loads_back_to_the_same_job(data):
    job = jobs.resolve_job(data)
    assert jobs.resolve_job(tomllib.loads(jobs.job_toml(job))) == job


def test_with_expression_adds_replaces_and_checks():
    base = {"expressions": {"per_identity": 0}}
    data = jobs.with_expression(base, "grimace", {"AU4": 3.0, "AU6": 0.0, "AU43": 1})
    assert base == {"expressions": {"per_identity": 0}}  # a copy
    assert jobs.resolve_job(data)["expressions"]["explicit"] == [{"name": "grimace", "aus": {"AU4": 3.0, "AU43": 1.0}}]
    again = jobs.with_expression(jobs.with_expression(data, "other", {"AU7": 1}), "grimace", {"AU9": 2})
    assert [e["name"] for e in again["expressions"]["explicit"]] == ["other", "grimace"]
    assert again["expressions"]["explicit"][1] == {"name": "grimace", "AU9": 2}
    with pytest.raises(Pain3DError, match=r"^expression name = \"Bad\": invalid; allowed: lower-case"):
        jobs.with_expression(data, "Bad", {"AU4": 1})
    with pytest.raises(Pain3DError, match="AU4"):
        jobs.resolve_job(jobs.with_expression(data, "too_strong", {"AU4": 9}))


def test_per_identity_zero_plans_neutral_faces_only(tmp_path):
    """A neutral-only set, for identity and demographic studies: one neutral face per identity and view."""
    from pain3d.plan import make_plan

    plan = make_plan(load_job(write(tmp_path, MINIMAL_JOB.replace("per_identity = 3", "per_identity = 0"))))
    assert len(plan["identities"]) == 6
    assert all([e["id"] for e in i["expressions"]] == ["neutral"] for i in plan["identities"])
    assert all(e["pspi"] == 0 for i in plan["identities"] for e in i["expressions"])

"""The independent judges: MediaPipe must see our renders as faces, with landmarks where ours are;
face-api's networks (trained on photographs of real people) must read their sex, age and calm.

42 identities (one per age band x sex x ethnicity cell), neutral, procedural skin, Cycles CPU
256x256, rendered through the real Blender layer at yaw 0 and +/-30 degrees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.blender.harness import REPO, bpy_missing

mediapipe_missing = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import mediapipe"], capture_output=True).returncode != 0,
    reason="mediapipe==0.10.21 (the judge) is not installed")
pytestmark = [bpy_missing, mediapipe_missing]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    out = tmp_path_factory.mktemp("judge")
    script = REPO / "tests" / "blender" / "render_judge_set.py"
    proc = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True,
                          timeout=1800, env={**os.environ, "BLENDER_USER_CONFIG": str(out / "config")})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    from pain3d.app.judge import Judge

    index = json.loads((out / "index.json").read_text())
    with Judge() as judge:
        return [(entry, judge.judge(Path(entry["path"]), np.array(entry["landmarks"])),
                 judge.mesh_points(Path(entry["path"]))) for entry in index]


def _of_yaw(verdicts, yaw):
    return [v for entry, v, _mesh in verdicts if entry["yaw"] == yaw and entry["expression"] == "neutral"]


def test_all_42_cells_rendered(verdicts):
    neutral = [entry for entry, _v, _m in verdicts if entry["expression"] == "neutral"]
    assert len({entry["cell"] for entry in neutral}) == 42 and len(neutral) == 42 * 3


# FACS's direction, seen: a shift of at least 1.5 % of the inter-ocular distance (about 1 mm) of the
# AU's face-mesh points, or for AU43 a fifth of the eye opening closed (MediaPipe's mesh never
# closes an eye fully)
AU_SEEN = {"AU4": 0.015, "AU6": 0.015, "AU7": 0.015, "AU9": 0.015, "AU10": 0.015, "AU43": 0.2}


@pytest.mark.parametrize("au", list(AU_SEEN))
def test_mediapipe_sees_each_pain_au_move_its_facs_way_at_e(verdicts, au):
    """Neutral and AU-at-E renders of 7 identities x 3 views (same camera): MediaPipe's face mesh
    finds the FACS motion (app/judge.py: AU_MOTION) in at least 90 % of identity-views."""
    from pain3d.app.judge import au_motion

    meshes = {(e["identity"], e["yaw"], e["expression"]): mesh for e, _v, mesh in verdicts}
    views = [(i, yaw) for i, yaw, expression in meshes if expression == au]
    assert len(views) == 7 * 3
    moved = [au_motion(meshes[(i, yaw, "neutral")], meshes[(i, yaw, au)])[au]
             if meshes[(i, yaw, "neutral")] is not None and meshes[(i, yaw, au)] is not None else 0.0
             for i, yaw in views]
    seen = np.mean(np.array(moved) >= AU_SEEN[au])
    assert seen >= 0.9, f"{au}: seen in {seen:.0%}; shifts {np.round(moved, 3).tolist()}"


def test_faces_detected_frontal(verdicts):
    found = np.mean([v.detected for v in _of_yaw(verdicts, 0.0)])
    assert found >= 0.95, f"MediaPipe found a face in {found:.0%} of frontal renders"


@pytest.mark.parametrize("yaw", [-30.0, 30.0])
def test_faces_detected_at_30_degrees(verdicts, yaw):
    found = np.mean([v.detected for v in _of_yaw(verdicts, yaw)])
    assert found >= 0.90, f"MediaPipe found a face in {found:.0%} of renders at yaw {yaw}"


@pytest.mark.parametrize("yaw", [0.0, -30.0, 30.0])
def test_landmarks_agree_with_mediapipe(verdicts, yaw):
    """Eye corners, nose tip, mouth corners within 10% of the inter-ocular distance."""
    errors = np.array([v.errors for v in _of_yaw(verdicts, yaw) if v.errors is not None])
    assert len(errors) >= 0.9 * 42
    per_image = errors.mean(axis=1)
    assert (per_image <= 0.10).all(), f"worst image mean error {per_image.max():.3f} IOD"
    if yaw == 0.0:
        per_spot = errors.mean(axis=0)
        assert (per_spot <= 0.10).all(), f"mean error per spot {per_spot.round(3)} IOD"


JUDGES = REPO / "tests" / "judges"
# face-api on these 126 neutral views. Before the ageing was recalibrated (nineteenth session) it
# read women 84 % and men 90 % right, ages with a mean error of 21.9 years and the 60-and-over
# 15.2 years above the under-35s, and 85 % of faces as neutral (7 % surprised); after it, 92 %, 81 %,
# 18.6 years, 21.5 years and 81 % (11 %). The age bars fail the old head; the others guard (men
# read right fell with the deeper folds and grey hair: docs/head-model.md, "Sex and age").
SEX_READ = {"female": 0.8, "male": 0.75}
AGE_ERROR_YEARS = 19.5
AGE_SPREAD_YEARS = 18.0
NEUTRAL_READ, SURPRISED_READ = 0.7, 0.2
face_api_missing = pytest.mark.skipif(
    shutil.which("node") is None or not (JUDGES / "node_modules" / "@vladmandic" / "face-api").is_dir(),
    reason="face-api (the age, sex and expression judge) is not installed: `make test` runs npm ci in tests/judges")


@pytest.fixture(scope="module")
def attributes(verdicts):
    """face-api's reading of every neutral render: (index entry, reading)."""
    entries = [entry for entry, _v, _m in verdicts if entry["expression"] == "neutral"]
    proc = subprocess.run(["node", str(JUDGES / "face_attributes.js"), *(e["path"] for e in entries)],
                          capture_output=True, text=True, timeout=900, cwd=JUDGES)
    assert proc.returncode == 0, proc.stderr[-2000:]
    readings = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in readings] == [e["path"] for e in entries]
    return [(e, r) for e, r in zip(entries, readings) if r["face"]]


@face_api_missing
def test_face_api_finds_the_faces(attributes):
    assert len(attributes) >= 0.95 * 42 * 3


@face_api_missing
def test_an_outside_model_reads_women_as_women_and_men_as_men(attributes):
    """Real-face attribute models read about half of our women as men before the faces, hair and
    clothes took up the issue; the bars are the share of each sex read right over 126 views."""
    read = {sex: [(r["p_female"] > 0.5) == (sex == "female") for e, r in attributes if e["sex"] == sex]
            for sex in ("female", "male")}
    shares = {sex: float(np.mean(v)) for sex, v in read.items()}
    assert shares["female"] >= SEX_READ["female"] and shares["male"] >= SEX_READ["male"], shares


@face_api_missing
def test_an_outside_model_reads_the_ages(attributes):
    """The estimated age follows the true one: a small mean error, and the oldest band read well
    above the youngest (before the ageing was recalibrated everyone read 20-45)."""
    true = np.array([e["age"] for e, _r in attributes])
    read = np.array([r["age"] for _e, r in attributes])
    error = float(np.mean(np.abs(read - true)))
    old, young = read[true >= 60].mean(), read[true < 35].mean()
    assert error <= AGE_ERROR_YEARS and old - young >= AGE_SPREAD_YEARS, (
        f"mean error {error:.1f} y; read {young:.1f} (under 35) and {old:.1f} (60 and over)")


@face_api_missing
def test_an_outside_model_reads_neutral_faces_as_calm(attributes):
    """An expression model trained on photographs once read about half our neutral faces as surprised."""
    top = [max(r["expressions"], key=r["expressions"].get) for _e, r in attributes]
    neutral, surprised = np.mean([t == "neutral" for t in top]), np.mean([t == "surprised" for t in top])
    assert neutral >= NEUTRAL_READ and surprised <= SURPRISED_READ, (neutral, surprised)

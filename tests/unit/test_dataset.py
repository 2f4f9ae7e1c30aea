"""The dataset contract: a valid dataset passes, and `validate` catches each kind of breakage."""

import json
from pathlib import Path

import pytest

from pain3d import dataset
from tests.conftest import run_cli
from tests.sample_data import SIZE, build_dataset

@pytest.fixture
def data(tmp_path: Path) -> Path:
    build_dataset(tmp_path)
    return tmp_path


def rewrite(root: Path, change) -> None:
    rows = dataset.read_manifest(root)
    rows = change(rows) or rows
    dataset.write_manifest(root, rows)


def problems(root: Path) -> str:
    report = dataset.validate(root)
    assert not report.ok
    return "\n".join(report.problems)


def test_valid_dataset_passes(data):
    report = dataset.validate(data)
    assert report.ok, report.problems
    assert report.rows == 3 * 3 * 2 and report.identities == 3
    rows = dataset.read_manifest(data)
    assert len({r["sample_id"] for r in rows}) == len(rows)
    for field in dataset.ROW_FIELDS:
        assert all(field in r for r in rows)


def test_missing_image(data):
    (data / dataset.read_manifest(data)[4]["image"]).unlink()
    assert "does not exist" in problems(data)


def test_corrupt_image(data):
    path = data / dataset.read_manifest(data)[0]["image"]
    path.write_bytes(path.read_bytes()[:40])
    assert "does not decode" in problems(data)


def test_corrupt_heatmap(data):
    row = next(r for r in dataset.read_manifest(data) if r["heatmap"])
    (data / row["heatmap"]).write_bytes(b"not a png")
    assert "heatmap" in problems(data) and "does not decode" in problems(data)


def test_pspi_mismatch(data):
    def change(rows):
        rows[3]["pspi"] = rows[3]["pspi"] + 1
    rewrite(data, change)
    assert "but its AUs give PSPI" in problems(data)


def test_au_out_of_range(data):
    def change(rows):
        rows[2]["aus"]["AU4"] = 9
    rewrite(data, change)
    assert "AU4 = 9: out of range" in problems(data)


def test_missing_pspi_au(data):
    def change(rows):
        del rows[2]["aus"]["AU43"]
    rewrite(data, change)
    assert "aus lacks AU43" in problems(data)


def test_duplicate_sample_id(data):
    rewrite(data, lambda rows: rows + [rows[5]])
    assert "repeats line 6" in problems(data)


def test_identity_in_two_splits(data):
    def change(rows):
        rows[0]["split"] = "test" if rows[0]["split"] != "test" else "train"
    rewrite(data, change)
    assert "is in two splits" in problems(data)


def test_bad_split_name(data):
    def change(rows):
        for r in rows:
            r["split"] = "holdout"
    rewrite(data, change)
    assert "split = 'holdout'; allowed: train, val, test" in problems(data)


def test_inconsistent_demographics(data):
    def change(rows):
        rows[1]["age"] = rows[1]["age"] + 10
    rewrite(data, change)
    assert "has two values of age" in problems(data)


def test_pain_without_neutral_twin(data):
    rewrite(data, lambda rows: [r for r in rows if not (r["identity"] == 1 and r["expression"] == "neutral"
                                                         and r["view"]["yaw"] == 0)])
    assert "identity 1 view yaw=0 pitch=0 has 2 pain image(s) but no neutral twin" in problems(data)


def test_heatmap_rules(data):
    def change(rows):
        neutral = next(r for r in rows if r["expression"] == "neutral")
        pain = next(r for r in rows if r["expression"] != "neutral")
        neutral["heatmap"], pain["heatmap"] = pain["heatmap"], None
    rewrite(data, change)
    text = problems(data)
    assert "neutral row has a heatmap" in text and "pain row has no heatmap" in text


def test_neutral_with_active_aus(data):
    def change(rows):
        neutral = next(r for r in rows if r["expression"] == "neutral")
        neutral["aus"]["AU12"] = 2.0
    rewrite(data, change)
    assert "neutral row has active AUs" in problems(data)


def test_landmarks_wrong_count_and_outside(data):
    def change(rows):
        rows[0]["landmarks"] = rows[0]["landmarks"][:60]
        rows[1]["landmarks"][5] = [SIZE + 50.0, 3.0]
    rewrite(data, change)
    text = problems(data)
    assert "landmarks must be 68 [x, y] pixel points" in text and "1 landmarks lie outside the 32x32 image" in text


def test_landmarks_by_path(data):
    def change(rows):
        (data / "lm.json").write_text(json.dumps(rows[0]["landmarks"]))
        rows[0]["landmarks"] = "lm.json"
        rows[1]["landmarks"] = "missing.json"
    rewrite(data, change)
    text = problems(data)
    assert "landmarks file 'missing.json' does not exist" in text and text.count("landmarks") == 1


def test_missing_field_and_wrong_type(data):
    def change(rows):
        del rows[0]["seed"]
        rows[2]["identity"] = "one"
    rewrite(data, change)
    text = problems(data)
    assert "missing field 'seed'" in text and "identity = 'one': wrong type" in text
    assert "neutral twin" not in text  # a row missing its seed still counts as the neutral twin


def test_paths_must_stay_inside(data):
    def change(rows):
        rows[0]["image"] = "/etc/passwd"
        rows[1]["image"] = "../outside.png"
    rewrite(data, change)
    assert problems(data).count("must be a relative path inside the dataset") == 2


def test_bad_json_line_and_empty_manifest(data):
    with open(data / dataset.MANIFEST_FILE, "a") as f:
        f.write('{"sample_id": \n')
    assert f"{dataset.MANIFEST_FILE}:19: not valid JSON" in problems(data)
    (data / dataset.MANIFEST_FILE).write_text("")
    assert "has no rows" in problems(data)


def test_header_missing_or_wrong_version(data):
    header = json.loads((data / dataset.DATASET_FILE).read_text())
    header["format_version"] = 99
    (data / dataset.DATASET_FILE).write_text(json.dumps(header))
    assert "format_version = 99" in problems(data)
    (data / dataset.DATASET_FILE).unlink()
    assert "dataset.json: missing" in problems(data)


def test_cli_validate_reports_problems(data):
    ok = run_cli("validate", str(data))
    assert ok.returncode == 0 and "valid: 18 images of 3 identities" in ok.stdout
    (data / dataset.read_manifest(data)[0]["image"]).unlink()
    rewrite(data, lambda rows: rows + [rows[2]])
    bad = run_cli("validate", str(data))
    assert bad.returncode == 1
    lines = bad.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("manifest.jsonl:") for line in lines)
    assert "invalid: 2 problem(s)" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_validate_usage_errors(tmp_path):
    missing = run_cli("validate", str(tmp_path / "none"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such dataset folder" in missing.stderr
    empty = run_cli("validate", str(tmp_path))
    assert empty.returncode == 2 and "nothing to validate" in empty.stderr

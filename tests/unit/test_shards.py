"""Shard specs, crash-safe shard manifests and merging."""

import pytest

from pain3d import dataset
from pain3d.errors import Pain3DError
from pain3d.farm.shards import ShardManifest, merge, parse_shard, shard_identities, shard_manifest_path
from tests.conftest import run_cli
from tests.sample_data import build_dataset


@pytest.mark.parametrize("spec, expected", [("0/1", (0, 1)), ("3/4", (3, 4)), (" 1/2 ", (1, 2))])
def test_parse_shard(spec, expected):
    assert parse_shard(spec) == expected


@pytest.mark.parametrize("spec", ["3/2", "-1/4", "a/b", "2/2", "1/0", "1", "", "1/2/3"])
def test_bad_shard_specs(spec):
    with pytest.raises(Pain3DError, match=r"^--shard .*: invalid; allowed: I/N with integers 0 <= I < N"):
        parse_shard(spec)


def test_shards_partition_identities():
    parts = [shard_identities(10, i, 3) for i in range(3)]
    assert sorted(sum(parts, [])) == list(range(10))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def split_into_shards(root, rows, count=2):
    (root / dataset.MANIFEST_FILE).unlink()
    for index in range(count):
        with ShardManifest(root, index, count) as shard:
            for row in rows:
                if row["identity"] % count == index:
                    shard.append(row)


def test_merge_restores_the_manifest_in_plan_order(tmp_path):
    rows = build_dataset(tmp_path)
    split_into_shards(tmp_path, list(reversed(rows)))
    assert merge(tmp_path) == len(rows)
    assert dataset.read_manifest(tmp_path) == rows
    assert dataset.validate(tmp_path).ok


def test_partial_last_line_is_ignored_and_cut(tmp_path):
    rows = build_dataset(tmp_path)
    split_into_shards(tmp_path, rows, count=1)
    path = shard_manifest_path(tmp_path, 0, 1)
    with open(path, "a") as f:
        f.write('{"sample_id": "half')  # a writer killed mid-line
    with ShardManifest(tmp_path, 0, 1) as shard:
        assert len(shard.rows()) == len(rows)
        shard.append(rows[0])  # a re-run appends after the cut, never onto the half line
    assert path.read_text().count("\n") == len(rows) + 1
    assert merge(tmp_path) == len(rows)  # the repeated sample appears once


def test_rows_without_images_are_dropped(tmp_path):
    rows = build_dataset(tmp_path)
    split_into_shards(tmp_path, rows)
    (tmp_path / rows[0]["image"]).unlink()
    assert merge(tmp_path) == len(rows) - 1


def test_a_shard_cannot_run_twice_at_once(tmp_path):
    with ShardManifest(tmp_path, 1, 4):
        with pytest.raises(Pain3DError, match="shard 1/4 is already running"):
            with ShardManifest(tmp_path, 1, 4):
                pass
        with ShardManifest(tmp_path, 2, 4):  # another shard is fine
            pass


def test_merge_cli(tmp_path):
    rows = build_dataset(tmp_path)
    split_into_shards(tmp_path, rows)
    result = run_cli("merge", str(tmp_path))
    assert result.returncode == 0 and f"merged {len(rows)} rows" in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("merge", str(empty))
    assert result.returncode == 2 and "no plan here" in result.stderr

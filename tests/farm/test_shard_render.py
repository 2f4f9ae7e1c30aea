"""The farm's render use case (`pain3d.farm.shard_render`) over a fake render tool: no Blender,
milliseconds per test. The real tool (`farm/blender_tool.py`) is covered by tests/farm/test_render.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pain3d import dataset
from pain3d.camera import Camera
from pain3d.farm import shard_render
from pain3d.farm.shard_render import Shot
from pain3d.farm.shards import ShardManifest, shard_manifest_path
from pain3d.jobs import load_job
from pain3d.plan import make_plan, write_plan

JOB = """\
seed = 3
[identities]
count = 3
[expressions]
per_identity = 2
[render]
resolution = 32
views = [-30, 30]
depth = true
"""


class Crash(BaseException):
    """A killed process: nothing in the use case may catch it."""


class FakeTool:
    """Records every call and writes small stand-in files where Blender would write its PNGs."""

    def __init__(self, fail_build: set[int] = frozenset(), crash_after: int | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail_build, self.crash_after = fail_build, crash_after
        self.rendered = 0
        self.data: Path | None = None

    def build_head(self, identity, textures):
        self.calls.append(("build_head", identity["index"]))
        if identity["index"] in self.fail_build:
            raise RuntimeError("no such mesh")
        return {"identity": identity["index"], "aus": None}

    def set_aus(self, head, aus):
        head["aus"] = dict(aus)
        self.calls.append(("set_aus", head["identity"]))

    def set_heat(self, head, aus):
        self.calls.append(("set_heat", head["identity"], sum(aus.values())))

    def apply_lighting(self, head, lighting):
        self.calls.append(("apply_lighting", head["identity"]))

    def set_background(self, background):
        self.calls.append(("set_background", background["kind"]))

    def render_view(self, head, view, folder):
        if self.crash_after is not None and self.rendered == self.crash_after:
            raise Crash()
        self.rendered += 1
        self.calls.append(("render_view", head["identity"], view["yaw"]))
        files = {}
        for field in ("image", *dataset.label_files(depth=True, normals=False)):
            files[field] = folder / f"{field}0001.png"
            files[field].write_bytes(f"{field} {head['identity']} {view['yaw']}".encode())
        camera = Camera(world=np.eye(4), focal_mm=50.0, width=32, height=32)
        return Shot(files, camera, np.full((68, 2), 16.0))

    def remove_head(self, head):
        self.calls.append(("remove_head", head["identity"]))


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Path, dict]:
    (tmp_path / "job.toml").write_text(JOB)
    plan = make_plan(load_job(tmp_path / "job.toml"))
    write_plan(tmp_path / "data", plan)
    return tmp_path / "data", plan


def rows_of(data: Path) -> list[dict]:
    with ShardManifest(data, 0, 1) as manifest:
        return manifest.rows()


def test_every_sample_is_rendered_once_with_its_files_and_row(planned):
    data, plan = planned
    tool = FakeTool()
    assert shard_render.render_shard(tool, data, plan, 0, 1) == []
    rows = rows_of(data)
    assert len(rows) == 3 * 3 * 2 == tool.rendered  # identities x (neutral + 2 pain) x views
    assert len({r["sample_id"] for r in rows}) == len(rows)
    for row in rows:
        for field in ("image", "heatmap", "heatmap_color", "mask", "depth", "camera"):
            if row.get(field):
                assert row[field] == dataset.file_path(row["sample_id"], field, Path(row[field]).suffix)
                assert (data / row[field]).is_file()
        assert row["age_band"] == plan["identities"][row["identity"]]["age_band"]
    assert not any((data / ".tmp").iterdir())  # every temporary folder was emptied into place
    builds = [c for c in tool.calls if c[0] == "build_head"]
    assert builds == [("build_head", i) for i in range(3)]  # one head per identity, each removed
    assert [c for c in tool.calls if c[0] == "remove_head"] == [("remove_head", i) for i in range(3)]
    assert sum(c[0] == "apply_lighting" for c in tool.calls) == len(rows)  # a scene drawn per image


def test_heat_files_only_for_pain_rows(planned):
    data, plan = planned
    shard_render.render_shard(FakeTool(), data, plan, 0, 1)
    rows = rows_of(data)
    neutral = [r for r in rows if r["expression"] == dataset.NEUTRAL]
    assert neutral and all(r["heatmap"] is None and "heatmap_color" not in r for r in neutral)
    assert all(r["heatmap"] and r["heatmap_color"] for r in rows if r["expression"] != dataset.NEUTRAL)
    heat_files = {p.name for p in (data / "heatmaps").iterdir()}
    assert heat_files == {Path(r["heatmap"]).name for r in rows if r["heatmap"]}


def test_camera_file_records_camera_scene_and_depth_unit(planned):
    data, plan = planned
    shard_render.render_shard(FakeTool(), data, plan, 0, 1)
    row = rows_of(data)[0]
    record = json.loads((data / row["camera"]).read_text())
    assert record["resolution"] == 32 and record["depth_unit_m"] == dataset.DEPTH_UNIT_M
    assert set(record["scene"]) >= {"lighting", "background"}
    assert len(record["intrinsics"]) == 3 and len(record["extrinsics"]) == 4


def test_a_failing_identity_does_not_stop_the_shard(planned):
    data, plan = planned
    failures = shard_render.render_shard(FakeTool(fail_build={1}), data, plan, 0, 1)
    assert failures == [(1, "RuntimeError: no such mesh")]
    assert {r["identity"] for r in rows_of(data)} == {0, 2}


def test_a_killed_shard_resumes_where_it_stopped(planned):
    data, plan = planned
    with pytest.raises(Crash):
        shard_render.render_shard(FakeTool(crash_after=7), data, plan, 0, 1)
    first = rows_of(data)
    assert len(first) == 7  # the 8th image died before its row: no row without files
    assert all((data / r["image"]).is_file() for r in first)
    again = FakeTool()
    assert shard_render.render_shard(again, data, plan, 0, 1) == []
    rows = rows_of(data)
    assert again.rendered == 18 - 7 and len(rows) == 18 == len({r["sample_id"] for r in rows})
    assert [c for c in again.calls if c[0] == "build_head"] == [("build_head", 1), ("build_head", 2)]
    finished = FakeTool()
    shard_render.render_shard(finished, data, plan, 0, 1)
    assert finished.calls == []  # nothing left: no head is even built


def test_shards_split_identities(planned):
    data, plan = planned
    tools = [FakeTool(), FakeTool()]
    for index, tool in enumerate(tools):
        shard_render.render_shard(tool, data, plan, index, 2)
    built = [[c[1] for c in t.calls if c[0] == "build_head"] for t in tools]
    assert sorted(built[0] + built[1]) == [0, 1, 2] and not set(built[0]) & set(built[1])
    assert all(shard_manifest_path(data, i, 2).is_file() for i in range(2))


def test_samples_to_render_skips_done_ones(planned):
    _, plan = planned
    identity = plan["identities"][0]
    neutral = dataset.sample_id(0, dataset.NEUTRAL, 0)
    todo = shard_render.samples_to_render(plan, identity, {neutral})
    assert len(todo) == 5 and (identity["expressions"][0], 0) not in todo

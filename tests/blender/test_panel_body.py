"""The artist's panel dresses a head and lays it in bed (real Blender, no render): the operators
build the garments and bedding of the core, a headscarf takes the scalp hair with it, and the job
export carries the person's garment and bed to the farm."""

from __future__ import annotations

import pytest

from pain3d.jobs import load_job
from tests.blender.harness import bpy_missing, run_bpy

pytestmark = bpy_missing

SCRIPT = """
import json, bpy
from pain3d import addon
from pain3d.addon import head as heads
from pain3d.addon.bed import BED_PROP, bed_record
from pain3d.addon.clothing import clothing_objects, clothing_record
from pain3d.addon.hair import hair_objects, HAIR_PROP
bpy.ops.wm.read_factory_settings(use_empty=True)
addon.register()
ctx = bpy.context
settings = ctx.scene.pain3d
settings.age, settings.sex, settings.ethnicity, settings.seed = 34.0, "female", "Middle Eastern", 5
assert bpy.ops.pain3d.new_head() == {"FINISHED"}
head = ctx.active_object

def state():
    return {"garments": sorted(json.loads(o["pain3d_clothing"])["garment"] for o in clothing_objects(head)),
            "hair": sorted(o[HAIR_PROP] for o in hair_objects(head)),
            "bedding": sorted(o.name.rsplit("_", 1)[-1] for o in head.children if BED_PROP in o),
            "bed": bed_record(head)}

facts = {"new": state()}
settings.garment = "hospital_gown"
assert bpy.ops.pain3d.dress() == {"FINISHED"}
facts["gown"] = state()
first = clothing_record(head)["colour"]
assert bpy.ops.pain3d.dress() == {"FINISHED"}
facts["colours_differ"] = clothing_record(head)["colour"] != first
settings.garment = "headscarf"
assert bpy.ops.pain3d.dress() == {"FINISHED"}
facts["scarf"] = state()
assert bpy.ops.pain3d.undress() == {"FINISHED"}
facts["bare"] = state()
assert bpy.ops.pain3d.random_clothes() == {"FINISHED"}
facts["random"] = state()
facts["panel_garment"] = settings.garment
settings.bed_turn, settings.bed_recline = -15.0, 35.0
assert bpy.ops.pain3d.lay_in_bed() == {"FINISHED"}
facts["bed"] = state()
settings.export_path = sys.argv[1]
assert bpy.ops.pain3d.export_job() == {"FINISHED"}
assert bpy.ops.pain3d.remove_bed() == {"FINISHED"}
facts["no_bed"] = state()
report(facts)
"""


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    home = tmp_path_factory.mktemp("panel")
    job = home / "job.toml"
    out = run_bpy(SCRIPT, home, args=(str(job),))
    out["job"] = load_job(job)
    return out


def test_a_new_head_is_dressed_from_the_priors(facts):
    assert len(facts["new"]["garments"]) >= 1 and facts["new"]["bedding"] == []


def test_dress_puts_on_the_panels_garment_in_fresh_colours(facts):
    assert facts["gown"]["garments"] == ["hospital_gown"] and facts["colours_differ"]


def test_a_headscarf_takes_the_scalp_hair_and_undressing_brings_it_back(facts):
    assert facts["scarf"]["garments"][0] == "headscarf" and len(facts["scarf"]["garments"]) == 2  # over a top
    assert "scalp" not in facts["scarf"]["hair"] and "brows" in facts["scarf"]["hair"]
    assert facts["bare"]["garments"] == [] and "scalp" in facts["bare"]["hair"]


def test_random_clothes_dress_the_head_and_show_the_garment(facts):
    assert facts["panel_garment"] in facts["random"]["garments"]


def test_lay_in_bed_builds_the_bedding_at_the_panels_turn_and_recline(facts):
    assert facts["bed"]["bedding"] == ["blanket", "mattress", "pillow", "rails"]
    assert facts["bed"]["bed"]["turn"] == -15.0 and facts["bed"]["bed"]["recline"] == 35.0
    assert facts["no_bed"]["bedding"] == [] and facts["no_bed"]["bed"] is None


def test_the_exported_job_renders_everyone_as_the_panels_person(facts):
    job = facts["job"]
    assert job["clothing"]["enabled"] and job["clothing"]["garment"] == facts["panel_garment"]
    assert job["bed"]["enabled"] and job["bed"]["turn"] == [-15.0, -15.0] and job["bed"]["recline"] == [35.0, 35.0]

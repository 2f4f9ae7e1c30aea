"""Lighting and background draws: deterministic, inside the job's ranges, per identity or per image."""

from __future__ import annotations

import numpy as np
import pytest

from pain3d import environments, scenery
from pain3d.colour import srgb_to_linear
from pain3d.errors import Pain3DError
from pain3d.jobs import load_job, resolve_job
from pain3d.plan import make_plan


NO_ENVIRONMENT = {"kinds": {"gradient": 1}}  # what a grey ambient world needs behind it


def _plan(**sections):
    job = resolve_job({"seed": 5, "identities": {"count": 3}, "expressions": {"per_identity": 2}, **sections})
    return make_plan(job)


def _draws(plan):
    return {(i["index"], e["id"], v): scenery.draw_scene(plan["job"], i, e, v)
            for i in plan["identities"] for e in i["expressions"] for v in range(len(plan["views"]))}


def test_same_plan_same_draws():
    assert _draws(_plan()) == _draws(_plan())


def test_another_seed_other_draws():
    a = _draws(_plan())
    job = resolve_job({"seed": 6, "identities": {"count": 3}, "expressions": {"per_identity": 2}})
    b = _draws(make_plan(job))
    assert [d["lighting"] for d in a.values()] != [d["lighting"] for d in b.values()]


def test_per_identity_draws_are_shared_by_all_images_of_an_identity():
    draws = _draws(_plan())
    for identity in range(3):
        mine = [d for (i, _, _), d in draws.items() if i == identity]
        assert all(d == mine[0] for d in mine)
    assert len({str(d["lighting"]) for d in draws.values()}) == 3


def test_per_image_draws_differ_between_images():
    draws = _draws(_plan(lighting={"per": "image"}, background={"per": "image"}))
    assert len({str(d["lighting"]) for d in draws.values()}) == len(draws)
    assert len({str(d["background"]) for d in draws.values()}) == len(draws)


def test_lights_stay_inside_their_ranges():
    cfg = resolve_job({"lighting": {"key_power": [5, 6], "temperature": [3200, 3300], "mirror": 0.0}})["lighting"]
    for seed in range(200):
        record = scenery.draw_lighting(cfg, seed)
        assert [light["name"] for light in record["lights"]] == ["key", "fill", "rim"]
        for light in record["lights"]:
            for param in scenery.LIGHT_PARAMS:
                lo, hi = cfg[f"{light['name']}_{param}"]
                assert lo <= light[param] <= hi, (light, param)
            assert 3200 <= light["temperature"] <= 3300
            assert max(light["color"]) == 1.0 and light["color"][2] < 0.5  # warm, normalised
        assert cfg["environment_strength"][0] <= record["world"]["strength"] <= cfg["environment_strength"][1]
        assert record["world"]["path"] in environments.choices("builtin")
    cfg = resolve_job({"lighting": {"environment": ""}, "background": NO_ENVIRONMENT})["lighting"]
    for seed in range(20):
        world = scenery.draw_lighting(cfg, seed)["world"]
        assert world["kind"] == "ambient" and cfg["ambient"][0] <= world["strength"] <= cfg["ambient"][1]


def test_builtin_environments_are_all_drawn_and_leave_the_lights_as_they_were():
    cfg = resolve_job({})["lighting"]
    drawn = [scenery.draw_lighting(cfg, seed) for seed in range(200)]
    names = [d["world"]["path"] for d in drawn]
    assert set(names) == {f"builtin:{name}.exr" for name in environments.BUILTIN}
    assert max(names.count(n) for n in set(names)) < 2.0 * len(names) / len(environments.BUILTIN)
    ambient = resolve_job({"lighting": {"environment": ""}, "background": NO_ENVIRONMENT})["lighting"]
    assert all(scenery.draw_lighting(ambient, seed)["lights"] == d["lights"] for seed, d in enumerate(drawn))


def test_mirror_puts_the_key_on_the_other_side():
    always = resolve_job({"lighting": {"mirror": 1.0}})["lighting"]
    assert all(scenery.draw_lighting(always, s)["lights"][0]["azimuth"] > 0 for s in range(50))
    never = resolve_job({"lighting": {"mirror": 0.0}})["lighting"]
    assert all(scenery.draw_lighting(never, s)["lights"][0]["azimuth"] < 0 for s in range(50))


def test_fixed_lighting_is_the_default_rig():
    cfg = resolve_job({"lighting": {"per": "fixed", "environment": ""}, "background": NO_ENVIRONMENT})["lighting"]
    assert scenery.draw_lighting(cfg, 1) == scenery.draw_lighting(cfg, 2) == scenery.default_lighting()
    with_studio = scenery.draw_lighting(resolve_job({"lighting": {"per": "fixed"}})["lighting"], 1)
    assert with_studio["lights"] == scenery.default_lighting()["lights"]
    assert with_studio["world"]["path"] == "builtin:studio.exr" and with_studio["world"]["rotation"] == 0.0
    assert {l["name"]: l["power"] for l in scenery.default_lighting()["lights"]} == {
        k: v["power"] for k, v in scenery.DEFAULT_RIG.items()}


def test_white_balance_takes_out_its_share_of_the_lights_cast():
    warm = resolve_job({"lighting": {"temperature": [3200, 3200], "white_balance": 1.0}})["lighting"]
    record = scenery.draw_lighting(warm, 1)
    gains = np.array(record["white_balance"])
    cast = np.array(record["lights"][0]["color"])  # every light the same colour here
    assert np.ptp(cast * gains) < 1e-3  # fully balanced: grey
    half = scenery.white_balance(record["lights"], 0.5)
    assert np.allclose(np.array(half) ** 2, gains, rtol=1e-3)
    assert scenery.white_balance(record["lights"], 0.0) == [1.0, 1.0, 1.0]
    assert gains[2] > 1.0 > gains[0]  # blue raised, red lowered under tungsten
    assert scenery.default_lighting()["white_balance"] == [1.0, 1.0, 1.0]


def test_photos_cover_the_square_frame():
    photo = np.zeros((40, 80, 3), np.float32)
    photo[:, 20:60] = 1.0  # the centre square of a landscape photo
    square = scenery.cover_square(photo, 16)
    assert square.shape == (16, 16, 3) and np.allclose(square, 1.0)
    tall = np.linspace(0, 1, 30)[:, None, None] * np.ones((30, 10, 3))
    out = scenery.cover_square(tall, 10)
    assert out[0, 0, 0] < out[-1, 0, 0] and 0.3 < out[0, 0, 0] < 0.36  # the middle third, top to bottom


def test_kelvin_to_rgb():
    assert scenery.kelvin_to_rgb(6500) == pytest.approx([1.0, 1.0, 1.0], abs=0.05)
    warm, cool = scenery.kelvin_to_rgb(3200), scenery.kelvin_to_rgb(10000)
    assert warm[0] == 1.0 and warm[2] < 0.4 and cool[2] == 1.0 and cool[0] < 1.0


def test_background_kinds_follow_their_weights():
    cfg = resolve_job({"background": {"kinds": {"solid": 3, "gradient": 1}}})["background"]
    kinds = [scenery.draw_background(cfg, s)["kind"] for s in range(400)]
    assert set(kinds) == {"solid", "gradient"}
    assert 0.65 < kinds.count("solid") / len(kinds) < 0.85


@pytest.mark.parametrize("kind", ["solid", "gradient", "procedural"])
def test_background_pixels_use_the_drawn_colours(kind):
    cfg = resolve_job({"background": {"kinds": {kind: 1}, "value": [0.3, 0.6]}})["background"]
    for seed in range(5):
        record = scenery.draw_background(cfg, seed)
        pixels = scenery.background_pixels(record, 64)
        assert pixels.shape == (64, 64, 3) and pixels.dtype == np.float32
        colours = [record["color"]] if kind == "solid" else record["colors"]
        lo, hi = np.min(colours, axis=0), np.max(colours, axis=0)
        assert (pixels >= lo - 1e-5).all() and (pixels <= hi + 1e-5).all()
        assert np.array_equal(pixels, scenery.background_pixels(record, 64))
        if kind != "solid":
            assert pixels.std() > 0
        for c in colours:
            hsv_value = max(c)
            assert 0.3 - 1e-4 <= hsv_value <= 0.6 + 1e-4


def test_a_backdrop_is_paper_lit_brightest_behind_the_head():
    """A backdrop is the drawn colour where its background light is aimed (above the frame's centre,
    behind the head), falling off in linear light to about `edge` of it in the corners, with a
    mottle of at most `mottle`; never a two-colour blend."""
    cfg = resolve_job({"background": {"kinds": {"backdrop": 1}}})["background"]
    for seed in range(8):
        record = scenery.draw_background(cfg, seed)
        pixels = scenery.background_pixels(record, 128)
        assert record["kind"] == "backdrop" and np.array_equal(pixels, scenery.background_pixels(record, 128))
        light = srgb_to_linear(pixels) / srgb_to_linear(np.asarray(record["color"]))[None, None, :].clip(1e-6)
        light = light.mean(axis=2)
        hx, hy = record["hotspot"]
        at_hotspot = light[int((0.5 - hy) * 128), int((0.5 + hx) * 128)]
        corners = light[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert abs(at_hotspot - 1.0) <= record["mottle"] + 0.02
        assert (corners < at_hotspot).all() and (corners.min() - record["edge"]) < 0.15 + record["mottle"]
        assert light.max() <= 1.0 + record["mottle"] + 1e-3


def test_the_default_background_is_a_photograph_or_a_muted_backdrop():
    """Defaults draw environments (the world's map through the lens) and studio backdrops in greys
    and muted tints, not the saturated two-colour walls of a graphics demo."""
    cfg = resolve_job({})["background"]
    records = [scenery.draw_background(cfg, seed) for seed in range(300)]
    kinds = [r["kind"] for r in records]
    assert set(kinds) == {"environment", "backdrop"} and 0.1 < kinds.count("backdrop") / len(kinds) < 0.3
    for r in records:
        if r["kind"] == "backdrop":
            c = np.asarray(r["color"])
            assert (c.max() - c.min()) / max(c.max(), 1e-6) <= 0.25 + 1e-3  # HSV saturation


def test_generated_backgrounds_are_capped_in_size():
    record = {"kind": "procedural", "pattern": "voronoi", "colors": [[0, 0, 0], [1, 1, 1]], "scale": 8.0,
              "pixel_seed": 1, "seed": 0}
    assert scenery.background_pixels(record, 4096).shape == (scenery.BACKGROUND_PIXELS,) * 2 + (3,)


def test_image_backgrounds_pick_from_the_folder(tmp_path):
    folder = tmp_path / "bg"
    folder.mkdir()
    for name in ("b.png", "a.jpg", "notes.txt"):
        (folder / name).write_bytes(b"x")
    job = tmp_path / "job.toml"
    job.write_text('[background]\nkinds = {images = 1}\nimages = "bg"\n')
    cfg = load_job(job)["background"]
    assert cfg["images"] == str(folder)  # relative to the job file
    picks = {scenery.draw_background(cfg, s)["file"] for s in range(50)}
    assert picks == {"a.jpg", "b.png"}


def test_image_background_errors(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text('[background]\nkinds = {images = 1}\nimages = "missing"\n')
    with pytest.raises(Pain3DError, match=r'job.toml: background.images = ".*missing": no such folder; allowed:'):
        load_job(job)
    (tmp_path / "empty").mkdir()
    job.write_text('[background]\nkinds = {images = 1}\nimages = "empty"\n')
    with pytest.raises(Pain3DError, match="the folder holds no images"):
        load_job(job)
    job.write_text("[background]\nkinds = {images = 1}\n")
    with pytest.raises(Pain3DError, match="background.kinds.images = 1 but background.images is not set"):
        load_job(job)
    job.write_text('[background]\nimages = "missing"\n')  # not chosen: not checked
    assert load_job(job)["background"]["kinds"]["images"] == 0


@pytest.mark.parametrize("text, message", [
    ('[lighting]\nkey_power = [30, 10]\n',
     "lighting.key_power = [30, 10]: invalid; allowed: [low, high] with 0 <= low <= high <= 500 (W)"),
    ('[lighting]\ntemperature = 5000\n',
     "lighting.temperature = 5000: invalid; allowed: [low, high] with 1000 <= low <= high <= 20000 (K)"),
    ('[lighting]\nper = "scene"\n', 'lighting.per = "scene": invalid; allowed: one of "identity", "image", "fixed"'),
    ('[lighting]\nenvironment = "none.exr"\n', 'lighting.environment = "none.exr": no such file'),
    ('[background]\nkinds = {marble = 1}\n', "background.kinds: unknown kind 'marble'; allowed: environment, backdrop, solid"),
    ('[lighting]\nenvironment = ""\n', 'background.kinds.environment = 4 but lighting.environment = ""; allowed:'),
    ('[background]\nblur = [0.3, 0.1]\n', "background.blur = [0.3, 0.1]: invalid; allowed: [low, high] with 0 <="),
    ('[background]\nkinds = {solid = 0}\n', "background.kinds = {'solid': 0}: invalid; allowed: a table of"),
    ('[render]\ndepth = "yes"\n', 'render.depth = "yes": invalid; allowed: true or false'),
])
def test_bad_values_are_one_line_errors(tmp_path, text, message):
    job = tmp_path / "job.toml"
    job.write_text(text)
    with pytest.raises(Pain3DError) as err:
        load_job(job)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_environment_path_is_resolved(tmp_path):
    (tmp_path / "studio.exr").write_bytes(b"x")
    job = tmp_path / "job.toml"
    job.write_text('[lighting]\nenvironment = "studio.exr"\nenvironment_strength = [1, 1]\n')
    cfg = load_job(job)["lighting"]
    record = scenery.draw_lighting(cfg, 3)
    assert record["world"] == {"kind": "environment", "path": str(tmp_path / "studio.exr"),
                               "rotation": record["world"]["rotation"], "strength": 1.0}
    assert 0 <= record["world"]["rotation"] < 360


def test_environment_folders_draw_their_maps(tmp_path):
    folder = tmp_path / "hdr"
    folder.mkdir()
    for name in ("b.exr", "a.hdr", "photo.jpg"):
        (folder / name).write_bytes(b"x")
    job = tmp_path / "job.toml"
    job.write_text('[lighting]\nenvironment = "hdr"\n')
    cfg = load_job(job)["lighting"]
    assert {scenery.draw_lighting(cfg, s)["world"]["path"] for s in range(40)} == {
        str(folder / "a.hdr"), str(folder / "b.exr")}
    (folder / "a.hdr").unlink()
    (folder / "b.exr").unlink()
    with pytest.raises(Pain3DError, match='lighting.environment = ".*hdr": the folder holds no HDR/EXR files'):
        load_job(job)


def test_environment_backgrounds_carry_a_blur_in_range():
    cfg = resolve_job({"background": {"kinds": {"environment": 1}, "blur": [0.01, 0.02]}})["background"]
    for seed in range(30):
        record = scenery.draw_background(cfg, seed)
        assert record["kind"] == "environment" and 0.01 <= record["blur"] <= 0.02
    with pytest.raises(ValueError, match="no generated pixels"):
        scenery.background_pixels(record, 64)


def test_plans_without_scenery_sections_still_draw():
    plan = _plan()
    old_job = {k: v for k, v in plan["job"].items() if k not in ("lighting", "background")}
    identity = plan["identities"][0]
    assert scenery.draw_scene(old_job, identity, identity["expressions"][0], 0) == \
        scenery.draw_scene(plan["job"], identity, identity["expressions"][0], 0)

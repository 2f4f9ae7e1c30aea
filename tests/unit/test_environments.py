"""Environment maps in pure numpy: ray directions, Cycles' equirectangular mapping, lens blur."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pain3d import camera as cam, environments as env


def _camera(yaw: float = 0.0, pitch: float = 0.0, size: int = 64) -> cam.Camera:
    return cam.orbit_camera(np.array([0.0, 0.0, 1.6]), 0.25, yaw, pitch, size)


def test_rays_fan_out_from_the_camera_axis_by_the_lens_angle():
    camera = _camera(yaw=25.0, pitch=10.0, size=64)
    rays = env.ray_directions(camera, 64)
    forward = -camera.world[:3, 2]
    centre = rays[31:33, 31:33].mean(axis=(0, 1))
    assert np.dot(centre / np.linalg.norm(centre), forward) == pytest.approx(1.0, abs=1e-6)
    half_fov = math.atan(camera.sensor_mm / 2 / camera.focal_mm)
    edge = math.atan((31.5 / 32) * math.tan(half_fov))  # the outermost pixel centre
    assert math.degrees(math.acos(np.dot(rays[32, -1], forward))) == pytest.approx(math.degrees(edge), abs=0.3)
    up = camera.world[:3, 1]
    assert np.dot(rays[0, 32], up) > 0 > np.dot(rays[-1, 32], up)  # row 0 on top
    assert np.allclose(np.linalg.norm(rays, axis=-1), 1.0)


@pytest.mark.parametrize("direction, rotation, uv", [
    ((1, 0, 0), 0.0, (0.5, 0.5)),
    ((0, 1, 0), 0.0, (0.25, 0.5)),
    ((0, -1, 0), 0.0, (0.75, 0.5)),
    ((0, 0, 1), 0.0, (None, 1.0)),
    ((0, 0, -1), 0.0, (None, 0.0)),
    ((1, 0, 0), 90.0, (0.25, 0.5)),  # the world turned by 90 degrees samples at Rz(90) d
])
def test_equirect_mapping_is_cycles_one(direction, rotation, uv):
    u, v = env.equirect_uv(np.array([direction], float), rotation)
    if uv[0] is not None:
        assert u[0] % 1.0 == pytest.approx(uv[0])
    assert v[0] == pytest.approx(uv[1])


def test_equirect_lookup_wraps_around_and_interpolates():
    image = np.zeros((4, 8, 3))
    image[:, 0] = 1.0
    image[:, -1] = 1.0
    seam = env.sample_equirect(image, np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    assert np.allclose(seam, 1.0)  # u = 0 and u = 1 meet between the first and last column
    halfway = env.sample_equirect(image, np.array([1.0 / 8]), np.array([0.5]))  # between columns 0 and 1
    assert halfway[0, 0] == pytest.approx(0.5)


def test_lens_blur_keeps_the_mean_and_softens():
    rng = np.random.default_rng(0)
    image = rng.random((48, 48, 3))
    blurred = env.lens_blur(image, 2.0)
    assert blurred.shape == image.shape
    assert blurred.mean() == pytest.approx(image.mean(), abs=0.01)
    assert blurred.std() < 0.5 * image.std()
    assert env.lens_blur(image, 0.0) is image


def test_a_constant_map_is_seen_at_its_strength():
    image = np.full((32, 64, 3), 0.25)
    seen = env.environment_view(image, _camera(yaw=-30.0), 123.0, 32, 2.0, 0.02)
    assert seen.shape == (32, 32, 3) and seen.dtype == np.float32
    assert np.allclose(seen, 0.5)
    assert env.mean_luminance(image) == pytest.approx(0.25)


def test_mean_luminance_weights_rows_by_their_solid_angle():
    sky = np.zeros((90, 180, 3))
    sky[:10] = 1.0  # a bright band at the zenith covers little of the sphere
    horizon = np.zeros((90, 180, 3))
    horizon[40:50] = 1.0
    assert env.mean_luminance(sky) < 0.2 * env.mean_luminance(horizon)


def test_choices():
    assert env.choices("builtin") == [f"builtin:{n}.exr" for n in env.BUILTIN]
    assert env.is_builtin("builtin:forest.exr") and not env.is_builtin("/maps/forest.exr")
    assert env.builtin_file("builtin:forest.exr", "/dat").as_posix() == "/dat/studiolights/world/forest.exr"

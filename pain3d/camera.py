"""Pinhole cameras in Blender's conventions, in pure numpy.

World: metres, Z up, the head looks toward -Y, so the subject's left is +X. A camera looks
down its local -Z axis with local +Y up (Blender's convention). Pixel coordinates have their
origin at the image's top-left corner, x to the right, y down (the dataset's convention).

The Blender layer and the farm place cameras with `orbit_camera` and project landmarks with
`project`, so labels line up with the pixels Blender renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SENSOR_WIDTH_MM = 36.0


@dataclass(frozen=True)
class Camera:
    """A square-pixel pinhole camera: pose, lens and resolution."""

    world: np.ndarray  # 4x4 camera-to-world matrix
    focal_mm: float
    width: int
    height: int
    sensor_mm: float = SENSOR_WIDTH_MM  # sensor fit: the larger image side spans the sensor

    @property
    def intrinsics(self) -> np.ndarray:
        """3x3 K matrix in pixels (principal point at the image centre)."""
        f = self.focal_mm / self.sensor_mm * max(self.width, self.height)
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]])

    @property
    def extrinsics(self) -> np.ndarray:
        """4x4 world-to-camera matrix in OpenCV axes (x right, y down, z forward)."""
        flip = np.diag([1.0, -1.0, -1.0, 1.0])
        return flip @ np.linalg.inv(self.world)

    def to_dict(self) -> dict:
        return {"focal_mm": self.focal_mm, "sensor_mm": self.sensor_mm, "width": self.width,
                "height": self.height, "world": self.world.round(9).tolist(),
                "K": self.intrinsics.round(6).tolist(), "world_to_camera_cv": self.extrinsics.round(9).tolist()}


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """Camera-to-world matrix of a camera at `eye` looking at `target` (local -Z forward, +Y up)."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any right vector will do
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    true_up = np.cross(back, right)
    world = np.eye(4)
    world[:3, 0], world[:3, 1], world[:3, 2], world[:3, 3] = right, true_up, back, eye
    return world


def orbit_position(target: np.ndarray, distance: float, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Where a camera sits to see `target` from the front turned by yaw/pitch.

    Yaw 0, pitch 0 is straight in front of the face (on -Y). Positive yaw moves the camera
    toward the subject's left (+X); positive pitch moves it up.
    """
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    offset = np.array([math.sin(yaw) * math.cos(pitch), -math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
    return np.asarray(target, float) + distance * offset


def framing_distance(extent_m: float, focal_mm: float, fill: float, sensor_mm: float = SENSOR_WIDTH_MM) -> float:
    """Distance at which an object `extent_m` across fills `fill` of the image side."""
    half_fov = math.atan(sensor_mm / (2.0 * focal_mm))
    return extent_m / (2.0 * fill * math.tan(half_fov))


def orbit_camera(target: np.ndarray, extent_m: float, yaw_deg: float, pitch_deg: float, resolution: int,
                 focal_mm: float = 85.0, fill: float = 0.65) -> Camera:
    """A portrait camera framing an object of size `extent_m` at `target` from the given view."""
    distance = framing_distance(extent_m, focal_mm, fill)
    eye = orbit_position(target, distance, yaw_deg, pitch_deg)
    return Camera(look_at(eye, target), focal_mm, resolution, resolution)


def project(camera: Camera, points: np.ndarray) -> np.ndarray:
    """Pixel coordinates (N, 2) of world points (N, 3); origin top-left, y down."""
    pts = np.asarray(points, float)
    homogeneous = np.c_[pts, np.ones(len(pts))]
    cam = (camera.extrinsics @ homogeneous.T).T[:, :3]
    uvw = (camera.intrinsics @ cam.T).T
    return uvw[:, :2] / uvw[:, 2:3]


def depth(camera: Camera, points: np.ndarray) -> np.ndarray:
    """Distance along the viewing axis of each world point (positive in front of the camera)."""
    pts = np.asarray(points, float)
    cam = (camera.extrinsics @ np.c_[pts, np.ones(len(pts))].T).T
    return cam[:, 2]

"""The jaw contour as annotators draw it: landmark marching on the core head."""

from __future__ import annotations

import numpy as np
import pytest

from pain3d import camera as cam
from pain3d.contour import N_CONTOUR, march_contour
from pain3d.identity import build_identity


@pytest.fixture(scope="module")
def face():
    identity = build_identity(46, "female", "Southeast Asian", 12)
    mesh = identity.mesh
    return identity.head.vertices, mesh.contour_slices, mesh.landmark_vertices, mesh.outline_centre, mesh.face_frame


def _march(face, yaw: float, pitch: float = 0.0):
    V, slices, ids, centre, frame = face
    camera = cam.orbit_camera(frame[:3], frame[3], yaw, pitch, 256)
    fixed = cam.project(camera, V[ids[:N_CONTOUR]])
    return camera, march_contour(camera, V, slices, V[ids[:N_CONTOUR]], centre), fixed


def test_every_contour_landmark_has_a_slice_holding_it(face):
    V, slices, ids, _centre, _frame = face
    assert len(slices) == N_CONTOUR
    for k, vertices in enumerate(slices):
        assert ids[k] in vertices and len(vertices) >= 8, (k, len(vertices))
        assert (V[vertices, 1] < 0.01).all()  # the face's sides, never the back of the head


def test_from_the_front_the_contour_is_the_outline_at_the_fixed_points(face):
    """The fixed points are the outline of the face's front half; the true outline lies a little
    further back round the cheek, so marched points stay on or just outside them (a few pixels),
    outward from the outline's centre (the directions the contour is taken in). Along the outline
    they may slide within their slice's 4 degrees (where the cheekbones' silhouette bulges)."""
    camera, marched, fixed = _march(face, 0.0)
    centre = cam.project(camera, face[3][None])[0]
    outward = (fixed - centre) / np.linalg.norm(fixed - centre, axis=1, keepdims=True)
    along = np.einsum("ij,ij->i", marched - fixed, outward)
    assert (along > -0.5).all() and along.max() < 5.0, along.round(1)


@pytest.mark.parametrize("yaw", [-40.0, 40.0])
def test_turned_the_far_side_slides_onto_the_cheek_silhouette(face, yaw):
    """The far side's fixed points fall inside the face's outline; the marched ones lie on it:
    no skin of their slice is further out in the image, and they stand several pixels outside
    the fixed points."""
    _camera, marched, fixed = _march(face, yaw)
    # yaw > 0 turns the subject's right side (points 0-7, image left) away
    far, outward = (range(1, 7), -1.0) if yaw > 0 else (range(10, 16), 1.0)
    for k in far:
        assert (marched[k, 0] - fixed[k, 0]) * outward > 3.0, (k, marched[k], fixed[k])
    chin = 8
    assert np.linalg.norm(marched[chin] - fixed[chin]) < 8.0

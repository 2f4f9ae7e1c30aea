"""pain3d.raster: exact point-sampled rasterisation, UV-space maps and camera correspondence."""

from __future__ import annotations

import numpy as np
import pytest

from pain3d import camera as cam
from pain3d import raster
from pain3d.fileio import png_gray16
from pain3d.head.topology import BUST_UV_BOX, PART_ID
from pain3d.identity import build_identity


def test_pixel_centres_inside_a_triangle_are_exactly_covered():
    points = np.array([[1.0, 1.0], [9.0, 1.0], [1.0, 7.0]])
    result = raster.rasterize(points, np.array([[0, 1, 2]]), 12, 10)
    rows, cols = np.mgrid[0:10, 0:12] + 0.5
    inside = (cols >= 1) & (rows >= 1) & ((cols - 1) / 8 + (rows - 1) / 6 <= 1)
    assert np.array_equal(result.covered, inside)
    centres = result.interpolate(points[None])  # barycentrics reproduce the pixel centres
    assert np.allclose(centres[inside], np.stack([cols, rows], axis=2)[inside])


def test_nearest_triangle_wins_whatever_the_order():
    square = np.array([[0.0, 0.0], [8.0, 0.0], [8.0, 8.0], [0.0, 8.0]])
    points = np.vstack([square, square])
    tris = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    for near_first in (True, False):
        depth = np.r_[np.full(4, 1.0), np.full(4, 2.0)] if near_first else np.r_[np.full(4, 2.0), np.full(4, 1.0)]
        result = raster.rasterize(points, tris, 8, 8, depth=depth)
        winners = result.triangle[result.covered]
        assert set(winners) == ({0, 1} if near_first else {2, 3})


@pytest.fixture(scope="module")
def identity():
    return build_identity(45, "male", "Black", seed=5)


def test_uv_maps_put_each_skin_vertex_at_its_texel(identity):
    head, size = identity.head, 1024
    maps = raster.uv_maps(head, size)
    assert maps["coverage"].mean() > 0.8  # the islands fill most of the square
    skin = np.nonzero(np.isin(head.face_part, [PART_ID["skin"]]))[0]
    corners = np.concatenate([np.arange(head.poly_starts[f], head.poly_starts[f + 1]) for f in skin[::7]])
    col, row = raster.uv_pixels(head.corner_uv[corners], size).astype(int).T
    inner = (col > 0) & (col < size - 1) & (row > 0) & (row < size - 1)
    col, row, corners = col[inner], row[inner], corners[inner]
    on = maps["coverage"][row, col]
    assert on.mean() > 0.97
    error = np.linalg.norm(maps["position"][row, col][on] - head.vertices[head.poly_verts[corners[on]]], axis=1)
    u0, v0, u1, v1 = BUST_UV_BOX
    uv = head.corner_uv[corners[on]]
    bust = (uv[:, 0] >= u0) & (uv[:, 0] <= u1) & (uv[:, 1] >= v0) & (uv[:, 1] <= v1)
    assert np.median(error[~bust]) < 0.0005 and np.quantile(error[~bust], 0.99) < 0.004  # metres
    # the bust's small island (mostly under clothes) has texels about 9 mm wide
    assert bust.any() and np.median(error[bust]) < 0.004 and error[bust].max() < 0.012
    normals = maps["normal"][maps["coverage"]]
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-4)


def test_view_correspondence_agrees_with_the_camera(identity):
    head = identity.head
    frame = identity.mesh.face_frame
    camera = cam.orbit_camera(np.asarray(frame[:3]), frame[3], 30.0, 0.0, 256)
    seen = raster.view_correspondence(head, camera)
    skin = np.nonzero(head.vertex_part == PART_ID["skin"])[0]
    xy = cam.project(camera, head.vertices[skin])
    col, row = np.floor(xy).astype(int).T
    depth = cam.depth(camera, head.vertices[skin])
    inside = (col >= 0) & (col < 256) & (row >= 0) & (row < 256)
    col, row, depth, skin = col[inside], row[inside], depth[inside], skin[inside]
    front = seen["visible"][row, col] & (np.abs(seen["depth"][row, col] - depth) < 0.001)  # not occluded
    assert front.sum() > 1000
    assert (seen["facing"][row, col][front] > 0).mean() > 0.95
    first_corner = {int(v): c for c, v in enumerate(head.poly_verts)}  # any corner: seams are rare on the face
    uv = head.corner_uv[[first_corner[int(v)] for v in skin[front]]]
    gap = np.abs(seen["uv"][row, col][front] - uv).max(axis=1)
    assert np.median(gap) < 0.01
    eyes = np.isin(head.vertex_part, [PART_ID["eye_L_iris"], PART_ID["eye_R_iris"]])
    ex, ey = np.floor(cam.project(camera, head.vertices[eyes])).astype(int).T
    assert seen["visible"][ey, ex].mean() < 0.2  # the irises hide the skin behind them


def test_png_gray16_round_trips():
    from io import BytesIO

    from PIL import Image

    values = (np.random.default_rng(1).random((9, 14)) * 65535).astype(np.uint16)
    assert np.array_equal(np.asarray(Image.open(BytesIO(png_gray16(values)))), values)

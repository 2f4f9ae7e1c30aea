"""The jaw contour as annotators draw it (pure numpy): landmark marching.

iBUG 68's points 0-16 follow the face's visible outline. Annotators of 300-W place them on the
silhouette of the cheek and jaw, so at a turned view they are not fixed points of the skin: the
far side's points move forward onto the cheek's silhouette, the near side's back towards the
ear. `march_contour` finds them on the posed head, as in Zhu et al., "High-fidelity pose and
expression normalization for face recognition in the wild" (CVPR 2015): each contour landmark
has a slice of skin vertices in its direction of the frontal outline
(`pain3d.head.landmarks.contour_slices`); at a view the landmark is the slice's vertex that lies
furthest out in that direction in the image. From the front this is the fixed landmark itself.
The fixed points, projected, are the dataset's `landmarks_3d` (docs/dataset-format.md).
"""

from __future__ import annotations

import numpy as np

from .camera import Camera, project

N_CONTOUR = 17


def march_contour(camera: Camera, vertices: np.ndarray, slices: list[np.ndarray],
                  fixed: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Pixel positions (17, 2) of the contour landmarks at this camera.

    `vertices` are the posed head's vertices in world space, `slices` each landmark's candidate
    vertex ids, `fixed` the 17 fixed contour points (world) and `centre` the frontal outline's
    centre (world): each landmark's outward direction in the image runs from the centre, moved to
    the landmark's depth, to the fixed point."""
    out = np.empty((N_CONTOUR, 2))
    for k, (ids, point) in enumerate(zip(slices, fixed)):
        origin = np.array([centre[0], point[1], centre[2]])  # at the landmark's depth: no perspective skew
        a, b = project(camera, np.stack([origin, point]))
        direction = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        pixels = project(camera, vertices[ids])
        out[k] = pixels[np.argmax((pixels - a) @ direction)]
    return out

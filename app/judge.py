"""An independent judge of renders: does MediaPipe see a face, and where are its landmarks?

MediaPipe 0.10.21 ships its face detector and face-mesh models inside the wheel (legacy
`mediapipe.solutions`), so judging needs no download. We compare MediaPipe's face-mesh
points with our own projected iBUG-68 landmarks at seven well-defined spots; errors are in
units of the inter-ocular distance (distance between the two eye centres, each the mean of
the six iBUG eye points), the usual normalisation for 68-point landmark error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# MediaPipe face-mesh index -> iBUG-68 index (0-based) at the same facial spot.
MESH_TO_IBUG = {33: 36, 133: 39, 362: 42, 263: 45, 4: 30, 61: 48, 291: 54}
SPOTS = ("eye outer (image left)", "eye inner (image left)", "eye inner (image right)",
         "eye outer (image right)", "nose tip", "mouth corner (image left)", "mouth corner (image right)")


@dataclass(frozen=True)
class Verdict:
    detected: bool
    score: float  # detector confidence, 0 when nothing was found
    errors: np.ndarray | None  # (7,) point errors in iod_landmarks units, None without a mesh


def iod_landmarks(landmarks68: np.ndarray) -> float:
    """Inter-ocular distance in the image: between the means of each eye's six iBUG points (pixels).
    Not the eyeball-centre distance the rig scales by (`pain3d.rig.iod_eye_centres`)."""
    pts = np.asarray(landmarks68, dtype=float)
    return float(np.linalg.norm(pts[36:42].mean(axis=0) - pts[42:48].mean(axis=0)))


class Judge:
    """Holds MediaPipe's detector and face mesh; `judge(image, landmarks68)` per image."""

    def __init__(self, min_detection_confidence: float = 0.5):
        from mediapipe.python.solutions import face_detection, face_mesh

        self._detector = face_detection.FaceDetection(model_selection=0,
                                                      min_detection_confidence=min_detection_confidence)
        self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc) -> None:
        self._detector.close()
        self._mesh.close()

    def judge(self, image: np.ndarray | str | Path, landmarks68: np.ndarray) -> Verdict:
        rgb = _load_rgb(image)
        found = self._detector.process(rgb).detections
        score = max((d.score[0] for d in found), default=0.0) if found else 0.0
        mesh = self._mesh.process(rgb).multi_face_landmarks
        errors = None
        if mesh:
            h, w = rgb.shape[:2]
            points = np.array([(p.x * w, p.y * h) for p in mesh[0].landmark])
            ours = np.asarray(landmarks68, dtype=float)[:, :2]
            theirs = points[list(MESH_TO_IBUG)]
            errors = np.linalg.norm(theirs - ours[list(MESH_TO_IBUG.values())], axis=1) / iod_landmarks(ours)
        return Verdict(bool(found), float(score), errors)


def _load_rgb(image: np.ndarray | str | Path) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return np.ascontiguousarray(image[..., :3].astype(np.uint8))
    from PIL import Image

    with Image.open(image) as im:
        return np.asarray(im.convert("RGB"))

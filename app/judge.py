"""An independent judge of renders: does MediaPipe see a face, where are its landmarks, and does
each pain AU move the face the way FACS says?

MediaPipe 0.10.21 ships its face detector and face-mesh models inside the wheel (legacy
`mediapipe.solutions`), so judging needs no download. We compare MediaPipe's face-mesh
points with our own projected iBUG-68 landmarks at seven well-defined spots; errors are in
units of the inter-ocular distance (distance between the two eye centres, each the mean of
the six iBUG eye points), the usual normalisation for 68-point landmark error.

AU motion (`au_motion`) compares MediaPipe's face mesh on a neutral render and on the same
camera's render of one AU: the mean image-vertical shift of the mesh points FACS names for that
AU (`AU_MOTION`), in units of the neutral face's inter-ocular distance (MediaPipe's own eye
centres), positive in FACS's direction; AU43 is the share of the eye opening that closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# MediaPipe face-mesh index -> iBUG-68 index (0-based) at the same facial spot.
MESH_TO_IBUG = {33: 36, 133: 39, 362: 42, 263: 45, 4: 30, 61: 48, 291: 54}
# FACS direction of each pain AU (FACS manual, Ekman, Friesen & Hager 2002) as MediaPipe face-mesh
# points on both sides of the face and the image direction their mean moves: AU4 lowers the brows
# (inner and middle brow), AU6 raises the infraorbital cheek, AU7 raises the lower lid, AU9 raises
# the alae, AU10 raises the upper lip's vermilion border.
AU_MOTION: dict[str, tuple[tuple[int, ...], int]] = {
    "AU4": ((55, 65, 52, 107, 66, 105, 285, 295, 282, 336, 296, 334), -1),
    "AU6": ((118, 119, 100, 101, 50, 347, 348, 329, 330, 280), +1),
    "AU7": ((145, 153, 144, 374, 380, 373), +1),
    "AU9": ((129, 98, 64, 48, 358, 327, 294, 278), +1),
    "AU10": ((0, 37, 267, 39, 269), +1),
}
EYE_LIDS = ((159, 145), (386, 374))  # upper and lower lid midpoints of each eye (AU43)
EYE_CORNERS = ((33, 133), (263, 362))
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

    def mesh_points(self, image: np.ndarray | str | Path) -> np.ndarray | None:
        """MediaPipe's 468 face-mesh points (pixels), or None where it finds no face."""
        rgb = _load_rgb(image)
        mesh = self._mesh.process(rgb).multi_face_landmarks
        if not mesh:
            return None
        h, w = rgb.shape[:2]
        return np.array([(p.x * w, p.y * h) for p in mesh[0].landmark])

    def judge(self, image: np.ndarray | str | Path, landmarks68: np.ndarray) -> Verdict:
        rgb = _load_rgb(image)
        found = self._detector.process(rgb).detections
        score = max((d.score[0] for d in found), default=0.0) if found else 0.0
        points = self.mesh_points(rgb)
        errors = None
        if points is not None:
            ours = np.asarray(landmarks68, dtype=float)[:, :2]
            theirs = points[list(MESH_TO_IBUG)]
            errors = np.linalg.norm(theirs - ours[list(MESH_TO_IBUG.values())], axis=1) / iod_landmarks(ours)
        return Verdict(bool(found), float(score), errors)


def au_motion(neutral: np.ndarray, posed: np.ndarray) -> dict[str, float]:
    """How far each pain AU's points moved from the neutral face-mesh points to the posed ones (same
    camera): AU4-AU10 in neutral inter-ocular distances, > 0 in FACS's direction; AU43 the share of
    the eye opening closed (1: shut)."""
    iod = float(np.linalg.norm(neutral[list(EYE_CORNERS[0])].mean(axis=0) - neutral[list(EYE_CORNERS[1])].mean(axis=0)))
    out = {au: float(sign * (neutral[list(points), 1] - posed[list(points), 1]).mean() / iod)
           for au, (points, sign) in AU_MOTION.items()}
    before, after = (sum(float(np.linalg.norm(points[lower] - points[upper])) for upper, lower in EYE_LIDS)
                     for points in (neutral, posed))
    out["AU43"] = 1.0 - after / max(before, 1e-6)
    return out


def _load_rgb(image: np.ndarray | str | Path) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return np.ascontiguousarray(image[..., :3].astype(np.uint8))
    from PIL import Image

    with Image.open(image) as im:
        return np.asarray(im.convert("RGB"))

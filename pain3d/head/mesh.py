"""Public mesh container and the one-call identity builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .controls import HeadControls
from .geometry import compute_positions, eye_centre
from .params import HeadParams, derive_params
from .template import template
from .topology import PART_ID, PART_NAMES, HeadTopology

if TYPE_CHECKING:
    from .priors import IdentitySpec

#: Blender objects the head is naturally split into, and the parts each holds.
OBJECT_PARTS: dict[str, tuple[str, ...]] = {
    "skin": ("skin", "mouth_cavity"),
    "eye_R": ("eye_R_sclera", "eye_R_iris", "eye_R_pupil"),
    "eye_L": ("eye_L_sclera", "eye_L_iris", "eye_L_pupil"),
    "teeth": ("teeth_upper", "teeth_lower"),
}


@dataclass
class HeadMesh:
    """One identity's head, in metres (Blender frame: Z up, face toward -Y).

    The origin is on the mid-sagittal plane, at pupil height, in the coronal
    plane through the ear canals.  ``poly_starts``/``poly_verts`` encode the
    polygons (see :class:`HeadTopology`); ``face_part`` indexes
    ``part_names``; ``corner_uv`` has one UV per polygon corner.
    ``landmarks`` maps names (iBUG extras, ``eye_centre_R/L``) to positions.
    """

    vertices: np.ndarray
    poly_starts: np.ndarray
    poly_verts: np.ndarray
    face_part: np.ndarray
    part_names: tuple[str, ...]
    corner_uv: np.ndarray
    vertex_part: np.ndarray
    landmarks68: np.ndarray
    landmark68_ids: np.ndarray
    landmarks: dict[str, np.ndarray]
    landmark_ids: dict[str, int]
    regions: dict[str, np.ndarray]
    params: HeadParams
    topology: HeadTopology

    @property
    def n_verts(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.face_part.size)

    def polygons(self) -> list[list[int]]:
        """Polygons as Python lists (ready for ``mesh.from_pydata``)."""
        return [p.tolist() for p in np.split(self.poly_verts, self.poly_starts[1:-1])]

    def part_mesh(self, parts: str | tuple[str, ...]) -> tuple[np.ndarray, list[list[int]], np.ndarray, np.ndarray]:
        """Sub-mesh of one or more parts, re-indexed.

        Returns ``(vertices, polygons, vertex_ids, face_ids)``: the compact
        vertex array, polygons as lists for ``from_pydata``, the original ids
        of the kept vertices (to carry region weights / shape keys over) and
        the original face ids (to carry ``face_part`` / ``corner_uv``).
        """
        if isinstance(parts, str):
            parts = (parts,)
        pid = [PART_ID[p] for p in parts]
        face_ids = np.nonzero(np.isin(self.face_part, pid))[0]
        corner, lens = self._corners(face_ids)
        vids = np.unique(self.poly_verts[corner])
        remap = np.full(self.n_verts, -1, dtype=np.int64)
        remap[vids] = np.arange(vids.size)
        flat = remap[self.poly_verts[corner]]
        polys = [a.tolist() for a in np.split(flat, np.cumsum(lens)[:-1])]
        return self.vertices[vids], polys, vids, face_ids

    def object_meshes(self) -> dict[str, tuple[np.ndarray, list[list[int]], np.ndarray, np.ndarray]]:
        """:meth:`part_mesh` for each entry of :data:`OBJECT_PARTS`."""
        return {name: self.part_mesh(parts) for name, parts in OBJECT_PARTS.items()}

    def corner_uv_of(self, face_ids: np.ndarray) -> np.ndarray:
        """Corner UVs of the given faces, in ``part_mesh`` loop order."""
        return self.corner_uv[self._corners(face_ids)[0]]

    def _corners(self, face_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat corner indices of ``face_ids`` (in order) and each face's size."""
        face_ids = np.asarray(face_ids, dtype=np.int64)
        starts = self.poly_starts[face_ids]
        lens = self.poly_starts[face_ids + 1] - starts
        offset = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return offset + np.arange(int(lens.sum())), lens


def build_head(controls: HeadControls | None = None, age: float = 30.0, sex: str | float = 0.5,
               level: int = 1, residual_seed: int | None = None,
               residual_amplitude: float = 0.0015) -> HeadMesh:
    """Build one identity.

    ``controls`` are clamped z-scores (default: population mean); ``age`` in
    years (18-85 meaningful); ``sex`` "male"/"female" or maleness in [0,1];
    ``residual_seed`` adds a smooth seeded low-frequency skin deformation
    (~1 mm, zero around the eye and mouth openings) for individuality.
    """
    controls = (controls or HeadControls()).clamped()
    topo = template(level)
    p = derive_params(controls, age=age, sex=sex)
    V = compute_positions(topo, p, residual_seed, residual_amplitude)
    lm68 = V[topo.landmarks68]
    named = {k: V[v].copy() for k, v in topo.landmark_ids.items()}
    named["eye_centre_R"] = eye_centre(p, "R")
    named["eye_centre_L"] = eye_centre(p, "L")
    return HeadMesh(
        vertices=V, poly_starts=topo.poly_starts, poly_verts=topo.poly_verts,
        face_part=topo.face_part, part_names=PART_NAMES, corner_uv=topo.corner_uv,
        vertex_part=topo.vertex_part, landmarks68=lm68, landmark68_ids=topo.landmarks68,
        landmarks=named, landmark_ids=dict(topo.landmark_ids), regions=topo.regions,
        params=p, topology=topo,
    )


def head_from_spec(spec: "IdentitySpec", level: int = 1) -> HeadMesh:
    """:func:`build_head` for an :class:`~pain3d.head.priors.IdentitySpec`."""
    return build_head(spec.controls, age=spec.age, sex=spec.sex, level=level,
                      residual_seed=spec.residual_seed)

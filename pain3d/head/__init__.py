"""Parametric human head model (pure numpy; no bpy, no torch).

Public API::

    import numpy as np
    from pain3d.head import build_head, head_from_spec, sample_spec, template

    topo = template(level=1)                      # cached fixed topology
    spec = sample_spec(age=40, sex="female", ethnicity="East Asian",
                           rng=np.random.default_rng(0))
    head = head_from_spec(spec, level=1)          # == build_head(spec.controls, 40, "female",
                                                  #                residual_seed=spec.residual_seed)
    for name, (verts, polys, vids, fids) in head.object_meshes().items():
        ...                                       # mesh.from_pydata(verts, [], polys)

Frame: metres, Z up, the face looks toward -Y, +X is the subject's left; the
origin is mid-sagittal, at pupil height, in the coronal plane of the ear
canals.  See ``docs/head-model.md`` for topology, UV, landmarks, regions,
controls and the demographic priors.
"""

from .controls import CONTROL_DOCS, CONTROL_LIMIT, HeadControls
from .mesh import OBJECT_PARTS, HeadMesh, build_head, head_from_spec
from .params import HeadParams, derive_params
from .priors import ETHNICITIES, GROUP_SHIFTS, IdentitySpec, sample_controls, sample_spec
from .template import template
from .topology import PART_NAMES, HeadTopology

__all__ = [
    "CONTROL_DOCS", "CONTROL_LIMIT", "ETHNICITIES", "GROUP_SHIFTS", "OBJECT_PARTS", "PART_NAMES",
    "HeadControls", "HeadMesh", "HeadParams", "HeadTopology", "IdentitySpec",
    "build_head", "head_from_spec", "derive_params", "sample_controls", "sample_spec", "template",
]

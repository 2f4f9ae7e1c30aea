"""Identity controls of the parametric head (interpretable z-scores).

Every control is a float z-score: 0 is the population mean *for the given sex
and age* (the sex/age means live in :mod:`pain3d.head.params`), +-1 is one
standard deviation of the underlying anthropometric measurement and the usable
range is clamped to ``[-CONTROL_LIMIT, CONTROL_LIMIT]``.  Keeping the controls
as z-scores makes demographic priors (:mod:`pain3d.head.priors`) simple
additive shifts and keeps geometry valid by construction: the geometry code is
only ever exercised inside the clamped range, which the tests sweep.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

#: Hard clamp applied to every control before building geometry.
CONTROL_LIMIT = 3.0

#: Human-readable meaning of every control (positive direction), in field order.
CONTROL_DOCS: dict[str, str] = {
    "head_width": "cranial breadth eu-eu (wider head)",
    "head_length": "cranial length g-op (longer, more dolichocephalic head)",
    "head_height": "vertex height above the eyes (taller cranium)",
    "face_height": "morphological face height n-gn (longer lower face)",
    "jaw_width": "bigonial width go-go (wider, squarer jaw)",
    "chin_height": "chin height sto-gn (taller chin)",
    "chin_projection": "soft-tissue pogonion projection (more prominent chin)",
    "cheekbone_width": "bizygomatic width zy-zy (wider cheekbones)",
    "cheekbone_prominence": "forward prominence of the malar eminence",
    "brow_ridge": "supraorbital / glabellar prominence",
    "nose_length": "nasal height n-sn (longer nose)",
    "nose_width": "alar width al-al (wider nose)",
    "nose_projection": "nasal tip protrusion sn-prn (more projecting tip)",
    "nose_bridge": "dorsum / nasal root height (higher bridge)",
    "eye_spacing": "interpupillary / intercanthal distance (wider-set eyes)",
    "eye_size": "palpebral fissure length and height (larger eyes)",
    "eye_tilt": "canthal tilt (lateral canthus higher, upslanting)",
    "upper_lip": "upper vermilion height and protrusion (fuller upper lip)",
    "lower_lip": "lower vermilion height and protrusion (fuller lower lip)",
    "mouth_width": "mouth width ch-ch (wider mouth)",
    "ear_size": "ear length and width (larger ears)",
    "neck_width": "neck circumference (thicker neck)",
    "shoulder_width": "biacromial and bideltoid breadth (broader shoulders)",
}


@dataclass(frozen=True)
class HeadControls:
    """Anthropometric identity controls; each is a z-score in [-3, 3].

    See :data:`CONTROL_DOCS` for what the positive direction of each field
    means.  Instances are immutable; use :meth:`clamped`, :meth:`as_array` and
    :meth:`from_array` to manipulate them numerically.
    """

    head_width: float = 0.0
    head_length: float = 0.0
    head_height: float = 0.0
    face_height: float = 0.0
    jaw_width: float = 0.0
    chin_height: float = 0.0
    chin_projection: float = 0.0
    cheekbone_width: float = 0.0
    cheekbone_prominence: float = 0.0
    brow_ridge: float = 0.0
    nose_length: float = 0.0
    nose_width: float = 0.0
    nose_projection: float = 0.0
    nose_bridge: float = 0.0
    eye_spacing: float = 0.0
    eye_size: float = 0.0
    eye_tilt: float = 0.0
    upper_lip: float = 0.0
    lower_lip: float = 0.0
    mouth_width: float = 0.0
    ear_size: float = 0.0
    neck_width: float = 0.0
    shoulder_width: float = 0.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Control names in a fixed order (the order of :meth:`as_array`)."""
        return tuple(f.name for f in fields(cls))

    def as_array(self) -> np.ndarray:
        """Controls as a float64 vector in :meth:`names` order."""
        return np.array([getattr(self, n) for n in self.names()], dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> "HeadControls":
        """Inverse of :meth:`as_array` (values are clamped)."""
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
        if vals.size != len(cls.names()):
            raise ValueError(f"expected {len(cls.names())} values, got {vals.size}")
        return cls(**{n: float(v) for n, v in zip(cls.names(), vals)}).clamped()

    def clamped(self) -> "HeadControls":
        """Copy with every control clipped to [-CONTROL_LIMIT, CONTROL_LIMIT]."""
        vals = {k: float(np.clip(v, -CONTROL_LIMIT, CONTROL_LIMIT)) for k, v in asdict(self).items()}
        return replace(self, **vals)

    def to_dict(self) -> dict[str, float]:
        """Plain ``name -> value`` dict (JSON friendly)."""
        return {k: float(v) for k, v in asdict(self).items()}

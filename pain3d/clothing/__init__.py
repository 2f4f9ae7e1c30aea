"""Clothes over the bust (pure numpy): the garment table and priors, the per-identity record and
the garment's shell on an identity's bust. docs/clothing.md.

    record = draw_clothing({"age": 52, "sex": "male", "ethnicity": "Black"}, settings={}, seed=7)
    for garment, shell, colours in outfit(head, record, garments()):   # a headscarf comes with a top
        ...
    for earring in earring_meshes(head, record["earrings"]) if record["earrings"] else []:  # both ears
        ...
"""

from .earrings import EarringMesh, draw_earrings, earring_meshes
from .library import EARRING_KINDS, HEADSCARF, NECKLINES, PATTERNS, Garment, garment_names, garments, load_priors
from .priors import draw_clothing, garment_weights, hair_kinds
from .shapes import GarmentMesh, build_garment, neckline, outfit

__all__ = ["EARRING_KINDS", "HEADSCARF", "NECKLINES", "PATTERNS", "EarringMesh", "Garment", "GarmentMesh", "build_garment",
           "draw_clothing", "draw_earrings", "earring_meshes", "garment_names", "garment_weights", "garments",
           "hair_kinds", "load_priors", "neckline", "outfit"]

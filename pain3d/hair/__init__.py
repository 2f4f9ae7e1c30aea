"""Hair as strands (pure numpy): a style library and demographic priors (assets/hair/), the
record each identity's hair is drawn as, and the strands grown from it on the head.

    record = draw_hair({"age": 52, "sex": "male", "ethnicity": "Black"}, settings={}, seed=7)
    groom = grow_groom(head, record)        # scalp, brows, lashes and beard strand sets
    for kind, strands in groom.sets.items():
        strands.points, strands.radius, strands.roots.uv   # what Blender's hair curves take

See docs/hair.md for the styles, the priors and their sources.
"""

from .groom import KINDS, Groom, detail_for, grow_groom
from .library import NO_BEARD, beard_names, load_priors, style_names, styles
from .priors import draw_hair
from .strands import StrandSet

__all__ = ["KINDS", "NO_BEARD", "Groom", "StrandSet", "beard_names", "detail_for", "draw_hair", "grow_groom", "load_priors",
           "style_names", "styles"]

"""Blender properties: the head's AU intensities (one per catalog key) and the panel settings."""

from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)

from .. import facs
from ..clothing import garment_names
from ..hair import beard_names, style_names
from ..jobs import demographics, ethnicity_names


def _tag_head(self, _context) -> None:
    """Re-evaluate the head's drivers: a changed custom property alone does not tag its shape keys."""
    self.id_data.update_tag()


def _au_property(key: str) -> bpy.props._PropertyDeferred:
    au, side = facs.parse_key(key)
    where = {"L": " (subject's left only)", "R": " (subject's right only)"}.get(side, "")
    description = f"{au.key} {au.name}{where}: FACS intensity"
    if au.scale == "binary":
        return IntProperty(name=key, description=description + " 0 or 1", min=0, max=1, default=0,
                           options={"ANIMATABLE"}, update=_tag_head)
    return FloatProperty(name=key, description=description + " 0-5 (A-E)", min=0.0, max=5.0, default=0.0,
                         step=100, precision=1, options={"ANIMATABLE"}, update=_tag_head)


def _head_annotations() -> dict:
    annotations = {key: _au_property(key) for key in facs.all_keys()}
    annotations["is_head"] = BoolProperty(name="Pain3D head", default=False, options=set())
    # a string: plan seeds are 63-bit, beyond Blender's 32-bit IntProperty
    annotations["identity_seed"] = StringProperty(name="Seed", default="", options=set())
    return annotations


# One FloatProperty per AU key (AU4, AU4L, AU4R, ...): drivers read them, sliders write them.
Pain3DHead = type("Pain3DHead", (bpy.types.PropertyGroup,), {"__annotations__": _head_annotations()})


# Static enum item lists (Blender keeps pointers to these strings: they must outlive the property).
STYLE_ITEMS = [(name, name.replace("_", " ").capitalize(), f"Scalp style {name} (docs/hair.md)") for name in style_names()]
BEARD_ITEMS = [(name, name.replace("_", " ").capitalize(), f"Beard: {name}") for name in beard_names()]
GARMENT_ITEMS = [(name, name.replace("_", " ").capitalize(), f"Garment {name} (docs/clothing.md)")
                 for name in garment_names()]
ETHNICITY_ITEMS = [(name, name, f"FairFace group {name}") for name in ethnicity_names()]
SEX_ITEMS = [(s, s.capitalize(), f"{s.capitalize()} head") for s in demographics()["default_sexes"]]
PRESET_ITEMS = [(name, p["label"], f"{p['label']} (PSPI {facs.pspi(p['aus']):g})")
                for name, p in facs.presets().items()]


class Pain3DSettings(bpy.types.PropertyGroup):
    """Scene-wide settings of the Pain3D panel: who the next head is and how previews render."""

    age: FloatProperty(name="Age", description="Age in years of the next head", min=18, max=85, default=30)
    sex: EnumProperty(name="Sex", description="Sex of the next head", items=SEX_ITEMS)
    ethnicity: EnumProperty(name="Ethnicity", description="FairFace group of the next head", items=ETHNICITY_ITEMS)
    seed: IntProperty(name="Seed", description="Identity seed: same seed, same head", min=0, default=0)
    level: IntProperty(name="Detail", description="Mesh subdivision level (1 is the default topology)",
                       min=0, max=2, default=1)
    target_pspi: IntProperty(name="Target PSPI", description="PSPI of the random pain expression",
                             min=0, max=facs.PSPI_MAX, default=8)
    expression_seed: IntProperty(name="Expression seed", description="Seed of the next random expression",
                                 min=0, default=0)
    job_path: StringProperty(name="Job file", description="Job file whose views the preview cameras use "
                             "(empty: yaw -30, 0 and 30)", subtype="FILE_PATH", default="")
    preview_resolution: IntProperty(name="Resolution", description="Preview render size in pixels",
                                    min=64, max=2048, default=256)
    preview_samples: IntProperty(name="Samples", description="Cycles samples of the preview render",
                                 min=1, max=1024, default=16)
    expression_name: StringProperty(name="Name", description="Name of the current expression in the exported "
                                    "job (lower-case letters, digits, _ or -)", default="my_expression")
    export_path: StringProperty(name="Export to", description="Job file to write: the Job file above (or the "
                                "defaults) plus the current expression", subtype="FILE_PATH",
                                default="//pain3d_job.toml")
    preview_path: StringProperty(name="Output", description="Where the preview render is saved",
                                 subtype="FILE_PATH", default="//pain3d_preview.png")
    # The active head's hair, as the panel edits it (Apply Hair grows it; Random Hair draws it)
    hair_style: EnumProperty(name="Style", description="Scalp hair style", items=STYLE_ITEMS)
    hair_beard: EnumProperty(name="Beard", description="Facial hair (men's draws only; any head can wear one here)",
                             items=BEARD_ITEMS)
    hair_melanin: FloatProperty(name="Melanin", description="Pigment: 0 white/blond .. 1 black", min=0.0,
                                max=1.0, default=0.85)
    hair_redness: FloatProperty(name="Redness", description="Share of red pheomelanin in the pigment", min=0.0,
                                max=1.0, default=0.15)
    hair_grey: FloatProperty(name="Grey", description="Share of grey (unpigmented) strands", min=0.0, max=1.0,
                             default=0.0)
    hair_length: FloatProperty(name="Length (cm)", description="Scalp hair length", min=0.05, max=60.0,
                               default=6.0)
    hair_density: FloatProperty(name="Density", description="Scalp strands relative to the style's count",
                                min=0.3, max=1.2, default=1.0)
    hair_brows: FloatProperty(name="Brow density", description="Eyebrow strands relative to the library's count",
                              min=0.2, max=1.5, default=1.0)
    hair_seed: IntProperty(name="Hair seed", description="Seed of the next Random Hair draw", min=0, default=0)
    # The active head's clothes and bed, as the panel sets them (Dress, Lay in Bed)
    garment: EnumProperty(name="Garment", description="What Dress puts on (assets/clothing/garments.toml)",
                          items=GARMENT_ITEMS)
    clothing_seed: IntProperty(name="Clothing seed", description="Seed of the next Dress or Random Clothes draw",
                               min=0, default=0)
    bed_turn: FloatProperty(name="Head turn", description="Degrees the head lies turned on the pillow "
                            "(> 0: towards the subject's left)", min=-45.0, max=45.0, default=10.0)
    bed_recline: FloatProperty(name="Backrest", description="Degrees the backrest is raised from flat",
                               min=0.0, max=60.0, default=30.0)
    bed_seed: IntProperty(name="Bed seed", description="Seed of the next bed's linen and creases", min=0, default=0)


CLASSES = (Pain3DHead, Pain3DSettings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.pain3d = PointerProperty(type=Pain3DHead)
    bpy.types.Scene.pain3d = PointerProperty(type=Pain3DSettings)


def unregister() -> None:
    del bpy.types.Scene.pain3d
    del bpy.types.Object.pain3d
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

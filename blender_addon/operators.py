"""Operators of the Pain3D panel. Each is undoable, has a tooltip and a poll, and sits in the
Object > Pain3D menu so that F3 menu search finds it."""

from __future__ import annotations

import json

import bpy
import numpy as np
from bpy.props import EnumProperty, IntProperty

from .. import facs, sampling
from ..errors import Pain3DError
from ..jobs import export_expression, job_views
from ..hair import NO_BEARD, styles
from .bed import bed_record, remove_bed
from .clothing import clothing_record
from .hair import head_record, regrow
from .head import (IDENTITY_PROP, collection, core_head_of, head_aus, lay_in_bed, new_head, prior_clothing, prior_hair,
                   set_aus, wear)
from .props import PRESET_ITEMS
from .stage import add_view_cameras, render_preview


def active_head(context) -> bpy.types.Object | None:
    obj = context.active_object
    return obj if obj is not None and obj.pain3d.is_head else None


class _HeadOperator:
    """Base: operators that act on the active Pain3D head."""

    @classmethod
    def poll(cls, context):
        if active_head(context) is None:
            cls.poll_message_set("Select a Pain3D head (Object > Pain3D > New Head)")
            return False
        return context.mode == "OBJECT"


class PAIN3D_OT_new_head(bpy.types.Operator):
    """Build a new parametric head from the panel's age, sex, ethnicity and seed"""

    bl_idname = "pain3d.new_head"
    bl_label = "New Pain3D Head"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.mode == "OBJECT"

    def execute(self, context):
        settings = context.scene.pain3d
        try:
            head = new_head(context, age=settings.age, sex=settings.sex, ethnicity=settings.ethnicity,
                            seed=settings.seed, level=settings.level)
        except Pain3DError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        record = head_record(head)
        if record:
            show_record(settings, record)
        self.report({"INFO"}, f"Built head {head.name} (seed {settings.seed})")
        return {"FINISHED"}


class PAIN3D_OT_apply_preset(_HeadOperator, bpy.types.Operator):
    """Set the head's AU intensities to a preset expression"""

    bl_idname = "pain3d.apply_preset"
    bl_label = "Apply Pain Preset"
    bl_options = {"REGISTER", "UNDO"}

    preset: EnumProperty(name="Preset", description="Expression preset", items=PRESET_ITEMS)

    def execute(self, context):
        set_aus(active_head(context), facs.presets()[self.preset]["aus"])
        return {"FINISHED"}


class PAIN3D_OT_random_expression(_HeadOperator, bpy.types.Operator):
    """Set a random pain expression whose PSPI is the panel's target (seeded, like the farm's sampler)"""

    bl_idname = "pain3d.random_expression"
    bl_label = "Random Pain Expression"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.pain3d
        rng = np.random.default_rng(sampling.derive_seed(settings.seed, 99, settings.expression_seed))
        aus = sampling.aus_for_pspi(settings.target_pspi, rng, au43_onset=11.0)
        set_aus(active_head(context), aus)
        settings.expression_seed += 1  # the next click gives another expression at the same target
        self.report({"INFO"}, "PSPI {:g}: {}".format(facs.pspi(aus), ", ".join(
            f"{k}={v:g}" for k, v in aus.items() if v)))
        return {"FINISHED"}


class PAIN3D_OT_random_hair(_HeadOperator, bpy.types.Operator):
    """Draw hair for this person from the priors (their age, sex and group) and grow it"""

    bl_idname = "pain3d.random_hair"
    bl_label = "Random Hair for This Person"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        head, settings = active_head(context), context.scene.pain3d
        who = json.loads(head[IDENTITY_PROP])
        record = prior_hair(who, int(head.pain3d.identity_seed), settings.hair_seed)
        regrow(context, head, core_head_of(head), record, collection(context).objects.link)
        show_record(settings, record)
        settings.hair_seed += 1  # the next click draws another
        self.report({"INFO"}, f"{record['style']}, {record['shade']}, beard {record['beard']}")
        return {"FINISHED"}


class PAIN3D_OT_apply_hair(_HeadOperator, bpy.types.Operator):
    """Grow the panel's hair (style, colour, length, density, beard, brows) on the active head"""

    bl_idname = "pain3d.apply_hair"
    bl_label = "Apply Hair"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        head, settings = active_head(context), context.scene.pain3d
        who = json.loads(head[IDENTITY_PROP])
        record = head_record(head) or prior_hair(who, int(head.pain3d.identity_seed))
        record = edited_record(record, settings)
        regrow(context, head, core_head_of(head), record, collection(context).objects.link)
        return {"FINISHED"}


class PAIN3D_OT_remove_hair(_HeadOperator, bpy.types.Operator):
    """Take the active head's hair off (a bald head with painted brows)"""

    bl_idname = "pain3d.remove_hair"
    bl_label = "Remove Hair"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        regrow(context, active_head(context), None, None, None)
        return {"FINISHED"}


def dress_from_panel(context, garment: str = "") -> dict:
    """Dress the active head in `garment` (empty: one drawn from the priors) in colours drawn from
    the panel's clothing seed, which moves on so the next click draws again."""
    head, settings = active_head(context), context.scene.pain3d
    record = prior_clothing(json.loads(head[IDENTITY_PROP]), int(head.pain3d.identity_seed), settings.clothing_seed,
                            garment=garment)
    wear(context, head, record)
    settings.clothing_seed += 1
    return record


class PAIN3D_OT_dress(_HeadOperator, bpy.types.Operator):
    """Dress the active head in the panel's garment; each click draws other colours and a pattern"""

    bl_idname = "pain3d.dress"
    bl_label = "Dress"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        record = dress_from_panel(context, context.scene.pain3d.garment)
        self.report({"INFO"}, f"{record['garment']}, {record['pattern']}")
        return {"FINISHED"}


class PAIN3D_OT_random_clothes(_HeadOperator, bpy.types.Operator):
    """Draw clothes for this person from the priors (their age, sex and group) and dress them"""

    bl_idname = "pain3d.random_clothes"
    bl_label = "Random Clothes for This Person"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        record = dress_from_panel(context)
        context.scene.pain3d.garment = record["garment"]
        self.report({"INFO"}, f"{record['garment']}, {record['pattern']}")
        return {"FINISHED"}


class PAIN3D_OT_undress(_HeadOperator, bpy.types.Operator):
    """Take the active head's clothes off (a bare bust)"""

    bl_idname = "pain3d.undress"
    bl_label = "Undress"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        wear(context, active_head(context), None)
        return {"FINISHED"}


class PAIN3D_OT_lay_in_bed(_HeadOperator, bpy.types.Operator):
    """Lay the active head in a hospital bed (pillow, mattress, blanket, rails), turned on the pillow
    under a raised backrest as the panel says"""

    bl_idname = "pain3d.lay_in_bed"
    bl_label = "Lay in Bed"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.pain3d
        record = lay_in_bed(context, active_head(context), settings.bed_turn, settings.bed_recline, settings.bed_seed)
        settings.bed_seed += 1  # the next click draws other linen and creases
        self.report({"INFO"}, f"Turned {record['turn']:g} degrees, backrest {record['recline']:g} degrees")
        return {"FINISHED"}


class PAIN3D_OT_remove_bed(_HeadOperator, bpy.types.Operator):
    """Take the active head out of its bed"""

    bl_idname = "pain3d.remove_bed"
    bl_label = "Remove Bed"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        remove_bed(active_head(context))
        return {"FINISHED"}


def show_record(settings, record: dict) -> None:
    """The panel's hair fields from a hair record."""
    settings.hair_style, settings.hair_beard = record["style"], record["beard"]
    settings.hair_melanin, settings.hair_redness, settings.hair_grey = (record["melanin"], record["redness"],
                                                                         record["grey"])
    settings.hair_length, settings.hair_density = record["length_cm"], record["density"]
    settings.hair_brows = record["brow_density"]


def edited_record(record: dict, settings) -> dict:
    """A hair record with the panel's choices (a beard gets its style's middle length)."""
    out = dict(record, style=settings.hair_style, melanin=round(settings.hair_melanin, 3),
               redness=round(settings.hair_redness, 3), grey=round(settings.hair_grey, 3),
               length_cm=round(settings.hair_length, 2), density=round(settings.hair_density, 3),
               brow_density=round(settings.hair_brows, 3))
    if settings.hair_beard != record["beard"]:
        out["beard"] = settings.hair_beard
        lengths = styles().beards[settings.hair_beard].length_mm if settings.hair_beard != NO_BEARD else (0, 0)
        out["beard_length_mm"] = round(float(np.mean(lengths)), 2)
        out["beard_density"] = 1.0 if settings.hair_beard != NO_BEARD else 0.0
    return out


class PAIN3D_OT_add_preview_cameras(_HeadOperator, bpy.types.Operator):
    """Add one camera per view of the job file (or yaw -30, 0, 30), framing the active head"""

    bl_idname = "pain3d.add_preview_cameras"
    bl_label = "Add Preview Cameras"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.pain3d
        try:
            views = job_views(bpy.path.abspath(settings.job_path) if settings.job_path else None)
        except Pain3DError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        cameras = add_view_cameras(context, active_head(context), views, settings.preview_resolution)
        self.report({"INFO"}, f"Added {len(cameras)} cameras")
        return {"FINISHED"}


class PAIN3D_OT_render_preview(_HeadOperator, bpy.types.Operator):
    """Render the scene camera with Cycles at the preview size and save it"""

    bl_idname = "pain3d.render_preview"
    bl_label = "Render Pain3D Preview"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if context.scene.camera is None:
            cls.poll_message_set("Add preview cameras first")
            return False
        return super().poll(context)

    def execute(self, context):
        settings = context.scene.pain3d
        path = render_preview(context, bpy.path.abspath(settings.preview_path),
                              settings.preview_resolution, settings.preview_samples)
        self.report({"INFO"}, f"Preview saved to {path}")
        return {"FINISHED"}


class PAIN3D_OT_export_job(_HeadOperator, bpy.types.Operator):
    """Write a job file for the farm: the Job file (or the defaults) plus the head's current expression"""

    bl_idname = "pain3d.export_job"
    bl_label = "Export Pain3D Job"
    bl_options = {"REGISTER"}

    def execute(self, context):
        settings = context.scene.pain3d
        base = bpy.path.abspath(settings.job_path) if settings.job_path else None
        head = active_head(context)
        try:
            path, count = export_expression(head_aus(head), settings.expression_name, base,
                                            bpy.path.abspath(settings.export_path), tables=person_tables(head))
        except (Pain3DError, OSError) as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {path} ({count} explicit expression(s))")
        return {"FINISHED"}


def person_tables(head: bpy.types.Object) -> dict[str, dict]:
    """The job tables that render everyone as the panel's person looks: hair style and beard, garment
    and bed (or none of each)."""
    hair, clothes, bed = head_record(head), clothing_record(head), bed_record(head)
    return {"hair": {"style": hair["style"], "beard": hair["beard"]} if hair else {"enabled": False},
            "clothing": {"enabled": True, "garment": clothes["garment"]} if clothes else {"enabled": False},
            "bed": ({"enabled": True, "turn": [bed["turn"]] * 2, "recline": [bed["recline"]] * 2} if bed
                    else {"enabled": False})}


class VIEW3D_MT_pain3d(bpy.types.Menu):
    """Object > Pain3D: every Pain3D operator, so that F3 menu search finds them"""

    bl_idname = "VIEW3D_MT_pain3d"
    bl_label = "Pain3D"
    operators = (PAIN3D_OT_new_head, PAIN3D_OT_apply_preset, PAIN3D_OT_random_expression, PAIN3D_OT_random_hair,
                 PAIN3D_OT_apply_hair, PAIN3D_OT_remove_hair, PAIN3D_OT_dress, PAIN3D_OT_random_clothes,
                 PAIN3D_OT_undress, PAIN3D_OT_lay_in_bed, PAIN3D_OT_remove_bed, PAIN3D_OT_add_preview_cameras,
                 PAIN3D_OT_render_preview, PAIN3D_OT_export_job)

    def draw(self, context):
        layout = self.layout
        for op in self.operators:
            if op is PAIN3D_OT_apply_preset:
                layout.operator_menu_enum(op.bl_idname, "preset")
            else:
                layout.operator(op.bl_idname)


def draw_object_menu(self, context):
    self.layout.separator()
    self.layout.menu(VIEW3D_MT_pain3d.bl_idname)


CLASSES = VIEW3D_MT_pain3d.operators + (VIEW3D_MT_pain3d,)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.VIEW3D_MT_object.append(draw_object_menu)


def unregister() -> None:
    bpy.types.VIEW3D_MT_object.remove(draw_object_menu)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

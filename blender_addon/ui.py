"""The Pain3D tab in the 3D viewport's sidebar."""

from __future__ import annotations

import bpy

from .. import facs
from .head import head_aus
from .operators import active_head


class _SidebarPanel:
    """Where every Pain3D panel lives: the Pain3D tab of the 3D viewport's sidebar."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Pain3D"


class _HeadPanel(_SidebarPanel):
    """Panels that show only while a Pain3D head is active."""

    @classmethod
    def poll(cls, context):
        return active_head(context) is not None


class VIEW3D_PT_pain3d_head(_SidebarPanel, bpy.types.Panel):
    bl_label = "Head"
    bl_idname = "VIEW3D_PT_pain3d_head"

    def draw(self, context):
        settings = context.scene.pain3d
        col = self.layout.column(align=True)
        for name in ("age", "sex", "ethnicity", "seed", "level"):
            col.prop(settings, name)
        self.layout.operator("pain3d.new_head", icon="USER")


class VIEW3D_PT_pain3d_expression(_HeadPanel, bpy.types.Panel):
    bl_label = "Expression"
    bl_idname = "VIEW3D_PT_pain3d_expression"

    def draw(self, context):
        head = active_head(context)
        layout = self.layout
        box = layout.box()
        box.label(text=f"PSPI {facs.pspi(head_aus(head)):g} / {facs.PSPI_MAX}", icon="INFO")
        row = layout.row(align=True)
        row.operator_menu_enum("pain3d.apply_preset", "preset", text="Preset")
        settings = context.scene.pain3d
        row = layout.row(align=True)
        row.prop(settings, "target_pspi")
        row.operator("pain3d.random_expression", text="Random", icon="FILE_REFRESH")
        for au in facs.catalog().values():
            self._draw_au(layout, head, au)

    @staticmethod
    def _draw_au(layout, head, au) -> None:
        row = layout.row(align=True)
        value = getattr(head.pain3d, au.key)
        letter = ("on" if value else "off") if au.scale == "binary" else facs.intensity_to_letter(value)
        row.prop(head.pain3d, au.key, text=f"{au.key} {au.name}", slider=True)
        row.label(text="-" if letter == "0" else letter)
        if au.sides:
            sub = layout.row(align=True)
            sub.prop(head.pain3d, au.key + "L", text="L", slider=True)
            sub.prop(head.pain3d, au.key + "R", text="R", slider=True)


class VIEW3D_PT_pain3d_hair(_HeadPanel, bpy.types.Panel):
    bl_label = "Hair"
    bl_idname = "VIEW3D_PT_pain3d_hair"

    def draw(self, context):
        settings = context.scene.pain3d
        layout = self.layout
        layout.operator("pain3d.random_hair", icon="FILE_REFRESH")
        col = layout.column(align=True)
        for name in ("hair_style", "hair_length", "hair_density", "hair_melanin", "hair_redness", "hair_grey",
                     "hair_beard", "hair_brows"):
            col.prop(settings, name, slider=name not in ("hair_style", "hair_beard", "hair_length"))
        row = layout.row(align=True)
        row.operator("pain3d.apply_hair", icon="CHECKMARK")
        row.operator("pain3d.remove_hair", icon="X", text="")


class VIEW3D_PT_pain3d_body(_HeadPanel, bpy.types.Panel):
    bl_label = "Clothes and Bed"
    bl_idname = "VIEW3D_PT_pain3d_body"

    def draw(self, context):
        settings = context.scene.pain3d
        layout = self.layout
        layout.operator("pain3d.random_clothes", icon="FILE_REFRESH")
        row = layout.row(align=True)
        row.prop(settings, "garment", text="")
        row.operator("pain3d.dress", icon="CHECKMARK")
        row.operator("pain3d.undress", icon="X", text="")
        layout.separator()
        col = layout.column(align=True)
        col.prop(settings, "bed_turn", slider=True)
        col.prop(settings, "bed_recline", slider=True)
        row = layout.row(align=True)
        row.operator("pain3d.lay_in_bed", icon="CHECKMARK")
        row.operator("pain3d.remove_bed", icon="X", text="")


class VIEW3D_PT_pain3d_preview(_HeadPanel, bpy.types.Panel):
    bl_label = "Preview"
    bl_idname = "VIEW3D_PT_pain3d_preview"

    def draw(self, context):
        settings = context.scene.pain3d
        col = self.layout.column(align=True)
        col.prop(settings, "job_path")
        col.operator("pain3d.add_preview_cameras", icon="CAMERA_DATA")
        col.separator()
        col.prop(settings, "preview_resolution")
        col.prop(settings, "preview_samples")
        col.prop(settings, "preview_path")
        col.operator("pain3d.render_preview", icon="RENDER_STILL")
        col.separator()
        col.prop(settings, "expression_name")
        col.prop(settings, "export_path")
        col.operator("pain3d.export_job", icon="EXPORT")


CLASSES = (VIEW3D_PT_pain3d_head, VIEW3D_PT_pain3d_expression, VIEW3D_PT_pain3d_hair, VIEW3D_PT_pain3d_body,
           VIEW3D_PT_pain3d_preview)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

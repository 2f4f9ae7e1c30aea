"""The extension zip: built, validated by Blender's own tool, installed and enabled in bpy."""

import ast
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pain3d.app.extension import build, manifest
from tests.blender.harness import REPO, bpy_missing, run_bpy

pytestmark = bpy_missing

OPERATORS = ["new_head", "apply_preset", "random_expression", "random_hair", "apply_hair", "remove_hair", "dress",
             "random_clothes", "undress", "lay_in_bed", "remove_bed", "add_preview_cameras", "render_preview", "export_job"]
PANELS = ["VIEW3D_PT_pain3d_head", "VIEW3D_PT_pain3d_expression", "VIEW3D_PT_pain3d_hair", "VIEW3D_PT_pain3d_body",
          "VIEW3D_PT_pain3d_preview"]


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("ext"))


def test_manifest_rules():
    info = manifest()
    assert info["id"] == "pain3d" and info["type"] == "add-on"
    assert info["blender_version_min"] == "4.2.0" and info["blender_version_max"] == "5.4.0"  # 4.2 LTS to 5.3, as tested
    assert info["license"] == ["SPDX:GPL-3.0-or-later"]
    assert "network" not in info.get("permissions", {})


def test_zip_is_reproducible_and_complete(zip_path, tmp_path):
    again = build(tmp_path)
    assert again.read_bytes() == zip_path.read_bytes()
    names = zipfile.ZipFile(zip_path).namelist()
    for required in ("blender_manifest.toml", "__init__.py", "facs.py", "addon/__init__.py", "assets/facs/au_catalog.toml",
                     "assets/demographics.toml"):
        assert required in names
    assert not any(n.startswith(("app/", "farm/", "training/")) or n in ("cli.py", "__main__.py") for n in names) and not any("__pycache__" in n for n in names)


def test_blender_validates_the_zip(zip_path):
    spec = importlib.util.find_spec("bpy")  # Blender's own extension tool ships inside the bpy wheel
    bpy_dir = Path(spec.submodule_search_locations[0])
    tool = next(bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    result = subprocess.run([sys.executable, str(tool), "validate", str(zip_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_relative_imports_only():
    """Extensions must not import their own modules absolutely."""
    for path in (REPO / "blender_addon").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] not in ("pain3d", "blender_addon", "core"), (path, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in ("pain3d", "blender_addon"), (path, alias.name)


def test_install_enable_and_register_twice(zip_path, tmp_path):
    result = run_bpy(f"""
        import bpy, addon_utils
        out = {{}}
        out["install"] = list(bpy.ops.extensions.package_install_files(
            filepath={str(zip_path)!r}, repo="user_default", enable_on_install=True))
        module = "bl_ext.user_default.pain3d"
        out["enabled"] = module in bpy.context.preferences.addons
        out["operators"] = [name for name in {OPERATORS!r} if hasattr(bpy.types, "PAIN3D_OT_" + name)]
        out["panels"] = [p for p in {PANELS!r} if hasattr(bpy.types, p)]
        panel = bpy.types.VIEW3D_PT_pain3d_expression
        out["panel_tab"] = [panel.bl_space_type, panel.bl_region_type, panel.bl_category]
        ops = [getattr(bpy.types, "PAIN3D_OT_" + n) for n in {OPERATORS!r}]
        out["tooltips"] = all(op.__doc__ and op.__doc__.strip() for op in ops)
        out["undo"] = [op.bl_idname for op in ops if "UNDO" in op.bl_options]
        out["polls"] = all("poll" in vars(op) or any("poll" in vars(b) for b in op.__mro__[1:-3]) for op in ops)
        menu = bpy.types.VIEW3D_MT_pain3d
        out["menu"] = [op.bl_idname for op in menu.operators]
        out["in_object_menu"] = any(getattr(f, "__name__", "") == "draw_object_menu"
                                    for f in bpy.types.VIEW3D_MT_object._dyn_ui_initialize())
        for cycle in range(2):
            addon_utils.disable(module, default_set=True)
            out[f"gone_{{cycle}}"] = not hasattr(bpy.types, "PAIN3D_OT_new_head") and not hasattr(bpy.types.Scene, "pain3d")
            addon_utils.enable(module, default_set=True)
            out[f"back_{{cycle}}"] = hasattr(bpy.types, "PAIN3D_OT_new_head") and hasattr(bpy.types.Object, "pain3d")
        report(out)
    """, tmp_path)
    assert result["install"] == ["FINISHED"] and result["enabled"]
    assert result["operators"] == OPERATORS and result["panels"] == PANELS
    assert result["panel_tab"] == ["VIEW_3D", "UI", "Pain3D"]
    assert result["tooltips"] and result["polls"]
    assert set(result["undo"]) == {f"pain3d.{n}" for n in OPERATORS if n not in ("render_preview", "export_job")}
    assert result["menu"] == [f"pain3d.{n}" for n in OPERATORS] and result["in_object_menu"]
    assert all(result[f"gone_{c}"] and result[f"back_{c}"] for c in range(2))

"""The house rules of docs/architecture.md, read from the import statements of every module."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from pain3d.checkout import ROOT, package_dirs
from tests.architecture.imports import (ENTRY_POINT, LAYERS, Import, graph, imports_of, layer_of, module_files,
                                        resolve, third_party)


def upward(imports: list[Import], modules: set[str]) -> list[str]:
    """Imports of a layer that its row of LAYERS does not allow."""
    bad, seen = [], set()
    for imp in imports:
        target = resolve(imp.target, modules)
        if target is None or imp.source == ENTRY_POINT or (imp.source, imp.line) in seen:
            continue
        source_layer, target_layer = layer_of(imp.source), layer_of(target)
        if target_layer != source_layer and target_layer not in LAYERS[source_layer]:
            bad.append(f"{imp.source}:{imp.line} ({source_layer}) imports {target} ({target_layer})")
            seen.add((imp.source, imp.line))
    return bad


def cycles(imports: list[Import], modules: set[str]) -> list[list[str]]:
    """Every import circle among the namespace's modules (lazy imports count: a circle is a circle)."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        target = resolve(imp.target, modules)
        if target and target != imp.source:
            edges.setdefault(imp.source, set()).add(target)
    state: dict[str, int] = {}
    found = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(modules):
        if node not in state:
            visit(node, [])
    return found


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return graph()


@pytest.fixture(scope="module")
def modules() -> set[str]:
    return set(module_files())


def test_every_layer_is_found(modules):
    assert {layer_of(m) for m in modules} == set(LAYERS)
    assert {"pain3d.facs", "pain3d.addon.head", "pain3d.farm.shard_render", "pain3d.app.cli",
            "pain3d.training.train", "pain3d.texturing.procedural"} <= modules


def test_no_layer_imports_upward(imports, modules):
    assert upward(imports, modules) == []


def test_no_import_circles(imports, modules):
    assert cycles(imports, modules) == []


def test_core_needs_only_numpy_and_the_standard_library_at_import_time(imports):
    bad = [f"{i.source}:{i.line} imports {i.target}" for i in imports
           if layer_of(i.source) == "core" and i.top_level and third_party(i.target) and i.source != ENTRY_POINT]
    assert bad == []


def test_the_checks_catch_what_they_forbid(tmp_path: Path, modules):
    """A core module importing the farm, the farm importing training, a circle: each is reported."""
    core = tmp_path / "core.py"
    core.write_text("from .farm import launch\nimport torch\n\ndef later():\n    import PIL\n")
    farm = tmp_path / "farm.py"
    farm.write_text("from pain3d.training import train\n")
    imports = imports_of("pain3d.facs", core) + imports_of("pain3d.farm.launch", farm)
    assert upward(imports, modules) == ["pain3d.facs:1 (core) imports pain3d.farm.launch (farm)",
                                        "pain3d.farm.launch:1 (farm) imports pain3d.training (training)"]
    assert sorted((i.target, i.top_level) for i in imports if third_party(i.target)) == [("PIL", False), ("torch", True)]
    circle = [Import("pain3d.jobs", "pain3d.scenery", 1, False), Import("pain3d.scenery", "pain3d.jobs", 1, True)]
    assert cycles(circle, modules) == [["pain3d.jobs", "pain3d.scenery", "pain3d.jobs"]]


def test_the_wheel_lists_every_package_and_adds_one_top_level_name():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: ROOT / "pain3d" for name in ["pain3d"]} | package_dirs()
    found = {f"pain3d.{init.parent.name}" for init in (ROOT / "pain3d").glob("*/__init__.py")} | set(folders)
    assert sorted(setuptools["packages"]) == sorted(found)
    assert {name.split(".")[0] for name in setuptools["packages"]} == {"pain3d"}
    for folder in folders.values():  # no package folder left out of the list
        for init in folder.rglob("__init__.py"):
            sub = init.parent.relative_to(folder)
            if sub.parts:
                assert any(n.endswith("." + ".".join(sub.parts)) for n in setuptools["packages"]), init


def test_layers_import_only_under_the_namespace(tmp_path: Path):
    """`import farm` fails wherever it runs; `pain3d.farm` and `python -m pain3d` work."""
    for cwd in (tmp_path, ROOT):
        bad = subprocess.run([sys.executable, "-c", "import farm"], capture_output=True, text=True, cwd=cwd)
        assert bad.returncode != 0 and ("pain3d.farm" in bad.stderr or "No module named 'farm'" in bad.stderr)
    good = subprocess.run([sys.executable, "-c", "import pain3d.farm, pain3d.app, pain3d.training, pain3d.texturing"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    version = subprocess.run([sys.executable, "-m", "pain3d", "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("pain3d")


def test_farm_scripts_run_from_a_checkout_pip_never_installed(tmp_path: Path):
    """Blender's own Python has only the checkout: the farm script imports the namespace from it."""
    site = str(Path(np.__file__).resolve().parents[1])  # numpy's folder, without the .pth files beside it
    code = (f"import sys, runpy; sys.path.append({site!r}); "
            "sys.argv = ['farm/render.py', '--plan', sys.argv[1]]; "
            f"runpy.run_path({str(ROOT / 'farm' / 'render.py')!r}, run_name='__main__')")
    clean = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    probe = f"import sys; sys.path.append({site!r}); import numpy, pain3d"
    assert subprocess.run([sys.executable, "-S", "-c", probe], env=clean, cwd=tmp_path).returncode != 0  # no install
    done = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path / "nothing")], capture_output=True,
                          text=True, env=clean, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "plan" in done.stderr, done.stderr


def test_blender_versions_are_told_apart_in_one_place():
    """Only the compat layer asks which Blender this is: no version checks scattered in the scene code."""
    asking = [name for name, path in module_files().items()
              if "bpy.app.version" in path.read_text(encoding="utf-8") and name != "pain3d.addon.compat"]
    assert asking == []

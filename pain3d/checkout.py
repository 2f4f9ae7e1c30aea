"""The one import namespace, from an installed package or from a bare source checkout.

`pyproject.toml` maps each layer's folder to its subpackage (`blender_addon/` is `pain3d.addon`,
`farm/` is `pain3d.farm`, ...). pip teaches Python that mapping; `use_checkout` teaches it to a
Python that has only the checkout (a render node's own Blender), so the farm's scripts run there
as they do under the bpy module. Standard library only: the scripts call it before anything else.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import tomllib
from importlib.abc import MetaPathFinder
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def require_namespace(name: str, wanted: str) -> None:
    """Refuse a layer imported under its folder's name (`import farm`): one module, one name."""
    if name != wanted:
        raise ImportError(f"{name} is part of Pain3D: import it as {wanted} (after `pip install -e .`)")


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """Subpackage -> folder, as pyproject.toml's [tool.setuptools.package-dir] says."""
    with open(root / "pyproject.toml", "rb") as f:
        table = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in table.items() if name != "pain3d"}


class _CheckoutFinder(MetaPathFinder):
    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders

    def find_spec(self, fullname, path=None, target=None):
        folder = self.folders.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


def use_checkout(root: Path = ROOT) -> None:
    """Make `pain3d.farm` and the other layers importable from `root` unless they already are."""
    if importlib.util.find_spec("pain3d.farm") is None:
        sys.meta_path.append(_CheckoutFinder(package_dirs(root)))


def run_script(module: str) -> None:
    """Run `module.main(argv)` as a script (`blender -b -P FILE -- ARGS` or `python FILE ARGS`) and exit."""
    use_checkout()
    sys.exit(importlib.import_module(module).main(sys.argv[1:]))

"""The import graph of the installed namespace, read from the source (import statements, no imports run)."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from pain3d.checkout import ROOT, package_dirs

# Each layer's subpackage, in the order of the house: a layer may import those it lists.
LAYERS = {
    "core": (),
    "addon": ("core",),
    "farm": ("core", "addon"),
    "texturing": ("core", "farm"),
    "training": ("core",),
    "app": ("core", "addon", "farm", "texturing", "training"),
}
ENTRY_POINT = "pain3d.__main__"  # runs the CLI: the one core-folder module that reaches up


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (absolute)
    line: int
    top_level: bool  # executed at import time (not inside a function)


def module_files() -> dict[str, Path]:
    """Every module of the namespace -> its file."""
    roots = {"pain3d": ROOT / "pain3d", **package_dirs()}
    out = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "pain3d" and any(name.startswith(f"{p}.") or name == p for p in package_dirs()):
                continue
            out[name] = path
    return out


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS and parts[1] != "core" else "core"


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, top in _walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno, top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            if node.module is None or node.level:  # `from . import x` may name submodules
                found += [Import(module, f"{base}.{a.name}", node.lineno, top) for a in node.names]
            found.append(Import(module, base, node.lineno, top))
    return found


def _walk(tree: ast.Module):
    """(node, at import time?) for every node; a function body runs later, an `if __name__` block only as a script."""
    stack = [(n, True) for n in tree.body]
    while stack:
        node, top = stack.pop()
        yield node, top
        later = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or _is_main_block(node)
        stack.extend((child, top and not later) for child in ast.iter_child_nodes(node))


def _is_main_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)


def _absolute(package: str, module: str | None, level: int) -> str:
    if not level:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - level + 1]
    return ".".join(base + ([module] if module else []))


def graph() -> list[Import]:
    modules = module_files()
    return [imp for name, path in modules.items() for imp in imports_of(name, path)]


def resolve(target: str, modules: set[str]) -> str | None:
    """The namespace module an import names (`pain3d.facs.catalog` -> `pain3d.facs`), or None."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def third_party(target: str) -> bool:
    top = target.split(".")[0]
    return top != "pain3d" and top not in sys.stdlib_module_names and top != "numpy"

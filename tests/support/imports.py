"""The project's own import graph, read from the source (AST), for the house-rule tests.

Every ``import`` counts, at module level or inside a function (a function-level import still runs, and a cycle
through one still couples two modules); only ``if TYPE_CHECKING:`` blocks are skipped. Folders are walked
recursively: ``glob("*.py")`` and ``pkgutil.iter_modules`` see one level only and would miss the subpackages.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

OWN_PACKAGES = ("core", "components", "pages")


@dataclass(frozen=True)
class Import:
    importer: str  # the module that imports
    target: str  # the module imported
    name: str  # the name taken from it ("" when the module itself is bound)
    alias: str  # what the importer calls it
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path, packages: Sequence[str] = OWN_PACKAGES) -> dict[str, Path]:
    return {module_name(root, path): path for package in packages for path in sorted((root / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for node in child.orelse:
                yield from _import_nodes(ast.Module(body=[node], type_ignores=[]))
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _import_nodes(child)


def _resolved(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    anchor = importer.split(".") if is_package else importer.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def imports(
    root: Path, packages: Sequence[str] = OWN_PACKAGES, *, targets: Sequence[str] = OWN_PACKAGES
) -> list[Import]:
    """Every import of a module in ``targets`` made by a module in ``packages``."""
    known = source_files(root, tuple(dict.fromkeys([*packages, *targets])))
    found = []
    for importer, path in source_files(root, packages).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _import_nodes(tree):
            if isinstance(node, ast.Import):
                found += [Import(importer, alias.name, "", alias.asname or alias.name.split(".")[0], node.lineno)
                          for alias in node.names if alias.name.split(".")[0] in targets]
                continue
            base = _resolved(importer, node, path.name == "__init__.py")
            if base.split(".")[0] not in targets:
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:  # `from core.data import dataset` binds a module
                    found.append(Import(importer, submodule, "", alias.asname or alias.name, node.lineno))
                else:
                    found.append(Import(importer, base, alias.name, alias.asname or alias.name, node.lineno))
    return found


def private_attribute_uses(root: Path, packages: Sequence[str] = OWN_PACKAGES) -> list[tuple[str, str, str, int]]:
    """(importer, module, attribute, line) for ``module._private`` where ``module`` is a project module bound by an
    import (``from core.teaching import lessons as lessons_module`` then ``lessons_module._describe``)."""
    bound: dict[str, dict[str, str]] = {}
    for item in imports(root, packages):
        if not item.name:
            bound.setdefault(item.importer, {})[item.alias] = item.target
    found = []
    for importer, path in source_files(root, packages).items():
        aliases = bound.get(importer, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                found.append((importer, aliases[node.value.id], node.attr, node.lineno))
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def module_edges(root: Path, packages: Sequence[str] = OWN_PACKAGES) -> dict[str, set[str]]:
    known = source_files(root, packages)
    edges: dict[str, set[str]] = {name: set() for name in known}
    for item in imports(root, packages):
        if item.target in known and item.target != item.importer:
            edges[item.importer].add(item.target)
    return edges

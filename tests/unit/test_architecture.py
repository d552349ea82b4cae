"""House rules as tests: layers that only import downward, no import cycles, no private names across packages,
an engine that never imports Streamlit, and a first page that loads no heavy library before it draws.

The checks read the source recursively (tests/support/imports.py); the last tests run them on a scratch tree with
one upward import, one cycle and one private import, so a check that could never fail would show here.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.imports import OWN_PACKAGES, cycles, imports, module_edges, private_attribute_uses, source_files

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A unit (a subpackage of core/ or components/, or a top-level module) imports only units of lower
# layers, or modules of its own unit. The foundation's modules are peers (the cycle check still covers them).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core.errors", "core.records", "core.registry", "core.lazy", "core.backend", "core.progress", "core.layers"),
    ("core.choices",),
    ("core.config",),
    ("core.data",),
    ("core.text",),
    ("core.runs",),
    ("core.model",),
    ("core.training",),
    ("core.evidence",),
    ("core.teaching",),
    ("core.cli",),
    ("core.__main__",),
    ("components.figures",),
    ("components.services",),
    ("components.frame",),
    ("components.panels",),
    ("pages",),
)
FOUNDATION = 0
MAX_MODULE_LINES = 700


def unit_of(module: str) -> str:
    """core.data.reading -> core.data; core.config -> core.config; components.panels.data -> components.panels."""
    parts = module.split(".")
    if parts[0] == "pages":
        return "pages"
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def layering_problems(root: Path, layers=LAYERS) -> list[str]:
    level = {unit: rank for rank, units in enumerate(layers) for unit in units}
    problems = []
    for item in imports(root):
        importer, target = unit_of(item.importer), unit_of(item.target)
        if importer == target or target in ("core", "components"):
            continue
        if importer not in level or target not in level:
            problems.append(f"{item.importer}:{item.line} imports {item.target}: a unit missing from LAYERS")
        elif level[target] > level[importer] or (level[target] == level[importer] and level[importer] != FOUNDATION):
            problems.append(f"{item.importer}:{item.line} imports {item.target}, which sits above it")
    return problems


def private_import_problems(root: Path) -> list[str]:
    problems = [f"{item.importer}:{item.line} imports {item.target}.{item.name}"
                for item in imports(root)
                if item.name.startswith("_") and unit_of(item.importer) != unit_of(item.target)]
    problems += [f"{importer}:{line} uses {module}.{attribute}" for importer, module, attribute, line in
                 private_attribute_uses(root) if unit_of(importer) != unit_of(module)]
    return problems


# --------------------------------------------------------------------------------------------- the real tree


def test_every_package_sits_in_a_layer_and_imports_only_downward():
    assert layering_problems(ROOT) == []


def test_no_import_cycle_between_modules():
    assert cycles(module_edges(ROOT)) == []


def test_no_private_name_is_imported_across_packages():
    assert private_import_problems(ROOT) == []


def test_core_never_imports_streamlit():
    streamlit = [f"{item.importer}:{item.line}" for item in imports(ROOT, ("core",), targets=("streamlit",))]
    assert streamlit == []


def test_figures_and_services_never_import_streamlit():
    """Chart builders return Altair charts; server-wide state works without a Streamlit runtime."""
    streamlit = [f"{item.importer}:{item.line}" for item in imports(ROOT, ("components",), targets=("streamlit",))
                 if unit_of(item.importer) in ("components.figures", "components.services")]
    assert streamlit == []


def test_no_module_is_longer_than_the_limit():
    long = {name: lines for name, path in source_files(ROOT, ("core", "components")).items()
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def _export_table(package: str) -> dict[str, list[str]]:
    """A subpackage's table of public names (module -> names), read from its __init__ without importing anything."""
    init = ROOT.joinpath(*package.split("."), "__init__.py")
    for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "exports":
            return ast.literal_eval(node.args[1])
    return {}


def _top_level_names(module: str) -> set[str]:
    path = source_files(ROOT, ("core",))[module]
    names: set[str] = set()

    def bound(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                bound(element)

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    bound(target)
            elif isinstance(node, ast.AnnAssign):
                bound(node.target)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body + node.orelse + [s for h in getattr(node, "handlers", []) for s in h.body])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    if path.name == "__init__.py":  # a package inside a package may list its own names lazily
        names.update(name for listed in _export_table(module).values() for name in listed)
    return names


def test_each_package_names_what_other_packages_import_from_it():
    """A subpackage's __init__ is its table of contents: every name another package takes from one of its modules is
    listed there under that module, and every listed name is defined in the module it is listed under."""
    missing = []
    for item in imports(ROOT, ("core", "components", "pages")):
        package = unit_of(item.target)
        if not item.target.startswith("core.") or package == item.target or unit_of(item.importer) == package:
            continue
        table = _export_table(package)
        if table and item.name and item.name not in table.get(item.target[len(package) + 1:].split(".")[0], []):
            missing.append(f"{item.importer}:{item.line} takes {item.name} from {item.target}")
    assert missing == []
    packages = sorted({unit_of(name) for name in source_files(ROOT, ("core",)) if name.count(".") >= 2})
    undefined = [f"{package}.{module}.{name}"
                 for package in packages for module, names in _export_table(package).items()
                 for name in names if name not in _top_level_names(f"{package}.{module}")]
    assert undefined == []


def test_importing_every_core_module_loads_neither_streamlit_nor_tensorflow_until_a_model_is_built():
    modules = [name for name in source_files(ROOT, ("core",)) if name != "core.__main__"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('streamlit' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_importing_the_config_and_data_path_does_not_load_tensorflow():
    """The dashboard's first page must not wait for TensorFlow."""
    code = ("import sys, core.config, core.data.dataset, core.evidence.triage, core.text.preprocessing; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.stdout.strip() == "False False", completed.stderr


def test_the_first_page_imports_no_heavy_library_before_it_draws():
    """Cold start: the Data page's modules load without scikit-learn (1.5 s), Altair or TensorFlow; those load
    after the first figures are on screen (see bench/cold_start.py)."""
    modules = ["app", "components.services", "components.frame.state", "components.frame.cached",
               "components.frame.common", "components.frame.sidebar", "components.panels.data",
               "components.panels.cleaning", "core.evidence.triage", "core.data.splitting", "core.text.vectorizing"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "print(sorted(m for m in ('sklearn', 'altair', 'tensorflow', 'keras', 'imblearn') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def _python_sources() -> list[Path]:
    return list(source_files(ROOT, (*OWN_PACKAGES, "bench")).values()) + [ROOT / "app.py"]


def test_nothing_imports_the_entry_file():
    """Imports run downward only: the entry file routes, nothing depends on it."""
    assert [item for item in imports(ROOT, (*OWN_PACKAGES, "bench"), targets=("app",))] == []


def test_the_page_list_exists_once():
    """Every page's path is written in the navigation module and nowhere else."""
    page_paths = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "pages").glob("*.py"))
    holders = [path for path in _python_sources()
               if all(f'"{page}"' in path.read_text(encoding="utf-8") for page in page_paths)]
    assert [path.name for path in holders] == ["navigation.py"]
    for path in _python_sources():
        if path not in holders:
            text = path.read_text(encoding="utf-8")
            assert not [page for page in page_paths if f'"{page}"' in text], path.name


def test_strategy_names_live_in_their_registry_record():
    """A resampling strategy's key is written in its record only (tests and docs aside): adding one is one place."""
    import re

    from core.choices.resampling import RESAMPLERS

    records = (ROOT / "core" / "choices" / "resampling.py", ROOT / "core" / "config.py")  # the config's default
    mentions = {}
    for path in _python_sources():
        if path in records:
            continue
        text = path.read_text(encoding="utf-8")
        for record in RESAMPLERS:
            if record.key == "none":  # the word is everywhere ("attention none"); the others are names of their own
                continue
            if re.search(rf"(?<![\w.]){re.escape(record.key)}(?!\w)", text):
                mentions.setdefault(path.relative_to(ROOT).as_posix(), []).append(record.key)
    assert mentions == {}


# ------------------------------------------------------------------------- the checks fail when they should


def _scratch_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in ("core", "components", "pages"):
        (root / package).mkdir(exist_ok=True)
    return root


def test_the_layering_check_catches_an_upward_import_even_inside_a_function(tmp_path):
    tree = _scratch_tree(tmp_path, {
        "core/__init__.py": "", "core/data/__init__.py": "", "core/model/__init__.py": "",
        "core/model/classifier.py": "from core.data.dataset import Dataset\n",
        "core/data/dataset.py": "class Dataset: ...\n\ndef f():\n    from core.model.classifier import build\n",
    })
    problems = layering_problems(tree)
    assert len(problems) == 1 and "core.data.dataset:4 imports core.model.classifier" in problems[0]


def test_the_layering_check_ignores_type_checking_imports(tmp_path):
    tree = _scratch_tree(tmp_path, {
        "core/__init__.py": "", "core/data/__init__.py": "", "core/model/__init__.py": "",
        "core/data/dataset.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.model.classifier import x\n"
        ),
        "core/model/classifier.py": "x = 1\n",
    })
    assert layering_problems(tree) == []


def test_the_cycle_check_catches_a_cycle_through_a_function_level_import(tmp_path):
    tree = _scratch_tree(tmp_path, {
        "core/__init__.py": "", "core/cli/__init__.py": "",
        "core/cli/entry.py": "from core.cli import study_commands\n",
        "core/cli/study_commands.py": "def run():\n    from core.cli.entry import load\n",
    })
    assert cycles(module_edges(tree)) == [["core.cli.entry", "core.cli.study_commands"]]


def test_the_private_check_catches_a_private_name_and_a_private_attribute_across_packages(tmp_path):
    tree = _scratch_tree(tmp_path, {
        "core/__init__.py": "", "core/data/__init__.py": "", "core/evidence/__init__.py": "",
        "core/teaching/__init__.py": "",
        "core/data/dataset.py": "def _class_order(): ...\n",
        "core/teaching/lessons.py": "def _describe(): ...\n",
        "core/evidence/cleaning.py": "from core.data.dataset import _class_order\n",
        "components/__init__.py": "",
        "components/panels/__init__.py": "",
        "components/panels/lessons.py": (
            "from core.teaching import lessons as lessons_module\nlessons_module._describe()\n"
        ),
    })
    problems = private_import_problems(tree)
    assert problems == ["core.evidence.cleaning:1 imports core.data.dataset._class_order",
                        "components.panels.lessons:2 uses core.teaching.lessons._describe"]


@pytest.mark.parametrize("module", ["core.data", "core.evidence", "core.training"])
def test_a_package_import_loads_none_of_its_modules(module):
    """Listing a package's names costs nothing: each module loads when one of its names is first used."""
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('{module}.')))"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.stdout.strip() == "[]", completed.stderr

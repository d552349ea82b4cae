"""GPU readiness without a GPU or TensorFlow: bench/gpu_path.py stops with one sentence naming the missing backend
package (not TensorFlow), its dry-run sizes and data, and its import graph (nothing on it loads TensorFlow unless
the backend is TensorFlow; Keras and NumPy are all it needs). The dry runs train models: tests/system/test_gpu_path.py.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.paths import ROOT

SCRIPT = ROOT / "bench" / "gpu_path.py"


# ------------------------------------------------------------------------------------------ the script, without Keras

def _absent_backend() -> tuple[str, str]:
    for name, package in (("torch", "torch"), ("jax", "jax"), ("openvino", "openvino")):
        if importlib.util.find_spec(package) is None:
            return name, package
    pytest.skip("torch, jax and openvino are all installed: no backend here lacks its library")


def test_the_script_names_the_missing_package_not_tensorflow():
    """In a fresh process with KERAS_BACKEND set to a backend whose library is absent: exit 2 and one line naming
    that package, before Keras (or TensorFlow) is imported, and no traceback."""
    name, package = _absent_backend()
    env = {**os.environ, "KERAS_BACKEND": name, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert f"'{package}' is not installed" in lines[0] and "Traceback" not in done.stderr
    assert "'tensorflow' is not installed" not in lines[0] and "No module named" not in lines[0]
    assert done.stdout == ""


def _load_script():
    spec = importlib.util.spec_from_file_location("gpu_path_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_sizes_and_model_choice():
    script = _load_script()
    args = script.parse(["--dry-run", "--rows", "5000"])
    assert (args.rows, args.length, args.batch, args.epochs, args.vocab) == (96, 12, 32, 1, 300)
    assert args.models == ["bare", "masked", "engine"]
    assert script.parse(["--models", "bare, engine"]).models == ["bare", "engine"]
    with pytest.raises(SystemExit):
        script.parse(["--models", "bare,cudnn"])


def test_the_data_is_what_cudnn_accepts_with_a_mask():
    """Strictly right-padded, no all-padding row; the extremes (one real token, no padding) included."""
    script = _load_script()
    ids, labels = script.data(50, 12, 300, 4)
    lengths = (ids != 0).sum(axis=1)
    assert ids.shape == (50, 12) and labels.shape == (50,) and set(labels) <= set(range(4))
    assert lengths.min() == 1 and lengths.max() == 12
    assert all((row[:n] != 0).all() and (row[n:] == 0).all() for row, n in zip(ids, lengths))
    assert np.array_equal(ids, script.data(50, 12, 300, 4)[0])  # seeded


def test_fused_labels():
    label = _load_script().fused_label
    assert label({"fused": 3, "loop": 0, "available": True}) == "yes"
    assert label({"fused": 0, "loop": 2, "available": True}) == "no"
    assert label({"fused": 1, "loop": 1, "available": True}) == "mixed"
    assert label({"fused": 0, "loop": 0, "available": False}) == "n/a"


# ------------------------------------------------------------------------------------------ the import graph

def _path_of(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def _imports(tree: ast.AST, module: str, is_package: bool, *, module_level: bool) -> list[tuple[str, ast.stmt]]:
    """(module imported, the import statement); ``module_level``: only what runs when the module is imported
    (class bodies and top-level if/try blocks count, function bodies don't)."""
    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if module_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, child) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([child.module] if child.module else []))
                found.append((base, child))
                found.extend((f"{base}.{alias.name}", child) for alias in child.names
                             if _path_of(f"{base}.{alias.name}"))
            visit(child)

    visit(tree)
    return found


def _closure() -> dict[str, ast.Module]:
    """The lab's modules bench/gpu_path.py can load: its own imports of core (anywhere in the script), the packages
    above them, and everything those import, at any level (a function-level import runs when the function does)."""
    script = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    todo = [name for name, _ in _imports(script, "bench.gpu_path", False, module_level=False)
            if name.split(".")[0] == "core"]
    trees: dict[str, ast.Module] = {"bench.gpu_path": script}
    while todo:
        parts = todo.pop().split(".")
        for depth in range(1, len(parts) + 1):
            module = ".".join(parts[:depth])
            path = _path_of(module)
            if module in trees or path is None:
                continue
            trees[module] = ast.parse(path.read_text(encoding="utf-8"))
            todo += [name for name, _ in _imports(trees[module], module, path.name == "__init__.py", module_level=False)
                     if name.split(".")[0] == "core"]
    return trees


def test_the_script_path_imports_only_keras_and_numpy_at_import_time():
    """What the GPU machine must have besides the standard library: Keras and NumPy (no TensorFlow, no pandas,
    no scikit-learn)."""
    trees = _closure()
    assert {"core.model.classifier", "core.layers", "core.config", "core.backend"} <= set(trees)
    third_party = {}
    for module, tree in trees.items():
        is_package = module != "bench.gpu_path" and _path_of(module).name == "__init__.py"
        for name, _ in _imports(tree, module, is_package, module_level=True):
            top = name.split(".")[0]
            if top and top not in sys.stdlib_module_names and top not in ("core", "__future__"):
                third_party.setdefault(top, set()).add(module)
    assert set(third_party) == {"keras", "numpy"}, third_party


def _guarded_by_tensorflow_check(tree: ast.AST, target: ast.stmt) -> bool:
    """Whether ``target`` sits in the body of an ``if``/``elif`` whose test compares something with "tensorflow"."""

    def search(node, guarded: bool) -> bool | None:
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                inside = guarded or (isinstance(node, ast.If) and field == "body"
                                     and "'tensorflow'" in ast.unparse(node.test) and "==" in ast.unparse(node.test))
                if child is target:
                    return inside
                found = search(child, inside)
                if found is not None:
                    return found
        return None

    return bool(search(tree, False))


def test_tensorflow_is_imported_only_where_the_backend_is_tensorflow():
    trees = _closure()
    tensorflow_imports = []
    for module, tree in trees.items():
        is_package = module != "bench.gpu_path" and _path_of(module).name == "__init__.py"
        for name, statement in _imports(tree, module, is_package, module_level=False):
            if name.split(".")[0] == "tensorflow":
                tensorflow_imports.append((module, statement.lineno, _guarded_by_tensorflow_check(tree, statement)))
    assert tensorflow_imports, "the check found no TensorFlow import at all: the walker is broken"
    assert all(guarded for _, _, guarded in tensorflow_imports), tensorflow_imports


def test_the_guard_check_can_fail():
    tree = ast.parse("import os\nif backend == 'torch':\n    import tensorflow\nelif name == 'tensorflow':\n"
                     "    import tensorflow as tf\nelse:\n    import tensorflow.keras\n")
    statements = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))][1:]
    assert [_guarded_by_tensorflow_check(tree, statement) for statement in statements] == [False, True, False]

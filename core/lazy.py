"""Heavy libraries, imported on first use by one thread at a time.

The dashboard serves each browser session on its own thread and imports scikit-learn, imbalanced-learn, Altair and
friends lazily (the first page must not wait for them). Two threads importing scikit-learn for the first time at
once fail ("cannot import name 'clone' from partially initialized module 'sklearn.base'": 8 of 8 tries, measured
on a freshly started server). :func:`load` imports a whole group of modules under one lock, once; code that
imports such a library lazily calls it first, so whichever session comes first pays the import and the others wait
for a complete module instead of a half-built one.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any, Callable, Iterable, Mapping

# The modules of each library that the lab imports somewhere; a group is imported whole, so no later
# first-import of a submodule can race another thread.
GROUPS: dict[str, tuple[str, ...]] = {
    "sklearn": (
        "sklearn", "sklearn.base", "sklearn.metrics", "sklearn.feature_extraction.text", "sklearn.linear_model",
        "sklearn.multiclass", "sklearn.pipeline", "sklearn.model_selection", "sklearn.neighbors",
        "sklearn.preprocessing", "sklearn.utils.class_weight",
    ),
    "imblearn": ("imblearn", "imblearn.over_sampling", "imblearn.under_sampling"),
    "altair": ("altair",),
    "cleanlab": ("cleanlab", "cleanlab.filter"),
    "optuna": ("optuna", "optuna.importance", "optuna.samplers", "optuna.pruners", "optuna.storages"),
    "scipy": ("scipy", "scipy.stats", "scipy.sparse"),
}
# A group that needs another loaded first (imbalanced-learn, cleanlab and Optuna's importance use scikit-learn).
REQUIRES: dict[str, tuple[str, ...]] = {"imblearn": ("sklearn",), "cleanlab": ("sklearn",),
                                        "optuna": ("sklearn", "scipy"), "sklearn": ("scipy",)}

_lock = threading.RLock()
_loaded: set[str] = set()


def load(group: str) -> None:
    """Import every module of ``group`` (and the groups it requires) exactly once, one thread at a time."""
    if group in _loaded:
        return
    if group not in GROUPS:
        raise ValueError(f"unknown library group {group!r}; known: {', '.join(GROUPS)}")
    with _lock:
        if group in _loaded:
            return
        for required in REQUIRES.get(group, ()):
            load(required)
        for module in GROUPS[group]:
            importlib.import_module(module)
        _loaded.add(group)


def loaded(group: str) -> bool:
    return group in _loaded


def exports(
    package: str, table: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """A package's public names, each imported from its module on first use (PEP 562; Scientific Python's SPEC 1).

    A package's ``__init__`` names its public functions and classes without importing its modules, so
    ``import core.evidence.triage`` does not also load the study machinery, and the first page stays light.
    Returns ``(__getattr__, __dir__, __all__)`` for the package's namespace.
    """
    where = {name: f"{package}.{module}" for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)

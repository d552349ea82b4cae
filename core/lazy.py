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
import threading

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
REQUIRES: dict[str, tuple[str, ...]] = {"imblearn": ("sklearn",), "cleanlab": ("sklearn",), "optuna": ("sklearn", "scipy"),
                                        "sklearn": ("scipy",)}

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

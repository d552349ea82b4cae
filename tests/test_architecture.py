"""House rules that keep the engine usable headless."""

import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).parent.parent


def test_core_source_never_mentions_a_streamlit_import():
    for path in (ROOT / "core").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import streamlit", "from streamlit")), f"{path.name}: {line}"


def test_importing_every_core_module_loads_no_streamlit():
    modules = [f"core.{m.name}" for m in pkgutil.iter_modules(core.__path__) if m.name != "__main__"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('streamlit' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_importing_core_config_does_not_load_tensorflow():
    """The dashboard's first page must not wait for TensorFlow."""
    code = "import sys, core.config, core.data.dataset, core.evidence.triage, core.text.preprocessing; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.stdout.strip() == "False False", completed.stderr


def test_the_first_page_imports_no_heavy_library_before_it_draws():
    """Cold start: the Data page's modules load without scikit-learn (1.5 s), Altair or TensorFlow; those load
    after the first figures are on screen (see bench/cold_start.py)."""
    modules = ["app", "components.state", "components.cached", "components.common", "components.sidebar",
               "components.data_panel", "core.evidence.triage", "core.data.splitting", "core.text.vectorizing"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "print(sorted(m for m in ('sklearn', 'altair', 'tensorflow', 'keras', 'imblearn') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def _python_sources() -> list[Path]:
    return [path for folder in ("core", "components", "pages", "bench") for path in (ROOT / folder).glob("*.py")] + [ROOT / "app.py"]


def test_nothing_imports_the_entry_file():
    """Imports run downward only: the entry file routes, nothing depends on it."""
    for path in _python_sources():
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import app", "from app import", "from app ")), f"{path.name}: {line}"


def test_the_page_list_exists_once():
    """Every page's path is written in components/navigation.py and nowhere else."""
    page_paths = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "pages").glob("*.py"))
    for path in _python_sources():
        if path.name == "navigation.py":
            text = path.read_text(encoding="utf-8")
            assert all(f'"{page}"' in text for page in page_paths)
            continue
        text = path.read_text(encoding="utf-8")
        assert not [page for page in page_paths if f'"{page}"' in text], path.name


def test_strategy_names_live_in_their_registry_record():
    """A resampling strategy's key is written in its record only (tests and docs aside): adding one is one place."""
    from core.choices.resampling import RESAMPLERS

    mentions = {}
    for path in _python_sources():
        if path in (ROOT / "core" / "resampling.py", ROOT / "core" / "config.py"):
            continue  # the records themselves, and the config's recommended default strategy
        text = path.read_text(encoding="utf-8")
        for record in RESAMPLERS:
            if record.key == "none":  # the word is everywhere ("attention none"); the others are names of their own
                continue
            if re.search(rf"(?<![\w.]){re.escape(record.key)}(?!\w)", text):
                mentions.setdefault(path.relative_to(ROOT).as_posix(), []).append(record.key)
    assert mentions == {}

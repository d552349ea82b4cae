"""Run records: one folder per run, written atomically, listed and loaded back without pickle.

A run folder holds ``run.json`` (summary), ``config.json``, ``history.json``, ``metrics.json``,
``predictions.json`` (test split), ``vocabulary.json``, ``labels.json`` and ``model.keras``. Everything is first
written to a hidden temporary folder and then renamed into place, so a crash mid-save leaves nothing that listing
or loading would trip over. Models load with Keras safe mode.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from core.config import ExperimentConfig
from core.errors import ConfigError, RunError
from core.runs.results import Prediction, RunInfo, RunMetrics
from core.text.vectorizing import Vocabulary

DEFAULT_RUNS_DIR = "runs"
RUNS_DIR_VARIABLE = "LSTM_TEXT_LAB_RUNS"
RUN_FILES = (
    "run.json", "config.json", "history.json", "metrics.json", "predictions.json", "vocabulary.json", "labels.json",
    "model.keras",
)
OPTIONAL_FILES = ("replay.json",)  # written by newer versions; a run without them still loads
_STALE_TEMP_SECONDS = 3600
_TEMPORARY = re.compile(r"^\.tmp-.+-(\d+)$")  # .tmp-<run id>-<pid of the writing process>


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: store them as null."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    return value


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(_finite(payload), indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")


def runs_dir(argument: str | os.PathLike | None = None) -> Path:
    """The runs folder: an explicit choice (``--runs-dir``), else $LSTM_TEXT_LAB_RUNS, else ``runs/``. The one place
    this is decided, for the CLI, the dashboard and the workers alike."""
    return Path(argument or os.environ.get(RUNS_DIR_VARIABLE) or DEFAULT_RUNS_DIR)


ATTACHMENT = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def _attachment_file(name: str) -> str:
    """An extra record's file name in the run folder (a plain lower-case word: nothing can escape the folder)."""
    if not ATTACHMENT.match(name) or f"{name}.json" in RUN_FILES + OPTIONAL_FILES:
        raise ValueError(f"an attachment needs a lower-case name that no run file uses, got {name!r}")
    return f"{name}.json"


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create the runs folder if needed and prove a file can be written there, before any training starts."""
    root = Path(folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RunError(f"Runs cannot be saved in {str(root)!r} ({reason}); choose a writable folder with --runs-dir "
                       f"or ${RUNS_DIR_VARIABLE}.") from None
    return root


def new_run_id() -> str:
    return f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def save_run(
    folder: str | os.PathLike,
    *,
    summary: RunInfo,
    config: ExperimentConfig,
    history: dict,
    metrics: RunMetrics,
    predictions: Sequence[Prediction],
    vocabulary: Vocabulary,
    class_names: Sequence[str],
    model,
    run_id: Optional[str] = None,
    replay: Optional[dict] = None,
    attachments: Optional[dict[str, object]] = None,
) -> Path:
    """Write a complete run folder and return its path; the folder appears in one atomic rename."""
    root = Path(folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"Cannot create the runs folder {str(root)!r} ({exc.strerror}); "
                       "choose a writable folder with --runs-dir.") from None
    run_id = run_id or new_run_id()
    temporary = root / f".tmp-{run_id}-{os.getpid()}"
    temporary.mkdir()
    try:
        write_json(temporary / "config.json", config.to_dict())
        write_json(temporary / "history.json", history)
        write_json(temporary / "metrics.json", metrics.to_dict())
        write_json(temporary / "predictions.json", [prediction.to_dict() for prediction in predictions])
        write_json(temporary / "vocabulary.json", vocabulary.to_dict())
        write_json(temporary / "labels.json", {"class_names": list(class_names)})
        if replay:
            write_json(temporary / "replay.json", replay)
        for name, payload in (attachments or {}).items():
            write_json(temporary / _attachment_file(name), payload)
        model.save(temporary / "model.keras")
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json(temporary / "run.json", replace(summary, id=run_id, created=created).to_dict())
        final = root / run_id
        while final.exists():
            final = root / f"{run_id}-{uuid.uuid4().hex[:4]}"
        os.replace(temporary, final)
        return final
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


@dataclass(frozen=True)
class RunSummary:
    path: Path
    info: RunInfo  # contents of run.json

    @property
    def run_id(self) -> str:
        return self.info.id or self.path.name


def list_runs(folder: str | os.PathLike | None = None) -> list[RunSummary]:
    """Complete runs, newest first (in ``folder``, default :func:`runs_dir`). Hidden temporary folders and
    unreadable folders are skipped."""
    root = runs_dir(folder)
    if not root.is_dir():
        return []
    _remove_stale_temporaries(root)
    runs = []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            info = RunInfo.from_dict(json.loads((folder / "run.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        if all((folder / name).is_file() for name in RUN_FILES):
            runs.append(RunSummary(folder, info))
    return sorted(runs, key=lambda run: run.info.created, reverse=True)


def _remove_stale_temporaries(root: Path) -> None:
    """Leftovers of a crash mid-save: invisible to listing, removed as soon as the process that wrote them is gone
    (or, for folders from another machine sharing the runs folder, once an hour old)."""
    for folder in root.glob(".tmp-*"):
        match = _TEMPORARY.match(folder.name)
        try:
            writer_gone = match is not None and not _process_alive(int(match.group(1)))
            if writer_gone or time.time() - folder.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def clean_abandoned(folder: str | os.PathLike | None = None) -> None:
    """Remove what crashed saves left behind (the CLI and the dashboard call this when they start)."""
    root = runs_dir(folder)
    if root.is_dir():
        _remove_stale_temporaries(root)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


@dataclass
class LoadedRun:
    path: Path
    info: RunInfo
    config: ExperimentConfig
    history: dict
    metrics: RunMetrics
    vocabulary: Vocabulary
    class_names: list[str]
    _model: Any = field(default=None, repr=False)
    _predictions: Optional[list[Prediction]] = field(default=None, repr=False)

    @property
    def model(self):
        """The Keras model, loaded on first use with safe mode on."""
        if self._model is None:
            self._model = load_model(self.path / "model.keras")
        return self._model

    def attachment(self, name: str) -> Optional[Any]:
        """An extra record saved with the run (e.g. "edits" for a cleaned dataset), or None."""
        path = self.path / _attachment_file(name)
        return _read_json(path) if path.is_file() else None

    @property
    def replay(self) -> Optional[dict]:
        """Per-epoch validation predictions and example token weights (None for runs saved without them)."""
        path = self.path / "replay.json"
        return _read_json(path) if path.is_file() else None

    @property
    def predictions(self) -> list[Prediction]:
        if self._predictions is None:
            self._predictions = _read_record(self.path / "predictions.json",
                                             lambda raw: [Prediction.from_dict(p) for p in raw])
        return self._predictions


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"The run folder {str(path.parent)!r} has no {path.name}; "
                       "it is not a complete run — pick one listed by the Runs page.") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path.name} in {str(path.parent)!r} cannot be read ({exc}); "
                       "the run is damaged — train it again.") from None


def _read_record(path: Path, build):
    """A JSON file turned into a typed record; a file of the wrong shape is a damaged run, said in one sentence."""
    raw = _read_json(path)
    try:
        return build(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RunError(f"{path.name} in {str(path.parent)!r} is not a run record this version can read ({exc}); "
                       "train it again.") from None


def load_run(run_dir: str | os.PathLike) -> LoadedRun:
    """Read a run folder (the model itself loads lazily)."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RunError(f"No run folder at {str(path)!r}; "
                       "give a folder under your runs directory (for example runs/<run id>).")
    try:
        config = ExperimentConfig.from_dict(_read_json(path / "config.json"))
    except ConfigError as exc:
        raise RunError(f"The run's config.json is not valid for this version ({exc}).") from None
    return LoadedRun(
        path=path,
        info=_read_record(path / "run.json", RunInfo.from_dict),
        config=config,
        history=_read_json(path / "history.json"),
        metrics=_read_record(path / "metrics.json", RunMetrics.from_dict),
        vocabulary=Vocabulary.from_dict(_read_json(path / "vocabulary.json")),
        class_names=list(_read_json(path / "labels.json")["class_names"]),
    )


def load_model(path: str | os.PathLike):
    """Load a model this app saved, with safe mode (no arbitrary code); our custom layers are registered first."""
    import keras

    import core.layers  # noqa: F401  registers the custom layers for deserialization

    path = Path(path)
    run = path.parent.name or str(path.parent)
    if not path.is_file():
        raise RunError(f"Run {run!r} has no model file ({path.name}); train it again.")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # noqa: BLE001 - a damaged or crafted file, whatever Keras raises for it
        what = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise RunError(f"The model of run {run!r} cannot be loaded: it is damaged or was not saved by this lab "
                       f"({type(exc).__name__}: {what}); train the run again.") from None


def zip_run(run_dir: str | os.PathLike) -> bytes:
    """The whole run folder as a zip archive (model, config, metrics, ...), for download."""
    path = Path(run_dir)
    buffer = io.BytesIO()
    extra = tuple(sorted(p.name for p in path.glob("*.json") if p.name not in RUN_FILES + OPTIONAL_FILES))
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in RUN_FILES + OPTIONAL_FILES + extra:
            if (path / name).is_file():
                archive.write(path / name, arcname=f"{path.name}/{name}")
    return buffer.getvalue()


def delete_run(run_dir: str | os.PathLike, folder: str | os.PathLike | None = None) -> None:
    """Remove a run folder that lives directly under the runs folder."""
    path, root = Path(run_dir).resolve(), runs_dir(folder).resolve()
    if path.parent != root or not (path / "run.json").is_file():
        raise RunError("Only run folders inside the runs directory can be deleted.")
    shutil.rmtree(path)

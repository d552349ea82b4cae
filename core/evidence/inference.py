"""Predictions from a saved (or freshly trained) model on any text, explained token by token by several methods.

Every explanation method the model supports (``core.evidence.explain``: attention weights, leave-one-token-out
occlusion, gradient × input, integrated gradients) runs on the same text, so the Evaluate page can show them side by
side; tokens are the preprocessed tokens the model saw, truncated to its length. How faithful each method is for a run
is measured once on its test texts and kept beside the run (``faithfulness.json``): by the training worker right after
it saves the run, with the model still in memory (:func:`measure_after_training`), or for a run saved without one by a
spawned follow-up process (:class:`FaithfulnessMeasurer`). Either says how far it got in a small progress file beside
the run, so a page can show the run at once and poll the folder for the report.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from core.config import PreprocessingConfig
from core.records import Record
from core.text.preprocessing import TextPreprocessor
from core.text.vectorizing import OOV_TOKEN, Vocabulary, encode, encode_subwords

FAITHFULNESS_FILE = "faithfulness.json"
PROGRESS_FILE = ".faithfulness-progress"  # no .json suffix: a run's zip (core.runs.store.zip_run) takes its *.json
FAITHFULNESS_SAMPLE = 200  # test texts scored per run: ~1-2 CPU-minutes; AOPC within about ±0.02 (DESIGN §7)
ENSEMBLE_SAMPLE = 100  # a fixed, seeded sample for an average of models: every member explains every text


def faithfulness_sample(run) -> int:
    """How many test texts a run's faithfulness is measured on: 200, or 100 for an average of k models (k times the
    work per text). The sample is seeded, so it is the same texts each time; the intervals say how precise it is.
    ``run``: anything with ``metrics`` (a loaded run or an experiment's result)."""
    ensemble = getattr(run.metrics, "ensemble", None)
    return ENSEMBLE_SAMPLE if ensemble is not None and ensemble.members > 1 else FAITHFULNESS_SAMPLE


@dataclass(frozen=True)
class TokenScores(Record):
    method: str
    kind: str  # "signed" (diverging around 0) or "attention" (weights summing to 1)
    scores: list[float]  # one per token


@dataclass(frozen=True)
class TextPrediction(Record):
    """One text's prediction and its explanations (each method's scores explain the predicted class)."""

    text: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    tokens: list[str]
    explanations: list[TokenScores] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # method -> one sentence saying why it is missing

    def explanation(self, method: str) -> Optional[TokenScores]:
        return next((e for e in self.explanations if e.method == method), None)


@dataclass
class Predictor:
    """Everything needed to go from raw text to class probabilities and explanations."""

    model: object  # keras.Model: token IDs → probabilities
    vocabulary: Vocabulary
    class_names: Sequence[str]
    preprocessing: PreprocessingConfig
    max_length: int
    subword_buckets: int = 0  # > 0: the model reads hashed character n-grams beside each word ID
    _explainer: object = field(default=None, repr=False)

    @classmethod
    def from_run(cls, run) -> "Predictor":
        """From a :class:`core.runs.store.LoadedRun`."""
        model = run.model
        return cls(model, run.vocabulary, run.class_names, run.config.preprocessing, int(model.inputs[0].shape[1]),
                   run.config.model.subword_buckets)

    @property
    def explainer(self):
        """One ``core.evidence.explain.Explainer`` per predictor: its views are built once and reused."""
        if self._explainer is None:
            from core.evidence.explain import Explainer

            self._explainer = Explainer(self.model)
        return self._explainer

    def methods(self) -> tuple[str, ...]:
        return self.explainer.available().keys()

    def encode(self, texts: Sequence[str]) -> tuple[list[list[str]], np.ndarray]:
        processed = TextPreprocessor(self.preprocessing).transform(texts)
        if self.subword_buckets:
            ids = encode_subwords(processed, self.vocabulary, self.max_length, self.subword_buckets)
        else:
            ids = encode(processed, self.vocabulary, self.max_length)
        tokens = [text.split()[: self.max_length] for text in processed]
        return tokens, ids

    def predict(self, texts: Sequence[str], *, methods: Optional[Sequence[str]] = None) -> list[TextPrediction]:
        """Label and probabilities for each text, explained by ``methods`` (None: every method the model supports;
        an empty list: none). A requested method the model cannot give is named in ``unavailable``."""
        from core.evidence.explain import EXPLANATION_METHODS

        texts = list(texts)
        tokens, ids = self.encode(texts)
        probabilities = self.explainer.predict(ids) if texts else np.zeros((0, len(self.class_names)))
        predicted = probabilities.argmax(axis=1)
        available = self.explainer.available()
        wanted = list(available.keys() if methods is None else methods)
        unavailable = {m: available.reason(m) or "" for m in wanted if m not in available.keys()}
        for method in wanted:
            EXPLANATION_METHODS.get(method)  # an unknown method is a ConfigError naming the valid ones
        scores = {m: self.explainer.explain(ids, predicted, m) for m in wanted if m not in unavailable}
        results = []
        for row, text in enumerate(texts):
            best = int(predicted[row])
            results.append(TextPrediction(
                text=text, label=self.class_names[best], confidence=float(probabilities[row, best]),
                probabilities={name: float(p) for name, p in zip(self.class_names, probabilities[row])},
                tokens=tokens[row] or [OOV_TOKEN],
                explanations=[TokenScores(m, EXPLANATION_METHODS.get(m).kind, [float(s) for s in scores[m][row]])
                              for m in scores],
                unavailable=unavailable,
            ))
        return results

    def faithfulness(self, texts: Sequence[str], *, sample: int = FAITHFULNESS_SAMPLE, seed: int = 0,
                     progress: Optional[Callable[[str, float], None]] = None,
                     should_stop: Optional[Callable[[], bool]] = None):
        """How faithful each explanation method is for this model, on (a seeded sample of) ``texts``; ``progress``
        and ``should_stop`` as in :func:`core.evidence.faithfulness.measure_faithfulness`."""
        from core.evidence.faithfulness import measure_faithfulness

        _, ids = self.encode(list(texts))
        return measure_faithfulness(self.model, ids, max_texts=sample, seed=seed, explainer=self.explainer,
                                    progress=progress, should_stop=should_stop)


def saved_faithfulness(run_dir: str | Path, test_texts: int, *, sample: int = FAITHFULNESS_SAMPLE):
    """The faithfulness report saved beside a run, or None when there is none (or it is damaged, or was measured on
    another number of texts). Reading it needs no model: the dashboard shows it without the inference server.
    A report written before intervals were measured loads with them empty."""
    from core.evidence.faithfulness import FaithfulnessReport

    path = Path(run_dir) / FAITHFULNESS_FILE
    if not path.is_file():
        return None
    try:
        report = FaithfulnessReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # damaged or older: measure again
    return report if report.n_texts == min(sample, test_texts) else None


def run_faithfulness(run, predictor: Optional[Predictor] = None, *, sample: Optional[int] = None):
    """The run's faithfulness report: read from ``faithfulness.json`` beside it, or measured on its test texts
    (the predicted class of each) and written there atomically for next time. ``sample``: None for the run's own
    (:func:`faithfulness_sample`)."""
    sample = faithfulness_sample(run) if sample is None else sample
    saved = saved_faithfulness(run.path, len(run.predictions), sample=sample)
    if saved is not None:
        return saved
    texts = [prediction.text for prediction in run.predictions]
    if not texts:
        from core.errors import RunError

        raise RunError("The run's test split is empty, so there is nothing to measure explanations on.")
    report = (predictor or Predictor.from_run(run)).faithfulness(texts, sample=sample)
    _write_atomically(Path(run.path) / FAITHFULNESS_FILE, report.to_dict())
    return report


def _write_atomically(path: Path, payload: dict) -> None:
    from core.runs.store import write_json

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_json(temporary, payload)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a read-only run folder: the report is just not kept


# ------------------------------------------------------------------------------------------ measuring in the background


@dataclass(frozen=True)
class MeasuringProgress(Record):
    """What the process measuring a run's faithfulness last said; kept beside the run (``PROGRESS_FILE``) while it
    works, or with ``error`` when it failed."""

    pid: int
    started: float  # seconds since the epoch
    updated: float
    words: str  # what it is doing, e.g. "explaining with integrated gradients"
    fraction: float  # of the whole measurement
    error: Optional[str] = None  # one sentence, when the measurement failed


BACKGROUND_NICENESS = 10  # a measurement yields the CPU to the dashboard and to training (2 cores)
SERVER_NICENESS = 5  # the model server yields to the dashboard's own process, less than a measurement does


def lower_priority(niceness: int) -> None:
    """Make this process yield the CPU to the dashboard (best effort: a system may refuse)."""
    try:
        os.nice(niceness)
    except (AttributeError, OSError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def measuring_progress(run_dir: str | Path) -> Optional[MeasuringProgress]:
    """The progress of a measurement under way beside the run, or its failure; None when none is under way (no
    file, or the process that wrote it is gone without finishing)."""
    try:
        progress = MeasuringProgress.from_dict(json.loads((Path(run_dir) / PROGRESS_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return progress if progress.error or _alive(progress.pid) else None


def measure_into_run(run_dir: str | Path, predictor: Predictor, texts: Sequence[str], *, sample: int,
                     should_stop: Optional[Callable[[], bool]] = None):
    """Measure the faithfulness of ``predictor`` on ``texts`` and write ``faithfulness.json`` beside the run
    atomically, keeping the progress file up to date meanwhile. Returns the report; None when ``should_stop`` ended it
    (the progress file is removed, so a page may ask for it again) or it failed (the file keeps the sentence)."""
    from core.errors import UserError
    from core.evidence.faithfulness import MeasurementStopped

    folder, started = Path(run_dir), time.time()

    def tell(words: str, fraction: float, error: Optional[str] = None) -> None:
        _write_atomically(folder / PROGRESS_FILE, MeasuringProgress(os.getpid(), started, time.time(), words,
                                                                    round(fraction, 4), error).to_dict())

    tell("starting", 0.0)
    try:
        report = predictor.faithfulness(texts, sample=sample, progress=tell, should_stop=should_stop)
    except MeasurementStopped:
        (folder / PROGRESS_FILE).unlink(missing_ok=True)
        return None
    except (UserError, ValueError) as exc:
        tell("failed", 0.0, f"Faithfulness could not be measured: {exc}")
        return None
    except Exception as exc:  # noqa: BLE001 - the page must read one sentence, not wait for a report that never comes
        tell("failed", 0.0, f"Faithfulness could not be measured ({type(exc).__name__}: {exc}).")
        return None
    _write_atomically(folder / FAITHFULNESS_FILE, report.to_dict())
    (folder / PROGRESS_FILE).unlink(missing_ok=True)
    return report


def measure_after_training(result, should_stop: Callable[[], bool]) -> None:
    """What a training worker does once its run is saved (core.training.jobs.JobSpec.after_saving): measure the
    run's faithfulness with the model still in memory (nothing is loaded again) and write it beside the run.
    ``should_stop`` turns true on Stop or when the next job starts; the measurement then ends at its next check."""
    if result.run_dir is None or not result.predictions:
        return
    lower_priority(BACKGROUND_NICENESS)  # the worker ends after this: the next job trains in another process
    model = result.trained.models.model
    predictor = Predictor(model, result.trained.vectorized.vocabulary, list(result.class_names),
                          result.config.preprocessing, int(model.inputs[0].shape[1]),
                          result.config.model.subword_buckets)
    measure_into_run(result.run_dir, predictor, [prediction.text for prediction in result.predictions],
                     sample=faithfulness_sample(result), should_stop=should_stop)


def _measure_saved_run(run_dir: str) -> None:
    """A follow-up process: load the run and measure it; it ends early when the server that spawned it is gone."""
    import multiprocessing

    from core.backend import import_keras
    from core.errors import UserError

    parent = multiprocessing.parent_process()
    lower_priority(BACKGROUND_NICENESS)  # before the imports: they are seconds of CPU the page should have
    import_keras()
    from core.runs.store import load_run

    try:
        run = load_run(run_dir)
        predictor = Predictor.from_run(run)
        texts = [prediction.text for prediction in run.predictions]
    except UserError as exc:
        _write_atomically(Path(run_dir) / PROGRESS_FILE, MeasuringProgress(
            os.getpid(), time.time(), time.time(), "failed", 0.0, str(exc)).to_dict())
        return
    measure_into_run(run_dir, predictor, texts, sample=faithfulness_sample(run),
                     should_stop=lambda: parent is not None and not parent.is_alive())


def _spawn_measurement(run_dir: str):
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=_measure_saved_run, args=(run_dir,), daemon=True,
                                                           name="lstm-text-lab-faithfulness")
    process.start()
    return process


@dataclass(frozen=True)
class FaithfulnessStatus:
    """Where a run's faithfulness stands, for a page that polls: the report, or what is happening meanwhile."""

    report: Optional[object] = None  # core.evidence.faithfulness.FaithfulnessReport, once written
    words: str = ""  # one sentence while it is measured, or why it cannot be
    fraction: Optional[float] = None  # of the measurement, when the measuring process has said
    seconds: Optional[float] = None  # since the measurement started
    failed: bool = False

    @property
    def ready(self) -> bool:
        return self.report is not None


class FaithfulnessMeasurer:
    """Measures saved runs' faithfulness in a spawned process, one run at a time: runs saved before faithfulness was
    measured after training, trained by the CLI, or whose measurement a new training cut short.

    A run is tried once per measurer (a server): a measurement that ends without a report is not started again in
    a loop by a page that polls."""

    def __init__(self, launch: Optional[Callable[[str], Any]] = None) -> None:
        """``launch(run_dir)`` starts the measurement and returns its process (anything with ``is_alive()``,
        ``exitcode`` and ``terminate()``); by default a spawned :func:`_measure_saved_run`."""
        import threading

        self._launch = launch or _spawn_measurement
        self._lock = threading.Lock()
        self._process = None
        self._current: Optional[str] = None
        self._waiting: list[str] = []
        self._ended: dict[str, Optional[int]] = {}  # run folder -> exit code of its measuring process

    def _advance(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                return
            self._ended[self._current] = self._process.exitcode
            self._process, self._current = None, None
        if self._waiting:
            self._current = self._waiting.pop(0)
            self._process = self._launch(self._current)

    def request(self, run_dir: str | Path) -> None:
        """Measure the run unless it is being measured, waits, or was tried already."""
        run_dir = str(run_dir)
        with self._lock:
            self._advance()
            if run_dir != self._current and run_dir not in self._waiting and run_dir not in self._ended:
                self._waiting.append(run_dir)
                self._advance()

    def status(self, run_dir: str | Path, *, test_texts: int, sample: int, start: bool = True,
               elsewhere: bool = False) -> FaithfulnessStatus:
        """The report when it is written; else what is under way (by this measurer or a training worker), starting a
        measurement when none is and ``start`` is set. ``elsewhere``: the worker that trained the run is measuring it
        (and has not written its progress yet), so nothing is started here."""
        run_dir = str(run_dir)
        report = saved_faithfulness(run_dir, test_texts, sample=sample)
        if report is not None:
            return FaithfulnessStatus(report=report)
        if not test_texts:
            return FaithfulnessStatus(words="The run's test split is empty, so there is nothing to measure "
                                            "explanations on.", failed=True)
        progress = measuring_progress(run_dir)
        if progress is not None:
            if progress.error:
                return FaithfulnessStatus(words=progress.error, failed=True)
            return FaithfulnessStatus(words=f"Measuring how faithful each explanation is: {progress.words}.",
                                      fraction=progress.fraction, seconds=max(0.0, time.time() - progress.started))
        if elsewhere:
            return FaithfulnessStatus(words="Measuring how faithful each explanation is: the process that trained "
                                            "this run is starting it.", fraction=0.0)
        if start:
            self.request(run_dir)
        with self._lock:
            self._advance()
            if run_dir == self._current:
                return FaithfulnessStatus(words="Measuring how faithful each explanation is: starting a process "
                                                "and loading the model.", fraction=0.0)
            if run_dir in self._waiting:
                return FaithfulnessStatus(words="Measuring how faithful each explanation is: waiting for another "
                                                "run's measurement to end.", fraction=0.0)
            if run_dir in self._ended:
                return FaithfulnessStatus(words=f"The measurement of faithfulness ended without a report (exit code "
                                                f"{self._ended[run_dir]}).", failed=True)
        return FaithfulnessStatus(words="Faithfulness has not been measured for this run yet.")

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.is_alive():
                self._process.terminate()
            self._process, self._current, self._waiting = None, None, []


def _serve(requests, responses) -> None:
    """The inference process: load runs on demand (a few kept in memory) and answer requests. It starts while a
    page is drawn (the first explanation asked for): at a lower priority, its imports do not slow the page."""
    from core.backend import import_keras

    lower_priority(SERVER_NICENESS)
    import_keras()
    from collections import OrderedDict

    from core.errors import UserError
    from core.runs.store import load_run

    predictors: OrderedDict[str, tuple] = OrderedDict()
    while True:
        request = requests.get()
        if request is None:
            return
        request_id, kind, run_dir, texts, options = request
        try:
            if run_dir not in predictors:
                run = load_run(run_dir)
                predictors[run_dir] = (run, Predictor.from_run(run))
                while len(predictors) > 4:  # a few models stay warm; the oldest is dropped
                    predictors.popitem(last=False)
            predictors.move_to_end(run_dir)
            _, predictor = predictors[run_dir]
            answer = predictor.predict(texts, **options)
            responses.put((request_id, "ok", answer))
        except UserError as exc:
            responses.put((request_id, "error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - answer in one sentence rather than leave the caller waiting
            responses.put((request_id, "error", f"Prediction failed ({type(exc).__name__}: {exc})."))


class InferenceServer:
    """Predictions and explanations from saved runs, served by one long-lived spawned process.

    The dashboard's own process never imports TensorFlow: its pages stay fast, and Streamlit's end-of-run
    ``keras.backend.clear_session()`` cannot interfere with models in use. Requests are serialised with a lock
    (each takes milliseconds once its model is loaded); a dead server is restarted on the next request. Faithfulness
    is measured elsewhere (:func:`measure_after_training`, :class:`FaithfulnessMeasurer`): tens of seconds of it
    here would hold up every prediction behind it.
    """

    def __init__(self, context: str = "spawn") -> None:
        import multiprocessing
        import threading

        self._context = multiprocessing.get_context(context)
        self._lock = threading.Lock()
        self._process = None
        self._requests = None
        self._responses = None
        self._next_id = 0

    @property
    def started(self) -> bool:
        """Whether the server process runs (a request then costs its work only, not starting TensorFlow)."""
        return self._process is not None and self._process.is_alive()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._requests, self._responses = self._context.Queue(), self._context.Queue()
        self._process = self._context.Process(target=_serve, args=(self._requests, self._responses), daemon=True,
                                              name="lstm-text-lab-inference")
        self._process.start()

    def _ask(self, kind: str, run_dir: str, texts: Sequence[str], options: dict, timeout: float):
        import queue

        from core.errors import RunError

        with self._lock:
            self._ensure_started()
            self._next_id += 1
            request_id = self._next_id
            self._requests.put((request_id, kind, str(run_dir), list(texts), options))
            while True:
                try:
                    answer_id, status, payload = self._responses.get(timeout=timeout)
                except queue.Empty:
                    self.close()
                    raise RunError("The model took too long to answer; "
                                   "try again (the model server was restarted).") from None
                if answer_id == request_id:  # answers to abandoned requests are skipped
                    break
        if status == "error":
            raise RunError(payload)
        return payload

    def predict(self, run_dir: str, texts: Sequence[str], *, methods: Optional[Sequence[str]] = None,
                timeout: float = 180.0) -> list[TextPrediction]:
        """Like :meth:`Predictor.predict` for the run at ``run_dir``; raises RunError with the server's sentence."""
        return self._ask("predict", run_dir, texts, {"methods": None if methods is None else list(methods)}, timeout)

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._requests.put(None)
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
        self._process = None

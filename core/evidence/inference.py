"""Predictions from a saved (or freshly trained) model on any text, explained token by token by several methods.

Every explanation method the model supports (``core.evidence.explain``: attention weights, leave-one-token-out occlusion,
gradient × input, integrated gradients) runs on the same text, so the Evaluate page can show them side by side;
tokens are the preprocessed tokens the model saw, truncated to its length. How faithful each method is for a run is
measured once on its test texts and kept beside the run (``faithfulness.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from core.config import PreprocessingConfig
from core.text.preprocessing import TextPreprocessor
from core.records import Record
from core.text.vectorizing import OOV_TOKEN, Vocabulary, encode, encode_subwords

FAITHFULNESS_FILE = "faithfulness.json"
FAITHFULNESS_SAMPLE = 200  # test texts scored per run: seconds on a CPU, stable to about ±0.02 (see tests)


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
                explanations=[TokenScores(m, EXPLANATION_METHODS.get(m).kind, [float(s) for s in scores[m][row]]) for m in scores],
                unavailable=unavailable,
            ))
        return results

    def faithfulness(self, texts: Sequence[str], *, sample: int = FAITHFULNESS_SAMPLE, seed: int = 0):
        """How faithful each explanation method is for this model, on (a seeded sample of) ``texts``."""
        from core.evidence.faithfulness import measure_faithfulness

        _, ids = self.encode(list(texts))
        return measure_faithfulness(self.model, ids, max_texts=sample, seed=seed, explainer=self.explainer)


def saved_faithfulness(run_dir: str | Path, test_texts: int, *, sample: int = FAITHFULNESS_SAMPLE):
    """The faithfulness report saved beside a run, or None when there is none (or it is damaged, or was measured on
    another number of texts). Reading it needs no model: the dashboard shows it without the inference server."""
    from core.evidence.faithfulness import FaithfulnessReport

    path = Path(run_dir) / FAITHFULNESS_FILE
    if not path.is_file():
        return None
    try:
        report = FaithfulnessReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # damaged or older: measure again
    return report if report.n_texts == min(sample, test_texts) else None


def run_faithfulness(run, predictor: Optional[Predictor] = None, *, sample: int = FAITHFULNESS_SAMPLE):
    """The run's faithfulness report: read from ``faithfulness.json`` beside it, or measured on its test texts
    (the predicted class of each) and written there atomically for next time."""
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


def _serve(requests, responses) -> None:
    """The inference process: load runs on demand (a few kept in memory) and answer requests."""
    from core.backend import import_keras

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
            run, predictor = predictors[run_dir]
            if kind == "faithfulness":
                answer = run_faithfulness(run, predictor, **options)
            else:
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
    (each takes milliseconds once its model is loaded); a dead server is restarted on the next request.
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
                    raise RunError("The model took too long to answer; try again (the model server was restarted).") from None
                if answer_id == request_id:  # answers to abandoned requests are skipped
                    break
        if status == "error":
            raise RunError(payload)
        return payload

    def predict(self, run_dir: str, texts: Sequence[str], *, methods: Optional[Sequence[str]] = None,
                timeout: float = 180.0) -> list[TextPrediction]:
        """Like :meth:`Predictor.predict` for the run at ``run_dir``; raises RunError with the server's sentence."""
        return self._ask("predict", run_dir, texts, {"methods": None if methods is None else list(methods)}, timeout)

    def faithfulness(self, run_dir: str, *, timeout: float = 300.0):
        """:func:`run_faithfulness` for the run at ``run_dir`` (measured once, then read from the run folder)."""
        return self._ask("faithfulness", run_dir, [], {}, timeout)

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._requests.put(None)
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
        self._process = None

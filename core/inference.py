"""Predictions from a saved (or freshly trained) model on any text, with a per-token explanation.

The explanation is the attention weight of each token for attention models, and leave-one-token-out (occlusion)
importance otherwise. Tokens are the preprocessed tokens the model saw, truncated to the model's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core.config import PreprocessingConfig
from core.evaluation import occlusion_importance, token_weights
from core.preprocessing import TextPreprocessor
from core.vectorizing import Vocabulary, encode


@dataclass
class Predictor:
    """Everything needed to go from raw text to class probabilities."""

    model: object  # keras.Model: token IDs → probabilities
    explainer: Optional[object]  # keras.Model: token IDs → (probabilities, attention weights), or None
    vocabulary: Vocabulary
    class_names: Sequence[str]
    preprocessing: PreprocessingConfig
    max_length: int

    @classmethod
    def from_run(cls, run) -> "Predictor":
        """From a :class:`core.runs.LoadedRun`."""
        from core.model import explainer

        model = run.model
        return cls(model, explainer(model), run.vocabulary, run.class_names, run.config.preprocessing, int(model.inputs[0].shape[1]))

    def encode(self, texts: Sequence[str]) -> tuple[list[list[str]], np.ndarray]:
        processed = TextPreprocessor(self.preprocessing).transform(texts)
        ids = encode(processed, self.vocabulary, self.max_length)
        tokens = [text.split()[: self.max_length] for text in processed]
        return tokens, ids

    def predict(self, texts: Sequence[str], *, explain: bool = True, occlusion: bool = False) -> list[dict]:
        """Label, probabilities per class and (when ``explain``) per-token weights for each text.

        ``occlusion`` computes leave-one-token-out importance for models without attention (one extra forward pass
        per token, so it is opt-in).
        """
        tokens, ids = self.encode(texts)
        weights = None
        if self.explainer is not None and explain:
            probabilities, weights = (np.asarray(a) for a in self.explainer.predict(ids, verbose=0))
        else:
            probabilities = np.asarray(self.model.predict(ids, verbose=0))
        results = []
        for row, text in enumerate(texts):
            best = int(probabilities[row].argmax())
            record = {
                "text": text,
                "label": self.class_names[best],
                "confidence": float(probabilities[row, best]),
                "probabilities": {name: float(p) for name, p in zip(self.class_names, probabilities[row])},
                "tokens": tokens[row] or ["[UNK]"],
            }
            if weights is not None:
                record["explanation"] = "attention"
                record["weights"] = token_weights(weights[row], ids[row])
            elif explain and occlusion:
                record["explanation"] = "occlusion"
                record["weights"] = occlusion_importance(lambda batch: self.model.predict(batch, verbose=0), ids[row], best)
            results.append(record)
        return results


def _serve(requests, responses) -> None:
    """The inference process: load runs on demand (a few kept in memory) and answer predict requests."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from collections import OrderedDict

    from core.errors import UserError
    from core.runs import load_run

    predictors: OrderedDict[str, Predictor] = OrderedDict()
    while True:
        request = requests.get()
        if request is None:
            return
        request_id, run_dir, texts, options = request
        try:
            if run_dir not in predictors:
                predictors[run_dir] = Predictor.from_run(load_run(run_dir))
                while len(predictors) > 4:  # a few models stay warm; the oldest is dropped
                    predictors.popitem(last=False)
            predictors.move_to_end(run_dir)
            responses.put((request_id, "ok", predictors[run_dir].predict(texts, **options)))
        except UserError as exc:
            responses.put((request_id, "error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - answer in one sentence rather than leave the caller waiting
            responses.put((request_id, "error", f"Prediction failed ({type(exc).__name__}: {exc})."))


class InferenceServer:
    """Predictions from saved runs, served by one long-lived spawned process.

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

    def predict(self, run_dir: str, texts: Sequence[str], *, explain: bool = True, occlusion: bool = False,
                timeout: float = 180.0) -> list[dict]:
        """Like :meth:`Predictor.predict` for the run at ``run_dir``; raises RunError with the server's sentence."""
        import queue

        from core.errors import RunError

        with self._lock:
            self._ensure_started()
            self._next_id += 1
            request_id = self._next_id
            self._requests.put((request_id, str(run_dir), list(texts), {"explain": explain, "occlusion": occlusion}))
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

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._requests.put(None)
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
        self._process = None

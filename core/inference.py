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

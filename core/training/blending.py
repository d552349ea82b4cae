"""The blend with bag-of-words: the LSTM's probabilities averaged with a TF-IDF + logistic-regression model's, the
weight chosen on rows the LSTM did not train on and never on the test split.

* **Which rows choose the weight.** With one split, the validation rows (the bag-of-words model fitted on the training
  rows only, as the LSTM was). With k-fold, every development row out of fold: each fold's bag-of-words model is
  fitted on that fold's training part and scores its held-out part, like the fold models. The weight with the best
  macro-F1 on those rows wins (ties: the lower log loss); weights run from 0 to 1 in steps of 0.1, so a blend can
  also end up as either part alone, and says so.
* **What is kept.** The bag-of-words model is refitted on every row the LSTM may learn from (training + validation),
  like the fair baseline, and copied into each member as a frozen layer followed by a :class:`core.layers.Blend`, so
  an ensemble of blended members equals the blended ensemble, and the run saves, loads, predicts and explains as one
  Keras model.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

import numpy as np

from core.model.bag_of_words import BagOfWordsWeights, fit_bag_of_words, predict_bag_of_words
from core.model.evaluation import classification_metrics
from core.runs.results import BlendSummary
from core.text.vectorizing import encode

WEIGHTS = tuple(round(0.1 * step, 1) for step in range(11))


def choose_weight(y: np.ndarray, lstm: np.ndarray, bag_of_words: np.ndarray,
                  class_names: Sequence[str]) -> tuple[float, dict[str, float]]:
    """The LSTM's share with the best macro-F1 on these rows (ties: lower log loss), and every candidate's score."""
    scores: dict[str, float] = {}
    best: Optional[tuple[float, float, float]] = None  # (macro-F1, -log loss, weight)
    for weight in WEIGHTS:
        blended = weight * lstm + (1.0 - weight) * bag_of_words
        macro_f1 = classification_metrics(y, blended, class_names).macro_f1
        log_loss = float(-np.mean(np.log(np.clip(blended[np.arange(len(y)), y], 1e-12, 1.0))))
        scores[f"{weight:.1f}"] = round(macro_f1, 4)
        key = (round(macro_f1, 6), -log_loss, weight)
        if best is None or key > best:
            best = key
    return float(best[2]), scores


def blend(trained, processed: Sequence[str], y: np.ndarray, parts: Sequence[tuple[np.ndarray, np.ndarray]],
          test_rows: np.ndarray, class_names: Sequence[str], buckets: int, seed: int):
    """``trained`` (core.training.experiment.TrainedModel) with every member blended, and the BlendSummary.

    ``parts`` are the (training rows, held-out rows) of each fold, or of the one split; the held-out rows that
    ``trained`` kept validation probabilities for choose the weight."""
    vectorized = trained.vectorized
    vocabulary, max_length = vectorized.vocabulary, vectorized.max_length
    classes = len(class_names)

    def ids(rows: np.ndarray) -> np.ndarray:
        return encode([processed[i] for i in rows], vocabulary, max_length)

    development = np.unique(np.concatenate([np.concatenate([train, held]) for train, held in parts]))
    held_out_probabilities: dict[int, np.ndarray] = {}
    for train_rows, held_rows in parts:
        if len(held_rows) == 0:
            continue
        weights = fit_bag_of_words(ids(train_rows), y[train_rows], classes, vocabulary.size, buckets, seed=seed)
        for row, probabilities in zip(held_rows, predict_bag_of_words(weights, ids(held_rows))):
            held_out_probabilities[int(row)] = probabilities
    rows = trained.validation_rows
    if trained.validation_probabilities is None or rows is None or not len(rows):
        weight, candidates, chosen_on = 0.5, {}, "no held-out rows (an even blend)"
    else:
        bag = np.array([held_out_probabilities[int(r)] for r in rows])
        weight, candidates = choose_weight(y[rows], trained.validation_probabilities, bag, class_names)
        chosen_on = (f"out of fold ({len(rows):,} rows, {len(parts)} folds)" if len(parts) > 1
                     else f"the validation split ({len(rows):,} rows)")
    final = fit_bag_of_words(ids(development), y[development], classes, vocabulary.size, buckets, seed=seed)
    test_ids = ids(test_rows)
    bag_test = predict_bag_of_words(final, test_ids)
    lstm_test = trained.test_probabilities
    test_probabilities = weight * lstm_test + (1.0 - weight) * bag_test
    summary = BlendSummary(
        weight=weight, chosen_on=chosen_on, candidates=candidates,
        lstm_alone=trained.test_metrics, bag_of_words_alone=classification_metrics(y[test_rows], bag_test, class_names),
    )
    models = replace(trained.models, model=blended_model(trained.models.model, final, weight, classes, vocabulary.size,
                                                         buckets), explainer=None)
    validation_probabilities = None
    if trained.validation_probabilities is not None and rows is not None and len(rows):
        validation_probabilities = weight * trained.validation_probabilities + (1.0 - weight) * bag
    validation_metrics = (classification_metrics(y[rows], validation_probabilities, class_names)
                          if validation_probabilities is not None else trained.validation_metrics)
    return replace(trained, models=models, test_probabilities=test_probabilities,
                   test_metrics=classification_metrics(y[test_rows], test_probabilities, class_names),
                   validation_probabilities=validation_probabilities, validation_metrics=validation_metrics), summary


def blended_model(model, weights: BagOfWordsWeights, weight: float, classes: int, vocab_size: int, buckets: int):
    """The same model with each member's probabilities blended with the frozen bag-of-words model's."""
    from core.model.classifier import build_ensemble, ensemble_members

    members = ensemble_members(model)
    if not members:
        return _blended_member(model, weights, weight, classes, vocab_size, buckets)
    return build_ensemble(
        [_blended_member(member, weights, weight, classes, vocab_size, buckets) for member in members]
    )


def _blended_member(member, weights: BagOfWordsWeights, weight: float, classes: int, vocab_size: int, buckets: int):
    import keras

    from core.choices.ngrams import BAG_OF_WORDS_LAYER, BLEND_LAYER
    from core.layers import BagOfWordsModel, Blend
    from core.model.classifier import presence_tensor

    bag_of_words = BagOfWordsModel(classes, vocab_size, buckets, name=BAG_OF_WORDS_LAYER)
    token_ids = member.inputs[0]
    bag_probabilities = bag_of_words([token_ids, presence_tensor(member)])
    bag_of_words.set_weights(weights.as_layer_weights())
    output = Blend(weight, name=BLEND_LAYER)([member.outputs[0], bag_probabilities])
    return keras.Model(token_ids, output, name=member.name)


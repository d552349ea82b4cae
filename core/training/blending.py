"""The blend with bag-of-words: the LSTM's probabilities averaged with a TF-IDF + logistic-regression model's, the
weight chosen on rows the LSTM did not train on and never on the test split.

* **Which rows choose the weight.** With one split, the validation rows (the bag-of-words model fitted on the training
  rows only, as the LSTM was). With k-fold, every development row out of fold: each fold's bag-of-words model is
  fitted on that fold's training part and scores its held-out part, like the fold models. The weight with the best
  macro-F1 on those rows wins (ties: the lower log loss); weights run from 0 to 1 in steps of 0.1, so a blend can
  also end up as either part alone, and says so.
* **Which model.** The fair baseline's (core.model.bag_of_words): the development words below the LSTM's frequency
  floor are appended to the vocabulary for it alone, every word pair is its own feature, and it reads whole texts (up
  to the longest development text, at most MAX_TOKENS). The blended model's input is that wide; a
  :class:`core.layers.KnownWordIds` in front of the LSTM gives it exactly what it trained on (its own words, OOV
  for the others, its first ``max_length`` tokens).
* **What is kept.** The bag-of-words model is refitted on every row the LSTM may learn from (training + validation),
  like the fair baseline, and copied into each member as a frozen layer followed by a :class:`core.layers.Blend`, so
  an ensemble of blended members equals the blended ensemble, and the run saves, loads, predicts and explains as one
  Keras model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Optional, Sequence

import numpy as np

from core.model.bag_of_words import MAX_TOKENS, BagOfWordsWeights, TokenRows, fit_bag_of_words, predict_bag_of_words
from core.model.evaluation import classification_metrics
from core.runs.results import BlendSummary
from core.text.vectorizing import Vocabulary, token_lengths

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
          test_rows: np.ndarray, class_names: Sequence[str]):
    """``trained`` (core.training.experiment.TrainedModel) with every member blended, and the BlendSummary.

    ``parts`` are the (training rows, held-out rows) of each fold, or of the one split; the held-out rows that
    ``trained`` kept validation probabilities for choose the weight."""
    vectorized = trained.vectorized
    development = np.unique(np.concatenate([np.concatenate([train, held]) for train, held in parts]))
    development_texts = [processed[i] for i in development]
    vocabulary = bag_of_words_vocabulary(vectorized.vocabulary, development_texts)
    steps = bag_of_words_steps(development_texts, vectorized.max_length)
    classes = len(class_names)

    def ids(rows: np.ndarray) -> TokenRows:
        return TokenRows.from_texts([processed[i] for i in rows], vocabulary, steps)

    held_out_probabilities: dict[int, np.ndarray] = {}
    for train_rows, held_rows in parts:
        if len(held_rows) == 0:
            continue
        weights = fit_bag_of_words(ids(train_rows), y[train_rows], classes, vocabulary.size)
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
    final = fit_bag_of_words(ids(development), y[development], classes, vocabulary.size)
    bag_test = predict_bag_of_words(final, ids(test_rows))
    lstm_test = trained.test_probabilities
    test_probabilities = weight * lstm_test + (1.0 - weight) * bag_test
    summary = BlendSummary(
        weight=weight, chosen_on=chosen_on, candidates=candidates,
        lstm_alone=trained.test_metrics, bag_of_words_alone=classification_metrics(y[test_rows], bag_test, class_names),
        words=int((final.word_idf > 0).sum()), word_pairs=int((final.pair_idf > 0).sum()), tokens_read=steps,
    )
    models = replace(trained.models, model=blended_model(trained.models.model, final, weight, classes,
                                                         vectorized.vocabulary.size, steps), explainer=None)
    validation_probabilities = None
    if trained.validation_probabilities is not None and rows is not None and len(rows):
        validation_probabilities = weight * trained.validation_probabilities + (1.0 - weight) * bag
    validation_metrics = (classification_metrics(y[rows], validation_probabilities, class_names)
                          if validation_probabilities is not None else trained.validation_metrics)
    # The run encodes new text with the wider vocabulary; the LSTM's own IDs (``x``) are unchanged by it.
    return replace(trained, models=models, vectorized=replace(vectorized, vocabulary=vocabulary),
                   test_probabilities=test_probabilities,
                   test_metrics=classification_metrics(y[test_rows], test_probabilities, class_names),
                   validation_probabilities=validation_probabilities, validation_metrics=validation_metrics), summary


def bag_of_words_steps(development_texts: Sequence[str], lstm_steps: int) -> int:
    """How many tokens of a text the bag-of-words part reads: the longest development text's, at most MAX_TOKENS,
    never fewer than the LSTM reads."""
    longest = int(token_lengths(development_texts).max()) if len(development_texts) else 0
    return max(lstm_steps, min(longest, MAX_TOKENS))


def bag_of_words_vocabulary(vocabulary: Vocabulary, development_texts: Sequence[str]) -> Vocabulary:
    """``vocabulary`` followed by the development words it lacks (below the LSTM's frequency floor, or past its
    size), most frequent first, for the bag-of-words part alone; never a word of the test split."""
    counts = Counter(token for text in development_texts for token in text.split())
    return vocabulary.with_words_for_bag_of_words(
        token for token, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def blended_model(model, weights: BagOfWordsWeights, weight: float, classes: int, lstm_rows: int, steps: int):
    """The same model, reading ``steps`` tokens of IDs of the wider vocabulary, with each member's probabilities
    blended with the frozen bag-of-words model's."""
    from core.model.classifier import build_ensemble, ensemble_members

    members = ensemble_members(model)
    if not members:
        return _blended_member(model, weights, weight, classes, lstm_rows, steps)
    return build_ensemble([_blended_member(member, weights, weight, classes, lstm_rows, steps) for member in members])


def _blended_member(member, weights: BagOfWordsWeights, weight: float, classes: int, lstm_rows: int, steps: int):
    """A copy of ``member`` behind a :class:`core.layers.KnownWordIds` (the LSTM sees what it saw in training), its
    layers keeping their names and weights, so explanations find them as before; then the blend. One token-presence
    tensor, over the whole input, gates the bag-of-words part and any n-gram path, so gradient explanations that
    scale it cover both."""
    import keras

    from core.choices.ngrams import BAG_OF_WORDS_LAYER, BLEND_LAYER, PRESENCE
    from core.layers import Blend, FairBagOfWords, KnownWordIds, TokenPresence
    from core.model.classifier import TOKEN_INPUT

    source = member.inputs[0]
    token_ids = keras.Input(shape=(steps, *source.shape[2:]), dtype=source.dtype, name=TOKEN_INPUT)
    known = KnownWordIds(lstm_rows, int(source.shape[1]), name="lstm_word_ids")(token_ids)

    def read_known_ids(layer, *args, **kwargs):
        """Each copied layer that read the token IDs reads what the LSTM may see; the presence reads them all."""
        reads = token_ids if layer.name == PRESENCE else known
        swap = lambda value: reads if value is token_ids else value  # noqa: E731
        return layer(*keras.tree.map_structure(swap, args), **keras.tree.map_structure(swap, kwargs))

    copy = keras.models.clone_model(member, input_tensors=token_ids, call_function=read_known_ids)
    for layer in member.layers:
        if layer.weights:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    names = {layer.name for layer in copy.layers}
    presence = (copy.get_layer(PRESENCE).output if PRESENCE in names
                else TokenPresence(name=PRESENCE)(token_ids))
    bag_of_words = FairBagOfWords(classes, len(weights.word_idf), weights.pairs, name=BAG_OF_WORDS_LAYER)
    bag_probabilities = bag_of_words([token_ids, presence])
    bag_of_words.set_weights(weights.as_layer_weights())
    output = Blend(weight, name=BLEND_LAYER)([copy.outputs[0], bag_probabilities])
    return keras.Model(token_ids, output, name=member.name)

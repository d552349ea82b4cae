"""Recommended settings that adapt to the data, each with the reason shown.

The config's defaults are one fixed starting point; :func:`recommend` looks at the data (rows, classes, imbalance,
lengths) and a CPU-time budget and changes the few settings that measurably depend on them:

* **Ensemble size.** Averaging the k fold models' probabilities was the one lever that moved every corpus measured
  (+0.02-0.05 macro-F1; bench/learning_quality.py), at k models' cost. The first of :data:`ENSEMBLES` (5 or 4 fold
  models, else 3 or 2 models from different seeds on the training split) whose estimated cost
  (``core.model.estimate``) fits the budget; when even two do not fit, one model trains.
* **Imbalance handling.** Balanced class weights helped the default corpus (+0.07 over none) but cost a 1.6 % class
  0.17 F1 on a question corpus. Which of none / square root / balanced suits a dataset is picked on the validation
  split with a fast proxy — TF-IDF + logistic regression fitted on the training split with each weighting — because
  training the LSTM three times would triple the run. Only training and validation rows are used; the test split
  stays sealed.
* **The blend with bag-of-words.** On small and mid-sized data a TF-IDF + logistic-regression model beat the LSTM on
  every corpus measured; the run blends the two with a weight chosen on its own held-out rows
  (core.training.blending), so the choice among the LSTM alone, the bag of words alone and a mix is made on
  validation for each dataset and seed.

* **Pretrained vectors.** When the built-in GloVe 6B 50-d set knows most of the training split's running words
  (:data:`VECTOR_COVERAGE_FLOOR`), it starts the embedding with the fixes bench/word_vectors.py measured (the
  vocabulary extension, the projection to embedding_dim, embedding dropout 0.1). Coverage is read from the training
  rows and the vectors' word list alone; on words it mostly lacks (another language, codes, stems) nothing changes.

A run made with these settings records what was chosen for it: its tags hold the overrides under
:data:`RECOMMENDED_TAG` (:func:`recommendation_tags`), and :func:`recommended_for_run` reads them back, so "differs
from recommended" compares each run with its own recommendation rather than with the config defaults.

Nothing here trains an LSTM, and it imports scikit-learn only inside :func:`pick_class_weighting`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core.choices.ngrams import BLENDS
from core.choices.vectors import VECTOR_SETS
from core.config import ExperimentConfig, apply_overrides
from core.data.dataset import Dataset
from core.data.splitting import stratified_split
from core.errors import ConfigError, DataError
from core.model.run_estimate import PartShape, RunEstimate, RunShape, estimate_run, run_shape
from core.records import Record
from core.text.preprocessing import preprocess
from core.text.vectorizing import build_vocabulary, suggest_max_length, token_lengths
from core.text.word_vectors import pretrained_words

DEFAULT_BUDGET_CPU_SECONDS = 300.0  # "a recommended run stays within ~5 CPU-minutes on this machine"
# Averages tried from the most members down; the first whose estimated cost fits the budget is recommended. k-fold
# with k >= 4 first: each member then learns from 60-64 % of the rows, about as many as one model on the training
# split (65 %). Smaller k starves the members (k = 2: 40 %; measured on fine-foods, seed 42: 2 fold models averaged
# 0.753 macro-F1, one model 0.770), so below k = 4 the members share the training split and differ by seed instead.
# (k_folds, seeds); 4 seeds would cost more than 4 folds
ENSEMBLES: tuple[tuple[int, int], ...] = ((5, 1), (4, 1), (0, 3), (0, 2))
# What a run costs comes from core.model.estimate.estimate_run: the same figure, in the same words, as the Model page
# shows for the recommended settings (its expected epochs, process start, baseline, scoring, blend and saving included).
# bench/learning_quality.py --dataset all --levers recommended --seeds 10, 2026-12-07 (the blend's part the fair
# baseline's model, GloVe vectors on all three corpora), test macro-F1 minus the fair baseline's, seeds 42-51: FAA
# phase +0.020, FAA effect +0.015, NACE -0.005; seeds 42-44: +0.031, +0.013, +0.009 (bench/README.md).
BLEND_EVIDENCE = ("Measured on the built-in data (10 seeds each), the blend scored 0.015 (phase of flight), 0.032 "
                  "(what the crew did) and 0.079 (economic section) macro-F1 above the LSTM alone; against the fair "
                  "TF-IDF + LR baseline it scored +0.020 (phase of flight), +0.015 (what the crew did) and -0.005 "
                  "(economic section, at par) (README, learning quality).")
WEIGHTING_TIE = 0.005  # proxy macro-F1 differences below this are noise: prefer the stronger weighting
VECTOR_SET = "glove-6b-50d"  # the built-in pretrained vectors the recommendation may start the embedding with
# GloVe's words are English: below this share of the training split's running words (the built-in corpora: 0.94-0.995)
# the vectors would start too few of the words the LSTM reads.
VECTOR_COVERAGE_FLOOR = 0.8
PRETRAINED_EMBEDDING_DROPOUT = 0.1  # bench/word_vectors.py: pretrained vectors want less dropout than learned ones
# The same measurement against the same settings without vectors (paired by seed, mean ± se over seeds 42-51).
VECTOR_EVIDENCE = ("Measured on top of the other recommended settings (10 seeds each), they raised the LSTM alone by "
                   "0.017 (phase of flight) and 0.034 (economic section) and lowered it by 0.023 (what the crew did), "
                   "where aviation shorthand has general-English meanings; the blend moved +0.002, -0.004 and +0.005 "
                   "respectively, at par, and each run took 15-28 CPU-seconds less.")


@dataclass(frozen=True)
class DataFacts(Record):
    rows: int
    classes: int
    imbalance_ratio: float  # largest class / smallest class
    smallest_class: int
    median_tokens: float
    max_length: int  # the suggested length (95th percentile of training lengths)
    vocabulary_size: int
    train_counts: tuple[int, ...]
    validation_rows: int


@dataclass(frozen=True)
class Recommendation(Record):
    """What :func:`recommend` changed, why, and what it expects the run to cost."""

    overrides: tuple[str, ...]  # ``section.field=value`` strings applied to the base config
    reasons: tuple[str, ...]  # one sentence per decision, naming the evidence
    facts: DataFacts
    estimated_cpu_seconds: float
    budget_cpu_seconds: float
    proxy_macro_f1: dict[str, float]  # validation macro-F1 of the proxy per weighting (empty when not measured)


def data_facts(
    dataset: Dataset, config: ExperimentConfig, processed: Optional[Sequence[str]] = None
) -> tuple[DataFacts, list[str], object]:
    """The facts the rules read, from the training split (after ``config``'s preprocessing) only."""
    processed = list(processed) if processed is not None else preprocess(dataset.texts, config.preprocessing)[0]
    y = dataset.y
    split = stratified_split(y, config.split, config.seed, dataset.class_names)
    counts = np.bincount(y, minlength=len(dataset.class_names))
    present = counts[counts > 0]
    train_texts = [processed[i] for i in split.train]
    lengths = token_lengths(train_texts)
    vocabulary = build_vocabulary(
        train_texts, config.vectorizing.max_vocab_size, config.vectorizing.min_token_frequency
    )
    suggestion = suggest_max_length(lengths, config.vectorizing.length_percentile)
    facts = DataFacts(
        rows=len(y), classes=len(dataset.class_names), imbalance_ratio=float(present.max() / present.min()),
        smallest_class=int(present.min()), median_tokens=float(np.median(lengths)) if len(lengths) else 0.0,
        max_length=config.vectorizing.max_length or suggestion.max_length, vocabulary_size=vocabulary.size,
        train_counts=tuple(int(c) for c in np.bincount(y[split.train], minlength=len(dataset.class_names))),
        validation_rows=len(split.validation),
    )
    return facts, processed, split


def estimated_cpu_seconds(config: ExperimentConfig, facts: DataFacts, shape: Optional[RunShape] = None) -> float:
    """Processor seconds of a whole run with ``config`` (core.model.estimate.estimate_run): on data of ``shape``
    (core.model.estimate.run_shape, exact), or else sized from ``facts`` (each fold's rows scaled from the split's)."""
    return estimate_run(config, shape or shape_from_facts(config, facts)).cpu_seconds


def shape_from_facts(config: ExperimentConfig, facts: DataFacts) -> RunShape:
    """A run's shape from the training split's facts alone: with k folds, each fold's training rows are the
    development rows x (k-1)/k per class, and the vocabulary is the training split's (a little smaller); without the
    texts' lengths every batch counts at full width, so the time is an overestimate (run_shape is exact)."""
    development = sum(facts.train_counts) + facts.validation_rows
    test_rows = facts.rows - development
    folds = config.split.k_folds if config.split.k_folds >= 2 else 1
    if folds == 1:
        part = PartShape(tuple(facts.train_counts), facts.validation_rows, facts.vocabulary_size, facts.max_length)
    else:
        scale = development / max(1, sum(facts.train_counts)) * (folds - 1) / folds
        part = PartShape(tuple(round(c * scale) for c in facts.train_counts), math.ceil(development / folds),
                         facts.vocabulary_size, facts.max_length)
    return RunShape(rows=facts.rows, classes=facts.classes, test_rows=test_rows, development_rows=development,
                    parts=(part,) * folds, shared_vocabulary=config.split.ensemble or config.split.ensemble_seeds > 1)


def weightings() -> tuple[str, ...]:
    """The loss-weighting strategies of the registry, lightest first ("none", then by how much more a class with a
    tenth of the rows weighs), so a weighting registered later is compared too."""
    from core.choices.resampling import RESAMPLERS

    weighted = [record for record in RESAMPLERS if record.weights is not None]
    weighted.sort(key=lambda record: record.weights([10, 1])[1] / record.weights([10, 1])[0])
    return ("none", *(record.key for record in weighted))


def pick_class_weighting(processed: Sequence[str], y: np.ndarray, split, num_classes: int) -> dict[str, float]:
    """Validation macro-F1 of TF-IDF + logistic regression fitted on the training split with each of
    :func:`weightings` (the same weights the LSTM's loss would get). Empty when the validation split is empty."""
    from core import lazy

    lazy.load("sklearn")
    from sklearn.metrics import f1_score

    from core.choices.resampling import RESAMPLERS
    from core.model.baseline import tfidf_pipeline

    if len(split.validation) == 0 or len(np.unique(y[split.train])) < 2:
        return {}
    train_texts = [processed[i] for i in split.train]
    validation_texts = [processed[i] for i in split.validation]
    counts = np.bincount(y[split.train], minlength=num_classes)
    scores = {}
    for key in weightings():
        weights = RESAMPLERS.get(key).weights
        pipeline = tfidf_pipeline()
        pipeline.set_params(onevsrestclassifier__estimator__class_weight=weights(counts.tolist()) if weights else None)
        try:
            pipeline.fit(train_texts, y[split.train])
        except ValueError:  # every training text empty: nothing to compare
            return {}
        predicted = pipeline.predict(validation_texts)
        scores[key] = float(f1_score(y[split.validation], predicted, average="macro", zero_division=0))
    return scores


def _chosen_weighting(scores: dict[str, float]) -> str:
    best = max(scores.values())
    # the strongest weighting within noise of the best: small classes are what macro-F1 and users care about
    return [key for key in weightings() if key in scores and scores[key] >= best - WEIGHTING_TIE][-1]


def recommend(dataset: Dataset, config: Optional[ExperimentConfig] = None, *,
              budget_cpu_seconds: float = DEFAULT_BUDGET_CPU_SECONDS,
              processed: Optional[Sequence[str]] = None) -> Recommendation:
    """The settings to change on ``config`` (default: the config defaults) for ``dataset``, with reasons."""
    from core.choices.resampling import RESAMPLERS

    base = config or ExperimentConfig()
    facts, processed, split = data_facts(dataset, base, processed)
    overrides: list[str] = []
    reasons: list[str] = []

    # 1. imbalance handling, picked on validation with the proxy
    scores = pick_class_weighting(processed, dataset.y, split, facts.classes) if facts.imbalance_ratio >= 1.5 else {}
    if scores:
        choice = _chosen_weighting(scores)
        measured = ", ".join(f"{RESAMPLERS.get(key).title.lower()} {value:.3f}" for key, value in scores.items())
        reasons.append(
            f"Imbalance {facts.imbalance_ratio:.0f}:1 — {RESAMPLERS.get(choice).title.lower()} chosen on the "
            f"validation split: TF-IDF + logistic regression trained on the training split with each weighting scored "
            f"validation macro-F1 {measured} (ties within {WEIGHTING_TIE} go to the stronger weighting)."
        )
    else:
        choice = "none"
        reasons.append(f"Classes are nearly balanced ({facts.imbalance_ratio:.1f}:1): no class weights.")
    if choice != base.resampling.strategy:
        overrides.append(f"resampling.strategy={choice}")

    # 2. the blend with bag-of-words, its weight chosen in the run on held-out rows
    blends = BLENDS.get("validated")
    if base.model.blend != blends.key:
        overrides.append(f"model.blend={blends.key}")
    reasons.append(
        "Blend with TF-IDF + LR: the run averages the LSTM's probabilities with a TF-IDF + logistic-regression model "
        "over the same words and word pairs, the weight chosen on the validation rows (out of fold with k-fold) from "
        "0 to 1, so it keeps the LSTM alone, the bag of words alone or a mix, whichever scores best there. "
        f"{BLEND_EVIDENCE}"
    )

    # 3. pretrained vectors, when they know the data's words
    vector_overrides, vector_reason = _vector_choice(base, [processed[i] for i in split.train])
    overrides += vector_overrides
    reasons.append(vector_reason)

    # 4. the average from the budget
    chosen, estimate = None, None
    for folds, seeds in ENSEMBLES:
        averaging = [
            f"split.k_folds={folds}", f"split.ensemble={'true' if folds else 'false'}", f"split.ensemble_seeds={seeds}"
        ]
        estimate = _run_estimate(apply_overrides(base, [*overrides, *averaging]), processed, dataset, split)
        if estimate.cpu_seconds <= budget_cpu_seconds:
            chosen = (folds, seeds, averaging)
            break
    budget = f"the {budget_cpu_seconds:.0f}-CPU-second budget"
    if chosen and chosen[0]:
        overrides += chosen[2]
        reasons.append(
            f"Average {chosen[0]} fold models (k-fold ensemble): averaging was the one lever that raised macro-F1 on "
            f"every corpus measured (+0.02-0.05); {chosen[0]} folds is the largest k tried whose estimate fits "
            f"{budget}: {estimate.time_text()}."
        )
    elif chosen:
        overrides += chosen[2]
        reasons.append(
            f"Average {chosen[1]} models trained from different seeds on the training split: four or more fold models "
            f"would not fit {budget}, and fewer folds leave each member too few rows; {estimate.time_text()}."
        )
    else:
        overrides += ["split.k_folds=0", "split.ensemble=false", "split.ensemble_seeds=1"]
        reasons.append(f"One model, no average: even two would take {estimate.time_text()}, over {budget}.")
    final = _run_estimate(apply_overrides(base, overrides), processed, dataset, split)
    return Recommendation(
        tuple(overrides), tuple(reasons), facts, round(final.cpu_seconds, 1), budget_cpu_seconds, scores
    )


def vector_coverage(train_texts: Sequence[str], key: str = VECTOR_SET, *, lowercase: bool = True) -> float:
    """The share of the running words in ``train_texts`` (preprocessed) that the vector set ``key`` has a vector
    for, matched as the run matches them (core.text.word_vectors). Raises DataError when the set is not installed.
    The vectors' words are streamed past the training split's counts, so no 400,000-word set is kept."""
    counts = Counter(token for text in train_texts for token in text.split())
    total = sum(counts.values())
    known = sum(counts[word] for word in pretrained_words(key, lowercase=lowercase) if word in counts)
    return known / total if total else 0.0


def _vector_choice(base: ExperimentConfig, train_texts: Sequence[str]) -> tuple[list[str], str]:
    """The overrides that start the embedding with the built-in vectors, or none, and the reason."""
    model, record = base.model, VECTOR_SETS.get(VECTOR_SET)
    if model.word_vectors and model.word_vectors != VECTOR_SET:
        return [], "Word vectors: the ones already chosen are kept."
    try:
        coverage = vector_coverage(train_texts, lowercase=base.preprocessing.lowercase)
    except DataError as error:
        return [], f"No pretrained vectors: {error}"
    if coverage < VECTOR_COVERAGE_FLOOR:
        return [], (f"No pretrained vectors: {record.title} know only {coverage:.0%} of the training split's "
                    f"running words (at least {VECTOR_COVERAGE_FLOOR:.0%} would start most of them), so every vector "
                    "is learned from these rows.")
    overrides = [f"model.word_vectors={VECTOR_SET}"] if model.word_vectors != VECTOR_SET else []
    if model.embedding_dropout != PRETRAINED_EMBEDDING_DROPOUT:
        overrides.append(f"model.embedding_dropout={PRETRAINED_EMBEDDING_DROPOUT}")
    return overrides, (
        f"Pretrained vectors: {record.title} know {coverage:.0%} of the training split's running words, so they start "
        "the embedding: the most frequent ones the training split lacks join the vocabulary with fixed vectors, a "
        f"learned projection maps them to the embedding size, and embedding dropout is {PRETRAINED_EMBEDDING_DROPOUT} "
        f"because pretrained vectors want less than learned ones. {VECTOR_EVIDENCE}"
    ).rstrip()


def _run_estimate(config: ExperimentConfig, processed: Sequence[str], dataset: Dataset, split) -> RunEstimate:
    """The run's estimate on its exact shape (each fold's rows, the vocabulary its members share)."""
    return estimate_run(config, run_shape(processed, dataset.y, dataset.class_names, config, split))


def recommended_config(
    dataset: Dataset, config: Optional[ExperimentConfig] = None, **options
) -> tuple[ExperimentConfig, Recommendation]:
    """``config`` (default: the defaults) with :func:`recommend`'s changes applied, and the recommendation."""
    base = config or ExperimentConfig()
    recommendation = recommend(dataset, base, **options)
    return apply_overrides(base, list(recommendation.overrides)), recommendation


RECOMMENDED_TAG = "recommended"  # run tag: the overrides "Recommended for this data" chose for that run


def recommendation_tags(recommendation: Recommendation) -> dict[str, list[str]]:
    """The run tags that record what the recommendation chose (its overrides, as ``--set`` writes them)."""
    return {RECOMMENDED_TAG: list(recommendation.overrides)}


def recommended_for_run(tags: Optional[dict]) -> Optional[ExperimentConfig]:
    """What "Recommended for this data" chose for a run: the defaults with the overrides its tags recorded. None
    when the run has no such record (made otherwise, or before runs kept it) or the record no longer applies."""
    overrides = (tags or {}).get(RECOMMENDED_TAG)
    if not isinstance(overrides, list) or not all(isinstance(item, str) for item in overrides):
        return None
    try:
        return apply_overrides(ExperimentConfig(), overrides)
    except ConfigError:
        return None

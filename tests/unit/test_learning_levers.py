"""The levers that make the LSTM beat bag-of-words honestly: a fair baseline, k-fold ensembles saved as one model,
dampened class weights, subword vectors, user-supplied word vectors and data-adaptive recommended settings."""

from __future__ import annotations

import numpy as np
import pytest

from core.choices.resampling import balanced_class_weights, dampened_class_weights
from core.config import ExperimentConfig, apply_overrides
from core.errors import ConfigError
from core.text.vectorizing import (
    OOV_ID,
    SUBWORD_SLOTS,
    _fnv1a,
    build_vocabulary,
    decode_tokens,
    encode,
    encode_subwords,
    subword_ids,
    word_ids,
)
from support.fakes import make_dataset

# --------------------------------------------------------------------------------------------- fair baseline


def test_the_baseline_is_fitted_on_training_and_validation_rows():
    from core.data.splitting import stratified_split
    from core.model.baseline import FITTED_ON_DEVELOPMENT, baseline_on_split, tfidf_baseline

    dataset = make_dataset({"sports": 40, "tech": 30, "food": 30}, seed=3)
    config = ExperimentConfig()
    split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
    texts = [t.lower() for t in dataset.texts]
    fair = baseline_on_split(texts, dataset.y, split, dataset.class_names)
    development = np.concatenate([split.train, split.validation])
    by_hand = tfidf_baseline([texts[i] for i in development], dataset.y[development], [texts[i] for i in split.test],
                             dataset.y[split.test], dataset.class_names)
    train_only = tfidf_baseline([texts[i] for i in split.train], dataset.y[split.train], [texts[i] for i in split.test],
                                dataset.y[split.test], dataset.class_names)
    assert fair.fitted_on == FITTED_ON_DEVELOPMENT == "the training and validation splits"
    assert fair.macro_f1 == by_hand.macro_f1 and fair.per_class == by_hand.per_class
    assert train_only.fitted_on == "the training split"
    assert sum(c.support for c in fair.per_class) == len(split.test)


# --------------------------------------------------------------------------------------------- dampened class weights


def test_dampened_weights_are_the_square_root_of_balanced_and_keep_the_loss_scale():
    counts = [400, 100, 4, 0]
    weights = dampened_class_weights(counts)
    balanced = balanced_class_weights(counts)
    assert set(weights) == {0, 1, 2}  # an absent class gets no weight
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        assert weights[b] / weights[a] == pytest.approx(np.sqrt(balanced[b] / balanced[a]))
    assert sum(counts[c] * w for c, w in weights.items()) == pytest.approx(sum(counts))  # weighted rows = rows
    assert weights[2] / weights[0] == pytest.approx(10.0)  # 100:1 imbalance -> 10:1, not 100:1
    assert dampened_class_weights([0, 0]) == {}


# --------------------------------------------------------------------------------------------- config


@pytest.mark.parametrize("overrides, words", [
    (["split.ensemble=true"], "split.k_folds"),
    (["split.ensemble=true", "split.k_folds=1"], "split.k_folds"),
    (["split.k_folds=3", "split.ensemble_seeds=2"], "split.ensemble"),
    (["model.subword_buckets=100", "resampling.strategy=smote"], "model.subword_buckets"),
    (["model.word_vectors=vectors.txt", "resampling.strategy=adasyn"], "model.word_vectors"),
])
def test_impossible_combinations_are_refused_in_one_sentence(overrides, words):
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        apply_overrides(ExperimentConfig(), overrides)


def test_new_settings_round_trip_and_appear_in_the_schema():
    from core.config import config_schema

    config = apply_overrides(ExperimentConfig(), ["split.k_folds=3", "split.ensemble=true",
                                                  "model.subword_buckets=5000", "model.word_vectors=/tmp/v.txt",
                                                  "model.freeze_word_vectors=true",
                                                  "resampling.strategy=class_weights_sqrt"])
    assert ExperimentConfig.from_json(config.to_json()) == config
    settings = {entry["setting"]: entry for entry in config_schema()}
    for name in ("split.ensemble", "model.subword_buckets", "model.word_vectors", "model.freeze_word_vectors"):
        assert settings[name]["help"]
    assert "class_weights_sqrt" in settings["resampling.strategy"]["choices"]


# --------------------------------------------------------------------------------------------- subword encoding


def test_fnv1a_known_answers_and_stable_buckets():
    assert _fnv1a("") == 0x811C9DC5 and _fnv1a("a") == 0xE40C292C  # the FNV-1a 32-bit test vectors
    assert subword_ids("cats", 1000) == subword_ids("cats", 1000)
    assert all(1 <= i <= 1000 for i in subword_ids("internationalisation", 1000))
    assert len(subword_ids("internationalisation", 1000)) == SUBWORD_SLOTS
    assert len(subword_ids("cat", 1000)) == 6  # <ca cat at> <cat cat> <cat>


def test_encode_subwords_keeps_word_ids_padding_and_the_spelling_of_unknown_words():
    vocabulary = build_vocabulary(["the cat sat", "the cat ran"], 100, min_frequency=1)
    texts = ["the cats sat down", "", "the"]
    array = encode_subwords(texts, vocabulary, 5, 500)
    assert array.shape == (3, 5, 1 + SUBWORD_SLOTS) and array.dtype == np.int32
    np.testing.assert_array_equal(word_ids(array), encode(texts, vocabulary, 5))
    assert array[0, 1, 0] == OOV_ID and (array[0, 1, 1:] > 0).any()  # "cats" is unknown but keeps its n-grams
    assert not array[0, 4].any() and not array[2, 1:].any()  # padding is all zero
    assert array[1, 0, 0] == OOV_ID and not array[1, 0, 1:].any()  # an empty text: the OOV token, no n-grams
    assert decode_tokens(array[0], vocabulary) == ["the", "[UNK]", "sat", "[UNK]"]

"""Levers: generated from the config's metadata, each a valid single change; the curated numeric table; categories."""

import dataclasses

import pytest

from core.config import SECTIONS, ExperimentConfig, apply_overrides, field_info
from core.errors import ConfigError
from core.evidence.levers import CATEGORIES, NUMERIC_LEVERS, Lever, category_of, find_levers, levers_for
from support.fakes import tiny_config


def _keys(config: ExperimentConfig) -> set[str]:
    return {lever.key for lever in levers_for(config)}


@pytest.mark.parametrize("config", [ExperimentConfig(), tiny_config(),
                                    tiny_config("model.attention=multihead", "training.early_stopping=false")])
def test_every_lever_is_a_valid_config_that_differs_from_the_current_one(config):
    levers = levers_for(config)
    assert len({lever.key for lever in levers}) == len(levers) > 20
    for lever in levers:
        changed = lever.apply(config)  # ExperimentConfig validates on construction
        assert changed != config, lever.key
        assert lever.category in CATEGORIES
        assert lever.overrides == (lever.key,) and len(lever.fields) == 1
        section, name = lever.fields[0].split(".")
        assert getattr(getattr(changed, section), name) != getattr(getattr(config, section), name)
        assert "→" in lever.title
    assert [lever.category for lever in levers] == sorted((lever.category for lever in levers),
                                                          key=list(CATEGORIES).index)


def test_every_other_choice_of_every_choice_field_and_every_toggle_is_offered():
    config = ExperimentConfig()
    keys = _keys(config)
    for section, cls in SECTIONS.items():
        if section in ("data", "split"):
            continue
        for f in dataclasses.fields(cls):
            current = getattr(getattr(config, section), f.name)
            for choice in field_info(section, f.name).get("choices") or ():  # the defaults make every choice valid
                assert (f"{section}.{f.name}={choice}" in keys) == (choice != current), (section, f.name, choice)
    for toggle in ("model.bidirectional=false", "preprocessing.lowercase=false",
                   "preprocessing.strip_punctuation=false", "preprocessing.strip_numbers=true",
                   "preprocessing.remove_stopwords=true", "training.early_stopping=false"):
        assert toggle in keys


def test_the_curated_numeric_table_relative_to_the_current_values():
    keys = _keys(ExperimentConfig())  # dropout 0.5, L2 1e-4, 1 layer, 64 units, lr 2e-3, batch 64, min frequency 2
    expected = {"model.dropout=0.4", "model.dropout=0.6", "model.l2=0.0", "model.l2=0.001", "model.lstm_layers=2",
                "model.lstm_units=32", "model.lstm_units=128", "training.learning_rate=0.001",
                "training.learning_rate=0.004", "training.batch_size=32", "training.batch_size=128",
                "vectorizing.min_token_frequency=1", "vectorizing.min_token_frequency=3",
                "vectorizing.length_percentile=99.0"}
    assert expected <= keys
    assert {entry.field for entry in NUMERIC_LEVERS} >= {"model.dropout", "model.l2", "training.learning_rate",
                                                         "training.batch_size"}


def test_levers_that_would_be_invalid_change_nothing_or_be_ignored_are_left_out():
    at_bounds = tiny_config("model.dropout=0.0", "model.lstm_layers=4", "vectorizing.min_token_frequency=1",
                            "model.l2=0")
    keys = _keys(at_bounds)
    assert "model.dropout=0.1" in keys and not any(key.startswith("model.dropout=-") for key in keys)
    assert not any(key.startswith("model.lstm_layers=") for key in keys)  # 5 layers is over the maximum
    assert "vectorizing.min_token_frequency=1" not in keys  # no change
    assert not any(key.startswith("model.l2=") for key in keys)  # 0 and 10 x 0 change nothing
    # Multi-head attention needs at least as many LSTM outputs as heads: 1 unit one way cannot carry 4 heads.
    assert "model.attention=multihead" not in _keys(tiny_config("model.lstm_units=1", "model.bidirectional=false"))
    # Settings the current config ignores: the monitor without early stopping, negations without stop-word removal.
    quiet = _keys(tiny_config("training.early_stopping=false"))
    assert not any(key.startswith("training.monitor=") for key in quiet)
    assert "preprocessing.keep_negations=false" not in _keys(ExperimentConfig())
    assert "preprocessing.keep_negations=false" in _keys(tiny_config("preprocessing.remove_stopwords=true"))
    assert not any(key.startswith("vectorizing.length_percentile") for key in _keys(tiny_config()))  # max_length is set
    # Freezing word vectors means nothing without a vectors file; subwords cannot join an embedding-space resampler.
    assert "model.freeze_word_vectors=true" not in _keys(ExperimentConfig())
    assert "model.freeze_word_vectors=true" in _keys(tiny_config("model.word_vectors=vectors.txt"))
    assert "model.subword_buckets=20000" in _keys(ExperimentConfig())
    assert not any(key.startswith("model.subword_buckets") for key in _keys(tiny_config("resampling.strategy=smote")))


def test_categories_group_settings_for_the_ui():
    assert category_of("resampling.strategy") == "imbalance"
    assert category_of("model.attention") == category_of("model.lstm_units") == "architecture"
    assert (category_of("model.dropout") == category_of("model.l2") == category_of("training.early_stopping")
            == "regularisation")
    assert category_of("training.learning_rate") == category_of("training.optimizer") == "optimisation"
    assert category_of("preprocessing.normalizer") == "preprocessing"
    assert category_of("vectorizing.min_token_frequency") == "vocabulary"
    assert {lever.category for lever in levers_for(ExperimentConfig())} == set(CATEGORIES)


def test_find_levers_takes_generated_keys_or_any_changing_override_and_explains_unknown_ones():
    config = ExperimentConfig()
    chosen = find_levers(config, ["model.bidirectional=false", " model.dropout=0.3 ", "model.bidirectional=false"])
    assert [lever.key for lever in chosen] == ["model.bidirectional=false", "model.dropout=0.3"]
    assert chosen[1].category == "regularisation" and chosen[1].apply(config).model.dropout == 0.3
    for bad in (["nope"], ["model.dropout=0.5"], ["model.dropout=7"], ["split.k_folds=5"], [""]):
        with pytest.raises(ConfigError) as caught:
            find_levers(config, bad)
        assert "\n" not in str(caught.value)


def test_a_lever_round_trips_through_a_dict_and_applies_like_its_override():
    lever = next(lever for lever in levers_for(ExperimentConfig()) if lever.key == "resampling.strategy=none")
    assert Lever.from_dict(lever.to_dict()) == lever
    assert lever.apply(ExperimentConfig()) == apply_overrides(ExperimentConfig(), ["resampling.strategy=none"])
    assert "→" in lever.title and lever.category == "imbalance"

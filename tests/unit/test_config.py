import dataclasses
import json

import pytest

from core.config import SECTIONS, ExperimentConfig, apply_overrides, field_info
from core.errors import ConfigError


def test_default_config_round_trips_json():
    config = ExperimentConfig()
    assert ExperimentConfig.from_json(config.to_json()) == config


def test_changed_config_round_trips_json():
    config = apply_overrides(
        ExperimentConfig(),
        ["model.lstm_units=17", "resampling.strategy=adasyn", "vectorizing.max_length=33", "data.text_column=body",
         "seed=7"],
    )
    again = ExperimentConfig.from_dict(json.loads(config.to_json()))
    assert again == config
    assert again.model.lstm_units == 17 and again.vectorizing.max_length == 33 and again.data.text_column == "body"


def test_partial_json_keeps_defaults_for_missing_fields():
    config = ExperimentConfig.from_json('{"model": {"lstm_layers": 2}}')
    assert config.model.lstm_layers == 2
    assert config.model.embedding_dim == ExperimentConfig().model.embedding_dim


@pytest.mark.parametrize(
    "assignment, fragment",
    [
        ("model.nonsense=1", "Unknown setting 'model.nonsense'"),
        ("modle.units=1", "Unknown config section 'modle'"),
        ("model.lstm_units=many", "whole number"),
        ("model.lstm_layers=5", "at most 4"),
        ("model.dropout=-0.1", "at least 0.0"),
        ("resampling.strategy=magic", "must be one of none, class_weights"),
        ("split.test_fraction=0.45", "under 20% of rows for training"),
        ("model.bidirectional=maybe", "true or false"),
        ("justtext", "section.field=value"),
    ],
)
def test_impossible_settings_are_one_sentence_errors(assignment, fragment):
    if assignment.startswith("split.test_fraction"):
        assignments = ["split.validation_fraction=0.4", assignment]
    else:
        assignments = [assignment]
    with pytest.raises(ConfigError) as caught:
        apply_overrides(ExperimentConfig(), assignments)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_json_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        ExperimentConfig.from_json("{nope")
    with pytest.raises(ConfigError, match="JSON object"):
        ExperimentConfig.from_json("[1, 2]")


def test_every_field_documents_itself():
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert field_info(section, f.name)["help"], f"{section}.{f.name} lacks help text"


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ExperimentConfig().model.lstm_units = 3  # type: ignore[misc]


def test_none_is_a_value_for_choices_and_empty_for_optional_settings():
    config = apply_overrides(ExperimentConfig(), ["model.attention=none", "resampling.strategy=none",
                                                  "preprocessing.normalizer=none", "vectorizing.max_length=none"])
    assert config.model.attention == "none" and config.resampling.strategy == "none"
    assert config.preprocessing.normalizer == "none" and config.vectorizing.max_length is None
    assert apply_overrides(ExperimentConfig(), ["vectorizing.max_length=auto"]).vectorizing.max_length is None
    assert apply_overrides(ExperimentConfig(), ['data.text_column="42"']).data.text_column == "42"

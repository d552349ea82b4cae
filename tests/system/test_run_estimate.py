"""The run estimate against real runs: the parameters, vocabulary, length, rows per epoch and model counts it shows
are the ones the run builds (single models, k-fold with and without an average, seed ensembles, blends, n-grams)."""

import numpy as np
import pytest

import core.choices.resampling
from core.model import estimate
from core.model.run_estimate import estimate_run, run_shape
from core.text.preprocessing import preprocess
from core.training.batching import epoch_batches
from core.training.experiment import run_experiment
from support.fakes import make_dataset, tiny_config

CASES = {
    "single": [],
    "k-fold ensemble with the blend": ["split.k_folds=3", "split.ensemble=true", "model.blend=validated"],
    "k-fold keeping the best fold": ["split.k_folds=3"],
    "seed ensemble with n-grams": ["split.ensemble_seeds=2", "model.ngram_path=logits", "model.ngram_buckets=1024"],
    "k-fold x seeds, oversampled": ["split.k_folds=3", "split.ensemble=true", "split.ensemble_seeds=2",
                                    "resampling.strategy=random_over"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_estimate_names_what_the_run_builds(case, monkeypatch):
    dataset = make_dataset({"sports": 45, "tech": 30, "food": 18}, seed=3)
    config = tiny_config("training.epochs=1", "vectorizing.max_length=null", *CASES[case])
    trained_rows = []
    original = core.choices.resampling.resample_training

    def spy(*arguments, **options):
        resampled = original(*arguments, **options)
        trained_rows.append(len(resampled.y))
        return resampled

    monkeypatch.setattr(core.choices.resampling, "resample_training", spy)
    result = run_experiment(dataset, config, runs_dir=None)
    processed = preprocess(dataset.texts, config.preprocessing)[0]
    estimate = estimate_run(config, run_shape(processed, dataset.y, dataset.class_names, config))

    model = result.trained.models.model
    assert estimate.trained_models == len(trained_rows)
    assert estimate.rows_per_epoch == max(trained_rows)
    assert estimate.rows_kind == ("exact" if len(set(trained_rows)) == 1 else "at most")
    if estimate.parameters_kind == "exact":
        assert estimate.parameters == model.count_params()
        assert estimate.vocabulary_size == result.trained.vectorized.vocabulary.size
        assert estimate.max_length == result.trained.vectorized.max_length
    else:  # the best fold's model, whose vocabulary is its own
        assert estimate.parameters >= model.count_params()
    assert estimate.parameters == estimate.members * estimate.parameters_per_member


def test_length_bucketed_batches_are_sized_as_the_batching_cuts_them():
    """trimmed_steps against core.training.batching's own plan of an epoch (each batch cut to its longest row; the
    module loads Keras, hence here)."""
    rng = np.random.default_rng(0)
    lengths = np.minimum(rng.geometric(1 / 20, size=3000), 80)
    batches, widths = epoch_batches(lengths, 64, seed=0, epoch=0, step=1, max_length=80)
    quantiles = tuple(int(q) for q in np.percentile(lengths, np.arange(101), method="higher"))
    assert estimate.trimmed_steps(quantiles, 3000, 64) == pytest.approx(np.mean(widths), rel=0.1)
    assert estimate.trimmed_steps(quantiles, 3000, 64) < 0.6 * 80  # far below the padded length the old model used

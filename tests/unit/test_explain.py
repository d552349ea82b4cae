"""Token explanations and their measured faithfulness.

Known answers: a fake model whose probability is decided by one token (exact metric values, no TensorFlow), and a
tiny LSTM trained on texts whose class is one keyword at a random position among filler words.
"""

from __future__ import annotations

import json
import math
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
    variants = ex.compose(np.array([4, 5, 6, 0], dtype=np.int32), [np.array([0, 2]), np.array([], dtype=int)])
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

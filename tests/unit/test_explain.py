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

from core.errors import ConfigError
from core.evidence import explain as ex
from core.evidence import faithfulness as fa
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
    assert report.verdict.startswith("The most faithful explanation for this model is occlusion: ")
    assert report.verdict.endswith(".") and ". " not in report.verdict  # one sentence
    assert "0.700 on average (90% interval 0.700–0.700)" in report.verdict  # every text drops by exactly 0.7
    assert report.tied == () and report.shown_first == "occlusion" and report.standing("occlusion") == fa.MOST_FAITHFUL


def test_random_order_that_ties_the_method_makes_no_winner():
    """One-token texts: every order is the same order, so nothing beats random and the verdict says so."""
    ids = padded([[5], [5], [3]])
    report = fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], seed=0)
    assert report.most_faithful is None and report.first is None
    assert math.isnan(report.row("occlusion").aopc)  # no deletion step leaves a token: AOPC is undefined
    assert report.verdict.startswith("No explanation could be scored")
    assert math.isnan(report.interval("occlusion").aopc.low) and report.standing("occlusion") == fa.NOT_SCORED


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


# --------------------------------------------------------------------------------------------- uncertainty and ties


class TwoMethods(ex.Explainer):
    """Occlusion on the keyword model, and an "attention" whose weights a test chooses (``delay``: seconds it costs)."""

    def __init__(self, weights, delay: float = 0.0) -> None:
        super().__init__(KeywordFake())
        self._weights, self._delay = weights, delay

    def available(self):
        return ex.AvailableMethods(tuple(ex.EXPLANATION_METHODS.get(key) for key in ("attention", "occlusion")), ())

    def _attention(self, ids, classes):
        import time

        time.sleep(self._delay)
        return [np.asarray(self._weights(row), dtype=np.float64) for row in ids]


def keyword_first(row):
    return [1.0 if token == 5 else 0.0 for token in row]


def keyword_last_then_position(row):
    """Weights rising with position, the keyword always lowest: its top tokens are never the one that matters."""
    return [-1.0 if token == 5 else float(position) for position, token in enumerate(row)]


def test_every_score_has_a_bootstrap_interval_around_it_and_the_same_seed_gives_the_same_intervals():
    ids = padded(KEYWORD_ROWS * 8)
    report = fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], seed=3)
    again = fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], seed=3)
    assert report.interval_level == 0.9 and report.resamples == 1000
    assert [interval.method for interval in report.intervals] == ["occlusion", "random"]
    for row in (report.row("occlusion"), report.random):
        interval = report.interval(row.method)
        for score in ("comprehensiveness", "sufficiency", "aopc"):
            bounds = getattr(interval, score)
            assert bounds.low - 1e-9 <= getattr(row, score) <= bounds.high + 1e-9, (row.method, score)
    assert report.interval("random").aopc.high - report.interval("random").aopc.low > 0.02  # random order varies
    assert report.intervals == again.intervals


def test_bootstrap_intervals_known_answers():
    constant = {"m": {"comprehensiveness": np.full(50, 0.3), "sufficiency": np.zeros(50), "aopc": np.full(50, np.nan)}}
    interval = fa.bootstrap_intervals(constant, resamples=200, seed=0)["m"]
    assert (interval.comprehensiveness.low, interval.comprehensiveness.high) == pytest.approx((0.3, 0.3))
    assert interval.sufficiency == fa.Interval(0.0, 0.0)
    assert math.isnan(interval.aopc.low) and not interval.aopc.finite  # undefined on every text: no interval
    spread = {"m": {"comprehensiveness": np.tile([0.0, 1.0], 100), "sufficiency": np.zeros(200),
                    "aopc": np.r_[np.tile([0.0, 1.0], 99), np.nan, np.nan]}}
    wide = fa.bootstrap_intervals(spread, resamples=2000, level=0.9, seed=1)["m"]
    # The mean of 200 coin flips: sd 0.5/sqrt(200) ≈ 0.035, so the 90% interval is about 0.5 ± 0.058.
    assert (wide.comprehensiveness.low == pytest.approx(0.442, abs=0.02)
            and wide.comprehensiveness.high == pytest.approx(0.558, abs=0.02))
    assert wide.aopc.finite and wide.aopc.low < 0.5 < wide.aopc.high  # texts without a curve are left out, not zeros
    with pytest.raises(ValueError):
        fa.bootstrap_intervals(spread, level=1.5)


def test_methods_whose_aopc_intervals_overlap_are_tied_and_the_cheapest_is_shown_first():
    ids = padded(KEYWORD_ROWS * 8)
    report = fa.measure_faithfulness(KeywordFake(), ids, seed=3, explainer=TwoMethods(keyword_first, delay=0.05))
    assert report.row("attention").aopc == pytest.approx(report.row("occlusion").aopc)  # the same ranking
    assert report.most_faithful is None and report.tied == ("attention", "occlusion")
    assert report.row("attention").seconds > report.row("occlusion").seconds
    assert report.shown_first == report.first == "occlusion"
    assert report.standing("attention") == report.standing("occlusion") == fa.TIED
    assert "tied within noise" in report.verdict and "the cheapest, occlusion, is shown first" in report.verdict
    assert "No single method is the most faithful explanation for this model" in report.verdict
    costly = fa.measure_faithfulness(KeywordFake(), ids, seed=3, explainer=TwoMethods(keyword_first, delay=0.0))
    assert costly.tied == ("attention", "occlusion") and costly.first in costly.tied


def test_attention_whose_top_tokens_matter_less_than_random_ones_says_so():
    ids = padded(KEYWORD_ROWS * 8)
    report = fa.measure_faithfulness(KeywordFake(), ids, seed=3, explainer=TwoMethods(keyword_last_then_position))
    assert report.row("attention").comprehensiveness < report.random.comprehensiveness
    assert report.standing("attention") == fa.BELOW_RANDOM and report.most_faithful == "occlusion"
    [note] = report.notes()
    assert note.startswith("Attention's top tokens matter less than random ones")
    attention, random_order = report.bias("attention"), report.bias("random")
    assert attention.last_token_share > 0.5  # rising weights: the top token is the last one unless that is the keyword
    assert random_order is not None and 0 < random_order.last_token_share < 0.6  # random order prints its numbers


def test_a_method_is_below_random_only_beyond_the_noise_of_its_interval():
    """Attention's comprehensiveness under random order's is called below random only when random order's interval
    lies above attention's; within noise the table says so instead and no note warns. A report from before the
    intervals compares the point scores."""
    import dataclasses

    ids = padded(KEYWORD_ROWS * 8)
    report = fa.measure_faithfulness(KeywordFake(), ids, seed=3, explainer=TwoMethods(keyword_last_then_position))
    assert report.standing("attention") == fa.BELOW_RANDOM
    noisy_random = tuple(dataclasses.replace(i, comprehensiveness=fa.Interval(-1.0, 1.0)) if i.method == ex.RANDOM
                         else i for i in report.intervals)
    noisy = dataclasses.replace(report, intervals=noisy_random)
    assert noisy.row("attention").comprehensiveness < noisy.random.comprehensiveness
    assert noisy.standing("attention") != fa.BELOW_RANDOM and noisy.notes() == ()
    older = dataclasses.replace(report, intervals=None)
    assert older.standing("attention") == fa.BELOW_RANDOM and len(older.notes()) == 1


def test_progress_is_reported_and_a_stop_request_ends_the_measurement():
    ids = padded(KEYWORD_ROWS * 30)  # 150 texts: three chunks of occlusion
    heard = []
    fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"],
                            progress=lambda words, done: heard.append((words, done)))
    fractions = [done for _, done in heard]
    assert fractions == sorted(fractions) and 0 <= fractions[0] < fractions[-1] < 1
    assert any("occlusion" in words for words, _ in heard) and any("bootstrap" in words for words, _ in heard)
    asked = []

    def stop_on_third_check():
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(fa.MeasurementStopped):
        fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], should_stop=stop_on_third_check)
    assert len(asked) == 3  # checked between pieces of work, and nothing ran after the stop


def test_a_report_written_before_intervals_loads_without_them_and_shows_its_most_faithful_method_first():
    from support.paths import GOLDEN

    report = fa.FaithfulnessReport.from_dict(
        json.loads((GOLDEN / "run" / "faithfulness.json").read_text(encoding="utf-8"))
    )
    assert report.intervals is None and report.tied is None and report.shown_first is None
    assert report.first == report.most_faithful
    assert report.interval("occlusion") is None and report.standing("random") == fa.REFERENCE
    assert all(report.standing(row.method) for row in report.rows)

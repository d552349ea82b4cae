"""Near-duplicates: planted pairs are found, unrelated texts are not, and leaks across the split are measured."""

from __future__ import annotations

import json
import random
import re
import time

import numpy as np
import pytest

import core.evidence.near_duplicates as near
from core.evidence.near_duplicates import NearDuplicateReport, StraddlingReport, find_near_duplicates, straddling_pairs

SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "pi", "qua", "zen", "bri", "sto", "mar", "eth", "ul"]


def random_words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(count)]


def base_texts(count: int, seed: int = 0, words: tuple[int, int] = (12, 20)) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(random_words(rng, rng.randint(*words))) for _ in range(count)]


def one_word_changed(text: str, rng: random.Random) -> str:
    words = text.split()
    words[rng.randrange(len(words))] = random_words(rng, 1)[0]
    return " ".join(words)


def with_punctuation_and_case(text: str) -> str:
    words = text.split()
    return (" ".join(words[:3]).upper() + ", " + " ".join(words[3:]) + "!").capitalize()


def exhaustive_pairs(texts: list[str], threshold: float) -> dict[tuple[int, int], float]:
    """Brute force with plain Python sets of 5-character windows: an independent reference."""

    def shingles(text: str) -> set[str]:
        framed = (" " + " ".join(re.findall(r"\w+", text.casefold())) + " ").ljust(5, "\0")
        return {framed[i : i + 5] for i in range(len(framed) - 4)}

    sets = [shingles(text) for text in texts]
    found = {}
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            similarity = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if similarity >= threshold:
                found[(i, j)] = similarity
    return found


def test_planted_near_duplicates_are_found_and_unrelated_texts_are_not():
    rng = random.Random(1)
    texts = base_texts(200, seed=1)
    planted = {}
    for source in range(0, 60, 3):
        texts.append(one_word_changed(texts[source], rng))
        planted[(source, len(texts) - 1)] = "word"
        texts.append(with_punctuation_and_case(texts[source + 1]))
        planted[(source + 1, len(texts) - 1)] = "case and punctuation"
        texts.append(texts[source + 2])
        planted[(source + 2, len(texts) - 1)] = "exact"
    report = find_near_duplicates(texts, threshold=0.7, max_pairs=1000)
    found = {(pair.row_a, pair.row_b): pair.similarity for pair in report.pairs}
    assert set(found) == set(planted)
    for pair, kind in planted.items():
        if kind == "word":
            assert 0.7 <= found[pair] < 1.0
        else:  # identical once case, punctuation and spacing are folded
            assert found[pair] == 1.0
    assert report.pairs_found == len(planted)
    assert report.identical_pairs == 40
    assert report.rows_with_duplicate == 2 * len(planted)
    assert report.complete and not report.truncated
    similarities = [pair.similarity for pair in report.pairs]
    assert similarities == sorted(similarities, reverse=True)


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.9])
def test_matches_an_exhaustive_search(threshold):
    rng = random.Random(2)
    texts = base_texts(120, seed=2, words=(3, 12))
    for source in range(40):  # a spread of similarities: one to three words changed
        variant = texts[source]
        for _ in range(rng.randint(1, 3)):
            variant = one_word_changed(variant, rng)
        texts.append(variant)
    expected = exhaustive_pairs(texts, threshold)
    report = find_near_duplicates(texts, threshold=threshold, max_pairs=10_000)
    found = {(pair.row_a, pair.row_b): pair.similarity for pair in report.pairs}
    assert set(found) == set(expected)
    for pair, similarity in expected.items():
        assert found[pair] == pytest.approx(similarity, abs=1e-4)


def test_identical_rows_and_short_or_empty_texts():
    texts = ["Bird strike.", "bird   STRIKE", "", "  ", "ok", "OK!", "engine shut down after ingestion"]
    report = find_near_duplicates(texts)
    pairs = {(pair.row_a, pair.row_b) for pair in report.pairs}
    assert pairs == {(0, 1), (2, 3), (4, 5)}
    assert report.identical_pairs == 3 and report.rows_with_duplicate == 6


def test_the_cap_keeps_the_most_similar_pairs():
    texts = ["alpha beta gamma delta epsilon zeta eta theta"] * 4 + base_texts(10, seed=3)
    rng = random.Random(3)
    texts += [one_word_changed(texts[4], rng)]
    report = find_near_duplicates(texts, max_pairs=2)
    assert report.pairs_found == 7 and report.truncated
    assert [pair.similarity for pair in report.pairs] == [1.0, 1.0]
    none = find_near_duplicates(texts, max_pairs=0)
    assert none.pairs == () and none.pairs_found == 7


def test_crowded_buckets_are_sampled_and_said_so(monkeypatch):
    monkeypatch.setattr(near, "BUCKET_WINDOW", 5)
    texts = [f"the crew reported a bird strike on the left engine during climb out, report number {i}"
             for i in range(300)]
    report = find_near_duplicates(texts, threshold=0.7)
    assert not report.complete and report.notes
    assert report.rows_with_duplicate == 300  # every text still found a near-twin
    train, test = np.arange(0, 300, 2), np.arange(1, 300, 2)
    straddling = straddling_pairs(texts, train, test, threshold=0.7)
    assert len(straddling.matches) == len(test) and not straddling.complete


def test_straddling_pairs_and_the_inflation_they_cause():
    rng = random.Random(4)
    texts = base_texts(300, seed=4)
    train = np.arange(0, 200)
    test = np.arange(200, 300)
    leaked = test[:30]
    for row in leaked:  # a test row that is a light edit of a training row
        texts[row] = one_word_changed(texts[int(row) - 200], rng)
    texts[299] = with_punctuation_and_case(texts[5])  # identical after folding
    texts[298] = texts[297]  # a near-duplicate inside the test split: not a leak
    texts[150] = texts[151]  # and one inside training: not a leak either
    report = straddling_pairs(texts, train, test, threshold=0.7)
    assert report.leaked_test_rows.tolist() == sorted([*leaked.tolist(), 299])
    by_test = {match.test_row: match for match in report.matches}
    assert by_test[299].train_row == 5 and by_test[299].similarity == 1.0
    assert all(by_test[int(row)].train_row == int(row) - 200 for row in leaked)
    assert report.identical == 1
    assert report.leaked_fraction == pytest.approx(31 / 100)

    # A model that memorised the leaked rows and is right on only half the others.
    y_true = np.arange(100) % 3
    y_pred = y_true.copy()
    unleaked_positions = np.flatnonzero(~np.isin(test, report.leaked_test_rows))
    y_pred[unleaked_positions[::2]] = (y_true[unleaked_positions[::2]] + 1) % 3
    inflation = near.test_inflation(y_true, y_pred, test, report.leaked_test_rows, ("a", "b", "c"))
    assert inflation["leaked_rows"] == 31
    assert inflation["all"]["rows"] == 100 and inflation["without_near_duplicates"]["rows"] == 69
    assert inflation["near_duplicates_only"]["accuracy"] == 1.0
    wrong = len(unleaked_positions[::2])
    assert inflation["all"]["accuracy"] == pytest.approx(1 - wrong / 100, abs=1e-4)
    assert inflation["without_near_duplicates"]["accuracy"] == pytest.approx(1 - wrong / 69, abs=1e-4)
    assert inflation["difference"]["accuracy"] > 0.1
    assert inflation["difference"]["macro_f1"] > 0.1


def test_no_leak_means_no_inflation():
    texts = base_texts(60, seed=5)
    report = straddling_pairs(texts, np.arange(40), np.arange(40, 60))
    assert report.matches == () and report.leaked_test_rows.size == 0
    y = np.arange(20) % 2
    inflation = near.test_inflation(y, 1 - y, np.arange(40, 60), report.leaked_test_rows, ("a", "b"))
    assert inflation["difference"] == {"accuracy": 0.0, "macro_f1": 0.0}
    assert inflation["near_duplicates_only"] == {"rows": 0, "accuracy": None, "macro_f1": None}


def test_reports_round_trip_through_json():
    rng = random.Random(6)
    texts = base_texts(50, seed=6)
    texts += [one_word_changed(texts[0], rng), texts[1]]
    report = find_near_duplicates(texts)
    assert NearDuplicateReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    straddling = straddling_pairs(texts, np.arange(50), np.arange(50, 52))
    assert len(straddling.matches) == 2
    assert StraddlingReport.from_dict(json.loads(json.dumps(straddling.to_dict()))) == straddling


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="threshold"):
        find_near_duplicates(["a", "b"], threshold=0)
    with pytest.raises(ValueError, match="threshold"):
        find_near_duplicates(["a", "b"], threshold=1.5)
    with pytest.raises(ValueError, match="share a row"):
        straddling_pairs(["a", "b", "c"], np.array([0, 1]), np.array([1, 2]))
    with pytest.raises(ValueError, match="test_rows"):
        straddling_pairs(["a", "b", "c"], np.array([0]), np.array([5]))


def test_banding_meets_its_recall_target():
    for threshold in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0):
        bands, rows = near.bands_for(threshold)
        assert bands * rows <= near.NUM_PERMUTATIONS
        assert 1 - (1 - threshold**rows) ** bands >= 0.995
        banding_and_prefilter = (1 - (1 - threshold**rows) ** bands) * (1 - near._PREFILTER_MISS)
        assert banding_and_prefilter >= near.TARGET_RECALL


@pytest.mark.slow
def test_twenty_thousand_rows_take_seconds():
    rng = random.Random(7)
    texts = base_texts(18_000, seed=7, words=(5, 30))
    texts += [one_word_changed(texts[i], rng) for i in range(2_000)]
    started = time.perf_counter()
    report = find_near_duplicates(texts)
    elapsed = time.perf_counter() - started
    assert elapsed < 30  # measured ~2 s on 2 shared cores
    assert report.rows_with_duplicate >= 3_000

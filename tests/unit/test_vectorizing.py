import numpy as np

from core.text.vectorizing import OOV_ID, build_vocabulary, encode, oov_rate, suggest_max_length, token_lengths


def test_vocabulary_from_given_texts_only_and_capped():
    vocabulary = build_vocabulary(["a b b c", "b c d"], max_size=4)
    assert vocabulary.tokens == ("[PAD]", "[UNK]", "b", "c")


def test_min_frequency_drops_rare_tokens():
    vocabulary = build_vocabulary(["a a b"], max_size=10, min_frequency=2)
    assert vocabulary.tokens == ("[PAD]", "[UNK]", "a")


def test_encode_post_pads_post_truncates_and_never_leaves_an_empty_row():
    vocabulary = build_vocabulary(["one two three four"], max_size=10)
    ids = encode(["one two three four", "two", "", "unknown words"], vocabulary, max_length=3)
    index = vocabulary.index()
    assert ids[0].tolist() == [index["one"], index["two"], index["three"]]  # the end is cut, not the start
    assert ids[1].tolist() == [index["two"], 0, 0]  # padding after the text
    assert ids[2].tolist() == [OOV_ID, 0, 0]  # an empty text still has one real step
    assert ids[3].tolist() == [OOV_ID, OOV_ID, 0]
    mask = ids != 0
    # strictly right-padded: once padding starts, it never stops (what cuDNN needs)
    assert all((np.diff(row.astype(int)) <= 0).all() for row in mask)
    assert mask.any(axis=1).all()


def test_suggested_length_covers_the_percentile_and_reports_truncation():
    lengths = np.arange(1, 101)
    suggestion = suggest_max_length(lengths, percentile=90)
    assert suggestion.max_length == 91
    assert abs(suggestion.truncated_share - 0.09) < 1e-9


def test_oov_rate_and_lengths():
    vocabulary = build_vocabulary(["a b"], max_size=10)
    assert oov_rate(["a c", "d"], vocabulary) == 2 / 3
    assert token_lengths(["a b c", ""]).tolist() == [3, 0]

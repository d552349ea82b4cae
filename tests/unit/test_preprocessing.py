"""Tests for core.text.preprocessing: tokenizer, every toggle, negations, normalizers, the cache and offline
fallbacks."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import core.text.preprocessing as pp
from core.config import PreprocessingConfig
from core.errors import ConfigError
from core.text.preprocessing import (
    NEGATIONS,
    TOKEN_PATTERN,
    TextPreprocessor,
    naive_reference,
    preprocess,
    stopword_list,
    strip_markup,
    tokenize,
)
from support.paths import ROOT  # noqa: E402

ALL_OFF = PreprocessingConfig(
    lowercase=False,
    strip_urls_html=False,
    strip_punctuation=False,
    strip_numbers=False,
    remove_stopwords=False,
    keep_negations=False,
    normalizer="none",
)
ALL_ON = PreprocessingConfig(
    lowercase=True,
    strip_urls_html=True,
    strip_punctuation=True,
    strip_numbers=True,
    remove_stopwords=True,
    keep_negations=True,
    normalizer="porter",
)


def run(config: PreprocessingConfig, text: str) -> list[str]:
    return TextPreprocessor(config).tokens(text)


# --- tokenizer -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't stop, it's o'clock!", ["Don't", "stop", ",", "it's", "o'clock", "!"]),
        ("rock\u2019n\u2019roll students' 'tis", ["rock\u2019n\u2019roll", "students", "'", "'", "tis"]),
        ("paid 1,272 for 3.5 kg in 2014. Then", ["paid", "1,272", "for", "3.5", "kg", "in", "2014", ".", "Then"]),
        ("wow!!!...", ["wow", "!", "!", "!", ".", ".", "."]),
        ("great 🙂👍🏽 👨\u200d👩\u200d👧 🇫🇷🇩🇪 1\ufe0f\u20e3",
         ["great", "🙂", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "🇩🇪", "1\ufe0f\u20e3"]),
        ("我爱北京 and カタカナ", ["我", "爱", "北", "京", "and", "カタカナ"]),
        ("cafe\u0301 हिन्दी Привет мир", ["cafe\u0301", "हिन्दी", "Привет", "мир"]),
        ("hello_world\u200b\x00 tab\tnew\nline", ["hello_world", "tab", "new", "line"]),
        ("", []),
    ],
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected
    assert TOKEN_PATTERN.findall(text) == expected


def test_tokens_never_contain_whitespace() -> None:
    rng = random.Random(3)
    alphabet = "ab é'’-.,1 \t\n🙂\u200d\u0301我<>&"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(40))
        assert all(token and not any(ch.isspace() for ch in token) for token in tokenize(text))


def test_chunked_tokenizing_equals_whole_text_tokenizing() -> None:
    # The preprocessor tokenizes each whitespace-separated chunk on its own (and caches it); with every toggle off
    # its tokens must equal tokenize() of the whole text, whatever the whitespace and marks at chunk edges.
    rng = random.Random(5)
    alphabet = ["a", "Z", "1", ",", ".", "'", "\u2019", "\u0301", "\u200d", "\u200c", "\ufe0f", "\u20e3", "🙂",
                "\U0001f3fb", "🇫", "我", "\U000e0067", "_", "$", " ", "\xa0", "\u3000", "\u2003", "\x1c",
                "\t", "\n"]  # fmt: skip
    preprocessor = TextPreprocessor(ALL_OFF)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))
        assert preprocessor.tokens(text) == tokenize(text), text


def test_strip_markup_html_and_urls() -> None:
    text = (
        '<p class="x">Laptop <b>stolen</b></p><!-- note --><script>var a = 1;</script>'
        " see https://example.com/a?b=1&amp;c=2. or WWW.Example.org, Fish &amp; chips &lt;ok&gt; a < b > c"
    )
    stripped = strip_markup(text)
    assert tokenize(stripped) == [
        "Laptop", "stolen", "see", ".", "or", ",", "Fish", "&", "chips", "<", "ok", ">", "a", "<", "b", ">", "c",
    ]  # fmt: skip
    assert tokenize(strip_markup("xhttp://keep.me a_www.keep")) == ["xhttp", ":", "/", "/", "keep", ".", "me",
                                                                    "a_www", ".", "keep"]


# --- toggles ---------------------------------------------------------------------------------------------------


SAMPLE = "<b>The</b> 3 Cats aren't running to http://x.org, 1,272 times!! 🙂"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, ["<", "b", ">", "The", "<", "/", "b", ">", "3", "Cats", "aren't", "running", "to", "http", ":", "/", "/",
              "x", ".", "org", ",", "1,272", "times", "!", "!", "🙂"]),
        ({"strip_urls_html": True},
         ["The", "3", "Cats", "aren't", "running", "to", ",", "1,272", "times", "!", "!", "🙂"]),
        ({"strip_urls_html": True, "lowercase": True},
         ["the", "3", "cats", "aren't", "running", "to", ",", "1,272", "times", "!", "!", "🙂"]),
        ({"strip_urls_html": True, "strip_punctuation": True},
         ["The", "3", "Cats", "aren't", "running", "to", "1,272", "times", "🙂"]),
        ({"strip_urls_html": True, "strip_numbers": True},
         ["The", "Cats", "aren't", "running", "to", ",", "times", "!", "!", "🙂"]),
        ({"strip_urls_html": True, "remove_stopwords": True},
         ["3", "Cats", "aren't", "running", ",", "1,272", "times", "!", "!", "🙂"]),
        ({"strip_urls_html": True, "normalizer": "porter"},
         ["the", "3", "cat", "aren't", "run", "to", ",", "1,272", "time", "!", "!", "🙂"]),
    ],
)  # fmt: skip
def test_each_toggle(change: dict, expected: list[str]) -> None:
    assert run(replace(ALL_OFF, **change), SAMPLE) == expected


def test_all_on() -> None:
    assert run(ALL_ON, SAMPLE) == ["cat", "aren't", "run", "time", "🙂"]


def test_punctuation_drops_symbols_but_keeps_emoji_and_words() -> None:
    config = replace(ALL_OFF, strip_punctuation=True)
    assert run(config, "$5 + 3% = ^_^ © ™ 🙂 ... — « hi » __init__") == ["5", "3", "©", "™", "🙂", "hi", "__init__"]


def test_numbers_only_whole_number_tokens() -> None:
    config = replace(ALL_OFF, strip_numbers=True)
    assert run(config, "1990s 3rd 42 1,272 3.5 ٣ x2") == ["1990s", "3rd", "x2"]


# --- negations -------------------------------------------------------------------------------------------------


def test_negations_kept_with_stop_words_removed() -> None:
    config = replace(ALL_OFF, lowercase=True, remove_stopwords=True, keep_negations=True)
    assert run(config, "this is not good") == ["not", "good"]
    assert run(config, "I don't like it, nor do they; nothing works") == ["don't", "like", ",", "nor", ";", "nothing",
                                                                          "works"]
    assert run(config, "It WON\u2019T do") == ["won\u2019t"]


def test_negations_dropped_when_not_kept() -> None:
    config = replace(ALL_OFF, lowercase=True, remove_stopwords=True, keep_negations=False)
    assert run(config, "this is not good") == ["good"]


def test_negations_skip_the_normalizer_when_kept() -> None:
    config = replace(ALL_OFF, lowercase=True, normalizer="lemmatize", keep_negations=True)
    assert run(config, "don't nothing mice") == ["don't", "nothing", "mouse"]
    assert run(replace(config, normalizer="porter"), "nothing running") == ["nothing", "run"]


def test_negation_set() -> None:
    assert {"not", "no", "never", "nor", "none", "nobody", "nothing", "neither", "nowhere", "cannot",
            "n't"} <= NEGATIONS


def test_stopword_list_source() -> None:
    words, source = stopword_list()
    assert "the" in words and "not" in words
    assert source.startswith(("NLTK English stop words (", "scikit-learn ENGLISH_STOP_WORDS ("))


# --- normalizers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("normalizer", "label", "expected"),
    [
        ("none", "none", ["running", "studies", "mice", "geese", "organization"]),
        ("porter", "Porter stemmer (NLTK)", ["run", "studi", "mice", "gees", "organ"]),
        ("snowball", "Snowball English stemmer (NLTK)", ["run", "studi", "mice", "gees", "organ"]),
        ("lancaster", "Lancaster stemmer (NLTK)", ["run", "study", "mic", "gees", "org"]),
        # WordNet (noun by default) keeps "running"; simplemma gives "run": both backends agree on the rest.
        ("lemmatize", None, [None, "study", "mouse", "goose", "organization"]),
    ],
)
def test_normalizers(normalizer: str, label: str | None, expected: list[str]) -> None:
    preprocessor = TextPreprocessor(replace(ALL_OFF, lowercase=True, normalizer=normalizer))
    out = preprocessor.tokens("running studies mice geese organization")
    assert len(out) == len(expected)
    assert [got if want is None else want for got, want in zip(out, expected)] == out
    if label is None:
        assert preprocessor.report.normalizer in {
            "WordNet lemmatizer (NLTK data)",
            "simplemma English lemmatizer (offline; WordNet data not installed)",
        }
    else:
        assert preprocessor.report.normalizer == label


@pytest.mark.parametrize("normalizer", ["porter", "snowball", "lancaster", "lemmatize"])
def test_normalizers_survive_odd_tokens(normalizer: str) -> None:
    config = replace(ALL_OFF, normalizer=normalizer)
    out = run(config, "o'clock 🙂 ' İstanbul ﬁ \u2019 x\u0301y 我 a_b 👨\u200d👩\u200d👧 ǅ")
    assert len(out) == 11 and all(out)


def _replace_normalizer(monkeypatch: pytest.MonkeyPatch, key: str, make) -> None:
    """Swap one normalizer record's factory for the duration of a test."""
    from core.choices.normalizers import NORMALIZERS

    monkeypatch.setitem(NORMALIZERS._records, key, replace(NORMALIZERS.get(key), make=make))


def test_failing_normalizer_keeps_token(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(token: str) -> str:
        raise IndexError(token)

    _replace_normalizer(monkeypatch, "porter", lambda: (boom, "boom"))
    assert run(replace(ALL_OFF, normalizer="porter"), "a b") == ["a", "b"]


def test_unknown_normalizer_lists_choices() -> None:
    with pytest.raises(ConfigError, match="porter, snowball, lancaster, lemmatize"):
        TextPreprocessor(replace(ALL_OFF, normalizer="wordpiece"))


# --- cache, transform, report ----------------------------------------------------------------------------------


def test_each_distinct_token_normalized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(token: str) -> str:
        calls.append(token)
        return token.upper()

    _replace_normalizer(monkeypatch, "porter", lambda: (counting, "counting"))
    preprocessor = TextPreprocessor(replace(ALL_OFF, normalizer="porter"))
    texts = ["a b a c", "c c b", "a d"] * 50
    assert preprocessor.transform(texts)[:3] == ["A B A C", "C C B", "A D"]
    assert sorted(calls) == ["a", "b", "c", "d"]
    assert preprocessor.tokens("a e") == ["A", "E"]
    assert sorted(calls) == ["a", "b", "c", "d", "e"]
    assert preprocessor.report.distinct_tokens_normalized == 5


def test_chunk_cache_limit_does_not_change_output(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = generated_texts(200)
    expected = TextPreprocessor(ALL_ON).transform(texts)
    monkeypatch.setattr(pp, "_CHUNK_CACHE_LIMIT", 3)
    preprocessor = TextPreprocessor(ALL_ON)
    assert preprocessor.transform(texts) == expected
    assert len(preprocessor._chunks) == 3


def test_transform_empty_and_dropped_texts() -> None:
    texts, report = preprocess(["", "!!! ...", "the and of", None, "ok"], ALL_ON)
    assert texts == ["", "", "", "", "ok"]
    assert report.stopword_source == stopword_list()[1]
    assert report.normalizer == "Porter stemmer (NLTK)"
    assert report.negations_kept is True
    assert report.distinct_tokens_normalized == 6  # "!", ".", "the", "and", "of", "ok"


def test_report_when_stop_words_off() -> None:
    report = TextPreprocessor(ALL_OFF).report
    assert report.stopword_source is None and report.normalizer == "none" and report.negations_kept is True
    assert report.distinct_tokens_normalized == 0


def generated_texts(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = (
        "the a The of and not no never Don't can\u2019t isn't nothing running Runs RAN mice geese better studies "
        "cats Organization theft laptop stolen hacked café naïve résumé"
    ).split()
    extras = [
        "1,272", "3.5", "2014", "!", ",", ".", "?", "...", "🙂", "👍🏽", "&amp;", "&lt;b&gt;", "<br/>", "<i>x</i>",
        "http://example.com/x?y=1", "www.Test.org.", "o'clock", "我爱", "$5", "—", "e\u0301", "हिन्दी", "__",
    ]  # fmt: skip
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 40)):
            roll = rng.random()
            if roll < 0.2:
                parts.append(rng.choice(extras))
            elif roll < 0.35:
                parts.append(f"w{int(rng.paretovariate(1.0) * 10)}")
            else:
                parts.append(rng.choice(words))
        texts.append(rng.choice([" ", "  ", "\n"]).join(parts))
    return texts


@pytest.mark.parametrize(
    "config",
    [
        ALL_ON,
        replace(ALL_ON, normalizer="lemmatize"),
        replace(ALL_ON, normalizer="lancaster", lowercase=False),
        replace(ALL_ON, normalizer="snowball", keep_negations=False),
    ],
    ids=["all-on-porter", "all-on-lemmatize", "lancaster-cased", "snowball-no-negations"],
)
def test_identical_to_naive_reference(config: PreprocessingConfig) -> None:
    texts = generated_texts(2000)
    preprocessor = TextPreprocessor(config)
    assert preprocessor.transform(texts) == naive_reference(texts, config)
    assert [" ".join(preprocessor.tokens(text)) for text in texts[:200]] == naive_reference(texts[:200], config)


# --- offline: no NLTK data anywhere ----------------------------------------------------------------------------


@pytest.mark.slow
def test_works_offline_without_nltk_data(tmp_path: Path) -> None:
    nltk_data = tmp_path / "nltk_data"
    home = tmp_path / "home"
    nltk_data.mkdir()
    home.mkdir()
    script = textwrap.dedent(
        """
        import json, os, nltk
        # NLTK also searches sys.prefix and /usr/share etc.; keep only the empty folder so the test is hermetic.
        nltk.data.path[:] = [os.environ["NLTK_DATA"]]
        from core.config import PreprocessingConfig
        from core.text.preprocessing import TextPreprocessor
        out = {}
        for normalizer in ("lemmatize", "porter", "snowball", "lancaster"):
            config = PreprocessingConfig(remove_stopwords=True, keep_negations=True, normalizer=normalizer)
            pre = TextPreprocessor(config)
            out[normalizer] = [pre.transform(["The mice were not running to <b>http://x.org</b> today!"])[0],
                               pre.report.stopword_source, pre.report.normalizer]
        print(json.dumps(out))
        """
    )
    env = {**os.environ, "NLTK_DATA": str(nltk_data), "HOME": str(home), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    fallback = "scikit-learn ENGLISH_STOP_WORDS (318)"
    assert out["lemmatize"] == [
        "mouse not run today",
        fallback,
        "simplemma English lemmatizer (offline; WordNet data not installed)",
    ]
    assert out["porter"] == ["mice not run today", fallback, "Porter stemmer (NLTK)"]
    assert out["snowball"] == ["mice not run today", fallback, "Snowball English stemmer (NLTK)"]
    assert out["lancaster"] == ["mic not run today", fallback, "Lancaster stemmer (NLTK)"]

"""Preprocessing throughput: the engine's cached TextPreprocessor against a naive loop that calls NLTK (or
simplemma) on every token occurrence, on the same texts with every toggle on. Target: >= 10x, identical output.

    .venv/bin/python bench/preprocessing_throughput.py                  # 100k texts, every normalizer, 3 repeats
    .venv/bin/python bench/preprocessing_throughput.py --texts 20000 --repeats 1

The texts are generated (seeded) with natural language's statistics: words drawn from a Zipf distribution over
60k word types (real common words first, then pseudo-words with English suffixes), plus numbers, punctuation,
URLs, HTML entities, contractions, emoji and accented words. The vocabulary size is set so that distinct tokens
grow like real text: 100k texts give ~78k distinct tokens in 3.25M, where the FAA remarks (16.2k distinct in
186k tokens) extrapolate by Heaps' law (square-root growth) to ~68k. Speed-up depends on exactly this ratio: each
distinct token is normalized once, each occurrence is not. A second row uses the built-in FAA remarks (14,903 real
texts, each once). Both sides run alternately, repeats interleaved, each from the same state (the normalizer's
data loaded, the library's own caches empty); medians are reported. Times are CPU seconds of this
(single-threaded) process: on a shared 2-core machine wall time also counts whatever else ran meanwhile.
Exits non-zero if the outputs differ (a failed run), not if the target is missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.choices.normalizers import NORMALIZERS  # noqa: E402
from core.config import PreprocessingConfig  # noqa: E402
from core.text.preprocessing import TextPreprocessor, naive_reference  # noqa: E402

COMMON = (
    "the a an and or but not no never is was were be been being have has had do does did can could will would "
    "bird birds strike struck engine engines landing landed takeoff aborted runway aircraft pilot crew damage "
    "damaged wing wings windshield fan blade blades ingested ingestion flight flights reported reports report "
    "running ran runs inspection inspected found finding gull gulls hawk hawks geese goose duck ducks precaution "
    "precautionary returned return approach climb descent taxi parked remains feathers noise vibration"
).split()
EXTRAS = ["1,272", "3.5", "42", "!!", "?", "(", ")", "--", "&amp;", "<br>", "http://example.org/x?id=7",
          "o'clock", "don't", "isn't", "café", "naïve", "🎉", "👍🏽", "我爱", "#2", "N123AB", "e-mail"]
SYLLABLES = ["ab", "ca", "dor", "en", "fri", "gal", "hu", "in", "jo", "ker", "lin", "mo", "nat", "or", "pla",
             "qui", "ros", "sta", "tur", "un", "ver", "wen", "xi", "yo", "zan"]
SUFFIXES = ["", "", "s", "ed", "ing", "ly", "ness", "ation", "ment", "er", "ies", "ful"]
VOCABULARY_SIZE = 60_000


def vocabulary(rng: random.Random) -> list[str]:
    """Real common words first, then pseudo-words with English suffixes (so stemmers do real work)."""
    words = list(COMMON)
    seen = set(words)
    while len(words) < VOCABULARY_SIZE:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) + rng.choice(SUFFIXES)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def generate(count: int, seed: int = 0) -> list[str]:
    """Words drawn from a Zipf distribution truncated at 60k types (exponent 1.1, as natural text roughly follows)
    plus 10% numbers, punctuation, markup, URLs, contractions, accents and emoji."""
    import numpy as np

    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    draws = np.random.default_rng(seed)
    lengths = [rng.randint(5, 60) for _ in range(count)]
    ranks = iter(draws.choice(len(words), size=sum(lengths), p=weights / weights.sum()).tolist())
    texts = []
    for length in lengths:
        parts = []
        for _ in range(length):
            rank = next(ranks)
            if rng.random() < 0.10:
                parts.append(rng.choice(EXTRAS))
            else:
                parts.append(words[rank].upper() if rng.random() < 0.05 else words[rank])
        texts.append(" ".join(parts))
    return texts


def reset_library_caches() -> None:
    """Empty simplemma's own token cache (an LRU of 65,536 lemmas inside the library), so that neither side starts
    with lemmas the other one looked up. Without this, the naive loop ran after the engine had filled that cache, and
    the engine's later repeats found most lemmas already there."""
    try:
        from simplemma.lemmatizer import _legacy_lemmatizer_for
    except ImportError:
        return
    _legacy_lemmatizer_for(False, False)._cached_lemmatize.cache_clear()


def load_normalizer(name: str) -> None:
    """Load the normalizer's data (simplemma reads its English dictionary on first use, ~2 s) before the clock:
    both sides share it, and whichever ran first used to pay for it."""
    normalize = NORMALIZERS.get(name).make()[0]
    if normalize is not None:
        normalize("dogs")


def engine_transform(texts: list[str], config: PreprocessingConfig) -> list[str]:
    return TextPreprocessor(config).transform(texts)  # a fresh cache each time: no head start from earlier repeats


def timed(function, *args):
    started = time.process_time()
    result = function(*args)
    return time.process_time() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--normalizers", nargs="*",
                        default=[record.key for record in NORMALIZERS if record.key != "none"])
    args = parser.parse_args(argv)
    from core.data.builtin import load_builtin

    corpora = {
        f"{args.texts:,} generated texts": generate(args.texts),
        "14,903 FAA remarks": load_builtin("faa-bird-strikes-phase").frame["remarks"].tolist(),
    }
    print(f"Every toggle on; {args.repeats} repeats, medians of CPU seconds; "
          "a fresh engine (empty cache) each repeat.\n")
    print("| texts | whitespace tokens | distinct | normalizer | engine (s) | naive loop (s) "
          "| speed-up (range over repeats) | outputs identical |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for (corpus, texts), normalizer in ((c, n) for c in corpora.items() for n in args.normalizers):
        config = PreprocessingConfig(lowercase=True, strip_urls_html=True, strip_punctuation=True, strip_numbers=True,
                                     remove_stopwords=True, keep_negations=True, normalizer=normalizer)
        engine_times, naive_times, identical = [], [], True
        load_normalizer(normalizer)
        for _ in range(args.repeats):
            reset_library_caches()
            seconds, engine_out = timed(engine_transform, texts, config)
            engine_times.append(seconds)
            reset_library_caches()
            seconds, naive_out = timed(naive_reference, texts, config)
            naive_times.append(seconds)
            identical = identical and engine_out == naive_out
        engine, naive = statistics.median(engine_times), statistics.median(naive_times)
        failed = failed or not identical
        tokens = [t for text in texts for t in text.split()]
        ratios = sorted(n / e for n, e in zip(naive_times, engine_times))
        print(f"| {corpus} | {len(tokens):,} | {len(set(tokens)):,} | {normalizer} | {engine:.2f} | {naive:.2f} | "
              f"{naive / engine:.1f}x ({ratios[0]:.1f}-{ratios[-1]:.1f}) | {'yes' if identical else 'NO'} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Preprocessing throughput: the engine's cached TextPreprocessor against a naive loop that calls NLTK (or
simplemma) on every token occurrence, on the same texts with every toggle on. Target: >= 10x, identical output.

    .venv/bin/python bench/preprocessing_throughput.py                  # 100k texts, porter and lemmatize, 3 repeats
    .venv/bin/python bench/preprocessing_throughput.py --texts 20000 --repeats 1

The texts are generated (seeded): a common English core, a long tail of rare tokens (IDs, typos, codes), and
numbers, punctuation, URLs, HTML entities, emoji and accented words, so the cache meets realistic variety rather
than the same few sentences. Both sides run alternately, repeats interleaved; medians are reported.
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

from core.config import PreprocessingConfig  # noqa: E402
from core.preprocessing import TextPreprocessor, naive_reference  # noqa: E402

COMMON = (
    "the a an and or but not no never is was were be been being have has had do does did can could will would "
    "bird birds strike struck engine engines landing landed takeoff aborted runway aircraft pilot crew damage "
    "damaged wing wings windshield fan blade blades ingested ingestion flight flights reported reports report "
    "running ran runs inspection inspected found finding gull gulls hawk hawks geese goose duck ducks precaution "
    "precautionary returned return approach climb descent taxi parked remains feathers noise vibration"
).split()
EXTRAS = ["1,272", "3.5", "42", "!!", "?", "(", ")", "--", "&amp;", "<br>", "http://example.org/x?id=7",
          "o'clock", "don't", "isn't", "café", "naïve", "🎉", "👍🏽", "我爱", "#2", "N123AB", "e-mail"]


def generate(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = []
        for _ in range(rng.randint(5, 60)):
            roll = rng.random()
            if roll < 0.70:
                word = rng.choice(COMMON)
                words.append(word.upper() if rng.random() < 0.1 else word)
            elif roll < 0.85:
                words.append(f"w{rng.randint(0, 200_000)}")  # long tail of rare tokens
            else:
                words.append(rng.choice(EXTRAS))
        texts.append(" ".join(words))
    return texts


def engine_transform(texts: list[str], config: PreprocessingConfig) -> list[str]:
    return TextPreprocessor(config).transform(texts)  # a fresh cache each time: no head start from earlier repeats


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--normalizers", nargs="*", default=["porter", "lemmatize"])
    args = parser.parse_args(argv)
    texts = generate(args.texts)
    tokens = sum(len(t.split()) for t in texts)
    print(f"{args.texts:,} generated texts, {tokens:,} whitespace tokens; every toggle on; {args.repeats} repeats, medians\n")
    print("| normalizer | engine (s) | naive loop (s) | speed-up | outputs identical |")
    print("|---|---|---|---|---|")
    failed = False
    for normalizer in args.normalizers:
        config = PreprocessingConfig(lowercase=True, strip_urls_html=True, strip_punctuation=True, strip_numbers=True,
                                     remove_stopwords=True, keep_negations=True, normalizer=normalizer)
        engine_times, naive_times, identical = [], [], True
        for _ in range(args.repeats):
            seconds, engine_out = timed(engine_transform, texts, config)
            engine_times.append(seconds)
            seconds, naive_out = timed(naive_reference, texts, config)
            naive_times.append(seconds)
            identical = identical and engine_out == naive_out
        engine, naive = statistics.median(engine_times), statistics.median(naive_times)
        failed = failed or not identical
        print(f"| {normalizer} | {engine:.2f} | {naive:.2f} | {naive / engine:.1f}x | {'yes' if identical else 'NO'} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the blend's bag-of-words part and the fair baseline differ: only in how a text is cut into tokens.

The blend's part (core.model.bag_of_words) reads the lab's tokens, split on spaces after preprocessing. The fair
baseline (core.model.baseline.tfidf_pipeline) runs scikit-learn's TfidfVectorizer on the same preprocessed text with
its default token pattern, which splits a token with punctuation inside ("o'clock" -> "o", "clock"; "400,000" -> "400",
"000") and drops one-character pieces. This script fits the baseline both ways on each seed's training + validation
rows (the recommended settings' preprocessing, as bench/learning_quality.py does) and prints the test macro-F1 of
each, with how many development tokens the two tokenizers read differently. Refitted on space-split tokens the
baseline equals the blend's part (tests/unit/test_bag_of_words.py shows that on generated text).

    .venv/bin/python bench/baseline_tokens.py --dataset faa-bird-strikes-effect --seeds 42 43 44
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BASELINE_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token_pattern


def how_read(token: str) -> str:
    """How the baseline's token pattern reads a token the lab reads whole: "same", "dropped" (one character) or
    "split" (punctuation inside)."""
    pieces = BASELINE_TOKEN.findall(token)
    return "same" if pieces == [token] else "dropped" if len(token) == 1 else "split"


def compare(dataset_key: str, seed: int) -> dict:
    from learning_quality import LEVERS, load_corpus

    from core.model.baseline import tfidf_pipeline
    from core.model.evaluation import classification_metrics
    from core.text.preprocessing import preprocess
    from core.training.experiment import split_rows

    dataset = load_corpus(dataset_key)
    config, _ = LEVERS["recommended"](dataset, seed)
    processed, _ = preprocess(dataset.texts, config.preprocessing)
    split = split_rows(dataset, config)
    development = np.concatenate([split.train, split.validation])
    tokens = [token for row in development for token in processed[row].split()]
    scores = {}
    for name, pipeline in (
        ("baseline (its own token pattern)", tfidf_pipeline()),
        ("baseline on the lab's tokens", tfidf_pipeline().set_params(tfidfvectorizer__tokenizer=str.split,
                                                                      tfidfvectorizer__token_pattern=None)),
    ):
        pipeline.fit([processed[row] for row in development], dataset.y[development])
        probabilities = pipeline.predict_proba([processed[row] for row in split.test])
        scores[name] = classification_metrics(dataset.y[split.test], probabilities, dataset.class_names).macro_f1
    reads = [(token, how_read(token)) for token in tokens]
    kinds = Counter(kind for _, kind in reads)
    split_tokens = Counter(token for token, kind in reads if kind == "split")
    return {"seed": seed, **scores, "tokens": len(tokens), "dropped": kinds["dropped"], "split": kinds["split"],
            "examples": [token for token, _ in split_tokens.most_common(4)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="faa-bird-strikes-effect")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    args = parser.parse_args()
    print(f"| {args.dataset}, seed | fair baseline (its token pattern) | the same on the lab's tokens "
          "| development tokens | one character (dropped) | punctuation inside (split) | most frequent split |")
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        row = compare(args.dataset, seed)
        own, lab = row["baseline (its own token pattern)"], row["baseline on the lab's tokens"]
        tokens, dropped, split = row["tokens"], row["dropped"], row["split"]
        print(f"| {seed} | {own:.4f} | {lab:.4f} | {tokens:,} | {dropped:,} ({dropped / tokens:.1%}) "
              f"| {split:,} ({split / tokens:.1%}) | {', '.join(row['examples'])} |")


if __name__ == "__main__":
    main()

"""``python -m core inspect | train``: the commands that look at a dataset and train on it.

  inspect DATA.csv | --demo     triage report (``--label-issues``: suspected label errors and near-duplicates)
  train   DATA.csv | --demo     train, evaluate and save a run (with --json, the last stdout line is JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from core.cli.arguments import (
    add_data_arguments,
    add_runs_dir_argument,
    load_config,
    load_dataset,
    load_keras,
    runs_dir_from,
)
from core.errors import ConfigError

NEAR_DUPLICATES_SHOWN = 10  # pairs printed by plain ``inspect --label-issues`` (``--json`` has them all)


def add_commands(subparsers) -> None:
    """Add ``inspect`` and ``train`` to ``python -m core``'s subparsers."""
    from core.data.builtin import BUILTIN_DATASETS, DEFAULT_DATASET

    builtins = ", ".join(BUILTIN_DATASETS)
    inspect = subparsers.add_parser("inspect", help="triage report of a CSV",
                                    epilog=f"Built-in datasets: {builtins} (default {DEFAULT_DATASET}).")
    add_data_arguments(inspect)
    inspect.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF + logistic regression baseline")
    inspect.add_argument("--label-issues", action="store_true",
                         help="rank suspected label errors (cleanlab on out-of-fold TF-IDF + multinomial "
                              "logistic-regression probabilities of the training and validation rows; the test split "
                              "is never checked) and find near-duplicates that straddle the train/test split")
    inspect.add_argument("--top", type=int, default=20,
                         help="most suspects listed with --label-issues, in the text and the --json output alike "
                              "(default 20)")

    train = subparsers.add_parser("train", help="train, evaluate and save a run",
                                  epilog=f"Built-in datasets: {builtins}.")
    add_data_arguments(train)
    train.add_argument("--epochs", type=int, help="most epochs (training.epochs)")
    add_runs_dir_argument(train, "where runs are saved")
    train.add_argument("--recommended", action="store_true",
                       help="adapt the settings to the data first (k-fold/seed ensemble within ~5 CPU-minutes, class "
                            "weighting picked on validation); the reasons are printed")


# ------------------------------------------------------------------------------------------------- inspect


def _print_inspect(report) -> None:
    source = report.source
    print(f"{source.name}: {source.rows_kept} rows kept of {source.rows_read} "
          f"({source.rows_missing_text} without text, {source.rows_missing_label} without label, "
          f"{source.malformed_lines_skipped} malformed lines skipped); "
          f"encoding {source.encoding_note or source.encoding}, "
          f"delimiter {source.delimiter!r}")
    print(f"text column: {source.text_column!r}   label column: {source.label_column!r}")
    print(f"\nclasses ({len(report.classes)}), imbalance {report.imbalance_ratio:.1f}:1, "
          f"majority-class accuracy {report.majority_accuracy:.3f}")
    width = max(len(c.name) for c in report.classes)
    for row in report.classes:
        print(f"  {row.name:<{width}}  {row.count:>7}  {row.share:6.1%}")
    overall = report.lengths.overall
    print(f"\ntokens per text (after preprocessing): median {overall.get('p50', 0):.0f}, "
          f"p95 {overall.get('p95', 0):.0f}, "
          f"max {overall.get('max', 0)}; vocabulary {report.vocabulary_size} distinct tokens")
    suggestion = report.suggested_max_length
    print(f"suggested max length {suggestion.max_length} "
          f"(p{suggestion.percentile:.0f}; truncates {suggestion.truncated_share:.1%})")
    duplicates, conflicts = report.duplicates, report.conflicts
    print(f"exact duplicate rows {duplicates.exact_duplicate_rows}; "
          f"texts with conflicting labels {conflicts.texts} ({conflicts.rows} rows)")
    for small in report.small_classes:
        print(f"  small class {small.name!r} ({small.rows} rows): {small.action}")
    if report.baseline and report.baseline.available:
        print(f"\nbaseline ({report.baseline.description}, fitted on {report.baseline.fitted_on}): "
              f"macro-F1 {report.baseline.macro_f1:.3f}, accuracy {report.baseline.accuracy:.3f}")
    if report.word_vectors:
        print(f"word vectors: {report.word_vectors.sentence()}")
    for warning in report.warnings:
        print(f"warning: {warning}")


def cmd_inspect(args: argparse.Namespace) -> int:
    from core.data.trainability import assess
    from core.evidence.triage import triage

    config = load_config(args)
    if args.top < 0:
        raise ConfigError("--top must be 0 or more (the most suspects to list).")
    dataset = load_dataset(args, config)
    report = triage(dataset, config, include_baseline=not args.no_baseline)
    verdict = assess(dataset.y, dataset.class_names, config)
    issues = _label_issues(dataset, config, top=args.top) if args.label_issues else None
    if args.json:
        payload = {**report.to_dict(), "trainability": {"trainable": verdict.trainable, "reason": verdict.reason,
                                                        "warnings": list(verdict.warnings)}}
        if issues is not None:
            payload.update(label_issues={**issues.suspects.to_dict(), "test_rows_left_out": issues.test_rows},
                           near_duplicates=issues.straddling.to_dict())
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    _print_inspect(report)
    print("\ntrainable: yes" if verdict.trainable else f"\ntrainable: no — {verdict.reason}")
    for warning in verdict.warnings:
        print(f"warning: {warning}")
    if issues is not None:
        _print_label_issues(issues, dataset.texts)
    return 0


@dataclass(frozen=True)
class _Issues:
    suspects: object  # core.evidence.label_issues.LabelIssueReport, its list cut to --top
    straddling: object  # core.evidence.near_duplicates.StraddlingReport
    test_rows: int  # the sealed test split's rows, left out of the candidate pool


def _label_issues(dataset, config, *, top: int) -> _Issues:
    """Suspected label errors among the non-test rows (the ``top`` most doubtful listed), and test rows with a
    near-duplicate in training or validation."""
    import numpy as np

    from core.data.splitting import stratified_split
    from core.evidence.label_issues import find_label_suspects
    from core.evidence.near_duplicates import straddling_pairs
    from core.text.preprocessing import preprocess

    processed, _ = preprocess(dataset.texts, config.preprocessing)
    split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
    non_test = np.sort(np.concatenate([split.train, split.validation]))  # the sealed test split is never looked at
    suspects = find_label_suspects(processed, dataset.y, dataset.class_names, non_test, seed=config.seed,
                                   display_texts=dataset.texts, limit=top)
    straddling = straddling_pairs(processed, non_test, split.test, seed=config.seed)
    return _Issues(suspects, straddling, len(split.test))


def _clipped(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_label_issues(issues: _Issues, texts) -> None:
    suspects = issues.suspects
    print(f"\nsuspected label errors: {suspects.suspects_found} flagged; rows checked: {suspects.rows_checked} "
          f"(the training and validation rows; the {issues.test_rows} sealed test rows are never checked)")
    print(f"  {suspects.method}")
    for name, count in sorted(suspects.suspects_per_class.items(), key=lambda item: -item[1]):
        print(f"  given {name!r}: {count}")
    for note in suspects.notes:
        print(f"  note: {note}")
    if suspects.suspects:
        shown = "all" if suspects.listed == suspects.suspects_found else f"the {suspects.listed} most doubtful (--top)"
        print(f"  {shown}; p = out-of-fold probability of that label, sorted by p(given), lowest first:")
        for suspect in suspects.suspects:
            print(f"  row {suspect.row}: given {suspect.given_label!r} p(given) {suspect.given_label_probability:.2f}, "
                  f"suggested {suspect.suggested_label!r} p(suggested) {suspect.suggested_label_probability:.2f}: "
                  f"{_clipped(suspect.text, 80)}")
    _print_near_duplicates(issues.straddling, texts)


def _print_near_duplicates(straddling, texts) -> None:
    matches = straddling.matches
    print(f"\ntest rows with a near-duplicate in training or validation: {len(matches)} "
          f"({straddling.leaked_fraction:.1%} of the {straddling.test_rows} test rows), {straddling.identical} of them "
          f"identical after folding case, punctuation and spacing; similarity at least {straddling.threshold:g}")
    if straddling.complete:
        print("  search complete: every candidate pair was compared, so these counts are exact for this threshold")
    else:
        print("  search incomplete: crowded hash buckets were sampled, so these counts are lower bounds")
        for note in straddling.notes:
            print(f"  note: {note}")
    for match in matches[:NEAR_DUPLICATES_SHOWN]:
        print(f"  test row {match.test_row} ~ training row {match.train_row} (similarity {match.similarity:.2f}): "
              f"{_clipped(texts[match.test_row], 45)} | {_clipped(texts[match.train_row], 45)}")
    if len(matches) > NEAR_DUPLICATES_SHOWN:
        print(f"  … {len(matches) - NEAR_DUPLICATES_SHOWN} more (--json lists every one)")


# --------------------------------------------------------------------------------------------------- train


class _ProgressPrinter:
    """One line per epoch on stderr; on a terminal, a bar that fills as batches finish."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()

    def __call__(self, event) -> None:
        if event.phase == "warmup":
            self._live_line(event.message)
            return
        fold = f"fold {event.fold}/{event.folds} " if event.folds else ""
        if event.kind == "batch" and self.live:
            self._live_line(f"{fold}epoch {event.epoch}/{event.epochs} {self._bar(event.batch / event.batches)} "
                            f"loss {event.logs.get('loss', float('nan')):.4f}")
        elif event.kind == "epoch":
            logs = event.logs
            parts = [f"loss {logs.get('loss', float('nan')):.4f}", f"acc {logs.get('accuracy', float('nan')):.3f}"]
            if "val_loss" in logs:
                parts += [f"val_loss {logs['val_loss']:.4f}", f"val_acc {logs.get('val_accuracy', float('nan')):.3f}"]
            if "val_macro_f1" in logs:
                parts.append(f"val_macro_f1 {logs['val_macro_f1']:.3f}")
            best = f" best {event.best_epoch}" if event.best_epoch else ""
            self._final_line(f"{fold}epoch {event.epoch}/{event.epochs} {self._bar(1.0)} {'  '.join(parts)}  "
                             f"({event.elapsed_s:.1f}s){best}")
        elif event.kind == "end" and event.message:
            self._final_line(f"{fold}{event.message}")

    @staticmethod
    def _bar(fraction: float, width: int = 20) -> str:
        filled = int(round(max(0.0, min(1.0, fraction)) * width))
        return "[" + "#" * filled + "." * (width - filled) + "]"

    def _live_line(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()

    def _final_line(self, text: str) -> None:
        self.stream.write(("\r\033[K" if self.live else "") + text + "\n")
        self.stream.flush()


def train_json(result) -> dict:
    """The machine-readable result of ``train --json``."""
    metrics = result.metrics.to_dict()
    keys = ("test", "validation", "baseline", "majority", "training", "resampling", "split", "vectorizing",
            "preprocessing")
    return {
        "run_dir": str(result.run_dir) if result.run_dir else None,
        "status": result.status,
        "duration_s": round(result.duration_s, 2),
        **{key: metrics[key] for key in keys},
        **({"folds": metrics["folds"]} if metrics.get("folds") else {}),
        **({"ensemble": metrics["ensemble"]} if metrics.get("ensemble") else {}),
        **({"word_vectors": metrics["word_vectors"]} if metrics.get("word_vectors") else {}),
    }


def cmd_train(args: argparse.Namespace) -> int:
    from core.data.trainability import assess
    from core.runs.store import clean_abandoned, ensure_writable
    from core.training.experiment import run_experiment

    config = load_config(args)
    runs_dir = ensure_writable(runs_dir_from(args.runs_dir))  # before the data is even read
    clean_abandoned(runs_dir)
    dataset = load_dataset(args, config)
    recommendation = None
    if args.recommended:
        from core.config import apply_overrides
        from core.training.recommend import recommendation_tags, recommended_config

        config, recommendation = recommended_config(dataset, config)
        config = apply_overrides(config, args.overrides)  # what the user set by hand still wins
        for reason in recommendation.reasons:
            print(f"recommended: {reason}", file=sys.stderr)
    assess(dataset.y, dataset.class_names, config).raise_if_not()  # before TensorFlow loads and anything trains
    load_keras()
    print(f"training on {dataset.source_name}: {len(dataset.texts)} rows, {len(dataset.class_names)} classes "
          f"(text {dataset.text_column!r}, label {dataset.label_column!r})", file=sys.stderr)
    tags = recommendation_tags(recommendation) if recommendation is not None else None  # compared with it on Runs
    result = run_experiment(dataset, config, listener=_ProgressPrinter(), runs_dir=runs_dir, tags=tags)
    test, baseline = result.metrics.test, result.metrics.baseline
    if args.json:
        payload = train_json(result)
        if recommendation is not None:
            payload["recommendation"] = recommendation.to_dict()
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(f"test accuracy {test.accuracy:.3f}  balanced accuracy {test.balanced_accuracy:.3f}  "
          f"macro-F1 {test.macro_f1:.3f}  weighted-F1 {test.weighted_f1:.3f}")
    if baseline.available:
        print(f"baseline (TF-IDF + LR, fitted on {baseline.fitted_on}) "
              f"macro-F1 {baseline.macro_f1:.3f}  accuracy {baseline.accuracy:.3f}")
    ensemble = result.metrics.ensemble
    if ensemble:
        print(f"ensemble: {ensemble.method}, {ensemble.parameters:,} parameters, "
              f"{ensemble.train_seconds:.0f} s of training; "
              f"members alone scored macro-F1 {', '.join(f'{f:.3f}' for f in ensemble.member_test_macro_f1)}")
    if result.metrics.word_vectors:
        print(f"word vectors: {result.metrics.word_vectors.sentence()}")
    width = max(len(row.name) for row in test.per_class)
    print(f"  {'class':<{width}}  precision  recall     f1  support")
    for row in test.per_class:
        print(f"  {row.name:<{width}}  {row.precision:9.3f}  {row.recall:6.3f}  {row.f1:5.3f}  {row.support:7d}")
    print(f"run saved to {result.run_dir}")
    return 0


COMMANDS = {"inspect": cmd_inspect, "train": cmd_train}

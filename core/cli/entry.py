"""``python -m core``: the experiment engine, headless.

  inspect DATA.csv | --demo     triage report
  train   DATA.csv | --demo     train, evaluate and save a run (with --json, the last stdout line is JSON)
  predict RUN_DIR TEXT...       label, probabilities and per-token explanations (--explain METHOD)
  explain RUN_DIR               how faithful each explanation method is for the run (--json)
  runs                          list saved runs
  study   DATA.csv | --demo     lever study: each lever against the reference, same seeds, Δ validation macro-F1
  sweep   DATA.csv | --demo     search the settings (Optuna TPE) within a trial or time budget
  worker  --study NAME          add this machine's trials to a study shared through --storage
  config  --defaults            the default experiment config (the schema --config reads)

Mistakes a user can make end with exit status 2 and one stderr line starting with ``error:``.
Progress goes to stderr so that stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line, like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message}; run `{self.prog} --help` for usage.")


class _UsageError(Exception):
    pass


def _quiet_backends() -> None:
    """Keep TensorFlow's start-up chatter off stderr (set before it is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", help="CSV file (comma, semicolon, tab or pipe delimited)")
    parser.add_argument("--demo", action="store_true", help="use the built-in dataset instead of a file")
    parser.add_argument("--dataset", default=None, help="which built-in dataset --demo uses (see `inspect --help`)")
    parser.add_argument("--text-col", dest="text_column", help="column holding the text (default: guessed)")
    parser.add_argument("--label-col", dest="label_column", help="column holding the class (default: guessed)")
    parser.add_argument("--config", dest="config_file", help="experiment config JSON (see `config --defaults`)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override one config setting, e.g. --set model.lstm_units=32 (repeatable)")
    parser.add_argument("--seed", type=int, help="random seed (split, resampling, weights)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--sample", dest="sample_rows", type=int, default=None, metavar="ROWS",
                        help="read a seeded random sample of at most ROWS rows of the CSV (for files too big for memory)")


def build_parser() -> argparse.ArgumentParser:
    from core.data.builtin import BUILTIN_DATASETS, DEFAULT_DATASET

    builtins = ", ".join(BUILTIN_DATASETS)
    parser = _Parser(prog="python -m core", description="LSTM Text Lab: multi-class text classification experiments.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = commands.add_parser("inspect", help="triage report of a CSV", epilog=f"Built-in datasets: {builtins} (default {DEFAULT_DATASET}).")
    _add_data_arguments(inspect)
    inspect.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF + logistic regression baseline")
    inspect.add_argument("--label-issues", action="store_true",
                         help="rank suspected label errors (cleanlab on out-of-fold baseline probabilities, non-test rows only) "
                              "and find near-duplicates that straddle the train/test split")
    inspect.add_argument("--top", type=int, default=20, help="suspects printed with --label-issues (default 20)")

    train = commands.add_parser("train", help="train, evaluate and save a run", epilog=f"Built-in datasets: {builtins}.")
    _add_data_arguments(train)
    train.add_argument("--epochs", type=int, help="most epochs (training.epochs)")
    train.add_argument("--runs-dir", default=None, help="where runs are saved (default: runs/ or $LSTM_TEXT_LAB_RUNS)")
    train.add_argument("--recommended", action="store_true",
                       help="adapt the settings to the data first (k-fold/seed ensemble within ~5 CPU-minutes, class "
                            "weighting picked on validation); the reasons are printed")

    predict = commands.add_parser("predict", help="predict with a saved run, explaining each token")
    predict.add_argument("run_dir", help="a run folder, e.g. runs/20261127-101500-ab12cd")
    predict.add_argument("texts", nargs="+", metavar="TEXT", help="one or more texts to classify")
    predict.add_argument("--explain", default=None, metavar="METHOD",
                         help="attention, occlusion, gradient_x_input, integrated_gradients, all, or none "
                              "(default: the run's most faithful method when measured, else occlusion)")
    predict.add_argument("--json", action="store_true", help="print JSON")

    explain = commands.add_parser("explain", help="how faithful each explanation method is for a run")
    explain.add_argument("run_dir", help="a run folder, e.g. runs/20261127-101500-ab12cd")
    explain.add_argument("--sample", type=int, default=200, help="test texts to measure on (default 200)")
    explain.add_argument("--json", action="store_true", help="print the faithfulness table as JSON (last line)")

    runs = commands.add_parser("runs", help="list saved runs")
    runs.add_argument("--runs-dir", default=None, help="runs folder (default: runs/ or $LSTM_TEXT_LAB_RUNS)")
    runs.add_argument("--json", action="store_true", help="print JSON")

    config = commands.add_parser("config", help="print the default experiment config, or every setting's schema",
                                 epilog=_choices_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    shown = config.add_mutually_exclusive_group(required=True)
    shown.add_argument("--defaults", action="store_true", help="print the defaults as JSON")
    shown.add_argument("--schema", action="store_true", help="print every setting with its help, default, choices and limits as JSON")

    from core.cli import study_commands as study_cli

    study_cli.add_commands(commands, _add_data_arguments)
    return parser


def _choices_epilog() -> str:
    """The settings that take a choice, each choice with its title (read from the registries at call time)."""
    from core.config import config_schema

    lines = ["settings with choices (--set SECTION.FIELD=CHOICE):"]
    for entry in config_schema():
        if entry.get("choices"):
            titles = entry.get("titles", {})
            choices = ", ".join(f"{key} ({titles[key]})" if key in titles else key for key in entry["choices"])
            lines.append(f"  {entry['setting']}: {choices}")
        elif entry.get("builtin"):
            titles = entry.get("titles", {})
            named = ", ".join(f"{key} ({titles.get(key, key)})" for key in entry["builtin"])
            lines.append(f"  {entry['setting']}: {named}, or a path to a file")
    return "\n".join(lines)


def runs_dir_from(argument: Optional[str]) -> Path:
    from core.runs.store import runs_dir

    return runs_dir(argument)


def _keras() -> None:
    """Import Keras before anything else does, with TensorFlow's start-up lines kept off stderr."""
    from core.backend import import_keras

    import_keras()


def _load_config(args: argparse.Namespace):
    from core.config import ExperimentConfig, apply_overrides
    from core.errors import ConfigError

    config = ExperimentConfig()
    if args.config_file:
        try:
            text = Path(args.config_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"There is no config file at {args.config_file!r}; write one with `python -m core config --defaults > config.json`.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The config file {args.config_file!r} cannot be read ({exc.__class__.__name__}); save it as UTF-8 JSON.") from None
        config = ExperimentConfig.from_json(text)
    overrides = list(args.overrides)
    if args.text_column:
        overrides.append(f"data.text_column={json.dumps(args.text_column)}")
    if args.label_column:
        overrides.append(f"data.label_column={json.dumps(args.label_column)}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if getattr(args, "epochs", None) is not None:
        overrides.append(f"training.epochs={args.epochs}")
    return apply_overrides(config, overrides) if overrides else config


def _load_dataset(args: argparse.Namespace, config):
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_path
    from core.data.builtin import DEFAULT_DATASET, load_builtin
    from core.errors import DataError

    if args.demo and args.data:
        raise DataError("Give either a CSV file or --demo, not both.")
    if not args.demo and not args.data:
        raise DataError("No data given: pass a CSV file, or --demo for the built-in dataset.")
    if args.dataset and not args.demo:
        raise DataError("--dataset picks a built-in dataset and needs --demo.")
    sample_rows = getattr(args, "sample_rows", None)
    if sample_rows is not None and sample_rows < 1:
        raise DataError("--sample must be at least 1 row.")
    if args.demo:
        table = load_builtin(args.dataset or DEFAULT_DATASET)
        if sample_rows is not None:
            from core.data.reading import sample_table

            table = sample_table(table, sample_rows, seed=config.seed)
    else:
        table = read_csv_path(args.data, max_rows=sample_rows, seed=config.seed)
    return build_dataset(table, config.data.text_column, config.data.label_column)


# ------------------------------------------------------------------------------------------------- inspect


def _print_inspect(report) -> None:
    source = report.source
    print(f"{source.name}: {source.rows_kept} rows kept of {source.rows_read} "
          f"({source.rows_missing_text} without text, {source.rows_missing_label} without label, "
          f"{source.malformed_lines_skipped} malformed lines skipped); encoding {source.encoding_note or source.encoding}, "
          f"delimiter {source.delimiter!r}")
    print(f"text column: {source.text_column!r}   label column: {source.label_column!r}")
    print(f"\nclasses ({len(report.classes)}), imbalance {report.imbalance_ratio:.1f}:1, "
          f"majority-class accuracy {report.majority_accuracy:.3f}")
    width = max(len(c.name) for c in report.classes)
    for row in report.classes:
        print(f"  {row.name:<{width}}  {row.count:>7}  {row.share:6.1%}")
    overall = report.lengths.overall
    print(f"\ntokens per text (after preprocessing): median {overall.get('p50', 0):.0f}, p95 {overall.get('p95', 0):.0f}, "
          f"max {overall.get('max', 0)}; vocabulary {report.vocabulary_size} distinct tokens")
    suggestion = report.suggested_max_length
    print(f"suggested max length {suggestion.max_length} (p{suggestion.percentile:.0f}; truncates {suggestion.truncated_share:.1%})")
    duplicates, conflicts = report.duplicates, report.conflicts
    print(f"exact duplicate rows {duplicates.exact_duplicate_rows}; texts with conflicting labels {conflicts.texts} ({conflicts.rows} rows)")
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

    config = _load_config(args)
    dataset = _load_dataset(args, config)
    report = triage(dataset, config, include_baseline=not args.no_baseline)
    verdict = assess(dataset.y, dataset.class_names, config)
    issues = _label_issues(dataset, config) if args.label_issues else None
    if args.json:
        payload = {**report.to_dict(), "trainability": {"trainable": verdict.trainable, "reason": verdict.reason,
                                                        "warnings": list(verdict.warnings)}}
        if issues is not None:
            payload.update(label_issues=issues[0].to_dict(), near_duplicates=issues[1].to_dict())
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    _print_inspect(report)
    print("\ntrainable: yes" if verdict.trainable else f"\ntrainable: no — {verdict.reason}")
    for warning in verdict.warnings:
        print(f"warning: {warning}")
    if issues is not None:
        _print_label_issues(*issues, top=args.top)
    return 0


def _label_issues(dataset, config):
    """Suspected label errors among the non-test rows, and test rows with a near-duplicate in training."""
    import numpy as np

    from core.evidence.label_issues import find_label_suspects
    from core.evidence.near_duplicates import straddling_pairs
    from core.text.preprocessing import preprocess
    from core.data.splitting import stratified_split

    processed, _ = preprocess(dataset.texts, config.preprocessing)
    split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
    non_test = np.sort(np.concatenate([split.train, split.validation]))  # the sealed test split is never looked at
    suspects = find_label_suspects(processed, dataset.y, dataset.class_names, non_test, seed=config.seed,
                                   display_texts=dataset.texts)
    straddling = straddling_pairs(processed, non_test, split.test, seed=config.seed)
    return suspects, straddling


def _print_label_issues(suspects, straddling, *, top: int) -> None:
    print(f"\nsuspected label errors: {suspects.suspects_found} of {suspects.rows_checked} non-test rows checked ({suspects.method})")
    for name, count in sorted(suspects.suspects_per_class.items(), key=lambda item: -item[1]):
        print(f"  {name}: {count}")
    for suspect in suspects.suspects[:top]:
        text = " ".join(suspect.text.split())
        print(f"  row {suspect.row}: given {suspect.given_label!r}, suggested {suspect.suggested_label!r} "
              f"({suspect.suggestion_confidence:.2f}): {text[:90]}{'…' if len(text) > 90 else ''}")
    for note in suspects.notes:
        print(f"  note: {note}")
    print(f"\ntest rows with a near-duplicate in training: {len(straddling.leaked_test_rows)} "
          f"({straddling.leaked_fraction:.1%} of the test split)")


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
    keys = ("test", "validation", "baseline", "majority", "training", "resampling", "split", "vectorizing", "preprocessing")
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
    from core.training.experiment import run_experiment
    from core.runs.store import clean_abandoned, ensure_writable
    from core.data.trainability import assess

    config = _load_config(args)
    runs_dir = ensure_writable(runs_dir_from(args.runs_dir))  # before the data is even read
    clean_abandoned(runs_dir)
    dataset = _load_dataset(args, config)
    recommendation = None
    if args.recommended:
        from core.config import apply_overrides
        from core.training.recommend import recommended_config

        config, recommendation = recommended_config(dataset, config)
        config = apply_overrides(config, args.overrides)  # what the user set by hand still wins
        for reason in recommendation.reasons:
            print(f"recommended: {reason}", file=sys.stderr)
    assess(dataset.y, dataset.class_names, config).raise_if_not()  # before TensorFlow loads and anything trains
    _keras()
    print(f"training on {dataset.source_name}: {len(dataset.texts)} rows, {len(dataset.class_names)} classes "
          f"(text {dataset.text_column!r}, label {dataset.label_column!r})", file=sys.stderr)
    result = run_experiment(dataset, config, listener=_ProgressPrinter(), runs_dir=runs_dir)
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
        print(f"baseline (TF-IDF + LR, fitted on {baseline.fitted_on}) macro-F1 {baseline.macro_f1:.3f}  accuracy {baseline.accuracy:.3f}")
    ensemble = result.metrics.ensemble
    if ensemble:
        print(f"ensemble: {ensemble.method}, {ensemble.parameters:,} parameters, {ensemble.train_seconds:.0f} s of training; "
              f"members alone scored macro-F1 {', '.join(f'{f:.3f}' for f in ensemble.member_test_macro_f1)}")
    if result.metrics.word_vectors:
        print(f"word vectors: {result.metrics.word_vectors.sentence()}")
    width = max(len(row.name) for row in test.per_class)
    print(f"  {'class':<{width}}  precision  recall     f1  support")
    for row in test.per_class:
        print(f"  {row.name:<{width}}  {row.precision:9.3f}  {row.recall:6.3f}  {row.f1:5.3f}  {row.support:7d}")
    print(f"run saved to {result.run_dir}")
    return 0


# ------------------------------------------------------------------------------------------- predict / runs


def _explain_methods(choice: Optional[str], run_dir: Path) -> Optional[list[str]]:
    """The methods ``predict --explain`` asked for: None for all, [] for none; by default the run's most faithful
    (when its faithfulness was measured) or occlusion, which every model supports."""
    from core.evidence.explain import EXPLANATION_METHODS
    from core.evidence.inference import FAITHFULNESS_FILE

    if choice == "all":
        return None
    if choice == "none":
        return []
    if choice:
        EXPLANATION_METHODS.get(choice)  # a ConfigError listing the valid methods
        return [choice]
    try:
        measured = json.loads((run_dir / FAITHFULNESS_FILE).read_text(encoding="utf-8")).get("most_faithful")
    except (OSError, ValueError, AttributeError):
        measured = None
    return [measured or "occlusion"]


def cmd_predict(args: argparse.Namespace) -> int:
    from core.evidence.inference import Predictor
    from core.runs.store import load_run

    methods = _explain_methods(args.explain, Path(args.run_dir))
    _keras()
    predictor = Predictor.from_run(load_run(args.run_dir))
    results = predictor.predict(args.texts, methods=methods)
    if args.json:
        print(json.dumps([result.to_dict() for result in results], ensure_ascii=False))
        return 0
    for result in results:
        ranked = sorted(result.probabilities.items(), key=lambda item: -item[1])
        print(f"{result.label}  ({', '.join(f'{name} {p:.3f}' for name, p in ranked)})")
        for explanation in result.explanations:
            print(f"  {explanation.method}: " + " ".join(f"{token}:{score:+.3f}" if explanation.kind == "signed" else f"{token}:{score:.3f}"
                                                          for token, score in zip(result.tokens, explanation.scores)))
        for method, reason in result.unavailable.items():
            print(f"  {method}: not available ({reason})")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from core.errors import ConfigError
    from core.evidence.inference import run_faithfulness
    from core.runs.store import load_run

    if args.sample < 1:
        raise ConfigError("--sample must be at least 1.")
    run = load_run(args.run_dir)
    _keras()
    report = run_faithfulness(run, sample=args.sample)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    print(f"faithfulness on {report.n_texts} test texts (ERASER, averaged over k = "
          f"{', '.join(f'{k:g}' for k in report.k_percents)}% of tokens):")
    print(f"  {'method':<22} {'comprehensiveness':>17} {'sufficiency':>11} {'AOPC':>6}  position bias")
    for row in (*report.rows, report.random):
        bias = report.bias(row.method)
        shown_bias = f"rho {bias.spearman:+.2f}" if bias is not None and bias.spearman is not None else ""
        print(f"  {row.title:<22} {row.comprehensiveness:>17.3f} {row.sufficiency:>11.3f} {row.aopc:>6.3f}  {shown_bias}")
    print(report.verdict)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from core.runs.store import clean_abandoned, list_runs

    clean_abandoned(runs_dir_from(args.runs_dir))
    runs = list_runs(runs_dir_from(args.runs_dir))
    if args.json:
        print(json.dumps([{"path": str(run.path), **run.info.to_dict()} for run in runs], ensure_ascii=False))
        return 0
    if not runs:
        print(f"no runs in {runs_dir_from(args.runs_dir)}")
    for run in runs:
        info = run.info
        print(f"{run.path}  {info.status:9}  macro-F1 {info.test_macro_f1:.3f}  "
              f"acc {info.test_accuracy:.3f}  {info.data}  {info.duration_s:.0f}s")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from core.config import ExperimentConfig, config_schema

    if args.schema:
        print(json.dumps(config_schema(), ensure_ascii=False, indent=1))
    else:
        print(ExperimentConfig().to_json())
    return 0


def _commands() -> dict:
    from core.cli import study_commands as study_cli

    return {"inspect": cmd_inspect, "train": cmd_train, "predict": cmd_predict, "explain": cmd_explain, "runs": cmd_runs,
            "config": cmd_config, **study_cli.COMMANDS}


def main(argv: Optional[Sequence[str]] = None) -> int:
    _quiet_backends()
    from core.errors import UserError

    try:
        args = build_parser().parse_args(argv)
        return _commands()[args.command](args)
    except (UserError, _UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted; nothing was saved for the unfinished run.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): not an error worth a line
        sys.stdout = open(os.devnull, "w")
        return 0
    except MemoryError:
        print("error: out of memory; use a smaller file, a shorter vectorizing.max_length or a smaller model.", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug, not the user's doing: one line unless debugging is asked for
        if os.environ.get("LSTM_TEXT_LAB_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); rerun with LSTM_TEXT_LAB_DEBUG=1 for details and report it.", file=sys.stderr)
        return EXIT_INTERNAL_ERROR

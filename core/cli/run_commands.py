"""``python -m core predict | explain | runs``: the commands over saved runs.

  predict RUN TEXT...           label, probabilities and per-token explanations (--explain METHOD)
  explain RUN                   how faithful each explanation method is for the run (--json)
  runs                          list saved runs

RUN is a run id, looked up in the runs folder (--runs-dir, else $LSTM_TEXT_LAB_RUNS, else runs/), or a run folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

from core.cli.arguments import add_run_argument, add_runs_dir_argument, load_keras, run_folder, runs_dir_from


def add_commands(subparsers) -> None:
    """Add ``predict``, ``explain`` and ``runs`` to ``python -m core``'s subparsers."""
    predict = subparsers.add_parser("predict", help="predict with a saved run, explaining each token")
    add_run_argument(predict)
    predict.add_argument("texts", nargs="+", metavar="TEXT", help="one or more texts to classify")
    predict.add_argument("--explain", default=None, metavar="METHOD",
                         help="attention, occlusion, gradient_x_input, integrated_gradients, all, or none "
                              "(default: the run's most faithful method when measured, else occlusion)")
    predict.add_argument("--json", action="store_true", help="print JSON")

    explain = subparsers.add_parser("explain", help="how faithful each explanation method is for a run")
    add_run_argument(explain)
    explain.add_argument("--sample", type=int, default=200, help="test texts to measure on (default 200)")
    explain.add_argument("--json", action="store_true", help="print the faithfulness table as JSON (last line)")

    runs = subparsers.add_parser("runs", help="list saved runs")
    add_runs_dir_argument(runs, "runs folder")
    runs.add_argument("--json", action="store_true", help="print JSON")


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

    folder = run_folder(args.run, args.runs_dir)
    methods = _explain_methods(args.explain, folder)
    run = load_run(folder)  # a missing or damaged run is one sentence before TensorFlow loads
    load_keras()
    predictor = Predictor.from_run(run)
    results = predictor.predict(args.texts, methods=methods)
    if args.json:
        print(json.dumps([result.to_dict() for result in results], ensure_ascii=False))
        return 0
    for result in results:
        ranked = sorted(result.probabilities.items(), key=lambda item: -item[1])
        print(f"{result.label}  ({', '.join(f'{name} {p:.3f}' for name, p in ranked)})")
        for explanation in result.explanations:
            print(f"  {explanation.method}: " + " ".join(
                f"{token}:{score:+.3f}" if explanation.kind == "signed" else f"{token}:{score:.3f}"
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
    run = load_run(run_folder(args.run, args.runs_dir))
    load_keras()
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
        print(f"  {row.title:<22} {row.comprehensiveness:>17.3f} {row.sufficiency:>11.3f} {row.aopc:>6.3f}  "
              f"{shown_bias}")
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


COMMANDS = {"predict": cmd_predict, "explain": cmd_explain, "runs": cmd_runs}

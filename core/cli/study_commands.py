"""``python -m core study | sweep | worker``: lever studies and sweeps, headless (see :mod:`core.evidence.study`).

  study  DATA.csv | --demo   which single change of the settings helps (paired seeds), then the helpers combined
  sweep  DATA.csv | --demo   search the settings (TPE, pruning) for the best validation macro-F1
  worker --study NAME        add this machine's trials to a study (both kinds), e.g. one shared with --storage URL

Like every command group, :func:`add_commands` adds the parsers and ``COMMANDS`` names their functions for
:mod:`core.cli.entry`. Like every command: mistakes are a :class:`core.errors.UserError` (one
``error:`` line, exit 2), progress goes to stderr, and with ``--json`` the result is the LAST stdout line.
Running the same ``study``/``sweep`` command again with ``--name NAME`` resumes the study.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Optional

from core import lazy
from core.cli.arguments import EXIT_INTERRUPTED, add_data_arguments, add_runs_dir_argument, load_config, load_dataset

_SPACE_HELP = (
    'JSON search space: {"section.field": {"low": L, "high": H[, "log": true]} | {"choices": [...]} | {}} '
    "({} = the field's whole range or choices); default: a curated space"
)


def add_commands(subparsers) -> None:
    """Add ``study``, ``sweep`` and ``worker`` to ``python -m core``'s subparsers."""
    study = subparsers.add_parser(
        "study", help="lever study: which single change of the settings helps, over paired seeds",
        description="Runs the current settings (the reference) and each lever with the same seeds, judges each lever "
                    "by its paired difference in validation macro-F1, then combines the levers that helped and scores "
                    "only that config and the reference on the sealed test split.",
    )
    add_data_arguments(study)
    study.add_argument("--levers", help="comma-separated lever keys, e.g. model.bidirectional=false,model.dropout=0.4 "
                                        "(default: every lever; see --list-levers)")
    study.add_argument("--list-levers", action="store_true", help="list the levers of these settings and exit")
    study.add_argument("--seeds", type=int, default=None, help="seeds per lever, each its own split (default 3)")
    study.add_argument("--exhaustive", action="store_true",
                       help="run every lever on every seed (default: race them: every lever starts on one seed and "
                            "only levers whose verdict is still open get more, by successive halving)")
    _add_study_arguments(study)

    sweep = subparsers.add_parser("sweep", help="search the settings for the best validation macro-F1 (TPE, pruning)")
    add_data_arguments(sweep)
    sweep.add_argument("--trials", type=int, required=True, help="number of trials in the sweep")
    sweep.add_argument("--space", help=_SPACE_HELP)
    sweep.add_argument("--pruner", choices=("median", "halving", "none"), default="median",
                       help="stop weak trials early on their per-epoch validation score (default median)")
    _add_study_arguments(sweep)

    worker = subparsers.add_parser("worker", help="add this machine's trials to an existing study or sweep")
    worker.add_argument("--study", required=True, help="the study's name")
    worker.add_argument("--storage", help="the study's database URL (default: the journal file in the runs folder)")
    worker.add_argument("--data", help="path of the study's CSV on this machine, when it differs (its hash is checked)")
    worker.add_argument("--budget-minutes", type=float, help="start no new trial after this many minutes")
    add_runs_dir_argument(worker, "where this worker saves its runs")
    worker.add_argument("--json", action="store_true", help="print the result as JSON (last stdout line)")


def _add_study_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None,
                        help="trials at once on this machine, each in its own process with cores/workers TensorFlow "
                             "threads (default: 2 on a machine with 2 or more cores, else 1)")
    parser.add_argument("--budget-minutes", type=float,
                        help="start no new trial after this many minutes (resume later)")
    parser.add_argument("--storage", help="SQLAlchemy URL to share the study across machines, e.g. "
                                          "postgresql+psycopg2://user:password@host/db "
                                          "(default: a journal file in the runs folder)")
    parser.add_argument("--name", help="study name; an existing study of that name is resumed")
    add_runs_dir_argument(parser, "where runs and studies are saved")


# ------------------------------------------------------------------------------------------------ commands


def cmd_study(args: argparse.Namespace) -> int:
    from core.evidence.levers import find_levers, levers_for
    from core.evidence.study import (
        DEFAULT_SEEDS,
        KIND_LEVERS,
        InProcessExecutor,
        Racing,
        StudyNotFound,
        combine_helpers,
        create_lever_study,
        lever_results,
        open_study,
        run_with_workers,
        seeding_words,
    )
    from core.runs.store import runs_dir

    config = load_config(args)
    if args.list_levers:
        for lever in levers_for(config):
            print(f"{lever.key:<45} {lever.category:<15} {lever.title}")
        return 0
    levers = find_levers(config, args.levers.split(",")) if args.levers else None
    dataset = load_dataset(args, config)
    _quiet_optuna()
    handle = None
    if args.name:
        try:
            handle = open_study(args.name, storage=args.storage, runs_dir=args.runs_dir)
        except StudyNotFound:
            handle = None
    if handle is None:
        handle = create_lever_study(config, _source(args, dataset), levers=levers,
                                    seeds=DEFAULT_SEEDS if args.seeds is None else args.seeds,
                                    name=args.name, storage=args.storage, runs_dir=args.runs_dir,
                                    racing=None if args.exhaustive else Racing())
    else:
        _check_resume(handle, KIND_LEVERS, config, [lever.key for lever in levers] if levers else None, args.seeds)
        if args.exhaustive and handle.plan.racing is not None:
            from core.errors import ConfigError

            raise ConfigError(f"Study {handle.name!r} races its levers; resume it without --exhaustive, "
                              "or choose another --name.")
    plan = handle.plan
    most = "" if plan.racing is None else "at most "
    _say(f"study {handle.name}: {len(plan.levers)} lever(s) + reference × {len(plan.seeds)} seed(s) = "
         f"{most}{plan.planned} runs (resume with --name {handle.name})")
    _say(seeding_words(plan))
    executor = InProcessExecutor(dataset, runs_dir(args.runs_dir))
    printer = _ProgressPrinter()
    started = time.monotonic()
    workers = _workers(args)
    try:
        session = run_with_workers(handle, executor, dataset, runs_dir(args.runs_dir), workers=workers,
                                   progress=printer, echo=_ProgressPrinter, budget_minutes=args.budget_minutes)
        table = lever_results(handle)
        combined = None
        left = None if args.budget_minutes is None else args.budget_minutes - (time.monotonic() - started) / 60
        if table.complete and session.reason == "finished" and (left is None or left > 0):
            combined = combine_helpers(handle, executor, progress=printer, budget_minutes=left)
    except KeyboardInterrupt:
        return _interrupted(handle.name)
    if not table.complete:
        _say(f"study {handle.name} paused with {table.done}/{table.planned} runs done ({session.reason}); "
             f"run the same command with --name {handle.name} to resume.")
    if args.json:
        print(json.dumps({"study": handle.name, "session": session.to_dict(), "levers": table.to_dict(),
                          "combined": combined.to_dict() if combined else None}, ensure_ascii=False))
    else:
        _print_lever_table(table)
        if combined is not None:
            _print_combined(combined)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from core.evidence.study import (
        KIND_SWEEP,
        InProcessExecutor,
        StudyNotFound,
        create_sweep,
        load_space,
        open_study,
        run_with_workers,
        sweep_results,
    )
    from core.runs.store import runs_dir

    config = load_config(args)
    space = load_space(args.space) if args.space else None
    dataset = load_dataset(args, config)
    _quiet_optuna()
    handle = None
    if args.name:
        try:
            handle = open_study(args.name, storage=args.storage, runs_dir=args.runs_dir, sampler_seed=config.seed)
        except StudyNotFound:
            handle = None
    if handle is None:
        handle = create_sweep(config, _source(args, dataset), trials=args.trials, space=space, pruner=args.pruner,
                              name=args.name, storage=args.storage, runs_dir=args.runs_dir, sampler_seed=config.seed)
    else:
        _check_resume(handle, KIND_SWEEP, config, None, None)
        if handle.plan.planned != args.trials:
            from core.errors import ConfigError

            raise ConfigError(f"Sweep {handle.name!r} was started with --trials {handle.plan.planned}; "
                              "resume it with the same number or choose another --name.")
    _say(f"sweep {handle.name}: {handle.plan.planned} trials, pruner {handle.plan.pruner} "
         f"(resume with --name {handle.name})")
    printer = _ProgressPrinter()
    try:
        session = run_with_workers(handle, InProcessExecutor(dataset, runs_dir(args.runs_dir)), dataset,
                                   runs_dir(args.runs_dir), workers=_workers(args), progress=printer,
                                   echo=_ProgressPrinter,
                                   budget_minutes=args.budget_minutes)
    except KeyboardInterrupt:
        return _interrupted(handle.name)
    result = sweep_results(handle)
    if session.reason != "finished":
        _say(f"sweep {handle.name} paused with {result.done}/{result.planned} trials done ({session.reason}); "
             f"run the same command with --name {handle.name} to resume.")
    if args.json:
        print(json.dumps({"study": handle.name, "session": session.to_dict(), "sweep": result.to_dict()},
                         ensure_ascii=False))
    else:
        _print_sweep(result, handle.plan.base_config)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from core.evidence.study import (
        KIND_LEVERS,
        InProcessExecutor,
        lever_results,
        load_source,
        open_study,
        run_study,
        sweep_results,
    )
    from core.runs.store import runs_dir

    _quiet_optuna()
    handle = open_study(args.study, storage=args.storage, runs_dir=args.runs_dir)
    dataset = load_source(handle.plan.data, csv_path=args.data)
    _say(f"worker joins {handle.kind} {handle.name} on {dataset.source_name} ({len(dataset.texts)} rows)")
    try:
        session = run_study(handle, InProcessExecutor(dataset, runs_dir(args.runs_dir)), progress=_ProgressPrinter(),
                            budget_minutes=args.budget_minutes)
    except KeyboardInterrupt:
        return _interrupted(handle.name)
    _say(f"worker ran {session.trials_run} trial(s); "
         f"study {handle.name} has {session.done}/{session.planned} done ({session.reason})")
    if args.json:
        result = lever_results(handle) if handle.kind == KIND_LEVERS else sweep_results(handle)
        print(json.dumps({"study": handle.name, "session": session.to_dict(), handle.kind: result.to_dict()},
                         ensure_ascii=False))
    return 0


COMMANDS = {"study": cmd_study, "sweep": cmd_sweep, "worker": cmd_worker}


# ------------------------------------------------------------------------------------------------ helpers


def _workers(args: argparse.Namespace) -> int:
    """Trials at once: --workers, or 2 where the machine has 2 or more cores (see core.evidence.study._parallel)."""
    from core.errors import ConfigError
    from core.evidence.study import default_workers

    if args.workers is None:
        return default_workers()
    if not 1 <= args.workers <= 64:
        raise ConfigError(f"--workers must be a whole number from 1 to 64; got {args.workers}.")
    return args.workers


def _quiet_optuna() -> None:
    """Optuna logs every study creation at INFO on stderr; our progress lines say what matters."""
    lazy.load("optuna")  # core.lazy's one lock, as everywhere optuna is first imported
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _source(args: argparse.Namespace, dataset):
    from core.data.builtin import DEFAULT_DATASET
    from core.evidence.study import data_source

    if args.demo:
        return data_source(dataset, builtin=args.dataset or DEFAULT_DATASET)
    return data_source(dataset, csv_path=args.data)


def _check_resume(handle, kind: str, config, lever_keys: Optional[list[str]], seeds: Optional[int]) -> None:
    from core.errors import ConfigError

    if handle.kind != kind:
        raise ConfigError(f"{handle.name!r} is a {handle.kind} study, not a {kind}; "
                          f"resume it with `{handle.kind}` or choose another --name.")
    if handle.plan.config != config.to_dict():
        raise ConfigError(f"Study {handle.name!r} was started with other settings; "
                          "resume it with the same --config/--set/--seed, or choose another --name.")
    if lever_keys is not None and sorted(lever_keys) != sorted(lever.key for lever in handle.plan.levers):
        raise ConfigError(f"Study {handle.name!r} was started with other levers; "
                          "resume it without --levers, or choose another --name.")
    if seeds is not None and seeds != len(handle.plan.seeds):
        raise ConfigError(f"Study {handle.name!r} was started with --seeds {len(handle.plan.seeds)}; "
                          "resume it with that, or choose another --name.")


def _interrupted(name: str) -> int:
    print(f"error: interrupted; study {name} keeps its finished trials and retries the interrupted one — "
          f"run the same command with --name {name} (or `worker --study {name}`) to resume.", file=sys.stderr)
    return EXIT_INTERRUPTED


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _ProgressPrinter:
    """One stderr line per trial start, epoch and end, and for waits and retries."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr

    def __call__(self, event) -> None:
        counter = f"[{event.done}/{event.planned}]" if event.planned else ""
        if event.kind == "trial_started":
            line = f"{counter} trial {event.trial}: {event.label}"
        elif event.kind == "epoch":
            line = f"    epoch {event.epoch}: validation {event.value:.3f}"
        elif event.kind == "trial_finished":
            value = f" {event.value:.4f}" if event.value is not None else ""
            detail = f" ({event.message})" if event.message else ""
            line = f"{counter} trial {event.trial} {event.state.lower() if event.state else ''}{value}{detail}"
        elif event.kind in ("waiting", "retry"):
            line = f"{counter} {'trial ' + str(event.trial) + ': ' if event.trial is not None else ''}{event.message}"
        else:
            return
        self.stream.write(line + "\n")
        self.stream.flush()


def _fmt(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _print_lever_table(table) -> None:
    spread = f" ± {table.reference_sd:.3f}" if table.reference_sd is not None else ""
    print(f"Lever study {table.study}: {table.objective}, paired over seeds {', '.join(map(str, table.seeds))}; "
          f"reference {_fmt(table.reference_mean)}{spread} (n={table.reference_n}); "
          f"{table.done}/{table.planned} runs done"
          + (f" (every lever on every seed would take {table.most})" if table.most > table.planned else ""))
    print(f"Rule: {table.rule}")
    print(f"Seeds: {table.seeding}")
    print(f"  {'verdict':<13} {'Δ mean':>7} {'± sd':>6} {'n':>2}  lever")
    for row in table.rows:
        sd = f"{row.sd_delta:.3f}" if row.sd_delta is not None else "—"
        print(f"  {row.verdict:<13} {_fmt(row.mean_delta, True):>7} {sd:>6} {row.n:>2}  "
              f"{row.title}  [{row.key}]; {row.stop_reason}")


def _print_combined(combined) -> None:
    plan = combined.plan
    print()
    if plan.applied:
        print(f"Combined: {' + '.join(plan.applied)}")
        if combined.validation is not None:
            row = combined.validation
            print(f"  validation Δ vs reference {_fmt(row.mean_delta, True)} (n={row.n}): {row.verdict}")
    for key, why in plan.skipped:
        print(f"  skipped {key}: {why}")

    def score(arm) -> str:
        if arm is None or arm.mean is None:
            return "—"
        return f"{arm.mean:.3f}" + (f" ± {arm.sd:.3f}" if arm.sd is not None else "") + f" (n={arm.n})"

    fitted = f" fitted on {combined.baseline_fitted_on}" if combined.baseline_fitted_on else ""
    parts = [f"reference {score(combined.test_reference)}", f"TF-IDF baseline{fitted} {score(combined.test_baseline)}"]
    if combined.test_combined is not None:
        parts.insert(0, f"combined {score(combined.test_combined)}")
    print(f"Test macro-F1 (sealed test split): {', '.join(parts)}")
    print(combined.note)


def _print_sweep(result, base_config) -> None:
    from core.config import config_differences

    states = [row.state for row in result.trials]
    print(f"Sweep {result.study}: {result.done}/{result.planned} trials ({states.count('COMPLETE')} complete, "
          f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed); objective validation macro-F1")
    for row in result.trials:
        params = ", ".join(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
                           for name, value in row.params.items())
        print(f"  {row.number:>4} {row.state:<8} {_fmt(row.value):>6}  "
              f"{params}{'  (' + row.error + ')' if row.error else ''}")
    if result.best is not None:
        best = result.best_experiment_config
        changes = [f"{key}={json.dumps(new)}"
                   for key, _, new in config_differences(base_config.to_dict(), best.to_dict())]
        print(f"best: trial {result.best.number}, validation macro-F1 {result.best.value:.4f}; "
              f"settings changed: {', '.join(changes) if changes else 'none (the current settings)'}")
    if result.importances:
        print("importance: " + ", ".join(f"{name} {share:.2f}" for name, share in result.importances.items()))
    else:
        print(f"importance: {result.importance_note}")


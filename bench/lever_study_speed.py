"""Lever study speed: racing levers (successive halving over seeds, core.evidence.study._racing) against today's
exhaustive study, on the same data, levers and seeds, side by side; and what TensorFlow's thread pools do to two
trials at once.

    .venv/bin/python bench/lever_study_speed.py                       # both modes, every lever, 3 seeds (long)
    .venv/bin/python bench/lever_study_speed.py --mode racing --exhaustive-result earlier.json
    .venv/bin/python bench/lever_study_speed.py --levers model.dropout=0.4,training.optimizer=sgd --seeds 2
    .venv/bin/python bench/lever_study_speed.py --replay earlier.json # the racing rule on an exhaustive study's runs
    .venv/bin/python bench/lever_study_speed.py --threads --runs 4    # TF threads: 1 or 2 trainings at once

Study mode: the default config on the built-in dataset (faa-bird-strikes-effect), every lever ``study --list-levers``
gives for it (or ``--levers``), ``--seeds`` seeds. Exhaustive runs as ``study --exhaustive`` does (one worker, every
lever on every seed); racing as ``study`` does (``--workers`` trials at once, each with cores/workers TensorFlow
threads). Each mode writes ``<out>/<mode>.json`` (wall and CPU seconds of this process and its children, load average
before and after, runs, the lever table); ``--exhaustive-result`` reuses an exhaustive result measured earlier by
this bench instead of running it again (it takes hours on a busy machine); with ``--racing-result`` too, it only
compares the two. Then it prints both modes, the verdicts
that differ and why (the seeds each side ran and its differences; runs are deterministic per seed, so a difference on
a common seed means the thread count changed a result).

``--replay``: no training; the racing rule applied to an exhaustive result's per-seed differences (what racing would
have run and concluded on exactly those runs).

``--threads``: the reference config trained ``--runs`` times (seeds 42, 43, ...; nothing saved) in four ways: one
process with TensorFlow's default threads, one process with 1 thread, two processes at once with 1 thread each, and
two at once with default threads. TensorFlow is imported before the clock starts. Prints runs per minute and CPU
seconds per run. On a shared machine wall times move with the load: read the CPU column, and the load average printed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig  # noqa: E402


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _dataset():
    from core.data.builtin import DEFAULT_DATASET, load_builtin
    from core.data.dataset import build_dataset

    return DEFAULT_DATASET, build_dataset(load_builtin(DEFAULT_DATASET))


# ------------------------------------------------------------------------------------------------ study mode


def run_mode(mode: str, args, out: Path) -> dict:
    import optuna

    from core.evidence.levers import find_levers, levers_for
    from core.evidence.study import (
        InProcessExecutor,
        create_lever_study,
        data_source,
        lever_results,
        run_study,
        run_with_workers,
    )

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = ExperimentConfig()
    key, dataset = _dataset()
    levers = find_levers(config, args.levers.split(",")) if args.levers else levers_for(config)
    folder = out / mode
    load_start, started, cpu_started = _load(), time.perf_counter(), _cpu()
    handle = create_lever_study(config, data_source(dataset, builtin=key), levers=levers, seeds=args.seeds, name=mode,
                                runs_dir=folder, racing=_racing(args) if mode == "racing" else None)

    def progress(event) -> None:
        if event.kind == "trial_finished":
            print(f"{mode} {time.perf_counter() - started:7.0f}s [{event.done}/{event.planned}] {event.label}: "
                  f"{event.value} (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)

    executor = InProcessExecutor(dataset, folder)
    if mode == "racing" and args.workers > 1:
        summary = run_with_workers(handle, executor, dataset, folder, workers=args.workers, progress=progress)
    else:
        summary = run_study(handle, executor, progress=progress)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu_started
    table = lever_results(handle)
    result = {"mode": mode, "wall_s": wall, "cpu_s": cpu, "load_start": load_start, "load_end": _load(),
              "runs": table.done, "workers": args.workers if mode == "racing" else 1, "summary": summary.to_dict(),
              "table": table.to_dict()}
    (out / f"{mode}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def _racing(args):
    from core.evidence.study import Racing

    return Racing(start_seeds=args.start_seeds, keep=args.keep)


def _rows(result: dict) -> dict[str, dict]:
    return {row["key"]: row for row in result["table"]["rows"]}


def _fmt_row(row: dict) -> str:
    mean = f"{row['mean_delta']:+.3f}" if row["mean_delta"] is not None else "—"
    return f"{row['verdict']} (n={row['n']}, Δ {mean})"


def compare(exhaustive: dict, racing: dict, *, title: str = "racing") -> list[str]:
    """Print both modes and the levers whose verdicts differ; returns those levers."""
    print("| mode | runs | wall (min) | CPU (min) | load average at start → end (1, 5, 15 min) |")
    print("|---|---|---|---|---|")
    for name, result in (("exhaustive", exhaustive), (title, racing)):
        wall = f"{result['wall_s'] / 60:.1f}" if result.get("wall_s") is not None else "—"
        cpu = f"{result['cpu_s'] / 60:.1f}" if result.get("cpu_s") is not None else "—"
        print(f"| {name} | {result['runs']} | {wall} | {cpu} | "
              f"{result.get('load_start', '—')} → {result.get('load_end', '—')} |")
    left, right = _rows(exhaustive), _rows(racing)
    common = [key for key in left if key in right]
    differ = [key for key in common if left[key]["verdict"] != right[key]["verdict"]]
    same = len(common) - len(differ)
    print(f"\nverdicts equal on {same}/{len(common)} levers ({100 * same / max(1, len(common)):.1f} %; target >= 90 %)")
    counts = {side: {v: sum(r["verdict"] == v for r in rows.values()) for v in ("helps", "hurts", "within noise")}
              for side, rows in (("exhaustive", left), (title, right))}
    print(f"verdict counts: {counts}")
    stops: dict[str, int] = {}
    for row in right.values():
        stops[row.get("stopped_by") or "?"] = stops.get(row.get("stopped_by") or "?", 0) + 1
    print(f"{title}: why levers stopped: {stops}")
    mismatched = 0
    for key in common:
        a, b = left[key], right[key]
        shared = [s for s in b["seeds"] if s in a["seeds"]]
        for seed in shared:
            if abs(a["deltas"][a["seeds"].index(seed)] - b["deltas"][b["seeds"].index(seed)]) > 1e-9:
                mismatched += 1
    print(f"per-seed differences not identical between the modes on a common (lever, seed): {mismatched}")
    if differ:
        print("\n| lever | exhaustive | " + title + " | why it stopped |")
        print("|---|---|---|---|")
        for key in differ:
            print(f"| {key} | {_fmt_row(left[key])} | {_fmt_row(right[key])} | {right[key].get('stop_reason', '')} |")
    return differ


def replay(exhaustive: dict, racing=None) -> dict:
    """The racing rule applied to an exhaustive study's runs: which seeds it would have run, and its verdicts."""
    from core.evidence.study import ARM_REFERENCE, Racing, paired_verdict, race, stop_words

    table = exhaustive["table"]
    seeds = tuple(table["seeds"])
    rows = _rows(exhaustive)
    values = {ARM_REFERENCE: {seed: 0.0 for seed in seeds}}
    values.update({key: dict(zip(row["seeds"], row["deltas"])) for key, row in rows.items()})
    finished = {arm: set(seeds) for arm in values}
    state = race(list(rows), seeds, racing or Racing(), values, finished)
    replayed = []
    for key, row in rows.items():
        lever = state.levers[key]
        ran = [seed for seed in seeds[:lever.given] if seed in values[key]]
        deltas = [values[key][seed] for seed in ran]
        replayed.append({**row, "n": len(deltas), "seeds": ran, "deltas": deltas, "verdict": paired_verdict(deltas)[0],
                         "mean_delta": statistics.fmean(deltas) if deltas else None, "stopped_by": lever.stopped_by,
                         "stop_reason": stop_words(lever.stopped_by, len(deltas), len(seeds))})
    runs = len(seeds) + sum(state.levers[key].given for key in rows)
    return {"mode": "racing (replayed)", "wall_s": None, "cpu_s": None, "runs": runs,
            "table": {**table, "rows": replayed}}


# ------------------------------------------------------------------------------------------------ threads mode


def _probe(threads, seeds, ready, go, results) -> None:
    from core.evidence.study import limit_threads, objective_value

    if threads:
        limit_threads(threads)
    from core.backend import import_keras
    from core.config import apply_overrides
    from core.training.experiment import run_experiment

    import_keras()
    _, dataset = _dataset()
    ready.set()
    go.wait()
    cpu, wall = time.process_time(), time.perf_counter()
    scores = []
    for seed in seeds:
        result = run_experiment(dataset, apply_overrides(ExperimentConfig(), [f"seed={seed}"]), runs_dir=None)
        scores.append(round(objective_value(result.metrics.to_dict()), 6))
    results.put({"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                 "scores": dict(zip(seeds, scores))})


def threads_probe(runs: int, repeats: int) -> None:
    context = multiprocessing.get_context("spawn")
    ways = (("1 at a time, default threads (2)", 1, None), ("1 at a time, 1 thread", 1, 1),
            ("2 at once, 1 thread each", 2, 1), ("2 at once, default threads each", 2, None))
    seeds = [42 + i for i in range(runs)]
    table: dict[str, list[dict]] = {name: [] for name, _, _ in ways}
    for repeat in range(repeats):
        for name, processes, threads in (ways if repeat % 2 == 0 else tuple(reversed(ways))):
            ready = [context.Event() for _ in range(processes)]
            go, results = context.Event(), context.Queue()
            shares = [seeds[i::processes] for i in range(processes)]
            children = [context.Process(target=_probe, args=(threads, share, flag, go, results))
                        for share, flag in zip(shares, ready)]
            for child in children:
                child.start()
            for flag in ready:
                flag.wait()
            load, started = _load(), time.perf_counter()
            go.set()
            outcomes = [results.get() for _ in children]
            wall = time.perf_counter() - started
            for child in children:
                child.join()
            cpu = sum(o["cpu_s"] for o in outcomes)
            scores = {seed: score for o in outcomes for seed, score in o["scores"].items()}
            table[name].append({"wall_s": wall, "cpu_s": cpu, "load": load, "scores": scores})
            print(f"repeat {repeat + 1} {name}: {runs} runs in {wall:.0f} s wall, {cpu:.0f} s CPU (load {load})",
                  file=sys.stderr, flush=True)
    print(f"\n{runs} trainings of the reference config on the built-in data, {repeats} repeat(s), order alternating; "
          f"{os.cpu_count()} cores.\n")
    print("| way | runs per minute (median, range) | CPU s per run (median) | load average at start "
          "| same scores as 1 at a time, default threads |")
    print("|---|---|---|---|---|")
    base = table[ways[0][0]][0]["scores"]
    for name, _, _ in ways:
        rates = [60 * runs / entry["wall_s"] for entry in table[name]]
        cpu = statistics.median(entry["cpu_s"] / runs for entry in table[name])
        same = all(entry["scores"] == base for entry in table[name])
        print(f"| {name} | {statistics.median(rates):.2f} ({min(rates):.2f}-{max(rates):.2f}) | {cpu:.1f} | "
              f"{[entry['load'][0] for entry in table[name]]} | {'yes' if same else 'no'} |")


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("both", "racing", "exhaustive"), default="both")
    parser.add_argument("--levers", help="comma-separated lever keys (default: every lever of the default config)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="trials at once in the racing study (default 2)")
    parser.add_argument("--out", help="folder for the studies and results (default: a temporary folder, kept)")
    parser.add_argument("--exhaustive-result", help="an exhaustive result JSON this bench wrote earlier")
    parser.add_argument("--racing-result", help="a racing result JSON this bench wrote earlier "
                                                "(with --exhaustive-result: compare the two, run nothing)")
    parser.add_argument("--replay", help="apply the racing rule to this exhaustive result JSON (no training)")
    parser.add_argument("--keep", type=int, default=3,
                        help="racing keeps the strongest 1/keep of open levers (default 3)")
    parser.add_argument("--start-seeds", type=int, default=1,
                        help="seeds every lever starts on when racing (default 1)")
    parser.add_argument("--threads", action="store_true",
                        help="measure TensorFlow threads for 1 and 2 trainings at once")
    parser.add_argument("--runs", type=int, default=4, help="trainings per way in --threads (default 4)")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of --threads (default 1)")
    args = parser.parse_args(argv)

    if args.threads:
        threads_probe(args.runs, args.repeats)
        return 0
    if args.replay:
        exhaustive = json.loads(Path(args.replay).read_text(encoding="utf-8"))
        differ = compare(exhaustive, replay(exhaustive, _racing(args)), title=f"racing (replayed, keep 1/{args.keep})")
        return 0 if differ is not None else 1
    out = Path(args.out or tempfile.mkdtemp(prefix="lever-study-speed-"))
    results = {}
    for mode, given in (("exhaustive", args.exhaustive_result), ("racing", args.racing_result)):
        if given:
            results[mode] = json.loads(Path(given).read_text(encoding="utf-8"))
    for mode in ("exhaustive", "racing"):
        if args.mode in (mode, "both") and mode not in results:
            out.mkdir(parents=True, exist_ok=True)
            print(f"results in {out}", file=sys.stderr)
            results[mode] = run_mode(mode, args, out)
    if "exhaustive" in results and "racing" in results:
        print(f"\nBuilt-in data, default config, {args.seeds} seeds, {len(_rows(results['racing']))} levers; "
              f"racing with {results['racing'].get('workers', 1)} trials at once.\n")
        compare(results["exhaustive"], results["racing"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure training on this machine and fit core/model/estimate.py's constants; check whole runs and sweeps.

    .venv/bin/python bench/calibrate_estimate.py            # all configs: refit the epoch cost model (slow on 2 cores)
    .venv/bin/python bench/calibrate_estimate.py --quick    # three configs, to check the table still holds
    .venv/bin/python bench/calibrate_estimate.py --runs     # whole runs and sweeps: estimate / actual
                                                            (2 corpora, 3 repeats)

Epoch cost model: each config trains in its own subprocess (so ru_maxrss is that config's peak) through
core.training.fit.train, the way core.training.experiment does: random post-padded token IDs of random lengths, in
length-bucketed batches, 3 epochs without early stopping. The per-epoch figure is the median processor time of epochs
2 and 3 divided by CPU_SECONDS_PER_SECOND (epoch 1 includes graph tracing; on a shared machine other work stretches
wall time, hardly processor time). Prints measured vs predicted (with the module's constants and with the constants
fitted here) and the fitted constants, ready to paste into core/model/estimate.py.

Whole runs (--runs): on each corpus, per repeat and side by side in rotating order, a single model with the default
settings, a 5-fold ensemble with the blend, each in a fresh process as a dashboard job runs it, and a sweep of the
default search space through the dashboard's job scheduler (each trial its own process); fixed epochs, no early
stopping. Prints estimate / actual in CPU seconds (the fair unit on a shared machine) and in wall seconds (raw, and
with the slowdown core.model.estimate predicts from the load average), and each part of a run measured vs estimated
(from its progress events), which is what the run constants (PROCESS_START_SECONDS, ...) are read from.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.choices.resampling import RESAMPLERS  # noqa: E402

EPOCHS = 3
# The calibration's embedding-space resampler: the first such record of the registry (SMOTE).
EMBEDDED_RESAMPLER = next(record.key for record in RESAMPLERS if record.embedded)

# name, rows (training split, before resampling), settings; vocab defaults to 5000, classes to 4
CONFIGS: list[tuple[str, int, list[str]]] = [
    ("default bi-64 L100 b64", 1200, []),
    ("uni-32 no-attn L60 b32", 1200, ["model.lstm_units=32", "model.bidirectional=false", 'model.attention="none"',
                                      "vectorizing.max_length=60", "training.batch_size=32"]),
    ("bi-128 L100 b64", 800, ["model.lstm_units=128"]),
    ("2x bi-64 L100 b64", 800, ["model.lstm_layers=2"]),
    ("bi-64 L200 b64", 600, ["vectorizing.max_length=200"]),
    ("bi-64 L100 b16", 500, ["training.batch_size=16"]),
    ("bi-64 L100 b256", 2500, ["training.batch_size=256"]),
    ("bi-64 multihead-4 L100", 800, ["model.attention=multihead", "model.attention_heads=4"]),
    ("3x uni-64 L50 b128", 1500, ["model.lstm_layers=3", "model.bidirectional=false", "vectorizing.max_length=50",
                                  "training.batch_size=128"]),
    ("E300 V50k uni-64 L100", 1200, ["model.embedding_dim=300", "model.bidirectional=false", "vocab=50000"]),
    ("bi-64 L100 rec-dropout", 800, ["model.recurrent_dropout=0.2"]),
    ("uni-128 L100 rec-dropout b128", 1200, ["model.recurrent_dropout=0.2", "model.bidirectional=false",
                                             "model.lstm_units=128", "training.batch_size=128"]),
    ("SMOTE bi-64 L100 b64", 600, [f"resampling.strategy={EMBEDDED_RESAMPLER}", "classes=60:25:10:5"]),
]
# Measured and shown, but left out of the fit: an out-of-sample check (DESIGN.md's CPU anchor model, batch 256).
HOLDOUT: list[tuple[str, int, list[str]]] = [
    ("holdout 2x uni-64 no-attn b256", 3000, ["model.lstm_layers=2", "model.bidirectional=false",
                                              'model.attention="none"', "training.batch_size=256", "vocab=20000"]),
]
QUICK = ("default bi-64 L100 b64", "SMOTE bi-64 L100 b64", "holdout 2x uni-64 no-attn b256")


def _parse(settings: list[str]):
    from core.config import ExperimentConfig, apply_overrides

    vocab, shares = 5000, [25, 25, 25, 25]
    overrides = ["training.epochs=%d" % EPOCHS, "training.early_stopping=false", "vectorizing.max_length=100"]
    for setting in settings:
        key, _, value = setting.partition("=")
        if key == "vocab":
            vocab = int(value)
        elif key == "classes":
            shares = [int(v) for v in value.split(":")]
        else:
            overrides.append(setting)
    return apply_overrides(ExperimentConfig(), overrides), vocab, shares


def _token_ids(rng, rows: int, steps: int, vocab: int):
    import numpy as np

    lengths = rng.integers(max(1, steps // 4), steps + 1, size=rows)
    ids = rng.integers(2, vocab, size=(rows, steps), dtype=np.int32)
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return ids


def worker(name: str, rows: int, settings: list[str]) -> dict:
    """Train one config in this process and report epoch times and peak RSS."""
    import resource

    import numpy as np

    from core.choices import resampling as resampling_module
    from core.model import estimate
    from core.model.classifier import build_classifier
    from core.training.batching import sequence_lengths
    from core.training.fit import embedder, freeze_embedding, seed_everything, train, warm_up_embedding

    config, vocab, shares = _parse(settings)
    steps, classes = config.vectorizing.max_length, len(shares)
    split = config.split
    val_rows = round(rows * split.validation_fraction / (1 - split.validation_fraction - split.test_fraction))
    test_rows = round((rows + val_rows) * split.test_fraction / (1 - split.test_fraction))
    rng = np.random.default_rng(0)
    probabilities = np.asarray(shares, dtype=float) / sum(shares)
    y_train = rng.choice(classes, size=rows, p=probabilities)
    y_val = rng.choice(classes, size=val_rows, p=probabilities)
    x_train, x_val = _token_ids(rng, rows, steps, vocab), _token_ids(rng, val_rows, steps, vocab)
    x_test = _token_ids(rng, test_rows, steps, vocab)  # held, as the experiment holds it, for the memory figure
    seed_everything(0)
    embed = weights = None
    started = time.perf_counter()
    if resampling_module.RESAMPLERS.get(config.resampling.strategy).embedded:
        weights = warm_up_embedding(x_train, y_train, vocab, classes, config.model,
                                    config.resampling.embedding_warmup_epochs, config.training.batch_size, 0)
        embed = embedder(weights)
    resampled = resampling_module.resample_training(x_train, y_train, classes, config.resampling, 0, embed)
    setup_s = time.perf_counter() - started
    models = build_classifier(config.model, vocab, classes, steps, 0)
    if weights is not None:
        freeze_embedding(models, weights)
        x_val = embed(x_val)
    epoch_ends: list[tuple[float, float]] = []

    def listen(event) -> None:
        if event.kind in ("start", "epoch"):
            epoch_ends.append((event.elapsed_s, time.process_time()))

    train(models, resampled.x, resampled.y, x_val, y_val, config.training, embedded=resampled.embedded,
          class_weight=resampled.class_weight, listener=listen)
    epochs = [b[0] - a[0] for a, b in zip(epoch_ends, epoch_ends[1:])]
    epochs_cpu = [b[1] - a[1] for a, b in zip(epoch_ends, epoch_ends[1:])]
    lengths = sequence_lengths(resampled.x)
    params = models.model.count_params()
    assert params == estimate.parameter_count(config.model, vocab_size=vocab, num_classes=classes, max_length=steps)
    del x_test
    return {
        "name": name, "rows": rows, "train_counts": np.bincount(y_train, minlength=classes).tolist(),
        "settings": settings, "rows_after": int(len(resampled.y)), "val_rows": val_rows,
        "epochs": epochs, "epochs_cpu": epochs_cpu, "setup_s": setup_s,
        "length_quantiles": [int(q) for q in np.percentile(lengths, np.arange(101), method="higher")],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "load": os.getloadavg()[0],
    }


def baseline() -> dict:
    import resource

    import core.choices.resampling  # noqa: F401
    import core.model.classifier  # noqa: F401
    import core.training.fit  # noqa: F401

    return {"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run(arguments: list[str]) -> dict:
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, env=environment,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{arguments[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _nnls(rows: list[list[float]], targets: list[float]) -> list[float]:
    import numpy as np
    from scipy.optimize import nnls

    matrix = np.asarray(rows, dtype=float)
    target = np.asarray(targets, dtype=float)
    scale = np.where(matrix.max(axis=0) > 0, matrix.max(axis=0), 1.0)  # columns of similar size for the solver
    solution, _ = nnls(matrix / scale / target[:, None], np.ones(len(target)))  # relative error
    return list(solution / scale)


# --- whole runs and sweeps: estimate / actual ---------------------------------------------------------------------

RUN_CASES: dict[str, list[str]] = {
    "single": [],  # the default settings
    "k-fold": ["split.k_folds=5", "split.ensemble=true", "model.blend=validated"],  # the recommended kind of run
}


PART_NAMES = ("process start and exit", "data and baseline", "building", "tracing", "epochs", "scoring", "blend",
              "saving")


def _phase_marks(listener_marks: list) -> dict:
    """Seconds (wall and CPU) of a run's parts, named as core.model.run_estimate.RunEstimate.parts names them, from its
    progress events: data and baseline (until the first model is built), building, the first epochs' extra over the
    others (graph tracing), the epochs, scoring, the blend, and saving (with averaging the members)."""
    parts = {name: [0.0, 0.0] for name in PART_NAMES}
    models: list[list[tuple[float, float]]] = []
    previous, current = (0.0, 0.0), "data and baseline"
    for wall, cpu, kind, phase, message in listener_marks:
        spent = (wall - previous[0], cpu - previous[1])
        if kind == "epoch":
            models[-1].append(spent)
        else:
            parts[current][0] += spent[0]
            parts[current][1] += spent[1]
        if kind == "phase" and phase == "building":
            current = "building"
        elif kind == "start":
            current, _ = "epochs", models.append([])
        elif kind == "phase" and message.startswith("Scoring"):
            current = "scoring"
        elif kind == "phase" and message.startswith("Blending"):
            current = "blend"
        elif kind == "phase" and phase in ("evaluating", "saving"):
            current = "saving"
        previous = (wall, cpu)
    for epochs in models:
        for unit in (0, 1):
            steady = statistics.median(e[unit] for e in epochs[1:]) if len(epochs) > 1 else epochs[0][unit]
            parts["tracing"][unit] += epochs[0][unit] - steady
            parts["epochs"][unit] += sum(e[unit] for e in epochs) - (epochs[0][unit] - steady)
    return {"parts": parts, "epochs": models}


def run_worker(corpus: str, settings: list[str]) -> dict:
    """Child process: one run as a dashboard job runs it (TensorFlow imported, then run_experiment), timed."""
    import resource

    from core.backend import import_keras

    import_keras()
    import core.training.experiment as experiment
    from core.data.builtin import load_builtin
    from core.data.dataset import build_dataset

    imported = (time.time(), time.process_time())  # CPU since the process started: interpreter, imports
    reading = time.perf_counter()
    dataset = build_dataset(load_builtin(corpus))
    load_wall = time.perf_counter() - reading
    config = _run_config(settings)
    marks: list = []
    begun = [time.perf_counter(), time.process_time()]

    def listen(event) -> None:
        if event.kind in ("phase", "start", "epoch", "end"):
            marks.append((time.perf_counter() - begun[0], time.process_time() - begun[1], event.kind, event.phase,
                          event.message))

    loaded = time.process_time() - imported[1]
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        begun[:] = [time.perf_counter(), time.process_time()]
        experiment.run_experiment(dataset, config, listener=listen, runs_dir=folder)
        marks.append((time.perf_counter() - begun[0], time.process_time() - begun[1], "done", "", ""))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    measured = _phase_marks(marks)
    return {"imported_at": imported[0], "import_cpu": imported[1], "load_cpu": loaded, "load_wall": load_wall,
            "cpu": usage.ru_utime + usage.ru_stime, **measured, "run_wall": marks[-1][0], "run_cpu": marks[-1][1]}


def sweep_worker(corpus: str, settings: list[str], trials: int) -> dict:
    """Child process: a sweep of the default space through the dashboard's job scheduler (each trial a spawned
    process), timed; returns each trial's settings so the parent can estimate the trials that ran."""
    import resource
    import tempfile

    from core.data.builtin import load_builtin
    from core.data.dataset import build_dataset
    from core.evidence.study import create_sweep, data_source, default_space, run_study, scheduler_executor, trial_rows
    from core.training.jobs import JobScheduler

    dataset = build_dataset(load_builtin(corpus))
    config = _run_config(settings)
    setup_cpu = time.process_time()
    with tempfile.TemporaryDirectory() as folder:
        handle = create_sweep(config, data_source(dataset, builtin=corpus), trials=trials, space=default_space(),
                              pruner="none", runs_dir=folder, sampler_seed=config.seed)
        started = time.perf_counter()
        run_study(handle, scheduler_executor(JobScheduler(max_running=1), dataset, folder))
        wall = time.perf_counter() - started
        rows = [{"params": row.params, "duration_s": row.duration_s, "state": row.state} for row in trial_rows(handle)]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "setup_cpu": setup_cpu, "trial_cpu": children.ru_utime + children.ru_stime, "trials": rows}


def _run_config(settings: list[str]):
    from core.config import ExperimentConfig, apply_overrides

    return apply_overrides(ExperimentConfig(), settings)


def _shape_for(corpus: str, config, cache: dict):
    """core.model.run_estimate.run_shape for ``config`` on ``corpus`` (preprocessed once per preprocessing config)."""
    from core.data.builtin import load_builtin
    from core.data.dataset import build_dataset
    from core.model import run_estimate
    from core.text.preprocessing import preprocess

    if corpus not in cache:
        cache[corpus] = build_dataset(load_builtin(corpus))
    dataset = cache[corpus]
    key = (corpus, config.preprocessing)
    if key not in cache:
        cache[key] = preprocess(dataset.texts, config.preprocessing)[0]
    return run_estimate.run_shape(cache[key], dataset.y, dataset.class_names, config)


def _timed(arguments: list[str]) -> tuple[dict, float, float, float]:
    """Run a child; its report, wall seconds from spawn to exit, processor seconds of it and its children, and the
    one-minute load average just before it started."""
    import resource

    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, spawned = time.perf_counter(), time.time()
    report = _run(arguments)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report["spawned_at"] = spawned
    return report, wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), load


def _estimated(row: dict, cache: dict) -> dict:
    """The row's estimates with the module's constants as they are now: a run's (estimate_run, its parts), or a
    sweep's (estimate_study of the trials that ran, and the Study page's estimate made before the sweep)."""
    from core.evidence.study import default_space
    from core.model import run_estimate

    corpus, fixed = row["corpus"], [f"training.epochs={row['epochs']}", "training.early_stopping=false"]

    def run(config):
        return run_estimate.estimate_run(config, _shape_for(corpus, config, cache))

    if row["case"] != "sweep":
        predicted = run(_run_config(fixed + RUN_CASES[row["case"]]))
        return {"seconds": predicted.seconds, "cpu": predicted.cpu_seconds, "parts": predicted.parts}
    base, space = _run_config(fixed), default_space()
    ran = run_estimate.estimate_study([run(space.config_for(base, params)) for params in row["trial_params"]])
    draws = [run(space.config_for(base, draw)) for draw in run_estimate.random_settings(space.params, 16, base.seed)]
    planned = run_estimate.estimate_study([run(base), *draws], runs=row["trials"], sampled=16)
    return {"seconds": ran.seconds, "cpu": ran.cpu_seconds, "planned_cpu": planned.cpu_seconds}


def runs_main(arguments) -> None:
    """Whole runs and sweeps on each corpus, side by side in each repeat: estimate / actual in seconds and CPU."""
    fixed = [f"training.epochs={arguments.epochs}", "training.early_stopping=false"]
    rows, cache = [], {}
    Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
    for repeat in range(arguments.repeats):
        for corpus in arguments.corpora:
            cases = list(RUN_CASES) + ["sweep"]
            cases = cases[repeat % len(cases):] + cases[:repeat % len(cases)]  # each case in each position once
            for case in cases:
                if case == "sweep":
                    report, wall, cpu, load = _timed(["--sweep-worker", corpus, json.dumps(fixed),
                                                      str(arguments.trials)])
                    wall, cpu = report["wall"], cpu - report["setup_cpu"]  # the study itself, not reading the data
                    row = {"trial_params": [t["params"] for t in report["trials"]],
                           "trial_walls": [t["duration_s"] for t in report["trials"]]}
                else:
                    report, wall, cpu, load = _timed(["--run-worker", corpus, json.dumps(fixed + RUN_CASES[case])])
                    # the process: from the spawn to TensorFlow imported, and its exit after the run
                    report["parts"]["process start and exit"] = [report["imported_at"] - report["spawned_at"],
                                                                 report["import_cpu"] + cpu - report["cpu"]]
                    # the dataset is read in the child only to have it: a dashboard job receives it ready
                    wall, cpu = wall - report["load_wall"], cpu - report["load_cpu"]
                    row = {"measured": report}
                row.update(corpus=corpus, case=case, repeat=repeat, wall=wall, cpu=cpu, load=load,
                           epochs=arguments.epochs, trials=arguments.trials, cores=os.cpu_count() or 1)
                rows.append(row)
                predicted = _estimated(row, cache)
                print(f"  {repeat + 1}/{arguments.repeats} {corpus:24} {case:7} "
                      f"wall {wall:6.1f} s (estimate {predicted['seconds']:6.1f}), "
                      f"CPU {cpu:6.1f} s (estimate {predicted['cpu']:6.1f}), load {load:4.1f}", flush=True)
                Path(arguments.json).write_text(json.dumps(rows, indent=1))  # kept as it grows
    _runs_table(rows, arguments)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} ({min(values):.2f}-{max(values):.2f})"


def _runs_table(rows: list[dict], arguments) -> None:
    from core.model import run_estimate

    cache: dict = {}
    for row in rows:
        row["estimate"] = _estimated(row, cache)
    print()
    print(f"{arguments.repeats} repeats, {arguments.epochs} epochs per model, sweeps of {arguments.trials} trials; "
          f"{rows[0]['cores']} cores; load average (1 min) before each: "
          f"{min(r['load'] for r in rows):.1f}-{max(r['load'] for r in rows):.1f}")
    print("estimate / actual, median (min-max) over the repeats; wall against the idle-server estimate, "
          "and against it x the slowdown the load predicts (core.model.run_estimate.slowdown)")
    print(f"{'corpus':24} {'case':7} {'actual s':>9} {'CPU s':>7} | {'CPU est/actual':>19} {'wall est/actual':>19} "
          f"{'x slowdown':>19}")
    for corpus in arguments.corpora:
        for case in [*RUN_CASES, "sweep"]:
            group = [r for r in rows if r["corpus"] == corpus and r["case"] == case]
            if not group:
                continue
            print(f"{corpus:24} {case:7} {statistics.median(r['wall'] for r in group):9.1f} "
                  f"{statistics.median(r['cpu'] for r in group):7.1f} | "
                  f"{_spread([r['estimate']['cpu'] / r['cpu'] for r in group]):>19} "
                  f"{_spread([r['estimate']['seconds'] / r['wall'] for r in group]):>19} "
                  f"{_spread([r['estimate']['seconds'] * run_estimate.slowdown(r['load'], r['cores']) / r['wall'] for r in group]):>19}")  # noqa: E501
    sweeps = [r for r in rows if r["case"] == "sweep"]
    if sweeps:
        print("sweeps, the Study page's estimate before the sweep (its first trial the settings, "
              "the others sized from 16 draws of the space) / actual, CPU: "
              + _spread([r["estimate"]["planned_cpu"] / r["cpu"] for r in sweeps]))
    for case in RUN_CASES:
        group = [r for r in rows if r["case"] == case]
        if not group:
            continue
        print(f"{case}: CPU seconds of each part, measured (median over runs) / estimated x CPU_SECONDS_PER_SECOND")
        for corpus in arguments.corpora:
            runs = [r for r in group if r["corpus"] == corpus]
            if runs:
                print(f"  {corpus:24} " + ", ".join(
                    f"{name} {statistics.median(r['measured']['parts'][name][1] for r in runs):.1f}/"
                    f"{runs[0]['estimate']['parts'][name] * run_estimate.CPU_SECONDS_PER_SECOND:.1f}"
                    for name in PART_NAMES)
                    + f"; total {statistics.median(r['cpu'] for r in runs):.1f}/{runs[0]['estimate']['cpu']:.1f}")


def main() -> None:
    from core.model import estimate, run_estimate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three configs only; no refit")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "ROWS", "SETTINGS_JSON"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", action="store_true", help="whole runs and sweeps: estimate / actual (no refit)")
    parser.add_argument("--corpora", nargs="+", default=["faa-bird-strikes-effect", "nace-rev2-sections"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per model in --runs (early stopping off)")
    parser.add_argument("--trials", type=int, default=3, help="trials per sweep in --runs")
    parser.add_argument("--json", default=str(ROOT / "bench" / "out" / "calibrate_runs.json"),
                        help="where --runs writes every measurement (kept as it grows)")
    parser.add_argument("--run-worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--sweep-worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--table", metavar="JSON", help="print the --runs table again from a file --runs wrote "
                                                          "(older files: pass their --epochs and --trials)")
    arguments = parser.parse_args()
    if arguments.table:
        rows = json.loads(Path(arguments.table).read_text())
        arguments.repeats, arguments.corpora = (max(r["repeat"] for r in rows) + 1,
                                                list(dict.fromkeys(r["corpus"] for r in rows)))
        arguments.epochs, arguments.trials = (rows[0].get("epochs", arguments.epochs),
                                              rows[0].get("trials", arguments.trials))
        _runs_table(rows, arguments)
        return
    if arguments.run_worker:
        print(json.dumps(run_worker(arguments.run_worker[0], json.loads(arguments.run_worker[1]))))
        return
    if arguments.sweep_worker:
        corpus, settings, trials = arguments.sweep_worker
        print(json.dumps(sweep_worker(corpus, json.loads(settings), int(trials))))
        return
    if arguments.runs:
        runs_main(arguments)
        return
    if arguments.worker:
        name, rows, settings = arguments.worker
        print(json.dumps(worker(name, int(rows), json.loads(settings))))
        return
    if arguments.baseline:
        print(json.dumps(baseline()))
        return

    base = _run(["--baseline"])["rss_mb"]
    print(f"baseline RSS after importing core.training.fit/model/resampling: {base:.0f} MB", flush=True)
    results = []
    for name, rows, settings in CONFIGS + HOLDOUT:
        if arguments.quick and name not in QUICK:
            continue
        result = _run(["--worker", name, str(rows), json.dumps(settings)])
        print(f"  {name}: epochs {', '.join(f'{e:.2f}' for e in result['epochs'])} s wall, "
              f"{', '.join(f'{e:.2f}' for e in result['epochs_cpu'])} s CPU, peak {result['rss_mb']:.0f} MB, "
              f"load {result['load']:.1f}", flush=True)
        results.append(result)

    term_rows, measured, loops, tracing, memory_parts = [], [], [], [], []
    for result in results:
        config, vocab, shares = _parse(result["settings"])
        steps = config.vectorizing.max_length
        trimmed = estimate.trimmed_steps(result["length_quantiles"], result["rows_after"], config.training.batch_size)
        terms = estimate._time_terms(config, train_rows=result["rows_after"], validation_rows=result["val_rows"],
                                     vocab_size=vocab, num_classes=len(shares), max_length=steps, steps=trimmed)
        term_rows.append([terms[name] for name in estimate.TIME_COEFFICIENTS])
        # Processor seconds (other work on the machine stretches wall time, hardly CPU time), as seconds of an idle
        # server: CPU / CPU_SECONDS_PER_SECOND. The median of the epochs after the first (which traces the graphs).
        cpu = statistics.median(result["epochs_cpu"][1:])
        measured.append(cpu / run_estimate.CPU_SECONDS_PER_SECOND)
        loops.append(config.model.lstm_layers * (2 if config.model.bidirectional else 1))
        tracing.append((result["epochs_cpu"][0] - cpu) / run_estimate.CPU_SECONDS_PER_SECOND)
        predicted = estimate.estimate_epoch(config, train_counts=result["train_counts"],
                                            rows_after_resampling=result["rows_after"],
                                            validation_rows=result["val_rows"], vocab_size=vocab,
                                            num_classes=len(shares), max_length=steps, steps=trimmed)
        parts = predicted.memory_breakdown
        activations = parts["activations"] / estimate.ACTIVATION_FACTOR if estimate.ACTIVATION_FACTOR else 0.0
        memory_parts.append((result["rss_mb"], parts["weights and optimizer"] + parts["training data"], activations,
                             predicted))

    names = list(estimate.TIME_COEFFICIENTS)
    fit = [not result["name"].startswith("holdout") for result in results]

    def fitting(values: list) -> list:
        return [value for value, keep in zip(values, fit) if keep]

    if arguments.quick:
        fitted = dict(estimate.TIME_COEFFICIENTS)
        fitted_tracing = [estimate.TRACING_FIXED_SECONDS, estimate.TRACING_SECONDS_PER_LOOP]
        memory_fit = [estimate.FIXED_OVERHEAD_MB, estimate.ACTIVATION_FACTOR]
    else:
        fitted = dict(zip(names, _nnls(fitting(term_rows), fitting(measured))))
        fitted_tracing = _nnls([[1.0, n] for n in fitting(loops)], [max(0.1, t) for t in fitting(tracing)])
        # memory: rss - baseline - weights - data = fixed + factor x activations
        memory_fit = _nnls([[1.0, a] for _, _, a, _ in fitting(memory_parts)],
                           [max(1.0, rss - base - known) for rss, known, _, _ in fitting(memory_parts)])

    print()
    print(f"{'config':32} {'rows':>5} {'meas s':>7} {'module':>7} {'err':>5} {'fitted':>7} {'err':>5} | "
          f"{'meas MB':>7} {'module':>7} {'err':>5} {'fitted':>7} {'err':>5}")
    for result, row, seconds, (rss, known, activations, predicted) in zip(results, term_rows, measured, memory_parts):
        module_s = predicted.seconds_per_epoch
        fitted_s = sum(c * t for c, t in zip(fitted.values(), row))
        fitted_mb = base + memory_fit[0] + known + memory_fit[1] * activations
        print(f"{result['name']:32} {result['rows_after']:>5} {seconds:7.2f} {module_s:7.2f} "
              f"{module_s / seconds - 1:+5.0%} "
              f"{fitted_s:7.2f} {fitted_s / seconds - 1:+5.0%} | {rss:7.0f} {predicted.memory_mb:7.0f} "
              f"{predicted.memory_mb / rss - 1:+5.0%} {fitted_mb:7.0f} {fitted_mb / rss - 1:+5.0%}")
    print()
    print("TIME_COEFFICIENTS = {")
    for name, value in fitted.items():
        print(f'    "{name}": {value:.4g},')
    print("}")
    print(f"TRACING_FIXED_SECONDS = {fitted_tracing[0]:.2g}")
    print(f"TRACING_SECONDS_PER_LOOP = {fitted_tracing[1]:.2g}")
    print("first-epoch extra, measured:", ", ".join(f"{t:.1f}" for t in tracing))
    print(f"RUNTIME_BASELINE_MB = {base:.0f}")
    print(f"FIXED_OVERHEAD_MB = {memory_fit[0]:.0f}")
    print(f"ACTIVATION_FACTOR = {memory_fit[1]:.3g}")


if __name__ == "__main__":
    main()

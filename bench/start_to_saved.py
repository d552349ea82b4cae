"""Start to a saved, evaluated run: ``python -m core train --demo`` (the built-in dataset, the recommended settings)
from this tree against the same command from an earlier commit, side by side, alternating.

    .venv/bin/python bench/start_to_saved.py                      # against d19f61d (the main before this wave), 3 pairs
    .venv/bin/python bench/start_to_saved.py --commit HEAD~3 --pairs 5
    .venv/bin/python bench/start_to_saved.py --against /tmp/oldmain  # an existing checkout instead
    .venv/bin/python bench/start_to_saved.py --path dashboard      # Start on the Train page instead of the CLI

The older commit is checked out into a temporary git worktree (removed at the end) and run with this virtual
environment's Python. Each run is a fresh process with an empty runs folder; the clock starts when the process is
started and stops when the run folder appears (renamed into place atomically, so it is complete), and separately at
the process's exit. Also printed for this tree: when the last epoch ended and how long after it the run was saved
(the CLI's progress lines carry their own timestamps).

With ``--path dashboard`` each run is what the Train page's Start does, driven without a browser: a fresh process
loads the built-in data and builds the job scheduler as the server does; in a tree that keeps a warm worker, the
Train page's visit has already warmed it (``warm_up``, waited for before the clock: a user choosing settings gives it
those seconds), and the Data page has already fitted the baseline that Start hands over (as each tree's dashboard
does). The clock starts when the job is submitted and stops when the scheduler reports it saved.
Exits non-zero if a run failed, not if the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COMMIT = "d19f61d"


def run_once(tree: Path, seed: int) -> dict:
    """Seconds from the process start until the run folder exists, until the process exits, and until the line
    of the last epoch was printed."""
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-m", "core", "train", "--demo", "--runs-dir", runs, "--set", f"seed={seed}"]
        cpu_before = _children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        last_epoch: list[float] = []
        epochs = [0]

        def read_progress() -> None:
            for line in process.stderr:
                if line.startswith("epoch ") or " epoch " in line[:20]:
                    last_epoch[:] = [time.perf_counter() - started]
                    epochs[0] += 1

        reader = threading.Thread(target=read_progress, daemon=True)
        reader.start()
        saved = None
        try:
            while process.poll() is None:
                if saved is None and any(p.is_dir() and not p.name.startswith(".") for p in Path(runs).iterdir()):
                    saved = time.perf_counter() - started
                time.sleep(0.02)
        finally:
            if process.poll() is None:  # interrupted: leave no training behind
                process.kill()
                process.wait()
        exited = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before  # the CLI and everything it waited for (its worker processes)
        reader.join(timeout=5)
        if process.returncode != 0:
            raise RuntimeError(f"{tree}: exit {process.returncode}: {process.stdout.read()[-500:]}")
        if saved is None:  # saved and exited between two polls
            saved = exited
        return {"saved": saved, "exited": exited, "last_epoch": last_epoch[0] if last_epoch else float("nan"),
                "cpu": cpu, "epochs": epochs[0]}


# What the Train page's Start does in either tree, run with PYTHONPATH pointing at that tree (features of the newer tree
# are used only where they exist, as that tree's dashboard uses them).
_DASHBOARD_DRIVER = r"""
import json, sys, time
from core.config import ExperimentConfig, apply_overrides
from core.data.dataset import build_dataset
from core.data.builtin import DEFAULT_DATASET, load_builtin
from core.training.jobs import JobScheduler, TrainingJob, spec_for, wait

seed, runs = int(sys.argv[1]), sys.argv[2]
config = apply_overrides(ExperimentConfig(), [f"seed={seed}"])
data = build_dataset(load_builtin(DEFAULT_DATASET), config.data.text_column, config.data.label_column)
scheduler = JobScheduler(max_running=1)
extra = {}
if hasattr(scheduler, "warm_up"):  # the Model or Train page has been open for a while: the worker is warm
    from core.model.baseline import baseline_on_split
    from core.text.preprocessing import preprocess
    from core.data.splitting import stratified_split

    scheduler.warm_up()
    scheduler.standby().wait_ready(600)
    split = stratified_split(data.y, config.split, config.seed, data.class_names)
    extra["baseline"] = baseline_on_split(preprocess(data.texts, config.preprocessing)[0], data.y, split, data.class_names)
started = time.perf_counter()
job = scheduler.submit(TrainingJob(spec_for(data, config, runs, **extra)))
view = wait(job, scheduler, timeout=1800, interval=0.02)
saved = time.perf_counter() - started
print(json.dumps({"status": view.status, "error": view.error, "saved": saved, "epochs": len(view.epoch_ends)}))
"""  # noqa: E501 (the driver script's source, kept as it is)


def run_dashboard_once(tree: Path, seed: int) -> dict:
    """Seconds from Start (the job submitted) until the scheduler reports the run saved, in a fresh process."""
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", _DASHBOARD_DRIVER, str(seed), runs], cwd=tree, env=env,
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{tree}: exit {done.returncode}: {done.stderr[-800:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["status"] != "finished":
            raise RuntimeError(f"{tree}: the job ended {result['status']}: {result['error']}")
        return {"saved": result["saved"], "exited": float("nan"), "last_epoch": float("nan"), "cpu": float("nan"),
                "epochs": result["epochs"]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--commit", default=DEFAULT_COMMIT)
    parser.add_argument("--against", help="an existing checkout of the older code (instead of --commit)")
    parser.add_argument("--path", choices=["cli", "dashboard"], default="cli",
                        help="time `python -m core train --demo` (cli) or the Train page's Start (dashboard)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `kill` still removes the temporary worktree
    worktree = None
    folder = None
    if args.against:
        old = Path(args.against)
    else:
        folder = Path(tempfile.mkdtemp(prefix="start-to-saved-"))
        worktree = folder / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.commit], check=True,
                       capture_output=True)
        old = worktree
    sides = {"this tree": ROOT, f"{args.against or args.commit}": old}
    results: dict[str, list[dict]] = {name: [] for name in sides}
    try:
        run_one = run_dashboard_once if args.path == "dashboard" else run_once
        for pair in range(args.pairs):
            names = list(sides) if pair % 2 == 0 else list(reversed(sides))
            for name in names:
                run = run_one(sides[name], 42 + pair)  # each pair its own seed: early stopping ends where it ends
                results[name].append(run)
                print(f"pair {pair + 1}: {name}: saved after {run['saved']:.1f} s "
                      f"(last epoch line {run['last_epoch']:.1f} s, "
                      f"exit {run['exited']:.1f} s, {run['cpu']:.1f} s CPU to exit, {run['epochs']} epochs)",
                      file=sys.stderr)
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True)
            folder.rmdir()
    what = ("the Train page's Start, submit to saved (warm worker where the tree has one)" if args.path == "dashboard"
            else "`python -m core train --demo`")
    print(f"\n{what} (built-in dataset, recommended settings; pair i uses seed 41+i on both "
          f"sides), {args.pairs} alternating pairs, medians.\n")
    print("| code | start → run saved (s) | start → last epoch (s) | last epoch → saved (s) | process exit (s) "
          "| CPU s to exit | epochs | per-run saved |")
    print("|---|---|---|---|---|---|---|---|")
    medians = {}
    for name, runs in results.items():
        saved = statistics.median(r["saved"] for r in runs)
        medians[name] = saved
        last = statistics.median(r["last_epoch"] for r in runs)
        after = statistics.median(r["saved"] - r["last_epoch"] for r in runs)
        exited = statistics.median(r["exited"] for r in runs)
        per_run = ", ".join(f"{r['saved']:.1f}" for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        epochs = ", ".join(str(r["epochs"]) for r in runs)
        print(f"| {name} | {saved:.1f} | {last:.1f} | {after:.1f} | {exited:.1f} | {cpu:.1f} | {epochs} | {per_run} |")
    new, old_time = medians["this tree"], medians[list(sides)[1]]
    ratios = [o["saved"] / n["saved"] for n, o in zip(results["this tree"], results[list(sides)[1]])]
    cpu_ratio = (statistics.median(r["cpu"] for r in results["this tree"])
                 / statistics.median(r["cpu"] for r in results[list(sides)[1]]))
    print(f"\nthis tree takes {new / old_time:.2f} of the older code's time to a saved run (per pair: "
          f"{', '.join(f'{1 / r:.2f}' for r in ratios)}) and {cpu_ratio:.2f} of its CPU seconds to exit; "
          f"target <= 0.50: {'met' if new / old_time <= 0.5 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

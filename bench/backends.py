"""Backends: the engine's training path on TensorFlow, JAX and PyTorch (CPU builds), side by side in one run.

    .venv/bin/python bench/backends.py --python jax=/tmp/venv-jax/bin/python --python torch=/tmp/venv-torch/bin/python
    .venv/bin/python bench/backends.py --epochs 3 --rounds 2 --sides engine "engine, no buckets"

Each backend runs in its own virtual environment (TensorFlow from this one; JAX and PyTorch from environments that
carry keras 3.15.1 and the lab's other requirements, never installed into the project's own), selected with
KERAS_BACKEND, each run a fresh process; backends alternate round by round. The sides are those of
bench/training_speed.py ("engine": length-bucketed batches; "engine, no buckets": full-width batches; "bare": the
hand-written fit). Printed per backend and side: the whole fit (first epoch, where JAX compiles and TensorFlow
traces, included), the median of epochs 2..N, CPU seconds and test macro-F1. For a GPU, see bench/gpu_path.py.
Exits non-zero if a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(side: str, corpus: str, epochs: int) -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import training_speed

    config = training_speed.bench_config(42, epochs)
    if side == "bare":
        result = training_speed._bare(corpus, config)
    else:
        result = training_speed._engine(corpus, config, buckets=side == "engine")
    import keras

    print(json.dumps({**result, "backend": keras.backend.backend()}))
    return 0


def run(python: str, backend: str, side: str, corpus: str, epochs: int) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    command = [python, str(Path(__file__).resolve()), "--child", side, "--corpus", corpus, "--epochs", str(epochs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} {side}: exit {done.returncode}: {done.stderr[-800:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["backend"] != backend:
        raise RuntimeError(f"asked for {backend}, ran on {result['backend']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", action="append", default=[], metavar="BACKEND=PYTHON",
                        help="a backend and the Python of an environment that has it (TensorFlow: this one)")
    parser.add_argument("--sides", nargs="*", default=["engine", "engine, no buckets"])
    parser.add_argument("--corpus", default="builtin", choices=["builtin", "long"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.corpus, args.epochs)
    pythons = {"tensorflow": sys.executable, **dict(item.split("=", 1) for item in args.python)}
    results: dict[tuple[str, str], list[dict]] = {}
    for round_number in range(args.rounds):
        order = list(pythons) if round_number % 2 == 0 else list(reversed(pythons))
        for backend in order:
            for side in args.sides:
                result = run(pythons[backend], backend, side, args.corpus, args.epochs)
                results.setdefault((backend, side), []).append(result)
                print(f"round {round_number + 1}: {backend} {side}: "
                      f"fit {result['fit_s']:.1f} s ({result['cpu_s']:.1f} s CPU), "
                      f"epochs 2..N {[round(e, 2) for e in result['epochs_s']]}, "
                      f"macro-F1 {result['macro_f1']:.3f}", file=sys.stderr)
    print(f"\n{args.corpus} corpus, {args.epochs} epochs per run, {args.rounds} round(s), seed 42; CPU builds.\n")
    print("| backend | side | fit s (first epoch included) | s/epoch, epochs 2..N | CPU s | test macro-F1 |")
    print("|---|---|---|---|---|---|")
    for (backend, side), runs in results.items():
        fit = statistics.median(r["fit_s"] for r in runs)
        epoch = (statistics.median(e for r in runs for e in r["epochs_s"])
                 if any(r["epochs_s"] for r in runs) else float("nan"))
        cpu = statistics.median(r["cpu_s"] for r in runs)
        f1 = statistics.median(r["macro_f1"] for r in runs)
        print(f"| {backend} | {side} | {fit:.1f} | {epoch:.2f} | {cpu:.1f} | {f1:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

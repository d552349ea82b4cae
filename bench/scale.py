"""Scale: 100k rows end to end — read and inspect, preprocess, one training epoch, evaluate — with the wall time of
each stage and the process's peak resident memory after it. Target: under 2 GB peak.

    .venv/bin/python bench/scale.py                 # 100,000 rows (about 5-10 min on 2 cores)
    .venv/bin/python bench/scale.py --rows 20000

The rows are the built-in FAA phase-of-flight remarks (14,903 real reports, 8 classes) repeated, each copy with a
row number appended so texts are not exact duplicates. They go through the same path an upload does: CSV bytes →
read_csv_bytes → build_dataset → triage (with the TF-IDF baseline) → preprocess → split → vectorize → class
weights → the recommended model for one epoch → test-split evaluation → run record.
Exits non-zero if a stage failed.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data import build_dataset, read_csv_bytes  # noqa: E402
from core.datasets import load_builtin  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def csv_of(rows: int) -> bytes:
    frame = load_builtin("faa-bird-strikes-phase").frame
    copies = -(-rows // len(frame))
    import pandas as pd

    big = pd.concat([frame] * copies, ignore_index=True).iloc[:rows].copy()
    big["remarks"] = big["remarks"] + " #" + big.index.astype(str)
    buffer = io.StringIO()
    big.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    stages: list[tuple[str, float, float]] = []
    clock = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages.append((name, now - clock, peak_mb()))
        print(f"{name}: {now - clock:.1f} s, peak {peak_mb():.0f} MB", file=sys.stderr)
        clock = time.perf_counter()

    raw = csv_of(args.rows)
    clock = time.perf_counter()
    config = apply_overrides(ExperimentConfig(), ["training.epochs=1"])
    dataset = build_dataset(read_csv_bytes(raw, source_name="scale.csv"), "remarks", "phase_of_flt")
    mark("read + validate CSV")
    from core.triage import triage

    report = triage(dataset, config)
    mark("inspect (triage + TF-IDF baseline)")

    from core.preprocessing import preprocess

    processed, _ = preprocess(dataset.texts, config.preprocessing)
    mark("preprocess")

    from core.experiment import run_experiment

    with tempfile.TemporaryDirectory() as runs_dir:
        timings = {}

        def listener(event):
            if event.kind == "start":
                timings["fit_started"] = time.perf_counter()
            elif event.kind == "end":
                timings["fit_ended"] = time.perf_counter()

        started = time.perf_counter()
        result = run_experiment(dataset, config, listener=listener, runs_dir=runs_dir, preprocessed=(processed, _))
        ended = time.perf_counter()
    fit = timings["fit_ended"] - timings["fit_started"]
    stages.append(("split + vectorize + build model", timings["fit_started"] - started, peak_mb()))
    stages.append(("one training epoch (incl. validation)", fit, peak_mb()))
    stages.append(("evaluate + baseline + save run", ended - timings["fit_ended"], peak_mb()))
    print(f"\n{len(dataset.texts):,} rows, {len(dataset.class_names)} classes, {report.vocabulary_size:,} distinct tokens; "
          f"max length {result.metrics.vectorizing.max_length}; test macro-F1 after one epoch "
          f"{result.metrics.test.macro_f1:.3f} (baseline {result.metrics.baseline.macro_f1:.3f}).\n")
    print("| stage | seconds | peak RSS after (MB) |")
    print("|---|---|---|")
    for name, seconds, peak in stages:
        print(f"| {name} | {seconds:.1f} | {peak:.0f} |")
    top = max(peak for _, _, peak in stages)
    print(f"\npeak resident memory {top:.0f} MB (target < 2048 MB: {'met' if top < 2048 else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

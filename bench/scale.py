"""Scale: 100k rows end to end — read and inspect, preprocess, one training epoch, evaluate — with the wall time of
each stage and the process's peak resident memory after it. Target: under 2 GB peak.

    .venv/bin/python bench/scale.py                 # 100,000 rows (about 5-10 min on 2 cores)
    .venv/bin/python bench/scale.py --rows 20000
    .venv/bin/python bench/scale.py --inspect       # 1,000,000 rows: `inspect`'s peak memory and time (~5 min)

With ``--inspect`` each path runs in a fresh child process that reports its own peak (VmHWM) as it exits:
`python -m core inspect` with and without the baseline, and the dashboard's calls (read_csv_bytes with the upload
held, build_dataset, preprocess, triage(include_baseline=False, processed=...), then the baseline). Target: peak
<= 3 x the file size + 500 MB.

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data.builtin import load_builtin  # noqa: E402
from core.data.dataset import build_dataset  # noqa: E402
from core.data.reading import read_csv_bytes  # noqa: E402


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


ROOT = Path(__file__).resolve().parent.parent
# Runs `python -m core ...` and then, as the interpreter exits, appends its peak resident memory to stderr.
_CLI_CHILD = """
import atexit, runpy, sys
def report():
    with open("/proc/self/status") as handle:
        peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM"))
    sys.stderr.write(f"\\nVmHWM_KB {peak}\\n")
atexit.register(report)
sys.argv = ["core", *sys.argv[1:]]
runpy.run_module("core", run_name="__main__", alter_sys=True)
"""

# The dashboard's calls (components/frame/cached.py), the upload's bytes held as the session holds them.
_DASHBOARD_CHILD = """
import sys
from core.config import ExperimentConfig
from core.data.dataset import build_dataset, read_csv_bytes
from core.text.preprocessing import preprocess
from core.data.splitting import stratified_split
from core.evidence.triage import capped_baseline, triage
raw = open(sys.argv[1], "rb").read()
table = read_csv_bytes(raw, source_name="scale.csv")
dataset = build_dataset(table, None, "phase_of_flt")
config = ExperimentConfig()
processed = preprocess(dataset.texts, config.preprocessing)[0]
report = triage(dataset, config, include_baseline=False, processed=processed)
split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
baseline = capped_baseline(processed, dataset.y, split, dataset.class_names, seed=config.seed)
print(f"baseline fitted on {baseline.fitted_on}: macro-F1 {baseline.macro_f1:.3f}")
with open("/proc/self/status") as handle:
    peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM"))
sys.stderr.write(f"\\nVmHWM_KB {peak}\\n")
"""


def _child(code: str, args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak bytes and stdout of one child process (exits on failure with its stderr)."""
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    seconds = time.perf_counter() - started
    peaks = [line for line in completed.stderr.splitlines() if line.startswith("VmHWM_KB ")]
    if completed.returncode != 0 or not peaks:
        sys.exit(f"child failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return seconds, int(peaks[-1].split()[1]) * 1024, completed.stdout


def inspect_memory(rows: int) -> int:
    """Peak memory and time of `inspect` and of the dashboard's calls on ``rows`` FAA-like rows, as a table.

    Sizes in MB of 10^6 bytes, so that "3 x the file + 500 MB" means one thing.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scale.csv"
        path.write_bytes(csv_of(rows))
        size = path.stat().st_size
        target = 3 * size + 500e6
        runs = [
            ("inspect --no-baseline", _CLI_CHILD,
             ["inspect", str(path), "--label-col", "phase_of_flt", "--no-baseline"]),
            ("inspect (with baseline)", _CLI_CHILD, ["inspect", str(path), "--label-col", "phase_of_flt"]),
            ("dashboard calls, upload and table held", _DASHBOARD_CHILD, [str(path)]),
        ]
        print(f"{rows:,} rows, {size / 1e6:.1f} MB CSV; target peak <= 3 x file + 500 MB = {target / 1e6:.0f} MB\n")
        print("| path | seconds | peak RSS (MB) | peak / file size | target met |")
        print("|---|---|---|---|---|")
        met = True
        for name, code, args in runs:
            seconds, peak, stdout = _child(code, args)
            fitted = next((line for line in stdout.splitlines() if "fitted on" in line), "")
            met &= peak <= target
            print(f"| {name} | {seconds:.0f} | {peak / 1e6:.0f} | {peak / size:.1f}x | "
                  f"{'yes' if peak <= target else 'NO'} |", flush=True)
            if fitted:
                print(f"<!-- {fitted.strip()} -->", flush=True)
    print(f"\ntarget {'met' if met else 'NOT met'} on every path")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None,
                        help="rows to generate (default 100,000; 1,000,000 with --inspect)")
    parser.add_argument("--inspect", action="store_true", help="measure `inspect`'s peak memory in child processes")
    args = parser.parse_args(argv)
    if args.inspect:
        return inspect_memory(args.rows or 1_000_000)
    args.rows = args.rows or 100_000
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
    from core.evidence.triage import triage

    report = triage(dataset, config)
    mark("inspect (triage + TF-IDF baseline)")

    from core.text.preprocessing import preprocess

    processed, _ = preprocess(dataset.texts, config.preprocessing)
    mark("preprocess")

    from core.training.experiment import run_experiment

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
    print(f"\n{len(dataset.texts):,} rows, {len(dataset.class_names)} classes, "
          f"{report.vocabulary_size:,} distinct tokens; "
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

"""Cold start: from `streamlit run app.py` to the first page's content rendered in headless Chromium, against a
one-line Streamlit app started the same way. Target: <= 1.5x the one-line app.

    .venv/bin/python bench/cold_start.py            # 5 alternating pairs
    .venv/bin/python bench/cold_start.py --pairs 3

"Content rendered" means, for LSTM Text Lab, the Data page's first triage figure (the "Rows kept" metric of the
built-in dataset) and, separately, the whole triage report (the class-distribution chart drawn); for the one-line
app, its one line of text. The browser is started before the clock; each server is a fresh process with a fresh
cache. Needs Debian's chromium and the playwright package (see tests/browser_support.py).
Exits non-zero if a run failed, not if the target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

ONE_LINE_APP = 'import streamlit as st\nst.write("hello from a one-line app")\n'


def start(script: str, port: int, runs_dir: str) -> subprocess.Popen:
    env = {**os.environ, "LSTM_TEXT_LAB_RUNS": runs_dir, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def time_to(page, url: str, started: float, selectors: list[str], timeout: float = 120.0) -> list[float]:
    """Seconds from ``started`` until each selector is visible (in order)."""
    deadline = started + timeout
    while True:
        try:
            page.goto(url, timeout=2000)
            break
        except Exception:  # server not listening yet
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.05)
    marks = []
    for selector in selectors:
        page.locator(selector).first.wait_for(state="visible", timeout=max(1, deadline - time.perf_counter()) * 1000)
        marks.append(time.perf_counter() - started)
    return marks


def measure(browser, script: str, selectors: list[str]) -> list[float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as runs_dir:
        page = browser.new_context().new_page()
        started = time.perf_counter()
        process = start(script, port, runs_dir)
        try:
            return time_to(page, f"http://127.0.0.1:{port}", started, selectors)
        finally:
            page.context.close()
            os.killpg(process.pid, 15)
            process.wait(timeout=20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    lab_first, lab_full, baseline = [], [], []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        one_line = Path(folder) / "one_line_app.py"
        one_line.write_text(ONE_LINE_APP)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for pair in range(args.pairs):
            for side in (("lab", "one-line"), ("one-line", "lab"))[pair % 2]:
                if side == "lab":
                    first, full = measure(browser, "app.py", ['[data-testid="stMetricValue"]', ".stVegaLiteChart canvas, [data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"])
                    lab_first.append(first)
                    lab_full.append(full)
                else:
                    baseline.append(measure(browser, str(one_line), ["text=hello from a one-line app"])[0])
            print(f"pair {pair + 1}: lab {lab_first[-1]:.2f} s (full report {lab_full[-1]:.2f} s), one-line {baseline[-1]:.2f} s", file=sys.stderr)
        browser.close()
    one = statistics.median(baseline)
    first, full = statistics.median(lab_first), statistics.median(lab_full)
    print(f"\n{args.pairs} alternating pairs, medians; Streamlit started fresh each time; chromium already running.\n")
    print("| app, until | seconds (median) | ratio to one-line app |")
    print("|---|---|---|")
    print(f"| one-line app, its text | {one:.2f} | 1.00 |")
    print(f"| LSTM Text Lab, first triage figure | {first:.2f} | {first / one:.2f} |")
    print(f"| LSTM Text Lab, whole triage report | {full:.2f} | {full / one:.2f} |")
    print(f"\ntarget <= 1.5x (first content): {'met' if first / one <= 1.5 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cold start: from `streamlit run app.py` to the first page's content rendered in headless Chromium, against a
one-line Streamlit app started the same way. Target: <= 1.25x the one-line app.

    .venv/bin/python bench/cold_start.py            # 5 rounds, each app once per round
    .venv/bin/python bench/cold_start.py --pairs 3

"Content rendered" means, for LSTM Text Lab, the Data page's first triage figure (the "Rows kept" metric of the
built-in dataset) and, separately, the whole triage report (the class-distribution chart drawn); for the one-line
app, its one line of text. A third app shows the same widgets as the lab's first screen, up to its first figure,
with Streamlit alone (no data, no lab code): what the browser needs for those widgets, whatever the app computes.
The browser is started before the clock; each server is a fresh process with a fresh cache. Needs Debian's chromium
and the playwright package (see tests/browser_support.py).
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
# What the lab's first screen shows up to its first triage figure, with Streamlit alone: the wide layout, the
# navigation of nine pages with Material icons, a sidebar, the title, the data-source control, three select boxes
# and five metric tiles. No pandas, no data, no lab module. Its time is the floor any app with this screen pays
# (the browser fetches each widget's code on first use).
CONTROL_APP = '''
import streamlit as st

st.set_page_config(page_title="Control", page_icon=":material/science:", layout="wide")
ICONS = ["table_view", "cleaning_services", "balance", "neurology", "model_training", "experiment", "target",
         "folder_open", "school"]


def first_page():
    st.title("Data")
    st.caption("Load a labelled text dataset and see what you are up against before training.")
    st.segmented_control("Data source", ["Built-in dataset", "Upload a CSV"], default="Built-in dataset")
    st.selectbox("Built-in dataset", ["FAA bird strikes: effect", "NACE sections"])
    st.caption("A description of the dataset.")
    left, right = st.columns(2)
    left.selectbox("Text column", ["remarks", "effect"])
    right.selectbox("Label column", ["effect", "remarks"], index=0)
    st.caption("Guessed: the longest texts and a column with few values.")
    for column, (label, value) in zip(st.columns(5), [("Rows kept", "1,900"), ("Classes", 5), ("Imbalance", "21:1"),
                                                       ("Majority-class accuracy", "57.1%"), ("Baseline macro-F1", "…")]):
        column.metric(label, value, help="A figure.")


def other_page():
    st.title("Another page")


pages = [st.Page(first_page, title="Data", icon=f":material/{ICONS[0]}:", default=True)]
pages += [st.Page(other_page, title=f"Page {i}", icon=f":material/{icon}:", url_path=f"page{i}") for i, icon in enumerate(ICONS[1:])]
navigation = st.navigation(pages)
with st.sidebar:
    st.caption("Data: FAA bird strikes")
    with st.expander("Share these settings"):
        st.code("http://localhost:8501/?s=abc", language=None)
navigation.run()
'''  # noqa: E501 (the control app's source, kept as it is)


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
    parser.add_argument("--pairs", type=int, default=5, help="rounds; each round starts all three apps once")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"lab": [], "lab full": [], "control": [], "one-line": []}
    metric = '[data-testid="stMetricValue"]'
    chart = ".stVegaLiteChart canvas, [data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        apps = {"one-line": Path(folder) / "one_line_app.py", "control": Path(folder) / "same_widgets_app.py"}
        apps["one-line"].write_text(ONE_LINE_APP)
        apps["control"].write_text(CONTROL_APP)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for round_ in range(args.pairs):
                order = ["lab", "control", "one-line"]
                order = order[round_ % 3:] + order[:round_ % 3]  # each app takes each slot in turn
                for side in order:
                    if side == "lab":
                        first, full = measure(browser, "app.py", [metric, chart])
                        times["lab"].append(first)
                        times["lab full"].append(full)
                    elif side == "control":
                        times["control"].append(measure(browser, str(apps["control"]), [metric])[0])
                    else:
                        times["one-line"].append(measure(browser, str(apps["one-line"]),
                                                         ["text=hello from a one-line app"])[0])
                print(f"round {round_ + 1}: lab {times['lab'][-1]:.2f} s "
                      f"(full report {times['lab full'][-1]:.2f} s), "
                      f"same widgets without the lab {times['control'][-1]:.2f} s, "
                      f"one-line {times['one-line'][-1]:.2f} s",
                      file=sys.stderr)
        finally:
            browser.close()
    one = statistics.median(times["one-line"])
    print(f"\n{args.pairs} rounds (each app once per round, order rotating), "
          "medians and the range of per-round ratios; "
          "Streamlit started fresh each time; chromium already running.\n")
    print("| app, until | seconds (median) | ratio to one-line app | per-round ratios |")
    print("|---|---|---|---|")
    rows = [("one-line app, its text", "one-line"),
            ("the lab's first-screen widgets without the lab (no data, no imports), first metric", "control"),
            ("LSTM Text Lab, first triage figure", "lab"), ("LSTM Text Lab, whole triage report", "lab full")]
    for title, key in rows:
        ratios = [t / o for t, o in zip(times[key], times["one-line"])]
        median = statistics.median(times[key])
        print(f"| {title} | {median:.2f} | {median / one:.2f} | {min(ratios):.2f}-{max(ratios):.2f} |")
    first = statistics.median(times["lab"])
    control = statistics.median(times["control"])
    print(f"\ntarget <= 1.25x (first content): {'met' if first / one <= 1.25 else 'not met'}; "
          f"the same widgets alone take {control / one:.2f}x, the lab's own work adds {first - control:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluate open: from clicking "Evaluate" in the sidebar to a usable page, on the first opening of a saved run, in
headless Chromium at 1024 x 768 against `streamlit run app.py`. Target: <= 5 s to usable.

    .venv/bin/python bench/evaluate_open.py --before /tmp/before --repeats 3
    .venv/bin/python bench/evaluate_open.py --run runs/20261206-210710-43016b --repeats 2 --json out.json

"Usable" means the headline metrics and the confusion matrix are drawn, every section of the page is there (down to
its last one, the training-curves expander), and a click on the matrix's "Row-normalized" switch has redrawn it. The
last two matter: with Streamlit's fast reruns a click is answered above a section that is still computing, while
everything below that section (before: the faithfulness section, which measured while the page waited) is missing.
Also timed, from the same click on "Evaluate": the faithfulness verdict on the page and the misclassified example's
shading, which may come later (computed in the background).

Each opening is the first of its run on a fresh server: a fresh runs folder holding one copy of the run without a
faithfulness report (as a run trained before this version, or by the CLI, is), a fresh `streamlit run` and a fresh
model server, the browser started before the clock. The clock starts once the first page (Data) has finished its
script run, as when someone looks at the data before opening a run: its imports are that page's cost. ``--before``
names a folder holding the code to compare against (e.g. the merge base, exported with
`git archive <commit> | tar -x -C /tmp/before`); it runs with this checkout's virtual environment. Without ``--run``
a run of the built-in data is trained first (`python -m core train --demo`).
Needs Debian's chromium and the playwright package (tests/support/browser.py). Prints a table; exits non-zero if an
opening failed, not if the target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

TARGET_SECONDS = 5.0
VIEWPORT = {"width": 1024, "height": 768}
VERDICT = r"most faithful explanation for this model|No explanation beats random|No explanation could be scored"
LAST_SECTION = "Training curves, split and resampling audit"  # the expander that ends the Evaluate page
LATER_LIMIT_S = 400.0  # how long to wait for the verdict and the example after the page is usable


@contextlib.contextmanager
def server(root: Path, runs: Path, log: Path):
    """`streamlit run app.py` from ``root`` on a free port; the whole process group is ended afterwards."""
    port = free_port()
    env = {**os.environ, "LSTM_TEXT_LAB_RUNS": str(runs), "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true"],
            cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        os.killpg(process.pid, 15)  # the server, its model server and any measuring process
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def fresh_runs(run: Path, folder: Path) -> Path:
    """A runs folder with one copy of the run, without any faithfulness report or progress file."""
    runs = folder / "runs"
    target = runs / run.name
    shutil.copytree(run, target)
    for name in ("faithfulness.json", ".faithfulness-progress"):
        (target / name).unlink(missing_ok=True)
    return runs


def settle(page, quiet_s: float = 2.0, limit_s: float = 240.0) -> None:
    """Wait until the app has not been running a script for ``quiet_s`` seconds in a row."""
    running = page.locator('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')
    deadline, quiet_since = time.time() + limit_s, time.time()
    while time.time() < deadline:
        if running.count():
            quiet_since = time.time()
        elif time.time() - quiet_since >= quiet_s:
            return
        time.sleep(0.1)


def answered_click(page, expect, timeout_s: float) -> None:
    """Switch the confusion matrix to row-normalized and wait until it is redrawn so: the switch is a rerun, which a
    page whose script is still running answers only when that run ends."""
    page.get_by_role("radio", name="Row-normalized").first.click()
    redrawn = page.locator(".st-key-cm_chart text", has_text="% of each true class").first
    expect(redrawn).to_be_attached(timeout=int(timeout_s * 1000))


def open_once(root: Path, run: Path, work: Path, playwright, later_limit: float = LATER_LIMIT_S) -> dict:
    from playwright.sync_api import expect

    runs = fresh_runs(run, work)
    with server(root, runs, work / "streamlit.log") as url:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            nav = page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Evaluate", exact=True)
            expect(nav).to_be_visible(timeout=120_000)
            expect(page.locator('[data-testid="stMetricValue"]').first).to_be_visible(timeout=120_000)
            settle(page)  # the Data page has finished (its imports are its own cost, not Evaluate's)
            started = time.perf_counter()
            nav.click()
            expect(page.get_by_role("heading", name="Evaluate")).to_be_visible(timeout=120_000)
            expect(page.locator(".st-key-headline_metrics [data-testid='stMetricValue']").first).to_be_visible(
                timeout=600_000)
            expect(page.locator(".st-key-cm_chart canvas, .st-key-cm_chart svg").first).to_be_visible(timeout=600_000)
            drawn = time.perf_counter() - started
            expect(page.get_by_text(LAST_SECTION).first).to_be_visible(timeout=600_000)
            complete = time.perf_counter() - started
            answered_click(page, expect, 600)
            usable = time.perf_counter() - started
            timings = {"drawn_s": round(drawn, 2), "complete_s": round(complete, 2), "usable_s": round(usable, 2)}
            later = {"verdict_s": page.get_by_text(re.compile(VERDICT)).first,
                     "example_s": page.locator('[class*="st-key-token_heatmap_example_"] .token-shading').first}
            timings.update({name: None for name in later})
            deadline = time.perf_counter() + later_limit
            while time.perf_counter() < deadline and any(timings[name] is None for name in later):
                for name, locator in later.items():
                    if timings[name] is None and locator.count() and locator.is_visible():
                        timings[name] = round(time.perf_counter() - started, 2)
                time.sleep(0.25)
            return timings
        finally:
            browser.close()


def train_run(folder: Path) -> Path:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "core", "train", "--demo", "--epochs", "3", "--runs-dir", str(folder),
                           "--json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return Path(json.loads(done.stdout.strip().splitlines()[-1])["run_dir"])


def spread(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    middle = statistics.median(values)
    return f"{middle:6.1f} s (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a saved run folder (default: train one on the built-in data)")
    parser.add_argument("--before", type=Path, help="a folder holding the code to compare against")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every opening's timings here")
    parser.add_argument("--later", type=float, default=LATER_LIMIT_S,
                        help="seconds to wait for the verdict and the explained example after the page is usable")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="evaluate-open-") as scratch:
        scratch = Path(scratch)
        run = args.run or train_run(scratch / "trained")
        variants = [("before", args.before)] if args.before else []
        variants.append(("after", ROOT))
        results: dict[str, list[dict]] = {name: [] for name, _ in variants}
        failed = 0
        with sync_playwright() as playwright:
            for repeat in range(args.repeats):  # interleaved, so a change in machine load hits both alike
                for name, root in variants:
                    work = scratch / f"{name}-{repeat}"
                    work.mkdir()
                    try:
                        timings = open_once(root, run, work, playwright, args.later)
                    except Exception as exc:  # noqa: BLE001 - report and go on with the other openings
                        failed += 1
                        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        print(f"{name} #{repeat + 1}: failed ({type(exc).__name__}: {first_line})", flush=True)
                        continue
                    results[name].append(timings)
                    print(f"{name} #{repeat + 1}: {timings}", flush=True)
    print(f"\nEvaluate open, first opening of a saved run without a faithfulness report, 1024 x 768, "
          f"median (min, max) over {args.repeats} fresh servers each; load average {os.getloadavg()[0]:.1f}")
    for name, rows in results.items():
        print(f"{name:>6}: usable {spread([r['usable_s'] for r in rows])}\n        metrics + matrix drawn "
              f"{spread([r['drawn_s'] for r in rows])} | whole page {spread([r['complete_s'] for r in rows])}\n"
              f"        verdict {spread([r.get('verdict_s') for r in rows])} | example explained "
              f"{spread([r.get('example_s') for r in rows])}")
    usable = [r["usable_s"] for r in results["after"]]
    if usable:
        print(f"target <= {TARGET_SECONDS:.0f} s to usable: {'met' if max(usable) <= TARGET_SECONDS else 'missed'} "
              f"(worst {max(usable):.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

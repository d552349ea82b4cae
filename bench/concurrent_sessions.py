"""Ten browser sessions opening the first page of a freshly started server at once, against one session alone.

    .venv/bin/python bench/concurrent_sessions.py                 # 10 sessions, 3 rounds
    .venv/bin/python bench/concurrent_sessions.py --sessions 5 --rounds 5

Each round starts two fresh servers (`streamlit run app.py`, fresh cache), one after the other, alternating which
goes first: on one a single browser session opens the Data page; on the other ten sessions open it at the same
moment (one Chromium, ten contexts). The clock of each session starts when it asks for the page (the server is up
already) and stops when the first triage figure ("Rows kept") is visible; the whole report is not waited for.
Target: every one of the ten within 2x the single session's time (compared round by round, then over all rounds).
Needs Debian's chromium and the playwright package (see tests/browser_support.py).
Exits non-zero if a session failed or did not show the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

FIRST_FIGURE = '[data-testid="stMetricValue"]'


async def _open(browser, url: str, timeout_s: float) -> float:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        started = time.perf_counter()
        await page.goto(url, timeout=timeout_s * 1000)
        await page.locator(FIRST_FIGURE).first.wait_for(state="visible", timeout=timeout_s * 1000)
        return time.perf_counter() - started
    finally:
        await context.close()


async def sessions_at_once(count: int, timeout_s: float) -> list[float]:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        runs.mkdir()
        with streamlit_server(runs) as url:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    return list(await asyncio.gather(*(_open(browser, url, timeout_s) for _ in range(count))))
                finally:
                    await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a session may take")
    args = parser.parse_args(argv)
    singles, crowds = [], []
    for round_number in range(args.rounds):
        order = ("single", "crowd") if round_number % 2 == 0 else ("crowd", "single")
        for side in order:
            if side == "single":
                singles.append(asyncio.run(sessions_at_once(1, args.timeout))[0])
            else:
                crowds.append(sorted(asyncio.run(sessions_at_once(args.sessions, args.timeout))))
        print(f"round {round_number + 1}: one session {singles[-1]:.2f} s; {args.sessions} at once: "
              f"{', '.join(f'{t:.1f}' for t in crowds[-1])} s", file=sys.stderr)
    single = statistics.median(singles)
    print(f"\nFresh server per side, {args.rounds} alternating rounds; seconds from asking for the Data page to its "
          f"first triage figure.\n")
    print("| round | one session alone | slowest of the crowd | median of the crowd | slowest / alone |")
    print("|---|---|---|---|---|")
    worst = []
    for number, (alone, crowd) in enumerate(zip(singles, crowds), start=1):
        worst.append(crowd[-1] / alone)
        print(f"| {number} | {alone:.2f} | {crowd[-1]:.2f} | {statistics.median(crowd):.2f} | {worst[-1]:.2f}x |")
    slowest = statistics.median(crowd[-1] for crowd in crowds)
    print(f"\n{args.sessions} sessions at once: slowest {slowest:.2f} s (median over rounds) vs one session {single:.2f} s "
          f"= {slowest / single:.2f}x (per round {min(worst):.2f}-{max(worst):.2f}x); target <= 2x: "
          f"{'met' if slowest / single <= 2 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

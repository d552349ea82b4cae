"""Ten browser sessions opening the first page of a freshly started server at once, against one session alone.

    .venv/bin/python bench/concurrent_sessions.py                 # 10 sessions, 3 rounds
    .venv/bin/python bench/concurrent_sessions.py --sessions 5 --rounds 5

Each round starts two fresh servers (`streamlit run app.py`, fresh cache), one after the other, alternating which
goes first: on one a single browser session opens the Data page; on the other ten sessions open it at the same
moment (one Chromium, ten contexts). The clock of each session starts when it asks for the page (the server is up
already) and stops when the first triage figure ("Rows kept") is visible; the whole report is not waited for.
Target: every one of the ten within 2x the single session's time (compared round by round, then over all rounds).
Also measured, from the moment the sessions ask until the last one has its figure: the CPU seconds the whole
machine spent (/proc/stat: every process, the browser's included) and the server's share (/proc/PID/stat of the
`streamlit run` process and its threads). CPU seconds per session divided by the machine's cores is the least
wall time a crowd can take, whatever the server does.
Needs Debian's chromium and the playwright package (see tests/browser_support.py).
Exits non-zero if a session failed or did not show the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent on anything but idling and waiting for disks, since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def process_seconds(pid: int) -> float:
    """CPU seconds of one process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(command) and port.encode() in command:
                return int(entry.name)
    raise RuntimeError(f"no streamlit process listens on port {port}")

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


async def sessions_at_once(count: int, timeout_s: float) -> tuple[list[float], dict]:
    """Each session's seconds to the first figure, and the CPU seconds spent meanwhile (machine, server)."""
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        runs.mkdir()
        with streamlit_server(runs) as url:
            server = server_pid(url)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    machine, served, started = machine_busy_seconds(), process_seconds(server), time.perf_counter()
                    times = list(await asyncio.gather(*(_open(browser, url, timeout_s) for _ in range(count))))
                    cpu = {"machine": machine_busy_seconds() - machine, "server": process_seconds(server) - served,
                           "wall": time.perf_counter() - started}
                    return times, cpu
                finally:
                    await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a session may take")
    args = parser.parse_args(argv)
    singles, crowds, cpu = [], [], {"single": [], "crowd": []}
    for round_number in range(args.rounds):
        order = ("single", "crowd") if round_number % 2 == 0 else ("crowd", "single")
        for side in order:
            if side == "single":
                times, spent = asyncio.run(sessions_at_once(1, args.timeout))
                singles.append(times[0])
            else:
                times, spent = asyncio.run(sessions_at_once(args.sessions, args.timeout))
                crowds.append(sorted(times))
            cpu[side].append(spent)
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
    cores = os.cpu_count() or 1
    print(f"\nCPU seconds spent while the sessions loaded ({cores} cores):\n")
    print("| round | side | wall s | machine CPU s | server CPU s | everything else (browser) CPU s | machine busy |")
    print("|---|---|---|---|---|---|---|")
    for side in ("single", "crowd"):
        for number, spent in enumerate(cpu[side], start=1):
            print(f"| {number} | {side} | {spent['wall']:.2f} | {spent['machine']:.2f} | {spent['server']:.2f} | "
                  f"{spent['machine'] - spent['server']:.2f} | {spent['machine'] / (spent['wall'] * cores):.0%} |")
    per_session = statistics.median(spent["machine"] for spent in cpu["crowd"]) / args.sessions
    floor = per_session * args.sessions / cores
    browser = statistics.median(spent["machine"] - spent["server"] for spent in cpu["crowd"]) / cores
    print(f"\nThe crowd costs {per_session:.2f} CPU s per session; {args.sessions} of them on {cores} cores cannot all "
          f"finish sooner than {floor:.2f} s = {floor / statistics.median(singles):.2f}x one session alone. Even a "
          f"server that cost nothing would leave the browsers' own work: {browser:.2f} s = "
          f"{browser / statistics.median(singles):.2f}x.")
    slowest = statistics.median(crowd[-1] for crowd in crowds)
    print(f"\n{args.sessions} sessions at once: slowest {slowest:.2f} s (median over rounds) "
          f"vs one session {single:.2f} s "
          f"= {slowest / single:.2f}x (per round {min(worst):.2f}-{max(worst):.2f}x); target <= 2x: "
          f"{'met' if slowest / single <= 2 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

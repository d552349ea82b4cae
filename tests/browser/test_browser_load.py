"""A classroom at once, in a real browser: ten sessions open the app together on a fresh server, three of them start
a training at the same moment, and two reload their tabs while their jobs are still queued or running.

Everything stays on loopback (`streamlit run` on 127.0.0.1, Debian's chromium driven by Playwright) and is bounded:
each wait has a timeout and the whole test gives up after ``BUDGET_S``. Tiny settings come in through the link
(the lab session's shareable query), exactly as a teacher's shared link would bring them.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from components.frame.navigation import PAGES as NAVIGATION
from support.browser import CHROMIUM, CHROMIUM_ARGS, require_browser, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 10
TRAINERS = 3
BUDGET_S = 330
PAGES = tuple(page.title for page in NAVIGATION)  # every page the sidebar lists
TINY = "embedding_dim=16&lstm_units=8&attention_units=8&bidirectional=false&epochs=2"
QUEUED = re.compile(r"Queued: position (\d)")


async def _healthy(page) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("stException")).to_have_count(0)
    await expect(page.get_by_text("Something went wrong on this page")).to_have_count(0)


async def _visit_every_page(page, url: str) -> float:
    """Open the app and every page in the sidebar's order; return the seconds it took."""
    from playwright.async_api import expect

    started = time.monotonic()
    await page.goto(url)
    await expect(page.get_by_text("Class distribution")).to_be_visible()
    for name in PAGES:
        await page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=name, exact=True).click()
        await expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        await expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)  # the page finished running
        await _healthy(page)
    return time.monotonic() - started


async def _progress_text(page) -> str:
    bar = page.get_by_test_id("stProgress")
    return (await bar.first.inner_text()) if await bar.count() else ""


async def _classroom(url: str) -> dict:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=90_000)
    report: dict = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = [await browser.new_context(viewport={"width": 1024, "height": 768}) for _ in range(SESSIONS)]
        pages = [await context.new_page() for context in contexts]

        # 1. Ten sessions open the app at once on a fresh server; each walks through every page.
        report["page_walk_s"] = await asyncio.gather(*(_visit_every_page(page, url) for page in pages))

        # 2. Three of them open a link with tiny settings and press Start together.
        trainers = pages[:TRAINERS]
        await asyncio.gather(*(page.goto(f"{url}/train?{TINY}") for page in trainers))
        for page in trainers:
            await expect(page.get_by_text("up to 2 epochs", exact=False)).to_be_visible()
        await asyncio.gather(*(page.locator(".st-key-train_start button").first.click() for page in trainers))
        for page in trainers:
            await expect(page.locator(".st-key-train_stop button").first).to_be_visible()

        # 3. One trains, the other two are told their place in the queue.
        deadline = time.monotonic() + 60
        positions: dict[int, int] = {}
        while time.monotonic() < deadline and len(positions) < TRAINERS - 1:
            for index, page in enumerate(trainers):
                found = QUEUED.search(await _progress_text(page))
                if found:
                    positions[index] = int(found.group(1))
            await asyncio.sleep(0.3)
        report["queue_positions"] = sorted(positions.values())
        assert report["queue_positions"] == [1, 2], report
        waiting = trainers[next(iter(positions))]
        await expect(waiting.get_by_test_id("stSidebar").get_by_text("(yours)", exact=False)).to_be_visible()
        running = trainers[next(i for i in range(TRAINERS) if i not in positions)]
        last = trainers[next(i for i, position in positions.items() if position == 2)]

        # 4. Tabs reload: the same jobs come back. The last in the queue cannot have finished yet, so its tab must show
        # Stop again and then its live curves; the running one (a warm worker trains these tiny settings in seconds,
        # maybe faster than a reload under this load) shows Stop or its finished run, and its epoch times.
        await asyncio.gather(running.reload(), last.reload())
        await expect(last.locator(".st-key-train_stop button").first).to_be_visible()
        finished = running.get_by_text("finished; the run is saved", exact=False)
        await expect(running.locator(".st-key-train_stop button").first.or_(finished)).to_be_visible()
        await expect(running.get_by_text("Epoch times: 1:", exact=False)).to_be_visible(timeout=150_000)
        await expect(last.get_by_test_id("stProgress").get_by_text(re.compile(r"epoch [12] of 2"))).to_be_visible(
            timeout=150_000)
        await expect(last.get_by_text("Epoch times: 1:", exact=False)).to_be_visible(timeout=150_000)

        # 5. All three runs finish; nobody sees an exception.
        for page in trainers:
            await expect(page.get_by_text("finished; the run is saved", exact=False)).to_be_visible(timeout=240_000)
            await _healthy(page)
        onlooker = pages[-1]
        await onlooker.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Runs", exact=True).click()
        await expect(onlooker.get_by_role("button", name="Download the runs table (CSV)")).to_be_visible()
        await _healthy(onlooker)
        await browser.close()
    return report


def test_ten_sessions_three_trainings_and_a_reload(tmp_path):
    require_browser()
    started = time.monotonic()
    with streamlit_server(tmp_path / "runs") as url:
        report = asyncio.run(asyncio.wait_for(_classroom(url), timeout=BUDGET_S))
    runs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == TRAINERS and all((run / "model.keras").is_file() for run in runs)
    print(f"\nload test: page walks {[round(s, 1) for s in report['page_walk_s']]} s, "
          f"queue positions {report['queue_positions']}, total {time.monotonic() - started:.0f} s")

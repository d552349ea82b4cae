"""Teaching mode in a real browser at projector size (1024×768): start a lesson and see both runs and the coach's
verdict, move Evaluate's replay slider from the last epoch to the first and see the confusion matrix change, and look
at every page, checking that the tables' identifying and deciding columns stay in view.

Debian's chromium is driven by Playwright (no browser download). Screenshots of every page go to
$LSTM_TEXT_LAB_SCREENSHOTS when set (else to the test's temporary folder), for a person to look at.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from support.browser import CHROMIUM, CHROMIUM_ARGS, nav, require_browser, screenshots_folder, settle, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECTOR = {"width": 1024, "height": 768}
PAGES = ("Data", "Preprocess", "Resample", "Model", "Train", "Study", "Evaluate", "Runs", "Lessons")
COACH_SAYS = re.compile(r"Learning rate too (high|low)|Overfitting|Underfitting|Still learning|never predicted|"
                        r"Texts cut short|Below the simple baseline|Attention follows position|nothing to flag")
LESSON = "5. Sequence length: what truncation throws away"  # the shipped lesson with two variants


def _shoot(page, folder: Path, name: str, limit: int = 12) -> None:
    """The page at the viewport's size, scrolled screen by screen (Streamlit scrolls an inner element)."""
    main = '[data-testid="stMain"]'
    total = page.eval_on_selector(main, "element => element.scrollHeight")
    step = PROJECTOR["height"] - 100
    for index in range(min(limit, total // step + 1)):
        page.eval_on_selector(main, f"element => element.scrollTo(0, {index * step})")
        time.sleep(0.4)
        page.screenshot(path=str(folder / f"{name.lower()}-{PROJECTOR['width']}-{index}.png"))
    page.eval_on_selector(main, "element => element.scrollTo(0, 0)")


def _grid(page, container: str):
    return page.locator(f"{container} .dvn-scroller").first


def _headers(page, container: str) -> list[str]:
    """The column headers the data grid has drawn (it draws only the columns in view, pinned ones always)."""
    return page.eval_on_selector(container, "root => [...root.querySelectorAll('[role=columnheader]')]"
                                            ".map(header => header.textContent.trim())")


def _overflows(page, container: str) -> bool:
    return _grid(page, container).evaluate("scroller => scroller.scrollWidth > scroller.clientWidth + 1")


def _scroll_grid_right(page, container: str) -> None:
    _grid(page, container).evaluate("scroller => { scroller.scrollLeft = scroller.scrollWidth; }")
    time.sleep(0.8)


def _assert_columns_in_view(page, container: str, deciding: list[str], *, whole: bool) -> None:
    """``deciding`` come first and stay drawn: with ``whole`` the table needs no sideways scrolling at all;
    otherwise they must still be drawn after scrolling the table all the way right (they are pinned)."""
    page.locator(container).first.scroll_into_view_if_needed()
    time.sleep(0.5)
    headers = _headers(page, container)
    assert headers[:len(deciding)] == deciding, headers
    if whole:
        assert not _overflows(page, container), f"{container} needs sideways scrolling at 1024 px: {headers}"
        return
    _scroll_grid_right(page, container)
    assert set(deciding) <= set(_headers(page, container)), _headers(page, container)


def _assert_table_whole(page, container: str, columns: list[str]) -> None:
    """A static table at 1024 px: its headers in order, no cell cut to "…", nothing wider than the page."""
    page.locator(container).first.scroll_into_view_if_needed()
    headers = page.eval_on_selector(container, "root => [...root.querySelectorAll('thead th')]"
                                               ".map(cell => cell.textContent.trim()).filter(text => text)")
    assert headers == columns, headers
    cells = page.eval_on_selector(container, "root => [...root.querySelectorAll('tbody td')]"
                                             ".map(cell => cell.textContent)")
    assert cells and not [cell for cell in cells if "…" in cell], cells
    wide = page.eval_on_selector(container, "root => root.scrollWidth > root.clientWidth + 1")
    assert not wide, f"{container} is wider than the page at 1024 px"


def _no_failure(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()
    assert page.get_by_text("Something went wrong").count() == 0


def test_a_lesson_the_coach_the_replay_and_every_page_at_projector_size(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    screens = screenshots_folder(tmp_path)
    with streamlit_server(tmp_path / "runs") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=PROJECTOR)
        page.set_default_timeout(60_000)
        page.goto(url)
        expect(page.get_by_text("Class distribution")).to_be_visible()

        # Lessons: choose the two-variant lesson and start it; both runs and the coach's verdict appear.
        nav(page, "Lessons")
        expect(page.get_by_role("heading", name="Lessons")).to_be_visible()
        page.locator(".st-key-lessons_picker").click()
        page.get_by_role("option", name=LESSON).click()
        expect(page.get_by_text("What happens when every report is cut to its first 4 tokens",
                                exact=False)).to_be_visible()
        started = time.time()
        page.locator(".st-key-lessons_start button").first.click()
        expect(page.locator(".st-key-lessons_stop button").first).to_be_visible()
        verdict = page.get_by_text(re.compile(r"The expected effect (appeared|did not appear this time)"))
        expect(verdict).to_be_visible(timeout=600_000)
        lesson_seconds = time.time() - started
        expect(page.get_by_text(re.compile(r"1 of 2 · First 4 tokens: finished after"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"2 of 2 · Suggested length: finished after"))).to_be_visible()
        expect(page.get_by_text("The coach's verdict on each variant")).to_be_visible()
        for label in ("First 4 tokens", "Suggested length"):
            line = page.locator('[data-testid="stMarkdownContainer"]', has_text=re.compile(
                rf"^{label}: (nothing to flag|.+ — .+)"))
            expect(line.first).to_be_visible()
        expect(page.get_by_text("The share of truncated test texts was", exact=False)).to_be_visible()
        expect(page.get_by_text(re.compile(r"The lesson took \d"))).to_be_visible()
        settle(page, timeout=180)
        _no_failure(page)
        _assert_table_whole(page, ".st-key-lessons_values", ["metric", "First 4 tokens", "Suggested length"])
        _shoot(page, screens, "lessons")
        print(f"lesson (2 variants, each its own process) took {lesson_seconds:.0f} s in the browser")

        # Evaluate: the coach speaks; the replay slider moves the validation confusion matrix.
        page.locator(".st-key-lessons_open_suggested button").first.click()
        expect(page.get_by_role("heading", name="Evaluate")).to_be_visible()
        expect(page.get_by_role("heading", name="Coach")).to_be_visible()
        replay = page.locator(".st-key-replay_cm canvas, .st-key-replay_cm svg").first
        expect(replay).to_be_visible(timeout=180_000)
        expect(page.get_by_text("Validation split at epoch 6 of 6", exact=False)).to_be_visible()
        expect(page.get_by_text(re.compile(r"most faithful explanation for this model"
                                           r"|No method beats random"))).to_be_visible(timeout=300_000)
        expect(page.locator(".st-key-coach")).to_contain_text(COACH_SAYS)
        settle(page, timeout=180)
        replay.scroll_into_view_if_needed()
        last_epoch = page.locator(".st-key-replay_cm").screenshot()
        thumb = page.locator(".st-key-replay_epoch input[type=range]").first  # react-aria's hidden range input
        thumb.focus()
        page.keyboard.press("Home")
        expect(page.get_by_text("Validation split at epoch 1 of 6", exact=False)).to_be_visible()
        settle(page, timeout=180)
        first_epoch = page.locator(".st-key-replay_cm").screenshot()
        assert first_epoch != last_epoch  # the chart's title and size are the same: only the counts moved
        expect(page.locator('[class*="st-key-replay_example_"] .token-shading').first).to_be_visible()
        _assert_columns_in_view(page, ".st-key-wrong_table", ["text", "true", "predicted", "confidence"], whole=True)
        _no_failure(page)
        _shoot(page, screens, "evaluate", limit=16)

        # Runs: the runs table and the leaderboard keep the run and its score in view.
        nav(page, "Runs")
        expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
        settle(page, timeout=180)
        _assert_columns_in_view(page, ".st-key-runs_table_all", ["run", "macro-F1"], whole=False)
        _assert_columns_in_view(page, ".st-key-runs_leaderboard_0", ["rank", "run", "macro-F1"], whole=False)
        expect(page.get_by_text("compared with the defaults (no recommendation was recorded",
                                exact=False).first).to_be_visible()
        _no_failure(page)

        # Every page at 1024×768, for a person to look at; none fails.
        for name in PAGES:
            nav(page, name)
            expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
            settle(page, timeout=180)
            _no_failure(page)
            if name not in ("Lessons", "Evaluate"):
                _shoot(page, screens, name)

        # The sidebar collapses, giving the page the whole width.
        before = page.locator('[data-testid="stMain"]').bounding_box()["width"]
        page.get_by_test_id("stSidebar").hover()
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        time.sleep(1.5)
        assert page.locator('[data-testid="stMain"]').bounding_box()["width"] > before
        browser.close()
    runs = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 2

"""A real browser against `streamlit run app.py`: start a tiny lever study, watch its trials arrive, stop it, resume it.

The study runs in a thread of the server and its trials train in spawned processes through the job scheduler; the
page polls with a fragment (which AppTest never fires), so only a browser shows that the view moves by itself, that
Stop ends the running trial and that Resume finishes the study without running a finished trial twice.
"""

import re
from pathlib import Path

import pytest

from support.browser import CHROMIUM, CHROMIUM_ARGS, nav, require_browser, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Tiny settings through the app's own shareable link: one direction, no attention, two epochs, short texts.
TINY = "epochs=2&embedding_dim=8&lstm_units=4&bidirectional=false&attention=none&max_length=20&batch_size=128"
KEEP = "Dropout: 0.5 → 0.6"


def _progress_text(page) -> str:
    return page.get_by_test_id("stProgress").first.inner_text()


def test_a_study_shows_trials_arriving_stops_and_resumes(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    from core.evidence.study import list_studies, open_study

    expect.set_options(timeout=60_000)
    runs = tmp_path / "runs"
    with streamlit_server(runs) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/?{TINY}")
        expect(page.get_by_text("Class distribution")).to_be_visible()
        nav(page, "Study")
        expect(page.get_by_text("Levers to try")).to_be_visible()

        # One lever, one seed: two runs. Every other preselected pill is switched off.
        pills = page.locator('[class*="st-key-study_levers_"] button[aria-pressed="true"]')
        expect(pills.first).to_be_visible()
        while pills.filter(has_not_text=KEEP).count():
            before = pills.count()
            pills.filter(has_not_text=KEEP).first.click()
            expect(pills).to_have_count(before - 1)
        seeds = page.get_by_role("spinbutton", name="Seeds per lever")
        seeds.fill("1")
        seeds.press("Tab")
        planned = "1 lever(s) racing over 1 seed(s) + the reference = at most 2 runs"
        expect(page.get_by_text(planned, exact=False)).to_be_visible()
        page.locator(".st-key-study_start_levers button").first.click()

        # The view moves by itself: the running trial, then its result, with no click.
        expect(page.get_by_text("Running on this server", exact=False)).to_be_visible()
        expect(page.get_by_text(re.compile(r"Running: trial [01]"))).to_be_visible()
        # Stop while the first trial runs: both trials may be running at once (two slots), so one or two are left.
        page.locator(".st-key-study_stop button").first.click()
        expect(page.get_by_text(re.compile(r"Paused with [12] run\(s\) left"))).to_be_visible(timeout=180_000)
        assert "Finished" not in _progress_text(page)

        page.locator(".st-key-study_resume button").first.click()
        expect(page.get_by_text(re.compile(r"Trial \d done, validation macro-F1 0\.\d{3}"))).to_be_visible(
            timeout=240_000)
        expect(page.get_by_text(re.compile(r"2 of 2 runs done\. Finished"))).to_be_visible(timeout=240_000)
        # Once: the running view's stale copy fades out when the final rerun ends.
        expect(page.get_by_role("heading", name="Which levers helped")).to_have_count(1)
        expect(page.locator(".st-key-study_combine button").first).to_be_visible()
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()

    [info] = list_studies(runs)
    handle = open_study(info.name, runs_dir=runs)
    states = [(t.user_attrs.get("arm"), t.state.name) for t in handle.trials()]
    assert sorted(arm for arm, state in states if state == "COMPLETE") == ["model.dropout=0.6", "reference"]
    assert all(state in ("COMPLETE", "FAIL") for _, state in states)  # an interrupted trial is failed and queued again
    assert sum(state == "FAIL" for _, state in states) <= 2
    assert len([p for p in Path(runs).iterdir() if (p / "run.json").is_file()]) >= 2

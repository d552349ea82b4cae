"""Every page at projector size (1024×768) and laptop size (1280×800) in a real browser: no widget value, label,
metric or select box is clipped, no chart draws text smaller than 12 px or stands shorter than 200 px, and every table
shows the columns that decide what a row says: whole, or pinned while the rest scrolls sideways.

Clipping is read from the DOM: an element that hides its overflow (``overflow: hidden``/``clip`` or a CSS
``text-overflow: ellipsis``) whose content is wider than its box, and a text or number input whose value, measured in
its own font, is wider than the room inside its padding. Chart text is read from the drawing: the
``<text>`` elements of a chart drawn as SVG (Streamlit's usual renderer), and for a chart drawn on a canvas (Streamlit
switches to canvas above 5,000 data points) an init script records the font of every ``fillText`` it makes.

The pages read a saved run (a copy of tests/golden/run, so Evaluate and Runs have something to show) and three
copies tagged as the learning-rate lesson's variants (so the Lessons page shows its results); nothing trains.
Screenshots of every page, screen by screen, go to $LSTM_TEXT_LAB_SCREENSHOTS when set (else to the test's temporary
folder), for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from components.frame.navigation import PAGES as NAVIGATION
from support.browser import CHROMIUM, CHROMIUM_ARGS, nav, require_browser, screenshots_folder, settle, streamlit_server
from support.paths import GOLDEN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ({"width": 1024, "height": 768}, {"width": 1280, "height": 800})
PAGES = tuple(page.title for page in NAVIGATION)
LESSON = "3. Learning rate: too high, about right, too low"
LESSON_VARIANTS = ("too_high", "about_right", "too_low")
MIN_CHART_TEXT_PX = 12
MIN_CHART_HEIGHT_PX = 200

# Records the font of every string a Vega chart draws on a canvas (Streamlit uses canvas for large data).
CHART_TEXT_HOOK = """
(() => {
  window.__chartText = [];
  const original = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, x, y, maxWidth) {
    try {
      const canvas = this.canvas;
      const chart = canvas && canvas.isConnected && canvas.closest('.vega-embed');
      if (chart) {
        const keyed = chart.closest('[class*="st-key-"]');
        const key = keyed ? [...keyed.classList].find(name => name.startsWith('st-key-')) : '';
        const size = parseFloat((/([\\d.]+)px/.exec(this.font) || [])[1]);
        window.__chartText.push({text: String(text), size, font: this.font, key});
        if (window.__chartText.length > 20000) window.__chartText.splice(0, 10000);
      }
    } catch (error) { /* never break a chart */ }
    return original.apply(this, arguments);
  };
})();
"""

# Every clipped value, label or metric in the main page and the sidebar, with where it is.
FIND_CLIPPED = """
() => {
  const found = [];
  const measure = document.createElement('canvas').getContext('2d');
  const where = element => {
    const keyed = element.closest('[class*="st-key-"]');
    const key = keyed ? [...keyed.classList].find(name => name.startsWith('st-key-')) : '';
    const widget = element.closest('[data-testid^="st"]');
    return (key ? key + ' ' : '') + (widget ? widget.dataset.testid : element.tagName);
  };
  const skip = '[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"], .vega-embed, pre, code, '
             + '[data-testid="stTooltipContent"], [role="tooltip"], [data-baseweb="popover"]';
  const roots = ['[data-testid="stMain"]', '[data-testid="stSidebar"]']
    .map(selector => document.querySelector(selector)).filter(Boolean);
  for (const root of roots) {
    for (const element of root.querySelectorAll('*')) {
      if (element.closest(skip)) continue;
      const box = element.getBoundingClientRect();
      if (box.width < 2 || box.height < 2) continue;
      const style = getComputedStyle(element);
      if (style.visibility === 'hidden' || style.opacity === '0') continue;
      if (element.tagName === 'INPUT' && ['text', 'number', 'search'].includes(element.type)) {
        const text = element.value || element.placeholder || '';
        if (!text || element.closest('[data-baseweb="select"]')) continue;
        measure.font = style.font;
        const room = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        const width = measure.measureText(text).width;
        if (width > room + 1) found.push({where: where(element), text, need: Math.ceil(width), room: Math.floor(room)});
        continue;
      }
      const hides = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
      if (!hides || element.scrollWidth <= element.clientWidth + 1) continue;
      const text = (element.innerText || '').trim();
      if (!text) continue;
      // Report the innermost clipping element only: a parent that clips the same text says nothing new.
      const inner = [...element.querySelectorAll('*')].some(child => {
        const own = getComputedStyle(child);
        return (['hidden', 'clip'].includes(own.overflowX) || own.textOverflow === 'ellipsis')
          && child.scrollWidth > child.clientWidth + 1 && (child.innerText || '').trim() === text;
      });
      if (inner) continue;
      found.push({where: where(element), text: text.slice(0, 80), need: element.scrollWidth,
                  room: element.clientWidth});
    }
  }
  // A label or a metric's name broken inside a word ("Validati-on"): its widest word is wider than its box.
  const labels = '[data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"], '
               + '[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"]';
  for (const root of roots) {
    for (const element of root.querySelectorAll(labels)) {
      const box = element.getBoundingClientRect();
      if (box.width < 2) continue;
      measure.font = getComputedStyle(element.querySelector('p') || element).font;
      const words = (element.innerText || '').split(/\\s+/).filter(Boolean);
      const widest = Math.max(0, ...words.map(word => measure.measureText(word).width));
      if (widest > element.clientWidth + 1) {
        found.push({where: where(element), text: (element.innerText || '').trim().slice(0, 80),
                    need: Math.ceil(widest), room: element.clientWidth});
      }
    }
  }
  return found;
}
"""

# The text of every chart drawn as SVG, at the size it appears on screen (font size times the drawing's scale).
CHART_TEXT = """
() => [...document.querySelectorAll('[data-testid="stMain"] .vega-embed svg text')].map(text => {
  const keyed = text.closest('[class*="st-key-"]');
  const key = keyed ? [...keyed.classList].find(name => name.startsWith('st-key-')) : '';
  const scale = text.getScreenCTM() ? Math.hypot(text.getScreenCTM().a, text.getScreenCTM().b) : 1;
  const size = parseFloat(getComputedStyle(text).fontSize) * scale;
  return {text: text.textContent || '', size: Math.round(size * 100) / 100, key};
})
"""

# The sidebar at its widest default (Streamlit opened it 256 px or 300 px wide at 1024 px from one run to the next, and
# a grid whose pinned columns take over 60 % of its width loses its pins): every run checks the narrower page.
SIDEBAR_WIDTH = "window.localStorage.setItem('sidebarWidth', '300')"

# The column headers a data grid has drawn (it draws the columns in view, and pinned ones always), without the
# row-selection column's empty header.
HEADERS = "root => [...root.querySelectorAll('[role=columnheader]')].map(h => h.textContent.trim()).filter(t => t)"
OVERFLOWS = "scroller => scroller.scrollWidth > scroller.clientWidth + 1"

CHART_HEIGHTS = """
() => [...document.querySelectorAll('[data-testid="stMain"] .vega-embed')].map(chart => {
  const keyed = chart.closest('[class*="st-key-"]');
  const key = keyed ? [...keyed.classList].find(name => name.startsWith('st-key-')) : '';
  const canvas = chart.querySelector('canvas');
  return {key, height: Math.round(chart.getBoundingClientRect().height),
          canvas: canvas ? Math.round(canvas.getBoundingClientRect().height) : null};
})
"""


def _runs_folder(root: Path) -> Path:
    """The golden run (newest, so Evaluate opens it) and three older copies tagged as the learning-rate lesson's
    variants (so the Lessons page shows its curves, its table and its bars)."""
    runs = root / "runs"
    shutil.copytree(GOLDEN / "run", runs / "20261206-201540-dbd788")
    for index, variant in enumerate(LESSON_VARIANTS):
        run_id = f"20261205-10000{index}-lesson{index}"
        folder = runs / run_id
        shutil.copytree(GOLDEN / "run", folder)
        info = json.loads((folder / "run.json").read_text())
        info.update(id=run_id, created=f"2026-12-05T10:00:0{index}+00:00",
                    tags={"lesson": "learning-rate", "variant": variant, "attempt": "layout"})
        (folder / "run.json").write_text(json.dumps(info))
    return runs


def _shoot(page, folder: Path, name: str, size: dict, limit: int = 16) -> None:
    """The page at the viewport's size, scrolled screen by screen (Streamlit scrolls an inner element)."""
    main = '[data-testid="stMain"]'
    total = page.eval_on_selector(main, "element => element.scrollHeight")
    step = size["height"] - 100
    for index in range(min(limit, total // step + 1)):
        page.eval_on_selector(main, f"element => element.scrollTo(0, {index * step})")
        time.sleep(0.5)
        page.screenshot(path=str(folder / f"{name.lower()}-{size['width']}-{index:02d}.png"))
    page.eval_on_selector(main, "element => element.scrollTo(0, 0)")


def _open_page(page, name: str) -> None:
    from playwright.sync_api import expect

    page.evaluate("() => { window.__chartText = []; }")
    nav(page, name)
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    if name == "Lessons":
        page.locator(".st-key-lessons_picker").click()
        page.get_by_role("option", name=LESSON).click()
        expect(page.locator(".st-key-lessons_values")).to_be_visible()
    settle(page)
    if name == "Evaluate":  # the examples are explained by the model server (TensorFlow starting): wait for them
        expect(page.locator('[class*="st-key-token_heatmap_example_"] .token-shading').first).to_be_visible(
            timeout=240_000)
        settle(page)
    # Scroll to the bottom and back: charts below the fold draw when they come into view.
    main = '[data-testid="stMain"]'
    height = page.eval_on_selector(main, "element => element.scrollHeight")
    for top in range(0, height, 500):
        page.eval_on_selector(main, f"element => element.scrollTo(0, {top})")
        time.sleep(0.15)
    page.eval_on_selector(main, "element => element.scrollTo(0, 0)")
    time.sleep(1.0)


def _chart_text_too_small(page) -> list[str]:
    drawn = page.evaluate(CHART_TEXT) + page.evaluate("() => window.__chartText || []")
    small = {(item["key"], item["text"][:30], item["size"]) for item in drawn
             if item["text"].strip() and not (item["size"] >= MIN_CHART_TEXT_PX - 0.01)}
    return [f"{key or 'chart'}: {text!r} at {size} px" for key, text, size in sorted(small, key=str)][:40]


def _short_charts(page, where: str) -> list[str]:
    charts = page.evaluate(CHART_HEIGHTS)
    print(f"{where}: chart heights {[chart['height'] for chart in charts]}")  # shown with pytest -s
    return [f"{chart['key'] or 'chart'} is {chart['height']} px tall" for chart in charts
            if chart["height"] < MIN_CHART_HEIGHT_PX]


# The tables each page shows with the saved runs, by their first headers: the columns that decide what a row says
# (identity first) and whether the whole table must fit the page ("whole") or may scroll sideways with those columns
# pinned ("pinned").
TABLES = {
    "Data": [(["text", "count"], "whole"), (["text", "labels"], "whole")],
    "Preprocess": [(["label", "before", "after"], "whole")],
    "Resample": [(["class", "train (before)"], "pinned")],
    "Evaluate": [(["text", "true", "predicted", "confidence"], "whole"), (["Method", "AOPC ↑", "Verdict"], "pinned")],
    "Runs": [(["run", "macro-F1"], "pinned"), (["rank", "run", "macro-F1"], "pinned")],
}


def _grid_headers(grid) -> list[str]:
    return grid.evaluate(HEADERS)


def _tables_hiding_their_deciding_columns(page, name: str) -> list[str]:
    """Each expected table is on the page; its deciding columns come first and are drawn, and stay drawn when the
    table is scrolled all the way right (they are pinned); a "whole" table needs no sideways scrolling at all."""
    found = []
    grids = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
    drawn = []
    for index in range(grids.count()):
        grid = grids.nth(index)
        if grid.is_visible():
            grid.scroll_into_view_if_needed()
            time.sleep(0.3)
            drawn.append((grid, _grid_headers(grid)))
    for deciding, kind in TABLES.get(name, []):
        match = [(grid, headers) for grid, headers in drawn if headers[:len(deciding)] == deciding]
        if not match:
            found.append(f"no table starts with {deciding} (tables drawn: {[headers[:3] for _, headers in drawn]})")
            continue
        grid, headers = match[0]
        scroller = grid.locator(".dvn-scroller").first
        if kind == "whole":
            if scroller.evaluate(OVERFLOWS):
                found.append(f"table {deciding} needs sideways scrolling (columns drawn: {headers})")
            continue
        scroller.evaluate("scroller => { scroller.scrollLeft = scroller.scrollWidth; }")
        time.sleep(0.6)
        after = _grid_headers(grid)
        scroller.evaluate("scroller => { scroller.scrollLeft = 0; }")
        if not set(deciding) <= set(after):
            found.append(f"table {deciding}: scrolled right it shows {after}, not its pinned columns")
    return found


def _no_failure(page) -> list[str]:
    failures = []
    if page.locator('[data-testid="stException"]').count():
        failures.append("an exception box")
    if page.get_by_text("Something went wrong").count():
        failures.append("'Something went wrong'")
    return failures


def test_every_page_at_projector_and_laptop_size_clips_nothing_and_draws_readable_charts(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=90_000)
    screens = screenshots_folder(tmp_path)
    problems: dict[str, list[str]] = {}
    with streamlit_server(_runs_folder(tmp_path)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for size in SIZES:
            context = browser.new_context(viewport=size)
            context.add_init_script(CHART_TEXT_HOOK)
            context.add_init_script(SIDEBAR_WIDTH)
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(url)
            expect(page.get_by_text("Class distribution")).to_be_visible()
            for name in PAGES:
                _open_page(page, name)
                where = f"{name} at {size['width']}×{size['height']}"
                found = [f"clipped {item['where']}: {item['text']!r} (needs {item['need']} px, has {item['room']})"
                         for item in page.evaluate(FIND_CLIPPED)]
                found += _chart_text_too_small(page) + _short_charts(page, where)
                found += _tables_hiding_their_deciding_columns(page, name)
                found += _no_failure(page)
                if found:
                    problems[where] = found
                _shoot(page, screens, name, size)
            context.close()
        browser.close()
    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items())
    assert not problems, f"layout problems (screenshots in {screens}):\n{report}"

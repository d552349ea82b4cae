"""Formula injection through table downloads (issue 9): Streamlit's own table export is switched off, and the tables
a user may take away (misclassified examples, a confusion-matrix cell's examples, the runs table) get download
buttons whose CSV prefixes every formula-like cell with an apostrophe."""

from __future__ import annotations

import csv
import io
import tomllib

import pandas as pd
import pytest

from support.fakes import csv_bytes, generated_texts, tiny_config
from support.paths import ROOT  # noqa: E402

APP = str(ROOT / "app.py")
FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1",
            "\r=1+1"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def _cells(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # a BOM, so spreadsheets read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_formula_safe(data: bytes) -> list[list[str]]:
    rows = _cells(data)
    for row in rows:
        for cell in row:
            assert _is_number(cell) or not cell.startswith(FORMULA_STARTS), f"formula-like cell left as is: {cell!r}"
    return rows


def test_the_table_toolbar_export_is_switched_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


def test_a_table_downloads_as_formula_safe_csv_with_numbers_kept():
    from components.frame import downloads

    frame = pd.DataFrame({"text": FORMULAS, "confidence": [0.9, -0.5, 0.0, 1.0, float("nan"), 0.25],
                          "=header": ["x"] * len(FORMULAS)})
    rows = assert_formula_safe(downloads.frame_csv(frame))
    assert rows[0] == ["text", "confidence", "'=header"]
    assert [row[0] for row in rows[1:]] == ["'" + text for text in FORMULAS]  # the text itself is kept after the '
    assert [row[1] for row in rows[1:]] == ["0.9", "-0.5", "0.0", "1.0", "", "0.25"]


def test_misclassified_and_confusion_cell_tables_download_safely():
    from components.frame import downloads
    from components.panels import evaluate as results
    from core.runs.results import Prediction

    predictions = [Prediction(row=i, text=text, true="=cmd", predicted="@evil" if i % 2 else "=cmd",
                              confidence=0.5 + i / 20, probabilities=[0.5, 0.5]) for i, text in enumerate(FORMULAS)]
    wrong = results.misclassified_table(predictions)
    assert list(wrong["confidence"]) == sorted(wrong["confidence"], reverse=True)  # most confident mistakes first
    rows = assert_formula_safe(downloads.frame_csv(wrong))
    assert rows[0] == ["text", "true", "predicted", "confidence"] and len(rows) == 1 + 3
    assert all(row[1] == "'=cmd" and row[2] == "'@evil" for row in rows[1:])
    cell = results.cell_table(predictions, "=cmd", "=cmd")
    assert len(assert_formula_safe(downloads.frame_csv(cell))) == 1 + 3


@pytest.fixture
def hostile_run(tmp_path, monkeypatch):
    """A tiny saved run whose data file name, texts and class names all look like spreadsheet formulas."""
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes
    from core.training.experiment import run_experiment

    rows = [(f"{FORMULAS[i % len(FORMULAS)]} {text}", {"sports": "=SUM(1+1)", "tech": "+tech", "food": "@food"}[label])
            for i, (text, label) in enumerate(generated_texts({"sports": 30, "tech": 25, "food": 20}, seed=5))]
    dataset = build_dataset(read_csv_bytes(csv_bytes(rows), source_name="=evil.csv"))
    runs = tmp_path / "runs"
    run_experiment(dataset, tiny_config("training.epochs=1"), runs_dir=runs)
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(runs))
    return runs


@pytest.mark.slow
def test_the_runs_table_and_evaluate_tables_download_formula_safe_csv(hostile_run, monkeypatch):
    import streamlit
    from streamlit.testing.v1 import AppTest

    downloaded: dict[str, bytes] = {}
    original = streamlit.download_button

    def recording(label, data, *args, **kwargs):
        downloaded[label] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page("pages/runs.py").run()
    assert not app.exception
    rows = assert_formula_safe(downloaded["Download the runs table (CSV)"])
    header = rows[0]
    assert rows[1][header.index("data")] == "'=evil.csv"
    app.switch_page("pages/evaluate.py").run()
    rows = assert_formula_safe(downloaded["Download this table (CSV)"])
    assert len(rows) > 1 and all(row[1].startswith("'") for row in rows[1:])  # every class name is formula-like


@pytest.mark.browser
def test_the_table_toolbar_offers_no_csv_download(tmp_path):
    """Hover a table: its toolbar shows (search, fullscreen) but no "Download as CSV"."""
    from support.browser import CHROMIUM, CHROMIUM_ARGS, require_browser, streamlit_server

    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    with streamlit_server(tmp_path / "runs") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(url)
        expect(page.get_by_role("heading", name="Data")).to_be_visible()
        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Preprocess", exact=True).click()
        table = page.get_by_test_id("stDataFrame").first
        expect(table).to_be_visible()
        table.hover()
        toolbar = page.get_by_test_id("stElementToolbar").first
        expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
        expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
        browser.close()

"""AppTest: the Model page and the recommendation say the same estimate, in the same words."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from support.paths import APP


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    return AppTest.from_file(APP, default_timeout=120).run()


def _said(at) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", e.value) for kind in ("markdown", "caption") for e in getattr(at, kind)]


def test_the_model_page_shows_the_recommendations_estimate_for_the_recommended_k_fold_run(app):
    app.switch_page("pages/model.py").run()
    app.button(key="model_recommended_for_data").click().run()
    assert not app.exception, [e.value for e in app.exception]
    config = app.session_state["lab_config"]
    assert config.split.k_folds >= 4 and config.split.ensemble
    said = _said(app)
    whole = next(text for text in said if text.startswith("The whole run: about "))
    sentence = whole.removeprefix("The whole run: ").rstrip(".")
    reason = next(text for text in said if "folds is the largest k tried" in text)
    assert sentence in reason  # one estimate, one wording
    metrics = {m.label: m.value for m in app.metric}
    folds = config.split.k_folds
    assert "development rows" in next(m.help for m in app.metric if m.label == "Rows per epoch")
    assert f"{folds} members" in next(m.help for m in app.metric if m.label == "Parameters")
    assert metrics["Parameters"].endswith(" M") or int(metrics["Parameters"].replace(",", "")) > 0

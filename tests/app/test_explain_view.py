"""The token shading and the faithfulness view: hostile tokens stay text, colours stay clamped numbers."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pytest

from components.figures import explanations
from components.figures import shading as view
from core.evidence.explain import ATTENTION_KIND, RANDOM, SIGNED
from core.evidence.faithfulness import FaithfulnessReport, FaithfulnessRow, Interval, PositionBias, ScoreIntervals

HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "javascript:alert(1)", "{{7*7}}",
           "😀🚀", "שלום", "مرحبا", "' onmouseover='x", "&amp;", "a" * 80]
STYLE_DECLARATION = re.compile(
    r"(?:background-color|color):rgb\((\d{1,3}),(\d{1,3}),(\d{1,3})\)"
    r"|padding:[0-9.]+em [0-9.]+em|border-radius:[0-9.]+em|unicode-bidi:isolate|max-width:100%"
    r"|line-height:[0-9.]+|white-space:normal|overflow-wrap:anywhere|font-size:[0-9.]+em"
    r"|margin(?:-top|-left)?:[0-9. a-z]+"
    r"|display:inline-block|width:[0-9.]+em|height:[0-9.]+em|vertical-align:-?[0-9.]+em"
    r"|border:1px solid rgb\(\d+,\d+,\d+\)"
)


class Collected(HTMLParser):
    """Every element, its attributes, and the text inside shaded tokens."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.token_texts: list[str] = []
        self._in_token = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        self._in_token = tag == "span" and "title" in attributes
        if self._in_token:
            self.token_texts.append("")

    def handle_endtag(self, tag):
        self._in_token = False

    def handle_data(self, data):
        if self._in_token:
            self.token_texts[-1] += data


def parsed(markup: str) -> Collected:
    parser = Collected()
    parser.feed(markup)
    parser.close()
    return parser


def token_styles(markup: str) -> list[str]:
    return [attrs["style"] for tag, attrs in parsed(markup).elements if tag == "span" and "title" in attrs]


def background(style: str) -> tuple[int, int, int]:
    match = re.search(r"background-color:rgb\((\d+),(\d+),(\d+)\)", style)
    return tuple(int(v) for v in match.groups())


@pytest.mark.parametrize("kind", [SIGNED, ATTENTION_KIND])
def test_hostile_tokens_come_out_as_text_and_attributes_hold_only_numbers(kind):
    scores = [0.1 * (i - 4) for i in range(len(HOSTILE))] if kind == SIGNED else [1 / len(HOSTILE)] * len(HOSTILE)
    markup = view.token_shading_html(HOSTILE, scores, kind)
    result = parsed(markup)
    assert result.token_texts == HOSTILE  # every token shows exactly as written
    assert {tag for tag, _ in result.elements} <= {"div", "span"}  # no <img>, <script> or anything injected
    for _tag, attributes in result.elements:
        assert set(attributes) <= {"style", "title", "class"}
        if "title" in attributes:
            assert re.fullmatch(r"-?\d+\.\d{3}|n/a", attributes["title"])
        if "class" in attributes:
            assert attributes["class"] in ("token-shading", "token-shading-legend")
        for declaration in filter(None, attributes.get("style", "").split(";")):
            assert STYLE_DECLARATION.fullmatch(declaration), declaration
    assert "<script" not in markup and "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&quot;&gt;&lt;script&gt;" in markup


def test_colours_are_clamped_and_signed_scale_is_symmetric():
    scores = [1e308, -2.0, 0.0, float("nan"), float("inf"), 1.0]
    colours = view.token_colours(scores, SIGNED)
    assert all(0 <= channel <= 255 and isinstance(channel, int) for colour in colours for channel in colour)
    assert colours[0] == view.TOWARD  # the largest |score| gets the full colour
    assert colours[2] == colours[3] == colours[4] == view.WHITE  # 0 and non-finite scores are drawn as 0
    styles = token_styles(view.token_shading_html([str(s) for s in scores], scores, SIGNED))
    assert [background(style) for style in styles] == colours
    symmetric = view.token_colours([0.5, -0.5, 0.25], SIGNED)
    assert symmetric[0] == view.TOWARD and symmetric[1] == view.AGAINST
    assert symmetric[2] == tuple(round(255 + (t - 255) * 0.5) for t in view.TOWARD)
    assert view.token_colours([0.0, 0.0], SIGNED) == [view.WHITE, view.WHITE]


def test_attention_marks_the_uniform_weight():
    colours = view.token_colours([0.5, 0.25, 0.125, 0.125], ATTENTION_KIND)  # n = 4: uniform = 0.25
    assert colours[1] == view.UNIFORM
    assert colours[0] == view.ABOVE  # the text's largest weight is the darkest
    assert colours[2] == colours[3] != view.UNIFORM
    assert sum(colours[2]) > sum(view.UNIFORM) > sum(colours[0])  # below: lighter than the marker; above: darker
    assert view.token_colours([1 / 3] * 3, ATTENTION_KIND) == [view.UNIFORM] * 3
    barely_above = view.token_colours([0.26, 0.25, 0.245, 0.245], ATTENTION_KIND)
    assert barely_above[0] != view.UNIFORM and barely_above[1] == view.UNIFORM  # a small excess is still visible
    assert sum(barely_above[0]) < sum(view.UNIFORM) - 30


def test_legend_says_what_colours_mean():
    signed = view.token_shading_html(["a", "b"], [0.4, -0.2], SIGNED)
    assert "token-shading-legend" in signed and "toward the class" in signed and "against" in signed
    assert "±0.4" in signed
    attention = view.token_shading_html(["a", "b", "c", "d"], [0.4, 0.3, 0.2, 0.1], ATTENTION_KIND)
    assert "uniform weight 1/4 = 0.250" in attention and "Darkest = 0.400" in attention


def test_text_wraps_and_each_token_is_isolated_for_right_to_left_scripts():
    markup = view.token_shading_html(["hello", "שלום", "world"], [0.1, 0.2, 0.3], SIGNED)
    assert "white-space:normal" in markup
    for style in token_styles(markup):  # a token moves to the next line whole; only an over-long one breaks inside
        assert "unicode-bidi:isolate" in style and "display:inline-block;max-width:100%;overflow-wrap:anywhere" in style
    assert "</span> <span" in markup  # real spaces between tokens: wraps and copies like a sentence


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="kind"):
        view.token_shading_html(["a"], [1.0], "heat")
    with pytest.raises(ValueError, match="2 tokens but 1 scores"):
        view.token_shading_html(["a", "b"], [1.0], SIGNED)
    assert "(no tokens)" in view.token_shading_html([], [], ATTENTION_KIND)


def _row(method, comprehensiveness, sufficiency, aopc, seconds=0.12):
    return FaithfulnessRow(method, comprehensiveness, sufficiency, aopc, (comprehensiveness,) * 5, (sufficiency,) * 5,
                           40, seconds)


def old_report() -> FaithfulnessReport:
    """As written before intervals were measured (random order's AOPC undefined)."""
    return FaithfulnessReport(
        rows=(_row("attention", 0.3, 0.3, 0.35), _row("occlusion", 0.6, 0.05, 0.7)),
        random=_row(RANDOM, 0.1, 0.5, float("nan")),
        position_bias=(PositionBias("attention", 0.82, 0.6, 38), PositionBias("occlusion", None, None, 0)),
        most_faithful="occlusion", rule="highest AOPC",
        verdict="Occlusion is the most faithful [x](javascript:alert(1)).",
        k_percents=(1.0, 5.0, 10.0, 20.0, 50.0), max_deletion_steps=20, n_texts=40, seed=0, seconds=1.0,
    )


def sample_report() -> FaithfulnessReport:
    """Occlusion and gradient × input tied (the latter cheaper); attention's top tokens matter less than random ones."""
    def bounds(method, aopc, comprehensiveness=(0.5, 0.7)):
        return ScoreIntervals(method, Interval(*comprehensiveness), Interval(0.0, 0.6), Interval(*aopc))

    return FaithfulnessReport(
        rows=(_row("attention", 0.05, 0.3, 0.35), _row("occlusion", 0.6, 0.05, 0.7, 0.12),
              _row("gradient_x_input", 0.58, 0.06, 0.69, 0.05)),
        random=_row(RANDOM, 0.1, 0.5, 0.2, 0.0),
        position_bias=(PositionBias("attention", 0.82, 0.215, 38), PositionBias("occlusion", None, None, 0),
                       PositionBias("gradient_x_input", 0.1, 0.04, 38), PositionBias(RANDOM, 0.01, 0.12, 38)),
        most_faithful=None, rule="highest AOPC", verdict="Tied within noise [x](javascript:alert(1)).",
        k_percents=(1.0, 5.0, 10.0, 20.0, 50.0), max_deletion_steps=20, n_texts=40, seed=0, seconds=1.0,
        intervals=(bounds("attention", (0.3, 0.4), (0.02, 0.08)), bounds("occlusion", (0.65, 0.75)),
                   bounds("gradient_x_input", (0.64, 0.74)), bounds(RANDOM, (0.15, 0.25), (0.09, 0.12))),
        interval_level=0.9, resamples=1000, tied=("occlusion", "gradient_x_input"), shown_first="gradient_x_input",
    )


def test_faithfulness_table_puts_the_deciding_columns_first_with_intervals_and_verdicts():
    report = sample_report()
    table = explanations.faithfulness_table(report)
    assert list(table.columns[:3]) == ["Method", "AOPC ↑ (90% interval)", "Verdict"]
    assert explanations.deciding_columns(report) == tuple(table.columns[:3])
    assert list(table["Method"]) == ["Attention weights", "Occlusion", "Gradient × input", "Random order"]
    assert list(table["Verdict"]) == ["below random order", "tied for best", "tied for best · shown first", "reference"]
    assert table.loc[1, "AOPC ↑ (90% interval)"] == "0.700 (0.650–0.750)"
    assert table.loc[0, "Top token is last"] == "21.5%" and table.loc[2, "Top token is last"] == "4.0%"
    random_order = table.iloc[3]
    assert random_order["Top token is last"] == "12.0%" and random_order["Position ρ"] == "+0.01"  # printed, not None
    assert "None" not in table.to_string() and "nan" not in table.to_string()
    old = explanations.faithfulness_table(old_report())  # a report from before intervals: plain numbers, n/a
    assert list(old.columns[:3]) == ["Method", "AOPC ↑", "Verdict"] and old.loc[1, "AOPC ↑"] == "0.700"
    assert old.loc[2, "AOPC ↑"] == "n/a" and old.loc[1, "Verdict"] == "most faithful"


def test_faithfulness_chart_draws_intervals_as_whiskers():
    for report in (sample_report(), old_report()):
        spec = explanations.faithfulness_chart(report).to_dict()  # altair validates the Vega-Lite spec here
        rows = [row for data in spec["datasets"].values() for row in data]
        assert {row["method"] for row in rows} >= {"Attention weights", "Occlusion", "Random order"}
        assert not any(row["value"] is None or (isinstance(row["value"], float) and math.isnan(row["value"]))
                       for row in rows)
        # random
        assert any(layer["mark"]["type"] == "rule" and "x2" not in layer["encoding"] for layer in spec["layer"])
    whiskers = [layer for layer in explanations.faithfulness_chart(sample_report()).to_dict()["layer"]
                if "x2" in layer["encoding"]]
    assert len(whiskers) == 1 and whiskers[0]["encoding"]["x"]["field"] == "low"


def test_render_functions_in_a_streamlit_app():
    import json

    from streamlit.testing.v1 import AppTest

    def app(tokens, report):
        from components.panels import explain

        explain.render_token_shading(tokens, [0.2, -0.1, 0.0], kind="signed", key="shade",
                                          caption="Class *bold* [x](javascript:alert(1))")
        explain.render_faithfulness(report, key="faith")

    at = AppTest.from_function(app, default_timeout=60, args=(HOSTILE[:3], sample_report())).run()
    assert not at.exception
    assert len(at.get("html")) == 1 and "&lt;img src=x onerror=alert(1)&gt;" in at.get("html")[0].proto.body
    assert at.caption[0].value.startswith(r"Class \*bold\* \[x\]")  # user words are escaped for Markdown
    assert r"\[x\]\(javascript\:alert\(1\)\)" in at.markdown[0].value
    assert len(at.dataframe) == 1
    [note] = at.warning
    assert note.value.replace("\\", "").startswith("Attention's top tokens matter less than random ones")
    # At 1024 px the deciding columns stay in view: pinned, and together within the share of the grid's width above
    # which Streamlit unpins them all.
    columns = json.loads(at.dataframe[0].proto.columns)
    from components.panels.explain import GRID_WIDTH_AT_1024, PINNED_SHARE_LIMIT, PINNED_WIDTH_AT_1024

    pinned = [name for name, config in columns.items() if config.get("pinned")]
    assert pinned == ["Method", "AOPC ↑ (90% interval)", "Verdict"]
    assert PINNED_WIDTH_AT_1024 < PINNED_SHARE_LIMIT * GRID_WIDTH_AT_1024
    assert sum(columns[name]["width"] for name in pinned) <= PINNED_WIDTH_AT_1024
    assert "bootstrap intervals over the texts" in at.caption[-1].value

import csv
import io

from core.runs.export import predictions_csv, safe_cell, to_csv
from core.runs.results import Prediction


def test_formula_cells_are_neutralised_and_other_cells_untouched():
    for dangerous in ("=SUM(A1)", "+cmd", "-2+3", "@evil", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("plain text") == "plain text" and safe_cell(0.5) == 0.5 and safe_cell("a=b") == "a=b"


def test_predictions_csv_round_trips_with_safe_cells():
    predictions = [Prediction(row=3, text="=HYPERLINK(\"http://x\")", true="a", predicted="b", confidence=0.7,
                              probabilities=[0.3, 0.7])]
    data = predictions_csv(predictions, ["a", "-minus class"])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][-1] == "p(-minus class)"  # header cells are made safe only when they start with a trigger
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")" and rows[1][4] == "False"


def test_header_cells_are_made_safe_too():
    rows = list(csv.reader(io.StringIO(to_csv(["=bad"], [["x"]]).decode("utf-8-sig"))))
    assert rows[0] == ["'=bad"]

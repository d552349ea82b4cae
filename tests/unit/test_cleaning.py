"""The cleaning loop's data side: edits make a new dataset, the test split stays sealed, rows map back."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from core.config import SplitConfig
from core.data.dataset import build_dataset
from core.data.reading import read_csv_bytes
from core.data.splitting import stratified_split
from core.errors import ConfigError, DataError, UserError
from core.evidence.cleaning import (
    Edit,
    EditList,
    apply_edits,
    carried_split,
    edit_list,
    make_edit,
    same_test_rows,
)
from support.fakes import csv_bytes, make_dataset


@pytest.fixture()
def dataset():
    return make_dataset({"sports": 20, "tech": 14, "food": 10}, seed=12)


@pytest.fixture()
def split(dataset):
    return stratified_split(dataset.y, SplitConfig(), seed=0, class_names=dataset.class_names)


def first_of(rows: np.ndarray, dataset, label: str) -> int:
    return int(next(row for row in rows if dataset.labels[row] == label))


def test_drop_relabel_and_keep_make_a_new_dataset(dataset, split):
    dropped = first_of(split.train, dataset, "sports")
    relabelled = first_of(split.train, dataset, "tech")
    kept = first_of(split.train, dataset, "food")
    before = (dataset.texts, dataset.labels, dataset.data_hash)
    edits = edit_list(dataset, [
        make_edit(dataset, dropped, "drop", reason="near-duplicate"),
        make_edit(dataset, relabelled, "relabel", new_label="food", reason="label suspect"),
        make_edit(dataset, kept, "keep"),
    ])
    cleaned = apply_edits(dataset, edits, test_rows=split.test)
    assert (dataset.texts, dataset.labels, dataset.data_hash) == before  # the original is untouched
    new = cleaned.dataset
    assert len(new) == len(dataset) - 1
    assert dropped not in cleaned.original_rows.tolist()
    position = cleaned.original_rows.tolist().index(relabelled)
    assert new.labels[position] == "food" and new.texts[position] == dataset.texts[relabelled]
    assert new.labels[cleaned.original_rows.tolist().index(kept)] == "food"
    for row, original in enumerate(cleaned.original_rows):
        assert new.texts[row] == dataset.texts[original]
    assert new.data_hash != dataset.data_hash
    assert new.source_name == "generated.csv (cleaned: 1 dropped, 1 relabelled)"
    assert new.rows_total == dataset.rows_total - 1
    assert (cleaned.dropped, cleaned.relabelled, cleaned.kept) == (1, 1, 1)
    assert cleaned.test_rows_edited == ()
    assert list(new.y) == [new.class_names.index(label) for label in new.labels]
    assert cleaned.summary()["rows_after"] == len(dataset) - 1


def test_edits_to_test_rows_are_refused_unless_allowed(dataset, split):
    test_row = int(split.test[0])
    for edit in (make_edit(dataset, test_row, "drop"), make_edit(dataset, test_row, "relabel", new_label="brand new")):
        with pytest.raises(ConfigError, match="sealed test split") as raised:
            apply_edits(dataset, edit_list(dataset, [edit]), test_rows=split.test)
        assert isinstance(raised.value, UserError) and str(raised.value).count(". ") == 0  # one sentence
    # Marking a test row as reviewed changes nothing, so it is allowed.
    kept = apply_edits(dataset, edit_list(dataset, [make_edit(dataset, test_row, "keep")]), test_rows=split.test)
    assert kept.dataset.data_hash == dataset.data_hash
    assert not same_test_rows(kept, split.test).edited


def test_opting_in_to_test_edits_is_recorded(dataset, split):
    dropped, relabelled = int(split.test[0]), int(split.test[1])
    other = next(name for name in dataset.class_names if name != dataset.labels[relabelled])
    edits = edit_list(dataset, [make_edit(dataset, dropped, "drop"),
                                make_edit(dataset, relabelled, "relabel", new_label=other)])
    cleaned = apply_edits(dataset, edits, test_rows=split.test, allow_test_edits=True)
    assert cleaned.test_rows_edited == (min(dropped, relabelled), max(dropped, relabelled))
    same = same_test_rows(cleaned, split.test)
    assert same.edited and same.dropped == 1 and same.relabelled == 1
    assert len(same.rows) == len(split.test) - 1
    assert "not directly comparable" in same.sentence


def test_the_original_test_rows_are_found_in_the_cleaned_dataset(dataset, split):
    train_drops = [int(row) for row in split.train[:5]]
    validation_drop = int(split.validation[0])
    edits = edit_list(dataset, [make_edit(dataset, row, "drop") for row in [*train_drops, validation_drop]])
    cleaned = apply_edits(dataset, edits, test_rows=split.test)
    same = same_test_rows(cleaned, split.test)
    assert not same.edited and same.sentence.startswith(f"Both runs are scored on the same {len(split.test)} test rows")
    assert same.original_rows.tolist() == split.test.tolist()
    assert [cleaned.dataset.texts[row] for row in same.rows] == [dataset.texts[row] for row in split.test]
    assert [cleaned.dataset.labels[row] for row in same.rows] == [dataset.labels[row] for row in split.test]

    carried = carried_split(cleaned, split)
    assert carried.test.tolist() == sorted(same.rows.tolist())
    assert len(carried.train) == len(split.train) - 5
    assert len(carried.validation) == len(split.validation) - 1
    every = np.concatenate([carried.train, carried.validation, carried.test])
    assert sorted(every.tolist()) == list(range(len(cleaned.dataset)))


def test_edit_list_csv_is_formula_safe():
    rows = [("=HYPERLINK(\"http://evil.example\",\"click\")", "sports"), ("+cmd|' /C calc'!A0", "tech")]
    rows += ([(f"match goal team {i}", "sports") for i in range(5)]
             + [(f"laptop code chip {i}", "tech") for i in range(5)])
    data = build_dataset(read_csv_bytes(csv_bytes(rows), source_name="evil.csv"))
    edits = edit_list(data, [
        make_edit(data, 0, "relabel", new_label="@SUM(1+1)", reason="-2+3"),
        make_edit(data, 1, "drop"),
    ])
    text = edits.to_csv().decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["row", "action", "text", "old_label", "new_label", "reason"]
    assert parsed[1][2] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert parsed[1][4] == "'@SUM(1+1)" and parsed[1][5] == "'-2+3"
    assert parsed[2][2] == "'+cmd|' /C calc'!A0" and parsed[2][1] == "drop"
    # The dataset itself keeps the text as it was: only the download is escaped.
    cleaned = apply_edits(data, edits, test_rows=np.array([], dtype=np.int64))
    assert cleaned.dataset.labels[0] == "@SUM(1+1)" and cleaned.dataset.texts[0].startswith("=HYPERLINK")


def test_relabel_to_a_new_class_name(dataset, split):
    row = int(split.train[0])
    cleaned = apply_edits(dataset, edit_list(dataset, [make_edit(dataset, row, "relabel", new_label="astronomy")]),
                          test_rows=split.test)
    assert cleaned.dataset.class_names == ("astronomy", "food", "sports", "tech")
    assert cleaned.dataset.labels[row] == "astronomy"
    assert cleaned.dataset.y[row] == 0
    carried = carried_split(cleaned, split)
    assert any("'astronomy' has no test rows" in note for note in carried.notes)


def test_dropping_a_class_s_last_row_removes_the_class():
    data = make_dataset({"sports": 15, "tech": 15, "rare": 1}, seed=13)
    split = stratified_split(data.y, SplitConfig(), seed=0, class_names=data.class_names)
    rare = data.labels.index("rare")
    assert rare in split.train.tolist()  # a one-row class only trains
    cleaned = apply_edits(data, edit_list(data, [make_edit(data, rare, "drop")]), test_rows=split.test)
    assert cleaned.dataset.class_names == ("sports", "tech")
    assert "rare" not in cleaned.dataset.labels
    assert set(cleaned.dataset.y.tolist()) == {0, 1}


def test_a_class_left_without_training_rows_is_named(dataset, split):
    food_training = [int(row) for row in np.concatenate([split.train, split.validation])
                     if dataset.labels[row] == "food"]
    cleaned = apply_edits(dataset, edit_list(dataset, [make_edit(dataset, row, "drop") for row in food_training]),
                          test_rows=split.test)
    assert "food" in cleaned.dataset.class_names  # its test rows are still there
    assert any("'food' has no training rows" in note for note in carried_split(cleaned, split).notes)


def test_edits_that_leave_one_class_are_refused():
    data = make_dataset({"sports": 6, "tech": 4}, seed=14)
    no_test_rows = np.array([], dtype=np.int64)
    tech_rows = [row for row, label in enumerate(data.labels) if label == "tech"]
    with pytest.raises(DataError, match="at least two classes"):
        apply_edits(data, edit_list(data, [make_edit(data, row, "drop") for row in tech_rows]), test_rows=no_test_rows)
    with pytest.raises(DataError, match="drop every row"):
        apply_edits(data, edit_list(data, [make_edit(data, row, "drop") for row in range(len(data))]),
                    test_rows=no_test_rows)


def test_edit_list_round_trips_through_json(dataset, split):
    first, second = int(split.train[0]), int(split.train[1])
    other = next(name for name in dataset.class_names if name != dataset.labels[first])
    edits = edit_list(dataset, [
        make_edit(dataset, first, "relabel", new_label=other, reason="suspect"),
        make_edit(dataset, second, "keep"),
    ])
    restored = EditList.from_json(edits.to_json())
    assert restored == edits
    cleaned_twice = [apply_edits(dataset, made, test_rows=split.test).dataset.data_hash for made in (edits, restored)]
    assert cleaned_twice[0] == cleaned_twice[1]
    with pytest.raises(ConfigError, match="not valid JSON"):
        EditList.from_json("{oops")
    with pytest.raises(ConfigError, match="format"):
        EditList.from_json('{"edits": [{"row": 1}]}')


def test_edit_lists_that_do_not_fit_the_data_are_refused(dataset, split):
    row = int(split.train[0])
    good = make_edit(dataset, row, "drop")
    other = make_dataset({"sports": 5, "tech": 5}, seed=15)
    with pytest.raises(ConfigError, match="different version of the data"):
        apply_edits(other, edit_list(dataset, [good]), test_rows=np.array([], dtype=np.int64))
    stale = Edit(row=row, action="drop", text="something else", old_label=dataset.labels[row])
    with pytest.raises(ConfigError, match="no longer holds"):
        edit_list(dataset, [stale])
    with pytest.raises(ConfigError, match="twice"):
        edit_list(dataset, [good, make_edit(dataset, row, "keep")])
    with pytest.raises(ConfigError, match="unknown action 'delete'"):
        make_edit(dataset, row, "delete")
    with pytest.raises(ConfigError, match="no new label"):
        make_edit(dataset, row, "relabel", new_label="  ")
    with pytest.raises(ConfigError, match="its own label"):
        make_edit(dataset, row, "relabel", new_label=dataset.labels[row])
    with pytest.raises(ConfigError, match="does not exist"):
        make_edit(dataset, len(dataset), "drop")
    with pytest.raises(ConfigError, match="new label but the action"):
        edit_list(dataset, [Edit(row=row, action="drop", text=dataset.texts[row], old_label=dataset.labels[row],
                                 new_label="x")])


# --------------------------------------------------------------------------------------------- reviewing suspects


@pytest.fixture()
def review(dataset, split):
    """Six training rows under review, the suspect list's order; the fourth one's suggestion is its own label."""
    from core.evidence.cleaning import Review

    rows = [int(row) for row in split.train[:6]]
    given = [dataset.labels[row] for row in rows]
    other = {"sports": "tech", "tech": "food", "food": "sports"}
    suggested = [other[label] for label in given]
    suggested[3] = given[3]
    return Review.of(rows, given, suggested)


def actions(review) -> list[str]:
    return [decision.action for decision in review.decisions]


def test_bulk_relabel_applies_each_rows_suggestion_and_skips_a_suggestion_of_its_own_label(review):
    relabelled = review.bulk("relabel", 4)
    assert actions(relabelled) == ["relabel", "relabel", "relabel", "keep", "keep", "keep"]
    assert [d.new_label for d in relabelled.decisions[:3]] == list(review.suggested[:3])
    assert relabelled.last_step == "apply the suggested label to the top 4" and len(relabelled.steps) == 1
    assert relabelled.bulk("relabel", 3) is relabelled  # changes nothing: no step to undo
    assert actions(review) == ["keep"] * 6  # a Review is never changed in place


def test_undo_takes_back_the_last_bulk_action_and_leaves_single_edits_alone(review):
    rows = review.rows
    step_one = review.bulk("relabel", 3)
    by_hand = step_one.decide(rows[5], "drop").decide(rows[4], "relabel", "food")
    step_two = by_hand.bulk("drop", 2)
    assert actions(step_two) == ["drop", "drop", "relabel", "keep", "relabel", "drop"]
    undone = step_two.undo()
    assert undone.decisions == by_hand.decisions and undone.last_step == "apply the suggested label to the top 3"
    assert actions(undone.undo()) == ["keep", "keep", "keep", "keep", "relabel", "drop"]
    assert undone.undo().undo() == undone.undo()  # nothing left to undo


def test_a_relabel_by_hand_without_a_label_takes_the_suggestion(review):
    decided = review.decide(review.rows[0], "relabel")
    assert decided.decision(review.rows[0]).new_label == review.suggested[0]
    assert review.decide(review.rows[1], "relabel", " food ").decision(review.rows[1]).new_label == "food"


def test_review_mistakes_are_user_errors(review, dataset):
    outside = next(row for row in range(len(dataset)) if row not in review.rows)
    with pytest.raises(ConfigError, match="not among the suspects"):
        review.decide(outside, "drop")
    with pytest.raises(ConfigError, match="unknown action"):
        review.decide(review.rows[0], "burn")
    with pytest.raises(ConfigError, match="1 or more"):
        review.bulk("drop", 0)
    with pytest.raises(ConfigError, match="its own label"):
        review.decide(review.rows[3], "relabel").edit_list(dataset)  # the suggestion is the given label


def test_the_edit_list_is_the_review_and_applies_as_shown(review, dataset, split):
    decided = review.bulk("relabel", 2).decide(review.rows[2], "drop")
    made = decided.edit_list(dataset)
    assert [edit.row for edit in made.edits] == list(review.rows)  # rank order, kept rows too
    assert [edit.action for edit in made.edits] == actions(decided)
    assert made.counts() == decided.counts() == {"drop": 1, "relabel": 2, "keep": 3}
    exported = list(csv.DictReader(io.StringIO(made.to_csv().decode("utf-8-sig"))))
    assert [(int(r["row"]), r["action"], r["new_label"]) for r in exported] == [
        (edit.row, edit.action, edit.new_label or "") for edit in made.edits]
    cleaned = apply_edits(dataset, made, test_rows=split.test)
    assert (cleaned.dropped, cleaned.relabelled, cleaned.kept) == (1, 2, 3)
    for row, label in zip(review.rows[:2], review.suggested[:2]):
        assert cleaned.dataset.labels[cleaned.original_rows.tolist().index(row)] == label
    assert same_test_rows(cleaned, split.test).edited is False  # suspects come from outside the test split

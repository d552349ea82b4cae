"""The data side of the relabel-and-retrain loop: an edit list applied to a dataset gives a cleaned copy.

An :class:`EditList` records, per row, what a person decided after triage — ``drop``, ``relabel`` (with the new
label) or ``keep`` — together with the row's text and old label, so a stored list can be checked against the data
it is applied to. :func:`apply_edits` returns a new :class:`CleanedDataset`; the uploaded data is never changed.

A :class:`Review` holds a person's decisions about a ranked list of suspect rows while they work: one decision per
row (keep until changed), bulk actions over the top N ("apply the suggested label", "drop") that can be undone, and
single edits; :meth:`Review.edit_list` turns it into the :class:`EditList` that is applied and exported, so the two
never disagree.

The sealed test split stays sealed: an edit that drops or relabels a test row is refused unless the caller opts in
(``allow_test_edits=True``). Because the cleaned dataset has fewer rows, every cleaned row remembers the original
row it came from, so a retrained model can be scored on the same test rows (:func:`same_test_rows`,
:func:`carried_split`) and the comparison can say whether those rows were edited.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import numpy as np

from core.data.dataset import Dataset, class_order, data_hash
from core.data.splitting import Split
from core.errors import ConfigError, DataError, shown
from core.records import Record
from core.runs.export import to_csv

if TYPE_CHECKING:
    from core.runs.results import Prediction

EDIT_ACTIONS = ("drop", "relabel", "keep")
CSV_HEADER = ("row", "action", "text", "old_label", "new_label", "reason")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Edit(Record):
    """One decision about one row; ``text`` and ``old_label`` are the row as it was when the decision was made."""

    row: int
    action: str  # one of EDIT_ACTIONS
    text: str
    old_label: str
    new_label: Optional[str] = None  # only for "relabel"
    reason: str = ""  # why, e.g. "label suspect: p(given) = 0.02"


@dataclass(frozen=True, kw_only=True)
class EditList(Record):
    """The edits made to one dataset (identified by its data hash), in the order they were made."""

    version: int = FORMAT_VERSION  # of the file format: a list in another one is refused
    data_hash: str
    edits: tuple[Edit, ...]

    def __post_init__(self) -> None:
        if self.version != FORMAT_VERSION:
            raise ValueError(f"edit list format {self.version!r} is not {FORMAT_VERSION}")

    def counts(self) -> dict[str, int]:
        return {action: sum(edit.action == action for edit in self.edits) for action in EDIT_ACTIONS}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "EditList":
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigError("The edit list is not valid JSON: export it again from the Data page.") from None
        try:
            return cls.from_dict(data)
        except ValueError:
            raise ConfigError(
                "The edit list is not in the format this lab saves (rows with an action, text and old label): "
                "export it again from the Data page."
            ) from None

    def to_csv(self) -> bytes:
        """A spreadsheet-safe download (cells that look like formulas are prefixed, see core.runs.export)."""
        rows = ((e.row, e.action, e.text, e.old_label, e.new_label or "", e.reason) for e in self.edits)
        return to_csv(CSV_HEADER, rows)


@dataclass(frozen=True, eq=False)  # holds arrays: compare the fields you need
class CleanedDataset:
    """A cleaned copy of a dataset and the way back to the original's rows."""

    dataset: Dataset
    original_rows: np.ndarray  # cleaned row i is original row original_rows[i]
    original_size: int
    original_hash: str
    edits: EditList
    dropped: int
    relabelled: int
    kept: int  # rows reviewed and left as they were
    test_rows_edited: tuple[int, ...] = field(default=())  # original test rows dropped or relabelled (opt-in only)

    def summary(self) -> dict:
        """What a run record stores next to the edit list."""
        return {
            "source_name": self.dataset.source_name,
            "original_hash": self.original_hash,
            "cleaned_hash": self.dataset.data_hash,
            "rows_before": self.original_size,
            "rows_after": len(self.dataset),
            "dropped": self.dropped,
            "relabelled": self.relabelled,
            "kept": self.kept,
            "test_rows_edited": list(self.test_rows_edited),
            "class_names": list(self.dataset.class_names),
        }


@dataclass(frozen=True, eq=False)
class SameTestRows:
    """The original test rows as rows of the cleaned dataset, and whether cleaning touched them."""

    rows: np.ndarray  # indices into the cleaned dataset, in the order of the original test rows that remain
    original_rows: np.ndarray  # the original row of each entry of ``rows``
    dropped: int  # original test rows that cleaning dropped (only possible with allow_test_edits)
    relabelled: int  # original test rows whose label cleaning changed (only possible with allow_test_edits)

    @property
    def edited(self) -> bool:
        return bool(self.dropped or self.relabelled)

    @property
    def sentence(self) -> str:
        """How comparable a score on these rows is with the original run's test score."""
        if not self.edited:
            return f"Both runs are scored on the same {len(self.rows)} test rows with the same labels."
        return (
            f"Cleaning edited the test split ({self.dropped} dropped, {self.relabelled} relabelled), so the two test "
            f"scores are measured on different answers and are not directly comparable."
        )


# --------------------------------------------------------------------------------------------- making edits


def make_edit(dataset: Dataset, row: int, action: str, *, new_label: Optional[str] = None, reason: str = "") -> Edit:
    """An edit of ``dataset``'s row ``row`` that records the row's text and current label."""
    _check_row(row, len(dataset))
    edit = Edit(
        row=int(row),
        action=action,
        text=dataset.texts[row],
        old_label=dataset.labels[row],
        new_label=None if new_label is None else str(new_label).strip(),
        reason=reason,
    )
    _check_edit(edit)
    return edit


def edit_list(dataset: Dataset, edits: Iterable[Edit]) -> EditList:
    """An edit list for ``dataset``; checked against it at once (see :func:`apply_edits` for the checks)."""
    made = EditList(edits=tuple(edits), data_hash=dataset.data_hash)
    _check_against(made, dataset)
    return made


# --------------------------------------------------------------------------------------------- reviewing suspects

BULK_ACTIONS = ("relabel", "drop")  # relabel: to each row's suggested label


@dataclass(frozen=True)
class Decision(Record):
    """What is decided about one suspect row: ``keep`` (the default), ``drop`` or ``relabel`` to ``new_label``."""

    action: str = "keep"
    new_label: Optional[str] = None  # only for "relabel"


@dataclass(frozen=True)
class BulkStep(Record):
    """One bulk action, with the decisions it replaced (by row), so that it can be undone."""

    description: str  # e.g. "apply the suggested label to the top 10"
    rows: tuple[int, ...]  # the rows it changed
    before: tuple[Decision, ...]  # their decisions before it, in the order of ``rows``


@dataclass(frozen=True)
class Review(Record):
    """Decisions about suspect rows, most doubtful first; every change returns a new Review.

    ``rows``, ``given`` and ``suggested`` describe the suspects (row index, given label, suggested label);
    ``decisions`` holds one :class:`Decision` per suspect, in the same order; ``steps`` are the bulk actions that
    :meth:`undo` can take back, newest last. Single edits (:meth:`decide`) are not steps: undo leaves them alone
    unless the bulk action it takes back had changed the same row afterwards.
    """

    rows: tuple[int, ...]
    given: tuple[str, ...]
    suggested: tuple[str, ...]
    decisions: tuple[Decision, ...]
    steps: tuple[BulkStep, ...] = ()

    def __post_init__(self) -> None:
        if not len(self.rows) == len(self.given) == len(self.suggested) == len(self.decisions):
            raise ValueError("a review needs one given label, suggested label and decision per row")
        if len(set(self.rows)) != len(self.rows):
            raise ValueError("a review lists each row once")

    @classmethod
    def of(cls, rows: Sequence[int], given: Sequence[str], suggested: Sequence[str]) -> "Review":
        """A new review of these suspects, every one kept as it is."""
        return cls(rows=tuple(int(row) for row in rows), given=tuple(given), suggested=tuple(suggested),
                   decisions=tuple(Decision() for _ in rows))

    def decision(self, row: int) -> Decision:
        return self.decisions[self._position(row)]

    def decide(self, row: int, action: str, new_label: Optional[str] = None) -> "Review":
        """One row's decision changed by hand (a relabel without a label takes the suggested one)."""
        position = self._position(row)
        if action not in EDIT_ACTIONS:
            raise ConfigError(f"Row {row} has the unknown action {shown(action)}: "
                              f"choose one of {', '.join(EDIT_ACTIONS)}.")
        if action == "relabel":
            label = (new_label or "").strip() or self.suggested[position]
            decided = Decision("relabel", label)
        else:
            decided = Decision(action)
        return dataclasses.replace(self, decisions=self._with({position: decided}))

    def bulk(self, action: str, top: int) -> "Review":
        """Apply ``action`` to the ``top`` most doubtful suspects: ``relabel`` to each one's suggested label (a row
        whose suggested label is its given one is left as it is), or ``drop``. Recorded as one step for :meth:`undo`;
        a step that changes nothing is not recorded."""
        if action not in BULK_ACTIONS:
            raise ValueError(f"a bulk action is one of {BULK_ACTIONS}, got {action!r}")
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise ConfigError("Choose how many of the top suspects to change: 1 or more.")
        changed: dict[int, Decision] = {}
        for position in range(min(int(top), len(self.rows))):
            if action == "drop":
                wanted = Decision("drop")
            elif self.suggested[position] != self.given[position]:
                wanted = Decision("relabel", self.suggested[position])
            else:
                continue
            if self.decisions[position] != wanted:
                changed[position] = wanted
        if not changed:
            return self
        description = (f"apply the suggested label to the top {top}" if action == "relabel" else f"drop the top {top}")
        step = BulkStep(description=description, rows=tuple(self.rows[p] for p in changed),
                        before=tuple(self.decisions[p] for p in changed))
        return dataclasses.replace(self, decisions=self._with(changed), steps=self.steps + (step,))

    def undo(self) -> "Review":
        """Take back the last bulk action: the rows it changed get their decisions from before it."""
        if not self.steps:
            return self
        step = self.steps[-1]
        restored = {self._position(row): before for row, before in zip(step.rows, step.before)}
        return dataclasses.replace(self, decisions=self._with(restored), steps=self.steps[:-1])

    @property
    def last_step(self) -> Optional[str]:
        """What :meth:`undo` would take back, or None."""
        return self.steps[-1].description if self.steps else None

    def counts(self) -> dict[str, int]:
        return {action: sum(d.action == action for d in self.decisions) for action in EDIT_ACTIONS}

    def edit_list(self, dataset: Dataset, *, reason: str = "suspected label error") -> EditList:
        """Every suspect as an edit of ``dataset`` (kept ones too: they record the row was reviewed), in rank order;
        checked against the dataset at once (a relabel to a row's own label is refused there)."""
        edits = [Edit(row=row, action=decided.action, text=dataset.texts[row], old_label=dataset.labels[row],
                      new_label=decided.new_label if decided.action == "relabel" else None, reason=reason)
                 for row, decided in zip(self.rows, self.decisions)]
        return edit_list(dataset, edits)

    def _position(self, row: int) -> int:
        try:
            return self.rows.index(int(row))
        except ValueError:
            raise ConfigError(f"Row {shown(row, quote=False)} is not among the suspects under review: "
                              "pick a row from the table.") from None

    def _with(self, changes: dict[int, Decision]) -> tuple[Decision, ...]:
        return tuple(changes.get(position, decided) for position, decided in enumerate(self.decisions))


# --------------------------------------------------------------------------------------------- applying edits


def apply_edits(
    dataset: Dataset,
    edits: EditList,
    *,
    test_rows: np.ndarray,
    allow_test_edits: bool = False,
) -> CleanedDataset:
    """A new dataset with the edits applied; ``dataset`` is left as it is.

    ``test_rows`` are the sealed test split's rows of ``dataset``: dropping or relabelling one raises ConfigError
    unless ``allow_test_edits`` is true. ``keep`` edits change nothing (they record that a row was reviewed).
    """
    _check_against(edits, dataset)
    test = set(np.asarray(test_rows, dtype=np.int64).tolist())
    changing = [edit for edit in edits.edits if edit.action != "keep"]
    touched_test = sorted(edit.row for edit in changing if edit.row in test)
    if touched_test and not allow_test_edits:
        first = next(edit for edit in changing if edit.row == touched_test[0])
        raise ConfigError(
            f"Row {first.row} ({shown(first.text, limit=40)}) is in the sealed test split, so editing it would change "
            f"what the model is scored on ({len(touched_test)} test row(s) in the list): leave test rows out of the "
            "edit list, or allow test edits explicitly."
        )
    labels = list(dataset.labels)
    keep_row = np.ones(len(dataset), dtype=bool)
    for edit in changing:
        if edit.action == "drop":
            keep_row[edit.row] = False
        else:
            labels[edit.row] = edit.new_label
    original_rows = np.flatnonzero(keep_row).astype(np.int64)
    original_rows.setflags(write=False)
    texts = tuple(dataset.texts[row] for row in original_rows)
    new_labels = tuple(labels[row] for row in original_rows)
    _check_classifiable(new_labels)

    counts = edits.counts()
    cleaned = dataclasses.replace(
        dataset,
        texts=texts,
        labels=new_labels,
        class_names=class_order(set(new_labels)),
        source_name=f"{dataset.source_name} (cleaned: {counts['drop']} dropped, {counts['relabel']} relabelled)",
        rows_total=dataset.rows_total - counts["drop"],  # keeps rows_total == rows + rows missing a text or label
        data_hash=data_hash(texts, new_labels),
    )
    return CleanedDataset(
        dataset=cleaned,
        original_rows=original_rows,
        original_size=len(dataset),
        original_hash=dataset.data_hash,
        edits=edits,
        dropped=counts["drop"],
        relabelled=counts["relabel"],
        kept=counts["keep"],
        test_rows_edited=tuple(touched_test),
    )


def same_test_rows(cleaned: CleanedDataset, original_test_rows: np.ndarray) -> SameTestRows:
    """Where the original test rows are in the cleaned dataset, and how many cleaning dropped or relabelled."""
    original_test_rows = np.asarray(original_test_rows, dtype=np.int64)
    position = _positions(cleaned)
    _check_rows_in(original_test_rows, cleaned.original_size)
    mapped = position[original_test_rows]
    survived = mapped >= 0
    relabelled_rows = {edit.row for edit in cleaned.edits.edits if edit.action == "relabel"}
    relabelled = sum(int(row) in relabelled_rows for row in original_test_rows[survived])
    return SameTestRows(
        rows=mapped[survived],
        original_rows=original_test_rows[survived],
        dropped=int((~survived).sum()),
        relabelled=int(relabelled),
    )


def carried_split(cleaned: CleanedDataset, original_split: Split) -> Split:
    """The original split's train / validation / test rows as rows of the cleaned dataset (dropped rows leave).

    Retraining on this split scores the new model on the original test rows; a class left without training rows,
    or a new class that exists only in training, is named in the notes.
    """
    position = _positions(cleaned)
    parts = {}
    for name in ("train", "validation", "test"):
        rows = np.asarray(original_split.indices(name), dtype=np.int64)
        _check_rows_in(rows, cleaned.original_size)
        mapped = position[rows]
        parts[name] = np.sort(mapped[mapped >= 0])
    y = cleaned.dataset.y
    notes = list(original_split.notes)
    names = cleaned.dataset.class_names
    trained = set(y[parts["train"]].tolist())
    tested = set(y[parts["test"]].tolist())
    for class_id, name in enumerate(names):
        if class_id not in trained:
            notes.append(f"After cleaning, class {shown(name)} has no training rows: the model cannot learn it.")
        elif class_id not in tested:
            notes.append(f"After cleaning, class {shown(name)} has no test rows: it cannot be evaluated.")
    return Split(train=parts["train"], validation=parts["validation"], test=parts["test"], notes=tuple(notes))


# --------------------------------------------------------------------------------------------- checks


def _check_row(row: int, size: int) -> None:
    if not isinstance(row, (int, np.integer)) or isinstance(row, bool) or not 0 <= row < size:
        raise ConfigError(f"Row {shown(row, quote=False)} does not exist (the data has rows 0 to {size - 1}): "
                          "pick a row from the table.")


def _check_edit(edit: Edit) -> None:
    if edit.action not in EDIT_ACTIONS:
        raise ConfigError(f"Row {edit.row} has the unknown action {shown(edit.action)}: "
                          f"choose one of {', '.join(EDIT_ACTIONS)}.")
    if edit.action == "relabel":
        if not (edit.new_label or "").strip():
            raise ConfigError(f"Row {edit.row} is to be relabelled but has no new label: type or choose the new label.")
        if edit.new_label != edit.new_label.strip():
            raise ConfigError(f"The new label of row {edit.row} starts or ends with spaces: remove them.")
        if edit.new_label == edit.old_label:
            raise ConfigError(
                f"Row {edit.row} is relabelled to its own label {shown(edit.old_label)}: "
                "choose another label or mark it keep."
            )
    elif edit.new_label is not None:
        raise ConfigError(f"Row {edit.row} has a new label but the action {shown(edit.action)}: "
                          "use relabel, or clear the new label.")


def _check_against(edits: EditList, dataset: Dataset) -> None:
    """The list must be about this very dataset: same hash, rows that exist and still hold the recorded text/label."""
    if edits.data_hash != dataset.data_hash:
        raise ConfigError(
            "This edit list was made for a different version of the data (its rows no longer match): "
            "load the data it was made for, or review the rows again."
        )
    seen: set[int] = set()
    for edit in edits.edits:
        _check_row(edit.row, len(dataset))
        _check_edit(edit)
        if edit.row in seen:
            raise ConfigError(f"Row {edit.row} appears twice in the edit list: keep one decision per row.")
        seen.add(edit.row)
        if dataset.texts[edit.row] != edit.text or dataset.labels[edit.row] != edit.old_label:
            raise ConfigError(
                f"Row {edit.row} no longer holds the text and label the edit list recorded: review the rows again."
            )


def _check_classifiable(labels: Sequence[str]) -> None:
    if not labels:
        raise DataError("The edits drop every row, which leaves nothing to train on: keep some rows.")
    remaining = set(labels)
    if len(remaining) < 2:
        only = shown(next(iter(remaining)))
        raise DataError(
            f"After the edits every row is labelled {only}, so there is nothing to tell apart: "
            "keep rows of at least two classes."
        )


def _check_rows_in(rows: np.ndarray, size: int) -> None:
    if rows.size and (rows.min() < 0 or rows.max() >= size):
        raise ValueError("row indices must refer to the original dataset")


def _positions(cleaned: CleanedDataset) -> np.ndarray:
    """Original row → cleaned row, or -1 where the row was dropped."""
    position = np.full(cleaned.original_size, -1, dtype=np.int64)
    position[cleaned.original_rows] = np.arange(len(cleaned.original_rows))
    return position


# --------------------------------------------------------------------------------------------- comparing runs


def compare_on_same_rows(
    original: Sequence["Prediction"],
    cleaned: Sequence["Prediction"],
    original_rows: np.ndarray,
    class_names: Sequence[str],
) -> dict:
    """Both runs' test scores on the test rows they share, read against the ORIGINAL labels.

    ``original`` and ``cleaned`` are the two runs' test predictions (``Prediction.row`` indexes each run's own
    dataset); ``original_rows`` maps a cleaned row to its original row. Scoring both against the original answers
    keeps the comparison honest even when test rows were edited (opt-in): the question is which model predicts the
    held-out data better, not which answer key is easier.
    """
    from core import lazy

    lazy.load("sklearn")
    from core.model.evaluation import classification_metrics

    by_original = {p.row: p for p in original}
    pairs = [(by_original[int(original_rows[p.row])], p) for p in cleaned if int(original_rows[p.row]) in by_original]
    if not pairs:
        return {"rows": 0, "original": None, "cleaned": None}
    index = {name: i for i, name in enumerate(class_names)}
    truth = np.array([index[a.true] for a, _ in pairs])
    one_hot = np.eye(len(class_names))

    def score(predictions: list[str]) -> dict:
        predicted = np.array([index.get(name, -1) for name in predictions])
        known = predicted >= 0  # a class that exists only after relabelling cannot be scored against the originals
        metrics = classification_metrics(truth[known], one_hot[predicted[known]], class_names)
        return {"accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1, "rows": int(known.sum())}

    return {"rows": len(pairs), "original": score([a.predicted for a, _ in pairs]),
            "cleaned": score([b.predicted for _, b in pairs])}

"""The Data page's label-noise triage and the relabel-and-retrain loop.

Suspects come from out-of-fold TF-IDF + multinomial logistic-regression probabilities of the non-test rows
(core.evidence.label_issues); near-duplicates that straddle the train/test split come with how much they flatter the
baseline's test score (core.evidence.near_duplicates). Both are kept in the session (components.frame.state.cleaning)
until the data, the preprocessing or the split changes, so leaving the page and coming back shows them again at once.

The user decides per suspect — keep, drop, relabel — one row at a time in the table or for the top N at once, and
can undo the last bulk action; the decisions live in a core.evidence.cleaning.Review, not in the table widget (whose
state Streamlit deletes when the page is left). The lab builds a cleaned copy of the data (the uploaded file is never
changed), trains the same settings on the original and on the cleaned data, and compares the two runs on the same
test rows (core.evidence.cleaning). The sealed test split is edited only on request. Runs are named by their id:
no server path reaches the browser.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Optional

import numpy as np
import pandas as pd
import streamlit as st

from components.frame import cached, downloads, state
from components.frame.safe import plain
from core.config import ExperimentConfig
from core.data.dataset import Dataset
from core.errors import UserError
from core.evidence.cleaning import EDIT_ACTIONS, EditList, Review, apply_edits, carried_split, compare_on_same_rows

POLL_SECONDS = 1.0
KEEP, DROP, RELABEL = "keep", "drop", "relabel"  # the values of core.evidence.cleaning.EDIT_ACTIONS
DEFAULT_TOP = 10
GIVEN_P, SUGGESTED_P = "P(given label)", "P(suggested label)"
_QUOTED_ABSOLUTE_PATH = re.compile(r"""(['"])(/|[A-Za-z]:\\)[^'"]*\1""")


def render(data: Dataset, key: str, config: ExperimentConfig) -> None:
    review = state.cleaning()
    if review.get("key") != key or "review" not in review:
        review = state.reset_cleaning(key)
    settings = _settings(config)
    if review["found"] and review["settings"] != settings:
        state.forget_cleaning_results()  # found with other preprocessing or another split: no longer true
    if not review["found"]:
        _offer_search(review, settings)
        return
    if review["suspects"] is None:
        try:
            suspects = cached.label_suspects_for(key, data, config)
            leakage = cached.leakage_for(key, data, config)
        except UserError as exc:
            st.error(plain(exc))
            return
        review.update(suspects=suspects, leakage=leakage, settings=settings,
                      review=Review.of([s.row for s in suspects.suspects], [s.given_label for s in suspects.suspects],
                                       [s.suggested_label for s in suspects.suspects]))
    test_rows = len(cached.split_for(key, data, config).test)
    _suspects_summary(review["suspects"], test_rows)
    if review["suspects"].suspects:
        _bulk_actions(review)
        _suspects_table(review, key, data.class_names)
    _near_duplicates(data, *review["leakage"])
    _retrain(data, key, config, review)


def _settings(config: ExperimentConfig) -> str:
    """What the suspects and near-duplicates depend on besides the data: preprocessing, split and seed."""
    return json.dumps({"preprocessing": dataclasses.asdict(config.preprocessing),
                       "split": dataclasses.asdict(config.split), "seed": config.seed},
                      sort_keys=True, default=str)


def _offer_search(review: dict, settings: str) -> None:
    if review.get("stale"):
        st.info("The preprocessing or the split changed since the last search, so its suspects and near-duplicates "
                "no longer apply: search again.")
    st.caption("Exact duplicates and conflicts are above. Mislabelled rows and near-duplicates take a few seconds "
               "to find (5-fold TF-IDF + multinomial logistic regression, then cleanlab; MinHash over character "
               "5-grams). The results stay here for this session.")
    if st.button("Find suspected label errors and near-duplicates", key="cleaning_find"):
        review.update(found=True, settings=settings, stale=False)
        st.rerun()


# ---------------------------------------------------------------------------------------------------- suspects


def _suspects_summary(suspects, test_rows: int) -> None:
    st.markdown(f"**{suspects.suspects_found:,}** suspected label errors. **Rows checked: {suspects.rows_checked:,}** "
                f"— the training and validation rows; the {test_rows:,} sealed test rows are never looked at.")
    st.caption(plain(suspects.method))
    if suspects.suspects_per_class:
        per_class = pd.DataFrame({"given label": list(suspects.suspects_per_class),
                                  "suspects": list(suspects.suspects_per_class.values())})
        st.dataframe(per_class, hide_index=True)
    for note in suspects.notes:
        st.caption(plain(note))


def _bulk_actions(review: dict) -> None:
    """The top-N buttons and Undo. Each changes the Review in its callback, before anything is drawn, and shows the
    table afresh (a new editor key: the old table's pending cell edits would override the bulk change)."""
    current: Review = review["review"]
    most = len(current.rows)
    top = int(st.number_input("How many of the top suspects", min_value=1, max_value=most,
                              value=min(review.get("top") or DEFAULT_TOP, most), step=1, key="cleaning_top",
                              help="The most doubtful suspects first (lowest probability of the given label)."))
    review["top"] = top
    left, middle, right = st.columns(3)
    left.button(f"Apply the suggested label to the top {top}", key="cleaning_bulk_relabel", on_click=_change,
                args=(review, lambda r: r.bulk(RELABEL, _top(top))))
    middle.button(f"Drop the top {top}", key="cleaning_bulk_drop", on_click=_change,
                  args=(review, lambda r: r.bulk(DROP, _top(top))))
    right.button("Undo the last bulk action", key="cleaning_undo", disabled=not current.steps, on_click=_change,
                 args=(review, Review.undo),
                 help=f"Takes back: {current.last_step}." if current.steps else "No bulk action to undo.")
    if current.last_step:
        st.caption(plain(f"Last bulk action: {current.last_step}. Single edits in the table stay as you make them."))


def _top(shown: int) -> int:
    """The N typed last (a click may arrive in the same rerun as the number), else the one on the button."""
    return int(st.session_state.get("cleaning_top", shown))


def _change(review: dict, change) -> None:
    changed = change(review["review"])
    if changed is not review["review"]:
        review["review"] = changed
        review["editor"] += 1


def _table(current: Review, suspects) -> pd.DataFrame:
    probabilities = {s.row: (s.given_label_probability, s.suggested_label_probability) for s in suspects.suspects}
    return pd.DataFrame([{
        "action": decided.action, "new label": decided.new_label or suggested, "text": text,
        "given label": given, GIVEN_P: probabilities[row][0],
        "suggested label": suggested, SUGGESTED_P: probabilities[row][1],
        "row": row,
    } for row, given, suggested, decided, text in zip(current.rows, current.given, current.suggested, current.decisions,
                                                      (s.text for s in suspects.suspects))])


def _suspects_table(review: dict, key: str, class_names) -> None:
    current: Review = review["review"]
    table = _table(current, review["suspects"])
    st.caption("Mark each suspect: keep it, drop it, or relabel it (the suggested label is filled in). Sorted by "
               f"{GIVEN_P}, lowest first: the most doubtful come first.")
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"cleaning_editor_{key}_{review['editor']}", num_rows="fixed",
        disabled=["text", "given label", GIVEN_P, "suggested label", SUGGESTED_P, "row"],
        column_config={
            "action": st.column_config.SelectboxColumn("action", options=[KEEP, DROP, RELABEL], required=True,
                                                       width="small"),
            "new label": st.column_config.SelectboxColumn("new label", options=list(class_names), width="medium"),
            "text": st.column_config.TextColumn("text", width="large"),
            GIVEN_P: st.column_config.NumberColumn(
                GIVEN_P, format="%.2f",
                help="Out-of-fold probability of the row's given label: the sort key (lowest first)."),
            SUGGESTED_P: st.column_config.NumberColumn(SUGGESTED_P, format="%.2f",
                                                       help="Out-of-fold probability of the suggested label (the most "
                                                            "probable class)."),
        },
    )
    review["review"] = _with_single_edits(current, table, edited)


def _with_single_edits(current: Review, shown: pd.DataFrame, edited: pd.DataFrame) -> Review:
    """The Review with each row the person changed in the table (compared with what the table was given)."""
    for before, after in zip(shown.to_dict("records"), edited.to_dict("records")):
        action = after["action"] if after["action"] in EDIT_ACTIONS else KEEP
        chosen = after.get("new label")
        chosen = chosen.strip() if isinstance(chosen, str) else ""
        if action != before["action"] or (action == RELABEL and chosen and chosen != before["new label"]):
            current = current.decide(int(after["row"]), action, chosen if action == RELABEL else None)
    return current


# ------------------------------------------------------------------------------------------------ near-duplicates


def _near_duplicates(data: Dataset, straddling, inflation: Optional[dict]) -> None:
    complete = ("the search was complete" if straddling.complete
                else "the search sampled crowded hash buckets, so this is a lower bound")
    st.markdown(f"**{len(straddling.matches):,}** test rows have a near-duplicate in the training or validation rows "
                f"({straddling.leaked_fraction:.1%} of the test split; {straddling.identical:,} identical after "
                f"folding case and punctuation; similarity ≥ {straddling.threshold:g}; {complete}).")
    if inflation and inflation["without_near_duplicates"]["rows"]:
        everything, clean = inflation["all"], inflation["without_near_duplicates"]
        cols = st.columns(3)
        cols[0].metric("Baseline macro-F1, all test rows", f"{everything['macro_f1']:.3f}")
        cols[1].metric("… without near-duplicates", f"{clean['macro_f1']:.3f}")
        cols[2].metric("Inflation", f"{inflation['difference']['macro_f1']:+.3f}",
                       help="How much the near-duplicates flatter the baseline's test macro-F1 "
                            "(positive: they inflate it).")
    if straddling.matches:
        rows = [{"test text": data.texts[m.test_row], "training text": data.texts[m.train_row],
                 "similarity": round(m.similarity, 3),
                 "test label": data.labels[m.test_row], "training label": data.labels[m.train_row]}
                for m in straddling.matches[:200]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"test text": st.column_config.TextColumn(width="large"),
                                    "training text": st.column_config.TextColumn(width="large")})
    for note in straddling.notes:
        st.caption(plain(note))


# ------------------------------------------------------------------------------------------ retrain and compare


def _retrain(data: Dataset, key: str, config: ExperimentConfig, review: dict) -> None:
    current: Optional[Review] = review["review"]
    if current is None or not current.rows:
        return
    counts = current.counts()
    st.markdown(f"**Your edits:** {counts[DROP]} to drop, {counts[RELABEL]} to relabel, {counts[KEEP]} kept.")
    try:
        made = current.edit_list(data)
    except UserError as exc:
        st.error(plain(exc))
        return
    downloads.csv_button(made.to_csv(), label="Download the edit list (CSV)", file_name="edits.csv",
                         key="cleaning_edits_csv")
    allow_test = st.toggle("Also let cleaning edit the sealed test split", key="cleaning_allow_test", value=False,
                           help="Off: only training and validation rows change, so both runs are scored on the same "
                                "answers. On: the comparison says the test answers changed.")
    if st.button("Retrain on the cleaned data and compare", key="cleaning_retrain",
                 disabled=not (counts[DROP] + counts[RELABEL]), type="primary",
                 help="Trains the current settings twice, on the original and on the cleaned data "
                      "(same seed, same split)."):
        try:
            _start_loop(data, key, config, made, allow_test, review)
        except UserError as exc:
            st.error(plain(_without_server_paths(str(exc))))
    if review.get("loop"):
        active = any(job.is_active() for job in review["jobs"])
        st.fragment(run_every=POLL_SECONDS if active else None)(_comparison)(review, data)


def _start_loop(data: Dataset, key: str, config: ExperimentConfig, made, allow_test: bool, review: dict) -> None:
    from core.runs.store import runs_dir
    from core.training.jobs import TrainingJob, spec_for

    split = cached.split_for(key, data, config)
    cleaned = apply_edits(data, made, test_rows=split.test, allow_test_edits=allow_test)
    loop = uuid.uuid4().hex[:8]
    common = dict(owner=state.owner())
    original = TrainingJob(spec_for(data, config, runs_dir(), {"cleaning": loop, "variant": "original"},
                                    label="cleaning check · original data", **common))
    attachments = {"edits": made.to_dict(), "cleaning": cleaned.summary(),
                   "original_rows": cleaned.original_rows.tolist(), "original_test_rows": split.test.tolist()}
    retrained = TrainingJob(spec_for(cleaned.dataset, config, runs_dir(), {"cleaning": loop, "variant": "cleaned"},
                                     split=carried_split(cleaned, split), attachments=attachments,
                                     label="cleaning check · cleaned data", **common))
    for job in (original, retrained):
        cached.scheduler().submit(job)
    review.update(loop=loop, jobs=[original, retrained])


def _runs_of(loop: str) -> dict[str, tuple[str, str]]:
    """variant -> (run folder, for loading here only; run id, for showing)."""
    from core.runs.store import list_runs

    return {run.info.tags.get("variant"): (str(run.path), run.run_id)
            for run in list_runs() if run.info.tags.get("cleaning") == loop}


def _without_server_paths(message: str) -> str:
    """A message with the runs folder, and any other quoted absolute path, named instead of spelled out: the
    browser may be anyone's, the folders are the server's."""
    from core.runs.store import runs_dir

    folder = runs_dir()
    for spelled in {str(folder.resolve()), str(folder)}:
        if len(spelled) > 1:
            message = message.replace(f"'{spelled}'", "the runs folder").replace(spelled, "the runs folder")
    return _QUOTED_ABSOLUTE_PATH.sub("a folder on the server", message)


def _comparison(review: dict, data: Dataset) -> None:
    views = [cached.scheduler().view(job) for job in review["jobs"]]
    for view in views:
        if view.status == "failed":
            st.error(plain(_without_server_paths(view.error or "A training of the comparison failed.")))
    runs = _runs_of(review["loop"])
    if {"original", "cleaned"} - set(runs):
        waiting = [view for view in views if view.active]
        if waiting:
            st.info(plain("Training both runs (original, then cleaned): " +
                          ", ".join(f"{view.label.split('· ')[-1]}: "
                                    f"{view.phase if view.status == 'running' else view.status}"
                                    for view in waiting)))
        return
    original, cleaned = cached.run_for(runs["original"][0]), cached.run_for(runs["cleaned"][0])
    original_rows = np.asarray(cleaned.attachment("original_rows"), dtype=np.int64)
    compared = compare_on_same_rows(original.predictions, cleaned.predictions, original_rows, original.class_names)
    sameness = _sameness(cleaned)
    st.markdown("**Original against cleaned, on the same test rows** (scored against the original labels)")
    table = pd.DataFrame([
        {"run": "original data", "test macro-F1": compared["original"]["macro_f1"],
         "test accuracy": compared["original"]["accuracy"], "run id": runs["original"][1]},
        {"run": "cleaned data", "test macro-F1": compared["cleaned"]["macro_f1"],
         "test accuracy": compared["cleaned"]["accuracy"], "run id": runs["cleaned"][1]},
    ])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"test macro-F1": st.column_config.NumberColumn(format="%.3f"),
                                "test accuracy": st.column_config.NumberColumn(format="%.3f"),
                                "run id": st.column_config.TextColumn(help="The run's id on the Runs page.")})
    delta = compared["cleaned"]["macro_f1"] - compared["original"]["macro_f1"]
    st.caption(plain(f"Cleaning changed test macro-F1 by {delta:+.3f} on {compared['rows']} shared test rows. "
                     f"{sameness} "
                     "One seed: a change under about 0.03 is within this lab's seed-to-seed noise."))
    _applied_edits(cleaned)


def _applied_edits(cleaned_run) -> None:
    """The edit list the cleaned run was trained with, as saved beside it (it may differ from the table by now)."""
    saved = cleaned_run.attachment("edits")
    if saved:
        downloads.csv_button(EditList.from_dict(saved).to_csv(),
                             label="Download the edits this comparison applied (CSV)",
                             file_name=f"{cleaned_run.info.id or 'cleaned'}-edits.csv", key="cleaning_applied_csv")


def _sameness(cleaned_run) -> str:
    summary = cleaned_run.attachment("cleaning") or {}
    edited = summary.get("test_rows_edited") or []
    if not edited:
        return f"The test split was not edited: both runs answer the same {len(cleaned_run.predictions)} questions."
    return (f"You allowed test edits: {len(edited)} test rows were dropped or relabelled, so the cleaned run's own "
            "test score is on different answers; the scores above use the original labels of the rows both kept.")

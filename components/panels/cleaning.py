"""The Data page's label-noise triage and the relabel-and-retrain loop.

Suspects come from out-of-fold baseline probabilities of the non-test rows (core.evidence.label_issues); near-duplicates
that straddle the train/test split come with how much they flatter the baseline's test score
(core.evidence.near_duplicates). The user marks suspects drop / relabel / keep; the lab builds a cleaned copy of the data
(the uploaded file is never changed), trains the same settings on the original and on the cleaned data, and
compares the two runs on the same test rows (core.evidence.cleaning). The sealed test split is edited only on request.
"""

from __future__ import annotations

import uuid
from typing import Optional

import numpy as np
import pandas as pd
import streamlit as st

from components.frame import cached, downloads, state
from components.frame.safe import plain
from core.evidence.cleaning import EDIT_ACTIONS, Edit, apply_edits, carried_split, compare_on_same_rows, edit_list
from core.config import ExperimentConfig
from core.data.dataset import Dataset
from core.errors import UserError

POLL_SECONDS = 1.0
KEEP, DROP, RELABEL = "keep", "drop", "relabel"  # the values of core.evidence.cleaning.EDIT_ACTIONS


def render(data: Dataset, key: str, config: ExperimentConfig) -> None:
    review = state.cleaning()
    if review.get("key") != key:
        review = state.reset_cleaning(key)
    if not review["found"]:
        st.caption("Exact duplicates and conflicts are above. Mislabelled rows and near-duplicates take a few seconds "
                   "to find (a 5-fold TF-IDF baseline, then cleanlab; MinHash over character 5-grams).")
        if st.button("Find suspected label errors and near-duplicates", key="cleaning_find"):
            review["found"] = True
            st.rerun()
        return
    suspects = cached.label_suspects_for(key, data, config)
    straddling, inflation = cached.leakage_for(key, data, config)
    edits = _suspects_editor(data, suspects, key)
    _near_duplicates(data, straddling, inflation)
    _retrain(data, key, config, edits, review)


def _suspects_editor(data: Dataset, suspects, key: str) -> list[Edit]:
    st.markdown(f"**{suspects.suspects_found:,}** suspected label errors among {suspects.rows_checked:,} non-test rows "
                "(the sealed test split is never looked at).")
    st.caption(plain(suspects.method))
    if suspects.suspects_per_class:
        per_class = pd.DataFrame({"given label": list(suspects.suspects_per_class),
                                  "suspects": list(suspects.suspects_per_class.values())})
        st.dataframe(per_class, hide_index=True)
    for note in suspects.notes:
        st.caption(plain(note))
    if not suspects.suspects:
        return []
    table = pd.DataFrame([{
        "action": KEEP, "new label": s.suggested_label, "text": s.text, "given": s.given_label,
        "suggested": s.suggested_label, "confidence": round(s.suggested_label_probability, 3), "row": s.row,
    } for s in suspects.suspects])
    st.caption("Mark each suspect: keep it, drop it, or relabel it (the suggested label is filled in). Sort by any "
               "column; the most suspicious come first.")
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"cleaning_editor_{key}", num_rows="fixed",
        disabled=["text", "given", "suggested", "confidence", "row"],
        column_config={
            "action": st.column_config.SelectboxColumn("action", options=[KEEP, DROP, RELABEL], required=True, width="small"),
            "new label": st.column_config.SelectboxColumn("new label", options=list(data.class_names), width="medium"),
            "text": st.column_config.TextColumn("text", width="large"),
            "confidence": st.column_config.NumberColumn("confidence", format="%.2f",
                                                        help="The model's probability of the suggested label."),
        },
    )
    return [_edit(data, record) for record in edited.to_dict("records")]


def _edit(data: Dataset, record: dict) -> Edit:
    """One table row as an edit; a relabel without a chosen label takes the suggested one."""
    row = int(record["row"])
    action = record["action"] if record["action"] in EDIT_ACTIONS else KEEP
    chosen = record.get("new label")
    new_label = (chosen if isinstance(chosen, str) and chosen.strip() else record["suggested"]) if action == RELABEL else None
    return Edit(row=row, action=action, text=data.texts[row], old_label=data.labels[row], new_label=new_label,
                reason="suspected label error")


def _near_duplicates(data: Dataset, straddling, inflation: Optional[dict]) -> None:
    st.markdown(f"**{len(straddling.matches):,}** test rows have a near-duplicate in the training or validation rows "
                f"({straddling.leaked_fraction:.1%} of the test split; similarity ≥ {straddling.threshold:g}).")
    if inflation and inflation["without_near_duplicates"]["rows"]:
        everything, clean = inflation["all"], inflation["without_near_duplicates"]
        cols = st.columns(3)
        cols[0].metric("Baseline macro-F1, all test rows", f"{everything['macro_f1']:.3f}")
        cols[1].metric("… without near-duplicates", f"{clean['macro_f1']:.3f}")
        cols[2].metric("Inflation", f"{inflation['difference']['macro_f1']:+.3f}",
                       help="How much the near-duplicates flatter the baseline's test macro-F1 (positive: they inflate it).")
    if straddling.matches:
        rows = [{"test text": data.texts[m.test_row], "training text": data.texts[m.train_row], "similarity": round(m.similarity, 3),
                 "test label": data.labels[m.test_row], "training label": data.labels[m.train_row]}
                for m in straddling.matches[:200]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"test text": st.column_config.TextColumn(width="large"),
                                    "training text": st.column_config.TextColumn(width="large")})
    for note in straddling.notes:
        st.caption(plain(note))


def _retrain(data: Dataset, key: str, config: ExperimentConfig, edits: list[Edit], review: dict) -> None:
    changes = [e for e in edits if e.action != KEEP]
    st.markdown(f"**Your edits:** {sum(e.action == DROP for e in changes)} to drop, "
                f"{sum(e.action == RELABEL for e in changes)} to relabel, {len(edits) - len(changes)} kept.")
    try:
        made = edit_list(data, edits)
    except UserError as exc:
        st.error(plain(exc))
        return
    downloads.csv_button(made.to_csv(), label="Download the edit list (CSV)", file_name="edits.csv", key="cleaning_edits_csv")
    allow_test = st.toggle("Also let cleaning edit the sealed test split", key="cleaning_allow_test", value=False,
                           help="Off: only training and validation rows change, so both runs are scored on the same "
                                "answers. On: the comparison says the test answers changed.")
    if st.button("Retrain on the cleaned data and compare", key="cleaning_retrain", disabled=not changes, type="primary",
                 help="Trains the current settings twice, on the original and on the cleaned data (same seed, same split)."):
        try:
            _start_loop(data, key, config, made, allow_test, review)
        except UserError as exc:
            st.error(plain(exc))
    if review.get("loop"):
        active = any(job.is_active() for job in review["jobs"])
        st.fragment(run_every=POLL_SECONDS if active else None)(_comparison)(review, data)


def _start_loop(data: Dataset, key: str, config: ExperimentConfig, made, allow_test: bool, review: dict) -> None:
    from core.training.jobs import TrainingJob, spec_for
    from core.runs.store import runs_dir

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


def _runs_of(loop: str) -> dict[str, str]:
    from core.runs.store import list_runs

    return {run.info.tags.get("variant"): str(run.path) for run in list_runs() if run.info.tags.get("cleaning") == loop}


def _comparison(review: dict, data: Dataset) -> None:
    views = [cached.scheduler().view(job) for job in review["jobs"]]
    failed = [view for view in views if view.status == "failed"]
    for view in failed:
        st.error(plain(view.error or "A training of the comparison failed."))
    runs = _runs_of(review["loop"])
    if {"original", "cleaned"} - set(runs):
        waiting = [view for view in views if view.active]
        if waiting:
            st.info(plain("Training both runs (original, then cleaned): " +
                          ", ".join(f"{view.label.split('· ')[-1]}: {view.phase if view.status == 'running' else view.status}"
                                    for view in waiting)))
        return
    original, cleaned = cached.run_for(runs["original"]), cached.run_for(runs["cleaned"])
    original_rows = np.asarray(cleaned.attachment("original_rows"), dtype=np.int64)
    compared = compare_on_same_rows(original.predictions, cleaned.predictions, original_rows, original.class_names)
    sameness = _sameness(cleaned, original_rows)
    st.markdown("**Original against cleaned, on the same test rows** (scored against the original labels)")
    table = pd.DataFrame([
        {"run": "original data", "test macro-F1": compared["original"]["macro_f1"], "test accuracy": compared["original"]["accuracy"],
         "run folder": runs["original"]},
        {"run": "cleaned data", "test macro-F1": compared["cleaned"]["macro_f1"], "test accuracy": compared["cleaned"]["accuracy"],
         "run folder": runs["cleaned"]},
    ])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"test macro-F1": st.column_config.NumberColumn(format="%.3f"),
                                "test accuracy": st.column_config.NumberColumn(format="%.3f")})
    delta = compared["cleaned"]["macro_f1"] - compared["original"]["macro_f1"]
    st.caption(plain(f"Cleaning changed test macro-F1 by {delta:+.3f} on {compared['rows']} shared test rows. {sameness} "
                     "One seed: a change under about 0.03 is within this lab's seed-to-seed noise."))


def _sameness(cleaned_run, original_rows: np.ndarray) -> str:
    summary = cleaned_run.attachment("cleaning") or {}
    edited = summary.get("test_rows_edited") or []
    if not edited:
        return f"The test split was not edited: both runs answer the same {len(cleaned_run.predictions)} questions."
    return (f"You allowed test edits: {len(edited)} test rows were dropped or relabelled, so the cleaned run's own "
            "test score is on different answers; the scores above use the original labels of the rows both kept.")


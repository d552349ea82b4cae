"""A lever study's results: which levers helped (verdicts over seeds), and the combination scored on the sealed test
split."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.figures import study as study_figures
from components.frame.safe import plain
from components.panels.study.reading import StudyReport, load_settings
from core.config import ExperimentConfig
from core.evidence.levers import CATEGORIES
from core.evidence.study import HELPS, HURTS, MIN_EFFECT, VERDICT_RULE, WITHIN_NOISE, LeverTable

VERDICT_WORDS = {HELPS: "helps", HURTS: "hurts", WITHIN_NOISE: "within noise"}


def lever_rows(table: LeverTable) -> list[dict]:
    """The chart's rows (the table's order: best mean difference first)."""
    return [{"lever": row.title, "mean": row.mean_delta, "sd": row.sd_delta,
             "low": row.interval[0] if row.interval else None,
             "high": row.interval[1] if row.interval else None, "verdict": row.verdict, "n": row.n}
            for row in table.rows]


def lever_frame(table: LeverTable) -> pd.DataFrame:
    return pd.DataFrame([{
        "lever": row.title, "verdict": VERDICT_WORDS.get(row.verdict, row.verdict), "Δ mean": row.mean_delta,
        "± sd": row.sd_delta,
        "90% interval": f"{row.interval[0]:+.3f} to {row.interval[1]:+.3f}" if row.interval else "—",
        "seeds": row.n, "why it stopped": row.stop_reason, "mean validation macro-F1": row.mean_value,
        "group": CATEGORIES.get(row.category, row.category),
    } for row in table.rows])


def verdict_summary(table: LeverTable) -> str:
    """One sentence: which levers helped, which hurt, how many are within noise."""
    helped = [row.title for row in table.rows if row.verdict == HELPS]
    hurt = [row.title for row in table.rows if row.verdict == HURTS]
    noise = sum(row.verdict == WITHIN_NOISE for row in table.rows)
    parts = [f"Helped: {'; '.join(helped)}." if helped else "No lever helped beyond noise."]
    if hurt:
        parts.append(f"Hurt: {'; '.join(hurt)}.")
    if noise:
        parts.append(f"{noise} within noise.")
    return " ".join(parts)


def render(report: StudyReport) -> None:
    table = report.levers
    st.subheader("Which levers helped")
    if not table.complete:
        most = f" (at most {table.most} in all)" if table.most > table.planned else ""
        st.caption(f"Partial: {table.done} of {table.planned} runs of the lever phase queued so far are done{most}; "
                   "verdicts settle as seeds finish.")
    if table.reference_mean is not None:
        spread = f" ± {table.reference_sd:.3f}" if table.reference_sd is not None else ""
        st.markdown(plain(f"Reference (your settings): validation macro-F1 {table.reference_mean:.3f}{spread} over "
                          f"{table.reference_n} seed(s). {verdict_summary(table)}", limit=None))
    rows = lever_rows(table)
    if any(row["mean"] is not None for row in rows):
        st.altair_chart(study_figures.lever_effects(rows, min_effect=MIN_EFFECT), width="stretch")
    st.dataframe(lever_frame(table), hide_index=True, width="stretch", column_config={
        "Δ mean": st.column_config.NumberColumn(format="%+.3f"), "± sd": st.column_config.NumberColumn(format="%.3f"),
        "mean validation macro-F1": st.column_config.NumberColumn(format="%.3f")})
    st.caption(plain(f"How the verdict is decided: {VERDICT_RULE} Δ is the lever's validation macro-F1 minus the "
                     "reference's on the same seed; the test split is not used here.", limit=None))
    if table.seeding:
        spent = (f" It took {table.done} runs instead of the {table.most} of every lever on every seed."
                 if table.complete and table.most > table.done else "")
        st.caption(plain(f"How seeds are spent: {table.seeding}{spent}", limit=None))


def _arm_words(score) -> str:
    if score is None or score.mean is None:
        return "—"
    return f"{score.mean:.3f}" + (f" ± {score.sd:.3f}" if score.sd is not None else "")


def render_combined(report: StudyReport) -> None:
    result, plan = report.combined, report.combined_plan
    st.subheader("The combination on the sealed test split")
    titles = {lever.key: lever.title for lever in report.plan.levers}
    if plan.applied:
        st.markdown(plain("Combined: " + "; ".join(titles.get(key, key) for key in plan.applied) + ".", limit=None))
    for key, why in plan.skipped:
        st.caption(plain(f"Left out {titles.get(key, key)}: {why}.", limit=None))
    if result is None:
        return
    if result.validation is not None and result.validation.n:
        row = result.validation
        st.caption(plain(f"On validation, the combination vs the reference: Δ {row.mean_delta:+.3f} "
                         f"over {row.n} seed(s), "
                         f"{VERDICT_WORDS.get(row.verdict, row.verdict)}.", limit=None))
    fitted = f" (fitted on {result.baseline_fitted_on})" if result.baseline_fitted_on else ""
    columns = st.columns(3 if result.test_combined is not None else 2)
    scores = ([("Combined", result.test_combined)] if result.test_combined is not None else []) + [
        ("Reference", result.test_reference), ("TF-IDF baseline", result.test_baseline)]
    for column, (label, score) in zip(columns, scores):
        about = f"Mean ± sd over {score.n} seed(s)." + (f" TF-IDF + logistic regression{fitted}, on each seed's split."
                                                       if label == "TF-IDF baseline" else "")
        column.metric(f"{label}: test macro-F1", _arm_words(score), help=plain(about, limit=None))
    kinds = {"Combined": "combined", "Reference": "reference", "TF-IDF baseline": "baseline"}
    arms = [{"arm": label.lower(), "kind": kinds[label], "mean": score.mean, "sd": score.sd, "n": score.n}
            for label, score in scores]
    st.altair_chart(study_figures.final_comparison(arms), width="stretch")
    st.dataframe(pd.DataFrame([{"seed": row["seed"], "combined": row["combined"], "reference": row["reference"],
                                "TF-IDF baseline": row["baseline"]} for row in result.per_seed]),
                 hide_index=True, width="stretch",
                 column_config={name: st.column_config.NumberColumn(format="%.3f")
                                for name in ("combined", "reference", "TF-IDF baseline")})
    st.caption(plain(result.note, limit=None))
    if plan.applied and st.button("Load the combined settings into the widgets", key="study_load_combined",
                                  icon=":material/download:"):
        load_settings(ExperimentConfig.from_dict(plan.config), f"the combination of study {report.ref.name}")

"""Evidence about the data and the model: the triage report, suspected label errors, near-duplicates across the
split, cleaning, explanations and their faithfulness, predictions on typed text, levers and studies.

Modules: cleaning, explain, faithfulness, inference, label_issues, levers, near_duplicates, triage.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "cleaning": [
        "EDIT_ACTIONS", "Edit", "EditList", "Review", "apply_edits", "carried_split", "compare_on_same_rows",
        "edit_list", "make_edit", "same_test_rows"
    ],
    "explain": [
        "ATTENTION_KIND", "EXPLANATION_METHODS", "Explainer", "RANDOM", "SIGNED", "available_methods",
        "method_title"
    ],
    "faithfulness": [
        "BELOW_RANDOM", "FaithfulnessReport", "FaithfulnessRow", "Interval", "MOST_FAITHFUL", "MeasurementStopped",
        "PositionBias", "ScoreIntervals", "TIED", "bootstrap_intervals", "measure_faithfulness", "position_bias"
    ],
    "inference": [
        "ENSEMBLE_SAMPLE", "FAITHFULNESS_FILE", "FAITHFULNESS_SAMPLE", "FaithfulnessMeasurer", "FaithfulnessStatus",
        "InferenceServer", "MeasuringProgress", "PROGRESS_FILE", "Predictor", "TextPrediction", "faithfulness_sample",
        "measure_after_training", "measure_into_run", "measuring_progress", "run_faithfulness", "saved_faithfulness"
    ],
    "label_issues": ["LabelIssueReport", "find_label_suspects", "lstm_out_of_fold"],
    "levers": ["CATEGORIES", "Lever", "NUMERIC_LEVERS", "category_of", "find_levers", "levers_for"],
    "near_duplicates": [
        "NearDuplicateReport", "StraddlingReport", "find_near_duplicates", "straddling_pairs", "test_inflation"
    ],
    "study": [
        "ARM_COMBINED", "ARM_REFERENCE", "CombinedPlan", "CombinedResult", "DEFAULT_SEARCH", "DEFAULT_SEEDS",
        "FunctionExecutor", "HELPS", "HURTS", "Heartbeat", "InProcessExecutor", "JOURNAL_SUFFIX", "KIND_LEVERS",
        "KIND_SWEEP", "LeverRow", "LeverTable", "MIN_EFFECT", "NAME_RULE", "OBJECTIVE", "PRUNERS", "Racing",
        "StudyInfo", "StudyNotFound", "StudyPlan", "StudyProgress", "SweepResult", "TrialOutcome", "TrialRow",
        "VERDICT_RULE", "WITHIN_NOISE",
        "combine_helpers", "combined_results", "create_lever_study", "create_sweep", "data_source", "default_space",
        "lever_results", "list_studies", "load_source", "load_space", "objective_value", "open_study",
        "paired_verdict", "parse_space", "plan_combination", "recover_stale_trials", "run_study", "check_name",
        "default_workers", "most_runs", "run_in_threads", "run_with_workers", "seeding_words",
        "scheduler_executor", "storage_location", "studies_folder", "sweep_results", "trial_rows"
    ],
    "triage": ["SourceFacts", "TriageReport", "capped_baseline", "triage", "vector_coverage"],
})

"""Teaching: the coach's diagnoses of a run and lessons (TOML files that run variants and check an expectation).

Modules: coach.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "coach": ["Diagnosis", "WARNING", "diagnose", "settings_in_words"],
    "lessons": [
        "DERIVED_METRICS", "HISTORY_METRICS", "LESSONS_DIR", "Lesson", "LessonError", "LessonResult",
        "POSITION_METRICS", "STANDARD_METRICS", "Subsample", "TEXT_METRICS", "VariantOutcome", "as_plain_dict",
        "check", "describe_metric", "history_metric", "load_lesson", "load_lessons", "metric_path_problem",
        "resolve_metric", "run_lesson", "subsample", "text_metric"
    ],
})

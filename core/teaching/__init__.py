"""Teaching: the coach's diagnoses of a run and lessons (TOML files that run variants and check an expectation).

Modules: coach, and the lessons package (files, metrics, running, checking).
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "coach": ["Diagnosis", "WARNING", "diagnose"],
    "lessons.files": [
        "LESSONS_DIR", "Lesson", "LessonError", "Subsample", "load_lesson", "load_lessons",
    ],
    "lessons.metrics": [
        "DERIVED_METRICS", "HISTORY_METRICS", "POSITION_METRICS", "STANDARD_METRICS", "TEXT_METRICS", "as_plain_dict",
        "describe_metric", "history_metric", "metric_path_problem", "resolve_metric", "text_metric",
    ],
    "lessons.running": [
        "POSITION_MIN_TOKENS", "POSITION_ROWS", "LessonResult", "VariantOutcome", "lesson_dataset", "run_lesson",
        "subsample",
    ],
    "lessons.checking": ["check"],
})
